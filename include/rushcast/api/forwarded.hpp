// Owns which client a trusted proxy says it forwards (X-Real-IP, X-Forwarded-For). Used by
// net::http_session on a connection from trusted_proxies, before limits key on the address.
#pragma once

#include <string>

#include "rushcast/api/http_types.hpp"

namespace rushcast::api {

// The client as a trusted proxy names it: X-Real-IP, else the last X-Forwarded-For hop (the
// one the proxy appended; earlier hops are whatever the client claimed). Empty when absent or
// when it is not an address (it becomes a limiter key and a log field).
std::string forwarded_client(const request& r);

}  // namespace rushcast::api
