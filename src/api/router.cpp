// Owns the (method, path) -> handler table, CORS and the 404/405 answers of the HTTP API.
// Used by net::http_session for every request that is neither an upgrade nor an SSE stream.
#include "rushcast/api/router.hpp"

#include <algorithm>
#include <memory>

#include "rushcast/api/context.hpp"
#include "rushcast/api/json_body.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::api {
namespace {

constexpr const char* allow_methods = "GET, POST, OPTIONS";
constexpr const char* allow_headers = "Authorization, Content-Type, Last-Event-ID";

// The Access-Control-Allow-Origin value for this request, or "" when the origin is not allowed.
std::string allowed_origin(const config::cors_cfg& cors, const request& req) {
  auto origin = req.header("origin");
  for (const auto& o : cors.allow_origins) {
    if (o == "*") return "*";
    if (origin && *origin == o) return o;
  }
  return {};
}

void add_cors(response& r, const std::string& origin) {
  if (origin.empty()) return;
  r.headers.emplace_back("Access-Control-Allow-Origin", origin);
  // An echoed origin makes the answer depend on the request's Origin: caches must know.
  if (origin != "*") r.headers.emplace_back("Vary", "Origin");
}

}  // namespace

router::router(context& ctx) : ctx_(ctx) {}

void router::add(std::string method, std::string path, handler h) {
  routes_.push_back({std::move(method), std::move(path), false, std::move(h)});
}

void router::add_prefix(std::string method, std::string prefix, handler h) {
  routes_.push_back({std::move(method), std::move(prefix), true, std::move(h)});
}

void router::dispatch(const request& req, responder respond) const {
  ctx_.metrics.http_requests.fetch_add(1, std::memory_order_relaxed);
  std::string origin = allowed_origin(ctx_.cfg.cors, req);

  if (req.method == "OPTIONS") {
    response r;
    r.status = 204;
    add_cors(r, origin);
    r.headers.emplace_back("Access-Control-Allow-Methods", allow_methods);
    r.headers.emplace_back("Access-Control-Allow-Headers", allow_headers);
    r.headers.emplace_back("Access-Control-Max-Age", "600");
    r.headers.emplace_back("Allow", allow_methods);
    respond(std::move(r));
    return;
  }

  // HEAD is answered as GET without a body.
  const bool head = req.method == "HEAD";
  const std::string& method = head ? std::string("GET") : req.method;

  const route* match = nullptr;
  bool path_known = false;  // some route serves this path with another method
  for (const auto& rt : routes_) {
    if (!rt.prefix && rt.path == req.path) {
      if (rt.method == method) {
        match = &rt;
        break;
      }
      path_known = true;
    }
  }
  if (!match) {
    std::size_t best = 0;
    for (const auto& rt : routes_) {
      if (!rt.prefix || !req.path.starts_with(rt.path)) continue;
      if (rt.method != method) {
        // The "/" catch-all (static files) does not make every path "known" to other methods.
        if (rt.path != "/") path_known = true;
        continue;
      }
      if (!match || rt.path.size() > best) {
        match = &rt;
        best = rt.path.size();
      }
    }
  }

  // A path that a real route serves with another method is a 405, not a missing static file.
  if (match && match->prefix && match->path == "/" && path_known) match = nullptr;

  if (!match) {
    response r = path_known
                     ? error_response(errc::method_not_allowed, "method not allowed on this path")
                     : error_response(errc::not_found, "no such resource");
    if (path_known) r.headers.emplace_back("Allow", allow_methods);
    add_cors(r, origin);
    respond(std::move(r));
    return;
  }

  // The handler may answer later from another thread: the wrapper owns what it needs.
  auto wrapped = [origin = std::move(origin), head,
                  respond = std::move(respond)](response r) mutable {
    add_cors(r, origin);
    if (head) r.body.clear();
    respond(std::move(r));
  };
  match->h(req, std::move(wrapped));
}

}  // namespace rushcast::api
