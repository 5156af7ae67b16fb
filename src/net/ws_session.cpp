// One WebSocket connection. Data frames bypass Beast (see ws_gate.hpp and docs/ARCHITECTURE.md):
// the hub encodes each frame once, and a drain writes up to 64 of them in one writev.
#include "rushcast/net/ws_session.hpp"

#include <algorithm>
#include <chrono>

#include <unistd.h>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/api/context.hpp"
#include "rushcast/api/topics.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/hub/presence.hpp"
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::net {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace asio = boost::asio;

namespace {

std::int64_t realtime_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_chat(const std::string& t) { return t.rfind("chat:", 0) == 0; }

// The listener accepts with any_io_executor sockets; ws_gate wants the shard's concrete
// executor (smaller pending operations). Moves the descriptor over; on failure the result is
// closed and the handshake fails on it.
ws_gate::socket_type on_shard_executor(asio::io_context::executor_type ex,
                                       asio::ip::tcp::socket s) {
  ws_gate::socket_type out(ex);
  boost::system::error_code ec;
  auto protocol = s.local_endpoint(ec).protocol();
  if (ec) return out;
  auto fd = s.release(ec);
  if (ec) return out;
  out.assign(protocol, fd, ec);
  if (ec) ::close(fd);
  return out;
}

// operator new/delete, exactly sized. Asio maps std::allocator to its per-thread recycling
// cache, so a distinct type is needed to opt out of it (see do_read).
template <class T>
struct plain_allocator {
  using value_type = T;
  plain_allocator() = default;
  template <class U>
  plain_allocator(const plain_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>{}.deallocate(p, n); }
  template <class U>
  bool operator==(const plain_allocator<U>&) const noexcept { return true; }
};

}  // namespace

ws_session::ws_session(services& svc, net::shard& sh, asio::ip::tcp::socket socket,
                       conn_slot_ptr slot, request_type upgrade, ws_params params)
    : svc_(svc),
      shard_(sh),
      ws_(on_shard_executor(sh.executor(), std::move(socket))),
      slot_(std::move(slot)),
      handshake_(std::make_unique<handshake_state>(handshake_state{
          std::move(upgrade), std::move(params.topics), params.refuse_code,
          std::move(params.refuse_reason)})),
      user_id_(std::move(params.user_id)),
      username_(std::move(params.username)),
      remote_ip_(std::move(params.remote_ip)),
      queue_(svc.ctx.cfg.limits.max_queue_bytes) {}

ws_session::~ws_session() {
  finish();
  shard_.remove(this);
  if (open_) svc_.ctx.metrics.ws_connections.fetch_sub(1, std::memory_order_relaxed);
}

void ws_session::run() {
  const auto& cfg = svc_.ctx.cfg;
  ws_.read_message_max(cfg.limits.max_ws_message_bytes);
  // Our frames are pre-encoded; Beast's own messages are tiny: never split them.
  ws_.auto_fragment(false);
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::milliseconds(cfg.limits.handshake_timeout_ms);
  // Beast pings at half of idle_timeout and drops a peer silent for the whole of it.
  t.idle_timeout = std::chrono::milliseconds(2ull * cfg.websocket.ping_ms);
  t.keep_alive_pings = true;
  ws_.set_option(t);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "rushcast"); }));
  ws_.async_accept(handshake_->upgrade, [self = shared_from_this()](boost::system::error_code ec) {
    self->on_accept(ec);
  });
}

void ws_session::on_accept(boost::system::error_code ec) {
  if (ec) {
    spdlog::debug("ws {}: handshake failed: {}", remote_ip_, ec.message());
    return finish();
  }
  open_ = true;
  svc_.ctx.metrics.ws_connections.fetch_add(1, std::memory_order_relaxed);
  shard_.add(shared_from_this());
  // The upgrade request's headers would otherwise cost memory for the connection's whole life.
  auto hs = std::move(handshake_);
  do_read();
  if (svc_.draining.load()) return close(1001, "server shutting down");
  if (hs->refuse_code != 0) return close(hs->refuse_code, std::move(hs->refuse_reason));
  if (!hs->topics.empty()) subscribe(hs->topics);
}

