// Owns the order of events: ids, bounded histories, subscribe and replay; the single entry
// point every publish goes through (in cluster mode it forwards to the event bus, and takes the
// bus's ordered batches back through ingest()). Fans out
// through one dispatcher per shard (hub/dispatcher.hpp), bounds external publishes with a gate
// (hub/publish_gate.hpp), and asks the snapshot registry (hub/snapshots.hpp) for state.
// Used by engines and api/ (publish), sessions (subscribe/unsubscribe), app/ (construction).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "rushcast/config/config.hpp"
#include "rushcast/hub/dispatcher.hpp"
#include "rushcast/hub/frame.hpp"
#include "rushcast/hub/publish_gate.hpp"
#include "rushcast/hub/snapshots.hpp"
#include "rushcast/hub/subscriber.hpp"
#include "rushcast/obs/hub_figures.hpp"

namespace rushcast::obs {
class metrics;
}

namespace rushcast::hub {

struct subscribe_result {
  bool resync = false;         // the Last-Event-ID gap could not be replayed
  std::string resync_reason;   // "epoch" (server restarted) | "too_old" | "bad_id"
  frame_ptr resync_frame;      // when resync: the "resync" event {"reason"} (seq 0), ready to send
  std::vector<frame_ptr> replay;    // history after last_event_id, in order, no duplicates
  std::vector<frame_ptr> snapshot;  // snapshot frames (seq 0), one per snapshot_event
};

// What a subscriber writes first, in this order: resync_frame (when resync), replay, snapshot.
// On resync the replay is empty: the client refetches, and the snapshot gives it the state.

// One event the cluster's bus ordered (cluster/bus): seq is the cluster's sequence number, one
// per event over all nodes, increasing within an epoch. The views must outlive ingest().
struct sequenced_event {
  std::uint64_t seq = 0;
  std::string_view topic;
  std::string_view name;
  std::string_view data_json;
  bool state = false;
};

struct ingest_result {
  std::size_t published = 0;   // events ordered, kept in history and fanned out
  std::size_t duplicates = 0;  // seq at or below the last one ingested: dropped
  bool epoch_changed = false;  // the bus's epoch differed from the hub's
  bool gap = false;            // seqs were missing: live subscribers were sent resync "gap"
};

// Where publishes go in cluster mode (implemented by cluster/bus): the event is appended to the
// cluster's bus and comes back to every node's hub through ingest(). Any thread; never blocks.
class event_bus {
public:
  virtual ~event_bus() = default;
  // done (may be empty) runs exactly once, on any thread: the event's cluster id once the bus
  // holds it, or errc::unavailable when the bus cannot be reached (nothing was published).
  virtual void publish(std::string topic, std::string name, std::string data_json, bool state,
                       bounded_publish_handler done) = 0;
  // publish() at most once per key: a key the bus already took (within its window) is answered
  // with that event's id, and nothing is published again, so a publisher may retry a publish
  // whose answer it lost. The default ignores the key.
  virtual void publish_once(std::string key, std::string topic, std::string name,
                            std::string data_json, bounded_publish_handler done) {
    (void)key;
    publish(std::move(topic), std::move(name), std::move(data_json), false, std::move(done));
  }
};

class hub {
public:
  // executors[i] runs shard i (one thread each). epoch distinguishes this process's ids from
  // a previous run's (resync after restart).
  // Deliveries a shard makes per handler run before it yields (see dispatcher.cpp).
  static constexpr std::size_t default_sweep_budget = dispatcher::default_sweep_budget;
  // Events a shard may hold not yet swept to all its subscribers before bounded publishes
  // wait (limits.max_publish_backlog; see publish_gate.cpp on why it is not smaller).
  static constexpr std::size_t default_max_backlog = 256;
  // Subscribers a shard flushes per handler run before it yields to its reactor.
  static constexpr std::size_t default_flush_slice = dispatcher::default_flush_slice;

