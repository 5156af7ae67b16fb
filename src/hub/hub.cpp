// The hub: orders every event, keeps history, and fans frames out through per-shard dispatchers.
//
// Ordering. publish() holds the hub mutex while it assigns the seq, appends the frame to the
// history, encodes it once, and appends it to the dispatcher queue of every shard that has
// subscribers of the topic. Every shard queue therefore holds frames in seq order, and a
// shard's handler delivers them in that order. A handler is posted only on a queue's
// empty -> non-empty transition (one post per burst).
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
// A sweep cut short by its budget resumes at the same position of the same frame's subscriber list: the topic stays pinned
// in the topic_index meanwhile (removals become tombstones, additions append), so a resumed
// sweep neither skips nor repeats anyone.
//
// No duplicate, no gap. subscribe() runs on the subscriber's shard thread and, under the same
// hub mutex, records start_seq = last assigned seq + 1 for each new topic entry, raises the
// topic's shard count (so publish enqueues to this shard from start_seq on) and computes the
// replay from history (seq <= last assigned). Frames with seq < start_seq still sitting in the
// shard queue are skipped by the sweep; frames with seq >= start_seq are all enqueued and
// delivered live. Replay and live thus partition the stream at start_seq.
//
// Subscriber lifetime: the index stores raw subscriber pointers. Contract with sessions:
// unsubscribe_all(sub) is called on sub's shard thread (close path or destructor) before sub is
// destroyed; the index is only read on that same thread, so no sweep can see a dead pointer.
// The flush list holds raw pointers too: unsubscribe_all also clears sub's entry there (its
// position is kept in the subscriber, so no search).
// A repeated unsubscribe_all (destructor after close path) is a no-op on any thread: the
// subscriber's hub_topics_ count is 0 then and the index is not touched.
// No lock is held while subscriber::deliver or a snapshot source runs.
//
// Backlog. Each shard counts the events posted to it and not yet delivered and flushed to all
// its subscribers: +1 in publish() under the shard mutex, -N when the flush round that began
// after their sweep ends (so a shard never acknowledges much faster than it writes).
// publish() ignores the count (engines must never wait or lose an event); publish_bounded(),
// the external publish API's entry, publishes only while every shard is below max_backlog.
// Otherwise the event waits in a FIFO (gate) until a round brings every shard below the bound
// again, or until max_wait expires (a timer on shard 0; nothing is published then).
// So an HTTP publisher's answer, and with it its next request on a keep-alive connection,
// waits for the fan-out instead of running thousands of events ahead of it.
// The hot path pays one atomic add per event and shard, one subtract and one load of the
// gate's "waiting" flag per round; the gate's mutex is taken only while someone waits.
// No lost wake-up: a waiter sets "waiting" and then re-checks the backlog; a round lowers the
// backlog and then reads "waiting" (both sequentially consistent), so one of them admits.
// Why 256 by default: the bound must leave a sweep many frames to deliver before the
// sessions' flushes run, or each flush gathers few frames per write (see default_sweep_budget
// and docs/BENCHMARKS.md); a flush gathers at most 64 frames, and 256 keeps S1's throughput
// while capping how far publishers run ahead (docs/CONFIG.md, limits.max_publish_backlog).
#include "rushcast/hub/hub.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/assert.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/core/errc.hpp"
#include "rushcast/hub/history.hpp"
#include "rushcast/hub/topic_index.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::hub {

// The shard thread's view of a subscriber's place in its flush list.
struct flush_mark {
  static std::uint64_t& pos(subscriber& sub) { return sub.hub_flush_pos_; }
};

namespace {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// Called by a shard's sweep when it lowered its backlog while bounded publishes wait.
using room_fn = void (*)(const std::shared_ptr<void>& owner);

struct shard_state {
  boost::asio::any_io_executor ex;
  std::size_t sweep_budget = hub::default_sweep_budget;

  // Backlog: events posted here and not yet swept (written under mu or on the shard thread,
  // read anywhere). peak is written under mu only.
  std::atomic<std::size_t> backlog{0};
  std::atomic<std::size_t> peak{0};
  // Shared by every shard: set while a bounded publish waits (see "No lost wake-up").
  std::shared_ptr<std::atomic<bool>> waiting;
  std::weak_ptr<void> owner;  // the hub's impl, locked only while waiting
  room_fn on_room = nullptr;

