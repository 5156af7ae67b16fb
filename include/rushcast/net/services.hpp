// Owns nothing: the long-lived modules every connection needs (and, through conn_slot.hpp,
// the slot type every session holds).
// Built by app/server; passed to net::listener and every session.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "rushcast/net/conn_slot.hpp"
#include "rushcast/net/shard.hpp"

namespace rushcast {
namespace api { struct context; class router; class ws_protocol; }
namespace limits { class connection_limiter; }
}  // namespace rushcast

namespace rushcast::net {

struct services {
  api::context& ctx;
  const api::router& router;
  const api::ws_protocol& ws;
  limits::connection_limiter& conns;
  std::vector<std::unique_ptr<shard>>& shards;
  std::atomic<bool> draining{false};  // SIGTERM received: no new streams, no keep-alive
  std::atomic<bool> stopped{false};   // threads joined: sessions dying now must not publish
};

}  // namespace rushcast::net
