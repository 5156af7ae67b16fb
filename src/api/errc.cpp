// Owns the one table from rushcast::errc to HTTP status and contract wire name.
// Used by every api/ handler through http_status(), error_name() and the error category.
#include "rushcast/api/errc.hpp"

#include <array>
#include <string>

namespace rushcast {
namespace {

struct errc_entry {
  errc value;
  unsigned status;
  std::string_view name;
  std::string_view message;
};

// One row per errc value, in enum order; the static_assert below keeps it complete.
constexpr std::array<errc_entry, 23> table{{
    {errc::ok, 200, "ok", "success"},
    {errc::bad_json, 400, "bad_json", "the body is not a JSON object"},
    {errc::bad_request, 400, "bad_request", "bad request parameter"},
    {errc::missing_user_id, 400, "missing_user_id", "userId is required"},
    {errc::bad_user_id, 400, "bad_user_id", "userId is not valid"},
    {errc::bid_invalid, 400, "bid_invalid", "bidAmount must be a positive integer"},
    {errc::unsupported_media_type, 415, "unsupported_media_type",
     "Content-Type must be application/json"},
    {errc::unauthorized, 401, "unauthorized", "missing or invalid credentials"},
    {errc::forbidden, 403, "forbidden", "not allowed"},
    {errc::not_started, 403, "not_started", "not started yet"},
    {errc::forbidden_topic, 403, "forbidden_topic", "the engines own this topic's namespace"},
    {errc::not_found, 404, "not_found", "not found"},
    {errc::method_not_allowed, 405, "method_not_allowed", "method not allowed"},
    {errc::duplicate, 409, "duplicate", "already requested"},
    {errc::bid_too_low, 409, "bid_too_low", "bid is too low"},
    {errc::ended, 410, "ended", "already ended"},
    {errc::payload_too_large, 413, "payload_too_large", "payload too large"},
    {errc::header_too_large, 431, "header_too_large", "request header too large"},
    {errc::rate_limited, 429, "rate_limited", "too many requests"},
    {errc::over_capacity, 503, "over_capacity", "server over capacity"},
    {errc::unavailable, 503, "unavailable", "service unavailable"},
    {errc::not_implemented, 501, "not_implemented", "not implemented"},
    {errc::internal, 500, "internal", "internal error"},
}};

static_assert(static_cast<std::size_t>(errc::internal) + 1 == table.size(),
              "every errc value needs a row in the table");

constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < table.size(); ++i)
    if (static_cast<std::size_t>(table[i].value) != i) return false;
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

unsigned http_status(errc e) noexcept {
  const auto* row = find(static_cast<int>(e));
  return row ? row->status : 500;
}

std::string_view error_name(errc e) noexcept {
  const auto* row = find(static_cast<int>(e));
  return row ? row->name : std::string_view("internal");
}

}  // namespace rushcast
