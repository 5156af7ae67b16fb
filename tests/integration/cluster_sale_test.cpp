// Sales in cluster mode (storage.backend redis), from outside: three real daemons and one real
// redis-server. Stock holds across nodes, a buyer's result reaches the node their stream is on,
// an Idempotency-Key admits once whichever nodes it reaches, and answers survive kill -9 of a
// node or of redis-server (AOF), with 503 + Retry-After while Redis is away.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "harness_cluster.hpp"
#include "redis_test_util.hpp"

namespace rushcast::test {
namespace {

using json = nlohmann::json;

json sale(const std::string& id, std::int64_t stock, std::int64_t rate,
          std::int64_t per_user_limit = 1) {
  return {{"id", id},          {"name", "Sale " + id},         {"stock", stock},
          {"start_at", "+0s"}, {"end_at", "+1h"},             {"per_user_limit", per_user_limit},
          {"process_rate_per_s", rate}};
}

json with_sales(json sales, json extra = json::object()) {
  json o{{"sales", std::move(sales)}, {"coalesce_ms", 20}};
  o.merge_patch(extra);
  return o;
}

http_reply buy(std::uint16_t port, const std::string& sale_id, const std::string& user,
               const std::string& key = "") {
  headers_t h{{"Content-Type", "application/json"}};
  if (!key.empty()) h["Idempotency-Key"] = key;
  return http(port, "POST", "/api/seckill", json{{"userId", user}, {"saleId", sale_id}}.dump(), h);
}

json result_of(std::uint16_t port, const std::string& sale_id, const std::string& user) {
  auto r = http(port, "GET", "/api/sales/" + sale_id + "/result?userId=" + user);
  EXPECT_EQ(r.status, 200u) << r.body;
  return r.status == 200 ? r.json() : json::object();
}

json sale_state(std::uint16_t port, const std::string& id) {
  auto r = http(port, "GET", "/api/sales/" + id);
  EXPECT_EQ(r.status, 200u) << r.body;
  return r.status == 200 ? r.json() : json::object();
}

// The admissions Redis holds for a sale ("reserved": the last position given).
long long reserved_in_redis(redis_server& r, const std::string& id) {
  const std::string raw = r.command({"HGET", "rc:sale:{" + id + "}:state", "reserved"});
  // "$N\r\n<digits>\r\n", or "$-1\r\n" when nothing was admitted.
  const auto nl = raw.find("\r\n");
  if (raw.rfind("$-1", 0) == 0 || nl == std::string::npos) return 0;
  return std::stoll(raw.substr(nl + 2));
}

// The result event exactly as the SQLite path sends it (sale_events.cpp, result_json).
std::string expected_result(const std::string& sale_id, long long position, long long stock) {
  return R"({"orderId":")" + sale_id + "-" + std::to_string(position) +
         R"(","position":)" + std::to_string(position) + R"(,"result":"success","saleId":")" +
         sale_id + R"(","stock":)" + std::to_string(stock) + "}";
}

}  // namespace

