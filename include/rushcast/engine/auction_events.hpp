// Owns what an auction shows other threads (auction_view: snapshots, GET, events) and the JSON
// of its events and state, so that the local runner and the cluster one send the same bytes.
// Used by engine::auction_runner and engine::cluster_auction_runner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "rushcast/engine/auction.hpp"

namespace rushcast::engine {

struct auction_view {
  std::int64_t price = 0;
  std::optional<std::string> leader;
  std::int64_t bid_count = 0;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  bool ended = false;
  std::optional<std::string> winner;
  std::optional<std::int64_t> final_price;
  std::deque<bid_record> recent;

  std::string_view phase(std::int64_t now) const {
    if (ended || now >= end_ms) return "ended";
    if (now < start_ms) return "upcoming";
    return "open";
  }
};

// The `price_update` event's data.
std::string auction_price_json(std::string_view id, const auction_view& v);
// The `countdown` event's data at now.
std::string auction_countdown_json(std::string_view id, const auction_view& v, std::int64_t now);
// The `init` event a WebSocket subscriber gets first.
std::string auction_init_json(std::string_view id, std::string_view name,
                              const auction_rules& rules, const auction_view& v,
                              std::int64_t now);
// The `auction_end` event's data.
std::string auction_end_json(std::string_view id, const std::optional<std::string>& winner,
                             const std::optional<std::int64_t>& final_price);
// A bidder's `result` event's data.
std::string auction_result_json(std::string_view id, bool won,
                                const std::optional<std::int64_t>& final_price,
                                std::int64_t bid_amount);
// GET /api/auctions/ID: the state with the last_bids most recent bids.
nlohmann::json auction_state_json(std::string_view id, std::string_view name,
                                  const auction_rules& rules, const auction_view& v,
                                  std::int64_t now, std::size_t last_bids);

}  // namespace rushcast::engine
