// Owns what the API asks of a running auction, whichever node decides its bids: the local
// runner (engine::auction_runner, SQLite) or the cluster one (engine::cluster_auction_runner,
// Redis). Used by engine::registry and api/auction_routes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "rushcast/core/errc.hpp"

namespace rushcast::engine {

class auction_engine {
public:
  // What the bidder is told. code ok = accepted (durably: committed, or decided by Redis).
  struct bid_reply {
    errc code = errc::ok;
    std::string auction_id;
    std::int64_t bid_amount = 0;
    std::int64_t current_price = 0;
    std::int64_t min_increment = 0;
    std::int64_t min_acceptable = 0;
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
  };
  using bid_done = std::function<void(bid_reply)>;

  virtual ~auction_engine() = default;

  // Thread-safe. A refusal known at once is returned and done is left as it was (the caller
  // answers with it); otherwise nullopt, done is moved from and runs once, on the calling
  // shard's thread (engine::this_thread_shard()) or, without one, on any thread.
  // request_id: the client's Idempotency-Key (validated by api/), empty when none was sent; a
  // cluster engine answers a bid seen before with that key by its first answer and counts it
  // once; the local engine, whose answers are never lost between two processes, ignores it.
  virtual std::optional<bid_reply> bid(std::string_view user, std::int64_t amount,
                                       std::string_view request_id, bid_done& done) = 0;
  // Thread-safe: the state with the last `last_bids` bids (GET /api/auctions/ID).
  virtual nlohmann::json state_json(std::size_t last_bids) const = 0;
  // Drain: timers cancelled, no bid taken any more; what is in flight still finishes.
  virtual void stop() = 0;

  virtual const std::string& id() const = 0;
  // The id as a JSON string ("\"id\""), for replies written without a DOM.
  virtual const std::string& id_json() const = 0;
  virtual std::int64_t min_increment() const = 0;
};

}  // namespace rushcast::engine
