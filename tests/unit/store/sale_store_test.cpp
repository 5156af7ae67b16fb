// Tests sqlite_sale_store on a real temporary SQLite file: meta and admissions round trip,
// the per-user uniqueness guard, completion of unknown positions, the buyers index written in
// batches (finished buyers found before and after a batch, after a crash, bounded) and files
// of the earlier layouts.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "rushcast/core/errc.hpp"
#include "rushcast/store/sqlite_db.hpp"
#include "rushcast/store/sqlite_sale_store.hpp"
#include "temp_dir.hpp"

using namespace rushcast;
namespace fs = std::filesystem;

namespace {

struct temp_dir : rushcast::test::temp_dir {
  temp_dir() : rushcast::test::temp_dir("rushcast-salestore") {}
  std::string db() const { return (path / "s.db").string(); }
};

// The buyers index is written only when a test says so (the writer stops, or the bound).
store::sqlite_sale_store_options index_later() {
  store::sqlite_sale_store_options o;
  o.buyer_index_batch = 1'000'000;
  o.buyer_index_delay = std::chrono::hours(1);
  return o;
}

std::int64_t count_rows(store::sqlite_db& db, const std::string& sql) {
  std::int64_t n = -1;
  db.with_connection([&](sqlite3* c) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(c, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
      n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
  });
  return n;
}

template <class Pred>
bool eventually(Pred p) {
  for (int i = 0; i < 500; ++i) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return p();
}

store::admission_record rec(std::int64_t pos, std::string user, std::int64_t seq = 1) {
  store::admission_record a;
  a.position = pos;
  a.user_id = std::move(user);
  a.user_seq = seq;
  a.ts_ms = 1000 + pos;
  return a;
}

}  // namespace

TEST(SaleStore, RoundTripsMetaAndAdmissions) {
  temp_dir d;
  std::vector<boost::system::error_code> ec(6);
  {
    store::sqlite_db db(d.db(), config::storage_cfg{});
    store::sqlite_sale_store st(db, index_later());
    EXPECT_FALSE(st.load("s1").meta);
    st.set_meta("s1", {100, 200, 3});
    // One batch of a sale at a time, as sale_store::persist asks.
    auto waited = [](auto call) {
      std::promise<boost::system::error_code> p;
      call([&p](boost::system::error_code e) { p.set_value(e); });
      return p.get_future().get();
    };
    ec[0] = waited([&](auto cb) { st.admit("s1", rec(2, "bob"), cb); });
    ec[1] = waited([&](auto cb) { st.admit("s1", rec(1, "alice"), cb); });
    st.admit("other", rec(1, "alice"), [&](auto e) { ec[2] = e; });
    ec[3] = waited([&](auto cb) { st.complete("s1", 1, "s1-1", cb); });
    ec[4] = waited([&](auto cb) { st.admit("s1", rec(3, "alice"), cb); });  // same user, seq
    st.complete("s1", 9, "s1-9", [&](auto e) { ec[5] = e; });  // unknown position
    db.stop();
  }
  EXPECT_FALSE(ec[0]);
  EXPECT_FALSE(ec[1]);
  EXPECT_FALSE(ec[2]);
  EXPECT_FALSE(ec[3]);
  EXPECT_TRUE(ec[4]);
  EXPECT_EQ(ec[5], make_error_code(errc::not_found));

  store::sqlite_db db(d.db(), config::storage_cfg{});
  store::sqlite_sale_store st(db);
  auto r = st.load("s1");
  ASSERT_TRUE(r.meta);
  EXPECT_EQ(r.meta->start_ms, 100);
  EXPECT_EQ(r.meta->end_ms, 200);
  EXPECT_EQ(r.meta->stock_total, 3);
  EXPECT_EQ(r.admitted, 2);
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(r.last_position, 2);
  // Only the tail from the first admission not worked off: alice's is done, in the store only.
  ASSERT_EQ(r.admissions.size(), 1u);
  EXPECT_EQ(r.admissions[0].position, 2);
  EXPECT_EQ(r.admissions[0].user_id, "bob");
  EXPECT_FALSE(r.admissions[0].done);
  EXPECT_EQ(r.admissions[0].ts_ms, 1002);
  auto alice = st.finished_for("s1", "alice", 1);
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->count, 1);
  EXPECT_EQ(alice->latest_position, 1);
  EXPECT_EQ(alice->latest_order_id, "s1-1");
  std::vector<std::string> buyers;
  st.for_each_buyer("s1", [&](std::string_view u) { buyers.emplace_back(u); });
  EXPECT_EQ(buyers, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(st.load("other").admissions.size(), 1u);
}

