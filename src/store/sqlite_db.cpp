// Owns the SQLite connection, its writer thread and group commit: queued works share one
// BEGIN IMMEDIATE ... COMMIT (one fsync), each inside its own SAVEPOINT so a failing work
// rolls back alone. Between batches the writer thread keeps the store's health: it probes a
// failing store, watches free space and checkpoints the WAL on a schedule, so that a disk
// that filled up and was freed again takes writes without a restart.
// Used by the sqlite_*_store classes and app/server.
#include "rushcast/store/sqlite_db.hpp"

#include <sqlite3.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "rushcast/core/errc.hpp"
#include "rushcast/obs/log_limiter.hpp"

namespace rushcast::store {
namespace {

class sqlite_category_impl : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "sqlite"; }
  std::string message(int rc) const override { return sqlite3_errstr(rc); }
};

// A write that failed because of the store (disk full, I/O error, read-only file, locked...)
// rather than because of what it wrote (a constraint): the store, not the request, is at fault.
bool is_store_fault(const boost::system::error_code& ec) {
  if (!ec || ec.category() != sqlite_category()) return false;
  switch (ec.value() & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return false;
    default:
      return true;
  }
}

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

// "file:" URI of a path, for opening it read-only and immutable.
std::string file_uri(const std::string& path) {
  std::string out = "file:";
  for (unsigned char c : std::filesystem::absolute(path).string()) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out + "?mode=ro&immutable=1";
}

bool dir_is_read_only(const std::string& dir) {
  struct statvfs st {};
  return ::statvfs(dir.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
}

}  // namespace

const boost::system::error_category& sqlite_category() noexcept {
  static const sqlite_category_impl cat;
  return cat;
}

boost::system::error_code sqlite_error(int rc) noexcept {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return {};
  return {rc, sqlite_category()};
}

struct sqlite_db::impl {
  struct item {
    work_fn work;
    done_fn done;
  };

  using steady = std::chrono::steady_clock;

  sqlite3* db = nullptr;
  config::storage_cfg cfg;
  std::size_t batch_max = 512;
  std::string dir;  // the data dir: free space is measured here
  std::string path;  // the database file, for open_reader()

  // Health, kept by the writer thread (and the constructor before it starts).
  store_health health;
  bool read_only = false;     // opened read-only: no write can succeed until a restart
  std::string write_fault;    // why the last write or probe failed; empty = writes succeed
  std::string space_short;    // why free space is too low; empty = enough
  steady::time_point next_probe{};
  steady::time_point next_space_check{};
  steady::time_point next_checkpoint{};
  std::uint64_t writes_since_checkpoint = 0;
  obs::log_limiter write_fail_log{std::chrono::seconds(5)};
  obs::log_limiter checkpoint_fail_log{std::chrono::seconds(5)};

  // Serialises every use of db: the writer's batches and start-up calls from other threads.
  std::mutex db_mu;

  mutable std::mutex q_mu;
  std::condition_variable q_cv;
  std::deque<item> queue;
  bool stopping = false;
  std::atomic<std::size_t> pending{0};
  std::thread writer;

  // Prepared once: these run for every work of every batch.
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  sqlite3_stmt* rollback = nullptr;
  sqlite3_stmt* savepoint = nullptr;
  sqlite3_stmt* release = nullptr;
  sqlite3_stmt* rollback_to = nullptr;

