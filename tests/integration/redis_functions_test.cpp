// The Redis Functions library (src/redis/rushcast.lua) called through redis::client against a
// real redis-server: sale admission (stock, FIFO positions, per-user limit, idempotent request
// ids, phases on Redis TIME), order completion exactly once in order and at the sale's rate,
// bids (increment, soft close, idempotent), and bad arguments refused with nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "harness_redis.hpp"
#include "redis_test_util.hpp"
#include "rushcast/redis/functions.hpp"

namespace rushcast::test {
namespace {

using namespace std::chrono_literals;
using redis::reply;

const std::string sale_key = "rc:sale:{s1}";
const std::string auction_key = "rc:auction:{a1}";

class RedisFunctions : public ::testing::Test {
protected:
  void SetUp() override {
    c = std::make_unique<redis_fixture_client>(srv.url());
    ASSERT_TRUE(c->wait_connected());
    auto load = c->call({"FUNCTION", "LOAD", "REPLACE", std::string(redis::functions_library())});
    ASSERT_FALSE(load.ec) << load.reply.str;
  }

  reply fcall(redis_fixture_client& on, const std::string& fn, const std::string& key,
              std::vector<std::string> args) {
    std::vector<std::string> cmd{"FCALL", fn, "1", key};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto r = on.call(cmd);
    EXPECT_FALSE(r.ec) << fn << ": " << r.ec.message() << " " << r.reply.str;
    return r.reply;
  }
  reply fcall(const std::string& fn, const std::string& key, std::vector<std::string> args) {
    return fcall(*c, fn, key, std::move(args));
  }
  redis_result fcall_raw(const std::string& fn, const std::string& key,
                         std::vector<std::string> args) {
    std::vector<std::string> cmd{"FCALL", fn, "1", key};
    cmd.insert(cmd.end(), args.begin(), args.end());
    return c->call(cmd);
  }

  void init_sale(std::int64_t stock, std::int64_t limit, std::string start = "rel:0",
                 std::string end = "rel:3600000", std::int64_t rate = 0) {
    auto r = fcall("rc_sale_init", sale_key,
                   {std::to_string(stock), start, end, std::to_string(limit), std::to_string(rate)});
    ASSERT_TRUE(r.is_array()) << r.str;
  }
  // One request; its result array.
  reply admit(const std::string& user, const std::string& request_id) {
    return fcall("rc_sale_admit", sale_key, {"1", user, request_id}).at(4);
  }
  std::int64_t state_field(std::size_t i) {
    return fcall("rc_sale_state", sale_key, {}).at(i).integer;
  }
  // Every key of the test's sale and auction, as a snapshot to compare.
  std::string dump() {
    std::string out;
    for (const char* suffix : {":meta", ":state", ":pos", ":users", ":req"}) {
      auto r = c->call({"HGETALL", sale_key + suffix});
      for (auto& e : r.reply.elements) out += e.str + "|";
      out += "\n";
    }
    for (const char* suffix : {":meta", ":state", ":best", ":req"}) {
      auto r = c->call({"HGETALL", auction_key + suffix});
      for (auto& e : r.reply.elements) out += e.str + "|";
      out += "\n";
    }
    for (const char* suffix : {":bids", ":bidders"}) {
      auto r = c->call({"LRANGE", auction_key + suffix, "0", "-1"});
      for (auto& e : r.reply.elements) out += e.str + "|";
      out += "\n";
    }
    return out;
  }