TEST(SaleStore, SecondPurchaseOfAUserNeedsTheNextSeq) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  store::sqlite_sale_store st(db);
  boost::system::error_code e1, e2;
  st.admit("s", rec(1, "u", 1), [&](auto e) { e1 = e; });
  st.admit("s", rec(2, "u", 2), [&](auto e) { e2 = e; });
  db.stop();
  EXPECT_FALSE(e1);
  EXPECT_FALSE(e2);
  EXPECT_EQ(st.load("s").admissions.size(), 2u);
  auto u = st.finished_for("s", "u", 2);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->count, 2);
  EXPECT_EQ(u->latest_seq, 2);
  EXPECT_EQ(u->latest_position, 2);
  EXPECT_EQ(st.finished_for("s", "u", 1)->count, 1) << "positions after up_to were counted";
  EXPECT_EQ(st.finished_for("s", "nobody", 2)->count, 0);
}

TEST(SaleStore, FinishedReadsSeeEveryCommitWithoutWaitingForTheWriter) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  store::sqlite_sale_store st(db);
  std::promise<void> stored;
  st.admit("s", rec(1, "u"), [&](auto) {});
  st.complete("s", 1, "s-1", [&](auto) { stored.set_value(); });
  stored.get_future().wait();
  auto u = st.finished_for("s", "u", 1);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->count, 1) << "a commit that returned is not visible to the reader";
  EXPECT_EQ(u->latest_order_id, "s-1");
}

// "Decide, then persist in batches": one batch, one callback, one result per record; a record
// that contradicts the table fails alone and the rest of the batch is kept.
TEST(SaleStore, BatchKeepsEveryRecordButTheOneThatContradictsTheTable) {
  temp_dir d;
  store::sale_batch_result got;
  int calls = 0;
  {
    store::sqlite_db db(d.db(), config::storage_cfg{});
    store::sqlite_sale_store st(db, index_later());
    std::promise<void> first;
    st.admit("s", rec(1, "alice"), [&](auto) { first.set_value(); });
    first.get_future().wait();

    store::sale_batch b;
    b.admissions = {rec(2, "bob"), rec(3, "alice"), rec(4, "carol")};  // alice's seq 1 is taken
    b.orders = {{1, "s-1"}, {9, "s-9"}};                                 // 9 was never admitted
    std::promise<void> done;
    st.persist("s", b, [&](store::sale_batch_result r) {
      ++calls;
      got = std::move(r);
      done.set_value();
    });
    done.get_future().wait();
    db.stop();
  }
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(got.admissions.size(), 3u);
  ASSERT_EQ(got.orders.size(), 2u);
  EXPECT_FALSE(got.admissions[0]);
  EXPECT_TRUE(got.admissions[1]) << "a second seq-1 admission of alice was kept";
  EXPECT_FALSE(got.admissions[2]);
  EXPECT_FALSE(got.orders[0]);
  EXPECT_EQ(got.orders[1], make_error_code(errc::not_found));

  store::sqlite_db db(d.db(), config::storage_cfg{});
  store::sqlite_sale_store st(db);
  auto r = st.load("s");
  EXPECT_EQ(r.admitted, 3);  // 1, 2, 4
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(r.last_position, 4);
}

// A store that has stopped takes nothing: every record of the batch fails, once.
TEST(SaleStore, BatchOnAStoppedStoreFailsEveryRecordOnce) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  store::sqlite_sale_store st(db);
  db.stop();
  store::sale_batch b;
  b.admissions = {rec(1, "a"), rec(2, "b")};
  b.orders = {{1, "s-1"}};
  int calls = 0;
  store::sale_batch_result got;
  st.persist("s", b, [&](store::sale_batch_result r) {
    ++calls;
    got = std::move(r);
  });
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(got.admissions.size(), 2u);
  ASSERT_EQ(got.orders.size(), 1u);
  for (const auto& ec : got.admissions) EXPECT_EQ(ec, make_error_code(errc::unavailable));
  EXPECT_EQ(got.orders[0], make_error_code(errc::unavailable));
}

