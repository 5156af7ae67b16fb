// The hub: orders every event, keeps history, and hands frames to the per-shard dispatchers.
//
// Ordering. publish() holds the hub mutex while it assigns the seq, appends the frame to the
// history, encodes it once, and appends it to the dispatcher of every shard that has
// subscribers of the topic. Every shard queue therefore holds frames in seq order, and a
// shard's handler delivers them in that order. A handler is posted only on a queue's
// empty -> non-empty transition (one post per burst). Fan-out itself: dispatcher.cpp.
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
// unsubscribe_all also drops sub from its dispatcher's flush list.
// A repeated unsubscribe_all (destructor after close path) is a no-op on any thread: the
// subscriber's hub_topics_ count is 0 then and the index is not touched.
// No lock is held while subscriber::deliver or a snapshot source runs.
//
// Bounded publishes (POST /api/publish) go through the publish gate (publish_gate.cpp), which
// admits them into publish() below. Lock order: the gate's mutex, then mu, then a shard's.
//
// Cluster mode (set_bus). Publishes go to the bus; order comes from ingest(), which the bus
// reader calls with each batch it read. Ids carry the bus's epoch and seq. The hub's own seq
// (frame::seq, start_seq, history order) goes on increasing over epochs: an epoch starts at
// base = the hub's last seq, and its event n has seq base + n. So a new epoch changes neither
// the shards' indexes nor the history's order, only how ids are written and read
// (history::set_epoch). A batch is encoded outside mu (under ingest_mu, the only place that
// changes epoch and base), then ordered under mu in one go, and each shard gets its frames
// in one enqueue and at most one post. A notice for every subscriber (resync after a gap or a
// new epoch) is a frame with an empty topic in the shards' queues, in its place in the order.
#include "rushcast/hub/hub.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include <boost/assert.hpp>
#include <nlohmann/json.hpp>

#include "rushcast/hub/guarded.hpp"
#include "rushcast/hub/history.hpp"
#include "rushcast/hub/topic_index.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::hub {
namespace {

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

  std::string epoch;  // written under ingest_mu and mu
  std::vector<std::shared_ptr<dispatcher>> shards;
  // Shared with the shards, which hold it weakly: a round that makes room admits waiting
  // publishes, and must not outlive the gate.
  std::shared_ptr<publish_gate> gate;
  snapshot_registry snapshots;

  mutable std::mutex mu;  // orders publishes; guards hist, seq, subscribed
  history hist;
  std::uint64_t seq = 0;
  std::atomic<std::uint64_t> last_seq{0};
  // topic -> live subscriptions per shard; publish enqueues only where the count is > 0.
  std::unordered_map<std::string, std::vector<std::uint32_t>, core::string_hash,
                     std::equal_to<>>
      subscribed;

  obs::metrics* metrics = nullptr;

  // Cluster mode. bus and max_resume_ahead are set once before the first publish.
  std::shared_ptr<event_bus> bus;
  std::uint64_t max_resume_ahead = 0;
  std::mutex ingest_mu;        // one ingest at a time; guards base and bus_seq
  std::uint64_t base = 0;      // this epoch's event n has seq base + n
  std::uint64_t bus_seq = 0;   // the last bus seq of this epoch ingested (0: none yet)

  publish_result publish(std::string_view topic, std::string_view name,
                         std::string_view data_json, bool state);
  // Caller holds mu. Orders one event; a topic with subscribers gets it encoded and enqueued
  // (the shards to schedule are added to to_post), one without is kept unencoded: data_json
  // is moved from only then.
  publish_result publish_locked(std::string_view topic, std::string_view name,
                                std::string_view data_view, std::string* data_owned, bool state,
                                std::vector<std::shared_ptr<dispatcher>>& to_post);

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
};

hub::hub(std::vector<boost::asio::any_io_executor> shard_executors, config::history_cfg history,
         std::string epoch, std::size_t sweep_budget, std::size_t max_backlog,
         std::size_t flush_slice)
    : impl_(std::make_unique<impl>(history, std::move(epoch))) {
  if (shard_executors.empty()) throw std::invalid_argument("hub: at least one shard executor");
  for (auto& ex : shard_executors)
    impl_->shards.push_back(std::make_shared<dispatcher>(std::move(ex), sweep_budget, flush_slice));
  // The gate publishes into impl_ only while open; ~hub closes it before impl_ goes.
  impl_->gate = std::make_shared<publish_gate>(
      impl_->shards, max_backlog,
      [im = impl_.get()](std::string_view topic, std::string_view name, std::string_view data) {
        return im->publish(topic, name, data, false);
      });
  impl_->gate->attach();
}

