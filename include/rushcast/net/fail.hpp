// Owns how a connection reports an I/O failure, in the manner of Beast's examples: every
// completion handler starts with `if (ec) return fail(ec, "what");`. Used by every session.
#pragma once

#include <string_view>

#include <boost/system/error_code.hpp>

namespace rushcast::net {

// A failure that is the normal end of a connection (our own cancel or close, the peer's EOF or
// reset): not worth a log line.
bool is_quiet(const boost::system::error_code& ec);

// Logs "<kind> <ip>: <what>: <message>" at debug level unless the failure is quiet. The
// session's own fail() calls this, then ends the connection its way.
void log_failure(std::string_view kind, std::string_view ip, const boost::system::error_code& ec,
                 const char* what);

}  // namespace rushcast::net
