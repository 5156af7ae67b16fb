// Auctions in cluster mode with a real redis-server and several real daemons: bids on any node
// are decided in Redis on one clock, the soft close and the end are one for the whole cluster
// (one auction_end, the same ids everywhere), an Idempotency-Key counts a bid once across
// nodes, Redis down answers 503 while streams stay open, and a node's kill -9 loses nothing it
// answered. Answers are those of the single-node (SQLite) path.
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness_cluster.hpp"
#include "harness.hpp"
#include "harness_redis.hpp"

namespace rushcast::test {
namespace {
using nlohmann::json;

json auction(const std::string& id, const std::string& start, const std::string& end,
             json extra = json::object()) {
  json a{{"id", id},
         {"name", "Item " + id},
         {"start_price", 100},
         {"min_increment", 10},
         {"reserve_price", 0},
         {"start_at", start},
         {"end_at", end},
         {"extend_window_ms", 0},
         {"extend_by_ms", 0}};
  a.merge_patch(extra);
  return a;
}

json loose_limits() {
  return {{"per_user_per_s", 100000}, {"per_user_burst", 100000},
          {"per_ip_per_s", 100000},   {"per_ip_burst", 100000}};
}

json node_config(const redis_server& r, const json& auctions) {
  return json{{"storage", {{"backend", "redis"}, {"redis_url", r.url()}}},
              {"bus", {{"read_block_ms", 200}}},
              {"heartbeat_ms", 200},
              // Periodic countdowns are each node's own (no id): kept out of the way here.
              {"countdown_sync_ms", 600000},
              {"auctions", auctions},
              {"rate_limit", loose_limits()}};
}

// N daemons on one redis-server (this file's own helper; see also cluster_bus_test.cpp).
struct cluster {
  cluster(std::size_t n, const json& auctions) {
    for (std::size_t i = 0; i < n; ++i)
      nodes.push_back(start_cluster_node(node_config(redis, auctions)));
  }
  std::uint16_t port(std::size_t i) const { return nodes[i]->port(); }
  redis_server redis;
  std::vector<std::unique_ptr<daemon>> nodes;
};

http_reply bid(std::uint16_t port, const std::string& user, std::int64_t amount,
               const std::string& auction_id = "a", headers_t headers = {}) {
  headers.emplace("Content-Type", "application/json");
  return http(port, "POST", "/api/bid",
              json{{"userId", user}, {"auctionId", auction_id}, {"bidAmount", amount}}.dump(),
              headers);
}

json state(std::uint16_t port, const std::string& id = "a") {
  auto r = http(port, "GET", "/api/auctions/" + id);
  EXPECT_EQ(r.status, 200u) << r.body;
  return r.status == 200 ? r.json() : json::object();
}

struct seen {
  std::string id, event, data;
  bool operator==(const seen&) const = default;
};

// Every event with an id (the bus's) until `until` has been seen and `quiet` passed after it.
std::vector<seen> read_ordered(sse_client& c, const std::string& until,
                               std::chrono::milliseconds timeout,
                               std::chrono::milliseconds quiet = 1500ms) {
  std::vector<seen> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<std::chrono::steady_clock::time_point> stop_at;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    const auto limit = stop_at ? *stop_at : deadline;
    if (now >= limit) break;
    auto ev = c.next(std::chrono::duration_cast<std::chrono::milliseconds>(limit - now));
    if (!ev) continue;
    if (ev->id.empty()) continue;  // snapshots and each node's own countdowns
    out.push_back({ev->id, ev->event, ev->data});
    if (ev->event == until && !stop_at) stop_at = std::chrono::steady_clock::now() + quiet;
  }
  return out;
}

std::size_t count_named(const std::vector<seen>& v, const std::string& name) {
  std::size_t n = 0;
  for (const auto& s : v) n += s.event == name;
  return n;
}

}  // namespace

