// Owns the configured auctions: their runners' creation from config and store, and their stop.
// Used by app/server at start-up and on drain.
#pragma once

#include "rushcast/engine/engines.hpp"

namespace rushcast::engine {

class registry;

// Create the store tables, recover each configured auction from the store (resolving "+30s"
// times once and storing them), register snapshots with the hub, start timers, and add the
// runners to reg. Throws std::runtime_error at start-up on a store or config problem.
void start_auctions(registry& reg, const engine_deps& deps);
// Cancel timers and let in-flight store commits finish; called on drain before db.stop().
void stop_auctions(registry& reg);

}  // namespace rushcast::engine
