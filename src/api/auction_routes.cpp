// Owns the auction HTTP routes (/api/bid, /api/auctions/ID) and the WebSocket "bid" message.
// Registered by app/server at start-up; calls engine::auction_runner.
#include "rushcast/api/auction_routes.hpp"

#include <cmath>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "rushcast/api/context.hpp"
#include "rushcast/api/json_body.hpp"
#include "rushcast/api/router.hpp"
#include "rushcast/api/ws_protocol.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/engine/auction_runner.hpp"
#include "rushcast/engine/registry.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::api {
namespace {

using engine::auction_runner;

// GET /api/auctions/ID shows this many of the latest bids.
constexpr std::size_t state_bids = 20;

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// bidAmount as the contract takes it: a JSON number holding a positive integer <= 10^12.
// Strings, booleans, objects, fractions and non-finite values are bid_invalid.
boost::system::result<std::int64_t> read_amount(const nlohmann::json& msg) {
  auto it = msg.find("bidAmount");
  if (it == msg.end() || !it->is_number()) return make_error_code(errc::bid_invalid);
  if (it->is_number_float() && !std::isfinite(it->get<double>()))
    return make_error_code(errc::bid_invalid);
  return engine::parse_bid_amount(it->dump());
}

std::string_view refusal_message(errc e) {
  switch (e) {
    case errc::bid_invalid: return "bidAmount must be a positive integer of at most 10^12";
    case errc::bid_too_low: return "bid too low: it must reach the current price plus the increment";
    case errc::not_started: return "the auction has not started";
    case errc::ended: return "the auction has ended";
    case errc::unavailable: return "bids cannot be stored right now; try again shortly";
    default: return "bid refused";
  }
}

// The fields an error reply carries beside code and message, per refusal.
nlohmann::json refusal_fields(const auction_runner::bid_reply& r) {
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

// A WebSocket client refused by the rate limiter this many times in a row is closed (4029).
// Keyed by user (or address): the identity that floods, whichever connection it uses.
class strike_counter {
public:
  // Returns the strikes in a row, this one included.
  std::uint32_t strike(const std::string& key) {
    std::lock_guard lk(mu_);
    // Bounded: a flood of distinct keys forgets old strikes rather than growing without end.
    if (counts_.size() >= max_keys) counts_.clear();
    return ++counts_[key];
  }
  void clear(const std::string& key) {
    std::lock_guard lk(mu_);
    counts_.erase(key);
  }

private:
  static constexpr std::size_t max_keys = 100000;
  std::mutex mu_;
  std::unordered_map<std::string, std::uint32_t> counts_;
};

void publish_ratelimit(context& ctx, const std::string& user, std::uint32_t wait_ms) {
  ctx.hub.publish("user:" + user, "ratelimit",
                  dump({{"retryAfterMs", wait_ms}, {"scope", "user"}}));
}

void on_http_bid(context& ctx, const request& req, responder respond) {
  auto body = parse_json_body(req);
  if (!body) {
    auto e = static_cast<errc>(body.error().value());
    respond(error_response(e, e == errc::bad_json ? "the body must be one JSON object"
                                                  : "Content-Type must be application/json"));
    return;
  }
  auto body_user = optional_string(*body, "userId");
  if (!body_user) {
    respond(error_response(errc::bad_request, "\"userId\" must be a string"));
    return;
  }
  auto user = ctx.auth.acting_user(req, *body_user);
  errc user_check = user ? check_user_id(*user) : static_cast<errc>(user.error().value());
  if (user_check != errc::ok) {
    respond(error_response(user_check, std::string(user_id_error_message(user_check))));
    return;
  }
  auto auction_id = optional_string(*body, "auctionId");
  if (!auction_id) {
    respond(error_response(errc::bad_request, "\"auctionId\" must be a string"));
    return;
  }
  auto runner = ctx.engines.auction(*auction_id);
  if (!runner) {
    respond(error_response(errc::not_found, "no such auction"));
    return;
  }
  auto amount = read_amount(*body);
  if (!amount) {
    ctx.metrics.count_bid("bid_invalid");
    respond(error_response(errc::bid_invalid, std::string(refusal_message(errc::bid_invalid)),
                           {{"auctionId", runner->id()}}));
    return;
  }
  if (std::uint32_t wait = ctx.rate.check_user(*user, now_ms()); wait != 0) {
    ctx.metrics.rate_limited.fetch_add(1, std::memory_order_relaxed);
    ctx.metrics.count_bid("rate_limited");
    publish_ratelimit(ctx, *user, wait);
    respond(rate_limited_response(wait, "user"));
    return;
  }
  runner->bid(*user, *amount, [respond = std::move(respond)](auction_runner::bid_reply r) {
    if (r.code != errc::ok) {
      auto res = error_response(r.code, std::string(refusal_message(r.code)), refusal_fields(r));
      if (r.code == errc::unavailable) add_retry_after(res, store_retry_after_ms);
      respond(std::move(res));
      return;
    }
    respond(json_response({{"status", "accepted"},
                           {"auctionId", r.auction_id},
                           {"bidAmount", r.bid_amount},
                           {"currentPrice", r.current_price}}));
  });
}

void on_http_state(context& ctx, const request& req, responder respond) {
  constexpr std::string_view prefix = "/api/auctions/";
  std::string_view id = std::string_view(req.path).substr(prefix.size());
  if (id.empty() || id.find('/') != std::string_view::npos) {
    respond(error_response(errc::not_found, "no such auction"));
    return;
  }
  auto it = ctx.engines.auctions.find(std::string(id));
  if (it == ctx.engines.auctions.end()) {
    respond(error_response(errc::not_found, "no such auction"));
    return;
  }
  respond(json_response(it->second->state_json(state_bids)));
}

void on_http_list(context& ctx, const request&, responder respond) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [id, runner] : ctx.engines.auctions) list.push_back(runner->state_json(0));
  respond(json_response({{"auctions", std::move(list)}}));
}

