// One keep-alive HTTP connection, one request at a time. Upgrades and streams take the socket
// over; everything else goes through api::router, whose answer may come from another thread.
#include "rushcast/net/http_session.hpp"

#include <algorithm>
#include <cctype>

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/api/context.hpp"
#include "rushcast/api/cors.hpp"
#include "rushcast/api/display_name.hpp"
#include "rushcast/api/json_body.hpp"
#include "rushcast/api/router.hpp"
#include "rushcast/api/topics.hpp"
#include "rushcast/api/ws_origin.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/net/long_poll.hpp"
#include "rushcast/net/sse_session.hpp"
#include "rushcast/net/ws_session.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::uint32_t kDefaultLongPollMs = 25000;

}  // namespace

http_session::http_session(services& svc, net::shard& sh, asio::ip::tcp::socket socket,
                           conn_slot_ptr slot, bool over_capacity)
    : svc_(svc),
      shard_(sh),
      stream_(std::move(socket)),
      slot_(std::move(slot)),
      over_capacity_(over_capacity) {}

http_session::~http_session() {
  shard_.remove(this);
  svc_.ctx.metrics.http_connections.fetch_sub(1, std::memory_order_relaxed);
}

void http_session::run() {
  svc_.ctx.metrics.http_connections.fetch_add(1, std::memory_order_relaxed);
  shard_.add(shared_from_this());
  if (over_capacity_) {
    // Answer before reading anything: the request does not matter, and reading it would let a
    // flood of refused clients hold us busy.
    return send_error(errc::over_capacity, "too many connections, retry", true);
  }
  do_read();
}

void http_session::drain() {
  if (handed_off_ || closed_) return;
  keep_alive_ = false;
  if (!busy_) {
    closed_ = true;
    stream_.cancel();
    boost::system::error_code ec;
    stream_.socket().close(ec);
  }
}

void http_session::do_read() {
  const auto& lim = svc_.ctx.cfg.limits;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(lim.max_header_bytes));
  parser_->body_limit(lim.max_body_bytes);
  // The first request head must arrive within the handshake timeout; later ones within the
  // keep-alive idle timeout.
  stream_.expires_after(std::chrono::milliseconds(
      first_ || unread_answer_ ? lim.handshake_timeout_ms : lim.idle_timeout_ms));
  // The head first: its framing is checked before a single body byte is read.
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            self->on_header(ec, n);
                          });
}

void http_session::on_header(boost::system::error_code ec, std::size_t n) {
  if (closed_) return;
  if (ec) return on_read(ec, n);
  const auto& head = parser_->get();
  // What an early error answer reads (HTTP version, CORS); handle() fills the rest.
  req_ = api::request{};
  req_.version = head.version();
  if (auto o = head.find(http::field::origin); o != head.end()) req_.headers["origin"] = std::string(o->value());
  // RFC 9112 section 3.2: an HTTP/1.1 request carries exactly one Host.
  if (head.version() >= 11 && head.count(http::field::host) != 1) {
    spdlog::debug("http {}: no or several Host headers", slot_->ip());
    return send_error(errc::bad_request, "an HTTP/1.1 request needs exactly one Host header", true);
  }
  // Beast refuses Content-Length beside chunked, but takes an unknown coding as "no coding"
  // and would then frame the body by Content-Length (or read none): a smuggling gap between us
  // and a proxy that reads it otherwise. Only a lone "chunked" is framing we understand.
  if (auto n_te = head.count(http::field::transfer_encoding); n_te > 0) {
    if (head.version() < 11) {
      return send_error(errc::bad_request, "Transfer-Encoding is not allowed in HTTP/1.0", true);
    }
    std::string_view te = head[http::field::transfer_encoding];
    while (!te.empty() && (te.front() == ' ' || te.front() == '\t')) te.remove_prefix(1);
    while (!te.empty() && (te.back() == ' ' || te.back() == '\t')) te.remove_suffix(1);
    if (n_te != 1 || lower(te) != "chunked") {
      spdlog::debug("http {}: unsupported Transfer-Encoding", slot_->ip());
      return send_error(errc::not_implemented, "only Transfer-Encoding: chunked is supported",
                        true);
    }
  }
  if (parser_->is_done()) return on_read({}, 0);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                     self->on_read(ec, n);
                   });
}

