// Owns nothing: references to the long-lived modules that handlers need.
// Built by app/server after every module exists; outlives every session.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "rushcast/core/clock.hpp"

namespace rushcast {
namespace config { struct config; }
namespace hub { class hub; class presence; }
namespace auth { class authenticator; }
namespace limits { class rate_limiter; }
namespace obs { class metrics; }
namespace engine { class registry; }
namespace store { class store_health; }
}  // namespace rushcast

namespace rushcast::api {

struct context {
  const config::config& cfg;
  hub::hub& hub;
  hub::presence& presence;
  engine::registry& engines;
  auth::authenticator& auth;
  limits::rate_limiter& rate;
  obs::metrics& metrics;
  std::atomic<bool> ready{false};  // /readyz: set once listeners are bound and the store is recovered
  // /readyz also needs the store to take writes; null = no store to ask (unit tests).
  const store::store_health* store = nullptr;
  // Cluster mode: /readyz also needs this node's connection to the bus (Redis) up, since every
  // publish, purchase and bid goes there; empty = single node.
  std::function<bool()> bus_connected{};
};

// The server clock lives in core/clock.hpp; handlers name it unqualified inside api.
using core::now_ms;

}  // namespace rushcast::api