  int step(sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
  }

  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite prepare '") + sql + "': " + sqlite3_errmsg(db));
    return s;
  }

  void exec_or_throw(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db);
      sqlite3_free(err);
      throw std::runtime_error("sqlite: " + sql + ": " + msg);
    }
  }

  // Runs one work inside a savepoint of the open transaction.
  boost::system::error_code run_in_savepoint(item& it) {
    if (int rc = step(savepoint); rc != SQLITE_OK) return sqlite_error(rc);
    boost::system::error_code ec = run_work(it);
    if (ec) {
      step(rollback_to);
      step(release);
      return ec;
    }
    if (int rc = step(release); rc != SQLITE_OK) return sqlite_error(rc);
    return {};
  }

  boost::system::error_code run_work(item& it) {
    try {
      return it.work(db);
    } catch (const std::exception& e) {
      spdlog::error("store: a write threw: {}", e.what());
      return make_error_code(errc::internal);
    }
  }

  // The whole batch in one transaction; the error of BEGIN or COMMIT when it failed (nothing
  // kept), success otherwise (each work's own result is in results).
  boost::system::error_code run_batch(std::vector<item>& batch,
                                      std::vector<boost::system::error_code>& results) {
    if (int rc = step(begin); rc != SQLITE_OK) return sqlite_error(rc);
    for (std::size_t i = 0; i < batch.size(); ++i) results[i] = run_in_savepoint(batch[i]);
    if (int rc = step(commit); rc != SQLITE_OK) {
      step(rollback);
      return sqlite_error(rc);
    }
    return {};
  }

  // One work, one transaction: the fallback when a batch could not commit.
  boost::system::error_code run_alone(item& it) {
    if (int rc = step(begin); rc != SQLITE_OK) return sqlite_error(rc);
    boost::system::error_code ec = run_work(it);
    if (ec) {
      step(rollback);
      return ec;
    }
    if (int rc = step(commit); rc != SQLITE_OK) {
      step(rollback);
      return sqlite_error(rc);
    }
    return {};
  }

  // Runs one batch: together when it can, else each work alone so that one bad write fails
  // alone. When the transaction itself failed for the store's sake (the disk is full), every
  // work fails with that error at once: trying each alone would fail the same way, slowly.
  void write_batch(std::vector<item>& batch, std::vector<boost::system::error_code>& results) {
    boost::system::error_code batch_ec = run_batch(batch, results);
    if (!batch_ec) {
      writes_since_checkpoint += batch.size();
      bool fault = false;
      for (const auto& r : results)
        if (is_store_fault(r)) {
          note_write_failed(r, batch.size());
          fault = true;
          break;
        }
      if (!fault) note_write_succeeded();
      return;
    }
    if (is_store_fault(batch_ec)) {
      for (auto& r : results) r = batch_ec;
      note_write_failed(batch_ec, batch.size());
      return;
    }
    bool any_ok = false;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      results[i] = run_alone(batch[i]);
      if (is_store_fault(results[i])) note_write_failed(results[i], 1);
      if (!results[i]) any_ok = true;
    }
    if (any_ok) {
      writes_since_checkpoint += batch.size();
      note_write_succeeded();
    }
  }

  // Writer thread (or the constructor before it starts). One line per change of state; the
  // failures in between are counted in one line every few seconds.
  void note_write_failed(const boost::system::error_code& ec, std::size_t writes) {
    if (auto n = write_fail_log.admit())
      spdlog::warn("store: {} write(s) failed: {} ({} failure(s) since the last such line)",
                   writes, ec.message(), n);
    std::string why = "writes fail: " + ec.message();
    if (write_fault.empty()) next_probe = steady::now() + sqlite_db::probe_interval;
    write_fault = std::move(why);
    publish_health();
  }

  void note_write_succeeded() {
    if (write_fault.empty()) return;
    write_fault.clear();
    // Space may have come back with the write: measure it before saying so.
    check_space();
    publish_health();
  }

  void publish_health() {
    store_health::state st = store_health::state::ok;
    std::string reason;
    if (!write_fault.empty()) {
      st = store_health::state::failing;
      reason = write_fault;
    } else if (!space_short.empty()) {
      st = store_health::state::low_space;
      reason = space_short;
    }
    const auto before = health.get().current;
    // A new reason alone (the free bytes of a low disk) is not news for the log.
    if (!health.set(st, reason) || st == before) return;
    if (st == store_health::state::ok)
      spdlog::info("store: accepting writes again; taking admissions and bids");
    else
      spdlog::error("store: {}; refusing new admissions and bids (503) meanwhile", reason);
  }

  void check_space() {
    if (cfg.min_free_bytes == 0) {
      space_short.clear();
      return;
    }
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) return;  // unknown: keep the last verdict
    const std::uint64_t free_bytes =
        static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
    if (free_bytes >= cfg.min_free_bytes) {
      space_short.clear();
      return;
    }
    space_short = "free space on " + dir + " is " + human_bytes(free_bytes) +
                  ", below storage.min_free_bytes (" + human_bytes(cfg.min_free_bytes) + ")";
  }

  // One small write in its own transaction: can the store commit now?
  boost::system::error_code probe() {
    if (read_only)
      return sqlite_error(SQLITE_READONLY);
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::string sql =
        "BEGIN IMMEDIATE;"
        "CREATE TABLE IF NOT EXISTS store_probe(id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL);"
        "INSERT INTO store_probe(id, ts_ms) VALUES(1, " + std::to_string(now_ms) + ") "
        "ON CONFLICT(id) DO UPDATE SET ts_ms=excluded.ts_ms;"
        "COMMIT;";
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(db))
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return sqlite_error(rc);
  }

  // Writer thread, between batches: whatever of probe, space check and checkpoint is due.
  void maintain() {
    const auto now = steady::now();
    if (now >= next_space_check) {
      next_space_check = now + sqlite_db::space_check_interval;
      check_space();
      publish_health();
    }
    if (!write_fault.empty() && !read_only && now >= next_probe) {
      next_probe = now + sqlite_db::probe_interval;
      boost::system::error_code ec;
      {
        std::lock_guard lk(db_mu);
        ec = probe();
      }
      if (!ec) {
        ++writes_since_checkpoint;
        note_write_succeeded();
      } else if (auto n = write_fail_log.admit()) {
        spdlog::warn("store: probe write failed: {} ({} failure(s) since the last such line)",
                     ec.message(), n);
      }
    }
    if (writes_since_checkpoint > 0 && !read_only && now >= next_checkpoint) {
      next_checkpoint = now + std::chrono::milliseconds(cfg.checkpoint_ms);
      checkpoint();
    }
  }

  // Moves the WAL into the database file and truncates it to zero bytes, giving its space
  // back to the file system; SQLite's own checkpoints reuse the WAL but never shrink it.
  void checkpoint() {
    int log_frames = 0, done_frames = 0;
    int rc;
    {
      std::lock_guard lk(db_mu);
      rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                     &done_frames);
    }
    if (rc == SQLITE_OK) {
      writes_since_checkpoint = 0;
      return;
    }
    if (auto n = checkpoint_fail_log.admit())
      spdlog::warn("store: checkpoint failed: {} ({} failure(s) since the last such line)",
                   sqlite3_errstr(rc), n);
  }

  steady::time_point next_due() const {
    auto t = next_space_check;
    if (!write_fault.empty() && !read_only) t = std::min(t, next_probe);
    if (writes_since_checkpoint > 0 && !read_only) t = std::min(t, next_checkpoint);
    return t;
  }

  void writer_loop() {
    std::vector<item> batch;
    std::vector<boost::system::error_code> results;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lk(q_mu);
        q_cv.wait_until(lk, next_due(), [&] { return stopping || !queue.empty(); });
        if (stopping && queue.empty()) return;  // stopping and drained
        std::size_t n = std::min(batch_max, queue.size());
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      if (batch.empty()) {
        maintain();
        continue;
      }
      results.assign(batch.size(), {});
      {
        std::lock_guard lk(db_mu);
        write_batch(batch, results);
      }
      // Callbacks run without any lock held: they may submit() again.
      for (std::size_t i = 0; i < batch.size(); ++i) {
        pending.fetch_sub(1, std::memory_order_relaxed);
        if (batch[i].done) {
          try {
            batch[i].done(results[i]);
          } catch (const std::exception& e) {
            spdlog::error("store: a commit callback threw: {}", e.what());
          }
        }
      }
      maintain();
    }
  }
};

