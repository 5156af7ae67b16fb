// The auction from outside (CONTRACT.md sections 3-6): racing WebSocket bidders, crash and
// recovery, every bad input with its error, rate limits, soft close and the end.
#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "raw_ws.hpp"

namespace {

using namespace rushcast::test;
using json = nlohmann::json;

json auction_cfg(const std::string& id, const std::string& start, const std::string& end,
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

http_reply bid(std::uint16_t port, const json& body) {
  return http(port, "POST", "/api/bid", body.dump());
}

json state(std::uint16_t port, const std::string& id) {
  auto r = http(port, "GET", "/api/auctions/" + id);
  EXPECT_EQ(r.status, 200u) << r.body;
  return r.json();
}

// The fields a crash or a refused bid must leave exactly as they were.
json essentials(const json& s) {
  return {{"currentPrice", s.at("currentPrice")}, {"leadingUser", s.at("leadingUser")},
          {"bidCount", s.at("bidCount")},         {"endTime", s.at("endTime")},
          {"startTime", s.at("startTime")},       {"bids", s.at("bids")}};
}

TEST(AuctionRace, FiftyWebSocketBiddersEndAtTheHighestBid) {
  rushcast::test::daemon d(json{{"auctions", json::array({auction_cfg("race", iso_from_now(-60s), "+1h", {{"min_increment", 1}})})},
            {"rate_limit", loose_limits()}});
  constexpr int bidders = 50;
  constexpr int bids_each = 8;
  // Bidder i's k-th amount; the amounts are all distinct and the largest is unique.
  auto amount = [](int i, int k) { return 1000 + k * 100 + i; };
  const std::int64_t highest = amount(bidders - 1, bids_each - 1);

  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < bidders; ++i) {
    clients.push_back(std::make_unique<ws_client>(
        d.port(), "/ws?topics=auction:race&userId=b" + std::to_string(i)));
    auto init = clients.back()->recv_type("init", 5s);
    ASSERT_TRUE(init) << "bidder " << i << " got no init snapshot";
    EXPECT_EQ(init->at("item").at("id"), "race");
  }
  sse_client watcher(d.port(), "/sse-updates?topics=auction:race");
  ASSERT_EQ(watcher.status(), 200u);

  std::atomic<int> accepted{0};
  std::atomic<int> too_low{0};
  std::atomic<int> other{0};
  std::vector<std::int64_t> last_seen(bidders, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < bidders; ++i) {
    threads.emplace_back([&, i] {
      auto& c = *clients[i];
      for (int k = 0; k < bids_each; ++k)
        c.send_json({{"type", "bid"}, {"auctionId", "race"}, {"bidAmount", amount(i, k)},
                     {"ref", k}});
      int replies = 0;
      auto deadline = std::chrono::steady_clock::now() + 30s;
      while (std::chrono::steady_clock::now() < deadline &&
             (replies < bids_each || last_seen[i] != highest)) {
        auto m = c.recv(2s);
        if (!m) continue;
        const std::string type = m->value("type", "");
        if (type == "accepted") {
          ++replies;
          ++accepted;
          // The bidder's own amount became the price when it was accepted.
          if (m->at("currentPrice") != m->at("bidAmount")) ++other;
        } else if (type == "error") {
          ++replies;
          (m->value("code", "") == "bid_too_low" ? too_low : other)++;
        } else if (type == "price_update") {
          last_seen[i] = m->at("currentPrice").get<std::int64_t>();
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(accepted.load() + too_low.load(), bidders * bids_each);
  for (int i = 0; i < bidders; ++i)
    EXPECT_EQ(last_seen[i], highest) << "bidder " << i << " saw a different final price";

  std::int64_t sse_last = -1;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       sse_last != highest && std::chrono::steady_clock::now() < deadline;) {
    auto ev = watcher.next_named("price_update", 2s);
    if (ev) sse_last = ev->json().at("currentPrice").get<std::int64_t>();
  }
  EXPECT_EQ(sse_last, highest);

  json s = state(d.port(), "race");
  EXPECT_EQ(s["currentPrice"], highest);
  EXPECT_EQ(s["leadingUser"], "b" + std::to_string(bidders - 1));
  EXPECT_EQ(s["bidCount"], accepted.load());
  const auto& history = s["bids"];
  ASSERT_EQ(history.size(), std::min<std::size_t>(20, accepted.load()));
  for (std::size_t i = 1; i < history.size(); ++i) {
    EXPECT_GT(history[i]["amount"].get<std::int64_t>(), history[i - 1]["amount"].get<std::int64_t>());
    EXPECT_EQ(history[i]["seq"].get<std::int64_t>(), history[i - 1]["seq"].get<std::int64_t>() + 1);
  }
}

// Frames that arrive in one read are answered together as the read ends (refusals and pongs
// at once, an accepted bid once its commit is durable), each in the order it was asked for.
TEST(AuctionWebSocket, AnswersToFramesReadTogetherArriveAtOnceAndInOrder) {
  rushcast::test::daemon d(json{{"auctions", json::array({auction_cfg("glued", iso_from_now(-60s), "+1h")})},
                                {"rate_limit", loose_limits()}});
  auto c = raw_ws::open(d.port(), "/ws?topics=user:b1&userId=b1");
  auto bid_frame = [](int amount) {
    return client_frame(fin | op_text, json{{"type", "bid"}, {"auctionId", "glued"},
                                            {"bidAmount", amount}}.dump());
  };
  c.write(bid_frame(50) + client_frame(fin | op_ping, "p") + bid_frame(200) + bid_frame(60));
  std::vector<std::string> got;
  while (got.size() < 4) {
    auto f = c.read_frame(3s);
    ASSERT_TRUE(f) << "answers so far: " << got.size();
    if (f->opcode() == op_pong) {
      got.push_back("pong:" + f->payload);
      continue;
    }
    ASSERT_EQ(f->opcode(), op_text);
    json m = json::parse(f->payload);
    const std::string type = m.value("type", "");
    if (type == "error") got.push_back(m.value("code", "") + ":" + m.at("minBid").dump());
    if (type == "accepted") got.push_back("accepted:" + m.at("bidAmount").dump());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"bid_too_low:100", "pong:p", "bid_too_low:210",
                                           "accepted:200"}));
  EXPECT_EQ(state(d.port(), "glued")["currentPrice"], 200);
}

TEST(AuctionRecovery, KillNineDuringBiddingKeepsEveryAcknowledgedBid) {
  // Every bid lands in the window, so every bid moves the end: the end must survive too.
  rushcast::test::daemon d(json{{"auctions", json::array({auction_cfg("crash", iso_from_now(-60s), "+30m",
                                      {{"extend_window_ms", 3600000}, {"extend_by_ms", 3600000}})})},
            {"rate_limit", loose_limits()}});
  std::atomic<std::int64_t> last_acked{0};
  std::atomic<int> acked{0};
  std::atomic<bool> stop{false};
  std::thread bidder([&] {
    try {
      http_conn conn(d.port());
      for (std::int64_t amount = 100; !stop; amount += 10) {
        auto r = conn.request("POST", "/api/bid",
                              json{{"userId", amount % 20 == 0 ? "ann" : "bob"},
                                   {"auctionId", "crash"},
                                   {"bidAmount", amount}}
                                  .dump());
        if (r.status != 200) break;
        last_acked = amount;
        ++acked;
      }
    } catch (const std::exception&) {
      // The daemon died under the client: expected.
    }
  });
  while (acked < 30) std::this_thread::sleep_for(5ms);
  d.kill9();
  stop = true;
  bidder.join();
  ASSERT_GE(acked.load(), 30);

  d.restart();
  json after = state(d.port(), "crash");
  // Acknowledged means durable: nothing answered 200 may be lost; at most bids that were
  // committed but not yet answered can be extra.
  EXPECT_GE(after["currentPrice"].get<std::int64_t>(), last_acked.load());
  EXPECT_GE(after["bidCount"].get<int>(), acked.load());
  EXPECT_EQ(after["bidCount"].get<std::int64_t>(),
            (after["currentPrice"].get<std::int64_t>() - 100) / 10 + 1);
  EXPECT_EQ(after["bids"].back()["amount"], after["currentPrice"]);
  EXPECT_EQ(after["leadingUser"], after["bids"].back()["userId"]);
  EXPECT_GT(after["endTime"].get<std::int64_t>(), after["bids"].back()["time"].get<std::int64_t>() + 3500000);

  // A second crash, this time while idle: the restored state restores identically.
  d.kill9();
  d.restart();
  EXPECT_EQ(essentials(state(d.port(), "crash")), essentials(after));

  // Bidding resumes from the recovered price, with the increment.
  std::int64_t price = after["currentPrice"].get<std::int64_t>();
  auto low = bid(d.port(), {{"userId", "carl"}, {"auctionId", "crash"}, {"bidAmount", price + 5}});
  EXPECT_EQ(low.status, 409u) << low.body;
  EXPECT_EQ(low.json()["currentPrice"], price);
  auto ok = bid(d.port(), {{"userId", "carl"}, {"auctionId", "crash"}, {"bidAmount", price + 10}});
  EXPECT_EQ(ok.status, 200u) << ok.body;
  json s = state(d.port(), "crash");
  EXPECT_EQ(s["bidCount"].get<int>(), after["bidCount"].get<int>() + 1);
  EXPECT_EQ(s["leadingUser"], "carl");
}

namespace {

// Every malformed or refused HTTP bid gets its status and error code, and a too-low one the price.
void expect_bad_http_bids_refused(std::uint16_t port) {
  struct bad_case {
    std::string body;
    unsigned status;
    std::string code;
  };
  std::vector<bad_case> cases{
      {"{not json", 400, "bad_json"},
      {"[1,2]", 400, "bad_json"},
      {R"({"auctionId":"v","bidAmount":500})", 400, "missing_user_id"},
      {R"({"userId":"","auctionId":"v","bidAmount":500})", 400, "missing_user_id"},
      {R"({"userId":"bob","auctionId":"nope","bidAmount":500})", 404, "not_found"},
      {R"({"userId":"bob","auctionId":"v"})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":"abc"})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":"NaN"})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":"500"})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":500.5})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":-500})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":0})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":1000000000001})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":1e300})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":null})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":true})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":[500]})", 400, "bid_invalid"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":159})", 409, "bid_too_low"},
      {R"({"userId":"bob","auctionId":"v","bidAmount":150})", 409, "bid_too_low"},
      {R"({"userId":"bob","auctionId":"later","bidAmount":500})", 403, "not_started"},
      {R"({"userId":"bob","auctionId":"past","bidAmount":500})", 410, "ended"},
  };
  for (const auto& c : cases) {
    auto r = http(port, "POST", "/api/bid", c.body, {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j.value("error", ""), c.code) << c.body;
    EXPECT_TRUE(j.contains("message")) << c.body;
    if (c.code == "bid_too_low") {
      EXPECT_EQ(j["currentPrice"], 150);
      EXPECT_EQ(j["minIncrement"], 10);
    }
  }
}

