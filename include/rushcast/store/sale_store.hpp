// Owns the durable record of a sale: its resolved times and stock, and every admission with
// its position, user and result. Used by engine::sale_runner; sqlite_sale_store implements it
// today, a Redis store (store/redis_*) implements the same seam.
//
// "Decide, then persist in batches": the sale engine decides every admission in memory (the
// unit, the FIFO position, the user's n-th purchase) and answers nobody "queued" until the store
// says the admission is durable. The runner collects what it decided while the previous batch
// was being written and hands it over as ONE sale_batch: new admissions and orders worked off.
// The store persists the whole batch in one unit of work (SQLite: one statement list inside the
// group-commit transaction, one fsync; Redis: one Function call that checks and writes every
// record atomically) and answers ONE callback with a result per record. The store never picks
// positions; it only refuses a record that contradicts what it already holds (a position or a
// (user, user_seq) already taken, an order for a position that is not queued), so that a bug or
// a second writer can never oversell. (A SQLite file made from session 8 on checks (user,
// user_seq) against the admissions its buyers index does not hold yet and within the batch:
// the engine itself never repeats one, see finished_for.)
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace rushcast::store {

// What a sale was started with, stored on its first start so that "+30s" resolves once.
struct sale_meta {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::int64_t stock_total = 0;
};

struct admission_record {
  std::int64_t position = 0;
  std::string user_id;
  std::int64_t user_seq = 1;  // the user's n-th purchase in this sale (per_user_limit)
  // Worked off: order placed. In a batch, only to a store whose
  // writes_orders_with_admissions() is true: the admission is then stored already done.
  bool done = false;
  std::string order_id;       // when done
  std::int64_t ts_ms = 0;     // admission time
};

struct recovered_sale {
  std::optional<sale_meta> meta;
  std::int64_t admitted = 0;       // every stored admission
  std::int64_t done = 0;           // of which worked off
  std::int64_t last_position = 0;  // the highest stored position, 0 = none
  // In position order, from the first admission not worked off on (none when all are done):
  // what the sale keeps in memory. Finished ones before it stay in the store only.
  std::vector<admission_record> admissions;
};

// One user's finished admissions in a sale (positions <= up_to), for duplicate checks and
// results once they left the sale's memory.
struct finished_admissions {
  std::int64_t count = 0;
  std::int64_t latest_position = 0;
  std::int64_t latest_seq = 0;
  std::string latest_order_id;
};

// An order worked off: the queued admission at position is done with order_id.
struct order_record {
  std::int64_t position = 0;
  std::string order_id;
};

// What the runner decided since the last batch, in decision order: admissions in ascending
// position, orders in ascending position. Admissions are written before orders.
struct sale_batch {
  std::vector<admission_record> admissions;
  std::vector<order_record> orders;
  bool empty() const noexcept { return admissions.empty() && orders.empty(); }
};

// One result per record of the batch, same order. A record fails alone when it contradicts the
// store (a position or (user, user_seq) already taken: a constraint error; an order whose
// position is not queued: errc::not_found); when the store itself cannot write (disk full, I/O,
// Redis unreachable) every record fails with that error and none is kept. Success means
// durable: the answer "queued" may go out.
struct sale_batch_result {
  std::vector<boost::system::error_code> admissions;
  std::vector<boost::system::error_code> orders;
  // Every record failed with ec (the batch as a whole could not be written).
  static sale_batch_result all_failed(const sale_batch& b, boost::system::error_code ec) {
    return {std::vector<boost::system::error_code>(b.admissions.size(), ec),
            std::vector<boost::system::error_code>(b.orders.size(), ec)};
  }
};

class sale_store {
public:
  using done_fn = std::function<void(boost::system::error_code)>;
  using batch_done_fn = std::function<void(sale_batch_result)>;
  virtual ~sale_store() = default;

  // Start-up only, on the calling thread. Throws std::runtime_error on a store error.
  virtual recovered_sale load(const std::string& sale_id) = 0;
  virtual void set_meta(const std::string& sale_id, const sale_meta& meta) = 0;
  // Start-up only: calls fn with the user of every stored admission of the sale.
  virtual void for_each_buyer(const std::string& sale_id,
                              const std::function<void(std::string_view)>& fn) = 0;

  // Thread-safe, synchronous, and cheap enough for a sale's strand: an indexed point read of
  // committed rows that never waits for the writer. An error when the store cannot be read.
  virtual boost::system::result<finished_admissions> finished_for(const std::string& sale_id,
                                                                  std::string_view user_id,
                                                                  std::int64_t up_to) = 0;

  // Durable writes, the hot path: persists one batch (see sale_batch_result for what fails
  // alone and what fails together). done runs exactly once, after the batch is durable or has
  // failed, on a store thread (or the caller's, inside persist, when the store is stopped);
  // it must not block that thread (the sale runner finishes the batch there under its own
  // mutex, posts the answers once per shard and hands over the next batch). Batches of one sale are given one at a time (the
  // runner waits for done before the next), so a store need not order concurrent batches of
  // one sale; batches of different sales may overlap.
  virtual void persist(const std::string& sale_id, sale_batch batch, batch_done_fn done) = 0;

  // One record as a batch of one (tests, tools): done(ec) as persist's result for it.
  void admit(const std::string& sale_id, const admission_record& a, done_fn done) {
    sale_batch b;
    b.admissions.push_back(a);
    persist(sale_id, std::move(b), [done = std::move(done)](sale_batch_result r) {
      done(r.admissions.empty() ? boost::system::error_code{} : r.admissions.front());
    });
  }
  void complete(const std::string& sale_id, std::int64_t position, std::string order_id,
                done_fn done) {
    sale_batch b;
    b.orders.push_back({position, std::move(order_id)});
    persist(sale_id, std::move(b), [done = std::move(done)](sale_batch_result r) {
      done(r.orders.empty() ? boost::system::error_code{} : r.orders.front());
    });
  }

  // Whether persist() stores an admission_record with done set as already worked off, with
  // its order_id, in the same write (SQLite: one INSERT instead of an INSERT and, one commit
  // later, an UPDATE). The sale runner then sends an order that is due at once
  // (process_rate_per_s 0, next in line) inside its admission. False: orders go separately.
  virtual bool writes_orders_with_admissions() const { return false; }

  // Thread-safe and cheap: whether a new admission or bid may be offered now. False while
  // writes fail or free space is short (store_health); the store retries by itself, and the
  // runner answers 503 unavailable meanwhile rather than reserving what may not be stored.
  virtual bool accepting() const = 0;
};

}  // namespace rushcast::store
