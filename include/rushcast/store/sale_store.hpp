// Owns the durable record of a sale: its resolved times and stock, and every admission with
// its position, user and result. Used by engine::sale_runner; sqlite_sale_store implements it
// today, a Redis store would implement the same seam.
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
  bool done = false;          // worked off: order placed
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

class sale_store {
public:
  using done_fn = std::function<void(boost::system::error_code)>;
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

  // Durable writes. done(ec) runs once the write is durable (or failed), on a store thread;
  // callers post back to their own strand. A position or (user, user_seq) already taken
  // fails the write.
  virtual void admit(const std::string& sale_id, const admission_record& a, done_fn done) = 0;
  // Marks a queued position as worked off with its order id; fails when the position is not
  // queued.
  virtual void complete(const std::string& sale_id, std::int64_t position, std::string order_id,
                        done_fn done) = 0;

  // Thread-safe and cheap: whether a new admission or bid may be offered now. False while
  // writes fail or free space is short (store_health); the store retries by itself, and the
  // runner answers 503 unavailable meanwhile rather than reserving what may not be stored.
  virtual bool accepting() const = 0;
};

}  // namespace rushcast::store
