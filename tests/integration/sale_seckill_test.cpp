// The flash sale from outside (CONTRACT.md sections 3, 5, 6): thousands of concurrent buyers
// for a small stock, kill -9 during processing, every bad input with its error, phases,
// duplicates, rate limits and the WebSocket/SSE views.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace rushcast::test {
namespace {

using json = nlohmann::json;

json loose_limits() {
  return {{"per_user_per_s", 100000}, {"per_user_burst", 100000},
          {"per_ip_per_s", 1000000},  {"per_ip_burst", 1000000}};
}

json sale_config(const std::string& id, std::int64_t stock, std::int64_t rate,
                 const std::string& start = "+0s", const std::string& end = "+1h") {
  return {{"id", id},         {"name", "Sale " + id}, {"stock", stock},
          {"start_at", start}, {"end_at", end},       {"per_user_limit", 1},
          {"process_rate_per_s", rate}};
}

json overrides(json sales, json rate = loose_limits()) {
  return {{"sales", std::move(sales)}, {"rate_limit", std::move(rate)}, {"coalesce_ms", 20}};
}

http_reply buy(std::uint16_t port, const json& body) {
  return http(port, "POST", "/api/seckill", body.dump());
}

json sale_state(std::uint16_t port, const std::string& id) {
  auto r = http(port, "GET", "/api/sales/" + id);
  EXPECT_EQ(r.status, 200u) << r.body;
  return r.json();
}

json result_of(std::uint16_t port, const std::string& id, const std::string& user) {
  auto r = http(port, "GET", "/api/sales/" + id + "/result?userId=" + user);
  EXPECT_EQ(r.status, 200u) << r.body;
  return r.json();
}

// Polls until the sale has worked off its queue (or the deadline).
json wait_drained(std::uint16_t port, const std::string& id, std::chrono::seconds limit) {
  json s;
  wait_until(limit, [&] {
    s = sale_state(port, id);
    return s.value("queued", -1) == 0;
  }, 50ms);
  return s;
}

}  // namespace

