// Cluster mode's event bus with a real redis-server and three real daemons: every node emits the
// same (id, event) sequence, a Last-Event-ID from one node resumes on another, and with Redis
// down publishes answer 503 while streams stay open, until Redis is back.
#include <chrono>
#include <memory>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness_cluster.hpp"
#include "harness.hpp"
#include "harness_redis.hpp"

namespace rushcast::test {
namespace {
using nlohmann::json;

const headers_t publish_headers{{"Authorization", std::string("Bearer ") + test_publish_key},
                                {"Content-Type", "application/json"}};

json node_config(const redis_server& r) {
  return json{{"storage", {{"backend", "redis"}, {"redis_url", r.url()}}},
              {"bus", {{"read_block_ms", 200}}},
              {"heartbeat_ms", 200},
              {"sales", json::array()},
              {"auctions", json::array()},
              {"rate_limit", {{"per_ip_per_s", 100000}, {"per_ip_burst", 100000}}}};
}

struct cluster {
  explicit cluster(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      nodes.push_back(start_cluster_node(node_config(redis)));
  }
  std::uint16_t port(std::size_t i) const { return nodes[i]->port(); }
  redis_server redis;
  std::vector<std::unique_ptr<daemon>> nodes;
};

struct seen {
  std::string id, event, data;
  bool operator==(const seen&) const = default;
};

std::vector<seen> read_n(sse_client& c, std::size_t n, const std::string& name = "message") {
  std::vector<seen> out;
  while (out.size() < n) {
    auto ev = c.next_named(name, 10s);
    if (!ev) break;
    out.push_back({ev->id, ev->event, ev->data});
  }
  return out;
}

std::uint64_t seq_of(const std::string& id) { return std::stoull(id.substr(id.rfind('-') + 1)); }

}  // namespace

TEST(ClusterBus, EveryNodeEmitsTheSameIdsInTheSameOrder) {
  cluster c(3);
  std::vector<std::unique_ptr<sse_client>> subs;
  for (std::size_t i = 0; i < 3; ++i)
    subs.push_back(std::make_unique<sse_client>(c.port(i), "/sse-updates?topics=news"));
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) ids.push_back(publish(c.port(i % 3), "news", "message", {{"i", i}}));

  std::vector<std::vector<seen>> got;
  for (auto& s : subs) got.push_back(read_n(*s, 30));
  ASSERT_EQ(got[0].size(), 30u);
  EXPECT_EQ(got[1], got[0]);
  EXPECT_EQ(got[2], got[0]);
  for (std::size_t k = 0; k < got[0].size(); ++k) {
    // In publish order (each publish was answered before the next was sent), no gap.
    EXPECT_EQ(got[0][k].id, ids[k]);
    EXPECT_EQ(json::parse(got[0][k].data).at("i"), static_cast<int>(k));
    if (k > 0) EXPECT_EQ(seq_of(got[0][k].id), seq_of(got[0][k - 1].id) + 1);
  }
}

TEST(ClusterBus, ConcurrentPublishesOnEveryNodeGiveOneOrderWithoutGaps) {
  cluster c(3);
  std::vector<std::unique_ptr<sse_client>> subs;
  for (std::size_t i = 0; i < 3; ++i)
    subs.push_back(std::make_unique<sse_client>(c.port(i), "/sse-updates?topics=news"));
  constexpr int per_node = 100;
  std::vector<std::vector<std::string>> ids(3);
  {
    std::vector<std::thread> publishers;
    for (std::size_t n = 0; n < 3; ++n)
      publishers.emplace_back([&, n] {
        for (int i = 0; i < per_node; ++i)
          ids[n].push_back(publish(c.port(n), "news", "message", {{"node", n}, {"i", i}}));
      });
    for (auto& t : publishers) t.join();
  }
  std::vector<std::vector<seen>> got;
  for (auto& s : subs) got.push_back(read_n(*s, 3 * per_node));
  ASSERT_EQ(got[0].size(), 3u * per_node);
  EXPECT_EQ(got[1], got[0]);
  EXPECT_EQ(got[2], got[0]);
  std::set<std::string> answered, emitted;
  for (const auto& v : ids) answered.insert(v.begin(), v.end());
  for (std::size_t k = 0; k < got[0].size(); ++k) {
    emitted.insert(got[0][k].id);
    if (k > 0) EXPECT_EQ(seq_of(got[0][k].id), seq_of(got[0][k - 1].id) + 1) << k;
  }
  EXPECT_EQ(emitted, answered);  // every answered id, once, and nothing else
  // Each node's own publishes keep their order within the cluster's order.
  for (std::size_t n = 0; n < 3; ++n) {
    int next = 0;
    for (const auto& e : got[0])
      if (json::parse(e.data).at("node") == n) EXPECT_EQ(json::parse(e.data).at("i"), next++);
  }
}

