// Owns what an Idempotency-Key header may hold: the client's request id for a write that a
// cluster engine decides at most once per (user, key). Used by api/auction_routes (bids).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "rushcast/core/ids.hpp"

namespace rushcast::api {

// The rule is core::valid_idempotency_key's, shared with the sale routes.
inline constexpr std::size_t max_idempotency_key_bytes = core::max_idempotency_key_bytes;

// The header's value when it is 1..max_idempotency_key_bytes characters of
// [A-Za-z0-9_.:-] (UUIDs, ULIDs, base64url fit; the rule the sale routes apply too), "" when
// the header is absent, and
// errc::bad_request otherwise (an empty header included: a client that meant to send a key
// and sent none would lose the guarantee without knowing).
boost::system::result<std::string> read_idempotency_key(const std::optional<std::string>& header);

}  // namespace rushcast::api
