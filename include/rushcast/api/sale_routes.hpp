// Owns the flash-sale API: POST /api/seckill, GET /api/sales/..., and the WebSocket "seckill".
// Used by app/server (and the tests) at start-up, before any connection.
#pragma once

namespace rushcast::api {

struct context;
class router;
class ws_protocol;

void register_sale_routes(router& r, context& ctx);
void register_sale_ws(ws_protocol& p, context& ctx);

}  // namespace rushcast::api
