// Owns the sale tables in the SQLite file (sale_meta, sale_admissions) and their statements.
// Used by engine::start_sales, which gives one instance to every sale runner. Reads of
// finished buyers go through a read connection of its own (WAL: never behind the writer).
#pragma once

#include <memory>

#include "rushcast/store/sale_store.hpp"

namespace rushcast::store {

class sqlite_db;

class sqlite_sale_store : public sale_store {
public:
  // Creates the tables when missing (start-up; throws std::runtime_error on SQL error).
  explicit sqlite_sale_store(sqlite_db& db);
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

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace rushcast::store
