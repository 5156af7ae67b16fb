// Owns the core HTTP routes: backend publish, server time, health, readiness, metrics and the
// static files of the demo pages. Registered by app/server on the router.
#include "rushcast/api/core_routes.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "rushcast/api/context.hpp"
#include "rushcast/api/idempotency_key.hpp"
#include "rushcast/api/json_body.hpp"
#include "rushcast/api/router.hpp"
#include "rushcast/api/static_files.hpp"
#include "rushcast/api/topics.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/obs/metrics.hpp"
#include "rushcast/store/store_health.hpp"

namespace rushcast::api {
namespace {

// Static files larger than this are not served: the directory holds small demo pages.
constexpr std::uintmax_t max_static_bytes = 8 * 1024 * 1024;

std::string_view content_type_for(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

void serve_static(const context& ctx, const request& req, responder& respond) {
  namespace fs = std::filesystem;
  std::optional<fs::path> file;
  if (!ctx.cfg.static_dir.empty()) file = resolve_static(ctx.cfg.static_dir, req.path);
  std::error_code ec;
  std::uintmax_t size = file ? fs::file_size(*file, ec) : 0;
  if (!file || ec || size > max_static_bytes) {
    respond(error_response(errc::not_found, "no such resource"));
    return;
  }
  std::string_view type = content_type_for(*file);
  response r = response::text(200, {}, std::string(type));
  // Pages change with each deploy and are tiny: always revalidate them.
  if (type.starts_with("text/html")) r.headers.emplace_back("Cache-Control", "no-cache");
  if (req.method == "HEAD") {
    r.head_length = size;  // the length, without reading the file
    respond(std::move(r));
    return;
  }
  std::ifstream in(*file, std::ios::binary);
  r.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    respond(error_response(errc::internal, "could not read the file"));
    return;
  }
  respond(std::move(r));
}

// The publish API's answer when its event was not published: 503 with Retry-After, the
// contract's error body, and retryAfterMs like the 429s.
response backlog_full_response(errc e) {
  constexpr std::uint32_t retry_after_ms = 1000;
  response r = error_response(
      e,
      e == errc::unavailable
          ? "draining, or the cluster's event bus (Redis) unreachable: the event was not published"
                             : "fan-out backlog full (limits.max_publish_backlog): the event was "
                               "not published, retry",
      {{"retryAfterMs", retry_after_ms}});
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_ms / 1000));
  return r;
}

void publish(context& ctx, const request& req, responder& respond) {
  auto authz = req.header("authorization");
  if (!authz || authz->empty()) {
    response r = error_response(errc::unauthorized, "Authorization: Bearer <publish key> required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    respond(std::move(r));
    return;
  }
  if (!ctx.auth.check_publish_key(req)) {
    respond(error_response(errc::forbidden, "wrong publish key"));
    return;
  }
  auto body = parse_json_body(req);
  if (!body) {
    errc e = static_cast<errc>(body.error().value());
    respond(error_response(e, e == errc::unsupported_media_type
                                  ? "Content-Type must be application/json"
                                  : "the body must be a JSON object nested at most 64 deep"));
    return;
  }
  const nlohmann::json& j = *body;
  auto topic = j.find("topic");
  errc topic_check = topic != j.end() && topic->is_string()
                         ? check_backend_publish(topic->get_ref<const std::string&>())
                         : errc::bad_request;
  if (topic_check == errc::forbidden_topic) {
    respond(error_response(errc::forbidden_topic,
                           "sale:, auction: and sys: topics are published by the engines only"));
    return;
  }
  if (topic_check != errc::ok) {
    respond(error_response(errc::bad_request, "\"topic\" must match [A-Za-z0-9:_.@-]{1,128}"));
    return;
  }
  std::string event = "message";
  if (auto ev = j.find("event"); ev != j.end() && !ev->is_null()) {
    if (!ev->is_string() || !valid_event_name(ev->get_ref<const std::string&>())) {
      respond(error_response(errc::bad_request, "\"event\" must match [A-Za-z0-9_.-]{1,64}"));
      return;
    }
    event = ev->get<std::string>();
  }
  auto data = j.find("data");
  if (data == j.end() || !data->is_object()) {
    respond(error_response(errc::bad_request, "\"data\" must be a JSON object"));
    return;
  }
  // In a cluster the event is published at most once per key (a retry after a lost answer gets
  // the first one's id); the same rule as the buying and bidding routes' keys.
  auto idempotency_key = read_idempotency_key(req.header("idempotency-key"));
  if (!idempotency_key) {
    respond(error_response(errc::bad_request,
                           "Idempotency-Key must be 1.." +
                               std::to_string(max_idempotency_key_bytes) +
                               " characters of A-Z a-z 0-9 _ . : -"));
    return;
  }
  // Waits while the fan-out backlog is at limits.max_publish_backlog, so a fast publisher's
  // next request (keep-alive: one at a time) waits too; respond may run on a shard thread.
  ctx.hub.publish_bounded(
      topic->get<std::string>(), std::move(event),
      data->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      std::chrono::milliseconds(ctx.cfg.limits.max_publish_wait_ms),
      [respond](boost::system::result<hub::publish_result> published) {
        if (published) return respond(json_response({{"id", published->id}}));
        respond(backlog_full_response(static_cast<errc>(published.error().value())));
      },
      std::move(*idempotency_key));
}

}  // namespace

void register_core_routes(router& r, context& ctx) {
  r.add("POST", "/api/publish", [&ctx](const request& req, responder respond) {
    publish(ctx, req, respond);
  });
  r.add("GET", "/time", [](const request&, responder respond) {
    respond(json_response({{"serverTime", now_ms()}}));
  });
  r.add("GET", "/healthz", [](const request&, responder respond) {
    // {"status":"ok"} as json_response would dump it, without building a DOM for it.
    respond(response::json(200, R"({"status":"ok"})"));
  });
  r.add("GET", "/readyz", [&ctx](const request&, responder respond) {
    if (!ctx.ready.load(std::memory_order_acquire))
      return respond(error_response(errc::unavailable, "starting or draining"));
    // Ready means purchases and bids can be stored: a store that cannot write says why.
    if (ctx.store && !ctx.store->accepting()) {
      auto st = ctx.store->get();
      return respond(error_response(
          errc::unavailable, "store: " + st.reason,
          {{"status", "not_ready"},
           {"store", st.current == store::store_health::state::low_space ? "low_space"
                                                                          : "failing"}}));
    }
    // Cluster mode: until the bus's connection is up a publish would be refused (503).
    if (ctx.bus_connected && !ctx.bus_connected())
      return respond(error_response(errc::unavailable, "bus: not connected to Redis",
                                    {{"status", "not_ready"}, {"bus", "disconnected"}}));
    respond(json_response({{"status", "ready"}}));
  });
  r.add("GET", "/metrics", [&ctx](const request&, responder respond) {
    ctx.hub.refresh_gauges();
    respond(response::text(200, ctx.metrics.render(), "text/plain; version=0.0.4; charset=utf-8"));
  });
  // The catch-all: every GET no other route claims is a static file (or 404).
  r.add_prefix("GET", "/", [&ctx](const request& req, responder respond) {
    serve_static(ctx, req, respond);
  });
}

}  // namespace rushcast::api