TEST(ClusterAuction, BidsOnDifferentNodesInTheSoftCloseWindowEndOnceEverywhere) {
  // Ends 6 s after the first node stores it; every bid in its last 4 s moves the end to
  // now + 4 s (Redis TIME).
  cluster c(3, json::array({auction("a", iso_from_now(-60s), "+6s",
                                    {{"extend_window_ms", 4000}, {"extend_by_ms", 4000}})}));
  std::vector<std::unique_ptr<sse_client>> subs;
  for (std::size_t i = 0; i < 3; ++i)
    subs.push_back(std::make_unique<sse_client>(c.port(i), "/sse-updates?topics=auction:a"));
  const std::int64_t first_end = state(c.port(0)).at("endTime");
  for (std::size_t i = 1; i < 3; ++i) EXPECT_EQ(state(c.port(i)).at("endTime"), first_end);

  // Into the window, then one bid on each node in turn, each extending the end.
  ASSERT_TRUE(wait_until(10s, [&] {
    return state(c.port(0)).at("endTime").get<std::int64_t>() -
               state(c.port(0)).at("serverTime").get<std::int64_t>() <
           3000;
  }));
  std::int64_t amount = 100;
  std::string last_user;
  for (int k = 0; k < 6; ++k) {
    last_user = "bidder" + std::to_string(k % 3);
    auto r = bid(c.port(k % 3), last_user, amount);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.json().at("currentPrice"), amount);
    amount += 10;
    std::this_thread::sleep_for(300ms);
  }
  const std::int64_t final_price = amount - 10;

  std::vector<std::vector<seen>> got;
  for (auto& s : subs) got.push_back(read_ordered(*s, "auction_end", 20s));
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(count_named(got[i], "auction_end"), 1u) << "node " << i;
    EXPECT_EQ(got[i], got[0]) << "node " << i << " emitted other events, ids or order";
  }
  ASSERT_EQ(count_named(got[0], "auction_end"), 1u);
  for (const auto& s : got[0])
    if (s.event == "auction_end") {
      auto end = json::parse(s.data);
      EXPECT_EQ(end.at("winner"), last_user);
      EXPECT_EQ(end.at("finalPrice"), final_price);
    }
  // The last price event of every node shows the final price (no older one after it).
  for (auto it = got[0].rbegin(); it != got[0].rend(); ++it)
    if (it->event == "price_update") {
      EXPECT_EQ(json::parse(it->data).at("currentPrice"), final_price);
      break;
    }

  std::set<std::int64_t> ends;
  for (std::size_t i = 0; i < 3; ++i) {
    auto s = state(c.port(i));
    EXPECT_EQ(s.at("phase"), "ended");
    EXPECT_EQ(s.at("winner"), last_user);
    EXPECT_EQ(s.at("finalPrice"), final_price);
    EXPECT_EQ(s.at("bidCount"), 6);
    ends.insert(s.at("endTime").get<std::int64_t>());
  }
  EXPECT_EQ(ends.size(), 1u) << "one end time for the cluster";
  EXPECT_GT(*ends.begin(), first_end) << "the soft close moved the end";
  // A bid after the end is refused the same way on every node.
  for (std::size_t i = 0; i < 3; ++i) {
    auto late = bid(c.port(i), "late", final_price + 100);
    EXPECT_EQ(late.status, 410u) << late.body;
    EXPECT_EQ(late.json().at("endTime"), *ends.begin());
  }
}

TEST(ClusterAuction, PeriodicCountdownsAreEachNodesOwnNotTheBus) {
  json auctions = json::array({auction("a", iso_from_now(-60s), "+1h")});
  cluster c(3, auctions);
  for (auto& n : c.nodes) n.reset();
  for (auto& n : c.nodes) {
    json cfg = node_config(c.redis, auctions);
    cfg["countdown_sync_ms"] = 200;
    n = start_cluster_node(cfg);
  }
  std::vector<std::unique_ptr<sse_client>> subs;
  for (std::size_t i = 0; i < 3; ++i)
    subs.push_back(std::make_unique<sse_client>(c.port(i), "/sse-updates?topics=auction:a"));
  for (auto& s : subs) {
    ASSERT_TRUE(s->next_named("countdown", 5s));  // the snapshot
    for (int k = 0; k < 3; ++k) {
      auto ev = s->next_named("countdown", 5s);
      ASSERT_TRUE(ev) << "every node sends its subscribers the periodic countdown";
      EXPECT_EQ(ev->id, "") << "a node's own event, not one of the bus";
    }
  }
  const std::string bus = c.redis.command({"XRANGE", "rushcast:bus", "-", "+"});
  EXPECT_EQ(bus.find("countdown"), std::string::npos) << bus;
}