  redis_server srv;
  std::unique_ptr<redis_fixture_client> c;
};

TEST_F(RedisFunctions, LibraryAnswersItsVersion) {
  auto r = c->call({"FCALL_RO", "rc_version", "0"});
  ASSERT_FALSE(r.ec) << r.reply.str;
  EXPECT_EQ(r.reply.str, "2");
}

TEST_F(RedisFunctions, StockOfHundredAdmitsExactlyHundredOfThousandBuyers) {
  init_sale(100, 1);
  // Three connections (three nodes), batches of 10, every call in flight at once.
  std::vector<std::unique_ptr<redis_fixture_client>> nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(std::make_unique<redis_fixture_client>(srv.url()));
    ASSERT_TRUE(nodes.back()->wait_connected());
  }
  std::vector<reply> replies;
  int errors = 0;
  for (int batch = 0; batch < 100; ++batch) {
    std::vector<std::string> cmd{"FCALL", "rc_sale_admit", "1", sale_key, "10"};
    for (int j = 0; j < 10; ++j) {
      const std::string user = "buyer" + std::to_string(batch * 10 + j);
      cmd.push_back(user);
      cmd.push_back("req-" + user);
    }
    nodes[batch % 3]->client().execute(cmd, [&](boost::system::error_code ec, reply r) {
      if (ec) ++errors;
      replies.push_back(std::move(r));
    });
  }
  ASSERT_TRUE(wait_until(30s, [&] {
    for (auto& n : nodes) n->run_until(1ms, [] { return false; });
    return replies.size() == 100;
  }));
  EXPECT_EQ(errors, 0);
  std::set<std::int64_t> positions;
  int queued = 0, sold_out = 0;
  for (auto& r : replies)
    for (std::size_t i = 4; i < r.elements.size(); ++i) {
      const auto& res = r.at(i);
      if (res.at(0).str == "queued") {
        ++queued;
        positions.insert(res.at(1).integer);
      } else if (res.at(0).str == "sold_out") {
        ++sold_out;
      } else {
        ADD_FAILURE() << "unexpected " << res.at(0).str;
      }
    }
  EXPECT_EQ(queued, 100);
  EXPECT_EQ(sold_out, 900);
  ASSERT_EQ(positions.size(), 100u);
  EXPECT_EQ(*positions.begin(), 1);
  EXPECT_EQ(*positions.rbegin(), 100);
  EXPECT_EQ(state_field(2), 100);  // reserved
}

TEST_F(RedisFunctions, PerUserLimitHoldsWithinAndAcrossCalls) {
  init_sale(10, 2);
  auto r = fcall("rc_sale_admit", sale_key, {"3", "ann", "r1", "ann", "r2", "ann", "r3"});
  EXPECT_EQ(r.at(4).at(0).str, "queued");
  EXPECT_EQ(r.at(4).at(2).integer, 1);  // user_seq
  EXPECT_EQ(r.at(5).at(0).str, "queued");
  EXPECT_EQ(r.at(5).at(2).integer, 2);
  EXPECT_EQ(r.at(6).at(0).str, "duplicate");
  EXPECT_EQ(r.at(6).at(1).integer, 2);  // the latest position
  EXPECT_EQ(r.at(6).at(2).integer, 0);  // not worked off yet
  auto again = admit("ann", "r4");
  EXPECT_EQ(again.at(0).str, "duplicate");
  EXPECT_EQ(admit("bob", "r1").at(0).str, "queued");
  EXPECT_EQ(state_field(2), 3);
  auto user = fcall("rc_sale_user", sale_key, {"ann"});
  EXPECT_EQ(user.at(0).integer, 2);
  EXPECT_EQ(user.at(1).integer, 2);
  EXPECT_EQ(user.at(3).integer, 0);  // units left
  auto nobody = fcall("rc_sale_user", sale_key, {"zed"});
  EXPECT_EQ(nobody.at(0).integer, 0);
}

TEST_F(RedisFunctions, SoldOutBuyerIsToldAtOnceWithoutQueueing) {
  init_sale(2, 1);
  auto r = fcall("rc_sale_admit", sale_key, {"3", "a", "1", "b", "1", "c", "1"});
  EXPECT_EQ(r.at(6).at(0).str, "sold_out");
  EXPECT_EQ(r.at(2).integer, 2);  // reserved: the buyer was not queued
  EXPECT_EQ(fcall("rc_sale_user", sale_key, {"c"}).at(3).integer, 1);
  // Even after every order is worked off, no unit comes back.
  fcall("rc_sale_complete", sale_key, {"10"});
  EXPECT_EQ(admit("d", "1").at(0).str, "sold_out");
  EXPECT_EQ(admit("a", "2").at(0).str, "duplicate");
}

TEST_F(RedisFunctions, SameRequestIdTwiceIsOneAdmissionWithOneAnswer) {
  init_sale(5, 3);
  redis_fixture_client other(srv.url());
  ASSERT_TRUE(other.wait_connected());
  // The same request on two connections at once (two nodes retrying a lost reply).
  std::vector<reply> got;
  for (auto* n : {c.get(), &other})
    n->client().execute({"FCALL", "rc_sale_admit", "1", sale_key, "1", "carl", "idem-1"},
                        [&](boost::system::error_code ec, reply r) {
                          EXPECT_FALSE(ec);
                          got.push_back(std::move(r));
                        });
  ASSERT_TRUE(wait_until(10s, [&] {
    c->run_until(1ms, [] { return false; });
    other.run_until(1ms, [] { return false; });
    return got.size() == 2;
  }));
  const auto& a = got[0].at(4);
  const auto& b = got[1].at(4);
  EXPECT_EQ(a.at(0).str, "queued");
  EXPECT_EQ(b.at(0).str, "queued");
  EXPECT_EQ(a.at(1).integer, b.at(1).integer);  // one position
  EXPECT_EQ(a.at(3).integer + b.at(3).integer, 1);  // exactly one of them is the replay
  EXPECT_EQ(state_field(2), 1);
  // The same id in one batch, and later, still the one admission.
  auto r = fcall("rc_sale_admit", sale_key, {"2", "carl", "idem-1", "carl", "idem-1"});
  EXPECT_EQ(r.at(4).at(1).integer, a.at(1).integer);
  EXPECT_EQ(r.at(5).at(1).integer, a.at(1).integer);
  EXPECT_EQ(state_field(2), 1);
  // Another user's request with the same id is a different request.
  EXPECT_EQ(admit("dora", "idem-1").at(1).integer, 2);
}

TEST_F(RedisFunctions, BadArgumentsAreRefusedWithNothingWritten) {
  init_sale(5, 1);
  fcall("rc_auction_init", auction_key, {"100", "10", "0", "rel:0", "rel:3600000", "0", "0"});
  admit("first", "r0");
  const std::string before = dump();
  struct bad_call {
    std::string fn, key;
    std::vector<std::string> args;
  };
  const std::vector<bad_call> calls = {
      {"rc_sale_admit", sale_key, {"2", "ok-user", "r1", "bad user", "r2"}},  // 2nd user bad
      {"rc_sale_admit", sale_key, {"2", "ok-user", "r1", "other", ""}},        // empty request id
      {"rc_sale_admit", sale_key, {"2", "ok-user", "r1"}},                     // too few
      {"rc_sale_admit", sale_key, {"1", "ok-user", "r1", "extra"}},            // too many
      {"rc_sale_admit", sale_key, {"0"}},
      {"rc_sale_admit", sale_key, {"x", "ok-user", "r1"}},
      {"rc_sale_admit", sale_key, {"1", std::string(121, 'u'), "r1"}},
      {"rc_sale_admit", "rc:sale:{nosuch}", {"1", "ok-user", "r1"}},
      {"rc_sale_complete", sale_key, {"0"}},
      {"rc_sale_complete", sale_key, {"-3"}},
      {"rc_sale_init", "rc:sale:{s2}", {"10", "yesterday", "rel:1", "1", "0"}},
      {"rc_auction_bid", auction_key, {"2", "ok-user", "500", "b1", "u2", "12.5", "b2"}},
      {"rc_auction_bid", auction_key, {"1", "ok-user", "-5", "b1"}},
      {"rc_auction_bid", auction_key, {"1", "ok-user", "500"}},
      {"rc_auction_bid", "rc:auction:{nosuch}", {"1", "ok-user", "500", "b1"}},
  };
  for (const auto& call : calls) {
    auto r = fcall_raw(call.fn, call.key, call.args);
    EXPECT_EQ(r.ec, make_error_code(redis::error::server_error)) << call.fn << " " << call.args[0];
    EXPECT_NE(r.reply.str.find("rushcast"), std::string::npos) << r.reply.str;
  }
  EXPECT_EQ(dump(), before);
  EXPECT_EQ(srv.command({"EXISTS", "rc:sale:{s2}:meta"}), ":0\r\n");
}

TEST_F(RedisFunctions, PhasesFollowRedisTime) {
  init_sale(5, 1, "rel:600000");
  auto early = admit("eve", "r1");
  EXPECT_EQ(early.at(0).str, "not_started");
  EXPECT_EQ(state_field(2), 0);

  c->call({"DEL", sale_key + ":meta"});
  init_sale(5, 1, "rel:0", "rel:700");
  EXPECT_EQ(admit("eve", "r2").at(0).str, "queued");
  ASSERT_TRUE(wait_until(5s, [&] {
    auto s = fcall("rc_sale_state", sale_key, {});
    return s.at(0).integer >= s.at(5).integer;  // Redis' now >= end
  }));
  auto late = admit("fay", "r3");
  EXPECT_EQ(late.at(0).str, "ended");
  // A buyer who already has an answer hears it again after the end.
  EXPECT_EQ(admit("eve", "r4").at(0).str, "duplicate");
  EXPECT_EQ(admit("eve", "r2").at(0).str, "queued");  // the stored answer of r2
}

TEST_F(RedisFunctions, InitIsResolvedOnceByTheFirstNode) {
  auto first = fcall("rc_sale_init", sale_key, {"7", "rel:1000", "rel:5000", "2", "0"});
  EXPECT_EQ(first.at(6).integer, 1);
  EXPECT_EQ(first.at(3).integer - first.at(2).integer, 4000);
  auto second = fcall("rc_sale_init", sale_key, {"9", "rel:99999", "rel:999999", "1", "5"});
  EXPECT_EQ(second.at(6).integer, 0);
  for (std::size_t i = 1; i <= 5; ++i) EXPECT_EQ(second.at(i).integer, first.at(i).integer) << i;
}

TEST_F(RedisFunctions, CompletionWorksOffEachPositionOnceInOrder) {
  init_sale(60, 1);
  std::map<std::int64_t, std::string> user_at;
  for (int i = 0; i < 50; ++i) {
    const std::string u = "u" + std::to_string(i);
    user_at[admit(u, "r").at(1).integer] = u;
  }
  redis_fixture_client other(srv.url());
  ASSERT_TRUE(other.wait_connected());
  std::vector<std::int64_t> done;
  std::int64_t head = 0;
  int calls = 0;
  while (head < 50 && calls < 100) {
    // Two nodes ask at the same time; each gets a disjoint, ascending range.
    std::vector<reply> got;
    for (auto* n : {c.get(), &other})
      n->client().execute({"FCALL", "rc_sale_complete", "1", sale_key, "7"},
                          [&](boost::system::error_code ec, reply r) {
                            EXPECT_FALSE(ec) << r.str;
                            got.push_back(std::move(r));
                          });
    ASSERT_TRUE(wait_until(10s, [&] {
      c->run_until(1ms, [] { return false; });
      other.run_until(1ms, [] { return false; });
      return got.size() == 2;
    }));
    for (auto& r : got) {
      const std::int64_t from = r.at(1).integer, to = r.at(2).integer;
      ASSERT_EQ(static_cast<std::int64_t>(r.elements.size()) - 4, to - from);
      for (std::int64_t p = from + 1; p <= to; ++p) {
        done.push_back(p);
        EXPECT_EQ(r.at(static_cast<std::size_t>(4 + p - from - 1)).str, user_at[p]);
      }
      head = std::max(head, to);
    }
    ++calls;
  }
  std::sort(done.begin(), done.end());
  ASSERT_EQ(done.size(), 50u);
  for (std::size_t i = 0; i < done.size(); ++i) EXPECT_EQ(done[i], static_cast<std::int64_t>(i + 1));
  // Nothing left: a further call works off nothing.
  auto none = fcall("rc_sale_complete", sale_key, {"7"});
  EXPECT_EQ(none.at(1).integer, 50);
  EXPECT_EQ(none.at(2).integer, 50);
  auto user = fcall("rc_sale_user", sale_key, {"u3"});
  EXPECT_EQ(user.at(2).integer, 1);  // done
  EXPECT_EQ(admit("u3", "again").at(2).integer, 1);  // duplicate, done = 1
}

TEST_F(RedisFunctions, CompletionRateIsForTheWholeSale) {
  init_sale(500, 1, "rel:0", "rel:3600000", 20);
  std::vector<std::string> cmd{"50"};
  for (int i = 0; i < 50; ++i) {
    cmd.push_back("r" + std::to_string(i));
    cmd.push_back("q");
  }
  fcall("rc_sale_admit", sale_key, cmd);
  redis_fixture_client other(srv.url());
  ASSERT_TRUE(other.wait_connected());
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t head = 0;
  for (int i = 0; i < 40; ++i) {
    head = std::max(head, fcall(i % 2 ? *c : other, "rc_sale_complete", sale_key, {"1000"}).at(2).integer);
    std::this_thread::sleep_for(10ms);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // 20 per second for the sale, however many nodes ask (one period of credit at the start).
  EXPECT_LE(head, static_cast<std::int64_t>(seconds * 20) + 2) << seconds << " s";
  EXPECT_GE(head, 2);
}

TEST_F(RedisFunctions, SaleLeaseHasOneHolderUntilItLapses) {
  init_sale(10, 1);
  EXPECT_EQ(fcall("rc_sale_lease", sale_key, {"node-a", "300"}).integer, 1);
  EXPECT_EQ(fcall("rc_sale_lease", sale_key, {"node-b", "300"}).integer, 0);
  EXPECT_EQ(fcall("rc_sale_lease", sale_key, {"node-a", "300"}).integer, 1);  // renewed
  // The holder stops renewing (it died): the lease lapses and another node takes it.
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(fcall("rc_sale_lease", sale_key, {"node-b", "300"}).integer, 1);
  EXPECT_EQ(fcall("rc_sale_lease", sale_key, {"node-a", "300"}).integer, 0);
  EXPECT_TRUE(fcall_raw("rc_sale_lease", sale_key, {"node-a", "0"}).ec);
  EXPECT_TRUE(fcall_raw("rc_sale_lease", sale_key, {"", "300"}).ec);
}

TEST_F(RedisFunctions, BidsFollowTheAuctionRules) {
  fcall("rc_auction_init", auction_key, {"100", "10", "150", "rel:0", "rel:3600000", "0", "0"});
  auto r = fcall("rc_auction_bid", auction_key,
                 {"5", "ann", "99", "b1", "ann", "100", "b2", "bob", "105", "b3", "bob", "110", "b4",
                  "cat", "110", "b5"});
  EXPECT_EQ(r.at(5).at(0).str, "bid_too_low");  // below the start price
  EXPECT_EQ(r.at(5).at(2).integer, 100);
  EXPECT_EQ(r.at(6).at(0).str, "accepted");     // the first bid may equal the start price
  EXPECT_EQ(r.at(6).at(1).integer, 1);
  EXPECT_EQ(r.at(7).at(0).str, "bid_too_low");  // below 100 + 10
  EXPECT_EQ(r.at(7).at(1).integer, 100);
  EXPECT_EQ(r.at(7).at(2).integer, 110);
  EXPECT_EQ(r.at(8).at(0).str, "accepted");
  EXPECT_EQ(r.at(9).at(0).str, "bid_too_low");  // an equal later bid loses
  EXPECT_EQ(r.at(1).integer, 110);              // current price
  EXPECT_EQ(r.at(2).str, "bob");                // leader
  EXPECT_EQ(r.at(3).integer, 2);                // bid count
  auto zero = fcall("rc_auction_bid", auction_key, {"1", "dan", "0", "b6"});
  EXPECT_EQ(zero.at(5).at(0).str, "bid_invalid");
  auto huge = fcall("rc_auction_bid", auction_key, {"1", "dan", "1000000000001", "b7"});
  EXPECT_EQ(huge.at(5).at(0).str, "bid_invalid");
}

TEST_F(RedisFunctions, SameBidRequestIdIsOneBid) {
  fcall("rc_auction_init", auction_key, {"100", "10", "0", "rel:0", "rel:3600000", "0", "0"});
  auto first = fcall("rc_auction_bid", auction_key, {"1", "ann", "200", "k1"}).at(5);
  auto retry = fcall("rc_auction_bid", auction_key, {"1", "ann", "200", "k1"}).at(5);
  EXPECT_EQ(first.at(0).str, "accepted");
  EXPECT_EQ(retry.at(0).str, "accepted");
  EXPECT_EQ(retry.at(1).integer, first.at(1).integer);
  EXPECT_EQ(retry.at(5).integer, 1);  // replay
  auto st = fcall("rc_auction_state", auction_key, {});
  EXPECT_EQ(st.at(3).integer, 1);  // one bid
  EXPECT_EQ(srv.command({"LLEN", auction_key + ":bids"}), ":1\r\n");
}

TEST_F(RedisFunctions, BidInTheWindowExtendsTheEndOnRedisTime) {
  // Ends 1 s from now; bids within 5 s of the end push it to now + 3 s.
  fcall("rc_auction_init", auction_key, {"100", "10", "0", "rel:0", "rel:1000", "5000", "3000"});
  auto r = fcall("rc_auction_bid", auction_key, {"1", "ann", "100", "k1"});
  const std::int64_t now = r.at(0).integer;
  const auto& res = r.at(5);
  ASSERT_EQ(res.at(0).str, "accepted");
  EXPECT_EQ(res.at(4).integer, 1);  // extended
  EXPECT_EQ(res.at(3).integer, now + 3000);
  EXPECT_EQ(r.at(4).integer, now + 3000);
  auto not_due = fcall("rc_auction_finish", auction_key, {});
  EXPECT_EQ(not_due.at(0).str, "not_due");
  EXPECT_EQ(not_due.at(1).integer, now + 3000);
}

TEST_F(RedisFunctions, FinishAnnouncesOnceWithWinnerAndResults) {
  fcall("rc_auction_init", auction_key, {"100", "10", "120", "rel:0", "rel:600", "0", "0"});
  fcall("rc_auction_bid", auction_key, {"3", "ann", "100", "k1", "bob", "130", "k2", "ann", "140", "k3"});
  ASSERT_TRUE(wait_until(5s, [&] {
    return fcall("rc_auction_finish", auction_key, {}).at(0).str == "ended" ||
           (fcall("rc_auction_state", auction_key, {}), false);
  }));
  // The call above ended it; every later call hears first = 0 and the same outcome.
  auto again = fcall("rc_auction_finish", auction_key, {});
  EXPECT_EQ(again.at(0).str, "ended");
  EXPECT_EQ(again.at(1).integer, 0);
  EXPECT_EQ(again.at(2).str, "ann");
  EXPECT_EQ(again.at(3).integer, 140);
  ASSERT_EQ(again.elements.size(), 4u + 6u);
  EXPECT_EQ(again.at(4).str, "ann");
  EXPECT_EQ(again.at(5).integer, 1);
  EXPECT_EQ(again.at(6).integer, 140);
  EXPECT_EQ(again.at(7).str, "bob");
  EXPECT_EQ(again.at(8).integer, 0);
  EXPECT_EQ(again.at(9).integer, 130);
  auto late = fcall("rc_auction_bid", auction_key, {"1", "cat", "500", "k4"});
  EXPECT_EQ(late.at(5).at(0).str, "ended");
}

TEST_F(RedisFunctions, ReserveNotMetMeansNoWinner) {
  fcall("rc_auction_init", auction_key, {"100", "10", "1000", "rel:0", "rel:300", "0", "0"});
  fcall("rc_auction_bid", auction_key, {"1", "ann", "100", "k1"});
  reply fin;
  ASSERT_TRUE(wait_until(5s, [&] {
    fin = fcall("rc_auction_finish", auction_key, {});
    return fin.at(0).str == "ended";
  }));
  EXPECT_EQ(fin.at(1).integer, 1);
  EXPECT_TRUE(fin.at(2).is_nil());
  EXPECT_EQ(fin.at(3).integer, 100);
}

TEST_F(RedisFunctions, AdmissionsSurviveKillNineFromTheAof) {
  init_sale(10, 1);
  std::vector<std::int64_t> positions;
  for (int i = 0; i < 5; ++i) positions.push_back(admit("k" + std::to_string(i), "r").at(1).integer);
  fcall("rc_sale_complete", sale_key, {"2"});
  srv.kill9();
  srv.start();
  ASSERT_TRUE(c->wait_answering());
  // The library is in the AOF too, but each node loads it at start anyway.
  auto st = fcall("rc_sale_state", sale_key, {});
  EXPECT_EQ(st.at(2).integer, 5);  // reserved
  EXPECT_EQ(st.at(3).integer, 2);  // head
  EXPECT_EQ(admit("k1", "r").at(1).integer, positions[1]);  // the stored answer
  EXPECT_EQ(admit("new", "r").at(1).integer, 6);
}

TEST_F(RedisFunctions, AuctionEventsReachTheBusInStateOrderAndTheEndOnce) {
  // rc_auction_publish appends to the bus only a version newer than the last one under its
  // guard; once "final" is appended, nothing else of the auction is.
  auto publish = [&](const std::string& guard, std::int64_t version,
                     std::vector<std::string> events) {
    std::vector<std::string> cmd{"FCALL", "rc_auction_publish", "4", auction_key, "tbus",
                                 "tbus:epoch", "tbus:seq", "ep1", "1000", guard,
                                 std::to_string(version), std::to_string(events.size() / 4)};
    cmd.insert(cmd.end(), events.begin(), events.end());
    auto r = c->call(cmd);
    EXPECT_FALSE(r.ec) << r.reply.str;
    return r.reply.at(0).integer;
  };
  auto price = [](int n) {
    return std::vector<std::string>{"auction:a1", "price_update", "{\"bidCount\":" +
                                    std::to_string(n) + "}", "1"};
  };
  EXPECT_EQ(publish("price", 2, price(2)), 1);
  EXPECT_EQ(publish("price", 1, price(1)), 0) << "an older price after a newer one";
  EXPECT_EQ(publish("price", 2, price(2)), 0) << "the same version twice";
  EXPECT_EQ(publish("countdown", 5000, {"auction:a1", "countdown", "{}", "1"}), 1);
  EXPECT_EQ(publish("final", 1,
                    {"auction:a1", "auction_end", "{}", "0", "user:ann", "result", "{}", "0"}),
            1);
  EXPECT_EQ(publish("final", 1, {"auction:a1", "auction_end", "{}", "0"}), 0)
      << "the end is announced once, whichever node tries";
  EXPECT_EQ(publish("price", 3, price(3)), 0) << "nothing after the end";
  auto entries = c->call({"XRANGE", "tbus", "-", "+"});
  ASSERT_EQ(entries.reply.elements.size(), 4u);
  std::vector<std::string> names, seqs;
  for (const auto& e : entries.reply.elements) {
    const auto& f = e.at(1);
    for (std::size_t i = 0; i + 1 < f.elements.size(); i += 2) {
      if (f.at(i).str == "n") names.push_back(f.at(i + 1).str);
      if (f.at(i).str == "s") seqs.push_back(f.at(i + 1).str);
      if (f.at(i).str == "e") EXPECT_EQ(f.at(i + 1).str, "ep1");
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"price_update", "countdown", "auction_end", "result"}));
  EXPECT_EQ(seqs, (std::vector<std::string>{"1", "2", "3", "4"}));
  auto bad = c->call({"FCALL", "rc_auction_publish", "4", auction_key, "tbus", "tbus:epoch",
                      "tbus:seq", "ep1", "1000", "other", "1", "1", "t", "n", "{}", "0"});
  EXPECT_EQ(bad.ec, redis::error::server_error);
}

}  // namespace
}  // namespace rushcast::test