void on_ws_bid(context& ctx, strike_counter& strikes, ws_client& c, const nlohmann::json& msg,
               const nlohmann::json& ref) {
  auto send_error = [&](std::string_view code, std::string_view message,
                        nlohmann::json extra = nlohmann::json::object()) {
    extra["type"] = "error";
    extra["code"] = code;
    extra["message"] = message;
    if (!ref.is_null()) extra["ref"] = ref;
    c.send_text(dump(extra));
  };

  // With auth on the connection's token decides who bids; with it off a message may name
  // the user (one socket may act for several users in a test or a kiosk).
  std::string user = c.user_id();
  if (!ctx.auth.jwt_on()) {
    auto named = optional_string(msg, "userId");
    if (!named) return send_error("bad_request", "\"userId\" must be a string");
    if (!named->empty()) user = std::move(*named);
  }
  if (errc e = check_user_id(user); e != errc::ok)
    return send_error(error_name(e), user_id_error_message(e));
  auto auction_id = optional_string(msg, "auctionId");
  if (!auction_id) return send_error("bad_request", "\"auctionId\" must be a string");
  auto runner = ctx.engines.auction(*auction_id);
  if (!runner) return send_error("not_found", "no such auction");
  auto amount = read_amount(msg);
  if (!amount) {
    ctx.metrics.count_bid("bid_invalid");
    return send_error("bid_invalid", refusal_message(errc::bid_invalid),
                      {{"auctionId", runner->id()}});
  }
  if (std::uint32_t wait = ctx.rate.check_user(user, now_ms()); wait != 0) {
    ctx.metrics.rate_limited.fetch_add(1, std::memory_order_relaxed);
    ctx.metrics.count_bid("rate_limited");
    publish_ratelimit(ctx, user, wait);
    if (strikes.strike(user) >= ctx.cfg.rate_limit.ws_abuse_strikes) {
      strikes.clear(user);
      c.close(4029, "rate limited repeatedly");
      return;
    }
    return send_error("rate_limited", "too many bids",
                      {{"retryAfterMs", wait}, {"scope", "user"}});
  }
  strikes.clear(user);
  auto send = c.async_sender();
  runner->bid(user, *amount, [send = std::move(send), ref](auction_runner::bid_reply r) {
    nlohmann::json j;
    if (r.code == errc::ok) {
      j = {{"type", "accepted"},
           {"auctionId", r.auction_id},
           {"bidAmount", r.bid_amount},
           {"currentPrice", r.current_price}};
    } else {
      j = refusal_fields(r);
      j["type"] = "error";
      j["code"] = error_name(r.code);
      j["message"] = refusal_message(r.code);
    }
    if (!ref.is_null()) j["ref"] = ref;
    send(dump(j));
  });
}

}  // namespace

void register_auction_routes(router& r, context& ctx) {
  r.add("POST", "/api/bid",
        [&ctx](const request& req, responder respond) { on_http_bid(ctx, req, std::move(respond)); });
  r.add("GET", "/api/auctions",
        [&ctx](const request& req, responder respond) { on_http_list(ctx, req, std::move(respond)); });
  r.add_prefix("GET", "/api/auctions/", [&ctx](const request& req, responder respond) {
    on_http_state(ctx, req, std::move(respond));
  });
}

void register_auction_ws(ws_protocol& p, context& ctx) {
  auto strikes = std::make_shared<strike_counter>();
  p.add("bid", [&ctx, strikes](ws_client& c, const nlohmann::json& m, const nlohmann::json& ref) {
    on_ws_bid(ctx, *strikes, c, m, ref);
  });
}

}  // namespace rushcast::api
