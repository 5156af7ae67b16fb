// The cluster auction's Redis calls without a server: the FCALL arguments, and every reply
// shape of rc_auction_bid / _finish / _state / _init and the bid list read into values (and
// anything else refused rather than half read).
#include <gtest/gtest.h>

#include "rushcast/store/redis_auction_calls.hpp"

namespace rushcast::store {
namespace {

using redis::reply;

reply i(std::int64_t v) {
  reply r;
  r.type = reply::kind::integer;
  r.integer = v;
  return r;
}
reply s(std::string v) {
  reply r;
  r.type = reply::kind::string;
  r.str = std::move(v);
  return r;
}
reply nil() { return reply{}; }
reply arr(std::vector<reply> e) {
  reply r;
  r.type = reply::kind::array;
  r.elements = std::move(e);
  return r;
}

TEST(RedisAuctionCalls, BidCommandCarriesEveryBidInOrder) {
  std::vector<redis_bid> bids{{"ann", 150, "k:x"}, {"bob", 160, "n:ab:2"}};
  auto cmd = redis_bid_command(redis_auction_base("lot-1"), bids);
  std::vector<std::string> want{"FCALL", "rc_auction_bid", "1", "rc:auction:{lot-1}", "2",
                                "ann",   "150",            "k:x", "bob",              "160",
                                "n:ab:2"};
  EXPECT_EQ(cmd, want);
}

TEST(RedisAuctionCalls, BidReplyGivesEachBidItsOutcome) {
  auto r = arr({i(1000), i(160), s("bob"), i(2), i(5000),
                arr({s("accepted"), i(2), i(160), i(5000), i(1), i(0)}),
                arr({s("accepted"), i(1), i(150), i(4000), i(0), i(1)}),
                arr({s("bid_too_low"), i(160), i(170)}), arr({s("ended"), i(5000)}),
                arr({s("not_started"), i(900)}), arr({s("bid_invalid")})});
  auto p = parse_bid_call(r, 6);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->head.now_ms, 1000);
  EXPECT_EQ(p->head.current_price, 160);
  EXPECT_EQ(p->head.leader, "bob");
  EXPECT_EQ(p->head.bid_count, 2);
  EXPECT_EQ(p->head.end_ms, 5000);
  ASSERT_EQ(p->results.size(), 6u);
  using o = redis_bid_result::outcome;
  EXPECT_EQ(p->results[0].what, o::accepted);
  EXPECT_EQ(p->results[0].seq, 2);
  EXPECT_EQ(p->results[0].amount, 160);
  EXPECT_TRUE(p->results[0].extended);
  EXPECT_FALSE(p->results[0].replay);
  EXPECT_TRUE(p->results[1].replay);
  EXPECT_EQ(p->results[2].what, o::bid_too_low);
  EXPECT_EQ(p->results[2].current_price, 160);
  EXPECT_EQ(p->results[2].min_acceptable, 170);
  EXPECT_EQ(p->results[3].what, o::ended);
  EXPECT_EQ(p->results[3].end_ms, 5000);
  EXPECT_EQ(p->results[4].what, o::not_started);
  EXPECT_EQ(p->results[4].start_ms, 900);
  EXPECT_EQ(p->results[5].what, o::bid_invalid);
}

TEST(RedisAuctionCalls, BidReplyWithoutLeaderHasNone) {
  auto p = parse_bid_call(arr({i(1), i(100), nil(), i(0), i(9), arr({s("bid_too_low"), i(100),
                                                                       i(100)})}),
                          1);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->head.leader);
}