sqlite_db::sqlite_db(const std::string& path, const config::storage_cfg& cfg)
    : impl_(std::make_unique<impl>()) {
  impl_->cfg = cfg;
  impl_->batch_max = std::max<std::size_t>(1, cfg.group_commit_max);
  impl_->path = path;
  {
    auto parent = std::filesystem::path(path).parent_path();
    impl_->dir = parent.empty() ? "." : parent.string();
  }
  auto open = [&](const std::string& name, int flags) {
    int rc = sqlite3_open_v2(name.c_str(), &impl_->db, flags | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = impl_->db ? sqlite3_errmsg(impl_->db) : sqlite3_errstr(rc);
      sqlite3_close_v2(impl_->db);
      impl_->db = nullptr;
      throw std::runtime_error("sqlite: cannot open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(impl_->db, 5000);
  };
  open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  // WAL needs its -shm file beside the database: on a read-only file system a database that
  // was closed cleanly cannot even be read that way, so it is opened read-only (immutable)
  // and the daemon serves what it holds while refusing every write.
  if (int rc = sqlite3_exec(impl_->db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
      rc != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(impl_->db);
    sqlite3_close_v2(impl_->db);
    impl_->db = nullptr;
    if (!dir_is_read_only(impl_->dir) || !std::filesystem::exists(path))
      throw std::runtime_error("sqlite: cannot open " + path + ": " + msg);
    open(file_uri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    impl_->read_only = true;
  }
  try {
    if (!impl_->read_only) {
      std::string sync = cfg.synchronous == "normal" ? "NORMAL" : "FULL";
      impl_->exec_or_throw("PRAGMA synchronous=" + sync);
    }
    impl_->exec_or_throw("PRAGMA foreign_keys=ON");
    impl_->begin = impl_->prepare("BEGIN IMMEDIATE");
    impl_->commit = impl_->prepare("COMMIT");
    impl_->rollback = impl_->prepare("ROLLBACK");
    impl_->savepoint = impl_->prepare("SAVEPOINT w");
    impl_->release = impl_->prepare("RELEASE w");
    impl_->rollback_to = impl_->prepare("ROLLBACK TO w");
  } catch (...) {
    for (auto* s : {impl_->begin, impl_->commit, impl_->rollback, impl_->savepoint,
                    impl_->release, impl_->rollback_to})
      sqlite3_finalize(s);
    sqlite3_close_v2(impl_->db);
    impl_->db = nullptr;
    throw;
  }
  // Start-up probe: a daemon that cannot store must not say it is ready.
  impl_->check_space();
  if (impl_->read_only) {
    impl_->write_fault = "the data dir " + impl_->dir +
                         " is on a read-only file system (the database was opened read-only; "
                         "make it writable and restart)";
  } else if (auto ec = impl_->probe()) {
    impl_->write_fault = "writes fail: " + ec.message();
    impl_->next_probe = impl::steady::now() + probe_interval;
  }
  impl_->publish_health();
  const auto now = impl::steady::now();
  impl_->next_space_check = now + space_check_interval;
  impl_->next_checkpoint = now + std::chrono::milliseconds(cfg.checkpoint_ms);
  impl_->writer = std::thread([this] { impl_->writer_loop(); });
}

sqlite_db::~sqlite_db() {
  stop();
  for (auto* s : {impl_->begin, impl_->commit, impl_->rollback, impl_->savepoint, impl_->release,
                  impl_->rollback_to})
    sqlite3_finalize(s);
  // close_v2: statements the stores still hold are finalised later without leaking the file.
  if (impl_->db) sqlite3_close_v2(impl_->db);
}

void sqlite_db::exec(const std::string& sql) {
  std::lock_guard lk(impl_->db_mu);
  impl_->exec_or_throw(sql);
}

void sqlite_db::with_connection(const std::function<void(sqlite3*)>& fn) {
  std::lock_guard lk(impl_->db_mu);
  fn(impl_->db);
}

sqlite3* sqlite_db::open_reader() {
  // Read-only mode opened the file immutable; a reader has to do the same.
  const std::string name = impl_->read_only ? file_uri(impl_->path) : impl_->path;
  sqlite3* c = nullptr;
  int rc = sqlite3_open_v2(name.c_str(), &c,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = c ? sqlite3_errmsg(c) : sqlite3_errstr(rc);
    sqlite3_close_v2(c);
    throw std::runtime_error("sqlite: cannot open a reader on " + impl_->path + ": " + msg);
  }
  // A WAL reader waits only in rare moments (a checkpoint resetting the WAL): briefly.
  sqlite3_busy_timeout(c, 50);
  return c;
}

void sqlite_db::submit(work_fn work, done_fn done) {
  {
    std::lock_guard lk(impl_->q_mu);
    if (!impl_->stopping) {
      impl_->queue.push_back({std::move(work), std::move(done)});
      impl_->pending.fetch_add(1, std::memory_order_relaxed);
      impl_->q_cv.notify_one();
      return;
    }
  }
  // After stop() nothing is written; the caller learns it at once.
  if (done) done(make_error_code(errc::unavailable));
}

void sqlite_db::stop() {
  {
    std::lock_guard lk(impl_->q_mu);
    impl_->stopping = true;
  }
  impl_->q_cv.notify_all();
  // A commit callback that stops the db must not wait for its own thread.
  if (!impl_->writer.joinable()) return;
  if (impl_->writer.get_id() == std::this_thread::get_id())
    impl_->writer.detach();
  else
    impl_->writer.join();
}

std::size_t sqlite_db::pending() const { return impl_->pending.load(std::memory_order_relaxed); }

const store_health& sqlite_db::health() const noexcept { return impl_->health; }

}  // namespace rushcast::store
