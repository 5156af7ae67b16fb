// Owns the syntax of user ids, topic names and idempotency keys, the one rule wherever they come from.
// Used by auth (a token's sub), config (default topics), api (bodies, queries, messages).
#pragma once

#include <cstddef>
#include <string_view>

#include "rushcast/core/errc.hpp"

namespace rushcast::core {

// The one rule for user ids, wherever they come from (body, query, WebSocket message, JWT sub):
// empty -> missing_user_id; more than max_user_id_bytes or a byte outside [A-Za-z0-9_.@:-] ->
// bad_user_id. Every id it admits makes a valid "user:<id>" topic.
inline constexpr std::size_t max_user_id_bytes = 120;  // "user:" + 120 <= the 128-byte topic limit
errc check_user_id(std::string_view user_id);

// Topic syntax: 1..max_topic_bytes bytes of [A-Za-z0-9:_.@-].
inline constexpr std::size_t max_topic_bytes = 128;
bool valid_topic(std::string_view topic);

// An `Idempotency-Key` header (a purchase's request id in cluster mode): 1..max_idempotency_key_
// bytes of [A-Za-z0-9_.:-] (UUIDs, ULIDs, base64url fit). Redis keeps it per user and sale.
inline constexpr std::size_t max_idempotency_key_bytes = 100;
bool valid_idempotency_key(std::string_view key);

}  // namespace rushcast::core
