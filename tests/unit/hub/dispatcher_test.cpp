// A shard's dispatcher, driven through the hub: sweep in budgets, flush rounds in slices, the
// backlog a round acknowledges, and handlers that throw.
#include "rushcast/hub/dispatcher.hpp"
#include "rushcast/hub/hub.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hub_fixture.hpp"
#include "recording_subscriber.hpp"
#include "rushcast/core/errc.hpp"
#include "rushcast/obs/metrics.hpp"

using namespace rushcast::hub;
using namespace rushcast::hub::test;

TEST(Hub, ChunkedSweepYieldsAndKeepsOrder) {
  shards s;
  auto subs = subscribe_many(*s.h, 1000);
  for (int i = 1; i <= 20; ++i) s.h->publish("t", "m", data(i));
  std::size_t runs = 0;
  std::uint64_t next_seq = 21;
  s.ctx[0].restart();
  while (s.ctx[0].poll_one() > 0) {
    ++runs;
    std::size_t delivered = 0;
    for (auto& sub : subs) delivered += sub->got.size();
    // Never more than one budget of deliveries per handler run.
    ASSERT_LE(delivered, runs * 256);
    // Publishes get in between runs and queue behind the sweep.
    if (runs % 7 == 0 && next_seq <= 40) s.h->publish("t", "m", data(next_seq++));
    s.ctx[0].restart();
  }
  EXPECT_GT(runs, 20u * 1000 / 256);
  for (auto& sub : subs) ASSERT_EQ(seqs(sub->got), range(1, next_seq - 1));
}


TEST(HubBacklog, CountsEventsUntilTheirSweepEnds) {
  shards s(2);
  auto a = std::make_shared<recording_subscriber>(0);
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  for (int i = 1; i <= 3; ++i) s.h->publish("t", "m", data(i));
  s.h->publish("nobody", "m", "{}");
  EXPECT_EQ(s.h->backlog(0), 3u);
  EXPECT_EQ(s.h->backlog(1), 0u);  // no subscriber there: nothing posted, nothing counted
  EXPECT_EQ(s.h->backlog_peak(0), 3u);
  s.poll();
  EXPECT_EQ(s.h->backlog(0), 0u);
  EXPECT_EQ(s.h->backlog_peak(0), 3u);
  EXPECT_EQ(a->got.size(), 3u);
}

TEST(HubBacklog, ChunkedSweepCountsAFrameUntilItsLastSubscriber) {
  shards s(1, 1000, 1000);  // sweep budget 256 (the helper's)
  auto subs = subscribe_many(*s.h, 600);
  s.h->publish("t", "m", "{}");
  s.ctx[0].restart();
  EXPECT_EQ(s.ctx[0].poll_one(), 1u);  // one run of 256 deliveries, then it re-posts itself
  EXPECT_EQ(s.h->backlog(0), 1u);
  s.poll();
  EXPECT_EQ(s.h->backlog(0), 0u);
}


// ---- flush rounds: sweep, then one flush per marked subscriber, a slice per handler run

namespace {

struct sliced_shard {
  // One shard, sweep budget 100000 (a whole sweep per run), flush slice 4.
  sliced_shard() {
    std::vector<boost::asio::any_io_executor> ex{ctx.get_executor()};
    h = std::make_unique<hub>(ex, rushcast::config::history_cfg{1000, 0}, "E", 100000,
                              hub::default_max_backlog, 4);
  }
  std::size_t run_one() {
    ctx.restart();
    return ctx.poll_one();
  }
  boost::asio::io_context ctx;
  std::unique_ptr<hub> h;
};

}  // namespace

TEST(HubFlush, EverySubscriberIsFlushedOnceAfterTheSweepGatheringWhatItGot) {
  sliced_shard s;
  auto subs = subscribe_many(*s.h, 10);
  for (int i = 1; i <= 3; ++i) s.h->publish("t", "m", data(i));
  while (s.run_one() > 0) {
  }
  for (auto& sub : subs) {
    ASSERT_EQ(seqs(sub->got), range(1, 3));
    // The three events were swept before any flush: one flush carries all three.
    ASSERT_EQ(sub->flushed_at, std::vector<std::size_t>{3});
  }
}

