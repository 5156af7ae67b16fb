// Owns the process's counters and gauges, and their Prometheus text form.
// Incremented lock-free from every module; rendered by GET /metrics and the dashboard feed.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "rushcast/core/errc.hpp"
#include "rushcast/obs/hub_figures.hpp"

namespace rushcast::obs {

// Cumulative histogram of publish-to-write latency, in microseconds.
class latency_histogram {
public:
  static constexpr std::array<std::uint64_t, 14> bounds_us{
      50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000,
      5000000};
  void observe_us(std::uint64_t us);
  std::string render(const std::string& name) const;

private:
  std::array<std::atomic<std::uint64_t>, bounds_us.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_us_{0};
  std::atomic<std::uint64_t> count_{0};
};

// Seckill admission outcomes, counted without a lock or a label string per call. The names
// (admission_outcome_name) are the `outcome` label of rushcast_admissions_total.
enum class admission_outcome : std::uint8_t {
  duplicate, ended, not_started, queued, rate_limited, sold_out, unavailable, count_
};
const char* admission_outcome_name(admission_outcome o) noexcept;

// A gauge a hot path sets with one relaxed store: the cell lives as long as the metrics.
using gauge_cell = std::atomic<std::int64_t>;

class metrics {
public:
  // Connections now open, by transport.
  std::atomic<std::int64_t> sse_connections{0};
  std::atomic<std::int64_t> ws_connections{0};
  std::atomic<std::int64_t> long_poll_waiters{0};
  std::atomic<std::int64_t> http_connections{0};
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_rejected{0};  // over capacity

  std::atomic<std::uint64_t> events_published{0};   // hub::publish calls
  std::atomic<std::uint64_t> events_delivered{0};   // frames handed to sockets
  std::atomic<std::uint64_t> events_conflated{0};   // state frames replaced in a queue
  std::atomic<std::uint64_t> slow_consumer_drops{0};  // connections closed at the queue cap
  std::atomic<std::uint64_t> http_requests{0};
  std::atomic<std::uint64_t> rate_limited{0};
  // POST /api/publish at limits.max_publish_backlog: answered late, or refused (503).
  std::atomic<std::uint64_t> publishes_deferred{0};
  std::atomic<std::uint64_t> publishes_rejected{0};
  // Cluster mode (cluster/bus): events read from the bus, publishes the bus refused or whose
  // outcome was lost (503 / dropped), and resync notices sent for a gap or a new epoch.
  std::atomic<std::uint64_t> bus_events_read{0};
  std::atomic<std::uint64_t> bus_publish_failures{0};
  std::atomic<std::uint64_t> bus_resyncs{0};

  // Admissions by outcome: lock-free.
  void count_admission(admission_outcome o) noexcept {
    admission_counts_[static_cast<std::size_t>(o)].fetch_add(1, std::memory_order_relaxed);
  }
  // Bids by outcome: errc::ok counts as "accepted", a refusal under its error name. Lock-free
  // and without strings: bids run at tens of thousands a second.
  void count_bid(errc outcome, std::uint64_t n = 1) {
    bid_counts_[static_cast<std::size_t>(outcome)].fetch_add(n, std::memory_order_relaxed);
  }
  // Per-sale/auction gauges the engines refresh.
  void set_gauge(const std::string& name, const std::string& labels, std::int64_t value);
  // The cell of name{labels}, made once (start-up or first use, under the lock); the caller
  // keeps the reference and stores into it without a lock or a string.
  gauge_cell& gauge(const std::string& name, const std::string& labels);
  // The hub's figures as gauges: rushcast_publish_backlog{shard}, rushcast_publish_backlog_peak
  // {shard}, rushcast_publish_backlog_limit, rushcast_publishes_waiting,
  // rushcast_topics_subscribed, rushcast_history_topics, rushcast_history_events,
  // rushcast_topics_removed. Called before /metrics and sys:stats render.
  void set_hub_figures(const hub_figures& f);

  latency_histogram publish_to_write;

  // The same figures as one JSON object (the dashboard's sys:stats feed).
  nlohmann::json to_json() const;
  // Prometheus text exposition format 0.0.4.
  std::string render() const;

private:
  mutable std::mutex mu_;  // guards the maps below (admissions are rare next to deliveries)
  std::array<std::atomic<std::uint64_t>,
             static_cast<std::size_t>(admission_outcome::count_)> admission_counts_{};
  std::map<std::string, gauge_cell> gauge_cells_;  // key: name{labels}; nodes never move
  std::array<std::atomic<std::uint64_t>, errc_count> bid_counts_{};
  std::map<std::string, std::uint64_t> bids() const;  // outcome name -> count, non-zero only
  std::map<std::string, std::int64_t> gauges_;  // key: name{labels}
};

}  // namespace rushcast::obs
