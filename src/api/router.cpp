// Owns the (method, path) -> handler table, CORS and the 404/405 answers of the HTTP API.
// Used by net::http_session for every request that is neither an upgrade nor an SSE stream.
#include "rushcast/api/router.hpp"

#include <algorithm>
#include <memory>

#include "rushcast/api/context.hpp"
#include "rushcast/api/cors.hpp"
#include "rushcast/api/json_body.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::api {
namespace {

constexpr const char* allow_methods = "GET, POST, OPTIONS";
constexpr const char* allow_headers = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID";

// Every answer leaves through here: CORS headers, and for HEAD the GET's Content-Length
// without its body (RFC 9110 section 9.3.2), errors included.
void finish(response& r, const config::cors_cfg& cors, const std::string& origin, bool head) {
  for (auto& h : cors_headers(cors, origin)) r.headers.push_back(std::move(h));
  if (head) {
    if (!r.head_length) r.head_length = r.body.size();
    r.body.clear();
  }
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
  std::string origin = allowed_origin(ctx_.cfg.cors, req.header("origin"));

  if (req.method == "OPTIONS") {
    response r;
    r.status = 204;
    finish(r, ctx_.cfg.cors, origin, false);
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
    finish(r, ctx_.cfg.cors, origin, head);
    respond(std::move(r));
    return;
  }

  // The handler may answer later from another thread: the wrapper owns what it needs.
  auto wrapped = [&cors = ctx_.cfg.cors, origin = std::move(origin), head,
                  respond = std::move(respond)](response r) mutable {
    finish(r, cors, origin, head);
    respond(std::move(r));
  };
  match->h(req, std::move(wrapped));
}

}  // namespace rushcast::api
