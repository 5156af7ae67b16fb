// Owns the seckill HTTP routes (POST /api/seckill, GET /api/sales[/ID[/result]]) and the
// WebSocket "seckill" message. Registered by app/server at start-up; calls engine::sale_engine.
#include "rushcast/api/sale_routes.hpp"

#include <memory>

#include <nlohmann/json.hpp>

#include "rushcast/api/context.hpp"
#include "rushcast/api/json_body.hpp"
#include "rushcast/api/page_json.hpp"
#include "rushcast/api/router.hpp"
#include "rushcast/api/ws_protocol.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/core/ids.hpp"
#include "rushcast/engine/registry.hpp"
#include "rushcast/engine/sale_engine.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::api {
namespace {

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One seckill answer, independent of the transport: ok with a body whose "status" names it,
// or a contract error with its message and extra fields.
struct outcome {
  errc code = errc::ok;
  std::string message;
  // ok: the reply, already serialised (the hot path builds no DOM); error: empty.
  std::string ok_json;
  nlohmann::json body = nlohmann::json::object();  // error: extra fields
  std::uint32_t retry_after_ms = 0;                // rate_limited, unavailable
};

// The contract code inside an error from auth/ or json_body (errc::internal for anything else).
errc as_errc(const boost::system::error_code& ec) {
  return ec.category() == rushcast_category() ? static_cast<errc>(ec.value()) : errc::internal;
}

outcome error_outcome(errc e, std::string message, nlohmann::json extra = nlohmann::json::object()) {
  return outcome{e, std::move(message), {}, std::move(extra), 0};
}

// A JSON string literal of s: quoted as is when it needs no escape (config ids do not).
void append_json_string(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += dump(std::string(s));
      return;
    }
  }
  out += '"';
  out += s;
  out += '"';
}

// The 200 bodies, byte for byte what nlohmann's dump gives (keys in order): built by hand
// because every admission sends one.
std::string ok_body(const std::string& sale_id, const engine::admit_reply& r) {
  std::string out;
  out.reserve(64 + sale_id.size());
  if (r.sold_out) {
    out += R"({"saleId":)";
    append_json_string(out, sale_id);
    out += R"(,"status":"sold_out"})";
    return out;
  }
  out += R"({"position":)";
  out += std::to_string(r.position);
  out += R"(,"saleId":)";
  append_json_string(out, sale_id);
  out += R"(,"status":"queued"})";
  return out;
}

nlohmann::json answer_json(const engine::user_answer& a) {
  nlohmann::json j{{"status", engine::answer_name(a.status)}};
  if (a.status == engine::user_answer::queued || a.status == engine::user_answer::success)
    j["position"] = a.position;
  if (a.status == engine::user_answer::success) j["orderId"] = a.order_id;
  return j;
}

outcome from_reply(const std::string& sale_id, const engine::admit_reply& r) {
  switch (r.code) {
    case errc::ok:
      return outcome{errc::ok, {}, ok_body(sale_id, r), {}, 0};
    case errc::not_started:
      return error_outcome(errc::not_started, "the sale has not started",
                           {{"saleId", sale_id}, {"startTime", r.start_ms}});
    case errc::ended:
      return error_outcome(errc::ended, "the sale has ended", {{"saleId", sale_id}});
    case errc::duplicate: {
      nlohmann::json extra{{"saleId", sale_id}, {"position", r.earlier.position}};
      extra["result"] = engine::answer_name(r.earlier.status);
      if (!r.earlier.order_id.empty()) extra["orderId"] = r.earlier.order_id;
      return error_outcome(errc::duplicate, "one purchase per user: this is your earlier answer",
                           std::move(extra));
    }
    case errc::unavailable: {
      // The store cannot take the purchase now (or the server is draining): nothing was
      // reserved, and trying again shortly is the right move.
      outcome o = error_outcome(errc::unavailable,
                                "purchases cannot be stored right now; try again shortly",
                                {{"saleId", sale_id}, {"retryAfterMs", store_retry_after_ms}});
      o.retry_after_ms = store_retry_after_ms;
      return o;
    }
    default:
      return error_outcome(errc::internal, "the admission could not be stored; try again");
  }
}

