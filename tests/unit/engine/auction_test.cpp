// Tests engine::auction, the pure English-auction rules, on a manual clock.
// No sockets, no sleeps: the clock is a variable the test moves.
#include <gtest/gtest.h>

#include "rushcast/engine/auction.hpp"

namespace rushcast::engine {
namespace {

struct manual_clock {
  std::int64_t now = 1'000'000;
  auction::clock_fn fn() {
    return [this] { return now; };
  }
};

auction_rules rules() {
  auction_rules r;
  r.start_price = 100;
  r.min_increment = 10;
  r.reserve_price = 200;
  r.start_ms = 1'000'000;
  r.end_ms = 1'060'000;
  r.extend_window_ms = 5'000;
  r.extend_by_ms = 10'000;
  return r;
}

errc code_of(const boost::system::result<bid_accepted>& r) {
  return r ? errc::ok : static_cast<errc>(r.error().value());
}

TEST(AuctionRules, FirstBidMustReachStartPrice) {
  manual_clock c;
  auction a("a1", "Lamp", rules(), c.fn());
  EXPECT_EQ(code_of(a.place_bid("u1", 99)), errc::bid_too_low);
  EXPECT_EQ(a.bid_count(), 0u);
  EXPECT_EQ(a.current_price(), 100);
  auto r = a.place_bid("u1", 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bid.seq, 1u);
  EXPECT_EQ(a.current_price(), 100);
  EXPECT_EQ(a.leader(), "u1");
  EXPECT_EQ(a.bid_count(), 1u);
}

TEST(AuctionRules, LaterBidsNeedTheIncrement) {
  manual_clock c;
  auction a("a1", "Lamp", rules(), c.fn());
  ASSERT_TRUE(a.place_bid("u1", 150));
  EXPECT_EQ(code_of(a.place_bid("u2", 159)), errc::bid_too_low);
  auto refusal = a.refusal(errc::bid_too_low);
  EXPECT_EQ(refusal.current_price, 150);
  EXPECT_EQ(refusal.min_acceptable, 160);
  ASSERT_TRUE(a.place_bid("u2", 160));
  EXPECT_EQ(a.current_price(), 160);
  EXPECT_EQ(a.leader(), "u2");
  ASSERT_TRUE(a.place_bid("u1", 1000));
  EXPECT_EQ(a.current_price(), 1000);
  EXPECT_EQ(a.bid_count(), 3u);
}

TEST(AuctionRules, EqualBidFirstToArriveWins) {
  manual_clock c;
  auto r = rules();
  r.min_increment = 0;  // even with no increment an equal amount does not take the lead
  auction a("a1", "Lamp", r, c.fn());
  ASSERT_TRUE(a.place_bid("u1", 300));
  EXPECT_EQ(code_of(a.place_bid("u2", 300)), errc::bid_too_low);
  EXPECT_EQ(a.leader(), "u1");
  EXPECT_EQ(a.bid_count(), 1u);
}

TEST(AuctionRules, BidBeforeStartIsNotStarted) {
  manual_clock c;
  c.now = 999'999;
  auction a("a1", "Lamp", rules(), c.fn());
  EXPECT_EQ(a.phase(), auction_phase::upcoming);
  EXPECT_EQ(code_of(a.place_bid("u1", 500)), errc::not_started);
  EXPECT_EQ(a.bid_count(), 0u);
  c.now = 1'000'000;
  EXPECT_EQ(a.phase(), auction_phase::open);
  EXPECT_TRUE(a.place_bid("u1", 500));
}

TEST(AuctionRules, BidAtOrAfterEndIsEnded) {
  manual_clock c;
  auction a("a1", "Lamp", rules(), c.fn());
  c.now = 1'060'000;
  EXPECT_TRUE(a.due());
  EXPECT_EQ(a.phase(), auction_phase::ended);
  EXPECT_EQ(code_of(a.place_bid("u1", 500)), errc::ended);
  a.finish();
  EXPECT_FALSE(a.due());
  EXPECT_EQ(code_of(a.place_bid("u1", 500)), errc::ended);
}

TEST(AuctionRules, BadAmountsAreInvalidAndChangeNothing) {
  manual_clock c;
  auction a("a1", "Lamp", rules(), c.fn());
  ASSERT_TRUE(a.place_bid("u1", 150));
  for (std::int64_t amount : {std::int64_t{0}, std::int64_t{-5}, max_bid_amount + 1})
    EXPECT_EQ(code_of(a.place_bid("u2", amount)), errc::bid_invalid) << amount;
  EXPECT_EQ(a.current_price(), 150);
  EXPECT_EQ(a.leader(), "u1");
  EXPECT_EQ(a.bid_count(), 1u);
  EXPECT_TRUE(a.place_bid("u2", max_bid_amount));
}

TEST(AuctionSoftClose, BidInWindowExtendsEnd) {
  manual_clock c;
  auction a("a1", "Lamp", rules(), c.fn());
  c.now = 1'054'000;  // 6 s before the end: outside the 5 s window
  auto early = a.place_bid("u1", 200);
  ASSERT_TRUE(early);
  EXPECT_FALSE(early->extended);
  EXPECT_EQ(a.end_ms(), 1'060'000);
  c.now = 1'057'000;  // 3 s before the end
  auto late = a.place_bid("u2", 210);
  ASSERT_TRUE(late);
  EXPECT_TRUE(late->extended);
  EXPECT_EQ(late->end_ms, 1'067'000);
  EXPECT_EQ(a.end_ms(), 1'067'000);
  c.now = 1'061'000;  // past the configured end, 6 s before the extended one: no extension
  EXPECT_FALSE(a.due());
  EXPECT_TRUE(a.place_bid("u1", 220));
  EXPECT_EQ(a.end_ms(), 1'067'000);
  c.now = 1'063'000;  // 4 s before it: extended again
  EXPECT_TRUE(a.place_bid("u2", 230));
  EXPECT_EQ(a.end_ms(), 1'073'000);
  c.now = 1'073'000;
  EXPECT_TRUE(a.due());
  EXPECT_EQ(code_of(a.place_bid("u2", 500)), errc::ended);
}

TEST(AuctionSoftClose, NoWindowNoExtension) {
  manual_clock c;
  auto r = rules();
  r.extend_window_ms = 0;
  auction a("a1", "Lamp", r, c.fn());
  c.now = 1'059'999;
  auto b = a.place_bid("u1", 200);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->extended);
  EXPECT_EQ(a.end_ms(), 1'060'000);
}

TEST(AuctionEnd, WinnerWhenReserveMet) {
  manual_clock c;
  auction a("a1", "Lamp", rules(), c.fn());
  ASSERT_TRUE(a.place_bid("u1", 150));
  ASSERT_TRUE(a.place_bid("u2", 200));
  ASSERT_TRUE(a.place_bid("u3", 210));
  ASSERT_TRUE(a.place_bid("u1", 250));
  c.now = 1'060'000;
  auto o = a.finish();
  ASSERT_TRUE(o.winner);
  EXPECT_EQ(*o.winner, "u1");
  EXPECT_EQ(o.final_price, 250);
  ASSERT_EQ(o.results.size(), 3u);
  EXPECT_EQ(o.results[0].user, "u1");
  EXPECT_TRUE(o.results[0].won);
  EXPECT_EQ(o.results[0].highest_bid, 250);
  EXPECT_EQ(o.results[1].user, "u2");
  EXPECT_FALSE(o.results[1].won);
  EXPECT_EQ(o.results[2].user, "u3");
  EXPECT_FALSE(o.results[2].won);
  EXPECT_TRUE(a.ended());
}

TEST(AuctionEnd, NoWinnerBelowReserve) {
  manual_clock c;
  auction a("a1", "Lamp", rules(), c.fn());
  ASSERT_TRUE(a.place_bid("u1", 150));
  ASSERT_TRUE(a.place_bid("u2", 190));
  c.now = 1'060'000;
  auto o = a.finish();
  EXPECT_FALSE(o.winner);
  EXPECT_EQ(o.final_price, 190);
  ASSERT_EQ(o.results.size(), 2u);
  EXPECT_FALSE(o.results[0].won);
  EXPECT_FALSE(o.results[1].won);
}

TEST(AuctionEnd, NoBidsNoWinnerNoPrice) {
  manual_clock c;
  auction a("a1", "Lamp", rules(), c.fn());
  c.now = 1'060'000;
  auto o = a.finish();
  EXPECT_FALSE(o.winner);
  EXPECT_FALSE(o.final_price);
  EXPECT_TRUE(o.results.empty());
}

TEST(AuctionRecovery, RestoreRebuildsPriceLeaderCountAndEnd) {
  manual_clock c;
  auction a("a1", "Lamp", rules(), c.fn());
  std::vector<bid_record> bids{{1, "u1", 150, 1'000'100}, {2, "u2", 300, 1'000'200},
                               {3, "u1", 310, 1'000'300}};
  a.restore(bids, 1'065'000, false);
  EXPECT_EQ(a.current_price(), 310);
  EXPECT_EQ(a.leader(), "u1");
  EXPECT_EQ(a.bid_count(), 3u);
  EXPECT_EQ(a.end_ms(), 1'065'000);
  ASSERT_EQ(a.recent_bids().size(), 3u);
  EXPECT_EQ(a.recent_bids().back().amount, 310);
  EXPECT_EQ(code_of(a.place_bid("u3", 319)), errc::bid_too_low);
  auto next = a.place_bid("u3", 320);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->bid.seq, 4u);
}

