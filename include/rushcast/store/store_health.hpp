// Owns whether the store can take new writes now, and why not. Set by store::sqlite_db (its
// writer thread: failed writes, start-up and retry probes, free space on the data dir); read by
// the engine runners before they offer an admission or a bid, by /readyz and by app/server
// (systemd STATUS=, one log line per change).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace rushcast::store {

class store_health {
public:
  enum class state : std::uint8_t {
    ok,         // writes succeed and free space is above storage.min_free_bytes
    failing,    // the last write (or probe) failed; the store retries on its own
    low_space,  // writes succeed, but free space is below storage.min_free_bytes
  };

  struct status {
    state current = state::ok;
    std::string reason;  // empty when ok: what an operator reads in /readyz and STATUS=
    std::uint64_t changes = 0;  // how many times the state or reason changed
  };

  // Thread-safe and lock-free: new admissions and bids may be offered to the store.
  bool accepting() const noexcept { return state_.load(std::memory_order_acquire) == state::ok; }

  // Thread-safe.
  status get() const {
    std::lock_guard lk(mu_);
    return status{state_.load(std::memory_order_relaxed), reason_, changes_};
  }

  // Thread-safe. Returns true when this changed the state or the reason (the caller logs then).
  bool set(state s, std::string reason = {}) {
    std::lock_guard lk(mu_);
    if (s == state::ok) reason.clear();
    if (state_.load(std::memory_order_relaxed) == s && reason_ == reason) return false;
    reason_ = std::move(reason);
    ++changes_;
    state_.store(s, std::memory_order_release);
    return true;
  }

private:
  std::atomic<state> state_{state::ok};
  mutable std::mutex mu_;
  std::string reason_;
  std::uint64_t changes_ = 0;
};

}  // namespace rushcast::store
