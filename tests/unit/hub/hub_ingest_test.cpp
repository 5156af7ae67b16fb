// The hub in cluster mode: batches the bus ordered (ingest), their ids, history and resume,
// gaps and epochs answered with resync, one post per shard per batch, publishes to the bus.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hub_fixture.hpp"
#include "recording_subscriber.hpp"
#include "rushcast/core/errc.hpp"

using namespace rushcast::hub;
using namespace rushcast::hub::test;

namespace {

// Owns the strings a batch of sequenced_event views into.
struct batch {
  batch& add(std::uint64_t seq, std::string topic = "t", std::string name = "m") {
    items.push_back({seq, std::move(topic), std::move(name), data(static_cast<int>(seq))});
    return *this;
  }
  std::vector<sequenced_event> events() const {
    std::vector<sequenced_event> out;
    for (const auto& i : items) out.push_back({i.seq, i.topic, i.name, i.data, false});
    return out;
  }
  struct item {
    std::uint64_t seq;
    std::string topic, name, data;
  };
  std::vector<item> items;
};

ingest_result ingest(hub& h, std::string_view epoch, const batch& b) {
  auto ev = b.events();
  return h.ingest(epoch, ev);
}

std::vector<std::string> ids(const std::vector<frame_ptr>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) out.push_back(f->id.empty() ? f->name : f->id);
  return out;
}

std::string reason_of(const frame_ptr& f) {
  return nlohmann::json::parse(f->data_json()).at("reason").get<std::string>();
}

// Records what the hub hands to the bus and answers as told.
struct fake_bus : event_bus {
  struct sent {
    std::string topic, name, data;
    bool state;
    bounded_publish_handler done;
  };
  void publish(std::string topic, std::string name, std::string data_json, bool state,
               bounded_publish_handler done) override {
    got.push_back({std::move(topic), std::move(name), std::move(data_json), state,
                   std::move(done)});
  }
  void publish_once(std::string key, std::string topic, std::string name, std::string data_json,
                    bounded_publish_handler done) override {
    keys.push_back(key);
    publish(std::move(topic), std::move(name), std::move(data_json), false, std::move(done));
  }
  std::vector<sent> got;
  std::vector<std::string> keys;  // of publish_once calls
};

}  // namespace

TEST(HubIngest, UsesTheBusEpochAndSeqAsIds) {
  shards s;
  auto sub = std::make_shared<recording_subscriber>();
  s.h->subscribe(sub, {"t"}, std::nullopt, transport::sse);
  auto r = ingest(*s.h, "C7", batch{}.add(1).add(2).add(3, "other").add(4));
  EXPECT_EQ(r.published, 4u);
  EXPECT_TRUE(r.epoch_changed);
  EXPECT_FALSE(r.gap);
  s.poll();
  EXPECT_EQ(ids(sub->got), (std::vector<std::string>{"C7-1", "C7-2", "C7-4"}));
  EXPECT_EQ(sub->got[2]->sse, "id: C7-4\nevent: m\ndata: {\"i\":4}\n\n");
  EXPECT_EQ(s.h->epoch(), "C7");
  EXPECT_EQ(s.h->last_id(), "C7-4");
}

TEST(HubIngest, AWholeBatchIsOnePostPerShard) {
  shards s(2);
  auto a = std::make_shared<recording_subscriber>(0);
  auto b = std::make_shared<recording_subscriber>(1);
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  s.h->subscribe(b, {"u"}, std::nullopt, transport::sse);
  batch bt;
  // Within one run's sweep budget (256 in the fixture), so one handler run does all.
  for (std::uint64_t i = 1; i <= 200; ++i) bt.add(i, i % 2 ? "t" : "u");
  ingest(*s.h, "C", bt);
  for (std::size_t shard = 0; shard < 2; ++shard) {
    s.ctx[shard].restart();
    EXPECT_EQ(s.ctx[shard].poll_one(), 1u);  // one handler swept the whole batch
    EXPECT_EQ(s.ctx[shard].poll(), 0u);
  }
  EXPECT_EQ(a->got.size(), 100u);
  EXPECT_EQ(b->got.size(), 100u);
  EXPECT_EQ(a->flushed_at, (std::vector<std::size_t>{100}));  // and one gathered write
}

