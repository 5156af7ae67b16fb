// Owns "log a repeated error once per interval, with a count".
// Used by store/sqlite_db, the engine runners and net/listener.
#include "rushcast/obs/log_limiter.hpp"

namespace rushcast::obs {

log_limiter::log_limiter(std::chrono::milliseconds interval, clock_fn clock)
    : interval_(interval), clock_(std::move(clock)) {}

std::chrono::steady_clock::time_point log_limiter::now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

std::uint64_t log_limiter::admit() {
  const auto t = now();
  std::lock_guard lk(mu_);
  if (logged_once_ && t - last_logged_ < interval_) {
    ++suppressed_;
    return 0;
  }
  logged_once_ = true;
  last_logged_ = t;
  const std::uint64_t n = suppressed_ + 1;
  suppressed_ = 0;
  return n;
}

std::uint64_t log_limiter::take_suppressed() {
  std::lock_guard lk(mu_);
  const std::uint64_t n = suppressed_;
  suppressed_ = 0;
  return n;
}

}  // namespace rushcast::obs