TEST(ClusterBus, APublishRetriedWithItsIdempotencyKeyIsPublishedOnce) {
  cluster c(2);
  sse_client a(c.port(0), "/sse-updates?topics=news");
  const std::string body = json{{"topic", "news"}, {"data", {{"i", 1}}}}.dump();
  auto keyed = publish_headers;
  keyed["Idempotency-Key"] = "order-42-shipped";
  auto first = http(c.port(0), "POST", "/api/publish", body, keyed);
  ASSERT_EQ(first.status, 200) << first.body;
  // The answer was lost: the publisher retries, through another node.
  auto retry = http(c.port(1), "POST", "/api/publish", body, keyed);
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.json().at("id"), first.json().at("id"));
  const std::string other = publish(c.port(1), "news", "message", {{"i", 2}});
  auto got = read_n(a, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, first.json().at("id"));
  EXPECT_EQ(got[1].id, other);  // nothing in between: the retry published nothing
  EXPECT_EQ(seq_of(other), seq_of(got[0].id) + 1);
  // Kept for bus.publish_dedup_ms, not for ever.
  const std::string ttl = c.redis.command({"PTTL", "rushcast:bus:pub:order-42-shipped"});
  ASSERT_EQ(ttl[0], ':');
  EXPECT_GT(std::stoll(ttl.substr(1)), 0);
  EXPECT_LE(std::stoll(ttl.substr(1)), 300000);

  auto bad = publish_headers;
  bad["Idempotency-Key"] = "has space";
  EXPECT_EQ(http(c.port(0), "POST", "/api/publish", body, bad).status, 400);
}

TEST(ClusterBus, LastEventIdFromOneNodeResumesOnAnother) {
  cluster c(2);
  sse_client a(c.port(0), "/sse-updates?topics=news");
  for (int i = 0; i < 5; ++i) publish(c.port(0), "news", "message", {{"i", i}});
  auto first = read_n(a, 3);
  ASSERT_EQ(first.size(), 3u);
  for (int i = 5; i < 7; ++i) publish(c.port(1), "news", "message", {{"i", i}});
  auto rest_on_a = read_n(a, 4);
  ASSERT_EQ(rest_on_a.size(), 4u);

  // The client was cut after its third event and comes back through another node.
  sse_client b(c.port(1), "/sse-updates?topics=news", {{"Last-Event-ID", first.back().id}});
  auto replay = read_n(b, 4);
  EXPECT_EQ(replay, rest_on_a);  // exactly what it missed: no resync, no duplicate
  publish(c.port(0), "news", "message", {{"i", 7}});
  auto live = read_n(b, 1);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(seq_of(live[0].id), seq_of(rest_on_a.back().id) + 1);
}

TEST(ClusterBus, RedisDownRefusesPublishesWhileStreamsStayOpen) {
  cluster c(2);
  sse_client a(c.port(0), "/sse-updates?topics=news");
  sse_client b(c.port(1), "/sse-updates?topics=news");
  publish(c.port(0), "news", "message", {{"i", 0}});
  ASSERT_EQ(read_n(a, 1).size(), 1u);
  ASSERT_EQ(read_n(b, 1).size(), 1u);

  c.redis.kill9();
  const std::string body = json{{"topic", "news"}, {"data", {{"i", 1}}}}.dump();
  http_reply refused;
  ASSERT_TRUE(wait_until(10s, [&] {
    refused = http(c.port(1), "POST", "/api/publish", body, publish_headers);
    return refused.status == 503;
  }));
  EXPECT_EQ(refused.json().at("error"), "unavailable");
  EXPECT_TRUE(refused.headers.count("retry-after"));
  // Not ready while its bus is down: a load balancer sends buyers elsewhere.
  http_reply not_ready;
  ASSERT_TRUE(wait_until(10s, [&] {
    not_ready = http(c.port(1), "GET", "/readyz");
    return not_ready.status == 503;
  }));
  EXPECT_EQ(not_ready.json().at("bus"), "disconnected");
  EXPECT_EQ(http(c.port(1), "GET", "/metrics").body.find("\nrushcast_bus_publish_failures_total 0\n"),
            std::string::npos);  // counted
  // The streams stay open: heartbeats go on, nothing ends them.
  const auto pings = a.comments_seen();
  EXPECT_FALSE(a.next(1s));
  EXPECT_GT(a.comments_seen(), pings);
  EXPECT_FALSE(a.eof());
  EXPECT_FALSE(b.eof());

  c.redis.start();  // from its AOF: the same epoch, the same stream
  http_reply ok;
  ASSERT_TRUE(wait_until(15s, [&] {
    ok = http(c.port(1), "POST", "/api/publish", body, publish_headers);
    return ok.status == 200;
  })) << ok.status << " " << ok.body;
  EXPECT_EQ(http(c.port(1), "GET", "/readyz").status, 200);
  for (auto* s : {&a, &b}) {
    auto ev = s->next_named("message", 10s);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->id, ok.json().at("id"));
    EXPECT_EQ(ev->json().at("i"), 1);
  }
}

