// Owns the one entry point for JSON from outside: a depth check before any recursive parse.
// Used by api (HTTP bodies, WebSocket messages) and auth (JWT header and claims).
#pragma once

#include <cstddef>
#include <string_view>

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include "rushcast/core/errc.hpp"

namespace rushcast::core {

// Client JSON nests at most this deep ({} and [] each count one level). Fixed, not a config
// key: nlohmann's dump and copy recurse, so raising it far would let a client crash a thread.
inline constexpr std::size_t max_json_depth = 64;

// True when text nests '[' and '{' (outside strings) at most max_depth deep. One pass, no
// recursion and no allocation; says nothing else about validity (the parser decides that).
bool json_depth_within(std::string_view text, std::size_t max_depth = max_json_depth) noexcept;

// Parses client bytes as one JSON object: too deep (json_depth_within is checked before anything
// recursive runs), malformed or not an object -> errc::bad_json. The one entry point for JSON
// from outside: HTTP bodies, WebSocket messages, JWT header and claims.
boost::system::result<nlohmann::json> parse_client_json(std::string_view text);

}  // namespace rushcast::core
