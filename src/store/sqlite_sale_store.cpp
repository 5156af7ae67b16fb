// Owns the sale tables and their prepared statements; admissions and completions go through
// sqlite_db's group commit. Used by engine::sale_runner via the sale_store interface.
#include "rushcast/store/sqlite_sale_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "rushcast/core/errc.hpp"
#include "rushcast/obs/log_limiter.hpp"
#include "rushcast/store/sqlite_db.hpp"
#include "rushcast/store/sqlite_stmt.hpp"

namespace rushcast::store {
namespace {

using steady = std::chrono::steady_clock;

constexpr const char* meta_schema = R"sql(
CREATE TABLE IF NOT EXISTS sale_meta (
  sale_id TEXT PRIMARY KEY,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  stock_total INTEGER NOT NULL
);
)sql";

// Files made from session 8 on. An admission's commit writes one row into the (sale_id,
// position) tree, where consecutive admissions share their pages: ~40 rows per 4 KiB page. The
// unique (sale_id, user_id, user_seq) index of earlier files put every admission of a commit
// into a different page (user ids are random), so each admission cost about one more 4 KiB
// page in the WAL and again at the checkpoint. That index is now sale_buyers, written by the
// writer thread in large batches sorted by key (see buyers_index below); sale_buyers_indexed
// says up to which position each sale's admissions are in it, for recovery.
// WITHOUT ROWID: the rows live in their primary key's tree (no rowid table beside it).
constexpr const char* batched_index_schema = R"sql(
CREATE TABLE IF NOT EXISTS sale_admissions (
  sale_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  user_seq INTEGER NOT NULL DEFAULT 1,
  status INTEGER NOT NULL DEFAULT 0,
  order_id TEXT,
  ts_ms INTEGER NOT NULL,
  PRIMARY KEY (sale_id, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sale_buyers (
  sale_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  user_seq INTEGER NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (sale_id, user_id, user_seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sale_buyers_indexed (
  sale_id TEXT PRIMARY KEY,
  up_to INTEGER NOT NULL
);
)sql";

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

sqlite3_stmt* prepare_reader(sqlite3* c, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(c, sql, -1, &s, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("sqlite_sale_store: ") + sqlite3_errmsg(c));
  return s;
}

// The writer's INSERT binds every parameter each time: a reset is enough between rows.
boost::system::error_code step_and_reset(sqlite3_stmt* s) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? boost::system::error_code{} : sqlite_error(rc);
}

// One admission committed and not yet in sale_buyers.
struct waiting_admission {
  std::int64_t position = 0;
  std::int64_t user_seq = 0;
};

// Admissions committed but not yet in sale_buyers, by sale and user: what finished_for()
// consults before the index, so that a buyer who finished is always found. Bounded by
// options.buyer_index_max (the writer writes the index at buyer_index_batch). Only the writer
// thread adds and clears (and load(), which holds the connection as the writer does); sale
// strands read under mu. Every admission passes through here, so it is flat: the entries in
// one vector and an open-addressing table of their indices, both kept (cleared, not freed)
// from one index batch to the next: no allocation per admission once warm, one hash per look.
class buyers_window {
public:
  struct entry {
    std::uint32_t sale = 0;  // index into sale_ids()
    std::uint64_t hash = 0;
    std::string user_id;
    waiting_admission a;
  };

  mutable std::mutex mu;

  // Everything below: under mu.
  std::size_t size() const noexcept { return entries_.size(); }
  steady::time_point oldest() const noexcept { return oldest_; }
  const std::vector<entry>& entries() const noexcept { return entries_; }
  const std::string& sale_id(std::uint32_t i) const { return sale_ids_[i]; }

  void add(std::string_view sale_id, std::string_view user_id, std::int64_t position,
           std::int64_t user_seq) {
    if (entries_.empty()) oldest_ = steady::now();
    if (2 * (entries_.size() + 1) > slots_.size()) grow();
    const std::uint32_t sale = sale_index_or_add(sale_id);
    const std::uint64_t h = hash_of(sale, user_id);
    entries_.push_back({sale, h, std::string(user_id), {position, user_seq}});
    std::size_t i = h & (slots_.size() - 1);
    while (slots_[i] != 0) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = static_cast<std::uint32_t>(entries_.size());
  }

  // Calls f(waiting_admission) for each of the user's admissions in the window.
  template <class F>
  void for_user(std::string_view sale_id, std::string_view user_id, F&& f) const {
    const int sale = sale_index(sale_id);
    if (sale < 0 || entries_.empty()) return;
    const std::uint64_t h = hash_of(static_cast<std::uint32_t>(sale), user_id);
    for (std::size_t i = h & (slots_.size() - 1); slots_[i] != 0;
         i = (i + 1) & (slots_.size() - 1)) {
      const entry& e = entries_[slots_[i] - 1];
      if (e.hash == h && e.sale == static_cast<std::uint32_t>(sale) && e.user_id == user_id)
        f(e.a);
    }
  }

  bool holds(std::string_view sale_id, std::string_view user_id, std::int64_t user_seq) const {
    bool found = false;
    for_user(sale_id, user_id, [&](const waiting_admission& a) {
      found = found || a.user_seq == user_seq;
    });
    return found;
  }

  void clear() {
    entries_.clear();
    std::fill(slots_.begin(), slots_.end(), 0);
  }

private:
  static std::uint64_t hash_of(std::uint32_t sale, std::string_view user_id) {
    return std::hash<std::string_view>{}(user_id) + sale * 0x9E3779B97F4A7C15ull;
  }
  int sale_index(std::string_view sale_id) const {
    for (std::size_t i = 0; i < sale_ids_.size(); ++i)
      if (sale_ids_[i] == sale_id) return static_cast<int>(i);
    return -1;
  }
  std::uint32_t sale_index_or_add(std::string_view sale_id) {
    if (int i = sale_index(sale_id); i >= 0) return static_cast<std::uint32_t>(i);
    sale_ids_.emplace_back(sale_id);  // one per sale the daemon runs
    return static_cast<std::uint32_t>(sale_ids_.size() - 1);
  }
  void grow() {
    slots_.assign(std::max<std::size_t>(1024, 2 * slots_.size()), 0);
    for (std::size_t k = 0; k < entries_.size(); ++k) {
      std::size_t i = entries_[k].hash & (slots_.size() - 1);
      while (slots_[i] != 0) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = static_cast<std::uint32_t>(k + 1);
    }
  }

  std::vector<std::string> sale_ids_;
  std::vector<entry> entries_;
  std::vector<std::uint32_t> slots_;  // 0: empty; else an index into entries_ plus one
  steady::time_point oldest_{};
};

// A (user, seq) twice in one batch: the later ones are refused, as the unique index refused
// them. Batches of one sale reach the store one at a time (sale_store::persist), so with the
// window this covers every admission not yet in the index. Sorting ~40 indices per batch.
void refuse_repeats_within(const sale_batch& b, sale_batch_result& r) {
  const auto& a = b.admissions;
  if (a.size() < 2) return;
  std::vector<std::uint32_t> order(a.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) {
    if (int d = a[x].user_id.compare(a[y].user_id)) return d < 0;
    if (a[x].user_seq != a[y].user_seq) return a[x].user_seq < a[y].user_seq;
    return x < y;  // the first one of a repeated (user, seq) is kept
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const auto& p = a[order[k - 1]];
    const auto& q = a[order[k]];
    if (p.user_seq == q.user_seq && p.user_id == q.user_id)
      r.admissions[order[k]] = sqlite_error(SQLITE_CONSTRAINT_UNIQUE);
  }
}

}  // namespace

struct sqlite_sale_store::impl {
  sqlite_db& db;
  sqlite_sale_store_options opt;
  // The file's sale_admissions carries the unique (sale, user, seq) index of earlier versions:
  // every admission goes into it at once, no sale_buyers, no window.
  bool unique_in_admissions = false;
  // Prepared on first use, on the writer thread, and used only there.
  sqlite3_stmt* insert_admission = nullptr;
  sqlite3_stmt* complete_admission = nullptr;
  sqlite3_stmt* insert_buyer = nullptr;
  sqlite3_stmt* mark_indexed = nullptr;
  // The read connection for finished_for(), shared by every sale's strand under read_mu.
  std::mutex read_mu;
  sqlite3* reader = nullptr;
  sqlite3_stmt* find_user = nullptr;   // the user's admissions (earlier layout: all of them)
  sqlite3_stmt* find_order = nullptr;  // one admission's order id (batched index)
  buyers_window window;
  obs::log_limiter index_fail_log{std::chrono::seconds(5)};
  obs::log_limiter duplicate_log{std::chrono::seconds(5)};

  impl(sqlite_db& d, sqlite_sale_store_options o) : db(d), opt(o) {}
  ~impl() {
    for (auto* s : {insert_admission, complete_admission, insert_buyer, mark_indexed, find_user,
                    find_order})
      sqlite3_finalize(s);
    if (reader) sqlite3_close_v2(reader);
  }

  static boost::system::error_code ensure(sqlite3* c, sqlite3_stmt*& s, const char* sql) {
    return ensure_prepared(c, s, sql);
  }

  std::size_t waiting() const {
    std::lock_guard lk(window.mu);
    return window.size();
  }

  // Writer thread, between group commits (sqlite_db::on_between_groups): writes the waiting
  // admissions into sale_buyers when enough wait, or the oldest has waited long enough, or the
  // writer stops; sorted by key, so that neighbours share their pages and each page is
  // written once per batch. The window keeps them until the index commit is visible, so a
  // reader finds each buyer in one or the other (or both, counted once) at every moment.
  steady::time_point write_buyers_index(sqlite3* c, bool flush) {
    const auto now = steady::now();
    struct row {
      const std::string* sale_id;
      const std::string* user_id;
      waiting_admission a;
    };
    std::vector<row> rows;
    std::vector<std::pair<const std::string*, std::int64_t>> marks;
    {
      std::lock_guard lk(window.mu);
      if (window.size() == 0) return now + opt.buyer_index_delay;
      const auto due = window.oldest() + opt.buyer_index_delay;
      if (!flush && window.size() < opt.buyer_index_batch && now < due) return due;
      // A store that cannot write (read-only file, full disk) is not tried each time: the
      // window keeps answering, and its bound refuses new admissions if it fills.
      if (!flush && !db.health().accepting()) return now + opt.buyer_index_delay;
      // Nobody else changes the window while the connection is held (see buyers_window):
      // the pointers stay valid without mu, and the readers are not held up by the writes.
      rows.reserve(window.size());
      for (const auto& e : window.entries()) {
        const std::string* sale_id = &window.sale_id(e.sale);
        rows.push_back({sale_id, &e.user_id, e.a});
        auto m = std::find_if(marks.begin(), marks.end(),
                              [&](const auto& mk) { return mk.first == sale_id; });
        if (m == marks.end())
          marks.emplace_back(sale_id, e.a.position);
        else
          m->second = std::max(m->second, e.a.position);
      }
    }
    std::sort(rows.begin(), rows.end(), [](const row& x, const row& y) {
      if (int d = x.sale_id->compare(*y.sale_id)) return d < 0;
      if (int d = x.user_id->compare(*y.user_id)) return d < 0;
      if (x.a.user_seq != y.a.user_seq) return x.a.user_seq < y.a.user_seq;
      return x.a.position < y.a.position;  // a repeated (user, seq): the first one is indexed
    });
    auto failed = [&](int rc) {
      sqlite3_exec(c, "ROLLBACK", nullptr, nullptr, nullptr);
      if (auto n = index_fail_log.admit())
        spdlog::warn("store: the buyers index could not be written ({}; {} time(s)); "
                     "{} admission(s) wait for it in memory",
                     sqlite3_errstr(rc), n, rows.size());
      return now + opt.buyer_index_delay;
    };
    if (auto ec = ensure(c, insert_buyer,
                         "INSERT INTO sale_buyers(sale_id, user_id, user_seq, position) "
                         "VALUES(?,?,?,?)"))
      return failed(ec.value());
    if (auto ec = ensure(c, mark_indexed,
                         "INSERT INTO sale_buyers_indexed(sale_id, up_to) VALUES(?,?) "
                         "ON CONFLICT(sale_id) DO UPDATE SET up_to=max(up_to, excluded.up_to)"))
      return failed(ec.value());
    if (int rc = sqlite3_exec(c, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr); rc != SQLITE_OK)
      return failed(rc);
    for (const auto& r : rows) {
      sqlite3_bind_text(insert_buyer, 1, r.sale_id->data(), static_cast<int>(r.sale_id->size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(insert_buyer, 2, r.user_id->data(), static_cast<int>(r.user_id->size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(insert_buyer, 3, r.a.user_seq);
      sqlite3_bind_int64(insert_buyer, 4, r.a.position);
      if (auto ec = step_and_reset(insert_buyer)) {
        if (!is_constraint(ec)) return failed(ec.value());
        // The engine never admits a (user, seq) twice; if it ever did, the first one stays.
        if (auto n = duplicate_log.admit())
          spdlog::error("sale {}: user {} admitted twice with seq {} (position {}; {} time(s))",
                        *r.sale_id, *r.user_id, r.a.user_seq, r.a.position, n);
      }
    }
    for (const auto& [sale_id, up_to] : marks) {
      sqlite3_bind_text(mark_indexed, 1, sale_id->data(), static_cast<int>(sale_id->size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(mark_indexed, 2, up_to);
      if (auto ec = step_and_reset(mark_indexed)) return failed(ec.value());
    }
    if (int rc = sqlite3_exec(c, "COMMIT", nullptr, nullptr, nullptr); rc != SQLITE_OK)
      return failed(rc);
    std::lock_guard lk(window.mu);
    window.clear();
    return steady::now() + opt.buyer_index_delay;
  }
};

sqlite_sale_store::sqlite_sale_store(sqlite_db& db, sqlite_sale_store_options opt)
    : impl_(std::make_shared<impl>(db, opt)) {
  db.exec(meta_schema);
  // A sale_admissions table with the unique (sale, user, seq) constraint of earlier versions
  // (rowid or WITHOUT ROWID alike) keeps it: its index is complete, so it keeps answering.
  db.with_connection([&](sqlite3* c) {
    stmt_guard g;
    prepare_or_throw(c,
                     "SELECT sql FROM sqlite_master WHERE type='table' AND "
                     "name='sale_admissions'",
                     g);
    if (sqlite3_step(g.s) == SQLITE_ROW)
      impl_->unique_in_admissions = column_text(g.s, 0).find("UNIQUE") != std::string::npos;
  });
  if (!impl_->unique_in_admissions) db.exec(batched_index_schema);
  impl_->reader = db.open_reader();
  if (impl_->unique_in_admissions) {
    // The (sale_id, user_id, user_seq) unique index answers this from a user's few rows.
    impl_->find_user = prepare_reader(impl_->reader,
                                      "SELECT position, user_seq, order_id FROM sale_admissions "
                                      "WHERE sale_id=?1 AND user_id=?2 AND position<=?3 "
                                      "ORDER BY user_seq DESC");
    return;
  }
  impl_->find_user = prepare_reader(impl_->reader,
                                    "SELECT position, user_seq FROM sale_buyers "
                                    "WHERE sale_id=?1 AND user_id=?2 AND position<=?3");
  impl_->find_order = prepare_reader(
      impl_->reader, "SELECT order_id FROM sale_admissions WHERE sale_id=?1 AND position=?2");
  std::weak_ptr<impl> weak = impl_;
  db.on_between_groups([weak](sqlite3* c, bool flush) {
    auto self = weak.lock();
    if (!self) return steady::time_point::max();
    return self->write_buyers_index(c, flush);
  });
}

sqlite_sale_store::~sqlite_sale_store() = default;

namespace {

// Start-up: admissions committed after the sale's last index batch (a crash came before the
// next one) go back into the window, so they are answered at once and indexed with the next
// batch. As many as the window held at the crash: bounded by buyer_index_max.
template <class Impl>
void recover_unindexed(Impl& m, const std::string& sale_id) {
  m.db.with_connection([&](sqlite3* c) {
    std::int64_t up_to = 0;
    {
      stmt_guard g;
      prepare_or_throw(c, "SELECT up_to FROM sale_buyers_indexed WHERE sale_id=?", g);
      sqlite3_bind_text(g.s, 1, sale_id.data(), static_cast<int>(sale_id.size()),
                        SQLITE_STATIC);
      if (sqlite3_step(g.s) == SQLITE_ROW) up_to = sqlite3_column_int64(g.s, 0);
    }
    stmt_guard g;
    prepare_or_throw(c,
                     "SELECT position, user_id, user_seq FROM sale_admissions "
                     "WHERE sale_id=? AND position>? ORDER BY position",
                     g);
    sqlite3_bind_text(g.s, 1, sale_id.data(), static_cast<int>(sale_id.size()), SQLITE_STATIC);
    sqlite3_bind_int64(g.s, 2, up_to);
    std::lock_guard lk(m.window.mu);
    int rc;
    std::size_t n = 0;
    while ((rc = sqlite3_step(g.s)) == SQLITE_ROW) {
      m.window.add(sale_id, column_text(g.s, 1), sqlite3_column_int64(g.s, 0),
                   sqlite3_column_int64(g.s, 2));
      ++n;
    }
    if (rc != SQLITE_DONE)
      throw std::runtime_error(std::string("sqlite_sale_store load: ") + sqlite3_errmsg(c));
    if (n > 0)
      spdlog::info("sale {}: {} admission(s) after position {} wait for the buyers index", sale_id,
                   n, up_to);
  });
}

}  // namespace

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
  if (!impl_->unique_in_admissions) recover_unindexed(*impl_, sale_id);
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

namespace {
// find_user's parameters: ?1 sale, ?2 user, ?3 the highest position asked for.
void bind_find_user(sqlite3_stmt* s, const std::string& sale_id, std::string_view user_id,
                    std::int64_t up_to) {
  sqlite3_bind_text(s, 1, sale_id.data(), static_cast<int>(sale_id.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 2, user_id.data(), static_cast<int>(user_id.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, up_to);
}
}  // namespace

// On a sale's strand. Safe there: the reader has its own connection, and in WAL mode a read
// transaction takes the last commit without waiting for the writer (busy only for a moment
// while a checkpoint resets the WAL; 50 ms at most, then the caller answers 503). The read is
// a lookup in the window (memory) and the buyers index on (sale_id, user_id), then one row by
// position for the order id: a few microseconds from cached pages, and it happens
// only for a buyer the sale's filter may have seen (duplicates, results), never for a fresh
// one. read_mu serialises the sales sharing this connection.
boost::system::result<finished_admissions> sqlite_sale_store::finished_for(
    const std::string& sale_id, std::string_view user_id, std::int64_t up_to) {
  auto& m = *impl_;
  std::lock_guard lk(m.read_mu);
  finished_admissions out;
  if (m.unique_in_admissions) {
    sqlite3_stmt* s = m.find_user;
    bind_find_user(s, sale_id, user_id, up_to);
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
  // The window first, then the index: an index batch that commits in between has its rows
  // in the index by the time this read starts (the window is cleared only after the commit).
  // A buyer in both is counted once (by position). A user has a few admissions at most
  // (per_user_limit).
  std::vector<waiting_admission> found;
  {
    std::lock_guard wl(m.window.mu);
    m.window.for_user(sale_id, user_id, [&](const waiting_admission& a) {
      if (a.position <= up_to) found.push_back(a);
    });
  }
  sqlite3_stmt* s = m.find_user;
  bind_find_user(s, sale_id, user_id, up_to);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    waiting_admission a{sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1)};
    if (std::none_of(found.begin(), found.end(),
                     [&](const waiting_admission& f) { return f.position == a.position; }))
      found.push_back(a);
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) return sqlite_error(rc);
  if (found.empty()) return out;
  const auto latest = std::max_element(found.begin(), found.end(), [](const auto& x, const auto& y) {
    return x.user_seq < y.user_seq;
  });
  out.count = static_cast<std::int64_t>(found.size());
  out.latest_position = latest->position;
  out.latest_seq = latest->user_seq;
  // Its order id, if worked off: from its row, one descent of the position tree.
  sqlite3_stmt* o = m.find_order;
  sqlite3_bind_text(o, 1, sale_id.data(), static_cast<int>(sale_id.size()), SQLITE_STATIC);
  sqlite3_bind_int64(o, 2, out.latest_position);
  rc = sqlite3_step(o);
  if (rc == SQLITE_ROW) out.latest_order_id = column_text(o, 0);
  sqlite3_reset(o);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(rc);
  return out;
}

// The whole batch is one work of sqlite_db's group commit (one transaction, one fsync shared
// with whatever else commits with it). A record that contradicts the table fails alone: SQLite
// undoes only the failing statement (ON CONFLICT ABORT) and the others stay. Any other error
// (the store cannot write) fails the work, which rolls back every record of the batch.
// With the batched buyers index, the commit writes only the admission rows; a (user, seq) is
// refused while it waits in the window (the engine never repeats one: finished_for tells it
// the seq to use), and the index batch logs one that got past it. Committed admissions join
// the window on the writer thread before the batch's callback: before "queued" goes out.
void sqlite_sale_store::persist(const std::string& sale_id, sale_batch batch,
                                batch_done_fn done) {
  struct job {
    std::string sale_id;
    sale_batch batch;
    sale_batch_result result;
  };
  auto j = std::make_shared<job>(job{sale_id, std::move(batch), {}});
  impl_->db.submit(
      [self = impl_.get(), j](sqlite3* c) -> boost::system::error_code {
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
          if (!self->unique_in_admissions) {
            std::lock_guard lk(self->window.mu);
            // Only while the index cannot be written (see sqlite_sale_store_options).
            if (self->window.size() + j->batch.admissions.size() > self->opt.buyer_index_max)
              return make_error_code(errc::unavailable);
            for (std::size_t i = 0; i < j->batch.admissions.size(); ++i) {
              const admission_record& a = j->batch.admissions[i];
              if (self->window.holds(id, a.user_id, a.user_seq))
                j->result.admissions[i] = sqlite_error(SQLITE_CONSTRAINT_UNIQUE);
            }
          }
          if (!self->unique_in_admissions) refuse_repeats_within(j->batch, j->result);
          sqlite3_stmt* s = self->insert_admission;
          for (std::size_t i = 0; i < j->batch.admissions.size(); ++i) {
            const admission_record& a = j->batch.admissions[i];
            if (j->result.admissions[i]) continue;  // its (user, seq) waits in the window
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
            auto ec = step_and_reset(s);
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
            if (auto ec = step_and_reset(s)) {
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
      [self = impl_, j, done = std::move(done)](boost::system::error_code ec) {
        if (ec) return done(sale_batch_result::all_failed(j->batch, ec));
        if (!self->unique_in_admissions && !j->batch.admissions.empty()) {
          std::lock_guard lk(self->window.mu);
          for (std::size_t i = 0; i < j->batch.admissions.size(); ++i) {
            if (j->result.admissions[i]) continue;
            const admission_record& a = j->batch.admissions[i];
            self->window.add(j->sale_id, a.user_id, a.position, a.user_seq);
          }
        }
        done(std::move(j->result));
      });
}

bool sqlite_sale_store::writes_orders_with_admissions() const { return true; }

bool sqlite_sale_store::accepting() const { return impl_->db.health().accepting(); }

std::size_t sqlite_sale_store::buyers_waiting_for_index() const { return impl_->waiting(); }

}  // namespace rushcast::store
