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
  // Loopback is a trusted proxy by default; here the test client is the client itself.
  daemon d(json{{"limits", {{"max_connections_per_ip", 3}}}, {"trusted_proxies", json::array()}});
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
  EXPECT_TRUE(wait_until(2s, [&] { return http(d.port(), "GET", "/time").status == 200u; }));
}

TEST(TransportLimits, BehindATrustedProxyTheForwardedClientIsCapped) {
  daemon d(json{{"limits", {{"max_connections_per_ip", 2}}},
                {"rate_limit", {{"per_ip_per_s", 0.01}, {"per_ip_burst", 3}}}});
  std::vector<std::unique_ptr<sse_client>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<sse_client>(d.port(), "/sse-updates?topics=x",
                                                headers_t{{"X-Real-IP", "203.0.113.5"}}));
    ASSERT_EQ(held.back()->status(), 200u);
  }
  // That client is at its cap; another client through the same proxy is not.
  auto r = http(d.port(), "GET", "/time", "", {{"X-Real-IP", "203.0.113.5"}});
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(r.json().at("error"), "over_capacity");
  EXPECT_EQ(http(d.port(), "GET", "/time", "", {{"X-Forwarded-For", "6.6.6.6, 203.0.113.9"}}).status,
            200u);
  // The rate limit is per forwarded client too: 203.0.113.9 spent one of its 3, 203.0.113.10 none.
  EXPECT_EQ(http(d.port(), "GET", "/time", "", {{"X-Real-IP", "203.0.113.9"}}).status, 200u);
  EXPECT_EQ(http(d.port(), "GET", "/time", "", {{"X-Real-IP", "203.0.113.9"}}).status, 200u);
  EXPECT_EQ(http(d.port(), "GET", "/time", "", {{"X-Real-IP", "203.0.113.9"}}).status, 429u);
  EXPECT_EQ(http(d.port(), "GET", "/time", "", {{"X-Real-IP", "203.0.113.10"}}).status, 200u);
  // Garbage in the header is ignored: the proxy's own address is used.
  EXPECT_EQ(http(d.port(), "GET", "/time", "", {{"X-Real-IP", "<script>"}}).status, 200u);
}

TEST(TransportLimits, UntrustedPeersCannotClaimAnotherAddress) {
  daemon d(json{{"trusted_proxies", json::array()},
                {"rate_limit", {{"per_ip_per_s", 0.01}, {"per_ip_burst", 2}}}});
  EXPECT_EQ(http(d.port(), "GET", "/time", "", {{"X-Real-IP", "1.1.1.1"}}).status, 200u);
  EXPECT_EQ(http(d.port(), "GET", "/time", "", {{"X-Real-IP", "2.2.2.2"}}).status, 200u);
  EXPECT_EQ(http(d.port(), "GET", "/time", "", {{"X-Real-IP", "3.3.3.3"}}).status, 429u);
}

TEST(TransportLimits, UnknownPathIs404Json) {
  daemon d;
  auto r = http(d.port(), "GET", "/nope/nothing");
  EXPECT_EQ(r.status, 404u);
}

}  // namespace rushcast::test
