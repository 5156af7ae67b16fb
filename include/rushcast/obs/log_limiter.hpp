// Owns "log a repeated error once per interval, with how often it happened": a fault that
// fails every write or every accept must not turn the log into a flood on the full disk.
// Used by store/sqlite_db, the engine runners and net/listener, one limiter per message.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace rushcast::obs {

class log_limiter {
public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

  // clock: the steady clock unless a test injects a manual one.
  explicit log_limiter(std::chrono::milliseconds interval, clock_fn clock = {});

  // Thread-safe. Call once per occurrence. Returns 0 when this occurrence is to be kept quiet;
  // otherwise the number of occurrences the line to log now stands for (this one and those kept
  // quiet since the last line). The first occurrence, and the first one after interval has
  // passed since the last line, are logged.
  std::uint64_t admit();

  // Thread-safe. Occurrences kept quiet since the last line, handed over and forgotten (for a
  // closing "... N more times" line when the fault ends).
  std::uint64_t take_suppressed();

  std::chrono::milliseconds interval() const noexcept { return interval_; }

private:
  std::chrono::steady_clock::time_point now() const;

  const std::chrono::milliseconds interval_;
  const clock_fn clock_;
  std::mutex mu_;
  bool logged_once_ = false;
  std::chrono::steady_clock::time_point last_logged_{};
  std::uint64_t suppressed_ = 0;
};

}  // namespace rushcast::obs