// The same through WebSocket: an error with the ref, the connection stays open for a good bid.
void expect_ws_bid_errors_keep_the_connection(std::uint16_t port) {
  ws_client ws(port, "/ws?userId=bob");
  ws.send_json({{"type", "bid"}, {"auctionId", "v"}, {"bidAmount", 155}, {"ref", "r1"}});
  auto e1 = ws.recv_type("error", 5s);
  ASSERT_TRUE(e1);
  EXPECT_EQ((*e1)["code"], "bid_too_low");
  EXPECT_EQ((*e1)["currentPrice"], 150);
  EXPECT_EQ((*e1)["minIncrement"], 10);
  EXPECT_EQ((*e1)["ref"], "r1");
  ws.send_json({{"type", "bid"}, {"auctionId", "v"}, {"bidAmount", "lots"}, {"ref", "r2"}});
  auto e2 = ws.recv_type("error", 5s);
  ASSERT_TRUE(e2);
  EXPECT_EQ((*e2)["code"], "bid_invalid");
  EXPECT_EQ((*e2)["ref"], "r2");
  ws.send_json({{"type", "bid"}, {"auctionId", "v"}, {"bidAmount", 160}, {"ref", "r3"}});
  auto ok = ws.recv_type("accepted", 5s);
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["currentPrice"], 160);
  EXPECT_EQ((*ok)["bidAmount"], 160);
  EXPECT_EQ((*ok)["ref"], "r3");
}
}  // namespace

