// Owns the rule for display names clients choose (the WebSocket "username" shown in chat
// presence). Used by net::http_session on the upgrade, before any name reaches the hub.
#pragma once

#include <cstddef>
#include <string_view>

namespace rushcast::api {

inline constexpr std::size_t max_display_name_bytes = 64;

// 1..64 bytes of well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF) without
// control characters (U+0000..U+001F, U+007F..U+009F). Such a name can always be written as
// JSON and shown on a page as it is.
bool valid_display_name(std::string_view name);

}  // namespace rushcast::api