namespace {

// Runs a batch and waits for its one callback.
store::sale_batch_result persist_and_wait(store::sqlite_sale_store& st, const std::string& sale,
                                          store::sale_batch b) {
  std::promise<store::sale_batch_result> p;
  st.persist(sale, std::move(b), [&p](store::sale_batch_result r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

std::string admissions_table_sql(store::sqlite_db& db) {
  std::string sql;
  db.with_connection([&](sqlite3* c) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(c, "SELECT sql FROM sqlite_master WHERE name='sale_admissions'", -1, &s,
                       nullptr);
    if (sqlite3_step(s) == SQLITE_ROW)
      sql = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
  });
  return sql;
}

// The same records through a batch, a restart and the finished-buyer read, whatever the layout.
void check_admissions_round_trip(const std::string& path) {
  {
    store::sqlite_db db(path, config::storage_cfg{});
    store::sqlite_sale_store st(db, index_later());
    store::sale_batch b;
    b.admissions = {rec(1, "ann"), rec(2, "bob"), rec(3, "ann", 2)};
    auto r = persist_and_wait(st, "s", b);
    for (const auto& ec : r.admissions) EXPECT_FALSE(ec) << ec.message();
    store::sale_batch orders;
    orders.orders = {{1, "s-1"}, {2, "s-2"}};
    orders.admissions = {rec(4, "bob")};  // bob's (user, seq 1) is taken: fails alone
    auto o = persist_and_wait(st, "s", orders);
    ASSERT_EQ(o.admissions.size(), 1u);
    EXPECT_TRUE(o.admissions[0]);
    for (const auto& ec : o.orders) EXPECT_FALSE(ec) << ec.message();
    db.stop();
  }
  store::sqlite_db db(path, config::storage_cfg{});
  store::sqlite_sale_store st(db);
  auto r = st.load("s");
  EXPECT_EQ(r.admitted, 3);
  EXPECT_EQ(r.done, 2);
  EXPECT_EQ(r.last_position, 3);
  ASSERT_EQ(r.admissions.size(), 1u);  // the tail from the first one not worked off
  EXPECT_EQ(r.admissions[0].position, 3);
  EXPECT_EQ(r.admissions[0].user_seq, 2);
  auto ann = st.finished_for("s", "ann", 2);
  ASSERT_TRUE(ann);
  EXPECT_EQ(ann->count, 1);
  EXPECT_EQ(ann->latest_order_id, "s-1");
  std::vector<std::string> buyers;
  st.for_each_buyer("s", [&](std::string_view u) { buyers.emplace_back(u); });
  EXPECT_EQ(buyers.size(), 3u);
}

}  // namespace

// A new file keeps admissions in their primary key's tree (WITHOUT ROWID: one B-tree fewer per
// admission written) without the per-user unique index (it is sale_buyers, written in
// batches), and every read and write works on it; the writer's stop writes the index.
TEST(SaleStore, NewFileKeepsAdmissionsWithoutARowidTableOrAUserIndex) {
  temp_dir d;
  {
    store::sqlite_db db(d.db(), config::storage_cfg{});
    store::sqlite_sale_store st(db);
    EXPECT_NE(admissions_table_sql(db).find("WITHOUT ROWID"), std::string::npos);
    EXPECT_EQ(admissions_table_sql(db).find("UNIQUE"), std::string::npos);
  }
  check_admissions_round_trip(d.db());
  store::sqlite_db db(d.db(), config::storage_cfg{});
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM sale_buyers"), 3)
      << "the writer's stop did not write the buyers index";
  EXPECT_EQ(count_rows(db, "SELECT up_to FROM sale_buyers_indexed WHERE sale_id='s'"), 3);
}

// sale_admissions as versions before session 8 made it: the unique user index inside it, as
// a WITHOUT ROWID table (session 7) or a rowid table (earlier).
void create_old_admissions_table(store::sqlite_db& db, bool without_rowid) {
  db.exec(std::string(R"sql(
      CREATE TABLE sale_admissions (
        sale_id TEXT NOT NULL, position INTEGER NOT NULL, user_id TEXT NOT NULL,
        user_seq INTEGER NOT NULL DEFAULT 1, status INTEGER NOT NULL DEFAULT 0, order_id TEXT,
        ts_ms INTEGER NOT NULL, PRIMARY KEY (sale_id, position),
        UNIQUE (sale_id, user_id, user_seq)))sql") +
          (without_rowid ? " WITHOUT ROWID;" : ";"));
}

// Files of session 7 (WITHOUT ROWID, the unique user index inside sale_admissions) keep that
// index: admissions go into it as before, duplicates are refused and finished buyers found.
TEST(SaleStore, FileWithTheSessionSevenLayoutKeepsItsUniqueIndex) {
  temp_dir d;
  {
    store::sqlite_db db(d.db(), config::storage_cfg{});
    create_old_admissions_table(db, true);
    store::sqlite_sale_store st(db);
    EXPECT_NE(admissions_table_sql(db).find("UNIQUE"), std::string::npos);
    EXPECT_EQ(st.buyers_waiting_for_index(), 0u);
  }
  check_admissions_round_trip(d.db());
  store::sqlite_db db(d.db(), config::storage_cfg{});
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM sqlite_master WHERE name='sale_buyers'"), 0)
      << "an earlier file got the new index beside its own";
}

// A buyer who finished and left the sale's memory is found while the index batch has not been
// written yet: from the store's memory, with the order id from the admission's row.
TEST(SaleStore, FinishedBuyerIsFoundBeforeTheIndexBatch) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  store::sqlite_sale_store st(db, index_later());
  store::sale_batch b;
  b.admissions = {rec(1, "alice"), rec(2, "bob")};
  b.admissions[0].done = true;
  b.admissions[0].order_id = "s-1";
  auto r = persist_and_wait(st, "s", b);
  ASSERT_FALSE(r.admissions[0]);
  ASSERT_FALSE(r.admissions[1]);
  EXPECT_EQ(st.buyers_waiting_for_index(), 2u);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM sale_buyers"), 0) << "indexed already";
  auto alice = st.finished_for("s", "alice", 2);
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->count, 1);
  EXPECT_EQ(alice->latest_position, 1);
  EXPECT_EQ(alice->latest_seq, 1);
  EXPECT_EQ(alice->latest_order_id, "s-1");
  EXPECT_EQ(st.finished_for("s", "bob", 1)->count, 0) << "a position after up_to was counted";
  EXPECT_EQ(st.finished_for("s", "carol", 2)->count, 0);
  EXPECT_EQ(st.finished_for("other", "alice", 2)->count, 0);
  // Its (user, seq) is refused while it waits.
  store::sale_batch again;
  again.admissions = {rec(3, "alice"), rec(4, "alice", 2), rec(5, "dan"), rec(6, "dan")};
  auto a = persist_and_wait(st, "s", again);
  EXPECT_TRUE(a.admissions[0]) << "a second seq-1 admission of alice was kept";
  EXPECT_FALSE(a.admissions[1]);
  EXPECT_FALSE(a.admissions[2]);
  EXPECT_TRUE(a.admissions[3]) << "dan's seq 1 twice in one batch was kept";
  auto twice = st.finished_for("s", "alice", 4);
  EXPECT_EQ(twice->count, 2);
  EXPECT_EQ(twice->latest_position, 4);
  EXPECT_EQ(twice->latest_order_id, "");
}

