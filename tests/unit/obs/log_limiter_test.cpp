#include "rushcast/obs/log_limiter.hpp"

#include <gtest/gtest.h>

using rushcast::obs::log_limiter;
using namespace std::chrono_literals;

namespace {

struct manual_clock {
  std::chrono::steady_clock::time_point t{};
  log_limiter::clock_fn fn() {
    return [this] { return t; };
  }
};

}  // namespace

TEST(LogLimiter, FirstOccurrenceIsLogged) {
  manual_clock c;
  log_limiter lim(1000ms, c.fn());
  EXPECT_EQ(lim.admit(), 1u);
}

TEST(LogLimiter, RepeatsWithinTheIntervalAreQuietThenCounted) {
  manual_clock c;
  log_limiter lim(1000ms, c.fn());
  ASSERT_EQ(lim.admit(), 1u);
  for (int i = 0; i < 349; ++i) {
    c.t += 2ms;
    EXPECT_EQ(lim.admit(), 0u) << "occurrence " << i;
  }
  c.t += 1000ms;
  // One line for the 349 kept quiet and this one.
  EXPECT_EQ(lim.admit(), 350u);
  EXPECT_EQ(lim.admit(), 0u);
}

TEST(LogLimiter, OneLinePerIntervalUnderAFlood) {
  manual_clock c;
  log_limiter lim(1000ms, c.fn());
  int lines = 0;
  std::uint64_t counted = 0;
  // A warning every 50 ms for 10 s (the out-of-descriptors accept loop).
  for (int i = 0; i < 200; ++i) {
    if (auto n = lim.admit()) {
      ++lines;
      counted += n;
    }
    c.t += 50ms;
  }
  EXPECT_EQ(lines, 10);
  counted += lim.take_suppressed();
  EXPECT_EQ(counted, 200u);  // nothing lost from the counts
}

TEST(LogLimiter, QuietAfterTheFaultLogsTheNextAtOnce) {
  manual_clock c;
  log_limiter lim(1000ms, c.fn());
  ASSERT_EQ(lim.admit(), 1u);
  c.t += 1h;
  EXPECT_EQ(lim.admit(), 1u);
}

TEST(LogLimiter, TakeSuppressedHandsOverTheCountOnce) {
  manual_clock c;
  log_limiter lim(1000ms, c.fn());
  ASSERT_EQ(lim.admit(), 1u);
  EXPECT_EQ(lim.admit(), 0u);
  EXPECT_EQ(lim.admit(), 0u);
  EXPECT_EQ(lim.take_suppressed(), 2u);
  EXPECT_EQ(lim.take_suppressed(), 0u);
  c.t += 2s;
  EXPECT_EQ(lim.admit(), 1u);
}
