// POST /api/publish at the fan-out backlog bound (limits.max_publish_backlog): answers wait for
// the fan-out or are refused with 503 + Retry-After, and every event answered 200 is delivered.
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace rushcast::test {
namespace {
using nlohmann::json;

const headers_t publish_headers{{"Authorization", std::string("Bearer ") + test_publish_key},
                                {"Content-Type", "application/json"}};

json flood_overrides(std::size_t backlog, std::uint32_t wait_ms) {
  return json{{"limits",
               {{"max_publish_backlog", backlog},
                {"max_publish_wait_ms", wait_ms},
                {"max_queue_bytes", 64 * 1024}}},
              {"rate_limit", {{"per_ip_per_s", 1000000}, {"per_ip_burst", 1000000}}}};
}

std::uint64_t metric(std::uint16_t port, const std::string& name) {
  auto m = http(port, "GET", "/metrics");
  std::string key = "\n" + name + " ";
  auto pos = m.body.find(key);
  if (pos == std::string::npos) throw std::runtime_error("no metric " + name);
  return std::stoull(m.body.substr(pos + key.size()));
}

// Reads "message" events of a topic on its own thread until it has `want` of them or the
// stream stays quiet for 5 s; keeps the (p, i) pairs it saw.
class reader {
public:
  reader(std::uint16_t port, const std::string& topic)
      : c_(port, "/sse-updates?topics=" + topic) {}
  void start(const std::size_t* want) {
    t_ = std::thread([this, want] {
      for (;;) {
        auto ev = c_.next_named("message", 5s);
        if (!ev) return;
        auto j = ev->json();
        std::lock_guard lk(mu_);
        seen_.emplace_back(j.at("p").get<int>(), j.at("i").get<int>());
        if (seen_.size() >= *want) return;
      }
    });
  }
  std::vector<std::pair<int, int>> join() {
    if (t_.joinable()) t_.join();
    std::lock_guard lk(mu_);
    return seen_;
  }
  unsigned status() const { return c_.status(); }

private:
  sse_client c_;
  std::thread t_;
  std::mutex mu_;
  std::vector<std::pair<int, int>> seen_;
};

using event_set = std::set<std::pair<int, int>>;
event_set as_set(const std::vector<std::pair<int, int>>& v) { return {v.begin(), v.end()}; }

struct flood_result {
  std::set<std::pair<int, int>> acked;
  std::size_t refused = 0;
  std::vector<std::string> bad;  // answers that are neither 200 nor the documented 503
};

// `publishers` keep-alive connections each publish `per_publisher` events as fast as their
// answers allow.
flood_result flood(std::uint16_t port, const std::string& topic, int publishers,
                   int per_publisher) {
  flood_result out;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int p = 0; p < publishers; ++p) {
    threads.emplace_back([&, p] {
      http_conn conn(port);
      for (int i = 0; i < per_publisher; ++i) {
        auto r = conn.request(
            "POST", "/api/publish",
            json{{"topic", topic}, {"event", "message"}, {"data", {{"p", p}, {"i", i}}}}.dump(),
            publish_headers);
        std::lock_guard lk(mu);
        if (r.status == 200 && r.json().contains("id")) {
          out.acked.emplace(p, i);
        } else if (r.status == 503 && r.headers.count("retry-after") &&
                   r.json().value("error", "") == "over_capacity" &&
                   r.json().contains("message")) {
          ++out.refused;
        } else {
          out.bad.push_back(std::to_string(r.status) + " " + r.body);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace

TEST(PublishBacklog, NeverReadingSubscriberCannotHangPublishes) {
  daemon d(flood_overrides(4, 5000));
  // The stuck client never reads: its queue reaches the cap and it is cut off; the hub's
  // sweep only queues frames, so the backlog keeps draining and no publish waits on it.
  sse_client stuck(d.port(), "/sse-updates?topics=flood");
  reader good(d.port(), "flood");
  ASSERT_EQ(good.status(), 200u);
  const int n = 3000;
  const std::size_t want = n;
  good.start(&want);
  std::string pad(3000, 'x');  // ~9 MB in total: more than the socket buffers can hide
  http_conn pub(d.port());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    auto r = pub.request("POST", "/api/publish",
                         json{{"topic", "flood"}, {"event", "message"},
                              {"data", {{"p", 0}, {"i", i}, {"pad", pad}}}}.dump(),
                         publish_headers);
    ASSERT_EQ(r.status, 200u) << "publish " << i << ": " << r.body;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 60s);
  auto seen = good.join();
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(seen[i].second, i);
  EXPECT_TRUE(stuck.wait_eof(10s));
  EXPECT_GE(metric(d.port(), "rushcast_slow_consumer_drops_total"), 1u);
  EXPECT_EQ(metric(d.port(), "rushcast_publishes_rejected_total"), 0u);
}

TEST(PublishBacklog, FloodWithATinyBacklogIsDeferredAndLosesNothing) {
  daemon d(flood_overrides(1, 5000));
  const int publishers = 8, per_publisher = 250;
  const std::size_t want = publishers * per_publisher;
  reader a(d.port(), "flood"), b(d.port(), "flood");
  a.start(&want);
  b.start(&want);
  auto r = flood(d.port(), "flood", publishers, per_publisher);
  EXPECT_TRUE(r.bad.empty()) << r.bad.front();
  EXPECT_EQ(r.refused, 0u);  // the fan-out never stalls for 5 s here
  EXPECT_EQ(r.acked.size(), want);
  for (auto* rd : {&a, &b}) {
    auto seen = rd->join();
    EXPECT_EQ(as_set(seen), r.acked);
    EXPECT_EQ(seen.size(), r.acked.size());  // no duplicate
  }
  // Eight publishers against a bound of one: many had to wait for a sweep.
  EXPECT_GT(metric(d.port(), "rushcast_publishes_deferred_total"), 0u);
  auto m = http(d.port(), "GET", "/metrics").body;
  EXPECT_NE(m.find("rushcast_publish_backlog{shard=\"0\"}"), std::string::npos) << m;
  EXPECT_NE(m.find("rushcast_publish_backlog_limit{} 1"), std::string::npos) << m;
}

TEST(PublishBacklog, ZeroWaitAnswers503AtTheBoundAndNeverDeliversThoseEvents) {
  daemon d(flood_overrides(1, 0));
  const int publishers = 8, per_publisher = 250;
  const std::size_t want = publishers * per_publisher;
  reader a(d.port(), "flood");
  a.start(&want);
  auto r = flood(d.port(), "flood", publishers, per_publisher);
  EXPECT_TRUE(r.bad.empty()) << r.bad.front();
  EXPECT_EQ(r.acked.size() + r.refused, want);
  auto seen = a.join();  // ends 5 s after the last event when some were refused
  // Exactly the acknowledged events arrive: none lost, none of the refused ones published.
  EXPECT_EQ(as_set(seen), r.acked);
  EXPECT_EQ(seen.size(), r.acked.size());
  EXPECT_EQ(metric(d.port(), "rushcast_publishes_rejected_total"), r.refused);
  // Eight publishers against a bound of one, none allowed to wait: some were refused.
  EXPECT_GT(r.refused, 0u);
  std::cout << "[          ] acknowledged " << r.acked.size() << ", refused " << r.refused
            << "\n";
}

}  // namespace rushcast::test