TEST(HubIngest, DropsEventsAlreadyIngested) {
  shards s;
  auto sub = std::make_shared<recording_subscriber>();
  s.h->subscribe(sub, {"t"}, std::nullopt, transport::sse);
  ingest(*s.h, "C", batch{}.add(1).add(2));
  auto r = ingest(*s.h, "C", batch{}.add(2).add(3));
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.published, 1u);
  s.poll();
  EXPECT_EQ(ids(sub->got), (std::vector<std::string>{"C-1", "C-2", "C-3"}));
}

TEST(HubIngest, LastEventIdReplaysFromHistory) {
  shards s;
  ingest(*s.h, "C", batch{}.add(1).add(2, "u").add(3).add(4));
  auto sub = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(sub, {"t"}, std::string("C-1"), transport::sse);
  EXPECT_FALSE(r.resync);
  EXPECT_EQ(ids(r.replay), (std::vector<std::string>{"C-3", "C-4"}));
  ingest(*s.h, "C", batch{}.add(5));
  s.poll();
  EXPECT_EQ(ids(sub->got), (std::vector<std::string>{"C-5"}));  // no duplicate, no gap
  auto lp = s.h->history_since({"t", "u"}, std::string("C-1"));
  EXPECT_EQ(ids(lp.replay), (std::vector<std::string>{"C-2", "C-3", "C-4", "C-5"}));
}

TEST(HubIngest, FirstEventsMayStartAnywhereButEarlierIdsResync) {
  shards s;
  auto live = std::make_shared<recording_subscriber>();
  s.h->subscribe(live, {"t"}, std::nullopt, transport::sse);
  auto r = ingest(*s.h, "C", batch{}.add(41).add(42));
  EXPECT_FALSE(r.gap);  // a node that joins late missed nothing it had promised
  s.poll();
  EXPECT_EQ(ids(live->got), (std::vector<std::string>{"C-41", "C-42"}));
  auto from_before = s.h->history_since({"t"}, std::string("C-39"));
  EXPECT_TRUE(from_before.resync);
  EXPECT_EQ(from_before.resync_reason, "too_old");
  auto from_edge = s.h->history_since({"t"}, std::string("C-40"));
  EXPECT_FALSE(from_edge.resync);
  EXPECT_EQ(ids(from_edge.replay), (std::vector<std::string>{"C-41", "C-42"}));
}

TEST(HubIngest, AGapSendsResyncToEveryLiveSubscriberInItsPlace) {
  shards s(2);
  auto a = std::make_shared<recording_subscriber>(0);
  auto b = std::make_shared<recording_subscriber>(1);
  auto idle = std::make_shared<recording_subscriber>(1);
  s.h->subscribe(a, {"t"}, std::nullopt, transport::sse);
  s.h->subscribe(b, {"t", "u"}, std::nullopt, transport::sse);
  s.h->subscribe(idle, {"quiet"}, std::nullopt, transport::sse);
  ingest(*s.h, "C", batch{}.add(1).add(2));
  auto r = ingest(*s.h, "C", batch{}.add(3).add(6).add(7, "u"));
  EXPECT_TRUE(r.gap);
  s.poll();
  EXPECT_EQ(ids(a->got), (std::vector<std::string>{"C-1", "C-2", "C-3", "resync", "C-6"}));
  EXPECT_EQ(ids(b->got),
            (std::vector<std::string>{"C-1", "C-2", "C-3", "resync", "C-6", "C-7"}));
  EXPECT_EQ(reason_of(a->got[3]), "gap");
  // Which topics the lost events had is unknown: every subscriber is told, once.
  EXPECT_EQ(ids(idle->got), (std::vector<std::string>{"resync"}));
}