// Once the batch is written (here: at buyer_index_batch waiting), the buyers are found in the
// index, counted once, with the order ids their rows hold now.
TEST(SaleStore, FinishedBuyerIsFoundAfterTheIndexBatch) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  auto opt = index_later();
  opt.buyer_index_batch = 3;
  store::sqlite_sale_store st(db, opt);
  store::sale_batch b;
  b.admissions = {rec(1, "carol"), rec(2, "alice"), rec(3, "bob"), rec(4, "alice", 2)};
  persist_and_wait(st, "s", b);
  ASSERT_TRUE(eventually([&] { return st.buyers_waiting_for_index() == 0; }));
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM sale_buyers"), 4);
  EXPECT_EQ(count_rows(db, "SELECT up_to FROM sale_buyers_indexed WHERE sale_id='s'"), 4);
  store::sale_batch orders;
  orders.orders = {{2, "s-2"}, {4, "s-4"}};
  persist_and_wait(st, "s", orders);
  auto alice = st.finished_for("s", "alice", 4);
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->count, 2);
  EXPECT_EQ(alice->latest_position, 4);
  EXPECT_EQ(alice->latest_seq, 2);
  EXPECT_EQ(alice->latest_order_id, "s-4");
  EXPECT_EQ(st.finished_for("s", "alice", 3)->latest_order_id, "s-2");
  EXPECT_EQ(st.finished_for("s", "bob", 4)->count, 1);
  EXPECT_EQ(st.finished_for("s", "dave", 4)->count, 0);
}