TEST(SaleSeckill, FiveThousandBuyersGetExactlyTheStock) {
  daemon d(overrides(json::array({sale_config("flash", 100, 0)})));
  constexpr int threads = 50;
  constexpr int per_thread = 100;
  std::mutex mu;
  std::map<std::string, json> answers;  // user -> reply body
  std::atomic<int> bad{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      http_conn conn(d.port());
      for (int i = 0; i < per_thread; ++i) {
        std::string user = "u" + std::to_string(t) + "-" + std::to_string(i);
        auto r = conn.request("POST", "/api/seckill", json{{"userId", user}}.dump(),
                              {{"Content-Type", "application/json"}});
        if (r.status != 200) {
          ++bad;
          continue;
        }
        std::lock_guard lk(mu);
        answers[user] = r.json();
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(bad.load(), 0);
  ASSERT_EQ(answers.size(), static_cast<std::size_t>(threads * per_thread));

  std::map<std::int64_t, std::string> by_position;
  int sold_out = 0;
  for (const auto& [user, body] : answers) {
    const auto status = body.at("status").get<std::string>();
    if (status == "queued") {
      EXPECT_EQ(body.at("saleId"), "flash");
      auto pos = body.at("position").get<std::int64_t>();
      EXPECT_TRUE(by_position.emplace(pos, user).second) << "position " << pos << " twice";
    } else {
      EXPECT_EQ(status, "sold_out");
      ++sold_out;
    }
  }
  ASSERT_EQ(by_position.size(), 100u);
  EXPECT_EQ(sold_out, threads * per_thread - 100);
  EXPECT_EQ(by_position.begin()->first, 1);
  EXPECT_EQ(by_position.rbegin()->first, 100);

  auto s = wait_drained(d.port(), "flash", 30s);
  EXPECT_EQ(s.at("stock"), 0);
  EXPECT_EQ(s.at("total"), 100);
  EXPECT_EQ(s.at("queued"), 0);
  EXPECT_EQ(s.at("phase"), "sold_out");
  // Orders follow admission order: position N is order "flash-N", each user exactly once.
  for (const auto& [pos, user] : by_position) {
    auto r = result_of(d.port(), "flash", user);
    EXPECT_EQ(r.at("status"), "success") << user;
    EXPECT_EQ(r.at("position"), pos);
    EXPECT_EQ(r.at("orderId"), "flash-" + std::to_string(pos));
  }
  // A late buyer is told sold_out at once, and a winner who asks again hears the same answer.
  auto late = buy(d.port(), {{"userId", "late"}});
  EXPECT_EQ(late.status, 200u);
  EXPECT_EQ(late.json().at("status"), "sold_out");
  auto again = buy(d.port(), {{"userId", by_position.at(7)}});
  EXPECT_EQ(again.status, 409u) << again.body;
  EXPECT_EQ(again.json().at("error"), "duplicate");
  EXPECT_EQ(again.json().at("position"), 7);
  EXPECT_EQ(again.json().at("orderId"), "flash-7");
}

TEST(SaleSeckill, KillNineDuringProcessingKeepsEveryAnswer) {
  constexpr int buyers = 300;
  daemon d(overrides(json::array({sale_config("crash", buyers, 50)})));
  std::map<std::string, std::int64_t> position_of;
  {
    std::vector<std::thread> pool;
    std::mutex mu;
    for (int t = 0; t < 5; ++t) {
      pool.emplace_back([&, t] {
        http_conn conn(d.port());
        for (int i = t; i < buyers; i += 5) {
          std::string user = "buyer" + std::to_string(i);
          auto r = conn.request("POST", "/api/seckill", json{{"userId", user}}.dump(),
                                {{"Content-Type", "application/json"}});
          ASSERT_EQ(r.status, 200u) << r.body;
          auto j = r.json();
          ASSERT_EQ(j.at("status"), "queued");
          std::lock_guard lk(mu);
          position_of[user] = j.at("position").get<std::int64_t>();
        }
      });
    }
    for (auto& th : pool) th.join();
  }
  ASSERT_EQ(position_of.size(), static_cast<std::size_t>(buyers));
  // The crash must land mid-queue: after some orders (50/s), long before the last.
  ASSERT_TRUE(wait_until(5s, [&] {
    const auto queued = sale_state(d.port(), "crash").value("queued", -1);
    return queued >= 0 && queued <= buyers - 20;
  })) << "the sale worked off no orders";

  // What the buyers were told before the crash.
  std::map<std::string, json> before;
  for (const auto& [user, pos] : position_of) before[user] = result_of(d.port(), "crash", user);
  std::size_t done_before = std::count_if(before.begin(), before.end(), [](const auto& kv) {
    return kv.second.at("status") == "success";
  });
  ASSERT_GT(done_before, 0u);
  ASSERT_LT(done_before, static_cast<std::size_t>(buyers));

  d.kill9();
  d.restart();

  auto s = sale_state(d.port(), "crash");
  // Never oversold, never lost: every unit is either sold or still held by a queued buyer.
  EXPECT_EQ(s.at("total"), buyers);
  EXPECT_EQ(s.at("stock").get<std::int64_t>() + (buyers - s.at("queued").get<std::int64_t>()),
            buyers);
  EXPECT_LE(s.at("head").get<std::int64_t>(), buyers);

  // In descending position order: once a success is seen, every earlier position must be a
  // success too (orders are worked off as a prefix of the queue, before and after the crash).
  std::vector<std::pair<std::int64_t, std::string>> desc;
  for (const auto& [user, pos] : position_of) desc.emplace_back(pos, user);
  std::sort(desc.rbegin(), desc.rend());
  bool seen_success = false;
  for (const auto& [pos, user] : desc) {
    auto r = result_of(d.port(), "crash", user);
    ASSERT_NE(r.at("status"), "none") << user << " lost its admission";
    EXPECT_EQ(r.at("position"), pos) << user;
    if (r.at("status") == "success") {
      seen_success = true;
      EXPECT_EQ(r.at("orderId"), "crash-" + std::to_string(pos));
    } else {
      EXPECT_FALSE(seen_success) << "position " << pos << " still queued after a later success";
      EXPECT_NE(before.at(user).at("status"), "success") << user << " lost its success";
    }
  }

  auto end = wait_drained(d.port(), "crash", 30s);
  EXPECT_EQ(end.at("queued"), 0);
  EXPECT_EQ(end.at("stock"), 0);
  EXPECT_EQ(end.at("head"), buyers);
  for (const auto& [user, pos] : position_of) {
    auto r = result_of(d.port(), "crash", user);
    EXPECT_EQ(r.at("status"), "success") << user;
  }
  auto dup = buy(d.port(), {{"userId", "buyer3"}});
  EXPECT_EQ(dup.status, 409u);
  EXPECT_EQ(dup.json().at("position"), position_of.at("buyer3"));
}

// Finished buyers leave the sale's memory (issue 17): their result and their duplicate answer
// come from the store, the same as before, after many later buyers and after a crash.
TEST(SaleSeckill, FinishedBuyerIsAnsweredAfterManyLaterBuyersAndARestart) {
  constexpr int later = 3000;
  daemon d(overrides(json::array({sale_config("big", 1'000'000, 0)})));
  auto first = buy(d.port(), {{"userId", "first"}});
  ASSERT_EQ(first.status, 200u) << first.body;
  ASSERT_EQ(first.json().at("position"), 1);
  ASSERT_EQ(wait_drained(d.port(), "big", 30s).at("queued"), 0);
  {
    std::vector<std::thread> pool;
    std::atomic<int> bad{0};
    for (int t = 0; t < 4; ++t) {
      pool.emplace_back([&, t] {
        http_conn conn(d.port());
        for (int i = t; i < later; i += 4) {
          auto r = conn.request("POST", "/api/seckill",
                                json{{"userId", "later" + std::to_string(i)}}.dump(),
                                {{"Content-Type", "application/json"}});
          if (r.status != 200 || r.json().at("status") != "queued") ++bad;
        }
      });
    }
    for (auto& th : pool) th.join();
    ASSERT_EQ(bad.load(), 0);
  }
  ASSERT_EQ(wait_drained(d.port(), "big", 30s).at("head"), later + 1);
  // Worked off, so none of them is held in memory any more (they were, all, before issue 17).
  auto m = http(d.port(), "GET", "/metrics").body;
  const std::string gauge = "\nrushcast_sale_in_memory{sale=\"big\"} ";
  auto at = m.find(gauge);
  ASSERT_NE(at, std::string::npos) << m;
  EXPECT_EQ(std::stol(m.substr(at + gauge.size())), 0) << "finished admissions kept in memory";

  auto check = [&](const char* when) {
    auto r = result_of(d.port(), "big", "first");
    EXPECT_EQ(r.at("status"), "success") << when;
    EXPECT_EQ(r.at("position"), 1) << when;
    EXPECT_EQ(r.at("orderId"), "big-1") << when;
    auto dup = buy(d.port(), {{"userId", "first"}});
    EXPECT_EQ(dup.status, 409u) << when << ": " << dup.body;
    EXPECT_EQ(dup.json().at("error"), "duplicate") << when;
    EXPECT_EQ(dup.json().at("result"), "success") << when;
    EXPECT_EQ(dup.json().at("position"), 1) << when;
    EXPECT_EQ(dup.json().at("orderId"), "big-1") << when;
    auto mid = result_of(d.port(), "big", "later1234");
    EXPECT_EQ(mid.at("status"), "success") << when;
    EXPECT_EQ(mid.at("orderId"), "big-" + std::to_string(mid.at("position").get<std::int64_t>()))
        << when;
    EXPECT_EQ(buy(d.port(), {{"userId", "later2999"}}).status, 409u) << when;
    EXPECT_EQ(result_of(d.port(), "big", "nobody").at("status"), "none") << when;
  };
  check("before the restart");
  d.kill9();
  d.restart();
  check("after kill -9 and a restart");
  auto s = sale_state(d.port(), "big");
  EXPECT_EQ(s.at("head"), later + 1);
  EXPECT_EQ(s.at("queued"), 0);
  EXPECT_EQ(s.at("stock"), 1'000'000 - (later + 1));
  auto next = buy(d.port(), {{"userId", "next"}});
  ASSERT_EQ(next.status, 200u) << next.body;
  EXPECT_EQ(next.json().at("position"), later + 2);
}

// kill -9 right after "queued", before the store wrote its buyers index (it waits up to a
// second for a large sorted batch): the restarted daemon still finds the buyer, finished and
// out of the sale's memory, and answers the second purchase `duplicate` with its position.
TEST(SaleSeckill, KillNineRightAfterQueuedStillAnswersTheDuplicate) {
  daemon d(overrides(json::array({sale_config("fast", 100, 0)})));
  auto first = buy(d.port(), {{"userId", "ann"}});
  ASSERT_EQ(first.status, 200u) << first.body;
  ASSERT_EQ(first.json().at("status"), "queued");
  auto second = buy(d.port(), {{"userId", "ben"}});
  ASSERT_EQ(second.status, 200u) << second.body;
  d.kill9();
  d.restart();
  for (const auto& [user, pos] : {std::pair<std::string, int>{"ann", 1}, {"ben", 2}}) {
    auto dup = buy(d.port(), {{"userId", user}});
    EXPECT_EQ(dup.status, 409u) << user << ": " << dup.body;
    EXPECT_EQ(dup.json().at("error"), "duplicate") << user;
    EXPECT_EQ(dup.json().at("position"), pos) << user;
    EXPECT_EQ(dup.json().at("orderId"), "fast-" + std::to_string(pos)) << user;
    EXPECT_EQ(result_of(d.port(), "fast", user).at("status"), "success") << user;
  }
  // And again once the index has caught up (the store writes it within a second when idle).
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(buy(d.port(), {{"userId", "ann"}}).json().at("position"), 1);
  auto next = buy(d.port(), {{"userId", "cat"}});
  ASSERT_EQ(next.status, 200u) << next.body;
  EXPECT_EQ(next.json().at("position"), 3);
}

TEST(SaleSeckill, BadInputGetsItsErrorAndChangesNothing) {
  daemon d(overrides(json::array({sale_config("s", 10, 0)})));
  auto before = sale_state(d.port(), "s");

  auto r = http(d.port(), "POST", "/api/seckill", "{not json");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json().at("error"), "bad_json");
  r = http(d.port(), "POST", "/api/seckill", "[1,2]");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json().at("error"), "bad_json");
  r = http(d.port(), "POST", "/api/seckill", R"({"userId":"a"})", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 415u);
  r = buy(d.port(), json::object());
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json().at("error"), "missing_user_id");
  r = buy(d.port(), {{"userId", ""}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json().at("error"), "missing_user_id");
  r = buy(d.port(), {{"userId", std::string(129, 'x')}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json().at("error"), "bad_user_id");
  r = buy(d.port(), {{"userId", "a\nb"}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json().at("error"), "bad_user_id");
  r = buy(d.port(), {{"userId", 42}});
  EXPECT_EQ(r.status, 400u);
  r = buy(d.port(), {{"userId", "a"}, {"saleId", "nope"}});
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.json().at("error"), "not_found");
  EXPECT_EQ(http(d.port(), "GET", "/api/sales/nope").status, 404u);
  EXPECT_EQ(http(d.port(), "GET", "/api/sales/nope/result?userId=a").status, 404u);
  EXPECT_EQ(http(d.port(), "GET", "/api/sales/s/result").status, 400u);

  auto after = sale_state(d.port(), "s");
  EXPECT_EQ(after.at("stock"), before.at("stock"));
  EXPECT_EQ(after.at("queued"), 0);
  EXPECT_EQ(after.at("head"), 0);
  EXPECT_EQ(result_of(d.port(), "s", "a").at("status"), "none");
}

TEST(SaleSeckill, PhasesGateAdmission) {
  daemon d(overrides(json::array(
      {sale_config("later", 5, 0, "+1h", "+2h"),
       sale_config("past", 5, 0, iso_from_now(-120s), iso_from_now(-60s))})));
  auto r = buy(d.port(), {{"userId", "a"}, {"saleId", "later"}});
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_EQ(r.json().at("error"), "not_started");
  auto st = sale_state(d.port(), "later");
  EXPECT_EQ(r.json().at("startTime"), st.at("startTime"));
  EXPECT_EQ(st.at("phase"), "upcoming");
  EXPECT_GT(st.at("startTime").get<std::int64_t>(), st.at("serverTime").get<std::int64_t>());

  r = buy(d.port(), {{"userId", "a"}, {"saleId", "past"}});
  EXPECT_EQ(r.status, 410u) << r.body;
  EXPECT_EQ(r.json().at("error"), "ended");
  EXPECT_EQ(sale_state(d.port(), "past").at("phase"), "ended");
}

TEST(SaleSeckill, RelativeStartIsResolvedOnceAcrossRestarts) {
  daemon d(overrides(json::array({sale_config("rel", 5, 0, "+1h", "+2h")})));
  auto first = sale_state(d.port(), "rel");
  d.terminate();
  std::this_thread::sleep_for(1100ms);
  d.restart();
  auto second = sale_state(d.port(), "rel");
  EXPECT_EQ(first.at("startTime"), second.at("startTime"));
  EXPECT_EQ(first.at("endTime"), second.at("endTime"));
}

TEST(SaleSeckill, RateLimitedBuyerGets429AndAnEvent) {
  json rate{{"per_user_per_s", 0.01}, {"per_user_burst", 1},
            {"per_ip_per_s", 100000}, {"per_ip_burst", 100000}};
  daemon d(overrides(json::array({sale_config("rl", 5, 0)}), rate));
  sse_client sse(d.port(), "/sse-updates?topics=sale:rl&userId=greedy");
  ASSERT_EQ(sse.status(), 200u);
  EXPECT_EQ(buy(d.port(), {{"userId", "greedy"}}).status, 200u);
  auto r = buy(d.port(), {{"userId", "greedy"}});
  EXPECT_EQ(r.status, 429u) << r.body;
  EXPECT_EQ(r.json().at("error"), "rate_limited");
  EXPECT_TRUE(r.headers.count("retry-after"));
  EXPECT_GT(r.json().at("retryAfterMs").get<int>(), 0);
  auto ev = sse.next_named("ratelimit", 5s);
  ASSERT_TRUE(ev);
  EXPECT_GT(ev->json().at("retryAfterMs").get<int>(), 0);
  // One snapshot: between two reads the order may move from queued to sold.
  auto st = sale_state(d.port(), "rl");
  EXPECT_EQ(st.at("queued").get<int>() + (5 - st.at("stock").get<int>()), 1);
}

TEST(SaleSeckill, SseShowsSnapshotAndTheBuyersResult) {
  daemon d(overrides(json::array({sale_config("live", 3, 0)})));
  sse_client sse(d.port(), "/sse-updates?topics=sale:live&userId=alice");
  ASSERT_EQ(sse.status(), 200u);
  auto stock = sse.next_named("stock", 5s);
  ASSERT_TRUE(stock);
  EXPECT_EQ(stock->json().at("stock"), 3);
  EXPECT_EQ(stock->json().at("total"), 3);
  // The countdown is in the snapshot too, right after the stock.
  sse_client sse2(d.port(), "/sse-updates?topics=sale:live");
  auto cd = sse2.next_named("countdown", 5s);
  ASSERT_TRUE(cd);
  EXPECT_EQ(cd->json().at("phase"), "open");
  EXPECT_TRUE(cd->json().contains("serverTime"));

  auto r = buy(d.port(), {{"userId", "alice"}});
  ASSERT_EQ(r.status, 200u);
  auto res = sse.next_named("result", 5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->json().at("saleId"), "live");
  EXPECT_EQ(res->json().at("result"), "success");
  EXPECT_EQ(res->json().at("orderId"), "live-1");
  EXPECT_EQ(res->json().at("stock"), 2);
}

TEST(SaleSeckill, WebSocketSeckillAnswersWithItsStatus) {
  daemon d(overrides(json::array({sale_config("ws", 1, 0)})));
  ws_client a(d.port());
  a.send_json({{"type", "seckill"}, {"userId", "wa"}, {"ref", 7}});
  auto q = a.recv_type("queued", 5s);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->at("position"), 1);
  EXPECT_EQ(q->at("saleId"), "ws");
  EXPECT_EQ(q->at("ref"), 7);
  a.send_json({{"type", "seckill"}, {"userId", "wa"}});
  auto dup = a.recv_type("error", 5s);
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->at("code"), "duplicate");
  EXPECT_EQ(dup->at("position"), 1);
  ws_client b(d.port());
  b.send_json({{"type", "seckill"}, {"userId", "wb"}, {"saleId", "ws"}});
  auto so = b.recv_type("sold_out", 5s);
  ASSERT_TRUE(so);
  b.send_json({{"type", "seckill"}, {"saleId", "ws"}});
  auto missing = b.recv_type("error", 5s);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->at("code"), "missing_user_id");
}

}  // namespace rushcast::test
