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

#include "recording_subscriber.hpp"
#include "rushcast/core/errc.hpp"
#include "rushcast/obs/metrics.hpp"

using namespace rushcast::hub;
using rushcast::hub::test::recording_subscriber;

namespace {

struct shards {
  explicit shards(std::size_t n = 1, std::size_t history = 1000,
                  std::size_t max_backlog = hub::default_max_backlog)
      : ctx(n) {
    std::vector<boost::asio::any_io_executor> ex;
    for (auto& c : ctx) ex.push_back(c.get_executor());
    h = std::make_unique<hub>(ex, rushcast::config::history_cfg{history, 0}, "E", 256,
                              max_backlog);
  }
  // Runs only shard i's handlers (its sweeps, and on shard 0 the bounded publishes' timers).
  std::size_t poll_one_shard(std::size_t i) {
    ctx[i].restart();
    return ctx[i].poll();
  }
  void poll() {
    for (bool more = true; more;) {
      more = false;
      for (auto& c : ctx) {
        c.restart();
        if (c.poll() > 0) more = true;
      }
    }
  }
  std::vector<boost::asio::io_context> ctx;
  std::unique_ptr<hub> h;
};

// n subscribers of topic "t" on shard 0, subscribed in order.
std::vector<std::shared_ptr<recording_subscriber>> subscribe_many(hub& h, int n) {
  std::vector<std::shared_ptr<recording_subscriber>> subs;
  for (int i = 0; i < n; ++i) {
    subs.push_back(std::make_shared<recording_subscriber>());
    h.subscribe(subs.back(), {"t"}, std::nullopt, transport::sse);
  }
  return subs;
}

std::vector<std::uint64_t> seqs(const std::vector<frame_ptr>& frames) {
  std::vector<std::uint64_t> out;
  for (auto& f : frames) out.push_back(f->seq);
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> out;
  for (auto s = first; s <= last; ++s) out.push_back(s);
  return out;
}

std::string data(int i) { return nlohmann::json{{"i", i}}.dump(); }

}  // namespace

TEST(Hub, PublishAssignsIdsInOrder) {
  shards s;
  auto a = s.h->publish("t", "m", "{}");
  auto b = s.h->publish("u", "m", "{}");
  EXPECT_EQ(a.seq, 1u);
  EXPECT_EQ(a.id, "E-1");
  EXPECT_EQ(b.seq, 2u);
  EXPECT_EQ(s.h->last_seq(), 2u);
  EXPECT_EQ(s.h->epoch(), "E");
}

TEST(Hub, DeliversManyPublishesInOrder) {
  shards s;
  auto sub = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(sub, {"t"}, std::nullopt, transport::sse);
  EXPECT_TRUE(r.replay.empty());
  for (int i = 1; i <= 2000; ++i) s.h->publish("t", "m", data(i));
  s.h->publish("other", "m", "{}");
  EXPECT_TRUE(sub->got.empty());  // nothing is delivered outside the shard's thread
  s.poll();
  ASSERT_EQ(sub->got.size(), 2000u);
  EXPECT_EQ(seqs(sub->got), range(1, 2000));
  EXPECT_EQ(sub->got.back()->sse, "id: E-2000\nevent: m\ndata: {\"i\":2000}\n\n");
}

TEST(Hub, OneFrameIsSharedByEverySubscriber) {
  shards s;
  auto a = std::make_shared<recording_subscriber>();
  auto b = std::make_shared<recording_subscriber>();
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  s.h->subscribe(b, {"t"}, std::nullopt, transport::websocket);
  s.h->publish("t", "m", "{}");
  s.poll();
  ASSERT_EQ(a->got.size(), 1u);
  ASSERT_EQ(b->got.size(), 1u);
  EXPECT_EQ(a->got[0].get(), b->got[0].get());
}

TEST(Hub, PostsOncePerBurstAndOnlyToShardsWithSubscribers) {
  shards s(2);
  auto sub = std::make_shared<recording_subscriber>(0);
  s.h->subscribe(sub, {"t"}, std::nullopt, transport::sse);
  for (int i = 0; i < 50; ++i) s.h->publish("t", "m", "{}");
  s.ctx[1].restart();
  EXPECT_EQ(s.ctx[1].poll(), 0u);  // shard 1 follows nothing
  s.ctx[0].restart();
  EXPECT_EQ(s.ctx[0].poll_one(), 1u);  // one handler drained the whole burst
  EXPECT_EQ(sub->got.size(), 50u);
  EXPECT_EQ(s.ctx[0].poll(), 0u);
}