TEST(ClusterSale, ThousandBuyersOverThreeNodesGetExactlyTheStock) {
  test_cluster c(3, with_sales(json::array({sale("flash", 100, 0)})));
  constexpr int buyers = 1000;
  std::vector<std::string> users;
  for (int i = 0; i < buyers; ++i) users.push_back("b" + std::to_string(i));
  // Buyer i listens on node (i + 1) % 3 and buys on node i % 3: every result crosses the bus.
  std::vector<std::unique_ptr<sse_client>> streams;
  for (int i = 0; i < buyers; ++i) {
    streams.push_back(
        std::make_unique<sse_client>(c.port((i + 1) % 3), "/sse-updates?userId=" + users[i]));
    ASSERT_EQ(streams.back()->status(), 200u);
  }

  std::mutex mu;
  std::map<std::string, long long> queued;  // user -> position
  int sold_out = 0, other = 0;
  std::vector<std::thread> pool;
  for (int t = 0; t < 30; ++t)
    pool.emplace_back([&, t] {
      for (int i = t; i < buyers; i += 30) {
        auto r = buy(c.port(i % 3), "flash", users[i]);
        std::lock_guard lk(mu);
        if (r.status == 200 && r.json().at("status") == "queued")
          queued[users[i]] = r.json().at("position").get<long long>();
        else if (r.status == 200 && r.json().at("status") == "sold_out")
          ++sold_out;
        else
          ++other;
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(queued.size(), 100u);
  EXPECT_EQ(sold_out, buyers - 100);
  EXPECT_EQ(other, 0);
  std::set<long long> positions;
  for (const auto& [u, p] : queued) positions.insert(p);
  ASSERT_EQ(positions.size(), 100u);
  EXPECT_EQ(*positions.begin(), 1);
  EXPECT_EQ(*positions.rbegin(), 100);
  EXPECT_EQ(reserved_in_redis(c.redis(), "flash"), 100);

  // The per-user limit holds across nodes: an admitted buyer is a duplicate on every other node.
  for (int i = 0; i < buyers; i += 7) {
    if (!queued.count(users[i])) continue;
    auto again = buy(c.port((i + 2) % 3), "flash", users[i]);
    EXPECT_EQ(again.status, 409u) << again.body;
    EXPECT_EQ(again.json().value("error", ""), "duplicate");
    EXPECT_EQ(again.json().value("position", -1LL), queued[users[i]]);
  }

  // Every admitted buyer gets `success` on the node their stream is on, with the bytes the
  // SQLite path sends; the others get no result.
  for (int i = 0; i < buyers; ++i) {
    auto it = queued.find(users[i]);
    if (it == queued.end()) continue;
    auto ev = streams[i]->next_named("result", 10s);
    ASSERT_TRUE(ev) << users[i] << " got no result on node " << (i + 1) % 3;
    EXPECT_EQ(ev->data, expected_result("flash", it->second, 100 - it->second));
    EXPECT_FALSE(ev->id.empty());  // through the bus: a cluster id
  }
  for (int i = 0; i < buyers; i += 10) {
    if (queued.count(users[i])) continue;
    EXPECT_FALSE(streams[i]->next_named("result", 10ms)) << users[i];
  }
  // Any node answers the result from Redis.
  for (const auto& [u, p] : queued) {
    auto r = result_of(c.port(p % 3), "flash", u);
    EXPECT_EQ(r.value("status", ""), "success") << u;
    EXPECT_EQ(r.value("position", -1LL), p);
    EXPECT_EQ(r.value("orderId", ""), "flash-" + std::to_string(p));
  }
  EXPECT_EQ(result_of(c.port(0), "flash", "never-bought").value("status", ""), "sold_out");
  auto st = sale_state(c.port(2), "flash");
  EXPECT_TRUE(wait_until(5s, [&] {
    st = sale_state(c.port(2), "flash");
    return st.value("stock", -1) == 0 && st.value("queued", -1) == 0;
  }));
  EXPECT_EQ(st.value("phase", ""), "sold_out");
}

TEST(ClusterSale, SameIdempotencyKeyOnTwoNodesAtOnceIsOneAdmission) {
  // A limit of 3: without the key, each request would be an admission of its own.
  test_cluster c(2, with_sales(json::array({sale("keyed", 10, 0, 3)})));
  for (int round = 0; round < 5; ++round) {
    const std::string user = "k" + std::to_string(round);
    const std::string key = "8f14e45f-ceea-4e7a-b5d1-" + std::to_string(round);
    http_reply a, b;
    std::thread ta([&] { a = buy(c.port(0), "keyed", user, key); });
    std::thread tb([&] { b = buy(c.port(1), "keyed", user, key); });
    ta.join();
    tb.join();
    ASSERT_EQ(a.status, 200u) << a.body;
    ASSERT_EQ(b.status, 200u) << b.body;
    EXPECT_EQ(a.json().at("status"), "queued");
    EXPECT_EQ(a.body, b.body);  // one answer, the same position
    // And again later, on either node: the first answer.
    EXPECT_EQ(buy(c.port(1), "keyed", user, key).body, a.body);
  }
  EXPECT_EQ(reserved_in_redis(c.redis(), "keyed"), 5);
  // Another key of the same user is another purchase (the limit allows it).
  auto second = buy(c.port(0), "keyed", "k0", "another-key");
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(second.json().at("position"), 6);

  for (const std::string bad : {std::string(101, 'x'), std::string("has space"),
                                std::string("semi;colon")}) {
    auto r = buy(c.port(0), "keyed", "k9", bad);
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_EQ(r.json().value("error", ""), "bad_request");
  }
  EXPECT_EQ(reserved_in_redis(c.redis(), "keyed"), 6);
}

TEST(ClusterSale, KilledNodeAnswersStandAndTheOthersCompleteTheQueue) {
  // 40 orders a second for the whole sale: the queue of 100 takes 2.5 s.
  test_cluster c(3, with_sales(json::array({sale("kill", 100, 40)}),
                               json{{"log", {{"level", "info"}}}}));
  // Node 0 started first and took the sale's publisher lease.
  ASSERT_TRUE(wait_until(5s, [&] {
    return c.node(0).log().find("publishes the sale's stock") != std::string::npos;
  }));
  sse_client watcher(c.port(1), "/sse-updates?topics=sale:kill");
  std::map<std::string, long long> queued;
  std::map<std::string, std::size_t> answered_by;
  std::mutex mu;
  std::vector<std::thread> pool;
  for (int t = 0; t < 10; ++t)
    pool.emplace_back([&, t] {
      for (int i = t; i < 150; i += 10) {
        const std::string u = "k" + std::to_string(i);
        auto r = buy(c.port(i % 3), "kill", u);
        std::lock_guard lk(mu);
        if (r.status == 200 && r.json().at("status") == "queued") {
          queued[u] = r.json().at("position").get<long long>();
          answered_by[u] = i % 3;
        }
      }
    });
  for (auto& th : pool) th.join();
  ASSERT_EQ(queued.size(), 100u);
  const auto mid = sale_state(c.port(1), "kill");
  EXPECT_GT(mid.value("queued", 0), 0) << mid.dump();
  c.node(0).kill9();

  json st;
  ASSERT_TRUE(wait_until(20s, [&] {
    st = sale_state(c.port(1), "kill");
    return st.value("queued", -1) == 0;
  }, 100ms)) << st.dump();
  EXPECT_EQ(st.value("stock", -1), 0);
  std::set<long long> positions;
  for (const auto& [u, p] : queued) {
    positions.insert(p);
    auto r = result_of(c.port(1 + (p % 2)), "kill", u);
    EXPECT_EQ(r.value("status", ""), "success") << u << " answered by node " << answered_by[u];
    EXPECT_EQ(r.value("position", -1LL), p) << u;
  }
  EXPECT_EQ(positions.size(), 100u);
  EXPECT_EQ(reserved_in_redis(c.redis(), "kill"), 100);
  // Another node took the lease over: the stream on node 1 hears the last stock.
  bool final_stock = false;
  while (auto ev = watcher.next_named("stock", 10s))
    if (ev->json().at("stock") == 0) {
      final_stock = true;
      break;
    }
  EXPECT_TRUE(final_stock);
}

TEST(ClusterSale, RedisCrashAndAofRestartLoseNothingAcknowledgedAndAdmitNothingTwice) {
  // A call whose outcome the crash made unknown is sent again until redis_timeout_ms after it
  // failed, and new calls get 503 while Redis is away: an outage longer than that is seen.
  test_cluster c(2, with_sales(json::array({sale("aof", 1000, 200)}),
                               json{{"storage", {{"redis_timeout_ms", 1000}}}}));
  std::atomic<bool> crashed{false};
  std::mutex mu;
  std::map<std::string, long long> acked;  // user -> position
  int unavailable = 0;
  std::vector<std::thread> pool;
  constexpr int buyers = 400;
  for (int t = 0; t < 8; ++t)
    pool.emplace_back([&, t] {
      for (int i = t; i < buyers; i += 8) {
        const std::string u = "a" + std::to_string(i);
        const std::string key = "key-" + u;
        // A buyer retries with the same key until it gets an answer that is not 503.
        for (int attempt = 0; attempt < 200; ++attempt) {
          auto r = buy(c.port((i + attempt) % 2), "aof", u, key);
          if (r.status == 503) {
            std::lock_guard lk(mu);
            ++unavailable;
            EXPECT_TRUE(r.headers.count("retry-after"));
            std::this_thread::sleep_for(50ms);
            continue;
          }
          ASSERT_EQ(r.status, 200u) << r.body;
          std::lock_guard lk(mu);
          auto [it, fresh] = acked.emplace(u, r.json().at("position").get<long long>());
          EXPECT_TRUE(fresh);
          break;
        }
      }
    });
  // Mid-sale: redis-server dies without warning and comes back from its AOF.
  ASSERT_TRUE(wait_until(20s, [&] {
    std::lock_guard lk(mu);
    return acked.size() >= 100;
  }, 5ms));
  c.redis().kill9();
  crashed = true;
  std::this_thread::sleep_for(1500ms);
  c.redis().start();
  for (auto& th : pool) th.join();

  ASSERT_EQ(acked.size(), static_cast<std::size_t>(buyers));
  EXPECT_GT(unavailable, 0) << "the crash was not seen by any buyer";
  std::set<long long> positions;
  for (const auto& [u, p] : acked) positions.insert(p);
  EXPECT_EQ(positions.size(), acked.size());  // nothing admitted twice
  EXPECT_EQ(*positions.rbegin(), static_cast<long long>(buyers));
  EXPECT_EQ(reserved_in_redis(c.redis(), "aof"), buyers);
  // Nothing acknowledged was lost, on either node, without restarting them.
  for (const auto& [u, p] : acked) {
    auto r = result_of(c.port(p % 2), "aof", u);
    EXPECT_EQ(r.value("position", -1LL), p) << u;
    EXPECT_NE(r.value("status", ""), "none") << u;
  }
  json st;
  EXPECT_TRUE(wait_until(20s, [&] {
    st = sale_state(c.port(0), "aof");
    return st.value("queued", -1) == 0 && st.value("stock", -1) == 1000 - buyers;
  }, 100ms)) << st.dump();
}

TEST(ClusterSale, RedisDownRefusesBuyingWhileStreamsStayOpen) {
  test_cluster c(2, with_sales(json::array({sale("down", 50, 0)})));
  sse_client s(c.port(0), "/sse-updates?topics=sale:down");
  ASSERT_TRUE(s.next_named("countdown", 5s));
  ASSERT_EQ(buy(c.port(1), "down", "before").status, 200u);

  c.redis().kill9();
  http_reply refused;
  ASSERT_TRUE(wait_until(10s, [&] {
    refused = buy(c.port(0), "down", "during");
    return refused.status == 503;
  })) << refused.status << " " << refused.body;
  EXPECT_EQ(refused.json().at("error"), "unavailable");
  EXPECT_TRUE(refused.headers.count("retry-after"));
  const auto pings = s.comments_seen();
  while (auto ev = s.next(1s)) {
  }
  EXPECT_FALSE(s.eof());
  EXPECT_GT(s.comments_seen(), pings);

  c.redis().start();
  http_reply back;
  ASSERT_TRUE(wait_until(15s, [&] {
    back = buy(c.port(0), "down", "after");
    return back.status == 200;
  }, 100ms)) << back.body;
  EXPECT_EQ(back.json().at("status"), "queued");
  EXPECT_EQ(back.json().at("position"), 2);  // "before" kept its place through the crash
  EXPECT_FALSE(s.eof());
}

TEST(ClusterSale, CountdownAndStateAreNotRepeatedPerNode) {
  test_cluster c(3, with_sales(json::array({sale("calm", 100, 0)}),
                               json{{"countdown_sync_ms", 200}}));
  sse_client s(c.port(0), "/sse-updates?topics=sale:calm");
  // Snapshot first, then live events only.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.next(5s));
  for (int i = 0; i < 10; ++i) ASSERT_EQ(buy(c.port(i % 3), "calm", "c" + std::to_string(i)).status, 200u);
  int countdowns = 0;
  std::vector<long long> stocks;
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < until) {
    auto ev = s.next(200ms);
    if (!ev) continue;
    if (ev->event == "countdown") ++countdowns;
    if (ev->event == "stock") stocks.push_back(ev->json().at("stock").get<long long>());
  }
  // One node's sync every 200 ms: about 10 in 2 s, where three nodes each would send 30.
  EXPECT_GE(countdowns, 5);
  EXPECT_LE(countdowns, 14);
  // Stock only ever goes down, and ends at the truth: one publisher, in Redis's order.
  ASSERT_FALSE(stocks.empty());
  for (std::size_t i = 1; i < stocks.size(); ++i) EXPECT_LE(stocks[i], stocks[i - 1]);
  EXPECT_EQ(stocks.back(), 90);
}

}  // namespace rushcast::test

namespace rushcast::test {

TEST(ClusterSale, CallWhoseReplyWasLostIsSentAgainWithTheSameRequestId) {
  // A limit of 3: a retry under a new request id would be a second admission.
  test_cluster c(1, with_sales(json::array({sale("lost", 10, 0, 3)}),
                               json{{"storage", {{"redis_timeout_ms", 1000}}}}));
  ASSERT_EQ(buy(c.port(0), "lost", "first").status, 200u);

  // Redis stops answering with the purchase sent: the node's connection times out (outcome
  // unknown) while the purchase sits in Redis's socket buffer, to run once Redis goes on.
  c.redis().pause();
  http_reply r;
  std::string failed;
  std::thread buyer([&] {
    try {
      r = buy(c.port(0), "lost", "u");
    } catch (const std::exception& e) {
      failed = e.what();
    }
  });
  auto timeouts = [&] {
    const std::string log = c.node(0).log();
    std::size_t n = 0;
    for (auto p = log.find("waiting for a reply failed"); p != std::string::npos;
         p = log.find("waiting for a reply failed", p + 1))
      ++n;
    return n;
  };
  // The bus reader's connection and the sales' connection both gave up on Redis.
  const bool timed_out = wait_until(10s, [&] { return timeouts() >= 2; }, 5ms);
  // Redis comes back 400 ms after the timeout: past three quick tries (100 and 200 ms apart),
  // within the call's deadline (redis_timeout_ms after its failure).
  std::this_thread::sleep_for(400ms);
  c.redis().resume();
  buyer.join();
  ASSERT_EQ(failed, "") << c.node(0).log();
  ASSERT_TRUE(timed_out) << c.node(0).log();
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("status"), "queued");
  EXPECT_EQ(r.json().at("position"), 2);
  EXPECT_EQ(reserved_in_redis(c.redis(), "lost"), 2);
  // The limit would have allowed a second admission: the retry was a replay.
  auto again = buy(c.port(0), "lost", "u");
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(again.json().at("position"), 3);
}

}  // namespace rushcast::test

