// Owns the errors of the Redis connection (redis::error and its category): what a command's
// callback gets when it has no reply, or when Redis answered with an error reply.
// Used by redis::client and everything that calls Redis (store/redis_*, cluster/bus).
#pragma once

#include <boost/system/error_code.hpp>

namespace rushcast::redis {

enum class error {
  ok = 0,
  not_connected = 1,  // no connection now (connecting, or waiting to reconnect); not sent
  connection_lost,    // sent, but the connection dropped before the reply: outcome unknown
  timeout,            // no reply for redis_timeout_ms: the connection was dropped (as above)
  too_many_pending,   // redis_max_pending_commands or _bytes reached; not sent
  server_error,       // Redis answered with an error reply; its text is in reply.str
  protocol_error,     // bytes from Redis that are not RESP: the connection was dropped
  closed,             // client::close() was called; not sent, or sent and outcome unknown
};

const boost::system::error_category& redis_category() noexcept;
boost::system::error_code make_error_code(error e) noexcept;

// Sent, with no answer (the connection dropped or timed out): Redis may have run the command.
bool outcome_unknown(const boost::system::error_code& ec) noexcept;

}  // namespace rushcast::redis

namespace boost::system {
template <>
struct is_error_code_enum<rushcast::redis::error> : std::true_type {};
}  // namespace boost::system
