// Owns who may open a WebSocket by its Origin (cross-site WebSocket hijacking) and the
// handshake header rules. Used by net::http_session before it hands an upgrade to ws_session.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rushcast/api/http_types.hpp"

namespace rushcast::api {

enum class ws_origin {
  same_site,   // no Origin (not a browser), or Origin = the request's own scheme://host
  listed,      // Origin is in cors.allow_origins
  cross_site,  // any other Origin, allowed only by "*": a cookie must not authenticate it
  forbidden,   // any other Origin without "*": 403 before the upgrade
};

// via_proxy: the peer is a trusted proxy, so X-Forwarded-Proto and X-Forwarded-Host (when
// present) name the scheme and host the browser used; otherwise the scheme is http and the
// host is Host. Host names and schemes compare case-insensitively.
ws_origin check_ws_origin(const request& r, const std::vector<std::string>& allow_origins,
                          bool via_proxy);

// Sec-WebSocket-Key: exactly base64 of 16 bytes (22 characters of the alphabet and "==").
bool valid_ws_key(std::string_view key);

}  // namespace rushcast::api