namespace rushcast::test {

TEST(ClusterSale, EveryAnswerHasTheSingleNodeShapeOverHttpAndWebSocket) {
  json later = sale("later", 5, 0);
  later["start_at"] = "+1h";
  later["end_at"] = "+2h";
  json brief = sale("brief", 5, 0);
  brief["end_at"] = "+1s";
  test_cluster c(2, with_sales(json::array({sale("ws", 1, 0), later, brief})));

  ws_client a(c.port(0));
  a.send_json({{"type", "seckill"}, {"userId", "wa"}, {"saleId", "ws"}, {"ref", 7}});
  auto q = a.recv_type("queued", 5s);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->at("position"), 1);
  EXPECT_EQ(q->at("saleId"), "ws");
  EXPECT_EQ(q->at("ref"), 7);
  ws_client b(c.port(1));
  b.send_json({{"type", "seckill"}, {"userId", "wa"}, {"saleId", "ws"}});
  auto dup = b.recv_type("error", 5s);
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->at("code"), "duplicate");
  EXPECT_EQ(dup->at("position"), 1);
  b.send_json({{"type", "seckill"}, {"userId", "wb"}, {"saleId", "ws"}});
  ASSERT_TRUE(b.recv_type("sold_out", 5s));
  auto http_dup = buy(c.port(1), "ws", "wa");
  EXPECT_EQ(http_dup.status, 409u);
  EXPECT_EQ(http_dup.json().value("position", 0), 1);
  const std::string earlier = http_dup.json().value("result", "");
  EXPECT_TRUE(earlier == "queued" || earlier == "success") << http_dup.body;
  if (earlier == "success") EXPECT_EQ(http_dup.json().value("orderId", ""), "ws-1");
  EXPECT_EQ(buy(c.port(0), "ws", "wc").body, R"({"saleId":"ws","status":"sold_out"})");

  auto early = buy(c.port(1), "later", "x");
  EXPECT_EQ(early.status, 403u);
  EXPECT_EQ(early.json().value("error", ""), "not_started");
  EXPECT_EQ(early.json().value("startTime", 0LL),
            sale_state(c.port(0), "later").value("startTime", -1LL));
  EXPECT_EQ(sale_state(c.port(1), "later").value("phase", ""), "upcoming");

  json st;
  ASSERT_TRUE(wait_until(5s, [&] {
    st = sale_state(c.port(0), "brief");
    return st.value("phase", "") == "ended";
  }, 50ms)) << st.dump();
  auto late = buy(c.port(0), "brief", "x");
  EXPECT_EQ(late.status, 410u) << late.body;
  EXPECT_EQ(late.json().value("error", ""), "ended");
}

}  // namespace rushcast::test

