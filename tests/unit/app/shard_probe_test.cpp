// The watchdog's liveness rule: WATCHDOG=1 only once every shard ran a posted ping.
#include "rushcast/app/shard_probe.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace rushcast::app {
namespace {

struct two_shards {
  boost::asio::io_context a, b;
  shard_probe probe{{a.get_executor(), b.get_executor()}};
  int alive = 0;
  bool round() { return probe.round([this] { ++alive; }); }
  void run(boost::asio::io_context& c) {
    c.restart();
    c.poll();
  }
};

TEST(ShardProbe, AliveOnlyAfterEveryShardAnswered) {
  two_shards s;
  EXPECT_TRUE(s.round());
  s.run(s.a);
  EXPECT_EQ(s.alive, 0) << "one shard answering is not enough";
  s.run(s.b);
  EXPECT_EQ(s.alive, 1);
  EXPECT_FALSE(s.probe.pending());
}

TEST(ShardProbe, AWedgedShardStopsEveryLaterRound) {
  two_shards s;
  EXPECT_TRUE(s.round());
  s.run(s.a);  // shard b is blocked: its ping never runs
  for (int tick = 0; tick < 5; ++tick) {
    EXPECT_FALSE(s.round()) << "a new round while the last is unanswered";
    s.run(s.a);
  }
  EXPECT_EQ(s.alive, 0) << "WATCHDOG=1 was sent while a shard was wedged";
  EXPECT_TRUE(s.probe.pending());
  // The shard recovers: the pending round completes and the next one starts.
  s.run(s.b);
  EXPECT_EQ(s.alive, 1);
  EXPECT_TRUE(s.round());
  s.run(s.a);
  s.run(s.b);
  EXPECT_EQ(s.alive, 2);
}

}  // namespace
}  // namespace rushcast::app