  // Dispatcher: publish() pushes under mu; the shard thread swaps the queue out.
  std::mutex mu;
  std::deque<frame_ptr> queue;
  bool scheduled = false;  // a run_shard is posted or running

  // Shard thread only.
  topic_index index;
  std::deque<frame_ptr> pending;
  frame_ptr current;        // frame whose sweep is in progress (its topic is pinned)
  std::size_t cursor = 0;

  // Flush rounds. dirty: subscribers that got frames since their last flush, in the order
  // they got them; dirty[i] is at absolute position dirty_base + i; nullptr = left the hub.
  // A round flushes dirty[flush_next, round_end), flush_slice per run.
  std::size_t flush_slice = hub::default_flush_slice;
  std::vector<subscriber*> dirty;
  std::uint64_t dirty_base = 0;
  std::size_t flush_next = 0;
  std::size_t round_end = 0;
  bool in_round = false;
  std::size_t round_events = 0;  // events swept before the round began: out of the backlog at its end
  std::size_t swept = 0;         // events swept since (counted by the next round)
};

void run_shard(const std::weak_ptr<shard_state>& weak);

// A subscriber or snapshot source that throws must cost one event, never a topic's delivery:
// the caller catches at its boundary and logs here, at most one line a second (a client that
// makes every delivery throw must not flood the log), with the count of those not logged.
void log_handler_failure(const char* where, const char* what) noexcept {
  static std::atomic<std::int64_t> next_log_ms{0};
  static std::atomic<std::uint64_t> suppressed{0};
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  auto due = next_log_ms.load(std::memory_order_relaxed);
  if (now < due || !next_log_ms.compare_exchange_strong(due, now + 1000)) {
    suppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  try {
    spdlog::error("hub: {} threw, event dropped for it: {} ({} more not logged)", where, what,
                  suppressed.exchange(0, std::memory_order_relaxed));
  } catch (...) {
  }
}

template <class F>
void guarded(const char* where, F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    log_handler_failure(where, e.what());
  } catch (...) {
    log_handler_failure(where, "unknown exception");
  }
}

void post_run(const std::shared_ptr<shard_state>& s) {
  boost::asio::post(s->ex, [w = std::weak_ptr<shard_state>(s)] { run_shard(w); });
}

// Appends sub to the flush list unless a flush of it is already due.
void mark_dirty(shard_state& s, subscriber& sub) {
  auto& pos = flush_mark::pos(sub);
  if (pos != 0) return;
  s.dirty.push_back(&sub);
  pos = s.dirty_base + s.dirty.size();
}

// Delivers queued frames to this shard's subscribers, at most sweep_budget deliveries.
// Returns true when frames are left for the next run.
bool sweep(shard_state& s) {
  std::size_t budget = s.sweep_budget;
  for (;;) {
    if (!s.current) {
      if (s.pending.empty()) {
        std::lock_guard lk(s.mu);
        if (s.queue.empty()) return false;
        s.pending.swap(s.queue);
      }
      s.current = std::move(s.pending.front());
      s.pending.pop_front();
      s.cursor = 0;
      s.index.pin(s.current->topic);
    }
    const frame_ptr f = s.current;
    // Marked before deliver(): should a subscriber leave inside it, leaving unmarks it.
    const std::size_t next = s.index.sweep(f->topic, f->seq, s.cursor, budget,
                                           [&s, &f](subscriber& sub) {
                                             mark_dirty(s, sub);
                                             guarded("deliver", [&] { sub.deliver(f); });
                                           });
    if (next != topic_index::npos) {
      s.cursor = next;
      return true;
    }
    s.index.unpin(f->topic);
    s.current.reset();
    ++s.swept;
    // Each frame costs at least one unit, so a burst for topics nobody here follows yields too.
    if (budget == 0 || --budget == 0) return true;
  }
}

// One slice of the current flush round (a round starts with the subscribers marked so far and
// the events swept so far). When the round ends, its events leave the backlog: they are
// written (or queued behind a short write) on every subscriber here.
void flush_slice(shard_state& s) {
  if (!s.in_round) {
    if (s.swept == 0 && s.dirty.empty()) return;
    s.in_round = true;
    s.round_end = s.dirty.size();
    s.round_events = s.swept;
    s.swept = 0;
  }
  for (std::size_t n = s.flush_slice; s.flush_next < s.round_end && n > 0;) {
    subscriber* sub = s.dirty[s.flush_next];
    s.dirty[s.flush_next++] = nullptr;
    if (!sub) continue;  // it left the hub
    flush_mark::pos(*sub) = 0;
    --n;
    guarded("flush", [sub] { sub->flush(); });
  }
  if (s.flush_next < s.round_end) return;
  s.dirty.erase(s.dirty.begin(), s.dirty.begin() + static_cast<std::ptrdiff_t>(s.round_end));
  s.dirty_base += s.round_end;
  s.flush_next = s.round_end = 0;
  s.in_round = false;
  if (s.round_events > 0) {
    s.backlog.fetch_sub(s.round_events, std::memory_order_seq_cst);
    s.round_events = 0;
    if (s.waiting->load(std::memory_order_seq_cst)) {
      if (auto owner = s.owner.lock()) s.on_room(owner);
    }
  }
}

void run_shard(const std::weak_ptr<shard_state>& weak) {
  auto s = weak.lock();
  if (!s) return;  // the hub is gone
  // Deliveries and flushes are guarded one by one; this is the last line: whatever else
  // throws drops the frame being swept, and the handler goes on (it must re-post itself or
  // clear "scheduled", else this shard would never deliver again).
  bool more_frames = true;
  try {
    more_frames = sweep(*s);
  } catch (const std::exception& e) {
    log_handler_failure("sweep", e.what());
    if (s->current) {
      s->index.unpin(s->current->topic);
      s->current.reset();
      ++s->swept;
    }
  }
  try {
    flush_slice(*s);
  } catch (const std::exception& e) {
    log_handler_failure("flush round", e.what());
  }
  if (!more_frames && !s->in_round && s->swept == 0 && s->dirty.empty()) {
    std::lock_guard lk(s->mu);
    if (s->queue.empty()) {
      s->scheduled = false;
      return;
    }
  }
  post_run(s);
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

frame_ptr make_resync_frame(const std::string& reason) {
  return make_frame("", 0, "", "resync", nlohmann::json{{"reason", reason}}.dump(), false);
}

}  // namespace

// A bounded publish waiting for room; its timer runs on shard 0's executor.
struct bounded_waiter {
  bounded_waiter(boost::asio::any_io_executor ex, std::string t, std::string n, std::string d,
                 bounded_publish_handler h)
      : timer(std::move(ex)),
        topic(std::move(t)),
        name(std::move(n)),
        data(std::move(d)),
        done(std::move(h)) {}
  boost::asio::steady_timer timer;
  std::string topic, name, data;
  bounded_publish_handler done;
};
using waiter_ptr = std::shared_ptr<bounded_waiter>;

struct hub::impl {
  impl(config::history_cfg cfg, std::string ep)
      : epoch(ep), hist(cfg, std::move(ep), steady_ms) {}

