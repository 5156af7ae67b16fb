// One WebSocket connection. Beast does the upgrade handshake only and is freed after it; the
// session then owns just the socket (like sse_session): it waits for readability, parses client
// frames itself (ws_frame_reader) and writes the hub's pre-encoded frames and its own control
// frames through one queue, many per writev. Keep-alive is the shard's sweep (keepalive()).
// See docs/ARCHITECTURE.md, "WebSocket".
#include "rushcast/net/ws_session.hpp"

#include <algorithm>
#include <chrono>

#include <unistd.h>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/api/chat_membership.hpp"
#include "rushcast/api/context.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/net/fail.hpp"
#include "rushcast/net/plain_allocator.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::net {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

// The listener accepts with any_io_executor sockets; the session wants the shard's concrete
// executor (smaller pending operations). Moves the descriptor over; on failure the result is
// closed and the handshake fails on it.
ws_session::socket_type on_shard_executor(asio::io_context::executor_type ex,
                                          asio::ip::tcp::socket s) {
  ws_session::socket_type out(ex);
  boost::system::error_code ec;
  auto protocol = s.local_endpoint(ec).protocol();
  if (ec) return out;
  auto fd = s.release(ec);
  if (ec) return out;
  out.assign(protocol, fd, ec);
  if (ec) ::close(fd);
  return out;
}

// Server-to-client control frames (unmasked, FIN). Payloads are at most 125 bytes. Pings and
// pongs are "state" frames of no topic: the write queue keeps only the newest of each kind.
hub::frame_ptr control_frame(std::uint8_t opcode, std::string_view payload) {
  auto f = std::make_shared<hub::frame>();
  if (opcode == 0x9 || opcode == 0xA) {
    f->state = true;
    f->name = opcode == 0x9 ? "ws:ping" : "ws:pong";
  }
  f->ws_frame.reserve(2 + payload.size());
  f->ws_frame.push_back(static_cast<char>(0x80 | opcode));
  f->ws_frame.push_back(static_cast<char>(payload.size()));
  f->ws_frame.append(payload);
  return f;
}

// The keep-alive ping: one frame for every connection of the process.
const hub::frame_ptr& ping_frame() {
  static const hub::frame_ptr f = control_frame(0x9, {});
  return f;
}

}  // namespace

ws_session::ws_session(services& svc, net::shard& sh, asio::ip::tcp::socket socket,
                       conn_slot_ptr slot, request_type upgrade, ws_params params)
    : svc_(svc),
      shard_(sh),
      socket_(sh.executor()),
      ws_(std::make_unique<beast_stream>(on_shard_executor(sh.executor(), std::move(socket)))),
      slot_(std::move(slot)),
      handshake_(std::make_unique<handshake_state>(handshake_state{
          std::move(upgrade), std::move(params.topics), params.refuse_code,
          std::move(params.refuse_reason), std::move(params.early_bytes)})),
      user_id_(std::move(params.user_id)),
      username_(std::move(params.username)),
      remote_ip_(std::move(params.remote_ip)),
      writer_(wire::websocket, svc.ctx.cfg.limits.max_queue_bytes, svc.ctx.metrics) {}

ws_session::~ws_session() {
  finish();
  shard_.remove(this);
  if (open_) svc_.ctx.metrics.ws_connections.fetch_sub(1, std::memory_order_relaxed);
}

void ws_session::run() {
  const auto& cfg = svc_.ctx.cfg;
  // Beast only answers the upgrade: its timer bounds the handshake, nothing after it.
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::milliseconds(cfg.limits.handshake_timeout_ms);
  t.idle_timeout = websocket::stream_base::none();
  t.keep_alive_pings = false;
  ws_->set_option(t);
  ws_->set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "rushcast"); }));
  ws_->async_accept(handshake_->upgrade, [self = shared_from_this()](boost::system::error_code ec) {
    self->on_accept(ec);
  });
}

