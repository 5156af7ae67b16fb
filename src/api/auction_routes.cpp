// Owns the auction HTTP routes (/api/bid, /api/auctions/ID) and the WebSocket "bid" message.
// Registered by app/server at start-up; calls an engine::auction_engine (local or cluster).
#include "rushcast/api/auction_routes.hpp"

#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "rushcast/api/bid_replies.hpp"
#include "rushcast/api/context.hpp"
#include "rushcast/api/flat_json.hpp"
#include "rushcast/api/idempotency_key.hpp"
#include "rushcast/api/json_body.hpp"
#include "rushcast/api/page_json.hpp"
#include "rushcast/api/router.hpp"
#include "rushcast/api/ws_protocol.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/engine/auction.hpp"
#include "rushcast/engine/auction_engine.hpp"
#include "rushcast/engine/registry.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::api {
namespace {

using engine::auction_engine;

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

// The fields of a bid as the contract reads them, from a DOM or from a flat object: both
// readings give the same values and errors for every input the flat reader takes.
struct bid_fields {
  boost::system::result<std::string> user;        // "" when absent or null
  boost::system::result<std::string> auction_id;  // "" when absent or null
  boost::system::result<std::int64_t> amount;
};

bid_fields fields_of(const nlohmann::json& msg) {
  return {optional_string(msg, "userId"), optional_string(msg, "auctionId"), read_amount(msg)};
}

// As optional_string, on a flat member.
boost::system::result<std::string> optional_string(const flat_object& msg, std::string_view key) {
  const flat_member* m = msg.find(key);
  if (!m || m->type == flat_member::kind::null) return std::string{};
  if (m->type != flat_member::kind::string) return make_error_code(errc::bad_request);
  return std::string(m->text);
}

// As read_amount: a flat integer is written as the DOM would dump it.
boost::system::result<std::int64_t> read_amount(const flat_object& msg) {
  const flat_member* m = msg.find("bidAmount");
  if (!m || m->type != flat_member::kind::integer) return make_error_code(errc::bid_invalid);
  return engine::parse_bid_amount(m->text);
}

bid_fields fields_of(const flat_object& msg) {
  return {optional_string(msg, "userId"), optional_string(msg, "auctionId"), read_amount(msg)};
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
    auto n = ++counts_[key];
    held_.store(counts_.size(), std::memory_order_relaxed);
    return n;
  }
  // Called for every bid that passes the rate limit: without any strike held (the usual
  // case) it takes no lock shared by the shards.
  void clear(const std::string& key) {
    if (held_.load(std::memory_order_relaxed) == 0) return;
    std::lock_guard lk(mu_);
    counts_.erase(key);
    held_.store(counts_.size(), std::memory_order_relaxed);
  }

private:
  static constexpr std::size_t max_keys = 100000;
  std::mutex mu_;
  std::unordered_map<std::string, std::uint32_t> counts_;
  std::atomic<std::size_t> held_{0};  // counts_.size(), readable without mu_
};

void publish_ratelimit(context& ctx, const std::string& user, std::uint32_t wait_ms) {
  ctx.hub.publish("user:" + user, "ratelimit",
                  dump({{"retryAfterMs", wait_ms}, {"scope", "user"}}));
}

