// redis::client against a real redis-server (tests/integration/harness_redis): replies of each
// type, pipelining in order, AUTH and SELECT from the URL, errors as values, the bounds, the
// reply timeout, a dropped connection failing its commands, and reconnecting by itself.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness_redis.hpp"
#include "redis_test_util.hpp"

namespace rushcast::test {
namespace {

using namespace std::chrono_literals;
using redis::error;
using kind = redis::reply::kind;

TEST(RedisClient, RoundTripsEachReplyType) {
  redis_server srv;
  redis_fixture_client c(srv.url());
  ASSERT_TRUE(c.wait_connected());
  auto set = c.call({"SET", "k", std::string("v\0w", 3)});
  ASSERT_FALSE(set.ec) << set.ec.message();
  EXPECT_EQ(set.reply.type, kind::status);
  EXPECT_EQ(set.reply.str, "OK");
  auto get = c.call({"GET", "k"});
  EXPECT_EQ(get.reply.str, std::string("v\0w", 3));
  EXPECT_TRUE(c.call({"GET", "absent"}).reply.is_nil());
  EXPECT_EQ(c.call({"INCRBY", "n", "41"}).reply.integer, 41);
  c.call({"RPUSH", "l", "a", "b"});
  auto range = c.call({"LRANGE", "l", "0", "-1"});
  ASSERT_EQ(range.reply.elements.size(), 2u);
  EXPECT_EQ(range.reply.at(1).str, "b");
}

TEST(RedisClient, ErrorReplyIsAValueWithItsText) {
  redis_server srv;
  redis_fixture_client c(srv.url());
  ASSERT_TRUE(c.wait_connected());
  auto r = c.call({"NOSUCHCOMMAND", "x"});
  EXPECT_EQ(r.ec, make_error_code(error::server_error));
  EXPECT_NE(r.reply.str.find("unknown command"), std::string::npos) << r.reply.str;
  // The connection is still good.
  EXPECT_FALSE(c.call({"PING"}).ec);
  EXPECT_EQ(c.ups(), 1);
  EXPECT_EQ(c.downs(), 0);
}

TEST(RedisClient, PipelinedRepliesComeBackInCommandOrder) {
  redis_server srv;
  redis_fixture_client c(srv.url());
  ASSERT_TRUE(c.wait_connected());
  constexpr int n = 20000;
  std::vector<std::int64_t> seen;
  seen.reserve(n);
  int errors = 0;
  // All sent before any reply is read: many commands in flight on the one connection.
  for (int i = 0; i < n; ++i)
    c.client().execute({"INCR", "counter"}, [&](boost::system::error_code ec, redis::reply r) {
      if (ec) ++errors;
      seen.push_back(r.integer);
    });
  ASSERT_TRUE(c.run_until(30s, [&] { return static_cast<int>(seen.size()) == n; }));
  EXPECT_EQ(errors, 0);
  for (int i = 0; i < n; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)], i + 1) << i;
}

TEST(RedisClient, PasswordAndDatabaseComeFromTheUrl) {
  redis_server srv({.password = "s3cret", .extra = {}});
  redis_fixture_client c3(srv.url(3));
  ASSERT_TRUE(c3.wait_connected());
  ASSERT_FALSE(c3.call({"SET", "where", "db3"}).ec);
  redis_fixture_client c0(srv.url(0));
  ASSERT_TRUE(c0.wait_connected());
  EXPECT_TRUE(c0.call({"GET", "where"}).reply.is_nil());
  EXPECT_EQ(c3.call({"GET", "where"}).reply.str, "db3");
}

TEST(RedisClient, WrongPasswordNeverBecomesReady) {
  redis_server srv({.password = "right", .extra = {}});
  auto opts = redis_fixture_client::options_for("redis://:wrong@127.0.0.1:" +
                                                std::to_string(srv.port()));
  redis_fixture_client c(opts);
  EXPECT_FALSE(c.wait_connected(1s));
  EXPECT_EQ(c.call({"PING"}).ec, make_error_code(error::not_connected));
  EXPECT_EQ(c.ups(), 0);
}

TEST(RedisClient, CommandBeforeConnectedFailsAtOnceAsNotConnected) {
  redis_server srv;
  redis_fixture_client c(srv.url());
  // Nothing has run on the io_context yet: the connection cannot be up.
  auto r = c.call({"PING"});
  EXPECT_EQ(r.ec, make_error_code(error::not_connected));
}