TEST(HubFlush, FlushesASlicePerRunAndEventsArrivingMeanwhileJoinTheRound) {
  sliced_shard s;
  auto subs = subscribe_many(*s.h, 10);
  s.h->publish("t", "m", data(1));
  ASSERT_EQ(s.run_one(), 1u);  // sweep of event 1 + the first slice
  std::size_t flushed = 0;
  for (auto& sub : subs) flushed += sub->flushed_at.size();
  EXPECT_EQ(flushed, 4u);
  EXPECT_EQ(s.h->backlog(0), 1u);  // written to 4 of 10: still in the backlog
  // A publish read between slices: its sweep queues event 2 on everyone, and the subscribers
  // not flushed yet carry it in the write they were waiting for.
  s.h->publish("t", "m", data(2));
  while (s.run_one() > 0) {
  }
  EXPECT_EQ(s.h->backlog(0), 0u);
  for (std::size_t i = 0; i < subs.size(); ++i) {
    ASSERT_EQ(seqs(subs[i]->got), range(1, 2));
    if (i < 4)  // flushed with event 1, then again in the next round
      EXPECT_EQ(subs[i]->flushed_at, (std::vector<std::size_t>{1, 2})) << i;
    else  // one write with both events
      EXPECT_EQ(subs[i]->flushed_at, std::vector<std::size_t>{2}) << i;
  }
}

TEST(HubFlush, BacklogFallsWhenTheRoundEndsNotWhenTheSweepEnds) {
  sliced_shard s;
  auto subs = subscribe_many(*s.h, 9);
  s.h->publish("t", "m", data(1));
  s.h->publish("t", "m", data(2));
  EXPECT_EQ(s.run_one(), 1u);  // both swept, 4 flushed
  EXPECT_EQ(s.h->backlog(0), 2u);
  EXPECT_EQ(s.run_one(), 1u);  // 8 flushed
  EXPECT_EQ(s.h->backlog(0), 2u);
  EXPECT_EQ(s.run_one(), 1u);  // the ninth: the round ends
  EXPECT_EQ(s.h->backlog(0), 0u);
  EXPECT_EQ(s.run_one(), 0u);  // and nothing is left to run
}

TEST(HubFlush, ASubscriberLeavingBeforeItsFlushIsNotFlushed) {
  sliced_shard s;
  auto subs = subscribe_many(*s.h, 8);
  // The first flush closes subscriber 6 (as a session whose write fails would), and 7 left by
  // unsubscribing its last topic before it is destroyed.
  subs[0]->on_flush = [&] { s.h->unsubscribe_all(*subs[6]); };
  s.h->publish("t", "m", data(1));
  ASSERT_EQ(s.run_one(), 1u);
  s.h->unsubscribe(*subs[7], {"t"});
  s.h->unsubscribe_all(*subs[7]);
  subs[6].reset();
  subs[7].reset();  // a dangling entry would be flushed below
  while (s.run_one() > 0) {
  }
  for (int i = 0; i < 6; ++i) EXPECT_EQ(subs[i]->flushed_at, std::vector<std::size_t>{1}) << i;
  EXPECT_EQ(s.h->backlog(0), 0u);
}

TEST(HubFlush, AFrameNobodyHereWantsStillLeavesTheBacklog) {
  sliced_shard s;
  auto a = std::make_shared<recording_subscriber>();
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  s.h->publish("t", "m", data(1));
  s.h->unsubscribe_all(*a);  // gone before the sweep: nobody is marked
  EXPECT_EQ(s.h->backlog(0), 1u);
  while (s.run_one() > 0) {
  }
  EXPECT_EQ(s.h->backlog(0), 0u);
  EXPECT_TRUE(a->flushed_at.empty());
}

namespace {

// Throws from deliver() for the frames whose data is in poison (a bug in a session, a bad
// string), and records the others.
class throwing_subscriber : public recording_subscriber {
public:
  void deliver(const frame_ptr& f) override {
    if (f->name == "poison") throw std::runtime_error("cannot deliver");
    recording_subscriber::deliver(f);
  }
};

}  // namespace

