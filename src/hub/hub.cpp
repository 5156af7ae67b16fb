// The hub: orders every event, keeps history, and fans frames out through per-shard dispatchers.
//
// Ordering. publish() holds the hub mutex while it assigns the seq, appends the frame to the
// history, encodes it once, and appends it to the dispatcher queue of every shard that has
// subscribers of the topic. Every shard queue therefore holds frames in seq order, and a
// shard's handler delivers them in that order. A handler is posted only on a queue's
// empty -> non-empty transition (one post per burst); it makes at most sweep_budget deliveries
// per run and then re-posts itself so the shard's reads and publishes get in. The budget is
// large on purpose: a delivery only queues a shared frame (~tens of ns), while the socket
// writes run later in the sessions' own handlers. With a small budget (256 was measured) each
// subscriber's flush ran between two frames and wrote one event per syscall; with a budget well
// above the subscriber count, a flush finds many frames queued and gathers them into one write
// (docs/BENCHMARKS.md, "sweep budget").
// It resumes at the same position of the same frame's subscriber list: the topic stays pinned
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
// A repeated unsubscribe_all (destructor after close path) is a no-op on any thread: the
// subscriber's hub_topics_ count is 0 then and the index is not touched.
// No lock is held while subscriber::deliver or a snapshot source runs.
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
#include <boost/assert.hpp>
#include <nlohmann/json.hpp>

#include "rushcast/hub/history.hpp"
#include "rushcast/hub/topic_index.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::hub {
namespace {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct shard_state {
  boost::asio::any_io_executor ex;
  std::size_t sweep_budget = hub::default_sweep_budget;

  // Dispatcher: publish() pushes under mu; the shard thread swaps the queue out.
  std::mutex mu;
  std::deque<frame_ptr> queue;
  bool scheduled = false;  // a run_shard is posted or running

  // Shard thread only.
  topic_index index;
  std::deque<frame_ptr> pending;
  frame_ptr current;        // frame whose sweep is in progress (its topic is pinned)
  std::size_t cursor = 0;
};

void run_shard(const std::weak_ptr<shard_state>& weak);

void post_run(const std::shared_ptr<shard_state>& s) {
  boost::asio::post(s->ex, [w = std::weak_ptr<shard_state>(s)] { run_shard(w); });
}

void run_shard(const std::weak_ptr<shard_state>& weak) {
  auto s = weak.lock();
  if (!s) return;  // the hub is gone
  std::size_t budget = s->sweep_budget;
  for (;;) {
    if (!s->current) {
      if (s->pending.empty()) {
        std::lock_guard lk(s->mu);
        if (s->queue.empty()) {
          s->scheduled = false;
          return;
        }
        s->pending.swap(s->queue);
      }
      s->current = std::move(s->pending.front());
      s->pending.pop_front();
      s->cursor = 0;
      s->index.pin(s->current->topic);
    }
    const frame_ptr f = s->current;
    const std::size_t next = s->index.sweep(f->topic, f->seq, s->cursor, budget,
                                            [&f](subscriber& sub) { sub.deliver(f); });
    if (next != topic_index::npos) {
      s->cursor = next;
      post_run(s);
      return;
    }
    s->index.unpin(f->topic);
    s->current.reset();
    // Each frame costs at least one unit, so a burst for topics nobody here follows yields too.
    if (budget == 0 || --budget == 0) {
      post_run(s);
      return;
    }
  }
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

struct hub::impl {
  impl(config::history_cfg cfg, std::string ep)
      : epoch(ep), hist(cfg, std::move(ep), steady_ms) {}

  std::string epoch;
  std::vector<std::shared_ptr<shard_state>> shards;

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

  // Caller holds mu, on the shard thread of shard_no.
  void release(const std::string& topic, std::size_t shard_no) {
    auto it = subscribed.find(topic);
    if (it == subscribed.end()) return;
    if (it->second[shard_no] > 0) --it->second[shard_no];
    for (auto n : it->second)
      if (n > 0) return;
    subscribed.erase(it);
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
         std::string epoch, std::size_t sweep_budget)
    : impl_(std::make_unique<impl>(history, std::move(epoch))) {
  if (shard_executors.empty()) throw std::invalid_argument("hub: at least one shard executor");
  for (auto& ex : shard_executors) {
    auto s = std::make_shared<shard_state>();
    s->ex = std::move(ex);
    s->sweep_budget = sweep_budget == 0 ? 1 : sweep_budget;
    impl_->shards.push_back(std::move(s));
  }
}

hub::~hub() = default;

publish_result hub::publish(std::string_view topic, std::string_view name,
                            std::string_view data_json, bool state) {
  thread_local std::vector<std::shared_ptr<shard_state>> to_post;
  to_post.clear();
  publish_result r;
  {
    std::lock_guard lk(impl_->mu);
    r.seq = ++impl_->seq;
    r.id = impl_->hist.make_id(r.seq);
    auto f = make_frame(r.id, r.seq, topic, name, data_json, state);
    impl_->hist.append(f);
    impl_->last_seq.store(r.seq, std::memory_order_release);
    if (auto it = impl_->subscribed.find(topic); it != impl_->subscribed.end()) {
      for (std::size_t i = 0; i < it->second.size(); ++i) {
        if (it->second[i] == 0) continue;
        auto& s = impl_->shards[i];
        std::lock_guard qlk(s->mu);
        s->queue.push_back(f);
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
  if (impl_->metrics) impl_->metrics->events_published.fetch_add(1, std::memory_order_relaxed);
  return r;
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
  for (const auto& topic : wanted) {
    for (auto& ev : impl_->snapshot_of(topic, t))
      r.snapshot.push_back(make_frame("", 0, topic, ev.name, ev.data_json, false));
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
  if (sub.hub_topics_.load(std::memory_order_acquire) == 0) return;
  const std::size_t shard_no = sub.shard();
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

}  // namespace rushcast::hub
