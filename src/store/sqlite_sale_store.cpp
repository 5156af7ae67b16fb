// Owns the sale tables and their prepared statements; admissions and completions go through
// sqlite_db's group commit. Used by engine::sale_runner via the sale_store interface.
#include "rushcast/store/sqlite_sale_store.hpp"

#include <sqlite3.h>

#include <mutex>
#include <stdexcept>

#include "rushcast/core/errc.hpp"
#include "rushcast/store/sqlite_db.hpp"
#include "rushcast/store/sqlite_stmt.hpp"

namespace rushcast::store {
namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS sale_meta (
  sale_id TEXT PRIMARY KEY,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  stock_total INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sale_admissions (
  sale_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  user_seq INTEGER NOT NULL DEFAULT 1,
  status INTEGER NOT NULL DEFAULT 0,
  order_id TEXT,
  ts_ms INTEGER NOT NULL,
  PRIMARY KEY (sale_id, position),
  UNIQUE (sale_id, user_id, user_seq)
) WITHOUT ROWID;
)sql";
// WITHOUT ROWID: the rows live in the (sale_id, position) tree itself, so an admission is
// written to two B-trees instead of three (no rowid table beside the primary key's index), and
// an order's UPDATE finds its row in one descent. Files made before keep their rowid table:
// every statement here reads and writes both layouts alike.

// status column: 0 queued (admitted, waiting), 1 done (order placed).
constexpr int status_done = 1;

// A record that contradicts the table (a taken position or (user, user_seq)): its own failure,
// not the store's.
bool is_constraint(const boost::system::error_code& ec) {
  return ec.category() == sqlite_category() && (ec.value() & 0xff) == SQLITE_CONSTRAINT;
}

void prepare_or_throw(sqlite3* db, const char* sql, stmt_guard& g) {
  store::prepare_or_throw(db, sql, g, "sqlite_sale_store");
}

}  // namespace

struct sqlite_sale_store::impl {
  sqlite_db& db;
  // Prepared on first use, on the writer thread, and used only there.
  sqlite3_stmt* insert_admission = nullptr;
  sqlite3_stmt* complete_admission = nullptr;
  // The read connection for finished_for(), shared by every sale's strand under read_mu.
  std::mutex read_mu;
  sqlite3* reader = nullptr;
  sqlite3_stmt* find_user = nullptr;

  explicit impl(sqlite_db& d) : db(d) {}
  ~impl() {
    sqlite3_finalize(insert_admission);
    sqlite3_finalize(complete_admission);
    sqlite3_finalize(find_user);
    if (reader) sqlite3_close_v2(reader);
  }

  static boost::system::error_code ensure(sqlite3* c, sqlite3_stmt*& s, const char* sql) {
    return ensure_prepared(c, s, sql);
  }
  static boost::system::error_code run(sqlite3_stmt* s) { return step_once(s); }
};