TEST(HubIngest, AGapMakesEarlierIdsResyncAndLaterOnesReplay) {
  shards s;
  ingest(*s.h, "C", batch{}.add(1).add(2).add(5).add(6));
  auto before = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(before, {"t"}, std::string("C-2"), transport::sse);
  EXPECT_TRUE(r.resync);
  EXPECT_EQ(r.resync_reason, "too_old");
  ASSERT_TRUE(r.resync_frame);
  auto after = std::make_shared<recording_subscriber>();
  auto r2 = s.h->subscribe(after, {"t"}, std::string("C-4"), transport::sse);
  EXPECT_FALSE(r2.resync);
  EXPECT_EQ(ids(r2.replay), (std::vector<std::string>{"C-5", "C-6"}));
}

TEST(HubIngest, ANewEpochSendsResyncAndOldIdsAnswerEpoch) {
  shards s;
  auto sub = std::make_shared<recording_subscriber>();
  s.h->subscribe(sub, {"t"}, std::nullopt, transport::sse);
  ingest(*s.h, "OLD", batch{}.add(1).add(2).add(3));
  auto r = ingest(*s.h, "NEW", batch{}.add(1).add(2));
  EXPECT_TRUE(r.epoch_changed);
  EXPECT_FALSE(r.gap);
  EXPECT_EQ(r.published, 2u);  // seq 1 again is not a duplicate in a new epoch
  s.poll();
  EXPECT_EQ(ids(sub->got), (std::vector<std::string>{"OLD-1", "OLD-2", "OLD-3", "resync",
                                                     "NEW-1", "NEW-2"}));
  EXPECT_EQ(reason_of(sub->got[3]), "epoch");
  // The hub's own order goes on increasing, so subscribers' positions stay valid.
  EXPECT_GT(sub->got[4]->seq, sub->got[2]->seq);
  auto old = s.h->history_since({"t"}, std::string("OLD-3"));
  EXPECT_TRUE(old.resync);
  EXPECT_EQ(old.resync_reason, "epoch");
  auto fresh = s.h->history_since({"t"}, std::string("NEW-1"));
  EXPECT_FALSE(fresh.resync);
  EXPECT_EQ(ids(fresh.replay), (std::vector<std::string>{"NEW-2"}));
  EXPECT_EQ(s.h->last_id(), "NEW-2");
}

TEST(HubIngest, TheFirstEpochIsTakenWithoutResync) {
  shards s;  // the hub starts with its own epoch "E" and has issued no id
  auto sub = std::make_shared<recording_subscriber>();
  s.h->subscribe(sub, {"t"}, std::nullopt, transport::sse);
  ingest(*s.h, "C", batch{}.add(1));
  s.poll();
  EXPECT_EQ(ids(sub->got), (std::vector<std::string>{"C-1"}));
}

TEST(HubIngest, PublishesGoToTheBusAndNotToTheHub) {
  shards s;
  auto bus = std::make_shared<fake_bus>();
  s.h->set_bus(bus, 1000);
  auto sub = std::make_shared<recording_subscriber>();
  s.h->subscribe(sub, {"t"}, std::nullopt, transport::sse);
  auto r = s.h->publish("t", "stock", "{\"stock\":1}", true);
  EXPECT_TRUE(r.id.empty());
  std::optional<boost::system::result<publish_result>> answer;
  s.h->publish_bounded("t", "m", "{}", std::chrono::milliseconds(0),
                       [&](boost::system::result<publish_result> p) { answer = p; });
  s.poll();
  EXPECT_TRUE(sub->got.empty());  // only what comes back from the bus is delivered
  EXPECT_EQ(s.h->last_seq(), 0u);
  ASSERT_EQ(bus->got.size(), 2u);
  EXPECT_EQ(bus->got[0].topic, "t");
  EXPECT_EQ(bus->got[0].name, "stock");
  EXPECT_TRUE(bus->got[0].state);
  EXPECT_FALSE(bus->got[0].done);
  EXPECT_FALSE(bus->got[1].state);
  EXPECT_FALSE(answer);  // the bus answers the bounded publish, not the hub
  bus->got[1].done(rushcast::errc::unavailable);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->error(), rushcast::errc::unavailable);
}

