// Owns the one table from rushcast::errc to HTTP status.
// Used by every api/ handler through http_status().
#include "rushcast/api/errc.hpp"

#include <array>

namespace rushcast {
namespace {

struct status_entry {
  errc value;
  unsigned status;
};

// One row per errc value, in enum order; the static_assert below keeps it complete.
constexpr std::array<status_entry, errc_count> table{{
    {errc::ok, 200},
    {errc::bad_json, 400},
    {errc::bad_request, 400},
    {errc::missing_user_id, 400},
    {errc::bad_user_id, 400},
    {errc::bid_invalid, 400},
    {errc::unsupported_media_type, 415},
    {errc::unauthorized, 401},
    {errc::forbidden, 403},
    {errc::not_started, 403},
    {errc::forbidden_topic, 403},
    {errc::not_found, 404},
    {errc::method_not_allowed, 405},
    {errc::duplicate, 409},
    {errc::bid_too_low, 409},
    {errc::ended, 410},
    {errc::payload_too_large, 413},
    {errc::header_too_large, 431},
    {errc::rate_limited, 429},
    {errc::over_capacity, 503},
    {errc::unavailable, 503},
    {errc::not_implemented, 501},
    {errc::internal, 500},
}};

constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < table.size(); ++i)
    if (static_cast<std::size_t>(table[i].value) != i || table[i].status == 0) return false;
  return true;
}
static_assert(table_in_enum_order(), "errc status rows must follow the enum order");

}  // namespace

unsigned http_status(errc e) noexcept {
  const auto v = static_cast<std::size_t>(e);
  return v < table.size() ? table[v].status : 500;
}

}  // namespace rushcast