void ws_session::on_accept(boost::system::error_code ec) {
  if (ec) return fail(ec, "handshake");
  // From here on the session owns the socket; Beast's stream (~2.5 KiB) is freed, though not
  // from inside its own completion handler.
  socket_ = std::move(ws_->next_layer());
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->ws_.reset(); });
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  open_ = true;
  last_heard_ = steady::now();
  svc_.ctx.metrics.ws_connections.fetch_add(1, std::memory_order_relaxed);
  shard_.add(shared_from_this());
  shard_.add_keepalive(std::chrono::milliseconds(svc_.ctx.cfg.websocket.ping_ms));
  // The upgrade request's headers would otherwise cost memory for the connection's whole life.
  auto hs = std::move(handshake_);
  wait_read();
  if (close_requested_) {  // close() came during the handshake (drain)
    arm_close_deadline();
    return try_close();
  }
  if (svc_.draining.load()) return close(1001, "server shutting down");
  if (hs->refuse_code != 0) {
    close(hs->refuse_code, std::move(hs->refuse_reason));
  } else if (!hs->topics.empty()) {
    subscribe(hs->topics);
  }
  // What the client sent right behind its upgrade request comes first in the stream (a
  // request pipelined behind it is not a frame: its first byte has RSV bits set, 1002).
  if (!hs->early_bytes.empty() && !finished_) on_bytes(hs->early_bytes);
}

// An idle connection keeps only a wait for readability pending: no buffer, no Beast state.
// Its handler carries its own allocator, so Asio does not serve this long-lived operation from
// the thread's recycling cache (which hands out whatever bigger block a finished operation,
// a 64-buffer write or the handshake response, left there).
void ws_session::wait_read() {
  socket_.async_wait(asio::socket_base::wait_read,
                     asio::bind_allocator(plain_allocator<void>{},
                                          [self = shared_from_this()](boost::system::error_code ec) {
                                            self->on_readable(ec);
                                          }));
}

void ws_session::on_readable(boost::system::error_code ec) {
  if (finished_) return;
  if (ec) return fail(ec, "wait");
  // Asio's epoll registration is edge-triggered: read until the socket is drained (a short
  // read) before waiting again. A peer that keeps the socket full gets 16 reads per turn.
  char buf[8192];
  for (int round = 0; round < 16; ++round) {
    std::size_t n = socket_.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      write_replies();
      return wait_read();
    }
    if (n == 0 && !ec) ec = asio::error::eof;
    if (ec) return fail(ec, "read");
    replying_ = true;
    on_bytes(std::string_view(buf, n));
    replying_ = false;
    if (finished_) return;
    if (n < sizeof buf) {
      write_replies();
      return wait_read();
    }
  }
  write_replies();
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable({}); });
}

// The replies to what one read brought leave together, now: no post, and no wait behind
// whatever else the shard has queued meanwhile (a fan-out slice).
void ws_session::write_replies() {
  if (!writer_.empty() && !writer_.in_flight()) do_write();
}

void ws_session::on_bytes(std::string_view bytes) {
  // Any byte from the peer is a sign of life. Once our close frame is written, last_heard_
  // is when that happened, and input is only drained until the peer's EOF.
  if (close_written_) return;
  last_heard_ = steady::now();
  if (discard_input_ || peer_closed_) return;
  if (!reader_) reader_ = std::make_unique<ws_frame_reader>(svc_.ctx.cfg.limits.max_ws_message_bytes);
  std::vector<ws_event> events;
  reader_->feed(bytes, events);
  if (reader_->idle() || reader_->failed()) reader_.reset();
  for (auto& e : events) {
    if (finished_ || peer_closed_ || discard_input_) return;
    on_event(e);
  }
}

void ws_session::on_event(ws_event& e) {
  switch (e.type) {
    case ws_event::kind::text:
      return on_message(std::move(e.payload));
    case ws_event::kind::binary:
      if (closing()) return;
      return send_text(api::ws_error("bad_request", "binary messages are not supported", nullptr));
    case ws_event::kind::ping:
      return push_control(control_frame(0xA, e.payload));
    case ws_event::kind::pong:
      return;  // last_heard_ is already updated
    case ws_event::kind::close:
      peer_closed_ = true;
      if (close_written_) return finish();
      // Echo the peer's code (none if it gave none), after what is already queued.
      return close(e.code, {});
    case ws_event::kind::error:
      spdlog::debug("ws {}: protocol error {}: {}", remote_ip_, e.code, e.payload);
      discard_input_ = true;
      reader_.reset();
      return close(e.code, std::move(e.payload));
  }
}

