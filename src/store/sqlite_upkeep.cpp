// Owns the store's health between batches: a disk that filled up and was freed again takes
// writes without a restart, and the WAL gives its space back on a schedule.
// Used by sqlite_db's constructor and writer thread.
#include "rushcast/store/sqlite_upkeep.hpp"

#include <sqlite3.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "rushcast/store/sqlite_db.hpp"

namespace rushcast::store {
namespace {

std::string human_bytes(std::uint64_t n) {
  char buf[32];
  if (n >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(n) / (1ull << 30));
  else if (n >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1ull << 20));
  else
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(n));
  return buf;
}

}  // namespace

sqlite_upkeep::sqlite_upkeep(const config::storage_cfg& cfg, std::string dir, std::mutex& db_mu)
    : cfg_(cfg), dir_(std::move(dir)), db_mu_(db_mu) {}

void sqlite_upkeep::start(sqlite3* db, bool read_only) {
  db_ = db;
  read_only_ = read_only;
  // Start-up probe: a daemon that cannot store must not say it is ready.
  check_space();
  if (read_only_) {
    write_fault_ = "the data dir " + dir_ +
                   " is on a read-only file system (the database was opened read-only; "
                   "make it writable and restart)";
  } else if (auto ec = probe()) {
    write_fault_ = "writes fail: " + ec.message();
    next_probe_ = steady::now() + probe_interval;
  }
  publish_health();
  const auto now = steady::now();
  next_space_check_ = now + space_check_interval;
  next_checkpoint_ = now + std::chrono::milliseconds(cfg_.checkpoint_ms);
}

void sqlite_upkeep::note_write_failed(const boost::system::error_code& ec, std::size_t writes) {
  if (auto n = write_fail_log_.admit())
    spdlog::warn("store: {} write(s) failed: {} ({} failure(s) since the last such line)",
                 writes, ec.message(), n);
  std::string why = "writes fail: " + ec.message();
  if (write_fault_.empty()) next_probe_ = steady::now() + probe_interval;
  write_fault_ = std::move(why);
  publish_health();
}

void sqlite_upkeep::note_write_succeeded() {
  if (write_fault_.empty()) return;
  write_fault_.clear();
  // Space may have come back with the write: measure it before saying so.
  check_space();
  publish_health();
}

void sqlite_upkeep::publish_health() {
  store_health::state st = store_health::state::ok;
  std::string reason;
  if (!write_fault_.empty()) {
    st = store_health::state::failing;
    reason = write_fault_;
  } else if (!space_short_.empty()) {
    st = store_health::state::low_space;
    reason = space_short_;
  }
  const auto before = health_.get().current;
  // A new reason alone (the free bytes of a low disk) is not news for the log.
  if (!health_.set(st, reason) || st == before) return;
  if (st == store_health::state::ok)
    spdlog::info("store: accepting writes again; taking admissions and bids");
  else
    spdlog::error("store: {}; refusing new admissions and bids (503) meanwhile", reason);
}

void sqlite_upkeep::check_space() {
  if (cfg_.min_free_bytes == 0) {
    space_short_.clear();
    return;
  }
  struct statvfs st {};
  if (::statvfs(dir_.c_str(), &st) != 0) return;  // unknown: keep the last verdict
  const std::uint64_t free_bytes =
      static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
  if (free_bytes >= cfg_.min_free_bytes) {
    space_short_.clear();
    return;
  }
  space_short_ = "free space on " + dir_ + " is " + human_bytes(free_bytes) +
                 ", below storage.min_free_bytes (" + human_bytes(cfg_.min_free_bytes) + ")";
}

// One small write in its own transaction: can the store commit now? The caller holds db_mu_
// (or runs before the writer thread exists).
boost::system::error_code sqlite_upkeep::probe() {
  if (read_only_) return sqlite_error(SQLITE_READONLY);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string sql =
      "BEGIN IMMEDIATE;"
      "CREATE TABLE IF NOT EXISTS store_probe(id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL);"
      "INSERT INTO store_probe(id, ts_ms) VALUES(1, " + std::to_string(now_ms) + ") "
      "ON CONFLICT(id) DO UPDATE SET ts_ms=excluded.ts_ms;"
      "COMMIT;";
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK && !sqlite3_get_autocommit(db_))
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return sqlite_error(rc);
}

void sqlite_upkeep::maintain() {
  const auto now = steady::now();
  if (now >= next_space_check_) {
    next_space_check_ = now + space_check_interval;
    check_space();
    publish_health();
  }
  if (!write_fault_.empty() && !read_only_ && now >= next_probe_) {
    next_probe_ = now + probe_interval;
    boost::system::error_code ec;
    {
      std::lock_guard lk(db_mu_);
      ec = probe();
    }
    if (!ec) {
      ++writes_since_checkpoint_;
      note_write_succeeded();
    } else if (auto n = write_fail_log_.admit()) {
      spdlog::warn("store: probe write failed: {} ({} failure(s) since the last such line)",
                   ec.message(), n);
    }
  }
  if (checkpoint_pending() && now >= next_checkpoint_) {
    next_checkpoint_ = now + std::chrono::milliseconds(cfg_.checkpoint_ms);
    checkpoint();
  }
}

// Moves the WAL into the database file. While writes go on, the WAL keeps its size and the
// next commit writes it again from its start (RESTART): a commit that overwrites blocks the
// file already has changes no file size, so its fdatasync writes no inode; on this VM that
// was 15-20 % of the writer's CPU per admission (docs/BENCHMARKS.md, session 8). The first
// checkpoint after an interval without writes truncates the WAL to zero bytes, giving its
// space back to the file system (and PRAGMA journal_size_limit caps what it keeps meanwhile).
void sqlite_upkeep::checkpoint() {
  const bool idle = writes_since_checkpoint_ == 0;
  int log_frames = 0, done_frames = 0;
  int rc;
  {
    std::lock_guard lk(db_mu_);
    rc = sqlite3_wal_checkpoint_v2(db_, nullptr,
                                   idle ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_RESTART,
                                   &log_frames, &done_frames);
  }
  if (rc == SQLITE_OK) {
    writes_since_checkpoint_ = 0;
    wal_holds_space_ = !idle;
    return;
  }
  if (auto n = checkpoint_fail_log_.admit())
    spdlog::warn("store: checkpoint failed: {} ({} failure(s) since the last such line)",
                 sqlite3_errstr(rc), n);
}

sqlite_upkeep::steady::time_point sqlite_upkeep::next_due() const {
  auto t = next_space_check_;
  if (!write_fault_.empty() && !read_only_) t = std::min(t, next_probe_);
  if (checkpoint_pending()) t = std::min(t, next_checkpoint_);
  return t;
}

}  // namespace rushcast::store
