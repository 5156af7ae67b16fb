// Fuzz target: the config loader (config::parse) on a JSON document, and the time values of
// sales and auctions (config::resolve_time). Invariant: a bad document or value is refused with
// config_error (exit 2, naming the key), never with another exception or a crash.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "rushcast/config/load.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rushcast::config;
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)parse(text);
  } catch (const config_error&) {
  }
  if (size <= 64) {
    try {
      (void)resolve_time(text, 1'800'000'000'000, "sales[0].start_at");
    } catch (const config_error&) {
    }
  }
  // Any other exception escapes: libFuzzer reports it as a crash with this input.
  return 0;
}
