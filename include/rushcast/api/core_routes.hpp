// Owns the core HTTP routes: publish, time, healthz, readyz, metrics, long-poll, static.
// Used by app/server (and the tests) at start-up, before any connection.
#pragma once

namespace rushcast::api {

struct context;
class router;

void register_core_routes(router& r, context& ctx);

}  // namespace rushcast::api
