// Owns what the engines are started with (engine_deps). Used by engine/sales and
// engine/auctions, and app/server, which starts and stops them in order.
#pragma once

#include <boost/asio/any_io_executor.hpp>

namespace rushcast {
namespace config { struct config; }
namespace hub { class hub; }
namespace store { class sqlite_db; }
namespace obs { class metrics; }
}  // namespace rushcast

namespace rushcast::engine {

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

}  // namespace rushcast::engine