// An idle connection holds no message buffer. The zero-byte read keeps a Beast read pending, so
// Beast still parses frame headers into its own fixed buffer, answers pings, notices pongs (its
// idle timer) and handles the close frame; it completes only once a data frame has begun.
// Only then is a buffer allocated for the message, and it is freed when the message is read.
void ws_session::do_read() {
  // Zero bytes, but not a null pointer: Beast 1.81's UTF-8 check of the (empty) text it copied
  // computes `p + size - 3`, which wraps around for a null p and reads from address 0.
  static char no_bytes;
  // This operation stays pending for the connection's whole idle life. Asio would otherwise
  // take its memory from the thread's recycling cache, which hands out whatever block a
  // bigger, finished operation (a 64-buffer write, the handshake response) left there.
  ws_.async_read_some(asio::mutable_buffer(&no_bytes, 0),
                      asio::bind_allocator(plain_allocator<void>{},
                                           [self = shared_from_this()](
                                               boost::system::error_code ec, std::size_t) {
                                             self->on_frame(ec);
                                           }));
}

void ws_session::on_frame(boost::system::error_code ec) {
  if (read_failed(ec)) return;
  // An empty final frame: the whole (empty) message has been read.
  if (ws_.is_message_done()) return on_message({});
  message_ = std::make_unique<beast::flat_buffer>();
  ws_.async_read(*message_, [self = shared_from_this()](boost::system::error_code ec,
                                                         std::size_t n) { self->on_read(ec, n); });
}

void ws_session::on_read(boost::system::error_code ec, std::size_t) {
  if (read_failed(ec)) return;
  std::string text = beast::buffers_to_string(message_->data());
  message_.reset();
  on_message(std::move(text));
}

bool ws_session::read_failed(boost::system::error_code ec) {
  if (!ec) return false;
  if (ec != websocket::error::closed && ec != asio::error::operation_aborted)
    spdlog::debug("ws {}: read: {}", remote_ip_, ec.message());
  message_.reset();
  finish();
  return true;
}

void ws_session::on_message(std::string text) {
  if (close_requested_) return do_read();
  if (!ws_.got_text()) {
    send_text(api::ws_error("bad_request", "binary messages are not supported", nullptr));
    return do_read();
  }
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
    return do_read();
  }
  strikes_ = 0;
  svc_.ws.on_message(*this, text);
  do_read();
}

void ws_session::deliver(const hub::frame_ptr& f) {
  if (close_requested_ || finished_) return;
  push_frame(f);
}

void ws_session::push_frame(const hub::frame_ptr& f) {
  auto r = queue_.push(f, f->ws_frame.size());
  if (r.conflated) svc_.ctx.metrics.events_conflated.fetch_add(1, std::memory_order_relaxed);
  if (r.over_cap) {
    svc_.ctx.metrics.slow_consumer_drops.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("ws {}: send queue over {} bytes, closing 4008", remote_ip_,
                 queue_.max_bytes());
    close_requested_ = true;  // refuse further frames now; close on the shard, not in deliver
    queue_.clear();
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      self->close_requested_ = false;
      self->close(4008, "too slow");
    });
    return;
  }
  // One post per burst: frames delivered in the same sweep leave in one write.
  if (r.was_empty && !writing_)
    asio::post(ws_.get_executor(), [self = shared_from_this()] { self->do_write(); });
}

void ws_session::do_write() {
  if (writing_ || finished_ || close_sent_ || queue_.empty()) return;
  if (ws_.next_layer().beast_writing()) {
    ws_.next_layer().wait_beast([w = weak_from_this()] {
      if (auto self = w.lock()) self->do_write();
    });
    return;
  }
  batch_.clear();
  bufs_.clear();
  queue_.take_batch(batch_);
  for (auto& f : batch_) bufs_.emplace_back(f->ws_frame.data(), f->ws_frame.size());
  writing_ = true;
  ws_.next_layer().begin_raw();
  asio::async_write(ws_.next_layer().next_layer(),
                    std::span<const asio::const_buffer>(bufs_.data(), bufs_.size()),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                      self->on_write(ec, n);
                    });
}