TEST(ClusterAuction, SameIdempotencyKeyOnTwoNodesCountsOneBid) {
  cluster c(2, json::array({auction("a", iso_from_now(-60s), "+1h")}));
  const headers_t key{{"Idempotency-Key", "order-7f3a"}};
  http_reply r0, r1;
  std::thread t0([&] { r0 = bid(c.port(0), "ann", 150, "a", key); });
  std::thread t1([&] { r1 = bid(c.port(1), "ann", 150, "a", key); });
  t0.join();
  t1.join();
  EXPECT_EQ(r0.status, 200u) << r0.body;
  EXPECT_EQ(r1.status, 200u) << r1.body;
  EXPECT_EQ(r0.body, r1.body) << "one answer";
  for (std::size_t i = 0; i < 2; ++i)
    EXPECT_TRUE(wait_until(5s, [&] { return state(c.port(i)).at("bidCount") == 1; }))
        << state(c.port(i)).dump();
  // The same bid without the key is a new one, and the first was counted: too low.
  auto again = bid(c.port(1), "ann", 150);
  EXPECT_EQ(again.status, 409u) << again.body;
  EXPECT_EQ(again.json().at("error"), "bid_too_low");
  EXPECT_EQ(state(c.port(0)).at("bidCount"), 1);

  // A key is 1..100 visible ASCII characters.
  for (const std::string bad : {std::string(""), std::string("has space"), std::string(101, 'k')}) {
    auto r = bid(c.port(0), "bob", 500, "a", {{"Idempotency-Key", bad}});
    EXPECT_EQ(r.status, 400u) << "[" << bad << "] " << r.body;
    EXPECT_EQ(r.json().at("error"), "bad_request");
  }
  EXPECT_EQ(state(c.port(0)).at("bidCount"), 1);
}

TEST(ClusterAuction, AnswersAreThoseOfTheSingleNodePath) {
  // The same auctions and bids on one SQLite node and on a cluster node: the same answers
  // (times apart, which each side takes from its own clock).
  const json auctions = json::array(
      {auction("a", iso_from_now(-60s), "+1h", {{"reserve_price", 500}}),
       auction("later", iso_from_now(3600s), iso_from_now(7200s)),
       auction("over", iso_from_now(-7200s), iso_from_now(-3600s))});
  daemon local(json{{"auctions", auctions}, {"rate_limit", loose_limits()}});
  cluster c(1, auctions);
  struct step {
    std::string user, auction;
    std::int64_t amount;
  };
  const std::vector<step> steps{{"u1", "a", 99},     {"u1", "a", 100},  {"u2", "a", 105},
                                {"u2", "a", 110},    {"u3", "a", 110},  {"u1", "a", 1000},
                                {"u1", "later", 500}, {"u1", "over", 500}};
  auto comparable = [](http_reply r) {
    json j = r.json();
    j.erase("endTime");
    j.erase("startTime");
    return std::to_string(r.status) + " " + j.dump();
  };
  for (const auto& s : steps) {
    auto want = bid(local.port(), s.user, s.amount, s.auction);
    auto got = bid(c.port(0), s.user, s.amount, s.auction);
    EXPECT_EQ(comparable(got), comparable(want)) << s.user << " " << s.auction << " " << s.amount;
  }
  auto want = bid(local.port(), "u9", 1010, "over");
  EXPECT_EQ(want.status, 410u);
  auto ls = state(local.port()), cs = state(c.port(0));
  for (const char* k : {"currentPrice", "leadingUser", "bidCount", "minNextBid", "reserveMet",
                        "phase"})
    EXPECT_EQ(cs.at(k), ls.at(k)) << k;
}

TEST(ClusterAuction, RedisDownAnswers503WhileStreamsStayAndBidsWorkAgainAfter) {
  cluster c(2, json::array({auction("a", iso_from_now(-60s), "+1h")}));
  sse_client watch(c.port(0), "/sse-updates?topics=auction:a");
  ASSERT_EQ(bid(c.port(1), "ann", 100).status, 200u);
  ASSERT_TRUE(watch.next_named("price_update", 5s));  // the snapshot
  ASSERT_TRUE(watch.next_named("price_update", 5s));  // ann's bid

  c.redis.kill9();
  http_reply refused;
  ASSERT_TRUE(wait_until(10s, [&] {
    refused = bid(c.port(1), "bob", 200);
    return refused.status == 503;
  })) << refused.status << " " << refused.body;
  EXPECT_EQ(refused.json().at("error"), "unavailable");
  EXPECT_TRUE(refused.headers.count("retry-after"));
  EXPECT_EQ(bid(c.port(0), "bob", 200).status, 503u);
  // The stream stays open: heartbeats go on, nothing ends it.
  const auto pings = watch.comments_seen();
  EXPECT_FALSE(watch.next_named("price_update", 1s));
  EXPECT_GT(watch.comments_seen(), pings);
  EXPECT_FALSE(watch.eof());

  c.redis.start();  // from its AOF
  http_reply ok;
  ASSERT_TRUE(wait_until(15s, [&] {
    ok = bid(c.port(1), "bob", 200);
    return ok.status == 200;
  })) << ok.status << " " << ok.body;
  auto ev = watch.next_named("price_update", 10s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->json().at("currentPrice"), 200);
  EXPECT_EQ(ev->json().at("leadingUser"), "bob");
  EXPECT_EQ(ev->json().at("bidCount"), 2) << "ann's bid from before the crash stands";
}

