// The cluster's event bus over a Redis Stream.
//
// Publish. One script appends an event: it reads the epoch key (setting this node's candidate
// when there is none: the first publish ever, or Redis lost its data, which is a new epoch),
// takes the next seq with INCR on the seq key (reset with a new epoch), and XADDs the entry
// {e: epoch, s: seq, t: topic, n: name, d: data, c: state} with MAXLEN ~ bus.stream_maxlen.
// A script runs atomically, so stream order is seq order and no seq is taken without its
// entry: a seq missing from the stream was trimmed away, never skipped.
//
// Read. One loop per node on a connection of its own: XREAD COUNT read_batch BLOCK
// read_block_ms STREAMS key last_id, each answer handed to hub::ingest in one call per epoch
// run (so fan-out keeps its gathered writes: one post per shard per batch). The hub finds
// gaps and epoch changes from the seqs and epochs themselves. The loop starts from "0-0", so a
// node that starts fills its history from what the stream keeps; after a lost connection it
// goes on from last_id, unless the epoch key changed or vanished meanwhile (Redis restarted
// without its data: the new stream's ids need not sort after the old ones), then from "0-0".
#include "rushcast/cluster/bus.hpp"

#include <algorithm>
#include <charconv>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/core/epoch.hpp"
#include "rushcast/core/errc.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::cluster {
namespace {

constexpr std::string_view append_script = R"lua(
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[3])
end
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',
           'e', epoch, 's', seq, 't', ARGV[3], 'n', ARGV[4], 'd', ARGV[5], 'c', ARGV[6])
return {epoch, seq}
)lua";

// The same, at most once per publisher's key: KEYS[4] holds "epoch seq" of the event published
// under it (for bus.publish_dedup_ms, ARGV[7]); a retry gets that event's id back.
constexpr std::string_view append_once_script = R"lua(
local prev = redis.call('GET', KEYS[4])
if prev then
  local sp = string.find(prev, ' ', 1, true)
  return {string.sub(prev, 1, sp - 1), tonumber(string.sub(prev, sp + 1))}
end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[3])
end
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',
           'e', epoch, 's', seq, 't', ARGV[3], 'n', ARGV[4], 'd', ARGV[5], 'c', ARGV[6])
redis.call('SET', KEYS[4], epoch .. ' ' .. seq, 'PX', ARGV[7])
return {epoch, seq}
)lua";

// Pause before the read loop asks again after an error reply or a failed command.
constexpr std::chrono::milliseconds retry_after{200};

std::optional<std::uint64_t> to_seq(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v == 0) return std::nullopt;
  return v;
}

}  // namespace

read_batch parse_read(const redis::reply& r) {
  read_batch out;
  if (!r.is_array()) return out;  // nil: BLOCK timed out
  for (const auto& stream : r.elements) {
    const auto& entries = stream.at(1);
    for (const auto& entry : entries.elements) {
      const auto& id = entry.at(0);
      const auto& fields = entry.at(1);
      if (id.type != redis::reply::kind::string) {
        ++out.malformed;
        continue;
      }
      out.last_id = id.str;
      std::string_view epoch;
      std::optional<std::uint64_t> seq;
      hub::sequenced_event ev;
      bool have_topic = false, have_name = false, have_data = false;
      std::string_view op, user, username;
      for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        const std::string& k = fields.elements[i].str;
        const std::string& v = fields.elements[i + 1].str;
        if (k.size() != 1) continue;
        switch (k[0]) {
          case 'e': epoch = v; break;
          case 's': seq = to_seq(v); break;
          case 't': ev.topic = v; have_topic = true; break;
          case 'n': ev.name = v; have_name = true; break;
          case 'd': ev.data_json = v; have_data = true; break;
          case 'c': ev.state = v == "1"; break;
          case 'p': op = v; break;
          case 'u': user = v; break;
          case 'm': username = v; break;
          default: break;
        }
      }
      if (epoch.empty() || !seq || !have_topic || !have_name || !have_data) {
        ++out.malformed;
        continue;
      }
      ev.seq = *seq;
      if (out.runs.empty() || out.runs.back().epoch != epoch) out.runs.push_back({epoch, {}, {}});
      out.runs.back().events.push_back(ev);
      if ((op == "+" || op == "-") && !user.empty())
        out.runs.back().presence.push_back({*seq, ev.topic, user, username, op == "+"});
    }
  }
  return out;
}

