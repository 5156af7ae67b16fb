// The redis::error category: one message per way a command can end without a usable reply.
#include "rushcast/redis/error.hpp"

#include <string>

namespace rushcast::redis {
namespace {

class category final : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "rushcast.redis"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::ok: return "ok";
      case error::not_connected: return "not connected to Redis (command not sent)";
      case error::connection_lost:
        return "the connection to Redis was lost before the reply (outcome unknown)";
      case error::timeout: return "Redis did not answer in time (outcome unknown)";
      case error::too_many_pending:
        return "too many Redis commands pending on this connection (command not sent)";
      case error::server_error: return "Redis answered with an error";
      case error::protocol_error: return "Redis sent bytes that are not RESP";
      case error::closed: return "the Redis client was closed";
    }
    return "unknown redis error";
  }
};

}  // namespace

const boost::system::error_category& redis_category() noexcept {
  static const category c;
  return c;
}

boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), redis_category()};
}

bool outcome_unknown(const boost::system::error_code& ec) noexcept {
  return ec == error::connection_lost || ec == error::timeout;
}

}  // namespace rushcast::redis
