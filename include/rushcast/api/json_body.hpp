// Owns the shared JSON-in/JSON-out helpers of the HTTP API: body parsing with the contract's
// errors, the {"error","message"} body, and the userId rule. Used by every api/ handler.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include "rushcast/api/errc.hpp"
#include "rushcast/api/http_types.hpp"
#include "rushcast/core/client_json.hpp"
#include "rushcast/core/ids.hpp"

namespace rushcast::api {

// The depth-checked client JSON parse and the user id rule live in core/; handlers name them
// unqualified inside api.
using core::json_depth_within;
using core::max_json_depth;
using core::parse_client_json;
using core::check_user_id;
using core::max_user_id_bytes;

// Parses req.body as one JSON object. A Content-Type other than application/json (parameters
// such as ";charset=utf-8" allowed), or none at all -> errc::unsupported_media_type (415), so
// that a cross-site HTML form cannot post a JSON route; else as parse_client_json.
boost::system::result<nlohmann::json> parse_json_body(const request& req);
// Whether req's Content-Type is application/json (parameters allowed): the check
// parse_json_body makes first, for handlers that read the body without a DOM.
bool has_json_content_type(const request& req);

// The hot path's reader for a small flat object such as {"userId":"u","saleId":"s"}, without
// a DOM (api/flat_json): the values of the two named keys ("" when absent). Only for text
// flat_object takes, with each named key, when present, a string; anything else (nesting,
// escapes, UTF-8, duplicates, a named key of another type, bad syntax) gives nullopt and the
// caller parses it the general way, so every such input keeps the answer parse_json_body +
// optional_string give it. For accepted text both agree exactly.
std::optional<std::array<std::string_view, 2>> read_two_flat_strings(std::string_view text,
                                                                     std::string_view key1,
                                                                     std::string_view key2);

// {"error": error_name(e), "message": message} plus every key of extra (an object or null),
// with http_status(e) and Content-Type application/json.
response error_response(errc e, std::string message, nlohmann::json extra = {});

// 200 (or status) with body j.dump(), Content-Type application/json.
response json_response(const nlohmann::json& j, unsigned status = 200);

// 429 rate_limited with {"retryAfterMs", "scope"} and a Retry-After header in whole seconds
// (rounded up, at least 1).
response rate_limited_response(std::uint32_t retry_after_ms, std::string_view scope);

// How long a client is asked to wait after 503 unavailable because the store cannot write:
// the store probes itself more often than this, so the retry usually finds it back.
inline constexpr std::uint32_t store_retry_after_ms = 1000;
// Adds Retry-After in whole seconds (rounded up, at least 1).
void add_retry_after(response& r, std::uint32_t retry_after_ms);

// The message for a user id that could not be used: missing_user_id, bad_user_id, unauthorized.
std::string_view user_id_error_message(errc e) noexcept;

// Reads an optional string member: absent or null -> "" ; a non-string -> errc::bad_request.
boost::system::result<std::string> optional_string(const nlohmann::json& obj,
                                                   std::string_view key);

}  // namespace rushcast::api
