// Token buckets with an injected clock, key eviction, and the connection caps.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "rushcast/limits/connection_limiter.hpp"
#include "rushcast/limits/rate_limiter.hpp"

using namespace rushcast;

namespace {

config::rate_limit_cfg cfg(double per_s, double burst) {
  config::rate_limit_cfg c;
  c.per_user_per_s = per_s;
  c.per_user_burst = burst;
  c.per_ip_per_s = per_s * 10;
  c.per_ip_burst = burst * 10;
  return c;
}

}  // namespace

TEST(RateLimiter, BurstThenRefusedWithWait) {
  limits::rate_limiter r(cfg(5, 3));
  EXPECT_EQ(r.check_user("u", 1000), 0u);
  EXPECT_EQ(r.check_user("u", 1000), 0u);
  EXPECT_EQ(r.check_user("u", 1000), 0u);
  // 5 tokens per second: the next one is 200 ms away.
  EXPECT_EQ(r.check_user("u", 1000), 200u);
  EXPECT_EQ(r.check_user("u", 1100), 100u);
  EXPECT_EQ(r.check_user("u", 1200), 0u);
  EXPECT_GT(r.check_user("u", 1200), 0u);
}

TEST(RateLimiter, RefillIsCappedAtBurst) {
  limits::rate_limiter r(cfg(1, 2));
  EXPECT_EQ(r.check_user("u", 0), 0u);
  EXPECT_EQ(r.check_user("u", 0), 0u);
  // An hour idle refills only to the burst.
  EXPECT_EQ(r.check_user("u", 3'600'000), 0u);
  EXPECT_EQ(r.check_user("u", 3'600'000), 0u);
  EXPECT_EQ(r.check_user("u", 3'600'000), 1000u);
}

TEST(RateLimiter, UsersAndIpsAreIndependent) {
  limits::rate_limiter r(cfg(1, 1));
  EXPECT_EQ(r.check_user("a", 0), 0u);
  EXPECT_GT(r.check_user("a", 0), 0u);
  EXPECT_EQ(r.check_user("b", 0), 0u);
  // The same string as an IP has its own, larger bucket.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(r.check_ip("a", 0), 0u);
  EXPECT_GT(r.check_ip("a", 0), 0u);
}

