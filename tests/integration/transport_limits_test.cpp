// Transport limits (CONTRACT.md section 5): 431, 413, 503 over the per-IP cap, bad HTTP, /time.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace rushcast::test {
namespace {
using nlohmann::json;
}  // namespace

TEST(TransportLimits, TimeAnswersOverKeepAlive) {
  daemon d;
  http_conn c(d.port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.request("GET", "/time");
    ASSERT_EQ(r.status, 200u);
    EXPECT_GT(r.json().at("serverTime").get<std::int64_t>(), 1'600'000'000'000);
  }
}

TEST(TransportLimits, HugeHeaderIs431) {
  daemon d(json{{"limits", {{"max_header_bytes", 2048}}}});
  auto r = http(d.port(), "GET", "/time", "", {{"X-Big", std::string(4096, 'a')}});
  EXPECT_EQ(r.status, 431u);
  EXPECT_EQ(r.json().at("error"), "header_too_large");
  // The server is still fine.
  EXPECT_EQ(http(d.port(), "GET", "/time").status, 200u);
}

TEST(TransportLimits, HugeBodyIs413) {
  daemon d(json{{"limits", {{"max_body_bytes", 1024}}}});
  auto r = http(d.port(), "POST", "/api/publish",
                json{{"topic", "t"}, {"data", {{"pad", std::string(4096, 'x')}}}}.dump(),
                {{"Authorization", std::string("Bearer ") + test_publish_key},
                 {"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.json().at("error"), "payload_too_large");
}

TEST(TransportLimits, OverPerIpConnectionCapIs503) {
  daemon d(json{{"limits", {{"max_connections_per_ip", 3}}}});
  std::vector<std::unique_ptr<sse_client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<sse_client>(d.port(), "/sse-updates?topics=x"));
    ASSERT_EQ(held.back()->status(), 200u);
  }
  auto r = http(d.port(), "GET", "/time");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.headers["retry-after"], "1");
  EXPECT_EQ(r.json().at("error"), "over_capacity");
  held.pop_back();
  // The slot comes back once that stream is gone.
  bool ok = false;
  for (int i = 0; i < 50 && !ok; ++i) {
    ok = http(d.port(), "GET", "/time").status == 200u;
    if (!ok) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(ok);
}

TEST(TransportLimits, UnknownPathIs404Json) {
  daemon d;
  auto r = http(d.port(), "GET", "/nope/nothing");
  EXPECT_EQ(r.status, 404u);
}

}  // namespace rushcast::test
