// Owns the SQLite file (WAL), its one writer thread and group commit: many callers' writes
// share one transaction and one fsync; and the store's health: probes, free space on the data
// dir, WAL checkpoints on a schedule. Used by the sqlite_*_store classes and app/server.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/system/error_code.hpp>

#include "rushcast/config/config.hpp"
#include "rushcast/store/store_health.hpp"

struct sqlite3;

namespace rushcast::store {

// SQLite result codes as error values (category "sqlite"); rc SQLITE_OK is success.
const boost::system::error_category& sqlite_category() noexcept;
boost::system::error_code sqlite_error(int rc) noexcept;

class sqlite_db {
public:
  // Opens (creating) path, sets WAL and PRAGMA synchronous from cfg, probes that a write
  // commits and that the data dir has storage.min_free_bytes free, starts the writer thread.
  // A store that cannot write does not throw: health() says why (a file that exists on a
  // read-only file system is opened read-only, so the daemon can still recover and serve).
  // Throws std::runtime_error when the file cannot be opened or created at all (start-up only).
  sqlite_db(const std::string& path, const config::storage_cfg& cfg);
  ~sqlite_db();  // stop()
  sqlite_db(const sqlite_db&) = delete;
  sqlite_db& operator=(const sqlite_db&) = delete;

  // Start-up only, on the calling thread, before any submit(): schema, recovery reads.
  // Throws on SQL error.
  void exec(const std::string& sql);
  void with_connection(const std::function<void(sqlite3*)>& fn);
  // Start-up: a new read-only connection to the same file, for reads off the writer thread
  // (WAL: a reader sees the last commit and never waits for the writer). The caller closes it
  // (sqlite3_close_v2) and uses it from one thread at a time. Throws std::runtime_error.
  sqlite3* open_reader();

  // Queues a write. The writer thread runs up to storage.group_commit_max queued works in one
  // transaction; after COMMIT returns (durable per PRAGMA synchronous) it calls every done(ec)
  // on the writer thread, in submit order; callers post back to their own strand. The works
  // of a batch first run without a savepoint each; when one of them fails, the whole
  // transaction is rolled back and the batch runs again with a savepoint per work, and if
  // that cannot commit, each work alone: so one bad write fails alone. A work may therefore
  // run more than once and must do the same each time (take its input once).
  // work returns an error code to fail its own write (its changes are rolled back).
  using work_fn = std::function<boost::system::error_code(sqlite3*)>;
  using done_fn = std::function<void(boost::system::error_code)>;
  void submit(work_fn work, done_fn done);

  // A store's own writes that need not ride in anybody's commit (sqlite_sale_store: its
  // buyers index, written in large sorted batches). Start-up, before any submit(). The writer
  // thread calls fn(c, flush) between group commits, outside any transaction and holding the
  // connection alone: after every group's callbacks, and whenever it wakes with nothing
  // queued; flush is true once, when the writer stops (after the last group). fn opens its
  // own transaction when it has something to write, and returns when it wants to be called
  // next at the latest (time_point::max(): not before the next group).
  using between_groups_fn =
      std::function<std::chrono::steady_clock::time_point(sqlite3*, bool flush)>;
  void on_between_groups(between_groups_fn fn);

  // Commits what is queued, then stops the writer thread. Idempotent.
  void stop();

  std::size_t pending() const;

  // Thread-safe. Whether new admissions and bids may be offered, and why not. The writer
  // thread keeps it true to the file through sqlite_upkeep: a write that fails for the store's
  // sake (full, I/O error, read-only; not a constraint) marks it failing, a probe write every
  // probe interval while failing (or any batch that commits) clears it; free space is checked
  // every space interval.
  const store_health& health() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace rushcast::store