TEST(AuctionValidation, BadInputsGetTheirErrorAndChangeNothing) {
  rushcast::test::daemon d(json{{"auctions",
             json::array({auction_cfg("v", iso_from_now(-60s), "+1h"),
              auction_cfg("later", "+1h", "+2h"),
              auction_cfg("past", iso_from_now(-120s), iso_from_now(-60s))})},
            {"rate_limit", loose_limits()}});
  auto first = bid(d.port(), {{"userId", "ann"}, {"auctionId", "v"}, {"bidAmount", 150}});
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.json()["status"], "accepted");
  EXPECT_EQ(first.json()["currentPrice"], 150);
  json before = essentials(state(d.port(), "v"));

  expect_bad_http_bids_refused(d.port());
  auto wrong_type = http(d.port(), "POST", "/api/bid",
                         R"({"userId":"bob","auctionId":"v","bidAmount":500})",
                         {{"Content-Type", "text/plain"}});
  EXPECT_EQ(wrong_type.status, 415u) << wrong_type.body;
  EXPECT_EQ(http(d.port(), "GET", "/api/auctions/nope").status, 404u);

  expect_ws_bid_errors_keep_the_connection(d.port());

  json after = essentials(state(d.port(), "v"));
  EXPECT_EQ(after["bidCount"], 2);
  after["bidCount"] = before["bidCount"];
  after["currentPrice"] = before["currentPrice"];
  after["leadingUser"] = before["leadingUser"];
  after["bids"].erase(after["bids"].size() - 1);
  EXPECT_EQ(after, before) << "only the one good bid changed the auction";
}