TEST(RedisClient, PendingCommandsFailWhenTheConnectionDropsThenItReconnects) {
  redis_server srv;
  redis_fixture_client c(srv.url());
  ASSERT_TRUE(c.wait_connected());
  // Blocking pops that never get an element: in flight until the server dies.
  std::vector<boost::system::error_code> results;
  for (int i = 0; i < 3; ++i)
    c.client().execute({"BLPOP", "nothing", "0"},
                       [&](boost::system::error_code ec, redis::reply) { results.push_back(ec); });
  c.run_until(200ms, [] { return false; });
  srv.kill9();
  ASSERT_TRUE(c.run_until(5s, [&] { return results.size() == 3; }));
  for (auto& ec : results) EXPECT_EQ(ec, make_error_code(error::connection_lost));
  EXPECT_EQ(c.downs(), 1);
  EXPECT_EQ(c.call({"PING"}).ec, make_error_code(error::not_connected));

  srv.start();
  ASSERT_TRUE(c.wait_connected(10s));
  EXPECT_EQ(c.ups(), 2);
  EXPECT_EQ(c.call({"PING"}).reply.str, "PONG");
}

TEST(RedisClient, CommandsBeyondTheBoundFailWithoutBeingSent) {
  redis_server srv;
  auto opts = redis_fixture_client::options_for(srv.url());
  opts.max_pending_commands = 3;
  opts.max_pending_bytes = 4096;
  opts.timeout = 60s;
  int blocked = 0;  // before c: the BLPOPs still pending when c closes count here
  redis_fixture_client c(opts);
  ASSERT_TRUE(c.wait_connected());
  for (int i = 0; i < 3; ++i)
    c.client().execute({"BLPOP", "q", "0"}, [&](boost::system::error_code, redis::reply) {
      ++blocked;
    });
  auto over = c.call({"RPUSH", "q", "x"}, 2s);
  EXPECT_EQ(over.ec, make_error_code(error::too_many_pending));
  // Not sent: nothing reached the list, no BLPOP was served.
  EXPECT_EQ(srv.command({"LLEN", "q"}), ":0\r\n");
  EXPECT_EQ(blocked, 0);

  // The byte bound: one command bigger than the whole budget.
  redis_fixture_client small([&] {
    auto o = redis_fixture_client::options_for(srv.url());
    o.max_pending_bytes = 1024;
    return o;
  }());
  ASSERT_TRUE(small.wait_connected());
  EXPECT_EQ(small.call({"SET", "big", std::string(2000, 'x')}).ec,
            make_error_code(error::too_many_pending));
  EXPECT_EQ(srv.command({"EXISTS", "big"}), ":0\r\n");
  EXPECT_FALSE(small.call({"SET", "fits", std::string(500, 'x')}).ec);
}

TEST(RedisClient, ServerThatStopsAnsweringTimesOutAndIsReconnected) {
  redis_server srv;
  auto opts = redis_fixture_client::options_for(srv.url());
  opts.timeout = 300ms;
  redis_fixture_client c(opts);
  ASSERT_TRUE(c.wait_connected());
  srv.pause();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.call({"PING"}, 5s);
  const auto waited = std::chrono::steady_clock::now() - t0;
  srv.resume();
  EXPECT_EQ(r.ec, make_error_code(error::timeout));
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 2s);
  ASSERT_TRUE(c.wait_connected(10s));
  EXPECT_EQ(c.call({"PING"}).reply.str, "PONG");
}

TEST(RedisClient, NoServerMeansNotConnectedNotAHang) {
  std::uint16_t port = 0;
  {
    redis_server srv;
    port = srv.port();
  }  // stopped: nothing listens there now
  redis_fixture_client c("redis://127.0.0.1:" + std::to_string(port));
  EXPECT_FALSE(c.wait_connected(300ms));
  EXPECT_EQ(c.call({"PING"}).ec, make_error_code(error::not_connected));
}

TEST(RedisClient, CloseFailsPendingCommandsAsClosed) {
  redis_server srv;
  redis_fixture_client c(srv.url());
  ASSERT_TRUE(c.wait_connected());
  std::optional<boost::system::error_code> got;
  c.client().execute({"BLPOP", "never", "0"},
                     [&](boost::system::error_code ec, redis::reply) { got = ec; });
  c.run_until(100ms, [] { return false; });
  c.client().close();
  ASSERT_TRUE(c.run_until(2s, [&] { return got.has_value(); }));
  EXPECT_EQ(*got, make_error_code(error::closed));
  EXPECT_EQ(c.call({"PING"}).ec, make_error_code(error::closed));
}

TEST(RedisClient, CallableFromAnotherThread) {
  redis_server srv;
  redis_fixture_client c(srv.url());
  ASSERT_TRUE(c.wait_connected());
  std::atomic<int> done{0};
  std::thread other([&] {
    for (int i = 0; i < 100; ++i)
      c.client().execute({"INCR", "t"}, [&](boost::system::error_code ec, redis::reply) {
        if (!ec) ++done;
      });
  });
  c.run_until(10s, [&] { return done.load() == 100; });
  other.join();
  c.run_until(10s, [&] { return done.load() == 100; });
  EXPECT_EQ(done.load(), 100);
  EXPECT_EQ(srv.command({"GET", "t"}), "$3\r\n100\r\n");
}

}  // namespace
}  // namespace rushcast::test