  hub(std::vector<boost::asio::any_io_executor> shard_executors, config::history_cfg history,
      std::string epoch, std::size_t sweep_budget = default_sweep_budget,
      std::size_t max_backlog = default_max_backlog,
      std::size_t flush_slice = default_flush_slice);
  ~hub();
  hub(const hub&) = delete;
  hub& operator=(const hub&) = delete;

  // Thread-safe; any thread. Orders the event (id, history), encodes it once, and posts the
  // shared frame to each shard that has subscribers of the topic. state = conflatable.
  // Never waits and never fails: engines and WebSocket chat publish here, and may push a
  // shard's backlog past max_backlog (their state events are conflated downstream anyway).
  // With a bus (set_bus) the event is handed to the bus instead and the result is empty: its
  // id is known once the bus ordered it, and it reaches subscribers through ingest().
  publish_result publish(std::string_view topic, std::string_view name,
                         std::string_view data_json, bool state = false);

  // One event of publish_all(); its strings are moved from.
  struct owned_event {
    std::string topic;
    std::string name;
    std::string data_json;
  };
  // Thread-safe; any thread. publish() of each event, in order, under one lock: an engine
  // announcing many buyers' results at once takes the hub's mutex once, and an event whose
  // topic has no subscriber is kept in history unencoded without copying its data.
  void publish_all(std::vector<owned_event>& events);

  // Thread-safe; any thread. An event for this node's subscribers only (the node's own
  // figures, sys:stats). Without a bus the same as publish(). With a bus it is neither sent to
  // the bus nor ordered: no id, no history, delivered to the topic's subscribers of the moment.
  void publish_local(std::string_view topic, std::string_view name, std::string_view data_json,
                     bool state = false);

  // Thread-safe; any thread. The external publish API's entry (POST /api/publish): publishes
  // at once, and calls done before returning, when every shard's backlog is below
  // max_backlog and no earlier bounded publish waits. Otherwise the event waits, in arrival
  // order, until every shard's backlog is below the bound again (it is then published from
  // the shard thread whose sweep made room) or until max_wait has passed (done gets
  // errc::over_capacity and nothing is published; max_wait 0 refuses at once instead of
  // waiting). done runs exactly once, on any thread.
  // With a bus, the event goes to the bus at once and done gets the bus's answer (its cluster
  // id, or errc::unavailable when the bus is unreachable); the local backlog bound does not
  // apply (the bus reader hands batches in as it reads them).
  // The bound is soft by at most one event per concurrent caller of the fast path.
  // idempotency_key (the publisher's Idempotency-Key, may be empty): with a bus, the event is
  // published at most once per key (event_bus::publish_once); without one it is not used.
  void publish_bounded(std::string topic, std::string name, std::string data_json,
                       std::chrono::milliseconds max_wait, bounded_publish_handler done,
                       std::string idempotency_key = {});
  // Cluster mode, called once before the first publish: publishes go to bus from now on, and
  // event order comes only from ingest(). A Last-Event-ID at most max_resume_ahead events
  // beyond what this hub has ingested (the client came from a node that read the bus sooner)
  // resumes live from after that id instead of answering resync.
  void set_bus(std::shared_ptr<event_bus> bus, std::uint64_t max_resume_ahead);

  // Thread-safe; called by one caller at a time (the bus reader), with a batch in seq order.
  // Orders the events the bus sequenced, with the ids "<epoch>-<seq>": each is encoded once,
  // kept in history and posted to the shards that have subscribers, and every shard is
  // scheduled at most once for the whole batch. Events at or below the last seq are dropped
  // (duplicates). A missing seq (a gap the bus could not fill) makes every Last-Event-ID from
  // before the gap answer resync "too_old", and sends resync {"reason":"gap"} to every live
  // subscriber. A new epoch (the bus lost its data) sends resync {"reason":"epoch"} to every
  // live subscriber once ids were issued, and ids of the old epoch answer resync "epoch"; the
  // first events of an epoch may start at any seq (earlier ones answer "too_old").
  ingest_result ingest(std::string_view epoch, std::span<const sequenced_event> events);

