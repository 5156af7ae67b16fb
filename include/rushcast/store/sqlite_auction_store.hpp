// Owns the auction tables in the SQLite file (auction_meta, auction_bids) and their statements.
// Used by engine::start_auctions, which gives one instance to every auction runner.
#pragma once

#include <memory>

#include "rushcast/store/auction_store.hpp"

namespace rushcast::store {

class sqlite_db;

class sqlite_auction_store : public auction_store {
public:
  // Creates the tables when missing (start-up; throws std::runtime_error on SQL error).
  explicit sqlite_auction_store(sqlite_db& db);
  ~sqlite_auction_store() override;

  recovered_auction load(const std::string& auction_id) override;
  void set_meta(const std::string& auction_id, const auction_meta& meta) override;
  void append_bids(const std::string& auction_id, take_fn take, done_fn done) override;
  void mark_ended(const std::string& auction_id, done_fn done) override;
  bool accepting() const override;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace rushcast::store