// The rules shared by HTTP and WebSocket, after the transport found the user and sale id.
// done(outcome) may run on the sale's strand; a template, so that the transport's callable is
// not wrapped in a std::function of its own on the way (the engine's is the only one).
// request_id: a validated Idempotency-Key, or empty.
template <class Done>
void seckill(context& ctx, std::string user_id, const std::string& sale_id,
             boost::asio::io_context* home, Done done, std::string request_id = {}) {
  if (errc e = check_user_id(user_id); e != errc::ok)
    return done(error_outcome(e, std::string(user_id_error_message(e))));
  auto runner = ctx.engines.sale(sale_id);
  if (!runner) return done(error_outcome(errc::not_found, "no such sale"));
  if (std::uint32_t wait = ctx.rate.check_user(user_id, now_ms()); wait != 0) {
    ctx.metrics.rate_limited.fetch_add(1, std::memory_order_relaxed);
    ctx.metrics.count_admission(obs::admission_outcome::rate_limited);
    ctx.hub.publish("user:" + user_id, "ratelimit",
                    dump({{"retryAfterMs", wait}, {"scope", "user"}}));
    outcome o = error_outcome(errc::rate_limited, "too many requests",
                              {{"retryAfterMs", wait}, {"scope", "user"}});
    o.retry_after_ms = wait;
    return done(std::move(o));
  }
  // The runner outlives its answers (the registry holds it for the process), so its id is
  // read there when the answer comes instead of being copied now.
  const std::string* id = &runner->id();
  runner->admit(
      std::move(user_id),
      [id, done = std::move(done)](engine::admit_reply r) { done(from_reply(*id, r)); }, home,
      std::move(request_id));
}

void on_seckill_http(context& ctx, const request& req, responder respond) {
  if (!has_json_content_type(req))
    return respond(error_response(errc::unsupported_media_type,
                                  "Content-Type must be application/json"));
  // A retry of a purchase whose answer was lost carries the same key: in cluster mode Redis
  // answers it with the first answer instead of deciding again (docs/PROTOCOL.md).
  std::string request_id;
  if (auto key = req.header("idempotency-key")) {
    if (!core::valid_idempotency_key(*key))
      return respond(error_response(
          errc::bad_request, "Idempotency-Key must be 1.." +
                                 std::to_string(core::max_idempotency_key_bytes) +
                                 " characters of A-Z a-z 0-9 _ . : -"));
    request_id = std::move(*key);
  }
  // The usual body, a flat object of plain strings, is read without a DOM (views into the
  // body); any other body goes through the general parse and gets its usual answer.
  std::string_view user_field, sale_view;
  std::string parsed_user, parsed_sale;
  if (auto flat = read_two_flat_strings(req.body, "userId", "saleId")) {
    user_field = (*flat)[0];
    sale_view = (*flat)[1];
  } else {
    auto body = parse_client_json(req.body);
    if (!body) return respond(error_response(errc::bad_json, "the body must be one JSON object"));
    auto user = optional_string(*body, "userId");
    auto sale_id = optional_string(*body, "saleId");
    if (!user) return respond(error_response(errc::bad_user_id, "userId must be a string"));
    if (!sale_id) return respond(error_response(errc::bad_request, "saleId must be a string"));
    parsed_user = std::move(*user);
    parsed_sale = std::move(*sale_id);
    user_field = parsed_user;
    sale_view = parsed_sale;
  }
  auto acting = ctx.auth.acting_user(req, user_field);
  if (!acting) {
    errc e = as_errc(acting.error());
    return respond(error_response(e, std::string(user_id_error_message(e))));
  }
  const std::string sale_id(sale_view);
  seckill(
      ctx, std::move(*acting), sale_id, req.home,
      [respond = std::move(respond)](outcome o) {
        if (o.code == errc::ok) return respond(response::json(200, std::move(o.ok_json)));
        if (o.code == errc::rate_limited)
          return respond(rate_limited_response(o.retry_after_ms, "user"));
        const auto retry_after_ms = o.retry_after_ms;
        auto r = error_response(o.code, std::move(o.message), std::move(o.body));
        if (retry_after_ms != 0) add_retry_after(r, retry_after_ms);
        respond(std::move(r));
      },
      std::move(request_id));
}