TEST(HubIngest, ABoundedPublishWithAnIdempotencyKeyGoesToTheBusOncePerKey) {
  shards s;
  auto bus = std::make_shared<fake_bus>();
  s.h->set_bus(bus, 1000);
  s.h->publish_bounded("t", "m", "{}", std::chrono::milliseconds(0), {}, "k-1");
  s.h->publish_bounded("t", "m", "{}", std::chrono::milliseconds(0), {});
  ASSERT_EQ(bus->got.size(), 2u);
  EXPECT_EQ(bus->keys, (std::vector<std::string>{"k-1"}));  // the unkeyed one: plain publish
}

TEST(HubIngest, AnIdAheadOfThisNodeResumesLiveAfterIt) {
  shards s;
  s.h->set_bus(std::make_shared<fake_bus>(), 100);
  ingest(*s.h, "C", batch{}.add(1).add(2));
  // The client read up to C-4 on a node that was ahead of this one.
  auto sub = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(sub, {"t"}, std::string("C-4"), transport::sse);
  EXPECT_FALSE(r.resync);
  EXPECT_TRUE(r.replay.empty());
  ingest(*s.h, "C", batch{}.add(3).add(4).add(5));
  s.poll();
  EXPECT_EQ(ids(sub->got), (std::vector<std::string>{"C-5"}));
  // Farther ahead than the bound is not a position this cluster can vouch for.
  auto far = std::make_shared<recording_subscriber>();
  auto r2 = s.h->subscribe(far, {"t"}, std::string("C-500"), transport::sse);
  EXPECT_TRUE(r2.resync);
  EXPECT_EQ(r2.resync_reason, "bad_id");
}

TEST(HubIngest, WithoutABusAnIdAheadIsStillBad) {
  shards s;
  ingest(*s.h, "C", batch{}.add(1));
  auto sub = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(sub, {"t"}, std::string("C-2"), transport::sse);
  EXPECT_TRUE(r.resync);
  EXPECT_EQ(r.resync_reason, "bad_id");
}

TEST(HubIngest, LocalEventsReachThisNodesSubscribersWithoutTheBus) {
  shards s;
  auto bus = std::make_shared<fake_bus>();
  s.h->set_bus(bus, 100);
  ingest(*s.h, "C", batch{}.add(1, "sys:stats"));
  s.poll();
  // Subscribed after seq 1: its start position is 2, yet a local event has no position.
  auto sub = std::make_shared<recording_subscriber>();
  s.h->subscribe(sub, {"sys:stats"}, std::nullopt, transport::sse);
  s.h->publish_local("sys:stats", "stats", "{\"n\":1}", true);
  s.poll();
  ASSERT_EQ(sub->got.size(), 1u);
  EXPECT_EQ(sub->got[0]->sse, "event: stats\ndata: {\"n\":1}\n\n");
  EXPECT_TRUE(bus->got.empty());
  EXPECT_EQ(s.h->last_id(), "C-1");  // not ordered, not in history
  auto h = s.h->history_since({"sys:stats"}, std::string("C-1"));
  EXPECT_TRUE(h.replay.empty());
}

TEST(HubIngest, WithoutABusLocalEventsAreOrderedAsBefore) {
  shards s;
  auto sub = std::make_shared<recording_subscriber>();
  s.h->subscribe(sub, {"sys:stats"}, std::nullopt, transport::sse);
  s.h->publish_local("sys:stats", "stats", "{}", true);
  s.poll();
  ASSERT_EQ(sub->got.size(), 1u);
  EXPECT_EQ(sub->got[0]->id, "E-1");
}
