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

constexpr std::string_view allow_methods = "GET, POST, OPTIONS";
constexpr std::string_view allow_headers =
    "Authorization, Content-Type, Idempotency-Key, Last-Event-ID";

header fixed(std::string_view name, std::string_view value) {
  return {header_text::fixed(name), header_text::fixed(value)};
}

// Every answer leaves through here: CORS headers, and for HEAD the GET's Content-Length
// without its body (RFC 9110 section 9.3.2), errors included.
void finish(response& r, const config::cors_cfg& cors, const std::string* allowing, bool head) {
  add_cors(cors, allowing, r);
  if (head) {
    if (!r.head_length) r.head_length = r.body.size();
    r.body.clear();
  }
}

// finish as a responder step: what it needs rides as data (the configuration outlives every
// answer), so a handler that answers later from another thread gets no closure to allocate.
using finish_args = router::finish_args;
constexpr std::uintptr_t head_flag = 1;

void finish_step(response& r, const void* arg, std::uintptr_t flags) {
  // arg points into the router's table of finish_args: one per allow_origins entry, plus one
  // for "none", so no per-request object has to outlive the call.
  const auto* a = static_cast<const finish_args*>(arg);
  finish(r, *a->cors, a->allowing, (flags & head_flag) != 0);
}

}  // namespace

router::router(context& ctx) : ctx_(ctx) {
  const auto& allow = ctx_.cfg.cors.allow_origins;
  finish_args_.reserve(allow.size() + 1);
  finish_args_.push_back({&ctx_.cfg.cors, nullptr});
  for (const auto& entry : allow) finish_args_.push_back({&ctx_.cfg.cors, &entry});
}

router::~router() = default;

void router::add(std::string method, std::string path, handler h) {
  routes_.push_back({std::move(method), std::move(path), false, std::move(h)});
}

void router::add_prefix(std::string method, std::string prefix, handler h) {
  routes_.push_back({std::move(method), std::move(prefix), true, std::move(h)});
}

void router::dispatch(const request& req, responder respond) const {
  ctx_.metrics.http_requests.fetch_add(1, std::memory_order_relaxed);
  const std::string* allowing = allowing_entry(ctx_.cfg.cors, req.find_header("origin"));

  if (req.method == "OPTIONS") {
    response r;
    r.status = 204;
    finish(r, ctx_.cfg.cors, allowing, false);
    r.headers.push_back(fixed("Access-Control-Allow-Methods", allow_methods));
    r.headers.push_back(fixed("Access-Control-Allow-Headers", allow_headers));
    r.headers.push_back(fixed("Access-Control-Max-Age", "600"));
    r.headers.push_back(fixed("Allow", allow_methods));
    respond(std::move(r));
    return;
  }

  // HEAD is answered as GET without a body.
  const bool head = req.method == "HEAD";
  const std::string_view method = head ? std::string_view("GET") : std::string_view(req.method);

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
    if (path_known) r.headers.push_back(fixed("Allow", allow_methods));
    finish(r, ctx_.cfg.cors, allowing, head);
    respond(std::move(r));
    return;
  }

  // The handler may answer later from another thread: the step's data lives in the router.
  const auto& allow = ctx_.cfg.cors.allow_origins;
  const std::size_t slot = allowing ? 1 + static_cast<std::size_t>(allowing - allow.data()) : 0;
  respond.add_step(&finish_step, &finish_args_[slot], head ? head_flag : 0);
  match->h(req, std::move(respond));
}

}  // namespace rushcast::api