TEST(ClusterBus, AGapInTheStreamSendsResyncToLiveStreams) {
  cluster c(1);
  sse_client a(c.port(0), "/sse-updates?topics=news");
  const std::string first = publish(c.port(0), "news", "message", {{"i", 0}});
  ASSERT_EQ(read_n(a, 1).size(), 1u);
  // Seqs 2..4 never reach this node (as when the stream was trimmed past it).
  const std::string epoch = first.substr(0, first.rfind('-'));
  c.redis.command({"XADD", "rushcast:bus", "*", "e", epoch, "s", "5", "t", "news", "n", "message",
                   "d", "{\"i\":5}", "c", "0"});
  auto resync = a.next(10s);
  ASSERT_TRUE(resync);
  EXPECT_EQ(resync->event, "resync");
  EXPECT_EQ(resync->json().at("reason"), "gap");
  auto after = a.next(10s);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->id, epoch + "-5");
  // An id from before the gap cannot be resumed exactly any more.
  sse_client late(c.port(0), "/sse-updates?topics=news", {{"Last-Event-ID", first}});
  auto r = late.next(10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->event, "resync");
  EXPECT_EQ(r->json().at("reason"), "too_old");

  // The bus's figures on /metrics: two events read, one resync, no failed publish.
  auto m = http(c.port(0), "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("\nrushcast_bus_events_read_total 2\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("\nrushcast_bus_resyncs_total 1\n"), std::string::npos);
  EXPECT_NE(m.body.find("\nrushcast_bus_publish_failures_total 0\n"), std::string::npos);
}

TEST(ClusterBus, ARedisThatLostItsDataStartsANewEpoch) {
  cluster c(2);
  sse_client a(c.port(0), "/sse-updates?topics=news");
  const std::string old_id = publish(c.port(0), "news", "message", {{"i", 0}});
  ASSERT_EQ(read_n(a, 1).size(), 1u);
  c.redis.command({"DEL", "rushcast:bus", "rushcast:bus:epoch", "rushcast:bus:seq"});
  const std::string new_id = publish(c.port(1), "news", "message", {{"i", 1}});
  EXPECT_NE(new_id.substr(0, new_id.rfind('-')), old_id.substr(0, old_id.rfind('-')));
  EXPECT_EQ(seq_of(new_id), 1u);
  auto resync = a.next(10s);
  ASSERT_TRUE(resync);
  EXPECT_EQ(resync->event, "resync");
  EXPECT_EQ(resync->json().at("reason"), "epoch");
  auto ev = a.next(10s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->id, new_id);
  // Ids of the old epoch answer resync on every node.
  for (std::size_t i = 0; i < 2; ++i) {
    // Once the node has read the new epoch, the new id is a position it knows.
    ASSERT_TRUE(wait_until(10s, [&] {
      auto lp = http(c.port(i), "GET", "/long-poll?topics=news&since=" + new_id + "&timeout=1");
      return lp.status == 200 && !lp.json().contains("resync");
    }));
    sse_client back(c.port(i), "/sse-updates?topics=news", {{"Last-Event-ID", old_id}});
    auto r = back.next(10s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->event, "resync");
    EXPECT_EQ(r->json().at("reason"), "epoch");
  }
}

}  // namespace rushcast::test
