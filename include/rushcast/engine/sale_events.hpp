// Owns the JSON of a sale's events (stock, queue, countdown, the buyer's result), so that
// both sale engines (engine::sale_runner, engine::cluster_sale_runner) send the same bytes.
#pragma once

#include <cstdint>
#include <string>

#include "rushcast/engine/sale_engine.hpp"

namespace rushcast::engine {

std::string stock_json(const sale_view& v);
std::string queue_json(const sale_view& v);
std::string countdown_json(const sale_view& v, std::int64_t now_ms);
// The buyer's `result` event, once per order: what nlohmann's dump of the same object gives
// (keys in order), built without a DOM.
std::string result_json(const std::string& sale_id, const std::string& order_id,
                        std::int64_t position, std::int64_t stock);

}  // namespace rushcast::engine