std::shared_ptr<bus> bus::create(std::shared_ptr<redis::client> writer,
                                 std::shared_ptr<redis::client> reader, hub::hub& h,
                                 const config::bus_cfg& cfg) {
  return std::shared_ptr<bus>(new bus(std::move(writer), std::move(reader), h, cfg));
}

bus::bus(std::shared_ptr<redis::client> writer, std::shared_ptr<redis::client> reader,
         hub::hub& h, const config::bus_cfg& cfg)
    : writer_(std::move(writer)),
      reader_(std::move(reader)),
      hub_(h),
      cfg_(cfg),
      epoch_key_(cfg.stream_key + ":epoch"),
      seq_key_(cfg.stream_key + ":seq"),
      maxlen_(std::to_string(cfg.stream_maxlen)),
      dedup_ms_(std::to_string(cfg.publish_dedup_ms)),
      // A blocked XREAD must not look like a silent connection (storage.redis_timeout_ms).
      block_ms_(std::to_string(std::max<std::int64_t>(
          1, std::min<std::int64_t>(cfg.read_block_ms, reader_->options().timeout.count() / 2)))),
      count_(std::to_string(cfg.read_batch)),
      epoch_candidate_(core::make_epoch()),
      retry_timer_(reader_->get_executor()) {}

void bus::run() {
  reader_->run([w = weak_from_this()](bool connected) {
    if (auto self = w.lock(); self && connected) self->on_connected();
  });
}

void bus::close() {
  if (closed_.exchange(true)) return;
  boost::asio::post(reader_->get_executor(), [self = shared_from_this()] {
    self->retry_timer_.cancel();
  });
  reader_->close();
}

void bus::close_stopped() {
  closed_.store(true);
  retry_timer_.cancel();
  reader_->close_stopped();
}

void bus::publish(std::string topic, std::string name, std::string data_json, bool state,
                  hub::bounded_publish_handler done) {
  const std::string_view args[] = {"EVAL",     append_script, "3",   cfg_.stream_key,
                                   epoch_key_, seq_key_,      epoch_candidate_,
                                   maxlen_,    topic,         name,  data_json,
                                   state ? "1" : "0"};
  append(args, std::move(done));
}

void bus::publish_once(std::string key, std::string topic, std::string name,
                       std::string data_json, hub::bounded_publish_handler done) {
  const std::string dedup_key = cfg_.stream_key + ":pub:" + key;
  const std::string_view args[] = {"EVAL",   append_once_script, "4",      cfg_.stream_key,
                                   epoch_key_, seq_key_,         dedup_key, epoch_candidate_,
                                   maxlen_,  topic,              name,      data_json,
                                   "0",      dedup_ms_};
  append(args, std::move(done));
}

void bus::append(std::span<const std::string_view> args, hub::bounded_publish_handler done) {
  writer_->execute(args,
                   [self = shared_from_this(), done = std::move(done)](
                       boost::system::error_code ec, redis::reply r) {
                     std::optional<std::uint64_t> seq;
                     if (!ec && r.is_array() && r.elements.size() == 2)
                       if (auto v = r.at(1).as_int(); v && *v > 0)
                         seq = static_cast<std::uint64_t>(*v);
                     if (!seq) {
                       self->publish_failures_.fetch_add(1, std::memory_order_relaxed);
                       if (self->metrics_)
                         self->metrics_->bus_publish_failures.fetch_add(
                             1, std::memory_order_relaxed);
                       if (auto n = self->publish_log_.admit())
                         spdlog::warn("bus: publish failed ({} time(s)): {}", n,
                                      ec ? ec.message() : "unexpected reply " + r.text());
                       if (done) done(errc::unavailable);
                       return;
                     }
                     if (done)
                       done(hub::publish_result{r.at(0).text() + "-" + std::to_string(*seq),
                                                *seq});
                   });
}

