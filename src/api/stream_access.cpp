// Who may open a stream to which topics (see stream_access.hpp). Pure policy on api::request:
// no sockets; net::http_session applies the answers.
#include "rushcast/api/stream_access.hpp"

#include <algorithm>
#include <cstdlib>

#include "rushcast/api/context.hpp"
#include "rushcast/api/display_name.hpp"
#include "rushcast/api/topics.hpp"
#include "rushcast/api/ws_origin.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/config/config.hpp"

namespace rushcast::api {
namespace {

constexpr std::uint32_t default_long_poll_ms = 25000;

std::vector<std::string> bare_topics(const config::config& cfg, bare_client client) {
  if (cfg.default_topics) return *cfg.default_topics;
  // As the seed's clients use them: the flash-sale page streams a sale's stock and countdown,
  // the auction page opens a WebSocket for an auction's init. Giving each only its own kind
  // keeps an auction's countdown out of a sale page that shows every countdown it receives.
  std::vector<std::string> topics;
  if (client == bare_client::websocket) {
    for (const auto& a : cfg.auctions) topics.push_back("auction:" + a.id);
  } else {
    for (const auto& s : cfg.sales) topics.push_back("sale:" + s.id);
  }
  return topics;
}

// The WebSocket refusal close code for a resolve error (errors answered in HTTP aside).
std::uint16_t ws_refuse_code(errc e) {
  if (e == errc::ok) return 0;
  if (e == errc::unauthorized) return 4001;
  if (e == errc::forbidden) return 4003;
  return 1008;
}

}  // namespace

errc resolve_subscription(const context& ctx, const request& req, bare_client client,
                          subscription& out, std::string& why) {
  auto id = ctx.auth.identify(req);
  if (!id) {
    if (id.error() == errc::bad_user_id) {
      why = "userId must be 1..120 bytes of [A-Za-z0-9_.@:-]";
      return errc::bad_user_id;
    }
    why = "missing or invalid token";
    return errc::unauthorized;
  }
  out.user_id = id->user_id;
  auto tp = req.param("topics");
  out.topics = tp ? split_topics(*tp) : bare_topics(ctx.cfg, client);
  if (!out.user_id.empty()) {
    std::string own = "user:" + out.user_id;
    if (std::find(out.topics.begin(), out.topics.end(), own) == out.topics.end())
      out.topics.push_back(std::move(own));
  }
  // Duplicates in the list would be subscribed twice.
  std::sort(out.topics.begin(), out.topics.end());
  out.topics.erase(std::unique(out.topics.begin(), out.topics.end()), out.topics.end());
  // Every subscription costs memory in the hub: the list is bounded (own user: topic included).
  const std::size_t max_topics = ctx.cfg.limits.max_topics_per_connection;
  if (out.topics.size() > max_topics) {
    why = "too many topics: a connection holds at most " + std::to_string(max_topics);
    out.too_many_topics = true;
    return errc::bad_request;
  }
  for (const auto& t : out.topics) {
    auto e = check_subscribe(t, out.user_id, ctx.auth.jwt_on());
    if (e != errc::ok) {
      why = (e == errc::forbidden ? "topic not allowed: " : "bad topic: ") + t;
      return e;
    }
  }
  return errc::ok;
}

std::optional<std::string> sse_resume_id(const request& req) {
  std::optional<std::string> last = req.header("last-event-id");
  if (!last) last = req.param("lastEventId");
  if (last && last->empty()) last.reset();
  return last;
}

errc read_long_poll(const context& ctx, const request& req, bool draining,
                    long_poll_params& out, std::string& why) {
  std::uint32_t max_ms = ctx.cfg.limits.max_long_poll_ms;
  out.timeout_ms = std::min(default_long_poll_ms, max_ms);
  if (auto t = req.param("timeout")) {
    char* end = nullptr;
    long long v = std::strtoll(t->c_str(), &end, 10);
    if (t->empty() || *end != '\0' || v < 0) {
      why = "timeout must be a non-negative integer (ms)";
      return errc::bad_request;
    }
    out.timeout_ms = static_cast<std::uint32_t>(std::min<long long>(v, max_ms));
  }
  out.since = req.param("since");
  if (!out.since) out.since = req.header("last-event-id");
  if (out.since && out.since->empty()) out.since.reset();
  if (draining) out.timeout_ms = 0;
  return errc::ok;
}

ws_admission admit_ws(const context& ctx, request& req, bool via_proxy, bool draining) {
  ws_admission a;
  // Cross-site WebSocket hijacking: a browser sends the victim's cookie with any site's
  // upgrade. A foreign Origin is refused unless listed; "*" admits it, but then only a token
  // the page itself holds (query or Authorization) can authenticate it, never the cookie.
  switch (check_ws_origin(req, ctx.cfg.cors.allow_origins, via_proxy)) {
    case ws_origin::forbidden:
      a.http_error = errc::forbidden;
      a.why = "origin not allowed";
      return a;
    case ws_origin::cross_site:
      req.headers.erase("cookie");
      break;
    case ws_origin::same_site:
    case ws_origin::listed:
      break;
  }
  if (draining) {
    a.refuse_code = 1001;
    a.refuse_reason = "server shutting down";
    return a;
  }
  subscription sub;
  auto e = resolve_subscription(ctx, req, bare_client::websocket, sub, a.refuse_reason);
  // A malformed userId or too many topics is a bad request, answered as on every other path
  // (before the upgrade).
  if (e == errc::bad_user_id || sub.too_many_topics) {
    a.http_error = e;
    a.why = std::move(a.refuse_reason);
    return a;
  }
  a.user_id = std::move(sub.user_id);
  a.topics = std::move(sub.topics);
  a.refuse_code = ws_refuse_code(e);
  // The chat name is shown to every member of a room: a name that is not printable UTF-8
  // of at most 64 bytes is refused (accept, then close 1008, so a page sees the reason).
  if (auto u = req.param("username"); u && !u->empty() && !ctx.auth.jwt_on()) {
    if (valid_display_name(*u)) {
      a.username = *u;
    } else if (a.refuse_code == 0) {
      a.refuse_code = 1008;
      a.refuse_reason = "invalid username: 1..64 bytes of printable UTF-8";
    }
  }
  return a;
}

}  // namespace rushcast::api
