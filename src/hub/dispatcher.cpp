// One shard's fan-out: sweep, then flush in slices, and the backlog it acknowledges.
//
// Sweep, then flush in slices. Each handler run (1) sweeps: it queues the new frames on their
// subscribers (deliver(), a shared pointer pushed, ~tens of ns; at most sweep_budget per run)
// and marks each subscriber that got one; (2) flushes one slice (flush_slice, 256) of the
// marked subscribers: each writes everything queued for it in one gathered, non-blocking
// write; (3) re-posts itself while anything is left, so the shard's reactor runs between
// slices. What this buys (docs/BENCHMARKS.md, "flush rounds"): a publish request is read
// within one slice's writes instead of after a whole fan-out, and the events it brings are
// swept into the queues of the subscribers still waiting for their turn, who then carry them
// in the same write. Before, each session posted its own write after the sweep and Asio
// posted its completion too: two handlers per connection per event, and the reactor ran only
// after all of them. A round = the subscribers marked when it starts; one marked again during
// the round waits for the next, so each gets one write per round.
// A sweep cut short by its budget resumes at the same position of the same frame's subscriber
// list: the topic stays pinned in the topic_index meanwhile (removals become tombstones,
// additions append), so a resumed sweep neither skips nor repeats anyone.
//
// Frames with seq < a subscriber's start_seq (hub.cpp, "No duplicate, no gap") still sitting
// in the queue are skipped by the index's sweep.
//
// The flush list holds raw subscriber pointers: the hub's unsubscribe_all calls forget(), which
// clears sub's entry (its position is kept in the subscriber, so no search).
//
// Backlog. Each shard counts the events posted to it and not yet delivered and flushed to all
// its subscribers: +1 in enqueue() under the shard mutex, -N when the flush round that began
// after their sweep ends (so a shard never acknowledges much faster than it writes). The hot
// path pays one atomic add per event, one subtract and one load of the gate's "waiting" flag
// per round.
#include "rushcast/hub/dispatcher.hpp"

#include <exception>

#include <boost/asio/post.hpp>

#include "rushcast/hub/guarded.hpp"

