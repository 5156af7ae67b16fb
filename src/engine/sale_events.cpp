// The JSON of a sale's events, shared by both sale engines.
#include "rushcast/engine/sale_events.hpp"

#include <string_view>

#include <nlohmann/json.hpp>

namespace rushcast::engine {
namespace {

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A JSON string literal: quoted as is when nothing needs an escape (ids and order ids are
// topic-safe), else by nlohmann.
void append_json_string(std::string& out, std::string_view v) {
  for (unsigned char c : v)
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += nlohmann::json(std::string(v)).dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
      return;
    }
  out += '"';
  out += v;
  out += '"';
}

}  // namespace

std::string stock_json(const sale_view& v) {
  return dump({{"saleId", v.id}, {"stock", v.stock}, {"total", v.total}});
}

std::string queue_json(const sale_view& v) {
  return dump({{"saleId", v.id}, {"head", v.head}, {"queued", v.queued}});
}

std::string result_json(const std::string& sale_id, const std::string& order_id,
                         std::int64_t position, std::int64_t stock) {
  std::string out;
  out.reserve(96 + sale_id.size() + order_id.size());
  out += R"({"orderId":)";
  append_json_string(out, order_id);
  out += R"(,"position":)";
  out += std::to_string(position);
  out += R"(,"result":"success","saleId":)";
  append_json_string(out, sale_id);
  out += R"(,"stock":)";
  out += std::to_string(stock);
  out += '}';
  return out;
}

std::string countdown_json(const sale_view& v, std::int64_t now) {
  return dump({{"saleId", v.id},
               {"startTime", v.start_ms},
               {"endTime", v.end_ms},
               {"serverTime", now},
               {"phase", phase_name(v.phase_at(now))}});
}

sale_phase sale_view::phase_at(std::int64_t now_ms) const {
  if (now_ms < start_ms) return sale_phase::upcoming;
  if (now_ms >= end_ms) return sale_phase::ended;
  return all_reserved ? sale_phase::sold_out : sale_phase::open;
}

}  // namespace rushcast::engine