TEST(Hub, ThrowingDeliveryDropsThatEventOnlyAndLaterEventsStillArrive) {
  shards s;
  auto before = std::make_shared<recording_subscriber>();
  auto thrower = std::make_shared<throwing_subscriber>();
  auto after = std::make_shared<recording_subscriber>();
  for (auto sub : std::vector<std::shared_ptr<subscriber>>{before, thrower, after})
    s.h->subscribe(sub, {"t"}, std::nullopt, transport::websocket);
  s.h->publish("t", "m", data(1));
  s.h->publish("t", "poison", data(2));
  s.h->publish("t", "m", data(3));
  s.poll();
  EXPECT_EQ(seqs(before->got), range(1, 3));
  EXPECT_EQ(seqs(after->got), range(1, 3));
  EXPECT_EQ(seqs(thrower->got), (std::vector<std::uint64_t>{1, 3}));
  // The shard is not stuck: a publish after the failure is delivered to everyone.
  s.h->publish("t", "m", data(4));
  s.poll();
  EXPECT_EQ(seqs(before->got), range(1, 4));
  EXPECT_EQ(seqs(thrower->got), (std::vector<std::uint64_t>{1, 3, 4}));
}

TEST(Hub, ThrowingFlushAndSnapshotSourceDoNotStopDelivery) {
  shards s;
  s.h->set_snapshot("t", [](transport) -> std::vector<snapshot_event> {
    throw std::runtime_error("bad snapshot");
  });
  auto a = std::make_shared<recording_subscriber>();
  auto b = std::make_shared<recording_subscriber>();
  a->on_flush = [] { throw std::runtime_error("bad flush"); };
  auto r = s.h->subscribe(a, {"t"}, std::nullopt, transport::websocket);
  EXPECT_TRUE(r.snapshot.empty());
  s.h->subscribe(b, {"t"}, std::nullopt, transport::websocket);
  s.h->publish("t", "m", data(1));
  s.poll();
  s.h->publish("t", "m", data(2));
  s.poll();
  EXPECT_EQ(seqs(a->got), range(1, 2));
  EXPECT_EQ(seqs(b->got), range(1, 2));
  EXPECT_EQ(b->flushed_at.size(), 2u);
}

namespace {

struct counting_listener : room_listener {
  void on_room() override { ++calls; }
  int calls = 0;
};

}  // namespace

TEST(Dispatcher, EnqueueAsksForOnePostPerBurstAndCountsTheBacklog) {
  boost::asio::io_context ctx;
  auto d = std::make_shared<dispatcher>(ctx.get_executor(), 16, 4);
  auto f = make_frame("E-1", 1, "t", "m", "{}", false);
  EXPECT_TRUE(d->enqueue(f));
  EXPECT_FALSE(d->enqueue(f));
  EXPECT_EQ(d->backlog(), 2u);
  d->schedule();
  ctx.run();
  // Nobody here follows "t": the frames still leave the backlog when the round ends.
  EXPECT_EQ(d->backlog(), 0u);
  EXPECT_EQ(d->backlog_peak(), 2u);
  EXPECT_TRUE(d->enqueue(f));  // idle again: the next burst posts again
}

TEST(Dispatcher, TellsTheRoomListenerOnlyWhileSomeoneWaits) {
  boost::asio::io_context ctx;
  auto d = std::make_shared<dispatcher>(ctx.get_executor(), 16, 4);
  auto waiting = std::make_shared<std::atomic<bool>>(false);
  auto listener = std::make_shared<counting_listener>();
  d->watch_room(waiting, listener);
  auto f = make_frame("E-1", 1, "t", "m", "{}", false);
  if (d->enqueue(f)) d->schedule();
  ctx.run();
  EXPECT_EQ(listener->calls, 0);
  waiting->store(true);
  ctx.restart();
  if (d->enqueue(f)) d->schedule();
  ctx.run();
  EXPECT_EQ(listener->calls, 1);
  // A listener that is gone is not called, and the round still ends.
  listener.reset();
  ctx.restart();
  if (d->enqueue(f)) d->schedule();
  ctx.run();
  EXPECT_EQ(d->backlog(), 0u);
}
