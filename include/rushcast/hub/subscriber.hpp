// The hub's view of a connection: something on one shard that accepts shared frames.
// Implemented by net::sse_session, net::ws_session and the long-poll waiter.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

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
  // Called only on the shard thread, after deliver(): write what is queued now (one gathered,
  // non-blocking write; the rest of a short write goes on asynchronously). The hub calls it
  // once per flush round for every subscriber that got frames since its last flush, a slice
  // of subscribers per handler run, so the shard reads its other sockets (publishes) between
  // slices and frames that arrive meanwhile join the writes still to come.
  virtual void flush() {}

private:
  friend class hub;
  friend class dispatcher;  // the shard's flush list
  // Topics this subscriber holds in the hub, kept by the hub. Once it is 0, unsubscribe_all
  // returns without touching the shard's index, so the usual "close path, then destructor"
  // pair of calls is safe even if the destructor runs on another thread.
  std::atomic<std::size_t> hub_topics_{0};
  // Shard thread only: 1 + this subscriber's position in its shard's flush list (0 = none), so
  // that leaving the hub while a flush is due removes it without a search.
  std::uint64_t hub_flush_pos_ = 0;
};

}  // namespace rushcast::hub
