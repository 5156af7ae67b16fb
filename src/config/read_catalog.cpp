// Owns reading the "sales" and "auctions" arrays of the config (see read_catalog.hpp).
// Used by config/load at start-up only: every error names the key (exit 2).
#include "rushcast/config/read_catalog.hpp"

#include <algorithm>
#include <set>

#include "rushcast/config/time.hpp"

namespace rushcast::config::detail {
namespace {

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

// Checks a time's syntax now (against epoch 0) and, when both ends can be compared (both
// absolute or both relative to the same first start), that the end comes after the start.
void check_window(const std::string& path, const std::string& start_at,
                  const std::string& end_at) {
  if (start_at.empty()) fail(join(path, "start_at"), "is required");
  if (end_at.empty()) fail(join(path, "end_at"), "is required");
  std::int64_t start = resolve_time(start_at, 0, join(path, "start_at"));
  std::int64_t end = resolve_time(end_at, 0, join(path, "end_at"));
  if (is_relative_time(start_at) == is_relative_time(end_at) && end <= start)
    fail(join(path, "end_at"), "must be after start_at");
}

sale_cfg read_sale(const json& j, const std::string& path) {
  sale_cfg out;
  section s(j, path);
  s.known({"id", "name", "stock", "start_at", "end_at", "per_user_limit", "process_rate_per_s"});
  s.string("id", out.id);
  if (!s.find("id")) fail(s.key("id"), "is required");
  if (!valid_id(out.id)) fail(s.key("id"), "must match [A-Za-z0-9_-]{1,64}");
  s.string("name", out.name);
  if (out.name.empty()) out.name = out.id;
  if (!s.find("stock")) fail(s.key("stock"), "is required");
  s.integer("stock", out.stock, 1, 1'000'000'000, "an integer between 1 and 1000000000");
  s.string("start_at", out.start_at);
  s.string("end_at", out.end_at);
  s.integer("per_user_limit", out.per_user_limit, 1, 1'000'000, "a positive integer");
  s.integer("process_rate_per_s", out.process_rate_per_s, 0, 1'000'000,
            "an integer between 0 and 1000000 (0 = as fast as the store commits)");
  s.finish();
  check_window(path, out.start_at, out.end_at);
  return out;
}

auction_cfg read_auction(const json& j, const std::string& path) {
  auction_cfg out;
  section s(j, path);
  s.known({"id", "name", "start_price", "min_increment", "reserve_price", "start_at", "end_at",
           "extend_window_ms", "extend_by_ms"});
  s.string("id", out.id);
  if (!s.find("id")) fail(s.key("id"), "is required");
  if (!valid_id(out.id)) fail(s.key("id"), "must match [A-Za-z0-9_-]{1,64}");
  s.string("name", out.name);
  if (out.name.empty()) out.name = out.id;
  constexpr std::int64_t max_amount = 1'000'000'000'000'000;
  s.integer("start_price", out.start_price, 0, max_amount, "a non-negative integer amount");
  s.integer("min_increment", out.min_increment, 1, max_amount, "a positive integer amount");
  s.integer("reserve_price", out.reserve_price, 0, max_amount, "a non-negative integer amount");
  s.string("start_at", out.start_at);
  s.string("end_at", out.end_at);
  s.integer("extend_window_ms", out.extend_window_ms, 0, max_ms,
            "an integer of milliseconds between 0 and 86400000");
  s.integer("extend_by_ms", out.extend_by_ms, 0, max_ms,
            "an integer of milliseconds between 0 and 86400000");
  s.finish();
  check_window(path, out.start_at, out.end_at);
  return out;
}

}  // namespace

void read_sales(const json& j, std::vector<sale_cfg>& out) {
  if (!j.is_array()) fail("sales", "must be an array of objects");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < j.size(); ++i) {
    std::string path = "sales[" + std::to_string(i) + "]";
    out.push_back(read_sale(j[i], path));
    if (!ids.insert(out.back().id).second)
      fail(path + ".id", "duplicate sale id \"" + out.back().id + "\"");
  }
}

void read_auctions(const json& j, std::vector<auction_cfg>& out) {
  if (!j.is_array()) fail("auctions", "must be an array of objects");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < j.size(); ++i) {
    std::string path = "auctions[" + std::to_string(i) + "]";
    out.push_back(read_auction(j[i], path));
    if (!ids.insert(out.back().id).second)
      fail(path + ".id", "duplicate auction id \"" + out.back().id + "\"");
  }
}

}  // namespace rushcast::config::detail