TEST(AuctionRateLimit, FloodGets429RatelimitEventAndClose4029) {
  rushcast::test::daemon d(json{{"auctions", json::array({auction_cfg("f", iso_from_now(-60s), "+1h")})},
            {"rate_limit",
             {{"per_user_per_s", 1}, {"per_user_burst", 2}, {"ws_abuse_strikes", 5}}}});
  sse_client inbox(d.port(), "/sse-updates?topics=user:flood&userId=flood");
  ASSERT_EQ(inbox.status(), 200u);
  int limited = 0;
  std::string retry_after;
  for (int i = 0; i < 6; ++i) {
    auto r = bid(d.port(), {{"userId", "flood"}, {"auctionId", "f"}, {"bidAmount", 100 + 10 * i}});
    if (r.status == 429) {
      ++limited;
      retry_after = r.headers["retry-after"];
      EXPECT_EQ(r.json()["error"], "rate_limited");
    } else {
      EXPECT_EQ(r.status, 200u) << r.body;
    }
  }
  EXPECT_GE(limited, 3);
  EXPECT_FALSE(retry_after.empty());
  auto ev = inbox.next_named("ratelimit", 5s);
  ASSERT_TRUE(ev);
  EXPECT_GT(ev->json()["retryAfterMs"].get<int>(), 0);

  ws_client ws(d.port(), "/ws?userId=wsflood");
  for (int i = 0; i < 20; ++i)
    ws.send_json({{"type", "bid"}, {"auctionId", "f"}, {"bidAmount", 100000 + i}});
  auto code = ws.close_code(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 4029);
}

