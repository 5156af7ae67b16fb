// Owns rushcast's contract error codes, their wire names and the error category.
// Used by every module; the HTTP status of each code lives in api/errc.hpp.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include <boost/system/error_code.hpp>

namespace rushcast {

enum class errc {
  ok = 0,
  bad_json,          // 400
  bad_request,       // 400 (generic bad parameter)
  missing_user_id,   // 400
  bad_user_id,       // 400
  bid_invalid,       // 400
  unsupported_media_type,  // 415
  unauthorized,      // 401
  forbidden,         // 403
  not_started,       // 403
  forbidden_topic,   // 403 (POST /api/publish to an engine-owned namespace)
  not_found,         // 404
  method_not_allowed,  // 405
  duplicate,         // 409
  bid_too_low,       // 409
  ended,             // 410
  payload_too_large, // 413
  header_too_large,  // 431
  rate_limited,      // 429
  over_capacity,     // 503
  unavailable,       // 503
  not_implemented,   // 501 (a Transfer-Encoding other than chunked)
  internal,          // 500
};

// The number of errc values; tables indexed by errc static_assert their size against it.
inline constexpr std::size_t errc_count = static_cast<std::size_t>(errc::internal) + 1;

const boost::system::error_category& rushcast_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;

std::string_view error_name(errc e) noexcept;  // "bad_json", ... the contract's codes

}  // namespace rushcast

namespace boost::system {
template <>
struct is_error_code_enum<rushcast::errc> : std::true_type {};
}  // namespace boost::system
