// Owns the start of the configured sales in cluster mode (storage.backend redis): each stored in
// Redis once (rc_sale_init; the first node's config wins), then a cluster_sale_runner per sale
// on one Redis connection. Used by engine::start_sales.
#pragma once

#include "rushcast/engine/engines.hpp"

namespace rushcast::engine {

class registry;

// Blocking, at start-up before any connection: throws std::runtime_error (exit 1) when Redis
// does not answer the init calls within storage.redis_timeout_ms.
void start_cluster_sales(registry& reg, const engine_deps& deps);

}  // namespace rushcast::engine