TEST(AuctionRecovery, RestoredEndedAuctionRefusesBids) {
  manual_clock c;
  auction a("a1", "Lamp", rules(), c.fn());
  a.restore({{1, "u1", 250, 1'000'100}}, 1'060'000, true);
  EXPECT_EQ(a.phase(), auction_phase::ended);
  EXPECT_FALSE(a.due());
  EXPECT_EQ(code_of(a.place_bid("u2", 900)), errc::ended);
  EXPECT_EQ(a.outcome().winner, "u1");
}

TEST(AuctionRecovery, RecentBidsAreBounded) {
  manual_clock c;
  auction a("a1", "Lamp", rules(), c.fn());
  for (int i = 0; i < 120; ++i) ASSERT_TRUE(a.place_bid("u" + std::to_string(i % 7), 100 + 10 * i));
  EXPECT_EQ(a.recent_bids().size(), auction::recent_capacity);
  EXPECT_EQ(a.recent_bids().back().amount, 100 + 10 * 119);
  EXPECT_EQ(a.recent_bids().front().seq, 120u - auction::recent_capacity + 1);
}

TEST(BidAmount, AcceptsIntegralSpellings) {
  EXPECT_EQ(parse_bid_amount("150").value(), 150);
  EXPECT_EQ(parse_bid_amount("150.0").value(), 150);
  EXPECT_EQ(parse_bid_amount("1e3").value(), 1000);
  EXPECT_EQ(parse_bid_amount("1.5E+3").value(), 1500);
  EXPECT_EQ(parse_bid_amount("25000e-2").value(), 250);
  EXPECT_EQ(parse_bid_amount("007").value(), 7);
  EXPECT_EQ(parse_bid_amount("1000000000000").value(), max_bid_amount);
  EXPECT_EQ(parse_bid_amount("1e12").value(), max_bid_amount);
}

TEST(BidAmount, RefusesEverythingElse) {
  for (const char* bad : {"", "abc", "NaN", "nan", "Infinity", "-5", "+5", "0", "0.0", "00",
                          "1.5", "150.01", "0.5", "1e-1", "1000000000001", "1e13", "1e9999",
                          "99999999999999999999999", "1.", ".5", " 5", "5 ", "1e", "1e+",
                          "0x10", "1,000", "12a"}) {
    auto r = parse_bid_amount(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), make_error_code(errc::bid_invalid)) << bad;
  }
}

}  // namespace
}  // namespace rushcast::engine