TEST(Hub, TwoShardsEachGetEveryEventInOrder) {
  shards s(2);
  auto a = std::make_shared<recording_subscriber>(0);
  auto b = std::make_shared<recording_subscriber>(1);
  s.h->subscribe(a, {"t", "u"}, std::nullopt, transport::sse);
  s.h->subscribe(b, {"t"}, std::nullopt, transport::sse);
  for (int i = 1; i <= 300; ++i) s.h->publish(i % 3 == 0 ? "u" : "t", "m", data(i));
  s.poll();
  EXPECT_EQ(seqs(a->got), range(1, 300));
  std::vector<std::uint64_t> only_t;
  for (std::uint64_t i = 1; i <= 300; ++i)
    if (i % 3 != 0) only_t.push_back(i);
  EXPECT_EQ(seqs(b->got), only_t);
}

TEST(Hub, SubscribeMidStreamGivesReplayThenLiveWithoutDuplicateOrGap) {
  shards s;
  auto early = std::make_shared<recording_subscriber>();
  s.h->subscribe(early, {"t"}, std::nullopt, transport::sse);
  for (int i = 1; i <= 10; ++i) s.h->publish("t", "m", data(i));
  // Frames 1..10 still sit in the shard's queue when `late` arrives with Last-Event-ID 3.
  auto late = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(late, {"t"}, std::string("E-3"), transport::sse);
  EXPECT_FALSE(r.resync);
  EXPECT_EQ(seqs(r.replay), range(4, 10));
  for (int i = 11; i <= 15; ++i) s.h->publish("t", "m", data(i));
  s.poll();
  EXPECT_EQ(seqs(late->got), range(11, 15));
  EXPECT_EQ(seqs(early->got), range(1, 15));
}

TEST(Hub, SubscribeInsideALongSweepStartsAfterIt) {
  shards s;
  auto subs = subscribe_many(*s.h, 600);
  s.h->publish("t", "m", data(1));
  s.h->publish("t", "m", data(2));
  s.ctx[0].restart();
  s.ctx[0].poll_one();  // part of frame 1's sweep
  auto late = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(late, {"t"}, std::string("E-1"), transport::sse);
  EXPECT_EQ(seqs(r.replay), range(2, 2));
  s.h->publish("t", "m", data(3));
  s.poll();
  EXPECT_EQ(seqs(late->got), range(3, 3));
  for (auto& sub : subs) ASSERT_EQ(seqs(sub->got), range(1, 3));
}

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

TEST(Hub, UnsubscribeStopsDeliveryOfQueuedFrames) {
  shards s;
  auto a = std::make_shared<recording_subscriber>();
  auto b = std::make_shared<recording_subscriber>();
  s.h->subscribe(a, {"t", "u"}, std::nullopt, transport::sse);
  s.h->subscribe(b, {"t"}, std::nullopt, transport::sse);
  s.h->publish("t", "m", "{}");
  s.h->unsubscribe(*a, {"t"});
  s.h->publish("u", "m", "{}");
  s.poll();
  EXPECT_EQ(seqs(a->got), range(2, 2));
  EXPECT_EQ(seqs(b->got), range(1, 1));
  s.h->unsubscribe_all(*a);
  s.h->unsubscribe_all(*b);
  EXPECT_EQ(s.h->topic_count(), 0u);
  s.h->publish("t", "m", "{}");
  s.ctx[0].restart();
  EXPECT_EQ(s.ctx[0].poll(), 0u);  // nobody left: nothing is posted
}

TEST(Hub, SubscribersLeavingMidSweepAreNeitherCalledNorSkipped) {
  shards s;
  auto subs = subscribe_many(*s.h, 600);
  s.h->publish("t", "m", "{}");
  s.ctx[0].restart();
  s.ctx[0].poll_one();  // 256 of 600 visited
  // Sessions close on their shard: they leave the hub, then die.
  for (int i = 0; i < 300; ++i) {
    s.h->unsubscribe_all(*subs[i]);
    subs[i].reset();
  }
  s.poll();
  for (int i = 300; i < 600; ++i) ASSERT_EQ(subs[i]->got.size(), 1u) << i;
}

