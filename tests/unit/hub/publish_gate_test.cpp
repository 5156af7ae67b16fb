// Bounded publishes: the gate lets a publish through below the backlog bound, else it waits,
// expires or is refused on drain.
#include "rushcast/hub/publish_gate.hpp"
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

// A bounded publish's outcome, kept for the test.
struct bounded_outcome {
  bool called = false;
  boost::system::result<publish_result> r = publish_result{};
  rushcast::hub::bounded_publish_handler handler() {
    return [this](boost::system::result<publish_result> x) {
      EXPECT_FALSE(called) << "done called twice";
      called = true;
      r = std::move(x);
    };
  }
};

constexpr std::chrono::milliseconds long_wait{60000};


TEST(HubBacklog, EnginePublishesPassTheBound) {
  shards s(1, 1000, 2);
  auto a = std::make_shared<recording_subscriber>();
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  for (int i = 1; i <= 5; ++i) s.h->publish("t", "m", data(i));
  EXPECT_EQ(s.h->backlog(0), 5u);
  s.poll();
  EXPECT_EQ(seqs(a->got), range(1, 5));
}

TEST(HubBacklog, BoundedPublishBelowTheBoundAnswersAtOnce) {
  shards s(1, 1000, 2);
  auto a = std::make_shared<recording_subscriber>();
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  bounded_outcome o;
  s.h->publish_bounded("t", "m", data(1), long_wait, o.handler());
  ASSERT_TRUE(o.called);
  ASSERT_TRUE(o.r.has_value());
  EXPECT_EQ(o.r->id, "E-1");
  EXPECT_EQ(s.h->waiting_publishes(), 0u);
}

TEST(HubBacklog, BoundedPublishAtTheBoundWaitsForTheSweepThenPublishesInOrder) {
  rushcast::obs::metrics m;
  shards s(1, 1000, 2);
  s.h->set_metrics(&m);
  auto a = std::make_shared<recording_subscriber>();
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  bounded_outcome o[5];
  for (int i = 0; i < 5; ++i) s.h->publish_bounded("t", "m", data(i + 1), long_wait, o[i].handler());
  EXPECT_TRUE(o[0].called);
  EXPECT_TRUE(o[1].called);
  for (int i = 2; i < 5; ++i) EXPECT_FALSE(o[i].called);  // nothing answered, nothing published
  EXPECT_EQ(s.h->last_seq(), 2u);
  EXPECT_EQ(s.h->waiting_publishes(), 3u);
  EXPECT_EQ(s.h->backlog(0), 2u);
  s.poll();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(o[i].called);
    ASSERT_TRUE(o[i].r.has_value());
    EXPECT_EQ(o[i].r->seq, static_cast<std::uint64_t>(i + 1));  // arrival order kept
  }
  EXPECT_EQ(seqs(a->got), range(1, 5));
  EXPECT_EQ(s.h->waiting_publishes(), 0u);
  EXPECT_EQ(s.h->backlog(0), 0u);
  EXPECT_LE(s.h->backlog_peak(0), 2u);  // the bound held
  EXPECT_EQ(m.publishes_deferred.load(), 3u);
  EXPECT_EQ(m.publishes_rejected.load(), 0u);
}

TEST(HubBacklog, ALaterPublishQueuesBehindAWaitingOne) {
  shards s(1, 1000, 1);
  auto a = std::make_shared<recording_subscriber>();
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  s.h->publish("t", "m", data(1));  // an engine fills the backlog
  bounded_outcome first, second;
  s.h->publish_bounded("t", "m", data(2), long_wait, first.handler());
  EXPECT_FALSE(first.called);
  s.poll();
  ASSERT_TRUE(first.called);
  // first was published from the sweep and is itself in the backlog now; second waits.
  s.h->publish_bounded("t", "m", data(3), long_wait, second.handler());
  s.poll();
  ASSERT_TRUE(second.called);
  EXPECT_EQ(first.r->seq, 2u);
  EXPECT_EQ(second.r->seq, 3u);
  EXPECT_EQ(seqs(a->got), range(1, 3));
}

TEST(HubBacklog, WaitExpiresWithOverCapacityAndPublishesNothing) {
  rushcast::obs::metrics m;
  shards s(2, 1000, 1);
  s.h->set_metrics(&m);
  auto a = std::make_shared<recording_subscriber>(1);
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  s.h->publish("t", "m", data(1));  // shard 1 is full and is not run below
  bounded_outcome o;
  s.h->publish_bounded("t", "m", data(2), std::chrono::milliseconds(1), o.handler());
  EXPECT_FALSE(o.called);
  EXPECT_EQ(s.h->waiting_publishes(), 1u);
  // The timer runs on shard 0 (steady_timer has no manual clock: poll until 1 ms passed).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!o.called && std::chrono::steady_clock::now() < give_up) s.poll_one_shard(0);
  ASSERT_TRUE(o.called);
  ASSERT_TRUE(o.r.has_error());
  EXPECT_EQ(o.r.error(), rushcast::make_error_code(rushcast::errc::over_capacity));
  EXPECT_EQ(s.h->last_seq(), 1u);
  EXPECT_EQ(s.h->waiting_publishes(), 0u);
  EXPECT_EQ(m.publishes_rejected.load(), 1u);
  s.poll();
  EXPECT_EQ(seqs(a->got), range(1, 1));  // the refused event never reaches anyone
}

