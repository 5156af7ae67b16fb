// The hub's view of a connection: something on one shard that accepts shared frames.
// Implemented by net::sse_session, net::ws_session and the long-poll waiter.
#pragma once

#include <atomic>
#include <cstddef>

#include "rushcast/hub/frame.hpp"

namespace rushcast::hub {

class subscriber {
public:
  virtual ~subscriber() = default;
  // Called only on the subscriber's own shard thread. Must not block: push into the bounded
  // write queue and, on the empty -> non-empty transition, start a flush. At the queue cap the
  // subscriber marks itself closing and closes later on its own (never inside this call).
  virtual void deliver(const frame_ptr& f) = 0;
  // Shard index (0..threads-1) this subscriber lives on; fixed for its lifetime.
  virtual std::size_t shard() const = 0;

private:
  friend class hub;
  // Topics this subscriber holds in the hub, kept by the hub. Once it is 0, unsubscribe_all
  // returns without touching the shard's index, so the usual "close path, then destructor"
  // pair of calls is safe even if the destructor runs on another thread.
  std::atomic<std::size_t> hub_topics_{0};
};

}  // namespace rushcast::hub