TEST(AuctionEnd, SoftCloseExtendsThenWinnerAndResultsAreAnnounced) {
  rushcast::test::daemon d(json{{"auctions",
             json::array({auction_cfg("e", iso_from_now(-60s), "+3s",
                          {{"reserve_price", 150}, {"extend_window_ms", 2000},
                           {"extend_by_ms", 2500}}),
              auction_cfg("r", iso_from_now(-60s), "+3s", {{"reserve_price", 100000}})})},
            {"rate_limit", loose_limits()}});
  ws_client watch(d.port(), "/ws?topics=auction:e,auction:r");
  sse_client ann(d.port(), "/sse-updates?topics=user:ann&userId=ann");
  sse_client bob(d.port(), "/sse-updates?topics=user:bob&userId=bob");
  json s0 = state(d.port(), "e");
  ASSERT_EQ(bid(d.port(), {{"userId", "ann"}, {"auctionId", "e"}, {"bidAmount", 120}}).status, 200u);
  ASSERT_EQ(bid(d.port(), {{"userId", "bob"}, {"auctionId", "r"}, {"bidAmount", 500}}).status, 200u);
  // Into the soft-close window.
  std::this_thread::sleep_for(std::chrono::milliseconds(
      std::max<std::int64_t>(0, s0["endTime"].get<std::int64_t>() - s0["serverTime"].get<std::int64_t>() - 1500)));
  auto late = bid(d.port(), {{"userId", "bob"}, {"auctionId", "e"}, {"bidAmount", 200}});
  ASSERT_EQ(late.status, 200u) << late.body;
  json s1 = state(d.port(), "e");
  EXPECT_GT(s1["endTime"].get<std::int64_t>(), s0["endTime"].get<std::int64_t>());
  EXPECT_EQ(s1["phase"], "open");

  json end_e, end_r;
  for (auto deadline = std::chrono::steady_clock::now() + 15s;
       (end_e.is_null() || end_r.is_null()) && std::chrono::steady_clock::now() < deadline;) {
    auto m = watch.recv_type("auction_end", 2s);
    if (!m) continue;
    ((*m)["auctionId"] == "e" ? end_e : end_r) = *m;
  }
  ASSERT_FALSE(end_e.is_null());
  EXPECT_EQ(end_e["winner"], "bob");
  EXPECT_EQ(end_e["finalPrice"], 200);
  ASSERT_FALSE(end_r.is_null());
  EXPECT_TRUE(end_r["winner"].is_null()) << "the reserve was not met";
  EXPECT_EQ(end_r["finalPrice"], 500);

  auto ann_result = ann.next_named("result", 5s);
  ASSERT_TRUE(ann_result);
  EXPECT_EQ(ann_result->json()["auctionId"], "e");
  EXPECT_EQ(ann_result->json()["result"], "lost");
  std::set<std::string> bob_results;
  for (int i = 0; i < 2; ++i) {
    auto r = bob.next_named("result", 5s);
    ASSERT_TRUE(r);
    bob_results.insert(r->json()["auctionId"].get<std::string>() + ":" +
                       r->json()["result"].get<std::string>());
  }
  EXPECT_EQ(bob_results, (std::set<std::string>{"e:won", "r:lost"}));

  auto after = bid(d.port(), {{"userId", "ann"}, {"auctionId", "e"}, {"bidAmount", 5000}});
  EXPECT_EQ(after.status, 410u);
  json s2 = state(d.port(), "e");
  EXPECT_EQ(s2["phase"], "ended");
  EXPECT_EQ(s2["winner"], "bob");
  EXPECT_EQ(s2["currentPrice"], 200);

  // The end survives a restart and is not announced twice; a late SSE client still learns it.
  d.kill9();
  d.restart();
  EXPECT_EQ(state(d.port(), "e")["winner"], "bob");
  sse_client late_watcher(d.port(), "/sse-updates?topics=auction:e");
  auto snap = late_watcher.next_named("auction_end", 5s);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->json()["winner"], "bob");
}

}  // namespace
