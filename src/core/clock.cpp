// Owns the server clock every "serverTime" is read from.
// Used by api handlers, ws_protocol and the engines.
#include "rushcast/core/clock.hpp"

#include <chrono>

namespace rushcast::core {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace rushcast::core
