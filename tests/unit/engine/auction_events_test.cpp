// The bytes of an auction's events and state, shared by the local and the cluster runner: the
// keys, their order (nlohmann's, sorted) and null for what is not known yet.
#include "rushcast/engine/auction_events.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rushcast::engine {
namespace {

auction_view view_with_two_bids() {
  auction_view v;
  v.price = 120;
  v.leader = "bob";
  v.bid_count = 2;
  v.start_ms = 1000;
  v.end_ms = 5000;
  v.recent.push_back(bid_record{1, "alice", 110, 1500});
  v.recent.push_back(bid_record{2, "bob", 120, 1600});
  return v;
}

TEST(AuctionEvents, PriceAndCountdownHaveTheirKeysInOrder) {
  const auto v = view_with_two_bids();
  EXPECT_EQ(auction_price_json("a1", v),
            R"({"auctionId":"a1","bidCount":2,"currentPrice":120,"endTime":5000,"leadingUser":"bob"})");
  EXPECT_EQ(auction_countdown_json("a1", v, 2000),
            R"({"auctionId":"a1","endTime":5000,"phase":"open","serverTime":2000,"startTime":1000})");
  EXPECT_EQ(auction_countdown_json("a1", v, 500),
            R"({"auctionId":"a1","endTime":5000,"phase":"upcoming","serverTime":500,"startTime":1000})");
}

TEST(AuctionEvents, EndAndResultSayNullWhenThereIsNoWinner) {
  EXPECT_EQ(auction_end_json("a1", std::nullopt, std::nullopt),
            R"({"auctionId":"a1","finalPrice":null,"winner":null})");
  EXPECT_EQ(auction_result_json("a1", false, 120, 110),
            R"({"auctionId":"a1","bidAmount":110,"finalPrice":120,"result":"lost"})");
}

TEST(AuctionEvents, StateKeepsTheLastBidsAndTheNextMinimum) {
  auto v = view_with_two_bids();
  auction_rules rules;
  rules.start_price = 100;
  rules.min_increment = 5;
  rules.reserve_price = 150;
  auto j = auction_state_json("a1", "Lamp", rules, v, 2000, 1);
  ASSERT_EQ(j.at("bids").size(), 1u);
  EXPECT_EQ(j.at("bids")[0].at("userId"), "bob");
  EXPECT_EQ(j.at("minNextBid"), 125);
  EXPECT_EQ(j.at("reserveMet"), false);
  EXPECT_FALSE(j.contains("winner"));
  v.ended = true;
  v.winner = "bob";
  v.final_price = 120;
  j = auction_state_json("a1", "Lamp", rules, v, 2000, 10);
  EXPECT_EQ(j.at("phase"), "ended");
  EXPECT_EQ(j.at("winner"), "bob");
  EXPECT_EQ(j.at("bids").size(), 2u);
}

}  // namespace
}  // namespace rushcast::engine
