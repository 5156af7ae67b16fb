// Owns the server clock every "serverTime" is read from.
// Used by api handlers, ws_protocol and (through them) the engines' replies.
#include "rushcast/api/context.hpp"

namespace rushcast::api {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace rushcast::api