void ws_session::on_message(std::string text) {
  if (closing()) return;
  auto retry_ms = svc_.ctx.rate.check_ip(remote_ip_, api::now_ms());
  if (retry_ms > 0) {
    svc_.ctx.metrics.rate_limited.fetch_add(1, std::memory_order_relaxed);
    if (++strikes_ >= svc_.ctx.cfg.rate_limit.ws_abuse_strikes) {
      close(4029, "rate limited");
    } else {
      send_text(nlohmann::json{{"type", "error"},
                               {"code", "rate_limited"},
                               {"message", "too many messages"},
                               {"retryAfterMs", retry_ms},
                               {"ref", nullptr}}
                    .dump());
    }
    return;
  }
  strikes_ = 0;
  svc_.ws.on_message(*this, text);
}

void ws_session::keepalive(steady::time_point now) {
  if (!open_ || finished_) return;
  if (close_written_) {
    // The close handshake: the peer had handshake_timeout_ms to end the connection.
    if (now - last_heard_ >= std::chrono::milliseconds(svc_.ctx.cfg.limits.handshake_timeout_ms))
      finish();
    return;
  }
  const std::chrono::milliseconds period(svc_.ctx.cfg.websocket.ping_ms);
  if (now - last_heard_ >= 2 * period) {
    spdlog::debug("ws {}: silent for two ping intervals, dropping", remote_ip_);
    return finish();
  }
  push_control(ping_frame());
}

void ws_session::deliver(const hub::frame_ptr& f) {
  // Queued only: the hub calls flush() once its sweep is done.
  if (closing()) return;
  writer_.push(*this, f);
}

void ws_session::on_over_cap() {
  spdlog::info("ws {}: send queue over {} bytes, closing 4008", remote_ip_,
               writer_.queue().max_bytes());
  // The writer refuses further frames from now on; close on the shard, not in deliver.
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(4008, "too slow"); });
}

void ws_session::push_frame(const hub::frame_ptr& f) {
  // Not from the hub (replies, replay, snapshots): nobody else will flush, so post a write,
  // unless the read being handled writes its replies as it ends (write_replies).
  if (writer_.push(*this, f) && !replying_) post_write();
}

void ws_session::push_control(hub::frame_ptr f) {
  if (close_sent_ || closing() || !open_) return;
  if (writer_.push(*this, f) && !replying_) post_write();
}

void ws_session::post_write() {
  if (writer_.in_flight()) return;
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->do_write(); });
}

// The only writer on the socket: data frames, replies, pings, pongs and the close frame all
// leave through the writer's queue, so no two writes ever overlap and frames are never spliced.
void ws_session::do_write() {
  if (finished_ || close_written_) return;
  writer_.write(*this, socket_);
}

void ws_session::fail(boost::system::error_code ec, const char* what) {
  log_failure("ws", remote_ip_, ec, what);
  finish();
}

void ws_session::on_drained() {
  if (close_sent_) {
    // Nothing is queued after the close frame: it is on the wire. Send FIN; if the peer has
    // closed too, we are done, else read (and drop) until its EOF, so that closing with unread
    // input does not reset the connection and destroy the close frame (1009 after a too-big
    // message) before the peer reads it. Bounded by handshake_timeout_ms (keepalive()).
    close_written_ = true;
    last_heard_ = steady::now();
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    if (peer_closed_) finish();
    return;
  }
  if (close_requested_) try_close();
}

void ws_session::send_text(std::string json_text) {
  if (closing()) return;
  push_frame(hub::make_ws_reply(json_text));
}

bool ws_session::has_topic(std::string_view topic) const {
  return std::binary_search(topics_.begin(), topics_.end(), topic);
}

