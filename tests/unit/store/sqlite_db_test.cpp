// Tests sqlite_db on a real temporary file: group commit, per-work rollback, callback order,
// synchronous setting and stop() draining the queue.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "rushcast/core/errc.hpp"
#include "rushcast/store/sqlite_db.hpp"
#include "temp_dir.hpp"

using namespace rushcast;
namespace fs = std::filesystem;

namespace {

struct temp_dir : rushcast::test::temp_dir {
  temp_dir() : rushcast::test::temp_dir("rushcast-store") {}
  std::string db() const { return (path / "t.db").string(); }
};

std::int64_t count_rows(store::sqlite_db& db, const char* sql) {
  std::int64_t n = -1;
  db.with_connection([&](sqlite3* c) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(c, sql, -1, &s, nullptr);
    if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
  });
  return n;
}

boost::system::error_code exec(sqlite3* c, const std::string& sql) {
  return store::sqlite_error(sqlite3_exec(c, sql.c_str(), nullptr, nullptr, nullptr));
}

}  // namespace

TEST(SqliteDb, UsesWalAndConfiguredSynchronous) {
  temp_dir d;
  config::storage_cfg cfg;
  cfg.synchronous = "normal";
  store::sqlite_db db(d.db(), cfg);
  std::string mode;
  std::int64_t sync = -1;
  db.with_connection([&](sqlite3* c) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(c, "PRAGMA journal_mode", -1, &s, nullptr);
    if (sqlite3_step(s) == SQLITE_ROW) mode = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
  });
  sync = count_rows(db, "PRAGMA synchronous");
  EXPECT_EQ(mode, "wal");
  EXPECT_EQ(sync, 1);  // NORMAL
}

TEST(SqliteDb, GroupCommitRunsCallbacksInSubmitOrder) {
  temp_dir d;
  config::storage_cfg cfg;
  cfg.group_commit_max = 64;
  store::sqlite_db db(d.db(), cfg);
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY)");
  std::mutex mu;
  std::vector<int> order;
  const int n = 1000;
  for (int i = 0; i < n; ++i)
    db.submit([i](sqlite3* c) { return exec(c, "INSERT INTO t VALUES(" + std::to_string(i) + ")"); },
              [&, i](boost::system::error_code ec) {
                EXPECT_FALSE(ec);
                std::lock_guard lk(mu);
                order.push_back(i);
              });
  db.stop();
  ASSERT_EQ(order.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(count_rows(db, "SELECT count(*) FROM t"), n);
  EXPECT_EQ(db.pending(), 0u);
}

TEST(SqliteDb, FailingWorkRollsBackAlone) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY)");
  std::vector<boost::system::error_code> results(3);
  db.submit([](sqlite3* c) { return exec(c, "INSERT INTO t VALUES(1)"); },
            [&](boost::system::error_code ec) { results[0] = ec; });
  // Writes a row, then fails: its row must not survive.
  db.submit(
      [](sqlite3* c) -> boost::system::error_code {
        if (auto ec = exec(c, "INSERT INTO t VALUES(2)")) return ec;
        return make_error_code(errc::internal);
      },
      [&](boost::system::error_code ec) { results[1] = ec; });
  db.submit([](sqlite3* c) { return exec(c, "INSERT INTO t VALUES(1)"); },  // duplicate key
            [&](boost::system::error_code ec) { results[2] = ec; });
  db.stop();
  EXPECT_FALSE(results[0]);
  EXPECT_EQ(results[1], make_error_code(errc::internal));
  EXPECT_TRUE(results[2]);
  EXPECT_EQ(count_rows(db, "SELECT count(*) FROM t"), 1);
}

