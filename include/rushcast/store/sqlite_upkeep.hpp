// Owns the SQLite store's health verdict and its upkeep between batches: probe writes while the
// store fails, free space on the data dir, WAL checkpoints on a schedule.
// Used by sqlite_db: its constructor (the start-up verdict) and its writer thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include <boost/system/error_code.hpp>

#include "rushcast/config/config.hpp"
#include "rushcast/obs/log_limiter.hpp"
#include "rushcast/store/store_health.hpp"

struct sqlite3;

namespace rushcast::store {

class sqlite_upkeep {
public:
  using steady = std::chrono::steady_clock;

  // How often a failing store is probed and free space is checked.
  static constexpr std::chrono::milliseconds probe_interval{250};
  static constexpr std::chrono::milliseconds space_check_interval{100};

  // dir: the data dir, where free space is measured. db_mu serialises every use of the
  // connection; upkeep takes it for its own probe and checkpoint writes.
  sqlite_upkeep(const config::storage_cfg& cfg, std::string dir, std::mutex& db_mu);

  // Constructor of sqlite_db, before the writer thread starts: db is open (read_only: opened
  // read-only, so no write can succeed until a restart). Measures free space, probes that a
  // write commits, publishes the first verdict and schedules the upkeep.
  void start(sqlite3* db, bool read_only);

  // Writer thread. A write failed for the store's sake (full, I/O error, read-only); writes is
  // how many it took down. One log line per change of state; the failures in between are
  // counted in one line every few seconds.
  void note_write_failed(const boost::system::error_code& ec, std::size_t writes);
  // Writer thread. A write committed: the store takes writes (again).
  void note_write_succeeded();
  // Writer thread. n writes committed and wait for the next checkpoint.
  void note_written(std::size_t n) { writes_since_checkpoint_ += n; }

  // Writer thread, between batches: whatever of probe, space check and checkpoint is due.
  void maintain();
  // When maintain() has something to do next.
  steady::time_point next_due() const;

  // Thread-safe: whether new admissions and bids may be offered, and why not.
  const store_health& health() const noexcept { return health_; }

private:
  void publish_health();
  void check_space();
  boost::system::error_code probe();
  void checkpoint();
  // Writes wait for a checkpoint, or the WAL still holds space the last one kept.
  bool checkpoint_pending() const noexcept {
    return !read_only_ && (writes_since_checkpoint_ > 0 || wal_holds_space_);
  }

  config::storage_cfg cfg_;
  std::string dir_;
  std::mutex& db_mu_;
  sqlite3* db_ = nullptr;

  store_health health_;
  bool read_only_ = false;   // opened read-only: no write can succeed until a restart
  std::string write_fault_;  // why the last write or probe failed; empty = writes succeed
  std::string space_short_;  // why free space is too low; empty = enough
  steady::time_point next_probe_{};
  steady::time_point next_space_check_{};
  steady::time_point next_checkpoint_{};
  std::uint64_t writes_since_checkpoint_ = 0;
  bool wal_holds_space_ = false;  // the last checkpoint kept the WAL's size (writes went on)
  obs::log_limiter write_fail_log_{std::chrono::seconds(5)};
  obs::log_limiter checkpoint_fail_log_{std::chrono::seconds(5)};
};

}  // namespace rushcast::store