TEST(Hub, ResubscribingIsNoDuplicate) {
  shards s;
  auto a = std::make_shared<recording_subscriber>();
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  s.h->publish("t", "m", "{}");
  auto r = s.h->subscribe(a, {"t", "t"}, std::string("E-0"), transport::websocket);
  EXPECT_TRUE(r.replay.empty());  // already live on t
  s.h->publish("t", "m", "{}");
  s.poll();
  EXPECT_EQ(seqs(a->got), range(1, 2));
}

TEST(Hub, ResyncComesWithSnapshotAndNoReplay) {
  shards s(1, 2);
  s.h->set_snapshot("sale:1", [](transport) {
    return std::vector<snapshot_event>{{"stock", R"({"stock":3})"}, {"countdown", "{}"}};
  });
  for (int i = 0; i < 5; ++i) s.h->publish("sale:1", "stock", "{}");
  auto sub = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(sub, {"sale:1"}, std::string("E-1"), transport::sse);
  EXPECT_TRUE(r.resync);
  EXPECT_EQ(r.resync_reason, "too_old");
  ASSERT_TRUE(r.resync_frame);
  EXPECT_EQ(r.resync_frame->sse, "event: resync\ndata: {\"reason\":\"too_old\"}\n\n");
  EXPECT_TRUE(r.replay.empty());
  ASSERT_EQ(r.snapshot.size(), 2u);
  EXPECT_EQ(r.snapshot[0]->name, "stock");
  EXPECT_EQ(r.snapshot[0]->seq, 0u);
  EXPECT_EQ(r.snapshot[0]->ws_payload(), R"({"type":"stock","topic":"sale:1","stock":3})");
  EXPECT_EQ(r.snapshot[1]->name, "countdown");

  auto other = std::make_shared<recording_subscriber>();
  EXPECT_EQ(s.h->subscribe(other, {"sale:1"}, std::string("X-1"), transport::sse).resync_reason,
            "epoch");
  auto third = std::make_shared<recording_subscriber>();
  EXPECT_EQ(s.h->subscribe(third, {"sale:1"}, std::string("garbage"), transport::sse)
                .resync_reason,
            "bad_id");
}

TEST(Hub, ReplayPrecedesSnapshotWithoutResync) {
  shards s;
  s.h->set_snapshot("sale:1", [](transport) {
    return std::vector<snapshot_event>{{"stock", R"({"stock":3})"}};
  });
  s.h->publish("sale:1", "stock", "{}");
  s.h->publish("sale:1", "stock", "{}");
  auto sub = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(sub, {"sale:1"}, std::string("E-1"), transport::sse);
  EXPECT_FALSE(r.resync);
  EXPECT_FALSE(r.resync_frame);
  EXPECT_EQ(seqs(r.replay), range(2, 2));
  EXPECT_EQ(r.snapshot.size(), 1u);
  // Without Last-Event-ID: snapshot only.
  auto fresh = std::make_shared<recording_subscriber>();
  auto f = s.h->subscribe(fresh, {"sale:1"}, std::nullopt, transport::sse);
  EXPECT_TRUE(f.replay.empty());
  EXPECT_EQ(f.snapshot.size(), 1u);
}

TEST(Hub, SnapshotPrefixServesAFamilyExactWins) {
  shards s;
  s.h->set_snapshot_prefix("chat:", [](const std::string& topic, transport) {
    return std::vector<snapshot_event>{{"room_state", nlohmann::json{{"room", topic}}.dump()}};
  });
  s.h->set_snapshot_prefix("chat:vip:", [](const std::string& topic, transport) {
    return std::vector<snapshot_event>{{"vip_state", "{}"}};
  });
  s.h->set_snapshot("chat:special", [](transport t) {
    return std::vector<snapshot_event>{
        {"special", t == transport::websocket ? R"({"ws":true})" : R"({"ws":false})"}};
  });
  auto sub = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(sub, {"chat:a", "chat:vip:b", "chat:special", "sale:x"}, std::nullopt,
                          transport::websocket);
  ASSERT_EQ(r.snapshot.size(), 3u);
  EXPECT_EQ(r.snapshot[0]->ws_payload(), R"({"type":"room_state","topic":"chat:a","room":"chat:a"})");
  EXPECT_EQ(r.snapshot[1]->name, "vip_state");
  EXPECT_EQ(r.snapshot[2]->ws_payload(), R"({"type":"special","topic":"chat:special","ws":true})");
}

