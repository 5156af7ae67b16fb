// Returns a connection's slot to the limiter when its last owner is gone.
#include "rushcast/net/conn_slot.hpp"

#include "rushcast/limits/connection_limiter.hpp"

namespace rushcast::net {

conn_slot::~conn_slot() {
  if (!limiter_) return;
  if (!proxied_) {
    limiter_->release(ip_);
    return;
  }
  if (per_ip_) limiter_->release_ip(ip_);
  limiter_->release_total();
}

bool conn_slot::rebind(std::string client_ip) {
  if (!limiter_ || !proxied_) return true;
  if (per_ip_ && client_ip == ip_) return true;
  if (per_ip_) limiter_->release_ip(ip_);
  ip_ = std::move(client_ip);
  per_ip_ = limiter_->try_acquire_ip(ip_);
  return per_ip_;
}

}  // namespace rushcast::net
