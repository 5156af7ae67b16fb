// Owns the JSON of an auction's events and state (see the header).
#include "rushcast/engine/auction_events.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace rushcast::engine {
namespace {

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json opt_json(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

nlohmann::json opt_json(const std::optional<std::int64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

std::string auction_price_json(std::string_view id, const auction_view& v) {
  return dump({{"auctionId", id},
               {"currentPrice", v.price},
               {"leadingUser", opt_json(v.leader)},
               {"bidCount", v.bid_count},
               {"endTime", v.end_ms}});
}

std::string auction_countdown_json(std::string_view id, const auction_view& v, std::int64_t now) {
  return dump({{"auctionId", id},
               {"startTime", v.start_ms},
               {"endTime", v.end_ms},
               {"serverTime", now},
               {"phase", v.phase(now)}});
}

std::string auction_init_json(std::string_view id, std::string_view name,
                              const auction_rules& rules, const auction_view& v,
                              std::int64_t now) {
  return dump({{"auctionId", id},
               {"item",
                {{"id", id},
                 {"name", name},
                 {"currentPrice", v.price},
                 {"leadingUser", opt_json(v.leader)},
                 {"bidCount", v.bid_count}}},
               {"countdown", v.end_ms},
               {"startTime", v.start_ms},
               {"endTime", v.end_ms},
               {"serverTime", now},
               {"phase", v.phase(now)},
               {"minIncrement", rules.min_increment},
               {"startPrice", rules.start_price}});
}

std::string auction_end_json(std::string_view id, const std::optional<std::string>& winner,
                             const std::optional<std::int64_t>& final_price) {
  return dump({{"auctionId", id}, {"winner", opt_json(winner)}, {"finalPrice", opt_json(final_price)}});
}

std::string auction_result_json(std::string_view id, bool won,
                                const std::optional<std::int64_t>& final_price,
                                std::int64_t bid_amount) {
  return dump({{"auctionId", id},
               {"result", won ? "won" : "lost"},
               {"finalPrice", opt_json(final_price)},
               {"bidAmount", bid_amount}});
}

nlohmann::json auction_state_json(std::string_view id, std::string_view name,
                                  const auction_rules& rules, const auction_view& v,
                                  std::int64_t now, std::size_t last_bids) {
  nlohmann::json bids = nlohmann::json::array();
  std::size_t skip = v.recent.size() > last_bids ? v.recent.size() - last_bids : 0;
  for (std::size_t i = skip; i < v.recent.size(); ++i) {
    const auto& b = v.recent[i];
    bids.push_back({{"seq", b.seq}, {"userId", b.user}, {"amount", b.amount}, {"time", b.ts_ms}});
  }
  std::int64_t next = v.bid_count == 0 ? std::max<std::int64_t>(rules.start_price, 1)
                                       : v.price + std::max<std::int64_t>(rules.min_increment, 1);
  nlohmann::json j{{"id", id},
                   {"auctionId", id},
                   {"name", name},
                   {"currentPrice", v.price},
                   {"leadingUser", opt_json(v.leader)},
                   {"bidCount", v.bid_count},
                   {"startPrice", rules.start_price},
                   {"minIncrement", rules.min_increment},
                   {"minNextBid", next},
                   {"reserveMet", v.bid_count > 0 && v.price >= rules.reserve_price},
                   {"phase", v.phase(now)},
                   {"startTime", v.start_ms},
                   {"endTime", v.end_ms},
                   {"serverTime", now},
                   {"bids", std::move(bids)}};
  if (v.ended) {
    j["winner"] = opt_json(v.winner);
    j["finalPrice"] = opt_json(v.final_price);
  }
  return j;
}

}  // namespace rushcast::engine
