// Owns the bodies a bidder is answered with (see the header).
#include "rushcast/api/bid_replies.hpp"

#include <nlohmann/json.hpp>

#include "rushcast/api/errc.hpp"
#include "rushcast/api/json_body.hpp"

namespace rushcast::api {
namespace {

using engine::auction_engine;

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_int(std::string& out, std::int64_t v) { out += std::to_string(v); }

// Keys in a DOM's order (sorted): auctionId, bidAmount, currentPrice, then the last key.
std::string accepted_body(const auction_engine::bid_reply& r, std::string_view id_json,
                          std::string_view last_key_and_value) {
  std::string out;
  out.reserve(96 + id_json.size());
  out += "{\"auctionId\":";
  out += id_json;
  out += ",\"bidAmount\":";
  append_int(out, r.bid_amount);
  out += ",\"currentPrice\":";
  append_int(out, r.current_price);
  out += ',';
  out += last_key_and_value;
  out += '}';
  return out;
}

// bid_too_low's fields in a DOM's order, the "code" (WS) or "error" (HTTP) key placed where it
// sorts, and the WebSocket's "type" last.
std::string too_low_body(const auction_engine::bid_reply& r, std::string_view id_json, bool ws) {
  std::string out;
  out.reserve(200 + id_json.size());
  out += "{\"auctionId\":";
  out += id_json;
  if (ws) out += ",\"code\":\"bid_too_low\"";
  out += ",\"currentPrice\":";
  append_int(out, r.current_price);
  if (!ws) out += ",\"error\":\"bid_too_low\"";
  out += ",\"message\":\"";
  out += bid_refusal_message(errc::bid_too_low);
  out += "\",\"minBid\":";
  append_int(out, r.min_acceptable);
  out += ",\"minIncrement\":";
  append_int(out, r.min_increment);
  if (ws) out += ",\"type\":\"error\"";
  out += '}';
  return out;
}

}  // namespace

std::string_view bid_refusal_message(errc e) {
  switch (e) {
    case errc::bid_invalid: return "bidAmount must be a positive integer of at most 10^12";
    case errc::bid_too_low: return "bid too low: it must reach the current price plus the increment";
    case errc::not_started: return "the auction has not started";
    case errc::ended: return "the auction has ended";
    case errc::unavailable: return "bids cannot be stored right now; try again shortly";
    default: return "bid refused";
  }
}

nlohmann::json bid_refusal_fields(const auction_engine::bid_reply& r) {
  nlohmann::json j{{"auctionId", r.auction_id}, {"currentPrice", r.current_price}};
  switch (r.code) {
    case errc::bid_too_low:
      j["minIncrement"] = r.min_increment;
      j["minBid"] = r.min_acceptable;
      break;
    case errc::not_started: j["startTime"] = r.start_ms; break;
    case errc::ended: j["endTime"] = r.end_ms; break;
    case errc::unavailable: j["retryAfterMs"] = store_retry_after_ms; break;
    default: break;
  }
  return j;
}

std::string ws_bid_reply(const auction_engine::bid_reply& r, std::string_view id_json,
                         const nlohmann::json& ref) {
  if (ref.is_null()) {
    if (r.code == errc::ok) return accepted_body(r, id_json, "\"type\":\"accepted\"");
    if (r.code == errc::bid_too_low) return too_low_body(r, id_json, true);
  }
  nlohmann::json j;
  if (r.code == errc::ok) {
    j = {{"type", "accepted"},
         {"auctionId", r.auction_id},
         {"bidAmount", r.bid_amount},
         {"currentPrice", r.current_price}};
  } else {
    j = bid_refusal_fields(r);
    j["type"] = "error";
    j["code"] = error_name(r.code);
    j["message"] = bid_refusal_message(r.code);
  }
  if (!ref.is_null()) j["ref"] = ref;
  return dump(j);
}

response http_bid_reply(const auction_engine::bid_reply& r, std::string_view id_json) {
  if (r.code == errc::ok)
    return response::json(200, accepted_body(r, id_json, "\"status\":\"accepted\""));
  if (r.code == errc::bid_too_low)
    return response::json(http_status(errc::bid_too_low), too_low_body(r, id_json, false));
  auto res =
      error_response(r.code, std::string(bid_refusal_message(r.code)), bid_refusal_fields(r));
  if (r.code == errc::unavailable) add_retry_after(res, store_retry_after_ms);
  return res;
}

}  // namespace rushcast::api