TEST(Hub, HistorySinceServesLongPoll) {
  shards s;
  s.h->publish("a", "m", "{}");
  s.h->publish("b", "m", "{}");
  s.h->publish("a", "m", "{}");
  EXPECT_EQ(seqs(s.h->history_since({"a"}, std::string("E-0")).replay),
            (std::vector<std::uint64_t>{1, 3}));
  EXPECT_TRUE(s.h->history_since({"a"}, std::nullopt).replay.empty());
  EXPECT_EQ(s.h->history_since({"a"}, std::string("E-x")).resync_reason, "bad_id");
}

TEST(Hub, PublishCountsIntoMetrics) {
  shards s;
  rushcast::obs::metrics m;
  s.h->set_metrics(&m);
  s.h->publish("a", "m", "{}");
  s.h->publish("a", "m", "{}");
  EXPECT_EQ(m.events_published.load(), 2u);
  EXPECT_EQ(m.events_delivered.load(), 0u);
}

TEST(Hub, EmptyTopicsAndForeignShardAreIgnored) {
  shards s;
  auto sub = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(sub, {"", "t"}, std::nullopt, transport::sse);
  EXPECT_EQ(s.h->topic_count(), 1u);
  EXPECT_THROW(hub({}, rushcast::config::history_cfg{}, "E"), std::invalid_argument);
}

TEST(Hub, ConcurrentPublishersAndShardThreadsKeepOneOrderWithoutLossOrDuplicate) {
  shards s(2, 100000);
  std::vector<std::shared_ptr<recording_subscriber>> subs;
  for (std::size_t i = 0; i < 40; ++i) {
    subs.push_back(std::make_shared<recording_subscriber>(i % 2));
    s.h->subscribe(subs.back(), {"t"}, std::nullopt, transport::sse);
  }
  using guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<guard> guards;
  for (auto& c : s.ctx) guards.emplace_back(c.get_executor());
  std::vector<std::thread> shard_threads;
  for (auto& c : s.ctx) shard_threads.emplace_back([&c] { c.run(); });

  // Joins mid-stream on its own shard's thread, replaying from the start of the stream.
  auto late = std::make_shared<recording_subscriber>(1);
  subscribe_result late_result;
  constexpr int per_publisher = 3000;
  std::vector<std::thread> publishers;
  for (int p = 0; p < 2; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < per_publisher; ++i) {
        s.h->publish("t", "m", nlohmann::json{{"p", p}, {"i", i}}.dump());
        if (p == 0 && i == per_publisher / 2) {
          boost::asio::post(s.ctx[1], [&] {
            late_result = s.h->subscribe(late, {"t"}, std::string("E-0"), transport::sse);
          });
        }
      }
    });
  }
  for (auto& t : publishers) t.join();
  guards.clear();  // shards stop once their queues are drained
  for (auto& t : shard_threads) t.join();

  const auto all = range(1, 2 * per_publisher);
  for (auto& sub : subs) ASSERT_EQ(seqs(sub->got), all);
  // Each publisher's events keep that publisher's order.
  int next[2] = {0, 0};
  for (auto& f : subs[0]->got) {
    auto j = nlohmann::json::parse(f->ws_payload());
    int p = j["p"];
    ASSERT_EQ(j["i"], next[p]++);
  }
  auto joined = seqs(late_result.replay);
  auto live = seqs(late->got);
  EXPECT_FALSE(late_result.resync);
  EXPECT_FALSE(joined.empty());
  joined.insert(joined.end(), live.begin(), live.end());
  EXPECT_EQ(joined, all);
}

TEST(Hub, RepeatedUnsubscribeAllIsHarmless) {
  shards s;
  auto a = std::make_shared<recording_subscriber>();
  auto b = std::make_shared<recording_subscriber>();
  s.h->subscribe(a, {"t", "u"}, std::nullopt, transport::sse);
  s.h->subscribe(b, {"t"}, std::nullopt, transport::sse);
  s.h->unsubscribe_all(*a);
  std::thread([&] { s.h->unsubscribe_all(*a); }).join();  // a destructor on another thread
  s.h->unsubscribe(*a, {"t"});
  EXPECT_EQ(s.h->topic_count(), 1u);
  s.h->publish("t", "m", "{}");
  s.h->publish("u", "m", "{}");
  s.poll();
  EXPECT_TRUE(a->got.empty());
  EXPECT_EQ(seqs(b->got), range(1, 1));
  // Subscribing again after leaving works and counts again.
  s.h->subscribe(a, {"u"}, std::nullopt, transport::sse);
  s.h->publish("u", "m", "{}");
  s.poll();
  EXPECT_EQ(seqs(a->got), range(3, 3));
}

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