TEST(RedisAuctionCalls, BidReplyOfAnotherShapeIsRefused) {
  const auto ok_result = arr({s("bid_invalid")});
  // Fewer results than bids sent, an unknown outcome, a short accepted, a non-array.
  EXPECT_FALSE(parse_bid_call(arr({i(1), i(100), nil(), i(0), i(9), ok_result}), 2));
  EXPECT_FALSE(parse_bid_call(arr({i(1), i(100), nil(), i(0), i(9), arr({s("maybe")})}), 1));
  EXPECT_FALSE(
      parse_bid_call(arr({i(1), i(100), nil(), i(0), i(9), arr({s("accepted"), i(1)})}), 1));
  EXPECT_FALSE(parse_bid_call(s("OK"), 0));
  EXPECT_FALSE(parse_bid_call(arr({i(1), s("x"), nil(), i(0), i(9), ok_result}), 1));
}

TEST(RedisAuctionCalls, FinishReadsNotDueAndTheOutcome) {
  auto due = parse_finish(arr({s("not_due"), i(7000)}));
  ASSERT_TRUE(due);
  EXPECT_FALSE(due->ended);
  EXPECT_EQ(due->end_ms, 7000);

  auto f = parse_finish(
      arr({s("ended"), i(1), s("bob"), i(160), s("ann"), i(0), i(150), s("bob"), i(1), i(160)}));
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->ended);
  EXPECT_TRUE(f->first);
  EXPECT_EQ(f->winner, "bob");
  EXPECT_EQ(f->final_price, 160);
  ASSERT_EQ(f->results.size(), 2u);
  EXPECT_EQ(f->results[0].user, "ann");
  EXPECT_FALSE(f->results[0].won);
  EXPECT_EQ(f->results[0].highest_bid, 150);
  EXPECT_TRUE(f->results[1].won);

  auto none = parse_finish(arr({s("ended"), i(0), nil(), nil()}));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->first);
  EXPECT_FALSE(none->winner);
  EXPECT_FALSE(none->final_price);

  EXPECT_FALSE(parse_finish(arr({s("ended"), i(1), nil(), nil(), s("ann"), i(0)})));
  EXPECT_FALSE(parse_finish(arr({s("later"), i(1)})));
}

TEST(RedisAuctionCalls, StateAndInitAreReadWhole) {
  auto st = parse_state(arr({i(5), i(150), s("ann"), i(1), i(9000), i(1), i(100), i(160)}));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->head.current_price, 150);
  EXPECT_TRUE(st->ended);
  EXPECT_EQ(st->start_ms, 100);
  EXPECT_EQ(st->min_acceptable, 160);
  EXPECT_FALSE(parse_state(arr({i(5), i(150), s("ann"), i(1), i(9000), i(1), i(100)})));

  auto in = parse_init(arr({i(1), i(100), i(10), i(0), i(2), i(3), i(4), i(5), i(1)}));
  ASSERT_TRUE(in);
  EXPECT_EQ(in->start_price, 100);
  EXPECT_EQ(in->min_increment, 10);
  EXPECT_EQ(in->start_ms, 2);
  EXPECT_EQ(in->end_ms, 3);
  EXPECT_EQ(in->extend_window_ms, 4);
  EXPECT_EQ(in->extend_by_ms, 5);
  EXPECT_TRUE(in->created);
  EXPECT_FALSE(parse_init(arr({i(1), i(100), i(10), i(0), i(2), i(3), i(4), i(5), nil()})));
}

TEST(RedisAuctionCalls, BidListIsReadOrRefusedWhole) {
  auto l = parse_bid_list(arr({s("1\nann\n150\n1000"), s("2\nbob\n160\n1001")}));
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[1].seq, 2);
  EXPECT_EQ((*l)[1].user, "bob");
  EXPECT_EQ((*l)[1].amount, 160);
  EXPECT_EQ((*l)[1].ts_ms, 1001);
  EXPECT_TRUE(parse_bid_list(arr({}))->empty());
  EXPECT_FALSE(parse_bid_list(arr({s("1\nann\n150")})));
  EXPECT_FALSE(parse_bid_list(arr({s("1\n\n150\n9")})));
  EXPECT_FALSE(parse_bid_list(arr({s("x\nann\n150\n9")})));
}

}  // namespace
}  // namespace rushcast::store
