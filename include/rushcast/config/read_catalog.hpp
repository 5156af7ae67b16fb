// Owns reading the catalog of the config: the "sales" and "auctions" arrays, their ids, times
// and amounts. Used by config/load.
#pragma once

#include <vector>

#include "rushcast/config/config.hpp"
#include "rushcast/config/section.hpp"

namespace rushcast::config::detail {

// j must be an array of objects; ids must be unique within the array.
void read_sales(const json& j, std::vector<sale_cfg>& out);
void read_auctions(const json& j, std::vector<auction_cfg>& out);

}  // namespace rushcast::config::detail