// Idle topics (issue 17): the sweep removes what nobody follows and history no longer keeps.
namespace {
struct aging_hub {
  aging_hub() {
    std::vector<boost::asio::any_io_executor> ex{ctx.get_executor()};
    h = std::make_unique<hub>(ex, rushcast::config::history_cfg{100, max_age_ms}, "E");
    h->set_metrics(&m);
  }
  // The hub's clock once every event published so far is older than max_age_ms.
  static std::int64_t later() { return hub::clock_ms() + max_age_ms + 1; }
  std::string gauge(const std::string& name) {
    h->refresh_gauges();
    const std::string text = m.render();
    const std::string key = "\n" + name + "{} ";  // a gauge without labels
    const auto pos = text.find(key);
    if (pos == std::string::npos) return "";
    const auto from = pos + key.size();
    return text.substr(from, text.find('\n', from) - from);
  }
  static constexpr std::uint32_t max_age_ms = 60000;
  boost::asio::io_context ctx;
  rushcast::obs::metrics m;
  std::unique_ptr<hub> h;
};
}  // namespace

TEST(HubSweep, RemovesExpiredTopicsWithoutSubscribersAndKeepsSubscribedOnes) {
  aging_hub a;
  auto sub = std::make_shared<recording_subscriber>();
  a.h->subscribe(sub, {"user:kept"}, std::nullopt, transport::sse);
  a.h->publish("user:kept", "result", "{}");
  for (int i = 0; i < 100; ++i) a.h->publish("user:" + std::to_string(i), "result", "{}");
  EXPECT_EQ(a.h->history_topic_count(), 101u);
  EXPECT_EQ(a.h->sweep_idle_topics(hub::clock_ms()).removed, 0u);  // all still young
  EXPECT_EQ(a.gauge("rushcast_history_topics"), "101");

  auto r = a.h->sweep_idle_topics(a.later());
  EXPECT_EQ(r.removed, 100u);
  EXPECT_FALSE(r.more);
  EXPECT_EQ(a.h->history_topic_count(), 1u);
  EXPECT_EQ(a.gauge("rushcast_history_topics"), "1");
  EXPECT_EQ(a.gauge("rushcast_topics_subscribed"), "1");
  EXPECT_EQ(a.gauge("rushcast_history_events"), "0");
  EXPECT_EQ(a.gauge("rushcast_topics_removed"), "100");

  a.h->unsubscribe_all(*sub);  // the last subscriber leaves: nothing keeps the topic
  EXPECT_EQ(a.h->history_topic_count(), 0u);
  EXPECT_EQ(a.h->topic_count(), 0u);
}

TEST(HubSweep, ATopicWithLiveHistoryStays) {
  aging_hub a;
  a.h->publish("user:a", "result", "{}");
  EXPECT_EQ(a.h->sweep_idle_topics(hub::clock_ms() + 1000).removed, 0u);
  EXPECT_EQ(a.h->history_topic_count(), 1u);
  auto sub = std::make_shared<recording_subscriber>();
  auto r = a.h->subscribe(sub, {"user:a"}, std::string("E-0"), transport::sse);
  EXPECT_FALSE(r.resync);
  EXPECT_EQ(r.replay.size(), 1u);
}

TEST(HubSweep, ResumingARemovedTopicAcrossItsEventIsResync) {
  aging_hub a;
  const auto seen = a.h->publish("sale:1", "stock", "{}");
  const auto missed = a.h->publish("user:a", "result", "{}");
  a.h->sweep_idle_topics(a.later());
  EXPECT_EQ(a.h->history_topic_count(), 0u);
  auto sub = std::make_shared<recording_subscriber>();
  auto r = a.h->subscribe(sub, {"user:a"}, seen.id, transport::sse);
  EXPECT_TRUE(r.resync);
  EXPECT_EQ(r.resync_reason, "too_old");
  ASSERT_TRUE(r.resync_frame);
  EXPECT_TRUE(r.replay.empty());
  // Long-poll answers the same.
  EXPECT_EQ(a.h->history_since({"user:a"}, seen.id).resync_reason, "too_old");
  // After the removed event: nothing was missed.
  auto other = std::make_shared<recording_subscriber>();
  EXPECT_FALSE(a.h->subscribe(other, {"user:a"}, missed.id, transport::sse).resync);
}
