// Owns the wire form of the cluster auction's Redis calls: the FCALL arguments of the rushcast
// Functions (src/redis/rushcast.lua) and their replies read into plain values, pure and
// unit-tested without a server. Used by engine::cluster_auction_runner.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rushcast/redis/reply.hpp"

namespace rushcast::store {

// "rc:auction:{ID}": every key of one auction shares the hash tag (docs/ARCHITECTURE.md).
std::string redis_auction_base(std::string_view auction_id);

struct redis_bid {
  std::string user;
  std::int64_t amount = 0;
  std::string request_id;  // 1..128 bytes
};

// FCALL rc_auction_bid 1 base n user amount request_id ... (n = bids.size(), 1..1000).
std::vector<std::string> redis_bid_command(const std::string& base,
                                           std::span<const redis_bid> bids);

// The state every call answers with: Redis TIME and the auction after the call.
struct redis_auction_head {
  std::int64_t now_ms = 0;
  std::int64_t current_price = 0;
  std::optional<std::string> leader;
  std::int64_t bid_count = 0;
  std::int64_t end_ms = 0;
};

struct redis_bid_result {
  enum class outcome { accepted, bid_invalid, ended, not_started, bid_too_low };
  outcome what = outcome::bid_invalid;
  std::int64_t seq = 0;        // accepted
  std::int64_t amount = 0;     // accepted
  std::int64_t end_ms = 0;     // accepted (the end after it), ended
  bool extended = false;       // accepted: soft close moved the end
  bool replay = false;         // accepted earlier under the same request id: counted once
  std::int64_t start_ms = 0;   // not_started
  std::int64_t current_price = 0;   // bid_too_low
  std::int64_t min_acceptable = 0;  // bid_too_low
};

struct redis_bid_call {
  redis_auction_head head;
  std::vector<redis_bid_result> results;  // one per bid sent, in order
};
// nullopt when the reply is not rc_auction_bid's answer to `sent` bids.
std::optional<redis_bid_call> parse_bid_call(const redis::reply& r, std::size_t sent);

struct redis_bidder_result {
  std::string user;
  bool won = false;
  std::int64_t highest_bid = 0;
};

struct redis_finish {
  bool ended = false;   // false: not due yet, end_ms is the current end
  std::int64_t end_ms = 0;
  bool first = false;   // this call ended it
  std::optional<std::string> winner;
  std::optional<std::int64_t> final_price;
  std::vector<redis_bidder_result> results;  // every bidder, in first-bid order
};
std::optional<redis_finish> parse_finish(const redis::reply& r);

struct redis_auction_state {
  redis_auction_head head;
  bool ended = false;
  std::int64_t start_ms = 0;
  std::int64_t min_acceptable = 0;
};
std::optional<redis_auction_state> parse_state(const redis::reply& r);

struct redis_auction_init {
  std::int64_t now_ms = 0;
  std::int64_t start_price = 0;
  std::int64_t min_increment = 0;
  std::int64_t reserve_price = 0;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;  // as configured (resolved by the first node)
  std::int64_t extend_window_ms = 0;
  std::int64_t extend_by_ms = 0;
  bool created = false;
};
std::optional<redis_auction_init> parse_init(const redis::reply& r);

struct redis_stored_bid {
  std::int64_t seq = 0;
  std::string user;
  std::int64_t amount = 0;
  std::int64_t ts_ms = 0;
};
// LRANGE base:bids ...: "seq\nuser\namount\nts_ms" each; nullopt when one is malformed.
std::optional<std::vector<redis_stored_bid>> parse_bid_list(const redis::reply& r);

}  // namespace rushcast::store
