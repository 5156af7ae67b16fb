// Owns token buckets per user and per remote IP (bounded maps; least recently used evicted,
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

// Counts connections per IP against limits.max_connections(_per_ip). Thread-safe.
class connection_limiter {
public:
  connection_limiter(std::size_t max_total, std::size_t max_per_ip);
  ~connection_limiter();
  bool try_acquire(std::string_view ip);  // false = over capacity (503)
  void release(std::string_view ip);
  // A connection from a trusted proxy counts in the total only; its clients' IPs are counted
  // per request with acquire_ip/release_ip once their forwarded address is known.
  bool try_acquire_total();
  void release_total();
  bool try_acquire_ip(std::string_view ip);
  void release_ip(std::string_view ip);
  std::size_t total() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace rushcast::limits
