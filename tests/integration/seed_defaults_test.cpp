// Default topics of a bare connection (CONTRACT.md section 2): without a `default_topics` key a
// bare SSE or long-poll connection subscribes every configured sale and a bare WebSocket every
// configured auction, as the seed's own pages use them; an explicit `default_topics` (even [])
// overrides both.
#include <chrono>
#include <future>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace rushcast::test {
namespace {
using nlohmann::json;
using namespace std::chrono_literals;

json sale(const std::string& id, const std::string& end = "+1h") {
  return {{"id", id},         {"name", "Sale " + id}, {"stock", 5},
          {"start_at", "+0s"}, {"end_at", end},       {"per_user_limit", 1},
          {"process_rate_per_s", 0}};
}

json auction(const std::string& id) {
  return {{"id", id},           {"name", "Item " + id}, {"start_price", 100},
          {"min_increment", 10}, {"reserve_price", 0},   {"start_at", "+0s"},
          {"end_at", "+2h"},     {"extend_window_ms", 0}, {"extend_by_ms", 0}};
}

// Sales and auctions with `default_topics` removed from the harness's base config (null deletes
// a key in a JSON merge patch). A short countdown_sync_ms makes the auction broadcast countdowns
// while a test watches for them.
json seed_config(json sales, json auctions) {
  return {{"default_topics", nullptr},
          {"countdown_sync_ms", 150},
          {"sales", std::move(sales)},
          {"auctions", std::move(auctions)}};
}

}  // namespace

TEST(SeedDefaults, BareSseGetsEverySaleAndNoAuction) {
  daemon d(seed_config(json::array({sale("s1"), sale("s2")}), json::array({auction("a1")})));
  sse_client c(d.port(), "/sse-updates");
  ASSERT_EQ(c.status(), 200u);
  std::set<std::string> stock_of, countdown_of;
  // Long enough for several countdown syncs of the auction, had it been subscribed.
  auto until = std::chrono::steady_clock::now() + 1200ms;
  while (std::chrono::steady_clock::now() < until) {
    auto ev = c.next(100ms);
    if (!ev) continue;
    auto j = ev->json();
    EXPECT_FALSE(j.contains("auctionId")) << ev->event << " " << ev->data;
    EXPECT_NE(ev->event, "price_update");
    if (ev->event == "stock") stock_of.insert(j.at("saleId").get<std::string>());
    if (ev->event == "countdown") {
      countdown_of.insert(j.at("saleId").get<std::string>());
      EXPECT_TRUE(j.contains("endTime"));
    }
  }
  EXPECT_EQ(stock_of, (std::set<std::string>{"s1", "s2"}));
  EXPECT_EQ(countdown_of, (std::set<std::string>{"s1", "s2"}));
}

TEST(SeedDefaults, BareSseWithUserIdAlsoGetsTheSale) {
  daemon d(seed_config(json::array({sale("s1")}), json::array({auction("a1")})));
  sse_client c(d.port(), "/sse-updates?userId=u1");
  auto ev = c.next_named("stock", 5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->json().at("saleId"), "s1");
}

TEST(SeedDefaults, BareWebSocketStartsWithTheAuctionInit) {
  daemon d(seed_config(json::array({sale("s1")}), json::array({auction("a1")})));
  ws_client ws(d.port(), "/");
  auto first = ws.recv(5s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->at("type"), "init") << first->dump();
  EXPECT_EQ(first->at("item").at("id"), "a1");
  EXPECT_EQ(first->at("item").at("currentPrice"), 100);
  // Nothing of the sale reaches the auction page.
  auto until = std::chrono::steady_clock::now() + 800ms;
  while (std::chrono::steady_clock::now() < until) {
    auto m = ws.recv(100ms);
    if (!m) continue;
    EXPECT_FALSE(m->contains("saleId")) << m->dump();
    EXPECT_NE(m->value("type", ""), "stock");
  }
}

TEST(SeedDefaults, BareLongPollWaitsForSaleEventsOnly) {
  daemon d(seed_config(json::array({sale("s1")}), json::array({auction("a1")})));
  // The first event after the poll starts is a countdown sync (every 150 ms): the sale's, and
  // only the sale's, whatever order the two engines broadcast in.
  for (int i = 0; i < 3; ++i) {
    auto r = http(d.port(), "GET", "/long-poll?timeout=3000");
    ASSERT_EQ(r.status, 200u) << r.body;
    auto events = r.json().at("events");
    ASSERT_FALSE(events.empty());
    for (const auto& e : events) EXPECT_EQ(e.at("topic"), "sale:s1") << e.dump();
  }
}

TEST(SeedDefaults, ExplicitDefaultTopicsOverrideBoth) {
  daemon d(json{{"default_topics", json::array({"news"})},
                {"countdown_sync_ms", 150},
                {"sales", json::array({sale("s1")})},
                {"auctions", json::array({auction("a1")})}});
  sse_client c(d.port(), "/sse-updates");
  ws_client ws(d.port(), "/");
  // The server subscribes a WebSocket after its handshake response is written: a reply to a
  // ping proves the subscription exists before anything is published.
  ws.send_json({{"type", "ping"}});
  auto pong = ws.recv(5s);
  ASSERT_TRUE(pong);
  ASSERT_EQ(pong->at("type"), "pong") << pong->dump();  // nothing else came before it
  publish(d.port(), "news", "headline", json{{"text", "hi"}});
  auto ev = c.next(5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->event, "headline");  // not the sale's stock snapshot
  auto m = ws.recv(5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("type"), "headline") << m->dump();  // not the auction's init
}

TEST(SeedDefaults, ExplicitEmptyDefaultTopicsSubscribeNothing) {
  daemon d(json{{"default_topics", json::array()},
                {"countdown_sync_ms", 150},
                {"sales", json::array({sale("s1")})},
                {"auctions", json::array({auction("a1")})}});
  sse_client c(d.port(), "/sse-updates");
  ws_client ws(d.port(), "/");
  EXPECT_FALSE(c.next(600ms));
  EXPECT_FALSE(ws.recv(300ms));
}

}  // namespace rushcast::test
