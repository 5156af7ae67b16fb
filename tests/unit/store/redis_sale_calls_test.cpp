// The sale Functions' replies as the cluster sale engine reads them: every answer kind, the
// counts, and replies of another shape refused whole rather than half used.
#include "rushcast/store/redis_sale_calls.hpp"

#include <gtest/gtest.h>

#include "rushcast/core/ids.hpp"

namespace rushcast::store {
namespace {

using redis::reply;

reply num(std::int64_t v) {
  reply r;
  r.type = reply::kind::integer;
  r.integer = v;
  return r;
}
reply str(std::string s) {
  reply r;
  r.type = reply::kind::string;
  r.str = std::move(s);
  return r;
}
reply arr(std::vector<reply> e) {
  reply r;
  r.type = reply::kind::array;
  r.elements = std::move(e);
  return r;
}

TEST(RedisSaleCalls, KeyCarriesTheSaleAsHashTag) {
  EXPECT_EQ(redis_sale_key("drop-1"), "rc:sale:{drop-1}");
  auto a = sale_complete_command("s", 7);
  EXPECT_EQ(a, (std::vector<std::string>{"FCALL", "rc_sale_complete", "1", "rc:sale:{s}", "7"}));
  EXPECT_EQ(sale_state_command("s")[0], "FCALL_RO");
}

TEST(RedisSaleCalls, AdmitCommandListsEachUserWithItsRequestId) {
  std::vector<redis_admit_request> reqs{{"alice", "k:1"}, {"bob", "n:ab:2"}};
  EXPECT_EQ(sale_admit_command("s", reqs),
            (std::vector<std::string>{"FCALL", "rc_sale_admit", "1", "rc:sale:{s}", "2", "alice",
                                      "k:1", "bob", "n:ab:2"}));
}

TEST(RedisSaleCalls, AdmitReplyGivesEveryKindOfAnswerInOrder) {
  auto r = arr({num(1000), num(100), num(42), num(7),
                arr({str("queued"), num(42), num(1), num(0)}),
                arr({str("queued"), num(40), num(1), num(1)}),
                arr({str("sold_out")}),
                arr({str("duplicate"), num(5), num(1)}),
                arr({str("not_started"), num(2000)}),
                arr({str("ended"), num(3000)})});
  auto p = parse_sale_admit(r, 6);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->counts.now_ms, 1000);
  EXPECT_EQ(p->counts.total, 100);
  EXPECT_EQ(p->counts.reserved, 42);
  EXPECT_EQ(p->counts.head, 7);
  ASSERT_EQ(p->results.size(), 6u);
  EXPECT_EQ(p->results[0].kind, redis_admit_result::queued);
  EXPECT_EQ(p->results[0].position, 42);
  EXPECT_FALSE(p->results[0].replay);
  EXPECT_TRUE(p->results[1].replay);
  EXPECT_EQ(p->results[1].position, 40);
  EXPECT_EQ(p->results[2].kind, redis_admit_result::sold_out);
  EXPECT_EQ(p->results[3].kind, redis_admit_result::duplicate);
  EXPECT_EQ(p->results[3].position, 5);
  EXPECT_TRUE(p->results[3].done);
  EXPECT_EQ(p->results[4].kind, redis_admit_result::not_started);
  EXPECT_EQ(p->results[4].time_ms, 2000);
  EXPECT_EQ(p->results[5].kind, redis_admit_result::ended);
  EXPECT_EQ(p->results[5].time_ms, 3000);
}

TEST(RedisSaleCalls, AdmitReplyOfAnotherShapeIsRefusedWhole) {
  const auto counts = std::vector<reply>{num(1), num(10), num(1), num(0)};
  auto with = [&](std::vector<reply> results) {
    auto e = counts;
    for (auto& x : results) e.push_back(std::move(x));
    return arr(std::move(e));
  };
  // Fewer results than requests sent: no request may be told another's answer.
  EXPECT_FALSE(parse_sale_admit(with({arr({str("sold_out")})}), 2));
  EXPECT_FALSE(parse_sale_admit(with({arr({str("maybe")})}), 1));
  EXPECT_FALSE(parse_sale_admit(with({arr({str("queued"), num(0), num(1), num(0)})}), 1));
  EXPECT_FALSE(parse_sale_admit(with({arr({str("queued"), str("x"), num(1), num(0)})}), 1));
  EXPECT_FALSE(parse_sale_admit(with({arr({str("duplicate"), num(3)})}), 1));
  reply err;
  err.type = reply::kind::error;
  err.str = "ERR rushcast: unknown sale";
  EXPECT_FALSE(parse_sale_admit(err, 1));
  EXPECT_TRUE(parse_sale_admit(with({arr({str("sold_out")})}), 1));
}

TEST(RedisSaleCalls, CompleteReplyNamesTheBuyerOfEachPositionWorkedOff) {
  auto c = parse_sale_complete(arr({num(5), num(3), num(5), num(9), str("ann"), str("bo")}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->head_before, 3);
  EXPECT_EQ(c->head_after, 5);
  EXPECT_EQ(c->reserved, 9);
  EXPECT_EQ(c->users, (std::vector<std::string>{"ann", "bo"}));
  auto none = parse_sale_complete(arr({num(5), num(3), num(3), num(3)}));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->users.empty());
  // Users must match the positions the call says it worked off.
  EXPECT_FALSE(parse_sale_complete(arr({num(5), num(3), num(5), num(9), str("ann")})));
  EXPECT_FALSE(parse_sale_complete(arr({num(5), num(4), num(3), num(9)})));
}

TEST(RedisSaleCalls, StateInitAndUserReplies) {
  auto s = parse_sale_state(
      arr({num(10), num(100), num(60), num(20), num(1), num(2), num(1), num(50)}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->counts.reserved, 60);
  EXPECT_EQ(s->counts.head, 20);
  EXPECT_EQ(s->start_ms, 1);
  EXPECT_EQ(s->end_ms, 2);
  EXPECT_EQ(s->rate, 50);
  EXPECT_FALSE(parse_sale_state(arr({num(10), num(100), num(60), num(20)})));

  auto m = parse_sale_init(arr({num(9), num(100), num(1), num(2), num(1), num(0), num(1)}));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->created);
  EXPECT_EQ(m->total, 100);
  EXPECT_EQ(m->now_ms, 9);
  // Numbers may come as bulk strings too.
  auto u = parse_sale_user(arr({str("1"), num(17), num(1), num(0)}));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->count, 1);
  EXPECT_EQ(u->latest_position, 17);
  EXPECT_TRUE(u->done);
  EXPECT_FALSE(u->sold_out);
  EXPECT_FALSE(parse_sale_user(arr({num(1), num(17), num(1)})));
}

