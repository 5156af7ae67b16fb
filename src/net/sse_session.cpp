// One SSE stream. No read is kept pending (an idle stream costs ~1 KiB): the peer's close is
// noticed by waiting for readability and peeking with a non-blocking read.
#include "rushcast/net/sse_session.hpp"

#include <chrono>
#include <span>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/api/context.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/net/plain_allocator.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::net {

namespace asio = boost::asio;

namespace {

hub::frame_ptr text_frame(std::string sse) {
  auto f = std::make_shared<hub::frame>();
  f->sse = std::move(sse);
  return f;
}

const hub::frame_ptr& ping_frame() {
  static const hub::frame_ptr f = text_frame(": ping\n\n");
  return f;
}

}  // namespace

sse_session::sse_session(services& svc, net::shard& sh, asio::ip::tcp::socket socket,
                         conn_slot_ptr slot, std::string head, std::vector<std::string> topics,
                         std::optional<std::string> last_event_id)
    : svc_(svc),
      shard_(sh),
      socket_(std::move(socket)),
      heartbeat_(socket_.get_executor()),
      slot_(std::move(slot)),
      topics_(std::move(topics)),
      last_event_id_(std::move(last_event_id)),
      head_(text_frame(std::move(head) + "retry: " +
                       std::to_string(svc.ctx.cfg.sse.retry_ms) + "\n\n")),
      queue_(svc.ctx.cfg.limits.max_queue_bytes) {}

sse_session::~sse_session() {
  svc_.ctx.hub.unsubscribe_all(*this);
  shard_.remove(this);
  if (counted_) svc_.ctx.metrics.sse_connections.fetch_sub(1, std::memory_order_relaxed);
}

void sse_session::run() {
  auto self = shared_from_this();
  counted_ = true;
  svc_.ctx.metrics.sse_connections.fetch_add(1, std::memory_order_relaxed);
  shard_.add(self);
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  auto r = svc_.ctx.hub.subscribe(self, topics_, last_event_id_, hub::transport::sse);
  // The head alone is written before anything else; a long replay can never refuse it.
  queue_.push(std::move(head_), 0);
  if (r.resync && r.resync_frame) enqueue(r.resync_frame);
  for (auto& f : r.replay) enqueue(f);
  for (auto& f : r.snapshot) enqueue(f);
  topics_.clear();
  topics_.shrink_to_fit();
  last_event_id_.reset();
  do_write();
  wait_peer();
  arm_heartbeat();
}

void sse_session::deliver(const hub::frame_ptr& f) {
  // Queued only: the hub calls flush() once its sweep is done.
  if (ending_ || closed_) return;
  enqueue(f);
}

void sse_session::enqueue(const hub::frame_ptr& f) {
  auto r = queue_.push(f, f->sse.size());
  if (r.conflated) svc_.ctx.metrics.events_conflated.fetch_add(1, std::memory_order_relaxed);
  if (!r.over_cap) return;
  svc_.ctx.metrics.slow_consumer_drops.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("sse {}: send queue over {} bytes, ending the stream", slot_->ip(),
               queue_.max_bytes());
  ending_ = true;
  queue_.clear();
  // Never close inside the hub's fan-out: post it. What is in flight may finish (the stream
  // then ends cleanly), but a peer that reads nothing holds it at most handshake_timeout_ms.
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->closed_) return;
    if (!self->inflight_) return self->close_now();
    self->svc_.ctx.hub.unsubscribe_all(*self);
    self->arm_close_deadline();
  });
}

// Writes what is queued now; a short write's rest goes on asynchronously (on_write).
void sse_session::do_write() {
  if (inflight_ || closed_) return;
  if (!queue_.empty()) wrote_since_tick_ = true;
  boost::system::error_code ec;
  switch (write_queued(socket_.native_handle(), queue_, wire::sse, svc_.ctx.metrics, inflight_, ec)) {
    case write_outcome::drained:
      if (ending_) close_now();
      return;
    case write_outcome::failed:
      spdlog::debug("sse {}: write: {}", slot_->ip(), ec.message());
      return close_now();
    case write_outcome::pending:
      asio::async_write(socket_, inflight_->rest(),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                          self->on_write(ec, n);
                        });
      return;
  }
}

void sse_session::on_write(boost::system::error_code ec, std::size_t) {
  auto w = std::move(inflight_);
  wrote_since_tick_ = true;
  if (ec) {
    if (ec != asio::error::operation_aborted)
      spdlog::debug("sse {}: write: {}", slot_->ip(), ec.message());
    return close_now();
  }
  w->done(svc_.ctx.metrics);
  do_write();
}

// Long-lived, like the heartbeat's wait: both carry their own allocator (plain_allocator.hpp).
void sse_session::wait_peer() {
  socket_.async_wait(asio::socket_base::wait_read,
                     asio::bind_allocator(plain_allocator<void>{},
                                          [self = shared_from_this()](boost::system::error_code ec) {
                                            self->on_readable(ec);
                                          }));
}

void sse_session::on_readable(boost::system::error_code ec) {
  if (ec || closed_) return;
  // A client sends nothing after its request: readable means EOF, a reset, or junk to drop.
  char buf[512];
  std::size_t n = socket_.read_some(asio::buffer(buf), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) return wait_peer();
  if (ec || n == 0) return close_now();
  wait_peer();
}

void sse_session::arm_heartbeat() {
  heartbeat_.expires_after(std::chrono::milliseconds(svc_.ctx.cfg.heartbeat_ms));
  heartbeat_.async_wait(asio::bind_allocator(
      plain_allocator<void>{}, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->closed_ || self->ending_) return;
        if (!self->wrote_since_tick_ && !self->inflight_ && self->queue_.empty()) {
          self->enqueue(ping_frame());
          self->do_write();
        }
        self->wrote_since_tick_ = false;
        self->arm_heartbeat();
      }));
}

void sse_session::end_stream() {
  if (ending_ || closed_) return;
  ending_ = true;
  if (!inflight_) do_write();
  if (!closed_) arm_close_deadline();
}

// Once ending_ the heartbeat is idle, so its timer bounds the end instead (re-arming it
// cancels the pending heartbeat wait, whose handler then does nothing).
void sse_session::arm_close_deadline() {
  heartbeat_.expires_after(std::chrono::milliseconds(svc_.ctx.cfg.limits.handshake_timeout_ms));
  heartbeat_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_) return;
    spdlog::debug("sse {}: stream not read within handshake_timeout_ms, resetting",
                  self->slot_->ip());
    self->close_now(true);
  });
}

void sse_session::close_now(bool reset) {
  if (closed_) return;
  closed_ = true;
  svc_.ctx.hub.unsubscribe_all(*this);
  heartbeat_.cancel();
  boost::system::error_code ec;
  if (reset) {
    // The peer stopped reading: drop what the kernel still holds for it instead of keeping
    // it (and the connection) until TCP gives up.
    socket_.set_option(asio::socket_base::linger(true, 0), ec);
  } else {
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  }
  socket_.close(ec);
}

}  // namespace rushcast::net
