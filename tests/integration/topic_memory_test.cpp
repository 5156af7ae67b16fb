// Idle topics are removed (issue 17): every buyer's `user:` topic used to stay for good, so the
// daemon grew by ~1.6 KB per buyer. Two rounds of publishes to fresh topics, separated by
// history.max_age_ms: the second must reuse the first round's memory instead of adding to it.
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace rushcast::test {
namespace {
using nlohmann::json;

constexpr int topics_per_round = 20000;
constexpr int publishers = 4;  // keep-alive connections per round, one thread each
// Longer than a round takes here (2-5 s on a loaded 2-core machine), so that each round holds
// all its topics when it ends and the two rounds' peaks compare like with like.
constexpr std::uint32_t max_age_ms = 8000;
// Topics that always keep history: the base config's sale (countdown) and sys:stats.
constexpr std::int64_t always_kept = 10;

const headers_t publish_headers{{"Authorization", std::string("Bearer ") + test_publish_key},
                                {"Content-Type", "application/json"}};

json aging_overrides() {
  return json{{"history", {{"max_age_ms", max_age_ms}, {"sweep_interval_ms", 100}}},
              {"rate_limit", {{"per_ip_per_s", 1000000}, {"per_ip_burst", 1000000}}}};
}

std::int64_t rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

// A gauge without labels ("name{} value") from /metrics; -1 when absent.
std::int64_t gauge(std::uint16_t port, const std::string& name) {
  const auto body = http(port, "GET", "/metrics").body;
  const std::string key = "\n" + name + "{} ";
  const auto pos = body.find(key);
  return pos == std::string::npos ? -1 : std::stoll(body.substr(pos + key.size()));
}

// One `result`-sized event on each of topics [from, to) named user:ROUND-I; returns the
// first event's id.
std::string publish_range(std::uint16_t port, const std::string& round, int from, int to) {
  http_conn c(port);
  std::string first;
  for (int i = from; i < to; ++i) {
    json body{{"topic", "user:" + round + "-" + std::to_string(i)},
              {"event", "result"},
              {"data",
               {{"saleId", "s1"}, {"result", "success"}, {"orderId", "o-" + std::to_string(i)},
                {"position", i}, {"stock", 100000 - i}}}};
    auto r = c.request("POST", "/api/publish", body.dump(), publish_headers);
    if (r.status != 200) throw std::runtime_error("publish: " + std::to_string(r.status) + " " + r.body);
    if (i == from) first = r.json().at("id").get<std::string>();
  }
  return first;
}

// n fresh topics over `publishers` connections; returns the id of user:ROUND-0's event, which
// comes before user:ROUND-1's.
std::string publish_round(std::uint16_t port, const std::string& round, int n) {
  std::string first = publish_range(port, round, 0, 2);
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  const int per = (n - 2) / publishers;
  for (int p = 0; p < publishers; ++p) {
    const int from = 2 + p * per, to = p + 1 == publishers ? n : from + per;
    threads.emplace_back([=, &failed] {
      try {
        publish_range(port, round, from, to);
      } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failed > 0) throw std::runtime_error("a publisher failed");
  return first;
}

// Waits until the sweep has removed the topics of the rounds; false after timeout.
bool wait_history_swept(std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto n = gauge(port, "rushcast_history_topics");
    if (n >= 0 && n <= always_kept) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
#define RUSHCAST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RUSHCAST_ASAN 1
#endif
#endif

TEST(TopicMemory, SecondRoundOfFreshUserTopicsReusesTheFirstRoundsMemory) {
#ifdef RUSHCAST_ASAN
  // The daemon of this build is sanitized too: ASan quarantines freed memory instead of reusing
  // it, so RSS says nothing about reuse here. The plain build runs this test.
  GTEST_SKIP() << "RSS reuse is not measurable under AddressSanitizer (freed memory is quarantined)";
#endif
  daemon d(aging_overrides());
  // The sale in the base config publishes too; let its start-up settle first.
  std::this_thread::sleep_for(200ms);
  const auto before = rss_kb(d.pid());

  const auto t0 = std::chrono::steady_clock::now();
  const std::string first_id = publish_round(d.port(), "r1", topics_per_round);
  const auto after_first = rss_kb(d.pid());
  const auto held = gauge(d.port(), "rushcast_history_topics");
  const auto round_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - t0).count();

  ASSERT_TRUE(wait_history_swept(d.port(), 20s)) << "the sweep did not remove round 1's topics";
  // Not before max_age_ms: a topic goes only once nothing younger is kept.
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(max_age_ms));
  EXPECT_GE(gauge(d.port(), "rushcast_topics_removed"), topics_per_round);
  const auto swept = rss_kb(d.pid());

  const auto t2 = std::chrono::steady_clock::now();
  publish_round(d.port(), "r2", topics_per_round);
  const auto after_second = rss_kb(d.pid());
  const auto held2 = gauge(d.port(), "rushcast_history_topics");
  const auto round2_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - t2).count();
  const auto first_growth = after_first - before;
  const auto second_growth = after_second - after_first;
  std::cout << "round 1: " << round_ms << " ms, " << held << " topics held at its end; round 2: "
            << round2_ms << " ms, " << held2 << " held\n"
            << "RSS kB: before " << before << ", after round 1 " << after_first
            << ", after its sweep " << swept << ", after round 2 " << after_second
            << " (growth " << first_growth << " then " << second_growth << ")\n";
  // Round 1 grows by several MB (history of 20,000 topics, each event kept unencoded since
  // nobody listens: ~350 B a topic); unswept, round 2 would grow as much.
  EXPECT_GT(first_growth, 4 * 1024);
  EXPECT_LT(second_growth, first_growth / 4);

  // A resume across a removed topic's event is a resync, not silence: r1-1's event came right
  // after first_id and is gone with its topic.
  sse_client c(d.port(), "/sse-updates?topics=user:r1-1&userId=r1-1", {{"Last-Event-ID", first_id}});
  ASSERT_EQ(c.status(), 200u);
  auto ev = c.next(5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->event, "resync");
  EXPECT_EQ(ev->json().at("reason"), "too_old");
}

}  // namespace rushcast::test
