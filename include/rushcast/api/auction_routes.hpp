// Owns the auction API: POST /api/bid, GET /api/auctions/..., and the WebSocket "bid".
// Used by app/server (and the tests) at start-up, before any connection.
#pragma once

namespace rushcast::api {

struct context;
class router;
class ws_protocol;

void register_auction_routes(router& r, context& ctx);
void register_auction_ws(ws_protocol& p, context& ctx);

}  // namespace rushcast::api
