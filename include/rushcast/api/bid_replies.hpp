// Owns the bodies a bidder is answered with, over WebSocket and HTTP. The two common answers
// (accepted, bid_too_low) are written straight into a string; the rare ones through a DOM.
// Both give the same bytes a DOM would (keys in order). Used by api/auction_routes.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "rushcast/api/http_types.hpp"
#include "rushcast/engine/auction_engine.hpp"

namespace rushcast::api {

// The message of a refused bid, by code.
std::string_view bid_refusal_message(errc e);
// The fields an error reply carries beside code and message, per refusal.
nlohmann::json bid_refusal_fields(const engine::auction_engine::bid_reply& r);

// {"type":"accepted",...} or {"type":"error","code":...} with ref when not null.
// id_json: the auction id already as a JSON string (auction_engine::id_json()).
std::string ws_bid_reply(const engine::auction_engine::bid_reply& r, std::string_view id_json,
                         const nlohmann::json& ref);
// 200 {"status":"accepted",...}, or the refusal with its status (and Retry-After for
// unavailable).
response http_bid_reply(const engine::auction_engine::bid_reply& r, std::string_view id_json);

}  // namespace rushcast::api