void http_session::on_read(boost::system::error_code ec, std::size_t) {
  if (closed_) return;
  if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted) return;
  if (ec == beast::error::timeout) {
    spdlog::debug("http {}: {} timeout", slot_->ip(), first_ ? "handshake" : "idle");
    return;
  }
  if (ec == http::error::header_limit) {
    spdlog::debug("http {}: header too large", slot_->ip());
    return send_error(errc::header_too_large, "request header exceeds limits.max_header_bytes",
                      true);
  }
  if (ec == http::error::body_limit) {
    spdlog::debug("http {}: body too large", slot_->ip());
    return send_error(errc::payload_too_large, "request body exceeds limits.max_body_bytes", true);
  }
  if (ec) {
    // Parse errors answer 400; socket errors and a peer gone mid-request end quietly.
    if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::partial_message) {
      spdlog::debug("http {}: bad request: {}", slot_->ip(), ec.message());
      return send_error(errc::bad_request, "malformed HTTP request", true);
    }
    return;
  }
  first_ = false;
  unread_answer_ = false;
  stream_.expires_never();
  handle(parser_->release());
}

namespace {

// The client as a trusted proxy names it: X-Real-IP, else the last X-Forwarded-For hop (the
// one the proxy appended; earlier hops are whatever the client claimed). Empty when absent.
std::string forwarded_client(const api::request& r) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return std::string(v);
  };
  std::string ip;
  if (auto v = r.header("x-real-ip")) {
    ip = trim(*v);
  } else if (auto f = r.header("x-forwarded-for")) {
    auto comma = f->rfind(',');
    ip = trim(comma == std::string::npos ? std::string_view(*f)
                                         : std::string_view(*f).substr(comma + 1));
  }
  // An address, not free text: it becomes a limiter key and a log field.
  if (ip.size() > 45 || ip.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos)
    return {};
  return ip;
}

}  // namespace

void http_session::handle(request_t&& req) {
  busy_ = true;
  keep_alive_ = req.keep_alive() && !svc_.draining.load();

  req_ = api::request{};
  req_.method = std::string(req.method_string());
  req_.target = std::string(req.target());
  auto q = req_.target.find('?');
  req_.path = api::percent_decode(std::string_view(req_.target).substr(0, q));
  if (q != std::string::npos) req_.query = api::parse_query(std::string_view(req_.target).substr(q + 1));
  for (const auto& f : req) req_.headers[lower(f.name_string())] = std::string(f.value());
  req_.version = req.version();
  if (slot_->proxied()) {
    auto client = forwarded_client(req_);
    if (!client.empty() && !slot_->rebind(std::move(client))) {
      svc_.ctx.metrics.connections_rejected.fetch_add(1, std::memory_order_relaxed);
      return send_error(errc::over_capacity, "too many connections from this address, retry", true);
    }
  }
  req_.remote_ip = slot_->ip();

  auto retry_ms = svc_.ctx.rate.check_ip(req_.remote_ip, api::now_ms());
  if (retry_ms > 0) {
    svc_.ctx.metrics.rate_limited.fetch_add(1, std::memory_order_relaxed);
    return write_response(api::rate_limited_response(retry_ms, "ip"));
  }

  const auto& paths = svc_.ctx.cfg.websocket.paths;
  if (beast::websocket::is_upgrade(req) &&
      std::find(paths.begin(), paths.end(), req_.path) != paths.end())
    return start_ws(std::move(req));
  if (req_.method == "GET" && req_.path == "/sse-updates") return start_sse();
  if (req_.method == "GET" && req_.path == "/long-poll") return start_long_poll();

  req_.body = std::move(req.body());
  auto self = shared_from_this();
  svc_.router.dispatch(req_, [self](api::response r) {
    // The router may answer from an engine strand or the store thread.
    auto ex = self->stream_.get_executor();
    asio::post(ex, [self = std::move(self), r = std::move(r)]() mutable {
      self->write_response(std::move(r));
    });
  });
}

