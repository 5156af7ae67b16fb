// Owns the cluster's event bus: one Redis Stream every node appends to (a script takes the
// cluster-wide seq and the epoch and appends, atomically) and reads back in batches, each batch
// handed to the node's hub in one ingest() call. Used by app/server in cluster mode
// (storage.backend "redis"); the hub forwards its publishes here (hub::event_bus).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "rushcast/config/config.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/obs/log_limiter.hpp"
#include "rushcast/redis/client.hpp"

namespace rushcast::obs {
class metrics;
}

namespace rushcast::cluster {

// A chat presence change a bus entry carries besides its event (cluster/presence appends the
// "join" and "leave" events with the fields p: "+"|"-", u: user id, m: username). Only entries
// the presence scripts append have them: a client's own "join" event changes no one's presence.
struct presence_op {
  std::uint64_t seq = 0;
  std::string_view topic;
  std::string_view user_id;
  std::string_view username;
  bool join = false;
};

// Where the bus reader hands presence changes (cluster/presence keeps its mirror with them).
class presence_sink {
public:
  virtual ~presence_sink() = default;
  // The presence changes of one epoch run, in stream order, before the hub ingests the run.
  virtual void on_presence(std::string_view epoch, std::span<const presence_op> ops) = 0;
  // This node missed entries (a gap) or the epoch changed: what it mirrored may be stale.
  virtual void on_bus_reset() = 0;
};

// What one XREAD answer holds, as views into that reply (pure; unit-tested without Redis).
struct read_batch {
  struct run {
    std::string_view epoch;
    std::vector<hub::sequenced_event> events;  // in stream order, all of this epoch
    std::vector<presence_op> presence;         // those events' presence changes, in order
  };
  std::vector<run> runs;   // consecutive entries of one epoch each
  std::string last_id;     // the stream id to read after next; empty when the reply had none
  std::size_t malformed = 0;  // entries skipped: a field missing or not a number
};
// r: the reply of XREAD ... STREAMS key id (nil when BLOCK timed out).
read_batch parse_read(const redis::reply& r);

class bus : public hub::event_bus, public std::enable_shared_from_this<bus> {
public:
  // writer carries publishes (pipelined, may be shared); reader is the bus's own connection,
  // since XREAD BLOCK holds it; both run on one-thread executors, and run() starts reader.
  // hub must outlive the bus.
  static std::shared_ptr<bus> create(std::shared_ptr<redis::client> writer,
                                     std::shared_ptr<redis::client> reader, hub::hub& h,
                                     const config::bus_cfg& cfg);

  // Before run(): counts into m (bus_events_read, bus_publish_failures, bus_resyncs), and
  // hands presence changes to sink (may be null).
  void set_metrics(obs::metrics* m) { metrics_ = m; }
  void set_presence(std::shared_ptr<presence_sink> sink) { presence_ = std::move(sink); }

  // Starts the reader connection and the read loop: from the start of the stream, so history
  // is filled with what the stream keeps before any client asks for it.
  void run();
  // Stops reading and closes the reader connection; publishes fail from now on. Any thread.
  void close();
  // close() done here and now, once no thread runs the reader's executor (teardown).
  void close_stopped();

  // hub::event_bus. Any thread; done runs on the writer's executor.
  void publish(std::string topic, std::string name, std::string data_json, bool state,
               hub::bounded_publish_handler done) override;
  // The key is kept bus.publish_dedup_ms under KEY:pub:<key> with the event's id.
  void publish_once(std::string key, std::string topic, std::string name, std::string data_json,
                    hub::bounded_publish_handler done) override;

  // Figures, thread-safe, relaxed.
  std::uint64_t events_read() const { return events_read_.load(std::memory_order_relaxed); }
  std::uint64_t publish_failures() const {
    return publish_failures_.load(std::memory_order_relaxed);
  }

private:
  bus(std::shared_ptr<redis::client> writer, std::shared_ptr<redis::client> reader,
      hub::hub& h, const config::bus_cfg& cfg);
  void on_connected();
  void check_epoch();
  void do_read();
  void on_read(boost::system::error_code ec, const redis::reply& r);
  void retry_later();
  // Runs an append script (args: EVAL, script, ...) and answers done with its {epoch, seq}.
  void append(std::span<const std::string_view> args, hub::bounded_publish_handler done);

  std::shared_ptr<redis::client> writer_;
  std::shared_ptr<redis::client> reader_;
  hub::hub& hub_;
  obs::metrics* metrics_ = nullptr;
  std::shared_ptr<presence_sink> presence_;
  config::bus_cfg cfg_;
  std::string epoch_key_;
  std::string seq_key_;
  std::string maxlen_;
  std::string dedup_ms_;
  std::string block_ms_;
  std::string count_;
  std::string epoch_candidate_;  // the epoch this node sets when Redis has none

  // Reader executor only.
  boost::asio::steady_timer retry_timer_;
  bool reading_ = false;   // an XREAD (or the epoch check before it) is in flight
  std::string last_id_ = "0-0";
  std::string epoch_;      // the last epoch read; empty before the first event
  bool hub_epoch_seen_ = false;  // an epoch was ingested: a later change is a resync
  std::atomic<bool> closed_{false};

  std::atomic<std::uint64_t> events_read_{0};
  std::atomic<std::uint64_t> publish_failures_{0};
  obs::log_limiter publish_log_{std::chrono::seconds(10)};
  obs::log_limiter read_log_{std::chrono::seconds(10)};
};

}  // namespace rushcast::cluster
