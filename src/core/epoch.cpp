#include "rushcast/core/epoch.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>

namespace rushcast::core {

std::string make_epoch() {
  std::random_device rd;
  auto now = std::chrono::system_clock::now().time_since_epoch().count();
  std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
                    static_cast<std::uint64_t>(now);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf, 10);
}

}  // namespace rushcast::core
