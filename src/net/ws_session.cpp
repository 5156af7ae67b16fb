// One WebSocket connection. Data frames bypass Beast (see ws_gate.hpp and docs/ARCHITECTURE.md):
// the hub encodes each frame once, and a drain writes up to 64 of them in one writev.
#include "rushcast/net/ws_session.hpp"

#include <chrono>

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

}  // namespace

ws_session::ws_session(services& svc, net::shard& sh, asio::ip::tcp::socket socket,
                       conn_slot_ptr slot, request_type upgrade, ws_params params)
    : svc_(svc),
      shard_(sh),
      ws_(std::move(socket)),
      slot_(std::move(slot)),
      upgrade_(std::move(upgrade)),
      params_(std::move(params)),
      queue_(svc.ctx.cfg.limits.max_queue_bytes) {
  if (params_.username.empty()) params_.username = params_.user_id;
}

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
  ws_.async_accept(upgrade_, [self = shared_from_this()](boost::system::error_code ec) {
    self->on_accept(ec);
  });
}

void ws_session::on_accept(boost::system::error_code ec) {
  if (ec) {
    spdlog::debug("ws {}: handshake failed: {}", params_.remote_ip, ec.message());
    return finish();
  }
  open_ = true;
  svc_.ctx.metrics.ws_connections.fetch_add(1, std::memory_order_relaxed);
  shard_.add(shared_from_this());
  // The upgrade request is no longer needed; its headers would cost memory for the whole life.
  upgrade_ = {};
  do_read();
  if (svc_.draining.load()) return close(1001, "server shutting down");
  if (params_.refuse_code != 0) return close(params_.refuse_code, params_.refuse_reason);
  if (!params_.topics.empty()) subscribe(params_.topics);
}

void ws_session::do_read() {
  ws_.async_read(buffer_, [self = shared_from_this()](boost::system::error_code ec,
                                                       std::size_t n) { self->on_read(ec, n); });
}

void ws_session::on_read(boost::system::error_code ec, std::size_t) {
  if (ec) {
    if (ec != websocket::error::closed && ec != asio::error::operation_aborted)
      spdlog::debug("ws {}: read: {}", params_.remote_ip, ec.message());
    return finish();
  }
  if (close_requested_) {
    buffer_.clear();
    return do_read();
  }
  std::string text = beast::buffers_to_string(buffer_.data());
  buffer_.clear();
  // A large message grew the buffer; an idle connection should not keep it.
  if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();
  if (!ws_.got_text()) {
    send_text(api::ws_error("bad_request", "binary messages are not supported", nullptr));
    return do_read();
  }
  auto retry_ms = svc_.ctx.rate.check_ip(params_.remote_ip, api::now_ms());
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
    spdlog::info("ws {}: send queue over {} bytes, closing 4008", params_.remote_ip,
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
    spdlog::debug("ws {}: write: {}", params_.remote_ip, ec.message());
    return finish();
  }
  if (!queue_.empty()) return do_write();
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
    auto e = api::check_subscribe(t, params_.user_id, svc_.ctx.auth.jwt_on());
    if (e != errc::ok) {
      send_text(api::ws_error(error_name(e), "cannot subscribe to " + t, nullptr));
      continue;
    }
    if (topics_.insert(t).second) fresh.push_back(t);
  }
  if (fresh.empty()) return;
  auto r = ctx.hub.subscribe(shared_from_this(), fresh, std::nullopt, hub::transport::websocket);
  for (auto& f : r.replay) push_frame(f);
  for (auto& f : r.snapshot) push_frame(f);
  if (!params_.user_id.empty())
    for (const auto& t : fresh)
      if (is_chat(t)) ctx.presence.join(t, params_.user_id, params_.username);
}

void ws_session::unsubscribe(const std::vector<std::string>& topics) {
  std::vector<std::string> gone;
  for (const auto& t : topics)
    if (topics_.erase(t) > 0) gone.push_back(t);
  if (gone.empty()) return;
  svc_.ctx.hub.unsubscribe(*this, gone);
  if (!params_.user_id.empty())
    for (const auto& t : gone)
      if (is_chat(t)) svc_.ctx.presence.leave(t, params_.user_id);
}

void ws_session::close(std::uint16_t code, std::string reason) {
  if (close_requested_ || finished_) return;
  close_requested_ = true;
  close_code_ = code;
  close_reason_ = std::move(reason);
  if (code == 4008) queue_.clear();  // a slow consumer gets no more of its backlog
  spdlog::debug("ws {}: closing {} ({})", params_.remote_ip, code, close_reason_);
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
  if (!params_.user_id.empty() && !svc_.stopped.load())
    for (const auto& t : topics_)
      if (is_chat(t)) ctx.presence.leave(t, params_.user_id);
  topics_.clear();
  boost::system::error_code ec;
  ws_.next_layer().next_layer().close(ec);
}

}  // namespace rushcast::net