  std::string epoch;
  std::vector<std::shared_ptr<shard_state>> shards;
  std::size_t max_backlog = hub::default_max_backlog;

  // Gate of bounded publishes. Lock order: gate_mu, then mu, then a shard's mu.
  std::shared_ptr<std::atomic<bool>> waiting = std::make_shared<std::atomic<bool>>(false);
  mutable std::mutex gate_mu;
  std::deque<waiter_ptr> waiters;
  bool gate_closed = false;

  mutable std::mutex mu;  // orders publishes; guards hist, seq, subscribed
  history hist;
  std::uint64_t seq = 0;
  std::atomic<std::uint64_t> last_seq{0};
  // topic -> live subscriptions per shard; publish enqueues only where the count is > 0.
  std::unordered_map<std::string, std::vector<std::uint32_t>, string_hash, std::equal_to<>>
      subscribed;

  std::mutex snap_mu;
  std::unordered_map<std::string, snapshot_fn> snapshots;
  std::map<std::string, snapshot_prefix_fn> prefixes;

  obs::metrics* metrics = nullptr;

  publish_result publish(std::string_view topic, std::string_view name,
                         std::string_view data_json, bool state);

  bool backlog_full() const {
    for (const auto& s : shards)
      if (s->backlog.load(std::memory_order_seq_cst) >= max_backlog) return true;
    return false;
  }