// Waiting publishes are refused here; their timers need the shard executors, so app/server
// calls close_bounded() before it destroys the io_contexts (tests destroy the hub first).
hub::~hub() { close_bounded(); }

publish_result hub::impl::publish_locked(std::string_view topic, std::string_view name,
                                         std::string_view data_view, std::string* data_owned,
                                         bool state,
                                         std::vector<std::shared_ptr<dispatcher>>& to_post) {
  publish_result r;
  r.seq = ++seq;
  last_seq.store(r.seq, std::memory_order_release);
  auto it = subscribed.find(topic);
  bool listened = false;
  if (it != subscribed.end())
    for (auto n : it->second) listened = listened || n > 0;
  if (!listened) {
    // Most such events are never read: encoded only if a replay asks (history::frame_of).
    hist.append_unencoded(topic, r.seq, name,
                          data_owned ? std::move(*data_owned) : std::string(data_view), state);
    return r;
  }
  r.id = hist.make_id(r.seq);
  auto f = make_frame(r.id, r.seq, topic, name, data_view, state);
  hist.append(f);
  for (std::size_t i = 0; i < it->second.size(); ++i) {
    if (it->second[i] == 0) continue;
    if (shards[i]->enqueue(f) &&
        std::find(to_post.begin(), to_post.end(), shards[i]) == to_post.end())
      to_post.push_back(shards[i]);
  }
  return r;
}

publish_result hub::impl::publish(std::string_view topic, std::string_view name,
                                  std::string_view data_json, bool state) {
  thread_local std::vector<std::shared_ptr<dispatcher>> to_post;
  to_post.clear();
  publish_result r;
  {
    std::lock_guard lk(mu);
    r = publish_locked(topic, name, data_json, nullptr, state, to_post);
    if (r.id.empty()) r.id = hist.make_id(r.seq);
  }
  // Outside the mutex: the queues already hold the frames in order; the handler drains them.
  for (auto& s : to_post) s->schedule();
  to_post.clear();
  if (metrics) metrics->events_published.fetch_add(1, std::memory_order_relaxed);
  return r;
}

publish_result hub::publish(std::string_view topic, std::string_view name,
                            std::string_view data_json, bool state) {
  if (impl_->bus) {
    impl_->bus->publish(std::string(topic), std::string(name), std::string(data_json), state,
                        nullptr);
    return {};
  }
  return impl_->publish(topic, name, data_json, state);
}

void hub::publish_all(std::vector<owned_event>& events) {
  if (events.empty()) return;
  auto& im = *impl_;
  if (im.bus) {
    for (auto& e : events)
      im.bus->publish(std::move(e.topic), std::move(e.name), std::move(e.data_json), false,
                      nullptr);
    events.clear();
    return;
  }
  thread_local std::vector<std::shared_ptr<dispatcher>> to_post;
  to_post.clear();
  {
    std::lock_guard lk(im.mu);
    for (auto& e : events)
      im.publish_locked(e.topic, e.name, e.data_json, &e.data_json, false, to_post);
  }
  for (auto& s : to_post) s->schedule();
  to_post.clear();
  if (im.metrics) im.metrics->events_published.fetch_add(events.size(), std::memory_order_relaxed);
  events.clear();
}

void hub::publish_local(std::string_view topic, std::string_view name,
                        std::string_view data_json, bool state) {
  auto& im = *impl_;
  if (!im.bus) {
    im.publish(topic, name, data_json, state);
    return;
  }
  // seq 0: no position in the order, so every subscriber of the topic gets it (dispatcher).
  auto f = make_frame("", 0, topic, name, data_json, state);
  thread_local std::vector<std::shared_ptr<dispatcher>> to_post;
  to_post.clear();
  {
    std::lock_guard lk(im.mu);
    if (auto it = im.subscribed.find(topic); it != im.subscribed.end()) {
      for (std::size_t i = 0; i < it->second.size(); ++i)
        if (it->second[i] > 0 && im.shards[i]->enqueue(f)) to_post.push_back(im.shards[i]);
    }
  }
  for (auto& s : to_post) s->schedule();
  to_post.clear();
}

