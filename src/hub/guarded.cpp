// Owns the rate-limited log line for a handler the hub called that threw.
// Used by guarded() in the dispatcher (deliver, flush, sweep) and the hub (snapshot sources).
#include "rushcast/hub/guarded.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

#include <spdlog/spdlog.h>

namespace rushcast::hub {

void log_handler_failure(const char* where, const char* what) noexcept {
  static std::atomic<std::int64_t> next_log_ms{0};
  static std::atomic<std::uint64_t> suppressed{0};
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  auto due = next_log_ms.load(std::memory_order_relaxed);
  if (now < due || !next_log_ms.compare_exchange_strong(due, now + 1000)) {
    suppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  try {
    spdlog::error("hub: {} threw, event dropped for it: {} ({} more not logged)", where, what,
                  suppressed.exchange(0, std::memory_order_relaxed));
  } catch (...) {
  }
}

}  // namespace rushcast::hub