std::vector<std::string> http_session::bare_topics(bare_client client) const {
  const auto& cfg = svc_.ctx.cfg;
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

errc http_session::resolve(subscription& out, std::string& why, bare_client client) const {
  auto id = svc_.ctx.auth.identify(req_);
  if (!id) {
    if (id.error() == errc::bad_user_id) {
      why = "userId must be 1..120 bytes of [A-Za-z0-9_.@:-]";
      return errc::bad_user_id;
    }
    why = "missing or invalid token";
    return errc::unauthorized;
  }
  out.user_id = id->user_id;
  auto tp = req_.param("topics");
  out.topics = tp ? api::split_topics(*tp) : bare_topics(client);
  if (!out.user_id.empty()) {
    std::string own = "user:" + out.user_id;
    if (std::find(out.topics.begin(), out.topics.end(), own) == out.topics.end())
      out.topics.push_back(std::move(own));
  }
  // Duplicates in the list would be subscribed twice.
  std::sort(out.topics.begin(), out.topics.end());
  out.topics.erase(std::unique(out.topics.begin(), out.topics.end()), out.topics.end());
  // Every subscription costs memory in the hub: the list is bounded (own user: topic included).
  const std::size_t max_topics = svc_.ctx.cfg.limits.max_topics_per_connection;
  if (out.topics.size() > max_topics) {
    why = "too many topics: a connection holds at most " + std::to_string(max_topics);
    out.too_many_topics = true;
    return errc::bad_request;
  }
  for (const auto& t : out.topics) {
    auto e = api::check_subscribe(t, out.user_id, svc_.ctx.auth.jwt_on());
    if (e != errc::ok) {
      why = (e == errc::forbidden ? "topic not allowed: " : "bad topic: ") + t;
      return e;
    }
  }
  return errc::ok;
}

std::string http_session::cors_origin() const {
  return api::allowed_origin(svc_.ctx.cfg.cors, req_.header("origin"));
}

void http_session::add_cors(api::response& r) const {
  for (auto& h : api::cors_headers(svc_.ctx.cfg.cors, cors_origin())) r.headers.push_back(std::move(h));
}

void http_session::start_sse() {
  if (svc_.draining.load())
    return send_error(errc::unavailable, "server shutting down", true);
  subscription sub;
  std::string why;
  if (auto e = resolve(sub, why, bare_client::event_stream); e != errc::ok) return send_error(e, why);
  std::optional<std::string> last = req_.header("last-event-id");
  if (!last) last = req_.param("lastEventId");
  if (last && last->empty()) last.reset();

  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\n"
      "Connection: keep-alive\r\n";
  for (const auto& [name, value] : api::cors_headers(svc_.ctx.cfg.cors, cors_origin()))
    head += name + ": " + value + "\r\n";
  head += "\r\n";

  handed_off_ = true;
  stream_.expires_never();
  auto s = std::make_shared<sse_session>(svc_, shard_, stream_.release_socket(), std::move(slot_),
                                         std::move(head), std::move(sub.topics), std::move(last));
  spdlog::debug("sse {}: stream opened", req_.remote_ip);
  s->run();
}

void http_session::start_ws(request_t&& req) {
  // The handshake's own headers are judged here, with contract errors, before Beast answers:
  // Beast takes any key of at most 24 characters and answers a bad version without our body.
  auto key = req.find(http::field::sec_websocket_key);
  if (req.count(http::field::sec_websocket_key) != 1 || !api::valid_ws_key(key->value()))
    return send_error(errc::bad_request,
                      "Sec-WebSocket-Key must be sent once, the base64 of 16 bytes", true);
  auto version = req.find(http::field::sec_websocket_version);
  if (req.count(http::field::sec_websocket_version) != 1)
    return send_error(errc::bad_request, "Sec-WebSocket-Version must be sent once", true);
  if (version->value() != "13") {
    // RFC 6455 §4.4: name the version this server speaks.
    auto r = api::error_response(errc::bad_request, "unsupported Sec-WebSocket-Version");
    r.status = 426;
    r.headers.emplace_back("Sec-WebSocket-Version", "13");
    r.close = true;
    busy_ = true;
    return write_response(std::move(r));
  }
  // Cross-site WebSocket hijacking: a browser sends the victim's cookie with any site's
  // upgrade. A foreign Origin is refused unless listed; "*" admits it, but then only a token
  // the page itself holds (query or Authorization) can authenticate it, never the cookie.
  switch (api::check_ws_origin(req_, svc_.ctx.cfg.cors.allow_origins, slot_->proxied())) {
    case api::ws_origin::forbidden:
      spdlog::debug("ws {}: origin {} refused", req_.remote_ip, req_.header("origin").value_or(""));
      return send_error(errc::forbidden, "origin not allowed", true);
    case api::ws_origin::cross_site:
      req_.headers.erase("cookie");
      break;
    case api::ws_origin::same_site:
    case api::ws_origin::listed:
      break;
  }

  ws_params p;
  p.remote_ip = req_.remote_ip;
  if (svc_.draining.load()) {
    p.refuse_code = 1001;
    p.refuse_reason = "server shutting down";
  } else {
    subscription sub;
    std::string why;
    auto e = resolve(sub, why, bare_client::websocket);
    // A malformed userId is a bad request, answered as on every other path (before the upgrade).
    if (e == errc::bad_user_id) return send_error(e, why, true);
    if (sub.too_many_topics) return send_error(e, why, true);
    p.user_id = sub.user_id;
    p.topics = std::move(sub.topics);
    if (e == errc::unauthorized) {
      p.refuse_code = 4001;
    } else if (e == errc::forbidden) {
      p.refuse_code = 4003;
    } else if (e != errc::ok) {
      p.refuse_code = 1008;
    }
    p.refuse_reason = why;
    // The chat name is shown to every member of a room: a name that is not printable UTF-8
    // of at most 64 bytes is refused (accept, then close 1008, so a page sees the reason).
    if (auto u = req_.param("username"); u && !u->empty() && !svc_.ctx.auth.jwt_on()) {
      if (api::valid_display_name(*u)) {
        p.username = *u;
      } else if (p.refuse_code == 0) {
        p.refuse_code = 1008;
        p.refuse_reason = "invalid username: 1..64 bytes of printable UTF-8";
      }
    }
  }
  // Beast's parser may have read past the upgrade request: those bytes are WebSocket frames
  // (or a pipelined request, which the frame reader refuses with 1002).
  if (buffer_.size() > 0) {
    auto b = buffer_.data();
    p.early_bytes.assign(static_cast<const char*>(b.data()), b.size());
    buffer_.consume(buffer_.size());
  }
  handed_off_ = true;
  stream_.expires_never();
  auto s = std::make_shared<ws_session>(svc_, shard_, stream_.release_socket(), std::move(slot_),
                                        std::move(req), std::move(p));
  s->run();
}

void http_session::start_long_poll() {
  subscription sub;
  std::string why;
  if (auto e = resolve(sub, why, bare_client::event_stream); e != errc::ok) return send_error(e, why);
  std::uint32_t max_ms = svc_.ctx.cfg.limits.max_long_poll_ms;
  std::uint32_t timeout_ms = std::min(kDefaultLongPollMs, max_ms);
  if (auto t = req_.param("timeout")) {
    char* end = nullptr;
    long long v = std::strtoll(t->c_str(), &end, 10);
    if (t->empty() || *end != '\0' || v < 0)
      return send_error(errc::bad_request, "timeout must be a non-negative integer (ms)");
    timeout_ms = static_cast<std::uint32_t>(std::min<long long>(v, max_ms));
  }
  std::optional<std::string> since = req_.param("since");
  if (!since) since = req_.header("last-event-id");
  if (since && since->empty()) since.reset();
  if (svc_.draining.load()) timeout_ms = 0;

  auto self = shared_from_this();
  auto lp = std::make_shared<long_poll>(
      svc_, shard_, std::move(sub.topics), std::move(since), timeout_ms,
      [self](api::response r) {
        self->add_cors(r);
        r.headers.emplace_back("Cache-Control", "no-cache");
        // An answer of up to max_queue_bytes, bounded like a stream's end: a client that does
        // not read it loses the connection after handshake_timeout_ms.
        self->write_response(std::move(r), self->svc_.ctx.cfg.limits.handshake_timeout_ms);
      });
  lp->run();
  if (!lp->answered()) watch_for_hangup(lp);
}

void http_session::watch_for_hangup(const std::shared_ptr<long_poll>& lp) {
  // A waiting long-poll reads nothing, so a client that leaves would hold its slot and
  // subscription until the timeout (up to 30 s). Readability with nothing to read is the FIN.
  stream_.socket().async_wait(
      asio::ip::tcp::socket::wait_read,
      [self = shared_from_this(), weak = std::weak_ptr<long_poll>(lp)](boost::system::error_code ec) {
        auto lp = weak.lock();
        if (!lp || lp->answered() || self->closed_ || ec == asio::error::operation_aborted) return;
        char byte;
        boost::system::error_code rec;
        std::size_t n = 0;
        if (!ec) {
          self->stream_.socket().non_blocking(true, rec);
          n = self->stream_.socket().receive(asio::buffer(&byte, 1),
                                             asio::socket_base::message_peek, rec);
        }
        // Bytes waiting (a pipelined request) are read after the answer; only EOF or an error
        // means the client is gone.
        if (!ec && !rec && n > 0) return;
        if (rec == asio::error::would_block) return self->watch_for_hangup(lp);
        lp->abandon();
        self->closed_ = true;
        boost::system::error_code cec;
        self->stream_.socket().close(cec);
      });
}

void http_session::send_error(errc e, std::string message, bool close) {
  auto r = api::error_response(e, std::move(message));
  add_cors(r);
  if (e == errc::unavailable || e == errc::over_capacity) r.headers.emplace_back("Retry-After", "1");
  r.close = r.close || close;
  busy_ = true;
  write_response(std::move(r));
}

void http_session::write_response(api::response r, std::uint32_t write_timeout_ms) {
  if (closed_) return;
  auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(r.status), req_.version ? req_.version : 11);
  res->set(http::field::server, "rushcast");
  for (auto& [k, v] : r.headers) res->set(k, v);
  res->body() = std::move(r.body);
  bool keep = keep_alive_ && !r.close && !svc_.draining.load();
  res->keep_alive(keep);
  if (r.head_length) {
    res->content_length(*r.head_length);  // HEAD: the GET's length, no body
  } else {
    res->prepare_payload();
  }
  res_ = res;
  stream_.expires_after(std::chrono::milliseconds(
      write_timeout_ms ? write_timeout_ms : svc_.ctx.cfg.limits.idle_timeout_ms));
  http::async_write(stream_, *res,
                    [self = shared_from_this(), keep, bounded = write_timeout_ms != 0](
                        boost::system::error_code ec, std::size_t) {
                      self->on_write(keep, bounded, ec);
                    });
}

void http_session::on_write(bool keep_alive, bool bounded, boost::system::error_code ec) {
  res_.reset();
  busy_ = false;
  if (ec) return;
  if (!keep_alive) return linger_close();
  // The kernel may have taken the whole answer without the peer reading any of it (its send
  // buffer grows to megabytes): then the peer must show it read it, by its next request,
  // within the same bound.
  int unsent = 0;
  unread_answer_ = bounded && ::ioctl(stream_.socket().native_handle(), SIOCOUTQ, &unsent) == 0 &&
                   unsent > 0;
  do_read();
}

void http_session::linger_close() {
  // Closing with unread request bytes would reset the connection and could destroy the answer
  // before the client reads it: send FIN, then discard input until the peer closes (bounded).
  boost::system::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) return;
  stream_.expires_after(std::chrono::seconds(2));
  buffer_.clear();
  linger_read();
}

void http_session::linger_read() {
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                            if (ec) return;
                            self->buffer_.clear();
                            self->linger_read();
                          });
}

}  // namespace rushcast::net
