// Owns the SQLite connection, its writer thread and group commit: queued works share one
// BEGIN IMMEDIATE ... COMMIT (one fsync), each inside its own SAVEPOINT so a failing work
// rolls back alone. Between batches the writer thread keeps the store's health through
// sqlite_upkeep (probes, free space, WAL checkpoints).
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
#include "rushcast/store/sqlite_upkeep.hpp"

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

std::string data_dir_of(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

bool dir_is_read_only(const std::string& dir) {
  struct statvfs st {};
  return ::statvfs(dir.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
}

// Bytes of WAL kept after a checkpoint while writes go on (PRAGMA journal_size_limit).
constexpr std::int64_t wal_size_limit = 64ll << 20;

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

  sqlite3* db = nullptr;
  config::storage_cfg cfg;
  std::size_t batch_max = 512;
  std::string dir;  // the data dir: free space is measured here
  std::string path;  // the database file, for open_reader()
  bool read_only = false;  // opened read-only (immutable): readers must open it the same way

  // Serialises every use of db: the writer's batches and start-up calls from other threads.
  std::mutex db_mu;
  // The health verdict, kept by the writer thread (and the constructor before it starts).
  sqlite_upkeep upkeep;

  impl(const config::storage_cfg& c, std::string data_dir)
      : cfg(c), dir(data_dir), upkeep(c, std::move(data_dir), db_mu) {}

  mutable std::mutex q_mu;
  std::condition_variable q_cv;
  std::deque<item> queue;
  bool stopping = false;
  std::atomic<std::size_t> pending{0};
  std::thread writer;
  // Registered under q_mu; the writer takes a copy when between_changed says there is news.
  std::vector<between_groups_fn> between;
  bool between_changed = false;

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

  // The whole batch in one transaction without a savepoint per work: true when every work
  // succeeded and the transaction committed. A savepoint makes SQLite copy every page a work
  // touches into its sub-journal (a 4 KiB copy per page, and heap grown and trimmed per
  // batch), which only matters when a work fails: then everything is rolled back and false
  // returned, and the caller runs the batch again the careful way (run_batch).
  bool run_batch_fast(std::vector<item>& batch) {
    if (step(begin) != SQLITE_OK) return false;
    for (auto& it : batch) {
      if (run_work(it)) {
        step(rollback);
        return false;
      }
    }
    if (step(commit) != SQLITE_OK) {
      step(rollback);
      return false;
    }
    return true;
  }

  // Runs one batch: together when it can, else each work alone so that one bad write fails
  // alone. When the transaction itself failed for the store's sake (the disk is full), every
  // work fails with that error at once: trying each alone would fail the same way, slowly.
  // Works run again from the start after a failed try (their contract: sqlite_db::submit).
  void write_batch(std::vector<item>& batch, std::vector<boost::system::error_code>& results) {
    if (run_batch_fast(batch)) {
      upkeep.note_written(batch.size());
      upkeep.note_write_succeeded();
      return;
    }
    boost::system::error_code batch_ec = run_batch(batch, results);
    if (!batch_ec) {
      upkeep.note_written(batch.size());
      bool fault = false;
      for (const auto& r : results)
        if (is_store_fault(r)) {
          upkeep.note_write_failed(r, batch.size());
          fault = true;
          break;
        }
      if (!fault) upkeep.note_write_succeeded();
      return;
    }
    if (is_store_fault(batch_ec)) {
      for (auto& r : results) r = batch_ec;
      upkeep.note_write_failed(batch_ec, batch.size());
      return;
    }
    bool any_ok = false;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      results[i] = run_alone(batch[i]);
      if (is_store_fault(results[i])) upkeep.note_write_failed(results[i], 1);
      if (!results[i]) any_ok = true;
    }
    if (any_ok) {
      upkeep.note_written(batch.size());
      upkeep.note_write_succeeded();
    }
  }

  // The stores' between-group writes (on_between_groups), with the connection held alone;
  // returns the earliest time any of them wants to run again.
  std::chrono::steady_clock::time_point run_between(
      const std::vector<between_groups_fn>& fns, bool flush) {
    auto due = std::chrono::steady_clock::time_point::max();
    if (fns.empty()) return due;
    std::lock_guard lk(db_mu);
    for (const auto& fn : fns) {
      try {
        due = std::min(due, fn(db, flush));
      } catch (const std::exception& e) {
        spdlog::error("store: a between-groups write threw: {}", e.what());
      }
    }
    return due;
  }

  void writer_loop() {
    std::vector<item> batch;
    std::vector<boost::system::error_code> results;
    std::vector<between_groups_fn> between_fns;
    auto between_due = std::chrono::steady_clock::time_point::max();
    for (;;) {
      batch.clear();
      bool stop_now = false;
      {
        std::unique_lock lk(q_mu);
        q_cv.wait_until(lk, std::min(upkeep.next_due(), between_due),
                        [&] { return stopping || !queue.empty() || between_changed; });
        if (between_changed) {  // a new one is called once at once
          between_fns = between;
          between_changed = false;
          between_due = std::chrono::steady_clock::now();
        }
        stop_now = stopping && queue.empty();  // stopping and drained
        std::size_t n = std::min(batch_max, queue.size());
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      if (stop_now) {
        run_between(between_fns, true);
        return;
      }
      if (batch.empty()) {
        if (std::chrono::steady_clock::now() >= between_due)
          between_due = run_between(between_fns, false);
        upkeep.maintain();
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
      between_due = run_between(between_fns, false);
      upkeep.maintain();
    }
  }
};

sqlite_db::sqlite_db(const std::string& path, const config::storage_cfg& cfg)
    : impl_(std::make_unique<impl>(cfg, data_dir_of(path))) {
  impl_->batch_max = std::max<std::size_t>(1, cfg.group_commit_max);
  impl_->path = path;
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
  bool read_only = false;
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
    read_only = true;
  }
  try {
    if (!read_only) {
      std::string sync = cfg.synchronous == "normal" ? "NORMAL" : "FULL";
      impl_->exec_or_throw("PRAGMA synchronous=" + sync);
      // The WAL is reused between checkpoints while writes go on (sqlite_upkeep::checkpoint);
      // this caps what it keeps of a burst (docs/CONFIG.md, storage.checkpoint_ms).
      impl_->exec_or_throw("PRAGMA journal_size_limit=" + std::to_string(wal_size_limit));
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
  impl_->read_only = read_only;
  impl_->upkeep.start(impl_->db, read_only);
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

void sqlite_db::on_between_groups(between_groups_fn fn) {
  {
    std::lock_guard lk(impl_->q_mu);
    impl_->between.push_back(std::move(fn));
    impl_->between_changed = true;
  }
  impl_->q_cv.notify_one();
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

const store_health& sqlite_db::health() const noexcept { return impl_->upkeep.health(); }

}  // namespace rushcast::store