  // Any thread, no lock held. Publishes waiting events, oldest first, while every shard is
  // below the bound; answers them outside the lock.
  void admit() {
    thread_local std::vector<std::pair<waiter_ptr, publish_result>> admitted;
    admitted.clear();
    {
      std::lock_guard lk(gate_mu);
      while (!waiters.empty() && !backlog_full()) {
        waiter_ptr w = std::move(waiters.front());
        waiters.pop_front();
        auto r = publish(w->topic, w->name, w->data, false);
        admitted.emplace_back(std::move(w), std::move(r));
      }
      if (waiters.empty()) waiting->store(false, std::memory_order_seq_cst);
    }
    for (auto& [w, r] : admitted) finish(w, std::move(r));
    admitted.clear();
  }

  // Cancels w's timer on its own executor (a timer is not thread-safe) and answers.
  static void finish(const waiter_ptr& w, boost::system::result<publish_result> r) {
    boost::asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
    auto done = std::move(w->done);
    done(std::move(r));
  }

  // On the timer's executor: max_wait passed. The waiter may have been admitted meanwhile.
  void expire(const waiter_ptr& w) {
    {
      std::lock_guard lk(gate_mu);
      auto it = std::find(waiters.begin(), waiters.end(), w);
      if (it == waiters.end()) return;
      waiters.erase(it);
      if (waiters.empty()) waiting->store(false, std::memory_order_seq_cst);
    }
    if (metrics) metrics->publishes_rejected.fetch_add(1, std::memory_order_relaxed);
    auto done = std::move(w->done);
    done(make_error_code(errc::over_capacity));
  }

  // Caller holds mu, on the shard thread of shard_no.
  void release(const std::string& topic, std::size_t shard_no) {
    auto it = subscribed.find(topic);
    if (it == subscribed.end()) return;
    if (it->second[shard_no] > 0) --it->second[shard_no];
    for (auto n : it->second)
      if (n > 0) return;
    subscribed.erase(it);
    hist.release(topic);
  }