sqlite_sale_store::sqlite_sale_store(sqlite_db& db) : impl_(std::make_shared<impl>(db)) {
  db.exec(schema);
  impl_->reader = db.open_reader();
  // The (sale_id, user_id, user_seq) unique index answers this from a user's few rows.
  if (sqlite3_prepare_v2(impl_->reader,
                         "SELECT position, user_seq, order_id FROM sale_admissions "
                         "WHERE sale_id=?1 AND user_id=?2 AND position<=?3 "
                         "ORDER BY user_seq DESC",
                         -1, &impl_->find_user, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("sqlite_sale_store: ") + sqlite3_errmsg(impl_->reader));
}

sqlite_sale_store::~sqlite_sale_store() = default;

recovered_sale sqlite_sale_store::load(const std::string& sale_id) {
  recovered_sale out;
  std::int64_t tail_from = 0;
  impl_->db.with_connection([&](sqlite3* c) {
    {
      stmt_guard g;
      prepare_or_throw(c, "SELECT start_ms, end_ms, stock_total FROM sale_meta WHERE sale_id=?",
                       g);
      sqlite3_bind_text(g.s, 1, sale_id.data(), static_cast<int>(sale_id.size()),
                        SQLITE_TRANSIENT);
      int rc = sqlite3_step(g.s);
      if (rc == SQLITE_ROW)
        out.meta = sale_meta{sqlite3_column_int64(g.s, 0), sqlite3_column_int64(g.s, 1),
                             sqlite3_column_int64(g.s, 2)};
      else if (rc != SQLITE_DONE)
        throw std::runtime_error(std::string("sqlite_sale_store load: ") + sqlite3_errmsg(c));
    }
    {
      // Totals over every admission, and where the unfinished tail begins.
      stmt_guard g;
      prepare_or_throw(c,
                       "SELECT COUNT(*), COALESCE(SUM(status=1),0), COALESCE(MAX(position),0), "
                       "MIN(CASE WHEN status=0 THEN position END) "
                       "FROM sale_admissions WHERE sale_id=?",
                       g);
      sqlite3_bind_text(g.s, 1, sale_id.data(), static_cast<int>(sale_id.size()),
                        SQLITE_TRANSIENT);
      if (sqlite3_step(g.s) != SQLITE_ROW)
        throw std::runtime_error(std::string("sqlite_sale_store load: ") + sqlite3_errmsg(c));
      out.admitted = sqlite3_column_int64(g.s, 0);
      out.done = sqlite3_column_int64(g.s, 1);
      out.last_position = sqlite3_column_int64(g.s, 2);
      if (sqlite3_column_type(g.s, 3) == SQLITE_NULL) return;  // every admission is done
      tail_from = sqlite3_column_int64(g.s, 3);
    }
    stmt_guard g;
    prepare_or_throw(c,
                     "SELECT position, user_id, user_seq, status, order_id, ts_ms "
                     "FROM sale_admissions WHERE sale_id=? AND position>=? ORDER BY position",
                     g);
    sqlite3_bind_text(g.s, 1, sale_id.data(), static_cast<int>(sale_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(g.s, 2, tail_from);
    int rc;
    while ((rc = sqlite3_step(g.s)) == SQLITE_ROW) {
      admission_record a;
      a.position = sqlite3_column_int64(g.s, 0);
      a.user_id = column_text(g.s, 1);
      a.user_seq = sqlite3_column_int64(g.s, 2);
      a.done = sqlite3_column_int(g.s, 3) == status_done;
      a.order_id = column_text(g.s, 4);
      a.ts_ms = sqlite3_column_int64(g.s, 5);
      out.admissions.push_back(std::move(a));
    }
    if (rc != SQLITE_DONE)
      throw std::runtime_error(std::string("sqlite_sale_store load: ") + sqlite3_errmsg(c));
  });
  return out;
}

void sqlite_sale_store::set_meta(const std::string& sale_id, const sale_meta& meta) {
  impl_->db.with_connection([&](sqlite3* c) {
    stmt_guard g;
    prepare_or_throw(c,
                     "INSERT INTO sale_meta(sale_id, start_ms, end_ms, stock_total) "
                     "VALUES(?,?,?,?) ON CONFLICT(sale_id) DO UPDATE SET "
                     "start_ms=excluded.start_ms, end_ms=excluded.end_ms, "
                     "stock_total=excluded.stock_total",
                     g);
    sqlite3_bind_text(g.s, 1, sale_id.data(), static_cast<int>(sale_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(g.s, 2, meta.start_ms);
    sqlite3_bind_int64(g.s, 3, meta.end_ms);
    sqlite3_bind_int64(g.s, 4, meta.stock_total);
    if (sqlite3_step(g.s) != SQLITE_DONE)
      throw std::runtime_error(std::string("sqlite_sale_store set_meta: ") + sqlite3_errmsg(c));
  });
}

void sqlite_sale_store::for_each_buyer(const std::string& sale_id,
                                       const std::function<void(std::string_view)>& fn) {
  impl_->db.with_connection([&](sqlite3* c) {
    stmt_guard g;
    prepare_or_throw(c, "SELECT user_id FROM sale_admissions WHERE sale_id=?", g);
    sqlite3_bind_text(g.s, 1, sale_id.data(), static_cast<int>(sale_id.size()),
                      SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(g.s)) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(g.s, 0);
      fn(std::string_view(t ? reinterpret_cast<const char*>(t) : "",
                          static_cast<std::size_t>(sqlite3_column_bytes(g.s, 0))));
    }
    if (rc != SQLITE_DONE)
      throw std::runtime_error(std::string("sqlite_sale_store for_each_buyer: ") +
                               sqlite3_errmsg(c));
  });
}

// On a sale's strand. Safe there: the reader has its own connection, and in WAL mode a read
// transaction takes the last commit without waiting for the writer (busy only for a moment
// while a checkpoint resets the WAL; 50 ms at most, then the caller answers 503). The read is
// an index lookup on (sale_id, user_id): a few microseconds from cached pages, and it happens
// only for a buyer the sale's filter may have seen (duplicates, results), never for a fresh
// one. read_mu serialises the sales sharing this connection.
boost::system::result<finished_admissions> sqlite_sale_store::finished_for(
    const std::string& sale_id, std::string_view user_id, std::int64_t up_to) {
  std::lock_guard lk(impl_->read_mu);
  sqlite3_stmt* s = impl_->find_user;
  sqlite3_bind_text(s, 1, sale_id.data(), static_cast<int>(sale_id.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 2, user_id.data(), static_cast<int>(user_id.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, up_to);
  finished_admissions out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (out.count++ == 0) {
      out.latest_position = sqlite3_column_int64(s, 0);
      out.latest_seq = sqlite3_column_int64(s, 1);
      out.latest_order_id = column_text(s, 2);
    }
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE) return sqlite_error(rc);
  return out;
}

// The whole batch is one work of sqlite_db's group commit (one savepoint, one fsync shared
// with whatever else commits with it). A record that contradicts the table fails alone: SQLite
// undoes only the failing statement (ON CONFLICT ABORT) and the others stay. Any other error
// (the store cannot write) fails the work, which rolls back every record of the batch.
void sqlite_sale_store::persist(const std::string& sale_id, sale_batch batch,
                                batch_done_fn done) {
  struct job {
    std::string sale_id;
    sale_batch batch;
    sale_batch_result result;
  };
  auto j = std::make_shared<job>(job{sale_id, std::move(batch), {}});
  impl_->db.submit(
      [self = impl_, j](sqlite3* c) -> boost::system::error_code {
        // Run again from the start when the group's transaction is retried work by work.
        j->result.admissions.assign(j->batch.admissions.size(), {});
        j->result.orders.assign(j->batch.orders.size(), {});
        const std::string& id = j->sale_id;
        if (!j->batch.admissions.empty()) {
          if (auto ec = impl::ensure(c, self->insert_admission,
                                     "INSERT INTO sale_admissions(sale_id, position, user_id, "
                                     "user_seq, status, order_id, ts_ms) "
                                     "VALUES(?,?,?,?,?,?,?)"))
            return ec;
          sqlite3_stmt* s = self->insert_admission;
          for (std::size_t i = 0; i < j->batch.admissions.size(); ++i) {
            const admission_record& a = j->batch.admissions[i];
            sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
            sqlite3_bind_int64(s, 2, a.position);
            sqlite3_bind_text(s, 3, a.user_id.data(), static_cast<int>(a.user_id.size()),
                              SQLITE_STATIC);
            sqlite3_bind_int64(s, 4, a.user_seq);
            // An order due at once rides in its admission's row: no UPDATE a commit later.
            sqlite3_bind_int(s, 5, a.done ? status_done : 0);
            if (a.done)
              sqlite3_bind_text(s, 6, a.order_id.data(), static_cast<int>(a.order_id.size()),
                                SQLITE_STATIC);
            else
              sqlite3_bind_null(s, 6);
            sqlite3_bind_int64(s, 7, a.ts_ms);
            auto ec = impl::run(s);
            if (ec && !is_constraint(ec)) return ec;
            j->result.admissions[i] = ec;
          }
        }
        if (!j->batch.orders.empty()) {
          if (auto ec = impl::ensure(c, self->complete_admission,
                                     "UPDATE sale_admissions SET status=1, order_id=? "
                                     "WHERE sale_id=? AND position=? AND status=0"))
            return ec;
          sqlite3_stmt* s = self->complete_admission;
          for (std::size_t i = 0; i < j->batch.orders.size(); ++i) {
            const order_record& o = j->batch.orders[i];
            sqlite3_bind_text(s, 1, o.order_id.data(), static_cast<int>(o.order_id.size()),
                              SQLITE_STATIC);
            sqlite3_bind_text(s, 2, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
            sqlite3_bind_int64(s, 3, o.position);
            if (auto ec = impl::run(s)) {
              if (!is_constraint(ec)) return ec;
              j->result.orders[i] = ec;
              continue;
            }
            // Nothing updated: the position is unknown or already done.
            if (sqlite3_changes(c) != 1) j->result.orders[i] = make_error_code(errc::not_found);
          }
        }
        return {};
      },
      [j, done = std::move(done)](boost::system::error_code ec) {
        if (ec) return done(sale_batch_result::all_failed(j->batch, ec));
        done(std::move(j->result));
      });
}

bool sqlite_sale_store::writes_orders_with_admissions() const { return true; }

bool sqlite_sale_store::accepting() const { return impl_->db.health().accepting(); }

}  // namespace rushcast::store