namespace rushcast::hub {

dispatcher::dispatcher(boost::asio::any_io_executor ex, std::size_t sweep_budget,
                       std::size_t flush_slice)
    : ex_(std::move(ex)),
      sweep_budget_(sweep_budget == 0 ? 1 : sweep_budget),
      flush_slice_(flush_slice == 0 ? 1 : flush_slice) {}

void dispatcher::watch_room(std::shared_ptr<const std::atomic<bool>> waiting,
                            std::weak_ptr<room_listener> listener) {
  waiting_ = std::move(waiting);
  listener_ = std::move(listener);
}

bool dispatcher::enqueue(frame_ptr f) {
  std::lock_guard lk(mu_);
  queue_.push_back(std::move(f));
  const std::size_t depth = backlog_.fetch_add(1, std::memory_order_seq_cst) + 1;
  if (depth > peak_.load(std::memory_order_relaxed)) peak_.store(depth, std::memory_order_relaxed);
  if (scheduled_) return false;
  scheduled_ = true;
  return true;
}

bool dispatcher::enqueue(std::vector<frame_ptr>& frames) {
  if (frames.empty()) return false;
  std::lock_guard lk(mu_);
  for (auto& f : frames) queue_.push_back(std::move(f));
  const std::size_t depth =
      backlog_.fetch_add(frames.size(), std::memory_order_seq_cst) + frames.size();
  frames.clear();
  if (depth > peak_.load(std::memory_order_relaxed)) peak_.store(depth, std::memory_order_relaxed);
  if (scheduled_) return false;
  scheduled_ = true;
  return true;
}

void dispatcher::schedule() {
  boost::asio::post(ex_, [w = weak_from_this()] {
    if (auto self = w.lock()) self->run();  // else the hub is gone
  });
}

void dispatcher::forget(subscriber& sub) {
  auto& pos = flush_pos(sub);
  if (pos == 0) return;
  dirty_[static_cast<std::size_t>(pos - 1 - dirty_base_)] = nullptr;
  pos = 0;
}

// Appends sub to the flush list unless a flush of it is already due.
void dispatcher::mark_dirty(subscriber& sub) {
  auto& pos = flush_pos(sub);
  if (pos != 0) return;
  dirty_.push_back(&sub);
  pos = dirty_base_ + dirty_.size();
}

// Delivers queued frames to this shard's subscribers, at most sweep_budget deliveries.
// Returns true when frames are left for the next run.
bool dispatcher::sweep() {
  std::size_t budget = sweep_budget_;
  for (;;) {
    if (!current_) {
      if (pending_.empty()) {
        std::lock_guard lk(mu_);
        if (queue_.empty()) return false;
        pending_.swap(queue_);
      }
      current_ = std::move(pending_.front());
      pending_.pop_front();
      cursor_ = 0;
      if (current_->topic.empty()) {
        // A notice for everyone here (hub::ingest: the bus lost events); rare, so unbudgeted.
        const frame_ptr f = std::move(current_);
        index_.for_each_subscriber([this, &f](subscriber& sub) {
          mark_dirty(sub);
          guarded("deliver", [&] { sub.deliver(f); });
        });
        ++swept_;
        if (budget == 0 || --budget == 0) return true;
        continue;
      }
      index_.pin(current_->topic);
    }
    const frame_ptr f = current_;
    // Marked before deliver(): should a subscriber leave inside it, leaving unmarks it.
    // seq 0 (hub::publish_local in cluster mode) has no position: it is for everyone here.
    const std::uint64_t pos = f->seq == 0 ? UINT64_MAX : f->seq;
    const std::size_t next = index_.sweep(f->topic, pos, cursor_, budget,
                                          [this, &f](subscriber& sub) {
                                            mark_dirty(sub);
                                            guarded("deliver", [&] { sub.deliver(f); });
                                          });
    if (next != topic_index::npos) {
      cursor_ = next;
      return true;
    }
    index_.unpin(f->topic);
    current_.reset();
    ++swept_;
    // Each frame costs at least one unit, so a burst for topics nobody here follows yields too.
    if (budget == 0 || --budget == 0) return true;
  }
}

// One slice of the current flush round (a round starts with the subscribers marked so far and
// the events swept so far). When the round ends, its events leave the backlog: they are
// written (or queued behind a short write) on every subscriber here.
void dispatcher::flush_slice() {
  if (!in_round_) {
    if (swept_ == 0 && dirty_.empty()) return;
    in_round_ = true;
    round_end_ = dirty_.size();
    round_events_ = swept_;
    swept_ = 0;
  }
  for (std::size_t n = flush_slice_; flush_next_ < round_end_ && n > 0;) {
    subscriber* sub = dirty_[flush_next_];
    dirty_[flush_next_++] = nullptr;
    if (!sub) continue;  // it left the hub
    flush_pos(*sub) = 0;
    --n;
    guarded("flush", [sub] { sub->flush(); });
  }
  if (flush_next_ < round_end_) return;
  dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<std::ptrdiff_t>(round_end_));
  dirty_base_ += round_end_;
  flush_next_ = round_end_ = 0;
  in_round_ = false;
  if (round_events_ > 0) {
    backlog_.fetch_sub(round_events_, std::memory_order_seq_cst);
    round_events_ = 0;
    if (waiting_ && waiting_->load(std::memory_order_seq_cst)) {
      if (auto l = listener_.lock()) l->on_room();
    }
  }
}

void dispatcher::run() {
  // Deliveries and flushes are guarded one by one; this is the last line: whatever else
  // throws drops the frame being swept, and the handler goes on (it must re-post itself or
  // clear "scheduled", else this shard would never deliver again).
  bool more_frames = true;
  try {
    more_frames = sweep();
  } catch (const std::exception& e) {
    log_handler_failure("sweep", e.what());
    if (current_) {
      index_.unpin(current_->topic);
      current_.reset();
      ++swept_;
    }
  }
  try {
    flush_slice();
  } catch (const std::exception& e) {
    log_handler_failure("flush round", e.what());
  }
  if (!more_frames && !in_round_ && swept_ == 0 && dirty_.empty()) {
    std::lock_guard lk(mu_);
    if (queue_.empty()) {
      scheduled_ = false;
      return;
    }
  }
  schedule();
}

}  // namespace rushcast::hub
