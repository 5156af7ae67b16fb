// Owns the shape of the hub's figures as plain numbers, without names or labels.
// Filled by hub::hub::figures(); turned into gauges by obs::metrics::set_hub_figures.
#pragma once

#include <cstddef>
#include <vector>

namespace rushcast::obs {

struct hub_figures {
  std::vector<std::size_t> backlog;       // per shard: events not yet swept and flushed
  std::vector<std::size_t> backlog_peak;  // per shard: the highest backlog since start
  std::size_t backlog_limit = 0;          // limits.max_publish_backlog
  std::size_t publishes_waiting = 0;      // bounded publishes waiting now
  std::size_t topics_subscribed = 0;      // topics with at least one subscriber
  std::size_t history_topics = 0;         // topics history holds
  std::size_t history_events = 0;         // events history holds
  std::size_t topics_removed = 0;         // topics the idle sweep removed since start
};

}  // namespace rushcast::obs