void hub::publish_bounded(std::string topic, std::string name, std::string data_json,
                          std::chrono::milliseconds max_wait, bounded_publish_handler done,
                          std::string idempotency_key) {
  if (impl_->bus) {
    if (!idempotency_key.empty())
      impl_->bus->publish_once(std::move(idempotency_key), std::move(topic), std::move(name),
                               std::move(data_json), std::move(done));
    else
      impl_->bus->publish(std::move(topic), std::move(name), std::move(data_json), false,
                          std::move(done));
    return;
  }
  if (impl_->gate->open()) {
    done(impl_->publish(topic, name, data_json, false));
    return;
  }
  impl_->gate->wait(std::move(topic), std::move(name), std::move(data_json), max_wait,
                    std::move(done));
}

void hub::close_bounded() { impl_->gate->close(); }

void hub::set_bus(std::shared_ptr<event_bus> bus, std::uint64_t max_resume_ahead) {
  impl_->bus = std::move(bus);
  impl_->max_resume_ahead = max_resume_ahead;
}

ingest_result hub::ingest(std::string_view epoch, std::span<const sequenced_event> events) {
  auto& im = *impl_;
  ingest_result r;
  std::lock_guard ilk(im.ingest_mu);
  // epoch, base and bus_seq change only here, so reading them under ingest_mu alone is safe.
  r.epoch_changed = epoch != im.epoch;
  const std::uint64_t base =
      r.epoch_changed ? im.last_seq.load(std::memory_order_acquire) : im.base;
  std::uint64_t bus_seq = r.epoch_changed ? 0 : im.bus_seq;

  struct staged {
    frame_ptr f;
    bool gap;  // events are missing before f
  };
  thread_local std::vector<staged> batch;
  batch.clear();
  std::string id(epoch);
  id += '-';
  const std::size_t prefix = id.size();
  for (const auto& ev : events) {
    if (ev.seq <= bus_seq) {
      ++r.duplicates;
      continue;
    }
    id.resize(prefix);
    id += std::to_string(ev.seq);
    batch.push_back(staged{make_frame(id, base + ev.seq, ev.topic, ev.name, ev.data_json, ev.state),
                           ev.seq != bus_seq + 1});
    bus_seq = ev.seq;
  }

  thread_local std::vector<std::vector<frame_ptr>> per_shard;
  thread_local std::vector<std::shared_ptr<dispatcher>> to_post;
  per_shard.resize(im.shards.size());
  to_post.clear();
  {
    std::lock_guard lk(im.mu);
    auto notify_all = [&](const char* reason) {
      auto f = make_resync_frame(reason);
      for (auto& q : per_shard) q.push_back(f);
    };
    bool first_of_epoch = false;
    if (r.epoch_changed) {
      // Live subscribers were sent ids of the old epoch: none of them can be resumed now.
      if (im.seq > 0) notify_all("epoch");
      im.epoch.assign(epoch);
      im.hist.set_epoch(im.epoch, base);
      im.base = base;
      im.bus_seq = 0;
      first_of_epoch = true;
    }
    for (auto& [f, gap] : batch) {
      if (gap) {
        im.hist.lose_through(f->seq - 1);
        // The first events of an epoch may start anywhere: nobody here saw the ones before.
        if (!(first_of_epoch && im.bus_seq == 0)) {
          notify_all("gap");
          r.gap = true;
        }
      }
      im.seq = f->seq;
      im.bus_seq = f->seq - base;
      im.hist.append(f);
      if (auto it = im.subscribed.find(f->topic); it != im.subscribed.end()) {
        for (std::size_t i = 0; i < it->second.size(); ++i)
          if (it->second[i] > 0) per_shard[i].push_back(f);
      }
      ++r.published;
    }
    im.last_seq.store(im.seq, std::memory_order_release);
    for (std::size_t i = 0; i < per_shard.size(); ++i)
      if (im.shards[i]->enqueue(per_shard[i])) to_post.push_back(im.shards[i]);
  }
  for (auto& s : to_post) s->schedule();
  to_post.clear();
  batch.clear();
  if (im.metrics && r.published > 0)
    im.metrics->events_published.fetch_add(r.published, std::memory_order_relaxed);
  return r;
}

std::size_t hub::backlog(std::size_t shard_no) const {
  return shard_no < impl_->shards.size() ? impl_->shards[shard_no]->backlog() : 0;
}

std::size_t hub::backlog_peak(std::size_t shard_no) const {
  return shard_no < impl_->shards.size() ? impl_->shards[shard_no]->backlog_peak() : 0;
}

std::size_t hub::max_backlog() const { return impl_->gate->max_backlog(); }

std::size_t hub::shard_count() const { return impl_->shards.size(); }

std::size_t hub::waiting_publishes() const { return impl_->gate->waiting(); }