nlohmann::json sale_json(const engine::sale_view& v, std::int64_t now) {
  return {{"id", v.id},         {"name", v.name},
          {"stock", v.stock},   {"total", v.total},
          {"queued", v.queued}, {"head", v.head},
          {"phase", engine::phase_name(v.phase_at(now))},
          {"startTime", v.start_ms},
          {"endTime", v.end_ms},
          {"serverTime", now}};
}

// GET /api/sales/ID and GET /api/sales/ID/result?userId=U
void on_sales_get(context& ctx, const request& req, responder respond) {
  constexpr std::string_view prefix = "/api/sales/";
  std::string rest = req.path.substr(prefix.size());
  bool want_result = false;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    if (rest.substr(slash) != "/result")
      return respond(error_response(errc::not_found, "no such resource"));
    want_result = true;
    rest.resize(slash);
  }
  if (rest.empty()) return respond(error_response(errc::not_found, "no such sale"));
  auto it = ctx.engines.sales.find(rest);
  if (it == ctx.engines.sales.end())
    return respond(error_response(errc::not_found, "no such sale"));
  auto runner = it->second;
  if (!want_result) {
    nlohmann::json j = sale_json(runner->view(), now_ms());
    add_product(j, ctx.cfg.products, "sale:" + rest);
    add_viewer(j, ctx.auth, req);
    return respond(json_response(j));
  }

  auto acting = ctx.auth.acting_user(req, req.param("userId").value_or(""));
  if (!acting) {
    errc e = as_errc(acting.error());
    return respond(error_response(e, std::string(user_id_error_message(e))));
  }
  runner->result_for(*acting, [respond = std::move(respond),
                               id = runner->id()](engine::user_answer a) {
    // A finished buyer's answer is read from the store; it could not be read just now.
    if (a.status == engine::user_answer::unavailable)
      return respond(error_response(errc::unavailable,
                                    "the result cannot be read right now; try again shortly"));
    nlohmann::json j = answer_json(a);
    j["saleId"] = id;
    respond(json_response(j));
  });
}

void on_sales_list(context& ctx, const request&, responder respond) {
  nlohmann::json list = nlohmann::json::array();
  const std::int64_t now = now_ms();
  for (const auto& [id, runner] : ctx.engines.sales) {
    list.push_back(sale_json(runner->view(), now));
    add_product(list.back(), ctx.cfg.products, "sale:" + id);
  }
  respond(json_response({{"sales", std::move(list)}}));
}

void on_seckill_ws(context& ctx, ws_client& c, const nlohmann::json& msg,
                   const nlohmann::json& ref) {
  auto user = optional_string(msg, "userId");
  auto sale_id = optional_string(msg, "saleId");
  if (!user || !sale_id) {
    c.send_text(ws_error("bad_request", "userId and saleId must be strings", ref));
    return;
  }
  // With auth on the session's identity is the user; with it off a message may name one.
  std::string acting = ctx.auth.jwt_on() || user->empty() ? c.user_id() : *user;
  seckill(ctx, acting, *sale_id, nullptr, [send = c.async_sender(), ref](outcome o) {
    nlohmann::json j = std::move(o.body);
    if (o.code == errc::ok) {
      j = nlohmann::json::parse(o.ok_json);
      j["type"] = j["status"];
    } else {
      j["type"] = "error";
      j["code"] = error_name(o.code);
      j["message"] = std::move(o.message);
    }
    if (!ref.is_null()) j["ref"] = ref;
    send(dump(j));
  });
}

}  // namespace

void register_sale_routes(router& r, context& ctx) {
  r.add("POST", "/api/seckill",
        [&ctx](const request& req, responder respond) { on_seckill_http(ctx, req, std::move(respond)); });
  r.add("GET", "/api/sales",
        [&ctx](const request& req, responder respond) { on_sales_list(ctx, req, std::move(respond)); });
  r.add_prefix("GET", "/api/sales/",
               [&ctx](const request& req, responder respond) { on_sales_get(ctx, req, std::move(respond)); });
}

void register_sale_ws(ws_protocol& p, context& ctx) {
  p.add("seckill", [&ctx](ws_client& c, const nlohmann::json& msg, const nlohmann::json& ref) {
    on_seckill_ws(ctx, c, msg, ref);
  });
}

}  // namespace rushcast::api