// A batch whose works all succeed runs without a savepoint per work (SQLite would copy every
// page they touch into a sub-journal); one that fails makes the batch run again with them.
TEST(SqliteDb, BatchRunsWithoutSavepointsUnlessAWorkFails) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY)");
  // Inside a savepoint named w, "RELEASE w" succeeds; outside one it fails.
  auto in_savepoint = [](sqlite3* c) {
    return sqlite3_exec(c, "RELEASE w; SAVEPOINT w", nullptr,
                        nullptr, nullptr) == SQLITE_OK;
  };
  std::vector<int> seen;  // 1: the work ran inside a savepoint
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  db.submit(
      [&](sqlite3* c) {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return go; });
        seen.push_back(in_savepoint(c));
        return boost::system::error_code{};
      },
      nullptr);
  db.submit([&](sqlite3* c) { seen.push_back(in_savepoint(c)); return exec(c, "INSERT INTO t VALUES(1)"); },
            nullptr);
  {
    std::lock_guard lk(mu);
    go = true;
  }
  cv.notify_all();
  db.stop();
  EXPECT_EQ(seen, (std::vector<int>{0, 0}));
  EXPECT_EQ(count_rows(db, "SELECT count(*) FROM t"), 1);
}

TEST(SqliteDb, SubmitAfterStopFailsAtOnce) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  db.stop();
  bool called = false;
  db.submit([](sqlite3*) { return boost::system::error_code{}; },
            [&](boost::system::error_code ec) {
              called = true;
              EXPECT_EQ(ec, make_error_code(errc::unavailable));
            });
  EXPECT_TRUE(called);
}

TEST(SqliteDb, DataSurvivesReopen) {
  temp_dir d;
  {
    store::sqlite_db db(d.db(), config::storage_cfg{});
    db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY)");
    for (int i = 0; i < 10; ++i)
      db.submit([i](sqlite3* c) { return exec(c, "INSERT INTO t VALUES(" + std::to_string(i) + ")"); },
                nullptr);
  }
  store::sqlite_db db(d.db(), config::storage_cfg{});
  EXPECT_EQ(count_rows(db, "SELECT count(*) FROM t"), 10);
}

TEST(SqliteDb, CallbackMaySubmitAgain) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY)");
  std::mutex mu;
  std::condition_variable cv;
  bool second_done = false;
  db.submit([](sqlite3* c) { return exec(c, "INSERT INTO t VALUES(1)"); },
            [&](boost::system::error_code) {
              db.submit([](sqlite3* c) { return exec(c, "INSERT INTO t VALUES(2)"); },
                        [&](boost::system::error_code ec) {
                          EXPECT_FALSE(ec);
                          std::lock_guard lk(mu);
                          second_done = true;
                          cv.notify_all();
                        });
            });
  std::unique_lock lk(mu);
  ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(10), [&] { return second_done; }));
  lk.unlock();
  db.stop();
  EXPECT_EQ(count_rows(db, "SELECT count(*) FROM t"), 2);
}

TEST(SqliteDb, QueuedWorksShareOneTransaction) {
  temp_dir d;
  config::storage_cfg cfg;
  cfg.group_commit_max = 64;
  store::sqlite_db db(d.db(), cfg);
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY)");
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  std::atomic<int> dones{0};
  std::vector<int> dones_seen_by_work(201, -1);
  // The first work holds the writer until 200 more are queued behind it.
  db.submit(
      [&](sqlite3*) {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return go; });
        return boost::system::error_code{};
      },
      [&](boost::system::error_code) { ++dones; });
  for (int i = 1; i <= 200; ++i)
    db.submit(
        [&, i](sqlite3* c) {
          dones_seen_by_work[i] = dones.load();
          return exec(c, "INSERT INTO t VALUES(" + std::to_string(i) + ")");
        },
        [&](boost::system::error_code) { ++dones; });
  {
    std::lock_guard lk(mu);
    go = true;
  }
  cv.notify_all();
  db.stop();
  // Works of one batch all run before any of its callbacks: the count they saw tells the batch.
  std::set<int> batches(dones_seen_by_work.begin() + 1, dones_seen_by_work.end());
  EXPECT_LE(batches.size(), 5u);  // 200 works at 64 per transaction: 4 batches (+1 for luck)
  EXPECT_EQ(dones.load(), 201);
  EXPECT_EQ(count_rows(db, "SELECT count(*) FROM t"), 200);
}

namespace {

// Submits one work and waits for its commit callback.
boost::system::error_code submit_and_wait(store::sqlite_db& db, store::sqlite_db::work_fn work) {
  std::promise<boost::system::error_code> p;
  auto f = p.get_future();
  db.submit(std::move(work), [&p](boost::system::error_code ec) { p.set_value(ec); });
  return f.get();
}

}  // namespace