TEST(RateLimiter, ClockSteppingBackDoesNotRefill) {
  limits::rate_limiter r(cfg(1, 1));
  EXPECT_EQ(r.check_user("u", 10'000), 0u);
  EXPECT_GT(r.check_user("u", 5'000), 0u);
  EXPECT_EQ(r.check_user("u", 11'000), 0u);
}

TEST(RateLimiter, KeyCountIsBoundedByEviction) {
  // 16 shards, one key each at most: far more keys than that must not grow memory without
  // bound, and an evicted key comes back with a full bucket.
  limits::rate_limiter r(cfg(1, 1), 16);
  EXPECT_EQ(r.check_user("first", 0), 0u);
  EXPECT_GT(r.check_user("first", 0), 0u);
  for (int i = 0; i < 10'000; ++i) r.check_user("k" + std::to_string(i), 0);
  EXPECT_EQ(r.check_user("first", 0), 0u);
}

TEST(RateLimiter, KeysWhoseBucketIsFullAgainAreForgotten) {
  // A stream of one-time users (a sale's buyers) keeps only the keys still refilling.
  limits::rate_limiter r(cfg(5, 10));  // one token taken: full again 200 ms later
  for (int i = 0; i < 10'000; ++i) {
    const std::int64_t now = i;  // 1,000 new users per second for 10 s
    EXPECT_EQ(r.check_user("u" + std::to_string(i), now), 0u);
  }
  EXPECT_LT(r.user_keys(), 400u);
  EXPECT_GT(r.user_keys(), 100u);  // the last 200 ms' users are still remembered
  for (int i = 0; i < 1'000; ++i) r.check_ip("10.0.0." + std::to_string(i % 200), 20'000 + i);
  EXPECT_LE(r.ip_keys(), 200u);
}

TEST(RateLimiter, ARefillingKeyIsNotForgotten) {
  limits::rate_limiter r(cfg(1, 2));
  EXPECT_EQ(r.check_user("u", 0), 0u);
  EXPECT_EQ(r.check_user("u", 0), 0u);
  // Others' requests pass by while u's bucket is still empty: u must stay limited.
  for (int i = 0; i < 100; ++i) r.check_user("o" + std::to_string(i), 500);
  EXPECT_GT(r.check_user("u", 500), 0u);
}

TEST(ConnectionLimiter, PerIpCap) {
  limits::connection_limiter c(100, 2);
  EXPECT_TRUE(c.try_acquire("1.1.1.1"));
  EXPECT_TRUE(c.try_acquire("1.1.1.1"));
  EXPECT_FALSE(c.try_acquire("1.1.1.1"));
  EXPECT_TRUE(c.try_acquire("2.2.2.2"));
  EXPECT_EQ(c.total(), 3u);
  c.release("1.1.1.1");
  EXPECT_TRUE(c.try_acquire("1.1.1.1"));
}

TEST(ConnectionLimiter, TotalCap) {
  limits::connection_limiter c(2, 10);
  EXPECT_TRUE(c.try_acquire("a"));
  EXPECT_TRUE(c.try_acquire("b"));
  EXPECT_FALSE(c.try_acquire("c"));
  c.release("a");
  EXPECT_TRUE(c.try_acquire("c"));
  EXPECT_EQ(c.total(), 2u);
}

TEST(ConnectionLimiter, ProxiedConnectionsCountTotalAndClientsSeparately) {
  limits::connection_limiter c(3, 1);
  // A proxy's connections are not capped per IP (it carries everyone)...
  EXPECT_TRUE(c.try_acquire_total());
  EXPECT_TRUE(c.try_acquire_total());
  // ...but the clients it forwards are.
  EXPECT_TRUE(c.try_acquire_ip("9.9.9.9"));
  EXPECT_FALSE(c.try_acquire_ip("9.9.9.9"));
  EXPECT_TRUE(c.try_acquire_ip("8.8.8.8"));
  EXPECT_EQ(c.total(), 2u);
  EXPECT_TRUE(c.try_acquire("7.7.7.7"));
  EXPECT_FALSE(c.try_acquire_total());  // the total cap holds for both kinds
  c.release_ip("9.9.9.9");
  EXPECT_TRUE(c.try_acquire_ip("9.9.9.9"));
  c.release_total();
  EXPECT_TRUE(c.try_acquire_total());
}

TEST(ConnectionLimiter, UnmatchedReleaseChangesNothing) {
  limits::connection_limiter c(1, 1);
  EXPECT_TRUE(c.try_acquire("a"));
  c.release("b");
  EXPECT_EQ(c.total(), 1u);
  EXPECT_FALSE(c.try_acquire("c"));
  c.release("a");
  c.release("a");
  EXPECT_EQ(c.total(), 0u);
  EXPECT_TRUE(c.try_acquire("c"));
}

TEST(RateLimiter, KeysHeldNeverExceedTheBoundAndTheLatestStays) {
  // 64 keys at most (4 per shard); every key here is still refilling, so only the bound
  // evicts, least recently used first.
  limits::rate_limiter r(cfg(1, 2), 64);
  for (int i = 0; i < 10'000; ++i) {
    EXPECT_EQ(r.check_user("k" + std::to_string(i), 0), 0u);
    ASSERT_LE(r.user_keys(), 64u);
  }
  EXPECT_EQ(r.user_keys(), 64u);
  // The key used last is still held: its second token goes, then it is refused.
  EXPECT_EQ(r.check_user("k9999", 0), 0u);
  EXPECT_GT(r.check_user("k9999", 0), 0u);
}

TEST(RateLimiter, AnswersAsUnboundedBucketsWhileUnderTheBound) {
  // Forgetting a full bucket changes no answer, so below the bound every answer is that of a
  // bucket per key kept for ever: many keys coming and going through the tables.
  limits::rate_limiter r(cfg(20, 3));
  struct model_bucket {
    double tokens = 3;
    std::int64_t last_ms = 0;
  };
  std::map<std::string, model_bucket> model;
  std::uint64_t seed = 12345;
  std::int64_t now = 0;
  for (int i = 0; i < 50'000; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    const std::string key = "u" + std::to_string((seed >> 33) % 500);
    if ((seed >> 20) % 4 == 0) now += static_cast<std::int64_t>((seed >> 40) % 50);
    auto [it, fresh] = model.try_emplace(key);
    model_bucket& b = it->second;
    if (fresh) b.last_ms = now;
    if (now > b.last_ms) {
      b.tokens = std::min(3.0, b.tokens + static_cast<double>(now - b.last_ms) * 20 / 1000.0);
      b.last_ms = now;
    }
    std::uint32_t want = 0;
    if (b.tokens >= 1.0) {
      b.tokens -= 1.0;
    } else {
      want = static_cast<std::uint32_t>(std::clamp(std::ceil((1.0 - b.tokens) * 1000.0 / 20), 1.0, 4.0e9));
    }
    ASSERT_EQ(r.check_user(key, now), want) << "step " << i << " key " << key;
  }
  EXPECT_LT(r.user_keys(), 500u);  // full buckets were forgotten on the way
}
