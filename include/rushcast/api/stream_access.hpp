// Owns who may open a stream (SSE, WebSocket, long-poll) to which topics: identity (token or
// userId), the topic list and its defaults, the WebSocket Origin rule and chat name, and the
// long-poll parameters. Used by net::http_session before it hands a connection to a session.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rushcast/api/errc.hpp"
#include "rushcast/api/http_types.hpp"

namespace rushcast::api {

struct context;

// Which seed client a bare connection (no topics=) stands for: it decides the default topics.
enum class bare_client { event_stream, websocket };

// Who subscribes to what, from a request's parameters (same for SSE, WebSocket, long-poll).
struct subscription {
  std::string user_id;
  std::vector<std::string> topics;  // sorted, unique, the user's own user: topic included
  bool too_many_topics = false;     // more than limits.max_topics_per_connection: 400
};

// errc::ok, or the contract error (401, 403, 400) with a message in why.
errc resolve_subscription(const context& ctx, const request& req, bare_client client,
                          subscription& out, std::string& why);

// Where an SSE stream resumes: Last-Event-ID, else the lastEventId parameter; none if empty.
std::optional<std::string> sse_resume_id(const request& req);

struct long_poll_params {
  std::uint32_t timeout_ms = 0;
  std::optional<std::string> since;
};
// timeout= (ms, default 25000, at most limits.max_long_poll_ms; 0 when draining) and since=
// (else Last-Event-ID). errc::bad_request with why for a malformed timeout.
errc read_long_poll(const context& ctx, const request& req, bool draining,
                    long_poll_params& out, std::string& why);

// What the WebSocket upgrade policy decided, once the handshake headers are known good.
struct ws_admission {
  // Refused before the upgrade: an HTTP error answer (then the connection closes).
  errc http_error = errc::ok;
  std::string why;
  // Accepted, then closed at once with refuse_code (4001/4003/1008/1001) when non-zero, so a
  // page sees the reason; otherwise subscribed to topics.
  std::string user_id;
  std::string username;  // the chat name; empty = user_id
  std::vector<std::string> topics;
  std::uint16_t refuse_code = 0;
  std::string refuse_reason;
};
// req.headers loses "cookie" for a cross-site origin admitted by "*": only a token the page
// itself holds may authenticate it. via_proxy: the peer is a trusted proxy.
ws_admission admit_ws(const context& ctx, request& req, bool via_proxy, bool draining);

}  // namespace rushcast::api
