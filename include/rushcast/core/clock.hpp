// Owns the server clock: epoch milliseconds, the one clock every "serverTime" comes from.
// Used by api handlers, ws_protocol, the engines' start-up and the rate limiter's callers.
#pragma once

#include <cstdint>

namespace rushcast::core {

// Epoch milliseconds of the system clock. Thread-safe.
std::int64_t now_ms();

}  // namespace rushcast::core