// kill -9 between an admission's commit and its index batch: the file (copied while the
// writer is idle, as a crash leaves it) holds the admissions but not their index; the next
// start answers for them at once and writes their index.
TEST(SaleStore, AdmissionsCommittedBeforeACrashAreIndexedAfterTheRestart) {
  temp_dir d;
  const std::string crashed = (d.path / "crashed.db").string();
  config::storage_cfg cfg;
  cfg.checkpoint_ms = 3'600'000;  // nothing moves in the files while they are copied
  {
    store::sqlite_db db(d.db(), cfg);
    store::sqlite_sale_store st(db, index_later());
    store::sale_batch b;
    b.admissions = {rec(1, "alice"), rec(2, "bob"), rec(3, "carol")};
    b.admissions[0].done = true;
    b.admissions[0].order_id = "s-1";
    persist_and_wait(st, "s", b);
    ASSERT_EQ(st.buyers_waiting_for_index(), 3u);
    fs::copy_file(d.db(), crashed);
    fs::copy_file(d.db() + "-wal", crashed + "-wal");
  }
  store::sqlite_db db(crashed, cfg);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM sale_buyers"), 0) << "indexed before the crash";
  auto opt = index_later();
  opt.buyer_index_delay = std::chrono::milliseconds(200);
  store::sqlite_sale_store st(db, opt);
  auto r = st.load("s");
  EXPECT_EQ(r.admitted, 3);
  auto alice = st.finished_for("s", "alice", 3);
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->count, 1);
  EXPECT_EQ(alice->latest_position, 1);
  EXPECT_EQ(alice->latest_order_id, "s-1");
  EXPECT_EQ(st.finished_for("s", "carol", 3)->latest_position, 3);
  ASSERT_TRUE(eventually([&] { return st.buyers_waiting_for_index() == 0; }))
      << "the index did not catch up";
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM sale_buyers"), 3);
  EXPECT_EQ(count_rows(db, "SELECT up_to FROM sale_buyers_indexed WHERE sale_id='s'"), 3);
  EXPECT_EQ(st.finished_for("s", "alice", 3)->latest_order_id, "s-1");
  EXPECT_EQ(st.finished_for("s", "bob", 3)->latest_position, 2);
}

// What waits for the index is bounded: beyond buyer_index_max, an admission fails (the caller
// answers 503) instead of growing the store's memory.
TEST(SaleStore, AdmissionsFailWhenTooManyWaitForTheIndex) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  auto opt = index_later();
  opt.buyer_index_max = 2;
  store::sqlite_sale_store st(db, opt);
  store::sale_batch b;
  b.admissions = {rec(1, "a"), rec(2, "b")};
  auto r = persist_and_wait(st, "s", b);
  EXPECT_FALSE(r.admissions[0]);
  EXPECT_FALSE(r.admissions[1]);
  store::sale_batch more;
  more.admissions = {rec(3, "c")};
  auto m = persist_and_wait(st, "s", more);
  EXPECT_EQ(m.admissions[0], make_error_code(errc::unavailable));
  EXPECT_EQ(st.buyers_waiting_for_index(), 2u);
  EXPECT_EQ(st.load("s").admitted, 2);
}

