// Returns a connection's slot to the limiter when its last owner is gone.
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/net/services.hpp"

namespace rushcast::net {

conn_slot::~conn_slot() {
  if (limiter_) limiter_->release(ip_);
}

}  // namespace rushcast::net
