// A redis-server and N daemons in cluster mode, for the cluster engine tests.
#include "harness_cluster.hpp"

#include <chrono>

#include <gtest/gtest.h>

namespace rushcast::test {

nlohmann::json cluster_node_config(const redis_server& r) {
  return nlohmann::json{
      {"storage", {{"backend", "redis"}, {"redis_url", r.url()}, {"redis_timeout_ms", 2000},
                   {"redis_reconnect_max_ms", 200}}},
      {"bus", {{"read_block_ms", 200}}},
      {"heartbeat_ms", 200},
      {"sales", nlohmann::json::array()},
      {"auctions", nlohmann::json::array()},
      {"rate_limit",
       {{"per_user_per_s", 100000}, {"per_user_burst", 100000}, {"per_ip_per_s", 1000000},
        {"per_ip_burst", 1000000}}}};
}

std::unique_ptr<daemon> start_cluster_node(const nlohmann::json& cfg) {
  auto d = std::make_unique<daemon>(cfg);
  const std::uint16_t port = d->port();
  if (!wait_until(std::chrono::seconds(10),
                  [&] { return http(port, "GET", "/readyz").status == 200; }))
    ADD_FAILURE() << "cluster node on port " << port << " not ready within 10 s";
  return d;
}

test_cluster::test_cluster(std::size_t n, const nlohmann::json& overrides) {
  nlohmann::json cfg = cluster_node_config(redis_);
  cfg.merge_patch(overrides);
  for (std::size_t i = 0; i < n; ++i) nodes_.push_back(start_cluster_node(cfg));
}

}  // namespace rushcast::test