// A file made before that layout (a rowid table) is read and written as it is.
TEST(SaleStore, FileWithTheEarlierRowidLayoutStillWorks) {
  temp_dir d;
  {
    store::sqlite_db db(d.db(), config::storage_cfg{});
    create_old_admissions_table(db, false);
    store::sqlite_sale_store st(db);
    EXPECT_EQ(admissions_table_sql(db).find("WITHOUT ROWID"), std::string::npos);
  }
  check_admissions_round_trip(d.db());
}

// An admission written already done (its order due at once) is one row, done, with its order
// id: recovery counts it worked off and a finished read tells its order.
TEST(SaleStore, AdmissionWrittenDoneKeepsItsOrder) {
  temp_dir d;
  std::vector<boost::system::error_code> got;
  {
    store::sqlite_db db(d.db(), config::storage_cfg{});
    store::sqlite_sale_store st(db);
    EXPECT_TRUE(st.writes_orders_with_admissions());
    store::sale_batch b;
    b.admissions.push_back(rec(1, "alice"));
    b.admissions.back().done = true;
    b.admissions.back().order_id = "s-1";
    b.admissions.push_back(rec(2, "bob"));
    std::promise<void> stored;
    st.persist("s", std::move(b), [&](store::sale_batch_result r) {
      got = r.admissions;
      stored.set_value();
    });
    stored.get_future().wait();
    auto alice = st.finished_for("s", "alice", 1);
    ASSERT_TRUE(alice);
    EXPECT_EQ(alice->latest_order_id, "s-1");
    // Done already: an order for it finds nothing queued.
    boost::system::error_code again;
    st.complete("s", 1, "s-1", [&](auto e) { again = e; });
    db.stop();
    EXPECT_EQ(again, make_error_code(errc::not_found));
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[0]);
  EXPECT_FALSE(got[1]);
  store::sqlite_db db(d.db(), config::storage_cfg{});
  store::sqlite_sale_store st(db);
  auto r = st.load("s");
  EXPECT_EQ(r.admitted, 2);
  EXPECT_EQ(r.done, 1);
  ASSERT_EQ(r.admissions.size(), 1u) << "the tail starts after the admission written done";
  EXPECT_EQ(r.admissions[0].position, 2);
  EXPECT_FALSE(r.admissions[0].done);
  EXPECT_TRUE(r.admissions[0].order_id.empty());
}

// The window holds thousands of admissions of several sales (it grows while the index waits):
// each is found under its own sale only, with every seq of its user, and a repeated (user,
// seq) is refused in the sale that has it and accepted in the other.
TEST(SaleStore, ThousandsWaitingForTheIndexAreFoundInTheirOwnSale) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  store::sqlite_sale_store st(db, index_later());
  for (const char* sale : {"a", "b"}) {
    for (int from = 1; from <= 3000; from += 500) {
      store::sale_batch b;
      for (int p = from; p < from + 500; ++p)
        b.admissions.push_back(rec(p, std::string(sale) + "-u" + std::to_string(p % 1500),
                                   p > 1500 ? 2 : 1));
      auto r = persist_and_wait(st, sale, b);
      for (const auto& ec : r.admissions) ASSERT_FALSE(ec) << ec.message();
    }
  }
  EXPECT_EQ(st.buyers_waiting_for_index(), 6000u);
  auto u = st.finished_for("a", "a-u7", 3000);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->count, 2);
  EXPECT_EQ(u->latest_seq, 2);
  EXPECT_EQ(u->latest_position, 1507);
  EXPECT_EQ(st.finished_for("a", "a-u7", 1000)->count, 1);
  EXPECT_EQ(st.finished_for("b", "a-u7", 3000)->count, 0) << "found under another sale";
  EXPECT_EQ(st.finished_for("b", "b-u1499", 3000)->latest_position, 2999);
  store::sale_batch again;
  again.admissions = {rec(3001, "a-u7", 2)};
  EXPECT_TRUE(persist_and_wait(st, "a", again).admissions[0]);
  EXPECT_FALSE(persist_and_wait(st, "c", again).admissions[0]);
}
