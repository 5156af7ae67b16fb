// Owns nothing: the long-lived modules every connection needs, plus its connection slot.
// Built by app/server; passed to net::listener and every session.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

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

// One accepted connection's place in connection_limiter, held by whichever session owns the
// socket (http_session, then sse_session or ws_session); released when the last owner dies.
class conn_slot {
public:
  conn_slot(limits::connection_limiter& l, std::string ip) : limiter_(&l), ip_(std::move(ip)) {}
  // A connection refused over capacity: it holds no slot and releases none.
  explicit conn_slot(std::string ip) : limiter_(nullptr), ip_(std::move(ip)) {}
  ~conn_slot();
  conn_slot(const conn_slot&) = delete;
  conn_slot& operator=(const conn_slot&) = delete;
  const std::string& ip() const { return ip_; }

private:
  limits::connection_limiter* limiter_;
  std::string ip_;
};

using conn_slot_ptr = std::unique_ptr<conn_slot>;

}  // namespace rushcast::net