void on_http_bid_fields(context& ctx, const request& req, bid_fields f, responder respond) {
  if (!f.user) {
    respond(error_response(errc::bad_request, "\"userId\" must be a string"));
    return;
  }
  auto user = ctx.auth.acting_user(req, *f.user);
  errc user_check = user ? check_user_id(*user) : static_cast<errc>(user.error().value());
  if (user_check != errc::ok) {
    respond(error_response(user_check, std::string(user_id_error_message(user_check))));
    return;
  }
  if (!f.auction_id) {
    respond(error_response(errc::bad_request, "\"auctionId\" must be a string"));
    return;
  }
  auto key = read_idempotency_key(req.header("idempotency-key"));
  if (!key) {
    respond(error_response(errc::bad_request,
                           "Idempotency-Key must be 1.." +
                               std::to_string(max_idempotency_key_bytes) +
                               " characters of A-Z a-z 0-9 _ . : -"));
    return;
  }
  auto runner = ctx.engines.auction(*f.auction_id);
  if (!runner) {
    respond(error_response(errc::not_found, "no such auction"));
    return;
  }
  if (!f.amount) {
    ctx.metrics.count_bid(errc::bid_invalid);
    respond(error_response(errc::bid_invalid, std::string(bid_refusal_message(errc::bid_invalid)),
                           {{"auctionId", runner->id()}}));
    return;
  }
  if (std::uint32_t wait = ctx.rate.check_user(*user, now_ms()); wait != 0) {
    ctx.metrics.rate_limited.fetch_add(1, std::memory_order_relaxed);
    ctx.metrics.count_bid(errc::rate_limited);
    publish_ratelimit(ctx, *user, wait);
    respond(rate_limited_response(wait, "user"));
    return;
  }
  auction_engine::bid_done done = [respond = std::move(respond),
                                   runner](auction_engine::bid_reply reply) {
    respond(http_bid_reply(reply, runner->id_json()));
  };
  if (auto refused = runner->bid(*user, *f.amount, *key, done)) done(std::move(*refused));
}

void on_http_bid(context& ctx, const request& req, responder respond) {
  // The common body without a DOM; any other shape (and a wrong Content-Type) the full way.
  if (has_json_content_type(req))
    if (auto flat = flat_object::parse(req.body))
      return on_http_bid_fields(ctx, req, fields_of(*flat), std::move(respond));
  auto body = parse_json_body(req);
  if (!body) {
    auto e = static_cast<errc>(body.error().value());
    respond(error_response(e, e == errc::bad_json ? "the body must be one JSON object"
                                                  : "Content-Type must be application/json"));
    return;
  }
  on_http_bid_fields(ctx, req, fields_of(*body), std::move(respond));
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
  nlohmann::json j = it->second->state_json(state_bids);
  add_product(j, ctx.cfg.products, "auction:" + std::string(id));
  add_viewer(j, ctx.auth, req);
  respond(json_response(j));
}

void on_http_list(context& ctx, const request&, responder respond) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [id, runner] : ctx.engines.auctions) {
    list.push_back(runner->state_json(0));
    add_product(list.back(), ctx.cfg.products, "auction:" + id);
  }
  respond(json_response({{"auctions", std::move(list)}}));
}

void on_ws_bid(context& ctx, strike_counter& strikes, ws_client& c, bid_fields f,
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
    if (!f.user) return send_error("bad_request", "\"userId\" must be a string");
    if (!f.user->empty()) user = std::move(*f.user);
  }
  if (errc e = check_user_id(user); e != errc::ok)
    return send_error(error_name(e), user_id_error_message(e));
  if (!f.auction_id) return send_error("bad_request", "\"auctionId\" must be a string");
  auto runner = ctx.engines.auction(*f.auction_id);
  if (!runner) return send_error("not_found", "no such auction");
  if (!f.amount) {
    ctx.metrics.count_bid(errc::bid_invalid);
    return send_error("bid_invalid", bid_refusal_message(errc::bid_invalid),
                      {{"auctionId", runner->id()}});
  }
  if (std::uint32_t wait = ctx.rate.check_user(user, now_ms()); wait != 0) {
    ctx.metrics.rate_limited.fetch_add(1, std::memory_order_relaxed);
    ctx.metrics.count_bid(errc::rate_limited);
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
  // A refusal is answered here and now; an accepted bid once its commit is durable, on this
  // shard (the runner posts each commit's replies once per shard).
  auction_engine::bid_done done = [send = c.async_sender(), runner,
                                   ref](auction_engine::bid_reply r) {
    send(ws_bid_reply(r, runner->id_json(), ref));
  };
  if (auto refused = runner->bid(user, *f.amount, {}, done))
    c.send_text(ws_bid_reply(*refused, runner->id_json(), ref));
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
    on_ws_bid(ctx, *strikes, c, fields_of(m), ref);
  });
  p.add_flat("bid", [&ctx, strikes](ws_client& c, const flat_object& m) {
    on_ws_bid(ctx, *strikes, c, fields_of(m), nullptr);
  });
}

}  // namespace rushcast::api
