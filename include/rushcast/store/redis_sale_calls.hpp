// Owns the sale Functions' calls as values: the FCALL argument lists of rc_sale_* (key layout:
// docs/ARCHITECTURE.md, "Redis backend") and the parse of each reply into plain structs (pure,
// unit-tested without Redis). Used by engine::cluster_sale_runner and its start-up.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rushcast/redis/reply.hpp"

namespace rushcast::store {

// rc:sale:{ID}: the base key every sale Function takes (the hash tag keeps a sale in one slot).
std::string redis_sale_key(std::string_view sale_id);

// rc_sale_init: {now, total, start_ms, end_ms, per_user_limit, rate, created}.
struct redis_sale_meta {
  std::int64_t now_ms = 0;
  std::int64_t total = 0;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::int64_t per_user_limit = 1;
  std::int64_t rate = 0;  // process_rate_per_s
  bool created = false;   // this call stored the sale (the first node)
};

// The counts every admission and state reply carries. stock = total - head, queued =
// reserved - head.
struct redis_sale_counts {
  std::int64_t now_ms = 0;
  std::int64_t total = 0;
  std::int64_t reserved = 0;
  std::int64_t head = 0;
};

// rc_sale_state: the counts and the meta.
struct redis_sale_state {
  redis_sale_counts counts;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::int64_t per_user_limit = 1;
  std::int64_t rate = 0;
};

// One request's answer from rc_sale_admit.
struct redis_admit_result {
  enum kind_t { queued, sold_out, duplicate, not_started, ended } kind = queued;
  std::int64_t position = 0;  // queued: the position; duplicate: the user's latest
  std::int64_t user_seq = 0;  // queued
  bool replay = false;        // queued: the request id was admitted before (its first answer)
  bool done = false;          // duplicate: the latest admission is worked off
  std::int64_t time_ms = 0;   // not_started: start_ms; ended: end_ms
};

struct redis_admit_reply {
  redis_sale_counts counts;
  std::vector<redis_admit_result> results;  // one per request, in order
};

// rc_sale_complete: positions head_before + 1 .. head_after were worked off by this call,
// users[i] the buyer of head_before + 1 + i.
struct redis_complete_reply {
  std::int64_t now_ms = 0;
  std::int64_t head_before = 0;
  std::int64_t head_after = 0;
  std::int64_t reserved = 0;
  std::vector<std::string> users;
};

// rc_sale_user: the user's admissions and whether every unit is reserved.
struct redis_user_reply {
  std::int64_t count = 0;
  std::int64_t latest_position = 0;
  bool done = false;
  bool sold_out = false;
};

// rc_sale_unannounced: ranges worked off whose results their node never published (it died),
// now handed to the caller: users[i] is the buyer of first + i.
struct redis_unannounced_range {
  std::int64_t first = 0;
  std::vector<std::string> users;
};
struct redis_unannounced_reply {
  std::int64_t now_ms = 0;
  std::vector<redis_unannounced_range> ranges;
};

struct redis_admit_request {
  std::string user_id;
  std::string request_id;  // at most 128 bytes (the Function's bound)
};

// The FCALL argument lists. Times are "abs:MS" or "rel:MS".
std::vector<std::string> sale_init_command(std::string_view sale_id, std::int64_t total,
                                           const std::string& start, const std::string& end,
                                           std::int64_t per_user_limit, std::int64_t rate);
std::vector<std::string> sale_admit_command(std::string_view sale_id,
                                            std::span<const redis_admit_request> requests);
std::vector<std::string> sale_complete_command(std::string_view sale_id, std::int64_t max);
std::vector<std::string> sale_state_command(std::string_view sale_id);
std::vector<std::string> sale_user_command(std::string_view sale_id, std::string_view user);
// The results of the range starting at first are published: Redis forgets the range.
std::vector<std::string> sale_announced_command(std::string_view sale_id, std::int64_t first);
std::vector<std::string> sale_unannounced_command(std::string_view sale_id,
                                                  std::int64_t older_than_ms,
                                                  std::int64_t max_ranges);
std::vector<std::string> sale_lease_command(std::string_view sale_id, std::string_view node,
                                            std::int64_t ttl_ms);

// Each parse returns nullopt when the reply does not have the Function's shape (an error
// reply, a missing or non-numeric field, a result of an unknown kind): nothing in it is used.
std::optional<redis_sale_meta> parse_sale_init(const redis::reply& r);
// n: the requests sent; a reply with another number of results is refused.
std::optional<redis_admit_reply> parse_sale_admit(const redis::reply& r, std::size_t n);
std::optional<redis_complete_reply> parse_sale_complete(const redis::reply& r);
std::optional<redis_sale_state> parse_sale_state(const redis::reply& r);
std::optional<redis_user_reply> parse_sale_user(const redis::reply& r);
std::optional<redis_unannounced_reply> parse_sale_unannounced(const redis::reply& r);

}  // namespace rushcast::store
