// Owns the table from rushcast::errc to the contract's wire name and a human message.
// Used through error_name() and the error category by every module.
#include "rushcast/core/errc.hpp"

#include <array>
#include <string>

namespace rushcast {
namespace {

struct errc_entry {
  errc value;
  std::string_view name;
  std::string_view message;
};

// One row per errc value, in enum order; the static_asserts below keep it complete.
constexpr std::array<errc_entry, errc_count> table{{
    {errc::ok, "ok", "success"},
    {errc::bad_json, "bad_json", "the body is not a JSON object"},
    {errc::bad_request, "bad_request", "bad request parameter"},
    {errc::missing_user_id, "missing_user_id", "userId is required"},
    {errc::bad_user_id, "bad_user_id", "userId is not valid"},
    {errc::bid_invalid, "bid_invalid", "bidAmount must be a positive integer"},
    {errc::unsupported_media_type, "unsupported_media_type",
     "Content-Type must be application/json"},
    {errc::unauthorized, "unauthorized", "missing or invalid credentials"},
    {errc::forbidden, "forbidden", "not allowed"},
    {errc::not_started, "not_started", "not started yet"},
    {errc::forbidden_topic, "forbidden_topic", "the engines own this topic's namespace"},
    {errc::not_found, "not_found", "not found"},
    {errc::method_not_allowed, "method_not_allowed", "method not allowed"},
    {errc::duplicate, "duplicate", "already requested"},
    {errc::bid_too_low, "bid_too_low", "bid is too low"},
    {errc::ended, "ended", "already ended"},
    {errc::payload_too_large, "payload_too_large", "payload too large"},
    {errc::header_too_large, "header_too_large", "request header too large"},
    {errc::rate_limited, "rate_limited", "too many requests"},
    {errc::over_capacity, "over_capacity", "server over capacity"},
    {errc::unavailable, "unavailable", "service unavailable"},
    {errc::not_implemented, "not_implemented", "not implemented"},
    {errc::internal, "internal", "internal error"},
}};

constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < table.size(); ++i)
    if (static_cast<std::size_t>(table[i].value) != i || table[i].name.empty()) return false;
  return true;
}
static_assert(table_in_enum_order(), "errc table rows must follow the enum order");

const errc_entry* find(int v) noexcept {
  if (v < 0 || static_cast<std::size_t>(v) >= table.size()) return nullptr;
  return &table[static_cast<std::size_t>(v)];
}

class category_impl : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "rushcast"; }
  std::string message(int ev) const override {
    const auto* e = find(ev);
    return e ? std::string(e->message) : "unknown rushcast error";
  }
};

}  // namespace

const boost::system::error_category& rushcast_category() noexcept {
  static const category_impl cat;
  return cat;
}

boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), rushcast_category()};
}

std::string_view error_name(errc e) noexcept {
  const auto* row = find(static_cast<int>(e));
  return row ? row->name : std::string_view("internal");
}

}  // namespace rushcast
