// One SSE stream. No read is kept pending (an idle stream costs ~1 KiB): the peer's close is
// noticed by waiting for readability and peeking with a non-blocking read.
#include "rushcast/net/sse_session.hpp"

#include <chrono>
#include <span>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/api/context.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/net/fail.hpp"
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
      writer_(wire::sse, svc.ctx.cfg.limits.max_queue_bytes, svc.ctx.metrics) {}

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
  writer_.push_uncounted(std::move(head_));
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

void sse_session::on_over_cap() {
  spdlog::info("sse {}: send queue over {} bytes, ending the stream", slot_->ip(),
               writer_.queue().max_bytes());
  ending_ = true;
  // Never close inside the hub's fan-out: post it. What is in flight may finish (the stream
  // then ends cleanly), but a peer that reads nothing holds it at most handshake_timeout_ms.
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->closed_) return;
    if (!self->writer_.in_flight()) return self->close_now();
    self->svc_.ctx.hub.unsubscribe_all(*self);
    self->arm_close_deadline();
  });
}

void sse_session::do_write() {
  if (closed_) return;
  writer_.write(*this, socket_);
}

void sse_session::on_drained() {
  if (ending_) close_now();
}

void sse_session::fail(boost::system::error_code ec, const char* what) {
  log_failure("sse", slot_->ip(), ec, what);
  close_now();
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
  if (closed_) return;
  // The wait fails only when the socket is closed (by us): nothing more to do.
  if (ec) return;
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
        auto& w = self->writer_;
        if (!w.take_wrote() && !w.in_flight() && w.empty()) {
          self->enqueue(ping_frame());
          self->do_write();
        }
        w.take_wrote();  // the ping itself does not count as traffic for the next tick
        self->arm_heartbeat();
      }));
}

void sse_session::end_stream() {
  if (ending_ || closed_) return;
  ending_ = true;
  if (!writer_.in_flight()) do_write();
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