  // Drain: answers every waiting bounded publish errc::unavailable, and every later one that
  // would have to wait, at once. Thread-safe.
  void close_bounded();

  // Events posted to shard_no and not yet swept to all its subscribers and flushed by them;
  // thread-safe, relaxed.
  std::size_t backlog(std::size_t shard_no) const;
  // The highest backlog shard_no has had since start (for /metrics and sizing the bound).
  std::size_t backlog_peak(std::size_t shard_no) const;
  std::size_t max_backlog() const;
  std::size_t shard_count() const;
  std::size_t waiting_publishes() const;  // bounded publishes waiting now; thread-safe
  // The hub's figures as plain numbers (backlogs, waiting publishes, topics, history);
  // obs::metrics::set_hub_figures names and labels them. Thread-safe.
  obs::hub_figures figures() const;
  // Copies figures() into the metrics given to set_metrics (nothing without); called before
  // /metrics and sys:stats render. Thread-safe.
  void refresh_gauges() const;

  // On sub's shard thread only. Registers sub for topics and returns what must be written
  // before any live frame: replay after last_event_id (when given) and snapshots. Live frames
  // ordered after the replay reach sub.deliver() later; none is delivered twice.
  subscribe_result subscribe(const std::shared_ptr<subscriber>& sub,
                             const std::vector<std::string>& topics,
                             const std::optional<std::string>& last_event_id,
                             transport t);
  void unsubscribe(subscriber& sub, const std::vector<std::string>& topics);
  // Called from the subscriber's destructor or close path, on its shard thread.
  void unsubscribe_all(subscriber& sub);

  // History after last_event_id for topics (long-poll); thread-safe.
  subscribe_result history_since(const std::vector<std::string>& topics,
                                 const std::optional<std::string>& last_event_id);

  // Registers the snapshot source of one topic (engines at start-up). Thread-safe.
  void set_snapshot(std::string topic, snapshot_fn fn);
  // Registers the snapshot source of every topic starting with prefix; an exact set_snapshot
  // wins over a prefix, and a longer prefix over a shorter one. Thread-safe.
  void set_snapshot_prefix(std::string prefix, snapshot_prefix_fn fn);
  // Counts publishes into m->events_published, and bounded publishes that waited or were
  // refused into m->publishes_deferred / publishes_rejected; nullptr (the default) counts
  // nothing. Call before the first publish.
  void set_metrics(obs::metrics* m);

  // Milliseconds of the monotonic clock history ages by (steady_clock).
  static std::int64_t clock_ms();
  // Topics the sweep looks at per call before it yields (each under the hub mutex).
  static constexpr std::size_t default_sweep_topics = 1024;
  struct sweep_result {
    std::size_t removed = 0;  // topics removed by this call
    bool more = false;        // stopped at max_topics: call again soon
  };
  // Thread-safe; app/server calls it every history.sweep_interval_ms on shard 0 (now_ms =
  // clock_ms(); tests pass a later time instead of sleeping). Trims the histories that have
  // not been appended to for longest and removes topics with no subscriber and no event
  // younger than history.max_age_ms, at most max_topics per call, holding the hub mutex.
  sweep_result sweep_idle_topics(std::int64_t now_ms,
                                 std::size_t max_topics = default_sweep_topics);

  std::string epoch() const;        // thread-safe
  // The hub's own order of events, increasing over epochs; equal to the event seq until an
  // epoch changes in cluster mode. Thread-safe.
  std::uint64_t last_seq() const;
  // The id of the last event ordered ("<epoch>-<seq>", "<epoch>-0" before any); thread-safe.
  std::string last_id() const;
  std::size_t topic_count() const;  // topics with at least one subscriber, over all shards
  // Topics history holds (with events, or without while subscribed); thread-safe.
  std::size_t history_topic_count() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace rushcast::hub
