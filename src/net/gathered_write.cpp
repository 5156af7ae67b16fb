// One gathered write. sendmsg is called directly rather than through an Asio async_write: a
// write that completes at once (the common case) then costs no handler at all, where Asio
// posts a completion for it even when its speculative write succeeded.
#include "rushcast/net/gathered_write.hpp"

#include <cerrno>
#include <chrono>

#include <sys/socket.h>

#include <boost/asio/error.hpp>

#include "rushcast/obs/metrics.hpp"

namespace rushcast::net {

namespace {

std::int64_t realtime_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Deliveries are events: not the SSE response head or a ping, not a WebSocket control frame.
bool is_event(const hub::frame& f, wire w) {
  if (w == wire::sse) return !(f.seq == 0 && f.name.empty());
  return !f.ws_frame.empty() && static_cast<unsigned char>(f.ws_frame[0]) == 0x81;
}

}  // namespace

gathered_write& gathered_write::scratch() {
  thread_local gathered_write w;
  return w;
}

void gathered_write::take(write_queue& q, wire w) {
  wire_ = w;
  frames_.clear();
  iov_.clear();
  first_ = 0;
  q.take_batch(frames_);  // at most 64 frames: within IOV_MAX
  for (const auto& f : frames_) {
    const std::string& b = w == wire::sse ? f->sse : f->ws_frame;
    if (!b.empty()) iov_.push_back({const_cast<char*>(b.data()), b.size()});
  }
}

bool gathered_write::send(int fd, boost::system::error_code& ec) {
  ec.clear();
  while (first_ < iov_.size()) {
    msghdr msg{};
    msg.msg_iov = iov_.data() + first_;
    msg.msg_iovlen = iov_.size() - first_;
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      ec = (errno == EAGAIN || errno == EWOULDBLOCK)
               ? boost::system::error_code(boost::asio::error::would_block)
               : boost::system::error_code(errno, boost::system::system_category());
      return false;
    }
    auto left = static_cast<std::size_t>(n);
    while (first_ < iov_.size() && left >= iov_[first_].iov_len) left -= iov_[first_++].iov_len;
    if (left > 0) {
      iov_[first_].iov_base = static_cast<char*>(iov_[first_].iov_base) + left;
      iov_[first_].iov_len -= left;
    }
  }
  return true;
}

const std::vector<boost::asio::const_buffer>& gathered_write::rest() {
  rest_.clear();
  for (std::size_t i = first_; i < iov_.size(); ++i)
    rest_.emplace_back(iov_[i].iov_base, iov_[i].iov_len);
  return rest_;
}

void gathered_write::done(obs::metrics& m) {
  std::size_t events = 0;
  bool sampled = false;
  for (const auto& f : frames_) {
    if (!is_event(*f, wire_)) continue;
    ++events;
    // One latency sample per write: the oldest published frame of the batch (the worst).
    if (!sampled && f->published_ns > 0) {
      sampled = true;
      auto us = (realtime_ns() - f->published_ns) / 1000;
      m.publish_to_write.observe_us(us > 0 ? static_cast<std::uint64_t>(us) : 0);
    }
  }
  if (events > 0) m.events_delivered.fetch_add(events, std::memory_order_relaxed);
  reset();
}

void gathered_write::reset() {
  frames_.clear();
  iov_.clear();
  rest_.clear();
  first_ = 0;
}

write_outcome write_queued(int fd, write_queue& q, wire w, obs::metrics& m,
                           std::unique_ptr<gathered_write>& rest, boost::system::error_code& ec) {
  ec.clear();
  while (!q.empty()) {
    // Nearly every write finishes at once: the thread's scratch batch serves them, and only a
    // short write moves its batch to the heap for the async write of the rest.
    auto& batch = gathered_write::scratch();
    batch.take(q, w);
    if (batch.send(fd, ec)) {
      batch.done(m);
      continue;
    }
    if (ec != boost::asio::error::would_block) {
      batch.reset();
      return write_outcome::failed;
    }
    ec.clear();
    rest = std::make_unique<gathered_write>(std::move(batch));
    return write_outcome::pending;
  }
  return write_outcome::drained;
}

}  // namespace rushcast::net