TEST(RedisSaleCalls, UnannouncedRangesNameEveryBuyer) {
  auto u = parse_sale_unannounced(
      arr({num(77), num(4), arr({str("ann"), str("bo")}), num(9), arr({str("cy")})}));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->now_ms, 77);
  ASSERT_EQ(u->ranges.size(), 2u);
  EXPECT_EQ(u->ranges[0].first, 4);
  EXPECT_EQ(u->ranges[0].users, (std::vector<std::string>{"ann", "bo"}));
  EXPECT_EQ(u->ranges[1].first, 9);
  auto none = parse_sale_unannounced(arr({num(77)}));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->ranges.empty());
  EXPECT_FALSE(parse_sale_unannounced(arr({num(77), num(4)})));
  EXPECT_FALSE(parse_sale_unannounced(arr({num(77), num(4), arr({})})));
  EXPECT_FALSE(parse_sale_unannounced(arr({num(77), num(0), arr({str("a")})})));
  EXPECT_EQ(sale_announced_command("s", 4),
            (std::vector<std::string>{"FCALL", "rc_sale_announced", "1", "rc:sale:{s}", "4"}));
}

TEST(IdempotencyKey, BoundedLengthAndSafeAlphabet) {
  EXPECT_TRUE(core::valid_idempotency_key("3f2b1c9e-8d7a-4e21-9a0b-5c6d7e8f9a0b"));
  EXPECT_TRUE(core::valid_idempotency_key("a.b:c_d-E9"));
  EXPECT_TRUE(core::valid_idempotency_key(std::string(core::max_idempotency_key_bytes, 'k')));
  EXPECT_FALSE(core::valid_idempotency_key(""));
  EXPECT_FALSE(core::valid_idempotency_key(std::string(core::max_idempotency_key_bytes + 1, 'k')));
  EXPECT_FALSE(core::valid_idempotency_key("has space"));
  EXPECT_FALSE(core::valid_idempotency_key("new\nline"));
  EXPECT_FALSE(core::valid_idempotency_key("a@b"));
  EXPECT_FALSE(core::valid_idempotency_key("slash/"));
}

}  // namespace
}  // namespace rushcast::store