void ws_session::subscribe(const std::vector<std::string>& topics) {
  if (closing()) return;
  auto& ctx = svc_.ctx;
  // The protocol (and the upgrade's topics= check) keeps within the bound and tells the
  // client; this only makes sure no path exceeds it.
  const std::size_t max_topics = ctx.cfg.limits.max_topics_per_connection;
  std::vector<std::string> fresh;
  for (const auto& t : topics) {
    auto it = std::lower_bound(topics_.begin(), topics_.end(), t);
    if (it != topics_.end() && *it == t) continue;
    if (topics_.size() >= max_topics) continue;
    topics_.insert(it, t);
    fresh.push_back(t);
  }
  if (fresh.empty()) return;
  auto r = ctx.hub.subscribe(shared_from_this(), fresh, std::nullopt, hub::transport::websocket);
  for (auto& f : r.replay) push_frame(f);
  for (auto& f : r.snapshot) push_frame(f);
  api::chat_joined(ctx, *this, fresh);
}

void ws_session::unsubscribe(const std::vector<std::string>& topics) {
  std::vector<std::string> gone;
  for (const auto& t : topics) {
    auto it = std::lower_bound(topics_.begin(), topics_.end(), t);
    if (it == topics_.end() || *it != t) continue;
    topics_.erase(it);
    gone.push_back(t);
  }
  if (gone.empty()) return;
  svc_.ctx.hub.unsubscribe(*this, gone);
  api::chat_left(svc_.ctx, *this, gone);
}

void ws_session::close(std::uint16_t code, std::string reason) {
  if (close_requested_ || finished_) return;
  close_requested_ = true;
  close_code_ = code;
  close_reason_ = std::move(reason);
  if (code == 4008) writer_.clear();  // a slow consumer gets no more of its backlog
  spdlog::debug("ws {}: closing {} ({})", remote_ip_, code, close_reason_);
  if (!open_) return;
  arm_close_deadline();
  if (!writer_.in_flight() && writer_.empty()) try_close();
}

// A close frame cannot reach a peer that reads nothing (its socket is full, a write hangs):
// the close handshake gets handshake_timeout_ms from the moment it was decided, then the
// connection is reset. The timer exists only while a close is under way.
void ws_session::arm_close_deadline() {
  if (close_deadline_ || finished_) return;
  close_deadline_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
  close_deadline_->expires_after(
      std::chrono::milliseconds(svc_.ctx.cfg.limits.handshake_timeout_ms));
  close_deadline_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->finished_) return;
    spdlog::debug("ws {}: close handshake not done within handshake_timeout_ms, resetting",
                  self->remote_ip_);
    boost::system::error_code ignored;
    self->socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    self->finish();
  });
}

void ws_session::try_close() {
  if (close_sent_ || finished_ || !open_) return;
  std::string payload;
  if (close_code_ != 0) {
    payload.push_back(static_cast<char>(close_code_ >> 8));
    payload.push_back(static_cast<char>(close_code_ & 0xFF));
    // RFC 6455 limits the reason to 123 bytes.
    payload += close_reason_.substr(0, 123);
  }
  auto f = control_frame(0x8, payload);
  writer_.push_uncounted(std::move(f));
  close_sent_ = true;
  close_reason_.clear();
  close_reason_.shrink_to_fit();
  post_write();
}

std::function<void(std::string)> ws_session::async_sender() {
  return [w = weak_from_this(), ex = socket_.get_executor()](std::string text) {
    // Called on the session's own shard (a commit's replies, posted there once per shard):
    // written now, without two more posts per reply.
    if (ex.running_in_this_thread()) {
      if (auto self = w.lock()) self->send_now(std::move(text));
      return;
    }
    asio::post(ex, [w, text = std::move(text)]() mutable {
      if (auto self = w.lock()) self->send_text(std::move(text));
    });
  };
}

void ws_session::send_now(std::string json_text) {
  if (closing()) return;
  if (writer_.push(*this, hub::make_ws_reply(json_text)) && !replying_) do_write();
}

void ws_session::finish() {
  if (finished_) return;
  finished_ = true;
  writer_.clear();
  reader_.reset();
  if (open_) shard_.remove_keepalive();
  auto& ctx = svc_.ctx;
  ctx.hub.unsubscribe_all(*this);
  // Once the threads are joined, the hub takes no more publishes.
  if (!svc_.stopped.load()) api::chat_left(ctx, *this, topics_);
  topics_.clear();
  boost::system::error_code ec;
  if (close_deadline_) close_deadline_->cancel();
  socket_.close(ec);
  if (ws_) ws_->next_layer().close(ec);  // the handshake failed or never ended
}

}  // namespace rushcast::net