namespace rushcast::test {

TEST(ClusterSale, OrdersWorkedOffByANodeThatDiedAreStillAnnounced) {
  // 2 orders a second: the test itself gets some positions first, acting as a node that died
  // right after Redis's reply and never published its buyers' results.
  test_cluster c(2, with_sales(json::array({sale("orphan", 10, 2)})));
  std::vector<std::unique_ptr<sse_client>> streams;
  std::map<long long, std::size_t> buyer_of;  // position -> index
  for (std::size_t i = 0; i < 4; ++i) {
    const std::string u = "o" + std::to_string(i);
    streams.push_back(std::make_unique<sse_client>(c.port(i % 2), "/sse-updates?userId=" + u));
    auto r = buy(c.port(i % 2), "orphan", u);
    ASSERT_EQ(r.status, 200u) << r.body;
    buyer_of[r.json().at("position").get<long long>()] = i;
  }
  std::set<long long> orphaned;
  redis_fixture_client dead_node(c.redis().url());
  ASSERT_TRUE(dead_node.wait_connected());
  ASSERT_TRUE(wait_until(10s, [&] {
    auto r = dead_node.call({"FCALL", "rc_sale_complete", "1", "rc:sale:{orphan}", "1"});
    const auto before = r.reply.at(1).as_int(), after = r.reply.at(2).as_int();
    if (!r.ec && before && after && *after > *before) orphaned.insert(*after);
    return !orphaned.empty();
  }, 10ms));
  // The lease holder announces them (2 s after, at its next renewal); every buyer gets its
  // result once.
  for (const auto& [pos, i] : buyer_of) {
    auto ev = streams[i]->next_named("result", 10s);
    ASSERT_TRUE(ev) << "position " << pos << (orphaned.count(pos) ? " (orphaned)" : "");
    EXPECT_EQ(ev->data, expected_result("orphan", pos, 10 - pos));
    EXPECT_FALSE(streams[i]->next_named("result", 200ms)) << "position " << pos;
  }
  EXPECT_NE((c.node(0).log() + c.node(1).log()).find("did not announce them"), std::string::npos);
}

}  // namespace rushcast::test