TEST(HubBacklog, ZeroWaitRefusesAtOnceAtTheBound) {
  rushcast::obs::metrics m;
  shards s(1, 1000, 1);
  s.h->set_metrics(&m);
  auto a = std::make_shared<recording_subscriber>();
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  bounded_outcome first, second;
  s.h->publish_bounded("t", "m", data(1), std::chrono::milliseconds(0), first.handler());
  s.h->publish_bounded("t", "m", data(2), std::chrono::milliseconds(0), second.handler());
  ASSERT_TRUE(first.called);
  EXPECT_TRUE(first.r.has_value());
  ASSERT_TRUE(second.called);
  EXPECT_EQ(second.r.error(), rushcast::make_error_code(rushcast::errc::over_capacity));
  EXPECT_EQ(s.h->waiting_publishes(), 0u);
  EXPECT_EQ(m.publishes_rejected.load(), 1u);
  s.poll();
  EXPECT_EQ(seqs(a->got), range(1, 1));
}

TEST(HubBacklog, CloseRefusesWaitersAndLaterOnesThatWouldWait) {
  shards s(1, 1000, 1);
  auto a = std::make_shared<recording_subscriber>();
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  s.h->publish("t", "m", data(1));
  bounded_outcome waiting, later, after_room;
  s.h->publish_bounded("t", "m", data(2), long_wait, waiting.handler());
  s.h->close_bounded();
  ASSERT_TRUE(waiting.called);
  EXPECT_EQ(waiting.r.error(), rushcast::make_error_code(rushcast::errc::unavailable));
  s.h->publish_bounded("t", "m", data(3), long_wait, later.handler());
  ASSERT_TRUE(later.called);
  EXPECT_EQ(later.r.error(), rushcast::make_error_code(rushcast::errc::unavailable));
  s.poll();
  s.h->publish_bounded("t", "m", data(4), long_wait, after_room.handler());
  ASSERT_TRUE(after_room.called);
  EXPECT_TRUE(after_room.r.has_value());  // draining still publishes while there is room
  s.poll();
  EXPECT_EQ(seqs(a->got), range(1, 2));
}

TEST(HubBacklog, ConcurrentBoundedPublishersLoseNothingAndStayNearTheBound) {
  constexpr std::size_t bound = 8;
  shards s(2, 100000, bound);
  auto a = std::make_shared<recording_subscriber>(0);
  auto b = std::make_shared<recording_subscriber>(1);
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  s.h->subscribe(b, {"t"}, std::nullopt, transport::sse);
  std::atomic<bool> stop{false};
  std::vector<std::thread> shard_threads;
  for (auto& c : s.ctx) {
    shard_threads.emplace_back([&c, &stop] {
      auto guard = boost::asio::make_work_guard(c);
      c.restart();
      while (!stop.load()) c.run_one_for(std::chrono::milliseconds(5));
    });
  }
  constexpr int per_thread = 500;
  std::atomic<int> ok{0};
  std::vector<std::thread> publishers;
  for (int t = 0; t < 4; ++t) {
    publishers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
        bool success = false;
        s.h->publish_bounded("t", "m", "{}", long_wait,
                             [&](boost::system::result<publish_result> r) {
                               std::lock_guard lk(mu);
                               done = true;
                               success = r.has_value();
                               cv.notify_one();
                             });
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return done; });
        if (success) ok.fetch_add(1);
      }
    });
  }
  for (auto& p : publishers) p.join();
  while (s.h->backlog(0) + s.h->backlog(1) > 0) std::this_thread::yield();
  stop = true;
  for (auto& t : shard_threads) t.join();
  EXPECT_EQ(ok.load(), 4 * per_thread);
  EXPECT_EQ(seqs(a->got), range(1, 4 * per_thread));
  EXPECT_EQ(seqs(b->got), range(1, 4 * per_thread));
  // Soft bound: at most one extra event per concurrent fast-path caller.
  EXPECT_LE(s.h->backlog_peak(0), bound + 4);
  EXPECT_LE(s.h->backlog_peak(1), bound + 4);
}

TEST(PublishGate, OpenBelowTheBoundAndShutAtIt) {
  boost::asio::io_context ctx;
  auto d = std::make_shared<dispatcher>(ctx.get_executor(), 16, 4);
  int published = 0;
  auto gate = std::make_shared<publish_gate>(
      std::vector<std::shared_ptr<dispatcher>>{d}, 2,
      [&](std::string_view, std::string_view, std::string_view) {
        ++published;
        return publish_result{"E-" + std::to_string(published), static_cast<std::uint64_t>(published)};
      });
  gate->attach();
  auto f = make_frame("E-1", 1, "t", "m", "{}", false);
  EXPECT_TRUE(gate->open());
  d->enqueue(f);
  EXPECT_TRUE(gate->open());
  d->enqueue(f);
  EXPECT_FALSE(gate->open());
  // Waiting: the round that empties the dispatcher admits the waiter through publish.
  bounded_outcome out;
  gate->wait("t", "m", "{}", long_wait, out.handler());
  EXPECT_FALSE(out.called);
  EXPECT_EQ(gate->waiting(), 1u);
  d->schedule();
  ctx.poll();
  ASSERT_TRUE(out.called);
  ASSERT_TRUE(out.r.has_value());
  EXPECT_EQ(out.r->seq, 1u);
  EXPECT_EQ(published, 1);
  EXPECT_EQ(gate->waiting(), 0u);
  EXPECT_TRUE(gate->open());
}

TEST(PublishGate, ClosedGateRefusesWithUnavailable) {
  boost::asio::io_context ctx;
  auto d = std::make_shared<dispatcher>(ctx.get_executor(), 16, 4);
  auto gate = std::make_shared<publish_gate>(
      std::vector<std::shared_ptr<dispatcher>>{d}, 1,
      [](std::string_view, std::string_view, std::string_view) { return publish_result{}; });
  gate->attach();
  gate->close();
  bounded_outcome out;
  gate->wait("t", "m", "{}", long_wait, out.handler());
  ASSERT_TRUE(out.called);
  EXPECT_EQ(out.r.error(), make_error_code(rushcast::errc::unavailable));
}
