// One keep-alive HTTP connection, one request at a time. Upgrades and streams take the socket
// over; everything else goes through api::router, whose answer may come from another thread.
#include "rushcast/net/http_session.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <tuple>

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/api/context.hpp"
#include "rushcast/api/cors.hpp"
#include "rushcast/api/forwarded.hpp"
#include "rushcast/api/json_body.hpp"
#include "rushcast/api/router.hpp"
#include "rushcast/api/stream_access.hpp"
#include "rushcast/api/topics.hpp"
#include "rushcast/api/ws_origin.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/net/fail.hpp"
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

// A request body's memory is kept for the connection's next request up to this size; a larger
// one is given back (a connection that once posted a big body does not hold it while idle).
constexpr std::size_t kept_body_bytes = 4096;
// Likewise the answer buffer: most answers are far smaller.
constexpr std::size_t kept_answer_bytes = 16384;

}  // namespace

void* head_arena::allocate(std::size_t n) {
  n = (n + 15) & ~std::size_t{15};  // keeps every piece aligned as operator new's are
  wanted_ += n;
  if (used_ + n <= size_) {
    void* p = block_.get() + used_;
    used_ += n;
    return p;
  }
  return ::operator new(n);
}

void head_arena::deallocate(void* p) noexcept {
  auto* c = static_cast<unsigned char*>(p);
  if (block_ && c >= block_.get() && c < block_.get() + size_) return;
  ::operator delete(p);
}

void head_arena::reset() {
  if (wanted_ > size_ && size_ < max_block_bytes) {
    size_ = std::min(max_block_bytes, std::max<std::size_t>(512, wanted_ + wanted_ / 4));
    block_ = std::make_unique_for_overwrite<unsigned char[]>(size_);
  }
  used_ = 0;
  wanted_ = 0;
}

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
    return in_handler([&] { send_error(errc::over_capacity, "too many connections, retry", true); });
  }
  do_read();
}

template <class F>
void http_session::in_handler(F&& f) {
  ++handler_depth_;
  f();
  if (--handler_depth_ == 0 && written_) {
    const written_answer w = *written_;
    written_.reset();
    on_write(w.keep_alive, w.bounded, w.ec);
  }
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
  // The last request's body memory, when small, holds the next body: no allocation for it.
  req_.body.clear();
  if (req_.body.capacity() > kept_body_bytes) req_.body.shrink_to_fit();
  // The last request's head is gone (handle() consumed it): its arena memory is free again.
  parser_.reset();
  arena_.reset();
  parser_.emplace(std::piecewise_construct, std::make_tuple(std::move(req_.body)),
                  std::make_tuple(head_allocator<char>(arena_)));
  parser_->header_limit(static_cast<std::uint32_t>(lim.max_header_bytes));
  parser_->body_limit(lim.max_body_bytes);
  // The first request head must arrive within the handshake timeout; later ones within the
  // keep-alive idle timeout.
  stream_.expires_after(std::chrono::milliseconds(
      first_ || unread_answer_ ? lim.handshake_timeout_ms : lim.idle_timeout_ms));
  // The head first: its framing is checked before a single body byte is read.
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            self->in_handler([&] { self->on_header(ec, n); });
                          });
}

void http_session::on_header(boost::system::error_code ec, std::size_t n) {
  if (closed_) return;
  if (ec) return fail(ec, "read header");
  const auto& head = parser_->get();
  // What an early error answer reads (HTTP version, CORS); handle() fills the rest.
  req_.clear();
  req_.version = head.version();
  if (auto o = head.find(http::field::origin); o != head.end()) req_.headers["origin"].assign(o->value());
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
                     self->in_handler([&] { self->on_read(ec, n); });
                   });
}

void http_session::on_read(boost::system::error_code ec, std::size_t) {
  if (closed_) return;
  if (ec) return fail(ec, "read");
  first_ = false;
  unread_answer_ = false;
  stream_.expires_never();
  handle(parser_->release());
}

// A request that cannot be read: the limits and parse errors get their contract answer (then
// the connection closes); timeouts, socket errors and a peer gone mid-request end quietly.
void http_session::fail(boost::system::error_code ec, const char* what) {
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
  if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
      ec != http::error::partial_message && ec != http::error::end_of_stream) {
    spdlog::debug("http {}: bad request: {}", slot_->ip(), ec.message());
    return send_error(errc::bad_request, "malformed HTTP request", true);
  }
  log_failure("http", slot_->ip(), ec, what);
}

