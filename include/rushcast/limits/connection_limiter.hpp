// Owns the count of open connections, in total and per remote IP, against the configured caps.
// Used by net::listener on accept (503 + Retry-After when over) and net::conn_slot on close.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace rushcast::limits {

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