  std::vector<snapshot_event> snapshot_of(const std::string& topic, transport t) {
    snapshot_fn exact;
    snapshot_prefix_fn by_prefix;
    {
      std::lock_guard lk(snap_mu);
      if (auto it = snapshots.find(topic); it != snapshots.end()) {
        exact = it->second;
      } else {
        std::size_t best = 0;
        for (const auto& [prefix, fn] : prefixes) {
          if (topic.starts_with(prefix) && (prefix.size() > best || !by_prefix)) {
            best = prefix.size();
            by_prefix = fn;
          }
        }
      }
    }
    if (exact) return exact(t);
    if (by_prefix) return by_prefix(topic, t);
    return {};
  }
};

hub::hub(std::vector<boost::asio::any_io_executor> shard_executors, config::history_cfg history,
         std::string epoch, std::size_t sweep_budget, std::size_t max_backlog,
         std::size_t flush_slice)
    : impl_(std::make_shared<impl>(history, std::move(epoch))) {
  if (shard_executors.empty()) throw std::invalid_argument("hub: at least one shard executor");
  impl_->max_backlog = max_backlog == 0 ? 1 : max_backlog;
  for (auto& ex : shard_executors) {
    auto s = std::make_shared<shard_state>();
    s->ex = std::move(ex);
    s->sweep_budget = sweep_budget == 0 ? 1 : sweep_budget;
    s->flush_slice = flush_slice == 0 ? 1 : flush_slice;
    s->waiting = impl_->waiting;
    s->owner = std::static_pointer_cast<void>(impl_);
    s->on_room = [](const std::shared_ptr<void>& owner) {
      static_cast<impl*>(owner.get())->admit();
    };
    impl_->shards.push_back(std::move(s));
  }
}

// Waiting publishes are refused here; their timers need the shard executors, so app/server
// calls close_bounded() before it destroys the io_contexts (tests destroy the hub first).
hub::~hub() { close_bounded(); }

publish_result hub::impl::publish(std::string_view topic, std::string_view name,
                                  std::string_view data_json, bool state) {
  thread_local std::vector<std::shared_ptr<shard_state>> to_post;
  to_post.clear();
  publish_result r;
  {
    std::lock_guard lk(mu);
    r.seq = ++seq;
    r.id = hist.make_id(r.seq);
    auto f = make_frame(r.id, r.seq, topic, name, data_json, state);
    hist.append(f);
    last_seq.store(r.seq, std::memory_order_release);
    if (auto it = subscribed.find(topic); it != subscribed.end()) {
      for (std::size_t i = 0; i < it->second.size(); ++i) {
        if (it->second[i] == 0) continue;
        auto& s = shards[i];
        std::lock_guard qlk(s->mu);
        s->queue.push_back(f);
        const std::size_t depth = s->backlog.fetch_add(1, std::memory_order_seq_cst) + 1;
        if (depth > s->peak.load(std::memory_order_relaxed))
          s->peak.store(depth, std::memory_order_relaxed);
        if (!s->scheduled) {
          s->scheduled = true;
          to_post.push_back(s);
        }
      }
    }
  }
  // Outside the mutex: the queues already hold the frames in order; the handler drains them.
  for (auto& s : to_post) post_run(s);
  to_post.clear();
  if (metrics) metrics->events_published.fetch_add(1, std::memory_order_relaxed);
  return r;
}

publish_result hub::publish(std::string_view topic, std::string_view name,
                            std::string_view data_json, bool state) {
  return impl_->publish(topic, name, data_json, state);
}

void hub::publish_bounded(std::string topic, std::string name, std::string data_json,
                          std::chrono::milliseconds max_wait, bounded_publish_handler done) {
  auto& im = *impl_;
  if (!im.waiting->load(std::memory_order_seq_cst) && !im.backlog_full()) {
    done(im.publish(topic, name, data_json, false));
    return;
  }
  if (max_wait <= std::chrono::milliseconds::zero()) {
    // Configured not to wait: refused at once, nothing published.
    if (im.metrics) im.metrics->publishes_rejected.fetch_add(1, std::memory_order_relaxed);
    done(make_error_code(errc::over_capacity));
    return;
  }
  // Timers on shard 0, like the engines' strands: at most one per waiting HTTP request.
  auto w = std::make_shared<bounded_waiter>(im.shards.front()->ex, std::move(topic), std::move(name),
                                            std::move(data_json), std::move(done));
  {
    std::lock_guard lk(im.gate_mu);
    if (im.gate_closed) {
      auto d = std::move(w->done);
      d(make_error_code(errc::unavailable));
      return;
    }
    // Armed before the waiter is visible: only its expiry or finish() touch it afterwards.
    w->timer.expires_after(max_wait);
    w->timer.async_wait([w, weak = std::weak_ptr<impl>(impl_)](boost::system::error_code ec) {
      if (ec) return;  // cancelled: admitted or closed
      if (auto owner = weak.lock()) owner->expire(w);
    });
    im.waiters.push_back(w);
    im.waiting->store(true, std::memory_order_seq_cst);
  }
  if (im.metrics) im.metrics->publishes_deferred.fetch_add(1, std::memory_order_relaxed);
  // The sweep may have made room before it could see "waiting".
  im.admit();
}

void hub::close_bounded() {
  std::deque<waiter_ptr> refused;
  {
    std::lock_guard lk(impl_->gate_mu);
    impl_->gate_closed = true;
    refused.swap(impl_->waiters);
    impl_->waiting->store(false, std::memory_order_seq_cst);
  }
  if (impl_->metrics && !refused.empty())
    impl_->metrics->publishes_rejected.fetch_add(refused.size(), std::memory_order_relaxed);
  for (auto& w : refused) impl::finish(w, make_error_code(errc::unavailable));
}

void hub::refresh_gauges() const {
  auto* m = impl_->metrics;
  if (!m) return;
  refresh_topic_gauges();
  for (std::size_t i = 0; i < impl_->shards.size(); ++i) {
    const std::string label = "shard=\"" + std::to_string(i) + "\"";
    m->set_gauge("rushcast_publish_backlog", label, static_cast<std::int64_t>(backlog(i)));
    m->set_gauge("rushcast_publish_backlog_peak", label,
                 static_cast<std::int64_t>(backlog_peak(i)));
  }
  m->set_gauge("rushcast_publish_backlog_limit", "",
               static_cast<std::int64_t>(impl_->max_backlog));
  m->set_gauge("rushcast_publishes_waiting", "", static_cast<std::int64_t>(waiting_publishes()));
}

std::size_t hub::backlog(std::size_t shard_no) const {
  return shard_no < impl_->shards.size()
             ? impl_->shards[shard_no]->backlog.load(std::memory_order_relaxed)
             : 0;
}

std::size_t hub::backlog_peak(std::size_t shard_no) const {
  return shard_no < impl_->shards.size()
             ? impl_->shards[shard_no]->peak.load(std::memory_order_relaxed)
             : 0;
}

std::size_t hub::max_backlog() const { return impl_->max_backlog; }

std::size_t hub::shard_count() const { return impl_->shards.size(); }

std::size_t hub::waiting_publishes() const {
  std::lock_guard lk(impl_->gate_mu);
  return impl_->waiters.size();
}

subscribe_result hub::subscribe(const std::shared_ptr<subscriber>& sub,
                                const std::vector<std::string>& topics,
                                const std::optional<std::string>& last_event_id, transport t) {
  subscribe_result r;
  if (!sub) return r;
  const std::size_t shard_no = sub->shard();
  BOOST_ASSERT(shard_no < impl_->shards.size());
  if (shard_no >= impl_->shards.size()) return r;
  auto& s = *impl_->shards[shard_no];

  std::vector<std::string> wanted;
  for (const auto& topic : topics)
    if (!topic.empty() && std::find(wanted.begin(), wanted.end(), topic) == wanted.end())
      wanted.push_back(topic);

  std::vector<std::string> fresh;  // topics sub was not subscribed to yet
  {
    std::lock_guard lk(impl_->mu);
    const std::uint64_t start_seq = impl_->seq + 1;
    for (const auto& topic : wanted) {
      if (!s.index.add(topic, sub.get(), start_seq)) continue;
      fresh.push_back(topic);
      sub->hub_topics_.fetch_add(1, std::memory_order_relaxed);
      auto& counts = impl_->subscribed[topic];
      if (counts.empty()) counts.resize(impl_->shards.size(), 0);
      ++counts[shard_no];
    }
    // A topic already subscribed is being delivered live: replaying it would duplicate.
    if (last_event_id && !last_event_id->empty() && !fresh.empty()) {
      auto h = impl_->hist.since(fresh, *last_event_id);
      r.resync = h.resync;
      r.resync_reason = std::move(h.reason);
      r.replay = std::move(h.frames);
    }
  }
  if (r.resync) r.resync_frame = make_resync_frame(r.resync_reason);

  // After registration: a change racing with this subscribe is in the snapshot or live.
  // A snapshot source that throws costs that topic its snapshot, not the subscription.
  for (const auto& topic : wanted) {
    guarded("snapshot source", [&] {
      for (auto& ev : impl_->snapshot_of(topic, t))
        r.snapshot.push_back(make_frame("", 0, topic, ev.name, ev.data_json, false));
    });
  }
  return r;
}

void hub::unsubscribe(subscriber& sub, const std::vector<std::string>& topics) {
  const std::size_t shard_no = sub.shard();
  BOOST_ASSERT(shard_no < impl_->shards.size());
  if (shard_no >= impl_->shards.size()) return;
  auto& s = *impl_->shards[shard_no];
  std::lock_guard lk(impl_->mu);
  for (const auto& topic : topics) {
    if (!s.index.remove(topic, &sub)) continue;
    sub.hub_topics_.fetch_sub(1, std::memory_order_release);
    impl_->release(topic, shard_no);
  }
}

void hub::unsubscribe_all(subscriber& sub) {
  const std::size_t shard_no = sub.shard();
  // Set only by this shard's sweep, for a subscribed sub: 0 here for a repeated call.
  if (sub.hub_flush_pos_ != 0 && shard_no < impl_->shards.size()) {
    auto& s = *impl_->shards[shard_no];
    s.dirty[static_cast<std::size_t>(sub.hub_flush_pos_ - 1 - s.dirty_base)] = nullptr;
    sub.hub_flush_pos_ = 0;
  }
  if (sub.hub_topics_.load(std::memory_order_acquire) == 0) return;
  if (shard_no >= impl_->shards.size()) return;
  auto topics = impl_->shards[shard_no]->index.topics_of(&sub);
  if (!topics.empty()) unsubscribe(sub, topics);
}

subscribe_result hub::history_since(const std::vector<std::string>& topics,
                                    const std::optional<std::string>& last_event_id) {
  subscribe_result r;
  if (!last_event_id || last_event_id->empty()) return r;
  {
    std::lock_guard lk(impl_->mu);
    auto h = impl_->hist.since(topics, *last_event_id);
    r.resync = h.resync;
    r.resync_reason = std::move(h.reason);
    r.replay = std::move(h.frames);
  }
  if (r.resync) r.resync_frame = make_resync_frame(r.resync_reason);
  return r;
}

void hub::set_snapshot(std::string topic, snapshot_fn fn) {
  std::lock_guard lk(impl_->snap_mu);
  impl_->snapshots[std::move(topic)] = std::move(fn);
}

void hub::set_snapshot_prefix(std::string prefix, snapshot_prefix_fn fn) {
  std::lock_guard lk(impl_->snap_mu);
  impl_->prefixes[std::move(prefix)] = std::move(fn);
}

void hub::set_metrics(obs::metrics* m) { impl_->metrics = m; }

const std::string& hub::epoch() const { return impl_->epoch; }

std::uint64_t hub::last_seq() const { return impl_->last_seq.load(std::memory_order_acquire); }

std::size_t hub::topic_count() const {
  std::lock_guard lk(impl_->mu);
  return impl_->subscribed.size();
}

std::size_t hub::history_topic_count() const {
  std::lock_guard lk(impl_->mu);
  return impl_->hist.topic_count();
}

std::int64_t hub::clock_ms() { return steady_ms(); }

// Topics a user: buyer leaves behind are removed here, not on use: nobody may ever publish to
// or read them again. history::sweep walks topics by last append, so a call costs what it
// removes (plus the one topic still in use that stops it), not the number of topics.
hub::sweep_result hub::sweep_idle_topics(std::int64_t now_ms, std::size_t max_topics) {
  sweep_result r;
  auto& im = *impl_;
  std::lock_guard lk(im.mu);
  r.removed = im.hist.sweep(
      now_ms, max_topics,
      [&im](const std::string& topic) { return im.subscribed.find(topic) != im.subscribed.end(); },
      r.more);
  return r;
}

// The hub's part of /metrics: how many topics it holds, and how much history.
void hub::refresh_topic_gauges() const {
  auto* m = impl_->metrics;
  if (!m) return;
  std::size_t subscribed = 0, kept = 0, events = 0, removed = 0;
  {
    std::lock_guard lk(impl_->mu);
    subscribed = impl_->subscribed.size();
    kept = impl_->hist.topic_count();
    events = impl_->hist.event_count();
    removed = impl_->hist.removed_count();
  }
  m->set_gauge("rushcast_topics_subscribed", "", static_cast<std::int64_t>(subscribed));
  m->set_gauge("rushcast_history_topics", "", static_cast<std::int64_t>(kept));
  m->set_gauge("rushcast_history_events", "", static_cast<std::int64_t>(events));
  m->set_gauge("rushcast_topics_removed", "", static_cast<std::int64_t>(removed));
}

}  // namespace rushcast::hub