void http_session::handle(request_t&& req) {
  busy_ = true;
  keep_alive_ = req.keep_alive() && !svc_.draining.load();

  // Refilled in place: the strings and maps keep their memory from the last request.
  req_.clear();
  req_.method.assign(req.method_string());
  req_.target.assign(req.target());
  auto q = req_.target.find('?');
  api::percent_decode(std::string_view(req_.target).substr(0, q), req_.path);
  if (q != std::string::npos) api::parse_query(std::string_view(req_.target).substr(q + 1), req_.query);
  for (const auto& f : req) {
    const std::string_view name = f.name_string();
    char low[64];
    if (name.size() <= sizeof low) {
      for (std::size_t i = 0; i < name.size(); ++i)
        low[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
      req_.headers[std::string_view(low, name.size())].assign(f.value());
    } else {
      req_.headers[lower(name)].assign(f.value());
    }
  }
  req_.version = req.version();
  if (slot_->proxied()) {
    auto client = api::forwarded_client(req_);
    if (!client.empty() && !slot_->rebind(std::move(client))) {
      svc_.ctx.metrics.connections_rejected.fetch_add(1, std::memory_order_relaxed);
      return send_error(errc::over_capacity, "too many connections from this address, retry", true);
    }
  }
  req_.remote_ip.assign(slot_->ip());
  req_.home = &shard_.ioc();

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

  req_.body.swap(req.body());
  auto self = shared_from_this();
  svc_.router.dispatch(req_, [self](api::response r) {
    // The router may answer from an engine strand or the store thread; an engine that knows
    // req_.home answers on this shard's thread already (grouped per shard), so no second hop.
    if (self->shard_.executor().running_in_this_thread())
      return self->write_response(std::move(r));
    auto ex = self->stream_.get_executor();
    asio::post(ex, [self = std::move(self), r = std::move(r)]() mutable {
      self->write_response(std::move(r));
    });
  });
}

void http_session::start_sse() {
  if (svc_.draining.load())
    return send_error(errc::unavailable, "server shutting down", true);
  api::subscription sub;
  std::string why;
  if (auto e = api::resolve_subscription(svc_.ctx, req_, api::bare_client::event_stream, sub, why);
      e != errc::ok)
    return send_error(e, why);
  std::optional<std::string> last = api::sse_resume_id(req_);

  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\n"
      "Connection: keep-alive\r\n";
  for (const auto& [name, value] : api::cors_headers(svc_.ctx.cfg.cors, req_))
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
  auto a = api::admit_ws(svc_.ctx, req_, slot_->proxied(), svc_.draining.load());
  if (a.http_error != errc::ok) {
    spdlog::debug("ws {}: refused before the upgrade: {}", req_.remote_ip, a.why);
    return send_error(a.http_error, std::move(a.why), true);
  }
  ws_params p;
  p.remote_ip = req_.remote_ip;
  p.user_id = std::move(a.user_id);
  p.username = std::move(a.username);
  p.topics = std::move(a.topics);
  p.refuse_code = a.refuse_code;
  p.refuse_reason = std::move(a.refuse_reason);
  // Beast's parser may have read past the upgrade request: those bytes are WebSocket frames
  // (or a pipelined request, which the frame reader refuses with 1002).
  if (buffer_.size() > 0) {
    auto b = buffer_.data();
    p.early_bytes.assign(static_cast<const char*>(b.data()), b.size());
    buffer_.consume(buffer_.size());
  }
  // The upgrade request outlives this session: a copy on the heap, out of the arena.
  ws_session::request_type upgrade;
  upgrade.method_string(req.method_string());
  upgrade.target(req.target());
  upgrade.version(req.version());
  for (const auto& f : req) upgrade.insert(f.name(), f.name_string(), f.value());
  upgrade.body() = std::move(req.body());
  handed_off_ = true;
  stream_.expires_never();
  auto s = std::make_shared<ws_session>(svc_, shard_, stream_.release_socket(), std::move(slot_),
                                        std::move(upgrade), std::move(p));
  s->run();
}

void http_session::start_long_poll() {
  api::subscription sub;
  api::long_poll_params lp_params;
  std::string why;
  auto e = api::resolve_subscription(svc_.ctx, req_, api::bare_client::event_stream, sub, why);
  if (e == errc::ok) e = api::read_long_poll(svc_.ctx, req_, svc_.draining.load(), lp_params, why);
  if (e != errc::ok) return send_error(e, why);

  auto self = shared_from_this();
  auto lp = std::make_shared<long_poll>(
      svc_, shard_, std::move(sub.topics), std::move(lp_params.since), lp_params.timeout_ms,
      [self](api::response r) {
        api::add_cors(self->svc_.ctx.cfg.cors, self->req_, r);
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
  api::add_cors(svc_.ctx.cfg.cors, req_, r);
  if (e == errc::unavailable || e == errc::over_capacity) r.headers.emplace_back("Retry-After", "1");
  r.close = r.close || close;
  busy_ = true;
  write_response(std::move(r));
}

namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void append_number(std::string& out, std::uint64_t n) {
  char digits[20];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

// The answer's bytes, as Beast's serializer wrote them (status line with its reason, Server,
// the handler's headers with a later one of the same name replacing an earlier, Connection as
// keep_alive() sets it, Content-Length as prepare_payload() does), in one string: one buffer
// for the write, no field container or serializer per answer.
void serialize(std::string& out, const api::response& r, unsigned version, bool keep) {
  const auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
  out.clear();
  out.reserve(160 + r.body.size());
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_number(out, r.status);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\n";
  const auto later = [&](std::size_t i, std::string_view name) {
    for (std::size_t j = i + 1; j < r.headers.size(); ++j)
      if (same_name(r.headers[j].first, name)) return true;
    return false;
  };
  if (!later(static_cast<std::size_t>(-1), "Server")) out += "Server: rushcast\r\n";
  for (std::size_t i = 0; i < r.headers.size(); ++i) {
    const std::string_view k = r.headers[i].first, v = r.headers[i].second;
    if (later(i, k)) continue;
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (version >= 11 && !keep) out += "Connection: close\r\n";
  if (version < 11 && keep) out += "Connection: keep-alive\r\n";
  const bool no_body = (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
  if (r.head_length) {
    out += "Content-Length: ";
    append_number(out, *r.head_length);
    out += "\r\n";
  } else if (!no_body) {
    out += "Content-Length: ";
    append_number(out, r.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  if (!no_body && !r.head_length) out += r.body;
}

}  // namespace

void http_session::write_response(api::response r, std::uint32_t write_timeout_ms) {
  if (closed_) return;
  const bool keep = keep_alive_ && !r.close && !svc_.draining.load();
  // One buffer per connection, reused answer after answer (one write in flight at a time).
  serialize(out_, r, req_.version ? req_.version : 11, keep);
  const bool bounded = write_timeout_ms != 0;
  // Most answers fit in the socket's send buffer at once: written here, without an async
  // write's operation, timer wait and cancel, or a post of its completion. on_write (which
  // starts the next read) never runs inside the handler that answered, whose request and
  // views are still on the stack: in_handler runs it when that handler returns.
  boost::system::error_code ec;
  auto& socket = stream_.socket();
  if (!socket.non_blocking()) socket.non_blocking(true, ec);
  std::size_t written = ec ? 0 : socket.write_some(asio::buffer(out_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
  if (ec || written == out_.size()) {
    if (handler_depth_ > 0) {
      written_ = written_answer{keep, bounded, ec};
      return;
    }
    return on_write(keep, bounded, ec);
  }
  // A slow reader or a large answer: the rest within the write timeout.
  stream_.expires_after(std::chrono::milliseconds(
      write_timeout_ms ? write_timeout_ms : svc_.ctx.cfg.limits.idle_timeout_ms));
  asio::async_write(stream_, asio::buffer(out_.data() + written, out_.size() - written),
                    [self = shared_from_this(), keep, bounded](boost::system::error_code ec,
                                                               std::size_t) {
                      self->on_write(keep, bounded, ec);
                    });
}

void http_session::on_write(bool keep_alive, bool bounded, boost::system::error_code ec) {
  if (out_.capacity() > kept_answer_bytes) {
    out_.clear();
    out_.shrink_to_fit();
  }
  busy_ = false;
  if (ec) return log_failure("http", slot_->ip(), ec, "write");
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
