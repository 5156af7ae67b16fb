// Owns one shard's fan-out: the queue of frames posted to it, the sweep that hands them to the
// shard's subscribers, the flush rounds that write them, and the shard's backlog counter.
// Used by the hub (one dispatcher per shard thread) and, for its backlog, the publish gate.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "rushcast/hub/frame.hpp"
#include "rushcast/hub/subscriber.hpp"
#include "rushcast/hub/topic_index.hpp"

namespace rushcast::hub {

// Told by a dispatcher when a flush round lowered its backlog while someone waited for room
// (the publish gate). Called on the shard thread, with no dispatcher lock held.
class room_listener {
public:
  virtual void on_room() = 0;

protected:
  ~room_listener() = default;
};

class dispatcher : public std::enable_shared_from_this<dispatcher> {
public:
  // Deliveries a shard makes per handler run before it yields (see dispatcher.cpp on why it is
  // large).
  static constexpr std::size_t default_sweep_budget = 262144;
  // Subscribers a shard flushes (subscriber::flush, one write each) per handler run before it
  // yields to its reactor; the raw epoll reference server yields every 256 writes as well.
  static constexpr std::size_t default_flush_slice = 256;

  // ex runs this shard (one thread). sweep_budget and flush_slice of 0 count as 1.
  dispatcher(boost::asio::any_io_executor ex, std::size_t sweep_budget, std::size_t flush_slice);
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  const boost::asio::any_io_executor& executor() const { return ex_; }

  // Before the first enqueue: at the end of every round that lowered the backlog, if *waiting
  // is set, listener (when still alive) is told on_room().
  void watch_room(std::shared_ptr<const std::atomic<bool>> waiting,
                  std::weak_ptr<room_listener> listener);

  // Any thread; the hub calls it under its ordering mutex, so frames arrive in seq order.
  // Queues f and counts it into the backlog. Returns true when the dispatcher was idle: the
  // caller must then call schedule() (after releasing its own mutex; one post per burst).
  bool enqueue(frame_ptr f);
  // As enqueue, for a batch in seq order under one lock (the hub's ingest); empties frames.
  // A frame with an empty topic goes to every subscriber of the shard (a resync notice).
  bool enqueue(std::vector<frame_ptr>& frames);
  // Posts a run to the shard's executor.
  void schedule();

  // Shard thread only: the shard's topic -> subscribers index.
  topic_index& index() { return index_; }
  // Shard thread only: sub leaves the hub; a flush due for it is dropped.
  void forget(subscriber& sub);

  // Events posted here and not yet swept to all subscribers and flushed by them; any thread,
  // relaxed unless order says otherwise.
  std::size_t backlog(std::memory_order order = std::memory_order_relaxed) const {
    return backlog_.load(order);
  }
  // The highest backlog since start.
  std::size_t backlog_peak() const { return peak_.load(std::memory_order_relaxed); }

private:
  void run();
  bool sweep();
  void flush_slice();
  void mark_dirty(subscriber& sub);
  static std::uint64_t& flush_pos(subscriber& sub) { return sub.hub_flush_pos_; }

  boost::asio::any_io_executor ex_;
  std::size_t sweep_budget_;

  // Backlog: events posted here and not yet swept (written under mu_ or on the shard thread,
  // read anywhere). peak_ is written under mu_ only.
  std::atomic<std::size_t> backlog_{0};
  std::atomic<std::size_t> peak_{0};
  // Shared by every shard: set while a bounded publish waits (publish_gate.cpp, "No lost
  // wake-up").
  std::shared_ptr<const std::atomic<bool>> waiting_;
  std::weak_ptr<room_listener> listener_;

  // enqueue() pushes under mu_; the shard thread swaps the queue out.
  std::mutex mu_;
  std::deque<frame_ptr> queue_;
  bool scheduled_ = false;  // a run is posted or running

  // Shard thread only.
  topic_index index_;
  std::deque<frame_ptr> pending_;
  frame_ptr current_;  // frame whose sweep is in progress (its topic is pinned)
  std::size_t cursor_ = 0;

  // Flush rounds. dirty_: subscribers that got frames since their last flush, in the order
  // they got them; dirty_[i] is at absolute position dirty_base_ + i; nullptr = left the hub.
  // A round flushes dirty_[flush_next_, round_end_), flush_slice_ per run.
  std::size_t flush_slice_;
  std::vector<subscriber*> dirty_;
  std::uint64_t dirty_base_ = 0;
  std::size_t flush_next_ = 0;
  std::size_t round_end_ = 0;
  bool in_round_ = false;
  std::size_t round_events_ = 0;  // events swept before the round began: out of the backlog at its end
  std::size_t swept_ = 0;         // events swept since (counted by the next round)
};

}  // namespace rushcast::hub