// Reader executor. (Re)connected: check the epoch, then read.
void bus::on_connected() {
  if (reading_ || closed_.load()) return;
  reading_ = true;
  check_epoch();
}

void bus::check_epoch() {
  reader_->execute({"GET", epoch_key_}, [self = shared_from_this()](boost::system::error_code ec,
                                                                    redis::reply r) {
    if (ec) return self->on_read(ec, r);
    // Redis lost the stream we read (its epoch is gone or another): read the new one from its
    // start; the hub sees the new epoch in the entries.
    if (!self->epoch_.empty() && (r.is_nil() || r.str != self->epoch_)) {
      spdlog::warn("bus: the epoch in Redis changed ({} -> {}): reading the stream anew",
                   self->epoch_, r.is_nil() ? std::string("none") : r.str);
      self->last_id_ = "0-0";
    }
    self->do_read();
  });
}

void bus::do_read() {
  if (closed_.load()) {
    reading_ = false;
    return;
  }
  reader_->execute({"XREAD", "COUNT", count_, "BLOCK", block_ms_, "STREAMS", cfg_.stream_key,
                    last_id_},
                   [self = shared_from_this()](boost::system::error_code ec, redis::reply r) {
                     self->on_read(ec, r);
                   });
}

void bus::on_read(boost::system::error_code ec, const redis::reply& r) {
  if (ec) {
    reading_ = false;
    if (closed_.load()) return;
    if (auto n = read_log_.admit())
      spdlog::warn("bus: read failed ({} time(s)): {}{}", n, ec.message(),
                   r.is_error() ? ": " + r.str : std::string());
    retry_later();
    return;
  }
  auto batch = parse_read(r);
  if (batch.malformed > 0)
    spdlog::warn("bus: {} malformed entr(ies) in {} skipped", batch.malformed, cfg_.stream_key);
  for (const auto& run : batch.runs) {
    epoch_.assign(run.epoch);
    if (presence_ && !run.presence.empty()) presence_->on_presence(run.epoch, run.presence);
    auto res = hub_.ingest(run.epoch, run.events);
    events_read_.fetch_add(run.events.size(), std::memory_order_relaxed);
    if (metrics_) metrics_->bus_events_read.fetch_add(run.events.size(), std::memory_order_relaxed);
    // What this node mirrors of presence may have missed changes: its sink reloads.
    if ((res.gap || res.epoch_changed) && presence_) presence_->on_bus_reset();
    if (res.gap && metrics_) metrics_->bus_resyncs.fetch_add(1, std::memory_order_relaxed);
    if (res.gap)
      spdlog::warn("bus: events up to seq {} were trimmed before this node read them: its "
                   "clients get resync",
                   run.events.back().seq);
    if (res.epoch_changed) {
      spdlog::info("bus: epoch {}", run.epoch);
      if (metrics_ && hub_epoch_seen_) metrics_->bus_resyncs.fetch_add(1, std::memory_order_relaxed);
      hub_epoch_seen_ = true;
    }
  }
  if (!batch.last_id.empty()) last_id_ = std::move(batch.last_id);
  do_read();
}

// After a failure: the connection's state handler restarts reading when it comes back; this
// timer covers an error reply on a live connection.
void bus::retry_later() {
  retry_timer_.expires_after(retry_after);
  retry_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (ec || !self || self->closed_.load()) return;
    if (self->reader_->connected()) self->on_connected();
  });
}

}  // namespace rushcast::cluster
