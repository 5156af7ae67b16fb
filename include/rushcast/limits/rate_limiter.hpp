// Owns token buckets per user and per remote IP (bounded tables; least recently used evicted,
// and idle keys, whose bucket is full again, forgotten).
// Used by api handlers (seckill, bid, publish) and sessions (per-IP request rate).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "rushcast/config/config.hpp"

namespace rushcast::limits {

class rate_limiter {
public:
  explicit rate_limiter(const config::rate_limit_cfg& cfg, std::size_t max_keys = 1'000'000);
  ~rate_limiter();
  // Thread-safe. 0 = allowed (a token taken); otherwise milliseconds until one is available.
  std::uint32_t check_user(std::string_view user_id, std::int64_t now_ms);
  std::uint32_t check_ip(std::string_view ip, std::int64_t now_ms);
  // Keys held now; a key is forgotten once its bucket is full again. Thread-safe.
  std::size_t user_keys() const;
  std::size_t ip_keys() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace rushcast::limits
