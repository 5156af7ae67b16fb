// Owns the core WebSocket messages: subscribe, unsubscribe, client publish (chat), ping.
// Used by app/server (and the tests) at start-up, before any connection.
#pragma once

namespace rushcast::api {

struct context;
class ws_protocol;

void register_core_ws(ws_protocol& p, context& ctx);

}  // namespace rushcast::api
