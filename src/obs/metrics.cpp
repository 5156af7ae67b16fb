// Owns the process's counters and gauges and their Prometheus and JSON renderings.
// Used by every module that counts, by GET /metrics and by the sys:stats feed.
#include "rushcast/obs/metrics.hpp"

#include <sstream>

#include <nlohmann/json.hpp>

namespace rushcast::obs {

void latency_histogram::observe_us(std::uint64_t us) {
  std::size_t i = 0;
  while (i < bounds_us.size() && us > bounds_us[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(us, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::string latency_histogram::render(const std::string& name) const {
  std::ostringstream o;
  o << "# TYPE " << name << " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_us.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    o << name << "_bucket{le=\"" << static_cast<double>(bounds_us[i]) / 1e6 << "\"} "
      << cumulative << "\n";
  }
  cumulative += buckets_[bounds_us.size()].load(std::memory_order_relaxed);
  o << name << "_bucket{le=\"+Inf\"} " << cumulative << "\n";
  o << name << "_sum " << static_cast<double>(sum_us_.load()) / 1e6 << "\n";
  o << name << "_count " << count_.load() << "\n";
  return o.str();
}

const char* admission_outcome_name(admission_outcome o) noexcept {
  switch (o) {
    case admission_outcome::duplicate: return "duplicate";
    case admission_outcome::ended: return "ended";
    case admission_outcome::not_started: return "not_started";
    case admission_outcome::queued: return "queued";
    case admission_outcome::rate_limited: return "rate_limited";
    case admission_outcome::sold_out: return "sold_out";
    case admission_outcome::unavailable: return "unavailable";
    case admission_outcome::count_: break;
  }
  return "unknown";
}

std::map<std::string, std::uint64_t> metrics::bids() const {
  std::map<std::string, std::uint64_t> out;
  for (std::size_t i = 0; i < bid_counts_.size(); ++i) {
    std::uint64_t n = bid_counts_[i].load(std::memory_order_relaxed);
    if (n == 0) continue;
    auto e = static_cast<errc>(i);
    out[e == errc::ok ? std::string("accepted") : std::string(error_name(e))] = n;
  }
  return out;
}

void metrics::set_gauge(const std::string& name, const std::string& labels, std::int64_t value) {
  std::lock_guard lk(mu_);
  gauges_[name + "{" + labels + "}"] = value;
}

gauge_cell& metrics::gauge(const std::string& name, const std::string& labels) {
  std::lock_guard lk(mu_);
  return gauge_cells_.try_emplace(name + "{" + labels + "}", 0).first->second;
}

void metrics::set_hub_figures(const hub_figures& f) {
  const auto gauge = [this](const char* name, const std::string& labels, std::size_t v) {
    set_gauge(name, labels, static_cast<std::int64_t>(v));
  };
  for (std::size_t i = 0; i < f.backlog.size(); ++i) {
    const std::string label = "shard=\"" + std::to_string(i) + "\"";
    gauge("rushcast_publish_backlog", label, f.backlog[i]);
    if (i < f.backlog_peak.size()) gauge("rushcast_publish_backlog_peak", label, f.backlog_peak[i]);
  }
  gauge("rushcast_publish_backlog_limit", "", f.backlog_limit);
  gauge("rushcast_publishes_waiting", "", f.publishes_waiting);
  gauge("rushcast_topics_subscribed", "", f.topics_subscribed);
  gauge("rushcast_history_topics", "", f.history_topics);
  gauge("rushcast_history_events", "", f.history_events);
  gauge("rushcast_topics_removed", "", f.topics_removed);
}

nlohmann::json metrics::to_json() const {
  nlohmann::json j;
  j["connections"] = {{"sse", sse_connections.load()},
                      {"websocket", ws_connections.load()},
                      {"long_poll", long_poll_waiters.load()},
                      {"http", http_connections.load()}};
  j["events_published"] = events_published.load();
  j["events_delivered"] = events_delivered.load();
  j["events_conflated"] = events_conflated.load();
  j["slow_consumer_drops"] = slow_consumer_drops.load();
  j["http_requests"] = http_requests.load();
  j["rate_limited"] = rate_limited.load();
  j["publishes_deferred"] = publishes_deferred.load();
  j["publishes_rejected"] = publishes_rejected.load();
  j["bus"] = {{"events_read", bus_events_read.load()},
              {"publish_failures", bus_publish_failures.load()},
              {"resyncs", bus_resyncs.load()}};
  j["admissions"] = nlohmann::json::object();
  for (std::size_t i = 0; i < admission_counts_.size(); ++i)
    if (auto v = admission_counts_[i].load(std::memory_order_relaxed))
      j["admissions"][admission_outcome_name(static_cast<admission_outcome>(i))] = v;
  std::lock_guard lk(mu_);
  j["bids"] = bids();
  j["gauges"] = gauges_;
  for (const auto& [k, cell] : gauge_cells_) j["gauges"][k] = cell.load(std::memory_order_relaxed);
  return j;
}

std::string metrics::render() const {
  std::ostringstream o;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
      << name << " " << v << "\n";
  };
  o << "# HELP rushcast_connections Open connections by transport.\n"
       "# TYPE rushcast_connections gauge\n";
  o << "rushcast_connections{transport=\"sse\"} " << sse_connections.load() << "\n";
  o << "rushcast_connections{transport=\"websocket\"} " << ws_connections.load() << "\n";
  o << "rushcast_connections{transport=\"long_poll\"} " << long_poll_waiters.load() << "\n";
  o << "rushcast_connections{transport=\"http\"} " << http_connections.load() << "\n";
  counter("rushcast_connections_accepted_total", "Accepted TCP connections.",
          connections_accepted.load());
  counter("rushcast_connections_rejected_total", "Connections refused over capacity.",
          connections_rejected.load());
  counter("rushcast_events_published_total", "Events published into the hub.",
          events_published.load());
  counter("rushcast_events_delivered_total", "Event frames written to subscriber sockets.",
          events_delivered.load());
  counter("rushcast_events_conflated_total", "State frames replaced by a newer one in a queue.",
          events_conflated.load());
  counter("rushcast_slow_consumer_drops_total", "Connections closed at their send-queue cap.",
          slow_consumer_drops.load());
  counter("rushcast_http_requests_total", "HTTP requests routed.", http_requests.load());
  counter("rushcast_rate_limited_total", "Requests refused by a rate limit.",
          rate_limited.load());
  counter("rushcast_publishes_deferred_total",
          "Publishes (POST /api/publish) that waited for the fan-out backlog to drop.",
          publishes_deferred.load());
  counter("rushcast_publishes_rejected_total",
          "Publishes refused with 503 because the fan-out backlog stayed full (or on drain).",
          publishes_rejected.load());
  counter("rushcast_bus_events_read_total",
          "Cluster mode: events this node read from the event bus (Redis Stream).",
          bus_events_read.load());
  counter("rushcast_bus_publish_failures_total",
          "Cluster mode: publishes the bus did not take (Redis unreachable, or the reply lost).",
          bus_publish_failures.load());
  counter("rushcast_bus_resyncs_total",
          "Cluster mode: resync notices sent to live subscribers (a gap the bus could not "
          "fill, or a new epoch).",
          bus_resyncs.load());
  {
    std::lock_guard lk(mu_);
    o << "# HELP rushcast_admissions_total Seckill admissions by outcome.\n"
         "# TYPE rushcast_admissions_total counter\n";
    // Only outcomes that happened, in name order (the enum is in name order).
    for (std::size_t i = 0; i < admission_counts_.size(); ++i)
      if (auto v = admission_counts_[i].load(std::memory_order_relaxed))
        o << "rushcast_admissions_total{outcome=\""
          << admission_outcome_name(static_cast<admission_outcome>(i)) << "\"} " << v << "\n";
    o << "# HELP rushcast_bids_total Auction bids by outcome.\n"
         "# TYPE rushcast_bids_total counter\n";
    for (auto& [k, v] : bids()) o << "rushcast_bids_total{outcome=\"" << k << "\"} " << v << "\n";
    std::map<std::string, std::int64_t> all = gauges_;
    for (const auto& [k, cell] : gauge_cells_) all[k] = cell.load(std::memory_order_relaxed);
    std::string last;
    for (auto& [k, v] : all) {
      auto name = k.substr(0, k.find('{'));
      if (name != last) o << "# TYPE " << name << " gauge\n";
      last = name;
      o << k << " " << v << "\n";
    }
  }
  o << "# HELP rushcast_publish_to_write_seconds Time from hub publish to socket write.\n";
  o << publish_to_write.render("rushcast_publish_to_write_seconds");
  return o.str();
}

}  // namespace rushcast::obs
