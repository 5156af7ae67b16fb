// What /metrics counts per request (issue 14): rushcast_http_requests_total once per request the
// API answers, whether the connection is kept alive or not.
#include <cstdint>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace rushcast::test {
namespace {

// The value of a counter without labels ("name value") from a /metrics body; -1 when absent.
std::int64_t counter(const std::string& body, const std::string& name) {
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0) return std::stoll(line.substr(name.size() + 1));
  return -1;
}

TEST(MetricsCount, EveryApiRequestCountsExactlyOnce) {
  daemon d;
  const auto before = counter(http(d.port(), "GET", "/metrics").body, "rushcast_http_requests_total");
  ASSERT_GE(before, 1);
  {
    http_conn c(d.port());
    for (int i = 0; i < 4; ++i) ASSERT_EQ(c.request("GET", "/time").status, 200u);
  }
  ASSERT_EQ(http(d.port(), "GET", "/healthz").status, 200u);
  ASSERT_EQ(http(d.port(), "OPTIONS", "/api/publish").status, 204u);
  const auto after = counter(http(d.port(), "GET", "/metrics").body, "rushcast_http_requests_total");
  // Four keep-alive requests, two on their own connections, and the second /metrics itself.
  EXPECT_EQ(after - before, 7);
}

}  // namespace
}  // namespace rushcast::test