TEST(ClusterAuction, KillNineOfANodeKeepsTheBidsItAcceptedAndTheOthersEndIt) {
  cluster c(2, json::array({auction("a", iso_from_now(-60s), "+8s")}));
  sse_client watch(c.port(1), "/sse-updates?topics=auction:a");
  std::int64_t amount = 100;
  for (int k = 0; k < 20; ++k, amount += 10) {
    auto r = bid(c.port(0), "u" + std::to_string(k), amount);
    ASSERT_EQ(r.status, 200u) << r.body;
  }
  c.nodes[0]->kill9();
  auto s = state(c.port(1));
  ASSERT_TRUE(wait_until(5s, [&] {
    s = state(c.port(1));
    return s.at("bidCount") == 20;
  })) << s.dump();
  EXPECT_EQ(s.at("currentPrice"), amount - 10);
  EXPECT_EQ(s.at("leadingUser"), "u19");
  ASSERT_FALSE(s.at("bids").empty());
  EXPECT_EQ(s.at("bids").back().at("amount"), amount - 10);
  // The price the dead node made is the one the living node holds bidders to.
  auto low = bid(c.port(1), "late", amount - 10);
  EXPECT_EQ(low.status, 409u) << low.body;
  EXPECT_EQ(low.json().at("currentPrice"), amount - 10);
  ASSERT_EQ(bid(c.port(1), "late", amount).status, 200u);

  // The living node ends it, once.
  auto got = read_ordered(watch, "auction_end", 20s);
  ASSERT_EQ(count_named(got, "auction_end"), 1u);
  for (const auto& e : got)
    if (e.event == "auction_end") {
      EXPECT_EQ(json::parse(e.data).at("winner"), "late");
      EXPECT_EQ(json::parse(e.data).at("finalPrice"), amount);
    }
  EXPECT_EQ(state(c.port(1)).at("bidCount"), 21);
}

TEST(ClusterAuction, ALostReplyIsRetriedUnderTheSameRequestIdAndCountedOnce) {
  // redis-server stopped (SIGSTOP) with the bid in its socket: no reply within
  // redis_timeout_ms, the node drops the connection and sends the bid again once Redis
  // answers. Redis runs the first copy as it wakes up, so a retry under a new id would be a
  // second bid (refused as too low: the bidder would hear 409 for an accepted bid).
  cluster c(1, json::array({auction("a", iso_from_now(-60s), "+1h")}));
  c.nodes[0].reset();
  json cfg = node_config(c.redis, json::array({auction("a", iso_from_now(-60s), "+1h")}));
  cfg["storage"]["redis_timeout_ms"] = 1000;
  cfg["storage"]["redis_reconnect_max_ms"] = 100;
  c.nodes[0] = start_cluster_node(cfg);
  ASSERT_EQ(bid(c.port(0), "ann", 100).status, 200u);

  c.redis.pause();
  http_reply r;
  std::string failed;
  std::thread bidder([&] {
    try {
      r = bid(c.port(0), "bob", 150);
    } catch (const std::exception& e) {
      failed = e.what();
    }
  });
  std::this_thread::sleep_for(1300ms);  // past the reply timeout: the connection was dropped
  c.redis.resume();
  bidder.join();
  ASSERT_EQ(failed, "") << c.nodes[0]->log();
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().value("currentPrice", 0), 150);
  auto s = state(c.port(0));
  ASSERT_TRUE(wait_until(5s, [&] {
    s = state(c.port(0));
    return s.at("currentPrice") == 150;
  })) << s.dump();
  EXPECT_EQ(s.at("bidCount"), 2) << "bob's bid counted once";
  EXPECT_EQ(s.at("leadingUser"), "bob");
}

TEST(ClusterAuction, WebSocketBidsAreDecidedInRedisToo) {
  cluster c(2, json::array({auction("a", iso_from_now(-60s), "+1h")}));
  ws_client ws(c.port(0));
  ws.send_json({{"type", "bid"}, {"auctionId", "a"}, {"userId", "wsu"}, {"bidAmount", 300}});
  auto ok = ws.recv_type("accepted", 10s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->at("currentPrice"), 300);
  auto low = bid(c.port(1), "httpu", 305);
  EXPECT_EQ(low.status, 409u) << low.body;
  EXPECT_EQ(low.json().at("currentPrice"), 300);
  ws.send_json({{"type", "bid"}, {"auctionId", "a"}, {"userId", "wsu2"}, {"bidAmount", 305}});
  auto refused = ws.recv_type("error", 10s);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->at("code"), "bid_too_low");
  EXPECT_EQ(refused->at("minBid"), 310);
}

}  // namespace rushcast::test