obs::hub_figures hub::figures() const {
  obs::hub_figures f;
  for (const auto& s : impl_->shards) {
    f.backlog.push_back(s->backlog());
    f.backlog_peak.push_back(s->backlog_peak());
  }
  f.backlog_limit = impl_->gate->max_backlog();
  f.publishes_waiting = impl_->gate->waiting();
  std::lock_guard lk(impl_->mu);
  f.topics_subscribed = impl_->subscribed.size();
  f.history_topics = impl_->hist.topic_count();
  f.history_events = impl_->hist.event_count();
  f.topics_removed = impl_->hist.removed_count();
  return f;
}

void hub::refresh_gauges() const {
  if (auto* m = impl_->metrics) m->set_hub_figures(figures());
}

subscribe_result hub::subscribe(const std::shared_ptr<subscriber>& sub,
                                const std::vector<std::string>& topics,
                                const std::optional<std::string>& last_event_id, transport t) {
  subscribe_result r;
  if (!sub) return r;
  const std::size_t shard_no = sub->shard();
  BOOST_ASSERT(shard_no < impl_->shards.size());
  if (shard_no >= impl_->shards.size()) return r;
  auto& index = impl_->shards[shard_no]->index();

  std::vector<std::string> wanted;
  for (const auto& topic : topics)
    if (!topic.empty() && std::find(wanted.begin(), wanted.end(), topic) == wanted.end())
      wanted.push_back(topic);

  std::vector<std::string> fresh;  // topics sub was not subscribed to yet
  {
    std::lock_guard lk(impl_->mu);
    std::uint64_t start_seq = impl_->seq + 1;
    // Cluster mode: the client saw events this node has not read from the bus yet. It gets
    // the ones after its id live, once they arrive, and no replay.
    bool ahead = false;
    if (impl_->bus && last_event_id && !last_event_id->empty()) {
      std::string reason;
      auto pos = impl_->hist.position(*last_event_id, reason);
      if (pos && *pos > impl_->seq && *pos - impl_->seq <= impl_->max_resume_ahead) {
        start_seq = *pos + 1;
        ahead = true;
      }
    }
    for (const auto& topic : wanted) {
      if (!index.add(topic, sub.get(), start_seq)) continue;
      fresh.push_back(topic);
      sub->hub_topics_.fetch_add(1, std::memory_order_relaxed);
      auto& counts = impl_->subscribed[topic];
      if (counts.empty()) counts.resize(impl_->shards.size(), 0);
      ++counts[shard_no];
    }
    // A topic already subscribed is being delivered live: replaying it would duplicate.
    if (!ahead && last_event_id && !last_event_id->empty() && !fresh.empty()) {
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
      for (auto& ev : impl_->snapshots.of(topic, t))
        r.snapshot.push_back(make_frame("", 0, topic, ev.name, ev.data_json, false));
    });
  }
  return r;
}

void hub::unsubscribe(subscriber& sub, const std::vector<std::string>& topics) {
  const std::size_t shard_no = sub.shard();
  BOOST_ASSERT(shard_no < impl_->shards.size());
  if (shard_no >= impl_->shards.size()) return;
  auto& index = impl_->shards[shard_no]->index();
  std::lock_guard lk(impl_->mu);
  for (const auto& topic : topics) {
    if (!index.remove(topic, &sub)) continue;
    sub.hub_topics_.fetch_sub(1, std::memory_order_release);
    impl_->release(topic, shard_no);
  }
}

void hub::unsubscribe_all(subscriber& sub) {
  const std::size_t shard_no = sub.shard();
  if (shard_no >= impl_->shards.size()) return;
  // A flush is due only for a subscribed sub, marked by this shard's sweep.
  impl_->shards[shard_no]->forget(sub);
  if (sub.hub_topics_.load(std::memory_order_acquire) == 0) return;
  auto topics = impl_->shards[shard_no]->index().topics_of(&sub);
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
  impl_->snapshots.set(std::move(topic), std::move(fn));
}

void hub::set_snapshot_prefix(std::string prefix, snapshot_prefix_fn fn) {
  impl_->snapshots.set_prefix(std::move(prefix), std::move(fn));
}

void hub::set_metrics(obs::metrics* m) {
  impl_->metrics = m;
  impl_->gate->set_metrics(m);
}

std::string hub::epoch() const {
  std::lock_guard lk(impl_->mu);
  return impl_->epoch;
}

std::uint64_t hub::last_seq() const { return impl_->last_seq.load(std::memory_order_acquire); }

std::string hub::last_id() const {
  std::lock_guard lk(impl_->mu);
  return impl_->hist.make_id(impl_->seq);
}

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

}  // namespace rushcast::hub
