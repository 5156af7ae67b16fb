// Fuzz target: client JSON -> the validation and engines behind it. Byte 0 chooses
// bit 0: auth mode jwt (else off);
// bits 1-2: where the rest goes: 0 a WebSocket text message (ws_protocol: subscribe,
//   unsubscribe, publish, ping, seckill, bid), 1 the body of POST /api/seckill, 2 of
//   POST /api/bid, 3 of POST /api/publish (with the publish key);
// bit 3: the client holds a valid token for "alice" (jwt mode), as the session would.
// Invariants: every HTTP request gets one answer with a JSON body; every WebSocket reply is a
// JSON object with "type"; a WebSocket message never closes the connection except by a
// documented close.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_app.hpp"

using namespace rushcast;

namespace {

const std::string& alice_token() {
  static const std::string t =
      auth::sign_hs256(R"({"sub":"alice","exp":4102444800})", fuzz::jwt_secret);
  return t;
}

void ws_message(fuzz::app& a, bool with_token, std::string_view text) {
  // The session's identity: the token's sub, or (auth off) the connection's userId parameter.
  fuzz::fuzz_ws_client c(a, with_token || !a.ctx().auth.jwt_on() ? "alice" : "");
  a.ws().on_message(c, text);
  // Engine answers (seckill, bid) come later from the engine strands: wait for one reply.
  a.pump_until([&] { return c.replies() > 0 || c.closed != 0; }, std::chrono::seconds(5));
  if (c.replies() == 0 && c.closed == 0) fuzz::violated("a WebSocket message got no reply",
                                                       std::string(text));
}

void http_body(fuzz::app& a, bool with_token, const char* path, std::string_view body) {
  api::request req;
  req.method = "POST";
  req.path = path;
  req.target = path;
  req.version = 11;
  req.remote_ip = "10.0.0.3";
  req.headers["content-type"] = "application/json";
  req.body = std::string(body);
  if (std::string_view(path) == "/api/publish")
    req.headers["authorization"] = std::string("Bearer ") + fuzz::publish_key;
  if (with_token) {
    req.query["token"] = alice_token();
    req.target += "?token=" + alice_token();
  }
  a.dispatch(req);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool jwt = data[0] & 1;
  const bool with_token = data[0] & 8;
  fuzz::app& a = fuzz::the_app(jwt);
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch ((data[0] >> 1) & 3) {
    case 0: ws_message(a, with_token, rest); break;
    case 1: http_body(a, with_token, "/api/seckill", rest); break;
    case 2: http_body(a, with_token, "/api/bid", rest); break;
    case 3: http_body(a, with_token, "/api/publish", rest); break;
  }
  return 0;
}
