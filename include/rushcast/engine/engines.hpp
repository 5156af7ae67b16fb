// Owns the start-up and shutdown order of the engines. Used by app/server only.
#pragma once

#include <boost/asio/any_io_executor.hpp>

namespace rushcast {
namespace config { struct config; }
namespace hub { class hub; }
namespace store { class sqlite_db; }
namespace obs { class metrics; }
}  // namespace rushcast

namespace rushcast::engine {

class registry;

// Lent to start_sales/start_auctions for the length of the call. Runners copy out what they
// need (the executor, settings) or keep references to the long-lived modules themselves (hub,
// metrics, owned by app/server); nothing keeps a reference to a deps object, which app/server
// builds on its stack.
struct engine_deps {
  boost::asio::any_io_executor executor;  // each runner makes its own strand on it
  hub::hub& hub;
  store::sqlite_db& db;
  const config::config& cfg;
  obs::metrics& metrics;
};

// Create the store tables, recover each configured sale/auction from the store (resolving
// "+30s" times once and storing them), register snapshots with the hub, start timers, and add
// the runners to reg. Throws std::runtime_error at start-up on a store or config problem.
void start_sales(registry& reg, const engine_deps& deps);
void start_auctions(registry& reg, const engine_deps& deps);
// Cancel timers and let in-flight store commits finish; called on drain before db.stop().
void stop_sales(registry& reg);
void stop_auctions(registry& reg);

}  // namespace rushcast::engine
