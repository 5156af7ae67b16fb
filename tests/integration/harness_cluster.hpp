// Owns a test cluster: one redis-server (harness_redis) and N real daemons sharing its URL,
// each with its own temp dir and port. Used by the cluster-mode engine tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "harness_redis.hpp"

namespace rushcast::test {

// The config every node gets: storage.backend redis at r, a short bus block and heartbeat,
// loose rate limits, no sales or auctions (the overrides add them).
nlohmann::json cluster_node_config(const redis_server& r);
// A cluster node, returned once /readyz says it is ready: its bus connection is up, so a
// publish, purchase or bid right away is not refused while it still connects to Redis.
std::unique_ptr<daemon> start_cluster_node(const nlohmann::json& cfg);

class test_cluster {
public:
  // n daemons started one after the other, each with cluster_node_config merged with overrides.
  test_cluster(std::size_t n, const nlohmann::json& overrides);

  redis_server& redis() { return redis_; }
  daemon& node(std::size_t i) { return *nodes_.at(i); }
  std::uint16_t port(std::size_t i) const { return nodes_.at(i)->port(); }
  std::size_t size() const { return nodes_.size(); }

private:
  redis_server redis_;  // first: it outlives the nodes
  std::vector<std::unique_ptr<daemon>> nodes_;
};

}  // namespace rushcast::test