void ws_session::on_write(boost::system::error_code ec, std::size_t) {
  writing_ = false;
  ws_.next_layer().end_raw();
  auto& m = svc_.ctx.metrics;
  if (!ec) {
    m.events_delivered.fetch_add(batch_.size(), std::memory_order_relaxed);
    // One latency sample per write: the oldest published frame of the batch (the worst).
    for (auto& f : batch_)
      if (f->published_ns > 0) {
        auto us = (realtime_ns() - f->published_ns) / 1000;
        m.publish_to_write.observe_us(us > 0 ? static_cast<std::uint64_t>(us) : 0);
        break;
      }
  }
  batch_.clear();
  bufs_.clear();
  if (ec) {
    spdlog::debug("ws {}: write: {}", remote_ip_, ec.message());
    return finish();
  }
  if (!queue_.empty()) return do_write();
  // Drained: an idle connection keeps no batch storage. The next burst allocates it again,
  // which costs far less than the send it precedes.
  std::vector<hub::frame_ptr>().swap(batch_);
  std::vector<asio::const_buffer>().swap(bufs_);
  if (close_requested_) try_close();
}

void ws_session::send_text(std::string json_text) {
  if (close_requested_ || finished_) return;
  push_frame(hub::make_ws_reply(json_text));
}

void ws_session::subscribe(const std::vector<std::string>& topics) {
  if (close_requested_ || finished_) return;
  auto& ctx = svc_.ctx;
  std::vector<std::string> fresh;
  for (const auto& t : topics) {
    auto e = api::check_subscribe(t, user_id_, svc_.ctx.auth.jwt_on());
    if (e != errc::ok) {
      send_text(api::ws_error(error_name(e), "cannot subscribe to " + t, nullptr));
      continue;
    }
    auto it = std::lower_bound(topics_.begin(), topics_.end(), t);
    if (it != topics_.end() && *it == t) continue;
    topics_.insert(it, t);
    fresh.push_back(t);
  }
  if (fresh.empty()) return;
  auto r = ctx.hub.subscribe(shared_from_this(), fresh, std::nullopt, hub::transport::websocket);
  for (auto& f : r.replay) push_frame(f);
  for (auto& f : r.snapshot) push_frame(f);
  if (!user_id_.empty())
    for (const auto& t : fresh)
      if (is_chat(t)) ctx.presence.join(t, user_id_, username_.empty() ? user_id_ : username_);
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
  if (!user_id_.empty())
    for (const auto& t : gone)
      if (is_chat(t)) svc_.ctx.presence.leave(t, user_id_);
}

void ws_session::close(std::uint16_t code, std::string reason) {
  if (close_requested_ || finished_) return;
  close_requested_ = true;
  close_code_ = code;
  close_reason_ = std::move(reason);
  if (code == 4008) queue_.clear();  // a slow consumer gets no more of its backlog
  spdlog::debug("ws {}: closing {} ({})", remote_ip_, code, close_reason_);
  if (!open_) return;
  if (!writing_ && queue_.empty()) try_close();
}

void ws_session::try_close() {
  if (close_sent_ || finished_ || !open_) return;
  close_sent_ = true;
  websocket::close_reason cr(close_code_);
  // RFC 6455 limits the reason to 123 bytes.
  cr.reason = close_reason_.substr(0, 123);
  ws_.async_close(cr, [self = shared_from_this()](boost::system::error_code ec) {
    if (ec) self->finish();
  });
}

std::function<void(std::string)> ws_session::async_sender() {
  return [w = weak_from_this(), ex = ws_.get_executor()](std::string text) {
    asio::post(ex, [w, text = std::move(text)]() mutable {
      if (auto self = w.lock()) self->send_text(std::move(text));
    });
  };
}

void ws_session::finish() {
  if (finished_) return;
  finished_ = true;
  queue_.clear();
  auto& ctx = svc_.ctx;
  ctx.hub.unsubscribe_all(*this);
  if (!user_id_.empty() && !svc_.stopped.load())
    for (const auto& t : topics_)
      if (is_chat(t)) ctx.presence.leave(t, user_id_);
  topics_.clear();
  boost::system::error_code ec;
  ws_.next_layer().next_layer().close(ec);
}

}  // namespace rushcast::net