TEST(SqliteDbHealth, AcceptsWhenWritesCommitAndSpaceIsThere) {
  temp_dir d;
  config::storage_cfg cfg;
  cfg.min_free_bytes = 0;
  store::sqlite_db db(d.db(), cfg);
  EXPECT_TRUE(db.health().accepting());
  EXPECT_EQ(db.health().get().reason, "");
}

TEST(SqliteDbHealth, FreeSpaceBelowTheMinimumRefusesWithTheReason) {
  temp_dir d;
  config::storage_cfg cfg;
  cfg.min_free_bytes = std::uint64_t{1} << 62;  // more than any disk has
  store::sqlite_db db(d.db(), cfg);
  EXPECT_FALSE(db.health().accepting());
  auto st = db.health().get();
  EXPECT_EQ(st.current, store::store_health::state::low_space);
  EXPECT_NE(st.reason.find("storage.min_free_bytes"), std::string::npos) << st.reason;
  EXPECT_NE(st.reason.find(d.path.string()), std::string::npos) << st.reason;
}

TEST(SqliteDbHealth, StoreFaultStopsAcceptingUntilAWriteCommits) {
  temp_dir d;
  config::storage_cfg cfg;
  cfg.min_free_bytes = 0;
  store::sqlite_db db(d.db(), cfg);
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY)");
  auto ec = submit_and_wait(db, [](sqlite3*) { return store::sqlite_error(SQLITE_FULL); });
  EXPECT_TRUE(ec);
  EXPECT_FALSE(db.health().accepting());
  auto st = db.health().get();
  EXPECT_EQ(st.current, store::store_health::state::failing);
  EXPECT_NE(st.reason.find("full"), std::string::npos) << st.reason;

  EXPECT_FALSE(submit_and_wait(db, [](sqlite3* c) { return exec(c, "INSERT INTO t VALUES(1)"); }));
  EXPECT_TRUE(db.health().accepting());
}

TEST(SqliteDbHealth, ConstraintFailureIsTheWritesFaultNotTheStores) {
  temp_dir d;
  config::storage_cfg cfg;
  cfg.min_free_bytes = 0;
  store::sqlite_db db(d.db(), cfg);
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY)");
  EXPECT_FALSE(submit_and_wait(db, [](sqlite3* c) { return exec(c, "INSERT INTO t VALUES(1)"); }));
  EXPECT_TRUE(submit_and_wait(db, [](sqlite3* c) { return exec(c, "INSERT INTO t VALUES(1)"); }));
  EXPECT_TRUE(db.health().accepting());
}

// While writes go on, a checkpoint keeps the WAL's size (the next commits overwrite it from
// its start: no file growth, no inode write in each fdatasync); once writes stop, the next
// checkpoint truncates it to zero bytes.
TEST(SqliteDbCheckpoint, WalKeepsItsSizeWhileWritesGoOnAndIsTruncatedOnceIdle) {
  temp_dir d;
  config::storage_cfg cfg;
  cfg.checkpoint_ms = 50;
  store::sqlite_db db(d.db(), cfg);
  const std::string wal = d.db() + "-wal";
  auto write = [&](int rows) {
    std::promise<boost::system::error_code> p;
    db.submit(
        [rows](sqlite3* c) {
          if (auto ec = exec(c, "CREATE TABLE IF NOT EXISTS t(x BLOB)")) return ec;
          return exec(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<" +
                             std::to_string(rows) + ") INSERT INTO t SELECT randomblob(1000) FROM n");
        },
        [&p](boost::system::error_code ec) { p.set_value(ec); });
    ASSERT_FALSE(p.get_future().get());
  };
  write(200);
  const auto big = fs::file_size(wal);
  ASSERT_GT(big, 100u * 1024);
  // Small commits over several checkpoint intervals: each checkpoint finds new writes.
  auto smallest = big;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
  while (std::chrono::steady_clock::now() < until) {
    write(1);
    smallest = std::min(smallest, fs::file_size(wal));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(smallest, big) << "a checkpoint truncated the WAL while writes went on";
  bool emptied = false;
  for (int i = 0; i < 200 && !emptied; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    emptied = fs::file_size(wal) == 0;
  }
  EXPECT_TRUE(emptied) << "the WAL kept " << fs::file_size(wal) << " bytes once idle";
}
