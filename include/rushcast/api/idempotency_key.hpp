// Owns what an Idempotency-Key header may hold: the client's request id for a write that a
// cluster engine decides at most once per (user, key). Used by api/auction_routes (bids).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace rushcast::api {

// Long enough for a UUID or a ULID with a prefix; the engine adds a short prefix of its own
// and Redis takes request ids of at most 128 bytes (src/redis/rushcast.lua).
inline constexpr std::size_t max_idempotency_key_bytes = 100;

// The header's value when it is 1..max_idempotency_key_bytes characters of
// [A-Za-z0-9_.:-] (UUIDs, ULIDs, base64url fit; the rule the sale routes apply too), "" when
// the header is absent, and
// errc::bad_request otherwise (an empty header included: a client that meant to send a key
// and sent none would lose the guarantee without knowing).
boost::system::result<std::string> read_idempotency_key(const std::optional<std::string>& header);

}  // namespace rushcast::api
