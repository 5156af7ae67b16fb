// Owns the sale tables in the SQLite file (sale_meta, sale_admissions, the buyers index) and
// their statements. Used by engine::start_sales, which gives one instance to every sale
// runner. Reads of finished buyers go through a read connection of its own (WAL: never behind
// the writer).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "rushcast/store/sale_store.hpp"

namespace rushcast::store {

class sqlite_db;

// Bounds of the buyers index of files made from session 8 on (docs/ARCHITECTURE.md, "The
// buyers index"): an admission's commit writes only its row in position order; the index by
// (sale, user, seq) is written later by the writer thread, many buyers sorted in one
// transaction. Until then the store answers for them from memory. The defaults are the
// daemon's (documented constants, docs/CONFIG.md); tests choose their own.
struct sqlite_sale_store_options {
  // The index is written once this many committed admissions wait for it...
  std::size_t buyer_index_batch = 8192;
  // ...or once the oldest of them has waited this long.
  std::chrono::milliseconds buyer_index_delay{1000};
  // At most this many wait (memory: ~100 bytes each). Beyond it, new admissions fail
  // (503 unavailable) until the index is written: only while the index cannot be written.
  std::size_t buyer_index_max = 65536;
};

class sqlite_sale_store : public sale_store {
public:
  // Creates the tables when missing (start-up; throws std::runtime_error on SQL error). A file
  // whose sale_admissions carries the unique (sale, user, seq) index of earlier versions keeps
  // it and is read and written as before.
  explicit sqlite_sale_store(sqlite_db& db, sqlite_sale_store_options opt = {});
  ~sqlite_sale_store() override;

  recovered_sale load(const std::string& sale_id) override;
  void set_meta(const std::string& sale_id, const sale_meta& meta) override;
  void for_each_buyer(const std::string& sale_id,
                      const std::function<void(std::string_view)>& fn) override;
  boost::system::result<finished_admissions> finished_for(const std::string& sale_id,
                                                          std::string_view user_id,
                                                          std::int64_t up_to) override;
  void persist(const std::string& sale_id, sale_batch batch, batch_done_fn done) override;
  bool writes_orders_with_admissions() const override;
  bool accepting() const override;

  // Admissions committed and not yet in the buyers index (0 for a file of the earlier layout).
  std::size_t buyers_waiting_for_index() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace rushcast::store
