// Owns the durable record of an auction: its resolved times, the current end after soft-close
// extensions, the ended flag and every accepted bid. Used by engine::auction_runner;
// sqlite_auction_store implements it today, a Redis store would implement the same seam.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/system/error_code.hpp>

namespace rushcast::store {

// What an auction was started with, stored on its first start so that "+30s" resolves once.
struct auction_meta {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;          // as configured (resolved)
  std::int64_t current_end_ms = 0;  // after soft-close extensions
  bool ended = false;               // auction_end was decided and announced
};

struct stored_bid {
  std::uint64_t seq = 0;  // 1, 2, ... per auction, in acceptance order
  std::string user_id;
  std::int64_t amount = 0;
  std::int64_t ts_ms = 0;
};

// Bids decided together and written as one: the rows in seq order and the current end after
// the last of them.
struct bid_rows {
  std::vector<stored_bid> bids;
  std::int64_t current_end_ms = 0;
};

struct recovered_auction {
  std::optional<auction_meta> meta;
  std::vector<stored_bid> bids;  // in seq order
};

class auction_store {
public:
  using done_fn = std::function<void(boost::system::error_code)>;
  virtual ~auction_store() = default;

  // Start-up only, on the calling thread. Throws std::runtime_error on a store error.
  virtual recovered_auction load(const std::string& auction_id) = 0;
  virtual void set_meta(const std::string& auction_id, const auction_meta& meta) = 0;

  // Durable writes. done(ec) runs once the write is durable (or failed), on a store thread;
  // callers post back to their own threads. Writes complete in submit order.
  //
  // Decide, then persist in batches: take() runs once, on the store thread, when the write
  // begins, and returns the rows to write then — every bid the caller decided since its
  // previous batch was taken — so a burst of bids costs one write, not one per bid. The rows
  // and the end they moved are one write: all or none. A seq already taken fails the write.
  // Empty rows: nothing is written and done({}) still runs.
  using take_fn = std::function<bid_rows()>;
  virtual void append_bids(const std::string& auction_id, take_fn take, done_fn done) = 0;
  // One bid as its own batch.
  void append_bid(const std::string& auction_id, const stored_bid& bid,
                  std::int64_t current_end_ms, done_fn done) {
    append_bids(
        auction_id, [rows = bid_rows{{bid}, current_end_ms}] { return rows; }, std::move(done));
  }
  virtual void mark_ended(const std::string& auction_id, done_fn done) = 0;

  // Thread-safe and cheap: whether a new admission or bid may be offered now. False while
  // writes fail or free space is short (store_health); the store retries by itself, and the
  // runner answers 503 unavailable meanwhile rather than reserving what may not be stored.
  virtual bool accepting() const = 0;
};

}  // namespace rushcast::store
