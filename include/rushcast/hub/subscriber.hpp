// The hub's view of a connection: something on one shard that accepts shared frames.
// Implemented by net::sse_session, net::ws_session and the long-poll waiter.
#pragma once

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
};

}  // namespace rushcast::hub
