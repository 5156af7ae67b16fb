// Owns the auction tables and their prepared statements; bids and the end they move go through
// sqlite_db's group commit. Used by engine::auction_runner via the auction_store interface.
#include "rushcast/store/sqlite_auction_store.hpp"

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <stdexcept>

#include "rushcast/core/errc.hpp"
#include "rushcast/store/sqlite_db.hpp"
#include "rushcast/store/sqlite_stmt.hpp"

namespace rushcast::store {
namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS auction_meta (
  auction_id TEXT PRIMARY KEY,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  current_end_ms INTEGER NOT NULL,
  ended INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS auction_bids (
  auction_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  amount INTEGER NOT NULL,
  ts_ms INTEGER NOT NULL,
  PRIMARY KEY (auction_id, seq)
);
)sql";

void prepare_or_throw(sqlite3* db, const char* sql, stmt_guard& g) {
  store::prepare_or_throw(db, sql, g, "sqlite_auction_store");
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

}  // namespace

struct sqlite_auction_store::impl {
  sqlite_db& db;
  // Prepared on first use, on the writer thread, and used only there.
  sqlite3_stmt* insert_bid = nullptr;
  sqlite3_stmt* update_end = nullptr;
  sqlite3_stmt* set_ended = nullptr;

  explicit impl(sqlite_db& d) : db(d) {}
  ~impl() {
    sqlite3_finalize(insert_bid);
    sqlite3_finalize(update_end);
    sqlite3_finalize(set_ended);
  }

  static boost::system::error_code ensure(sqlite3* c, sqlite3_stmt*& s, const char* sql) {
    return ensure_prepared(c, s, sql);
  }
  static boost::system::error_code run(sqlite3_stmt* s) { return step_once(s); }
};

sqlite_auction_store::sqlite_auction_store(sqlite_db& db) : impl_(std::make_shared<impl>(db)) {
  db.exec(schema);
}

sqlite_auction_store::~sqlite_auction_store() = default;

recovered_auction sqlite_auction_store::load(const std::string& auction_id) {
  recovered_auction out;
  impl_->db.with_connection([&](sqlite3* c) {
    {
      stmt_guard g;
      prepare_or_throw(c,
                       "SELECT start_ms, end_ms, current_end_ms, ended FROM auction_meta "
                       "WHERE auction_id=?",
                       g);
      bind_text(g.s, 1, auction_id);
      int rc = sqlite3_step(g.s);
      if (rc == SQLITE_ROW)
        out.meta = auction_meta{sqlite3_column_int64(g.s, 0), sqlite3_column_int64(g.s, 1),
                                sqlite3_column_int64(g.s, 2), sqlite3_column_int(g.s, 3) != 0};
      else if (rc != SQLITE_DONE)
        throw std::runtime_error(std::string("sqlite_auction_store load: ") + sqlite3_errmsg(c));
    }
    stmt_guard g;
    prepare_or_throw(c,
                     "SELECT seq, user_id, amount, ts_ms FROM auction_bids "
                     "WHERE auction_id=? ORDER BY seq",
                     g);
    bind_text(g.s, 1, auction_id);
    int rc;
    while ((rc = sqlite3_step(g.s)) == SQLITE_ROW) {
      stored_bid b;
      b.seq = static_cast<std::uint64_t>(sqlite3_column_int64(g.s, 0));
      b.user_id = column_text(g.s, 1);
      b.amount = sqlite3_column_int64(g.s, 2);
      b.ts_ms = sqlite3_column_int64(g.s, 3);
      out.bids.push_back(std::move(b));
    }
    if (rc != SQLITE_DONE)
      throw std::runtime_error(std::string("sqlite_auction_store load: ") + sqlite3_errmsg(c));
  });
  return out;
}

void sqlite_auction_store::set_meta(const std::string& auction_id, const auction_meta& meta) {
  impl_->db.with_connection([&](sqlite3* c) {
    stmt_guard g;
    prepare_or_throw(c,
                     "INSERT INTO auction_meta(auction_id, start_ms, end_ms, current_end_ms, "
                     "ended) VALUES(?,?,?,?,?) ON CONFLICT(auction_id) DO UPDATE SET "
                     "start_ms=excluded.start_ms, end_ms=excluded.end_ms, "
                     "current_end_ms=excluded.current_end_ms, ended=excluded.ended",
                     g);
    bind_text(g.s, 1, auction_id);
    sqlite3_bind_int64(g.s, 2, meta.start_ms);
    sqlite3_bind_int64(g.s, 3, meta.end_ms);
    sqlite3_bind_int64(g.s, 4, meta.current_end_ms);
    sqlite3_bind_int(g.s, 5, meta.ended ? 1 : 0);
    if (sqlite3_step(g.s) != SQLITE_DONE)
      throw std::runtime_error(std::string("sqlite_auction_store set_meta: ") +
                               sqlite3_errmsg(c));
  });
}

void sqlite_auction_store::append_bids(const std::string& auction_id, take_fn take,
                                       done_fn done) {
  // The work may run again when its group's transaction is retried (sqlite_db::submit): the
  // rows are taken once and kept for that, since take() hands them over only once.
  auto taken = std::make_shared<std::optional<bid_rows>>();
  impl_->db.submit(
      [self = impl_, auction_id, take = std::move(take),
       taken](sqlite3* c) -> boost::system::error_code {
        if (!*taken) *taken = take();
        const bid_rows& rows = **taken;
        if (rows.bids.empty()) return {};
        if (auto ec = impl::ensure(c, self->insert_bid,
                                   "INSERT INTO auction_bids(auction_id, seq, user_id, amount, "
                                   "ts_ms) VALUES(?,?,?,?,?)"))
          return ec;
        if (auto ec = impl::ensure(c, self->update_end,
                                   "UPDATE auction_meta SET current_end_ms=? "
                                   "WHERE auction_id=? AND current_end_ms<>?"))
          return ec;
        sqlite3_stmt* s = self->insert_bid;
        for (const stored_bid& bid : rows.bids) {
          bind_text(s, 1, auction_id);
          sqlite3_bind_int64(s, 2, static_cast<std::int64_t>(bid.seq));
          bind_text(s, 3, bid.user_id);
          sqlite3_bind_int64(s, 4, bid.amount);
          sqlite3_bind_int64(s, 5, bid.ts_ms);
          if (auto ec = impl::run(s)) return ec;
        }
        // Same savepoint as the bids: after a crash the end is never behind the bids that moved it.
        sqlite3_stmt* u = self->update_end;
        sqlite3_bind_int64(u, 1, rows.current_end_ms);
        bind_text(u, 2, auction_id);
        sqlite3_bind_int64(u, 3, rows.current_end_ms);
        return impl::run(u);
      },
      std::move(done));
}

void sqlite_auction_store::mark_ended(const std::string& auction_id, done_fn done) {
  impl_->db.submit(
      [self = impl_, auction_id](sqlite3* c) -> boost::system::error_code {
        if (auto ec = impl::ensure(c, self->set_ended,
                                   "UPDATE auction_meta SET ended=1 WHERE auction_id=?"))
          return ec;
        bind_text(self->set_ended, 1, auction_id);
        if (auto ec = impl::run(self->set_ended)) return ec;
        if (sqlite3_changes(c) != 1) return make_error_code(errc::not_found);
        return {};
      },
      std::move(done));
}

bool sqlite_auction_store::accepting() const { return impl_->db.health().accepting(); }

}  // namespace rushcast::store
