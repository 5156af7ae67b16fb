// Owns one accepted connection's place in limits::connection_limiter. Made by net::listener,
// held by whichever session owns the socket.
#pragma once

#include <memory>
#include <string>

namespace rushcast::limits { class connection_limiter; }

namespace rushcast::net {

// One accepted connection's place in connection_limiter, held by whichever session owns the
// socket (http_session, then sse_session or ws_session); released when the last owner dies.
class conn_slot {
public:
  conn_slot(limits::connection_limiter& l, std::string ip, bool proxied = false)
      : limiter_(&l), ip_(std::move(ip)), proxied_(proxied), per_ip_(!proxied) {}
  // A connection refused over capacity: it holds no slot and releases none.
  explicit conn_slot(std::string ip) : limiter_(nullptr), ip_(std::move(ip)) {}
  ~conn_slot();
  conn_slot(const conn_slot&) = delete;
  conn_slot& operator=(const conn_slot&) = delete;
  // The client's address: the peer's, or for a trusted proxy the one it forwarded last.
  const std::string& ip() const { return ip_; }
  bool proxied() const { return proxied_; }
  // For a proxied connection: counts client_ip against max_connections_per_ip instead of the
  // previous client (a proxy's keep-alive connection carries many clients). false = over cap.
  bool rebind(std::string client_ip);

private:
  limits::connection_limiter* limiter_;
  std::string ip_;
  bool proxied_ = false;
  bool per_ip_ = false;  // ip_ holds a per-IP count
};

using conn_slot_ptr = std::unique_ptr<conn_slot>;

}  // namespace rushcast::net
