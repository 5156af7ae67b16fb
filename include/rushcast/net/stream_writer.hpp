// Owns the write half both stream sessions share (net::sse_session, net::ws_session): the
// bounded write_queue, the one write in flight, and the slow-consumer cap. The session supplies
// the socket and three hooks; the writer never closes anything itself.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>

#include "rushcast/hub/frame.hpp"
#include "rushcast/net/gathered_write.hpp"
#include "rushcast/net/write_queue.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::net {

// Session must provide, on its own strand:
//   void do_write();                         its guards, then writer_.write(*this, socket)
//   void on_drained();                       everything queued is on the wire
//   void on_over_cap();                      the queue hit its cap and was cleared: close, posted
//   void fail(boost::system::error_code, const char* what);   a write failed: close now
//   std::shared_ptr<Session> shared_from_this();
// and hold the writer as its member writer_ (stream_writer<Session> a friend of it).
template <class Session>
class stream_writer {
public:
  stream_writer(wire w, std::size_t max_bytes, obs::metrics& m)
      : wire_(w), queue_(max_bytes), metrics_(m) {}

  write_queue& queue() { return queue_; }
  bool empty() const { return queue_.empty(); }
  bool in_flight() const { return inflight_ != nullptr; }
  // The cap was hit: every later push is refused until the session is gone.
  bool over_cap() const { return over_cap_; }
  // Whether anything was written since the last call (SSE heartbeat: ping only when idle).
  bool take_wrote() { return std::exchange(wrote_, false); }

  // Queues f, counting conflation. At the byte cap the queue is freed at once, the slow
  // consumer counted, and s.on_over_cap() called: it must close from its own strand (posted),
  // never inside the hub's fan-out. True when the queue was empty before (a write is due).
  bool push(Session& s, const hub::frame_ptr& f) {
    if (over_cap_) return false;
    auto r = queue_.push(f, bytes_of(*f));
    if (r.conflated) metrics_.events_conflated.fetch_add(1, std::memory_order_relaxed);
    if (!r.over_cap) return r.was_empty;
    over_cap_ = true;
    metrics_.slow_consumer_drops.fetch_add(1, std::memory_order_relaxed);
    queue_.clear();
    s.on_over_cap();
    return false;
  }

  // Queued ahead of the cap: the SSE response head and the WebSocket close frame.
  void push_uncounted(hub::frame_ptr f) { queue_.push(std::move(f), 0); }

  void clear() { queue_.clear(); }

  // Writes what is queued now, gathered; a short write's rest goes on asynchronously. One
  // write in flight at a time: a call while one is pending does nothing (its completion
  // writes what came meanwhile). Calls s.on_drained() once nothing is left.
  template <class Socket>
  void write(Session& s, Socket& socket) {
    if (inflight_) return;
    if (!queue_.empty()) wrote_ = true;
    boost::system::error_code ec;
    switch (write_queued(socket.native_handle(), queue_, wire_, metrics_, inflight_, ec)) {
      case write_outcome::drained:
        return s.on_drained();
      case write_outcome::failed:
        return s.fail(ec, "write");
      case write_outcome::pending:
        boost::asio::async_write(
            socket, inflight_->rest(),
            [self = s.shared_from_this()](boost::system::error_code ec, std::size_t) {
              self->writer_.on_write(*self, ec);
            });
        return;
    }
  }

private:
  void on_write(Session& s, boost::system::error_code ec) {
    auto w = std::move(inflight_);
    wrote_ = true;
    if (ec) return s.fail(ec, "write");
    w->done(metrics_);
    s.do_write();
  }

  std::size_t bytes_of(const hub::frame& f) const {
    return wire_ == wire::sse ? f.sse.size() : f.ws_frame.size();
  }

  wire wire_;
  write_queue queue_;
  obs::metrics& metrics_;
  // Only while a short write's rest is being written asynchronously.
  std::unique_ptr<gathered_write> inflight_;
  bool over_cap_ = false;
  bool wrote_ = false;
};

}  // namespace rushcast::net
