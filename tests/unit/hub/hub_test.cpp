// The hub through its public calls: ordering, replay and live without gap, resync, history sweep.
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

TEST(Hub, PublishAllOrdersEventsDeliversListenedOnesAndKeepsTheRestForReplay) {
  shards s;
  auto sub = std::make_shared<recording_subscriber>();
  s.h->subscribe(sub, {"user:a"}, std::nullopt, transport::websocket);
  std::vector<hub::owned_event> events{{"user:a", "result", R"({"n":1})"},
                                       {"user:b", "result", R"({"n":2})"},
                                       {"user:a", "result", R"({"n":3})"}};
  s.h->publish_all(events);
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(s.h->last_seq(), 3u);
  s.poll();
  ASSERT_EQ(sub->got.size(), 2u);
  EXPECT_EQ(seqs(sub->got), (std::vector<std::uint64_t>{1, 3}));
  // user:b had no subscriber: replayed later with the same bytes as if encoded at once.
  auto r = s.h->history_since({"user:b", "user:a"}, std::string("E-0"));
  ASSERT_EQ(seqs(r.replay), range(1, 3));
  EXPECT_EQ(r.replay[1]->sse, "id: E-2\nevent: result\ndata: {\"n\":2}\n\n");
  EXPECT_EQ(r.replay[1]->ws_payload(), R"({"type":"result","topic":"user:b","id":"E-2","n":2})");
  EXPECT_EQ(r.replay[0], sub->got[0]);
}

TEST(Hub, PublishToATopicNobodyHearsStillAnswersItsId) {
  shards s;
  auto r = s.h->publish("nobody", "m", "{}");
  EXPECT_EQ(r.id, "E-1");
  auto h = s.h->history_since({"nobody"}, std::string("E-0"));
  ASSERT_EQ(h.replay.size(), 1u);
  EXPECT_EQ(h.replay[0]->sse, "id: E-1\nevent: m\ndata: {}\n\n");
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
