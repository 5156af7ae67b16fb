// Owns reading the product fields of sales and auctions (description, image, price, currency),
// apart from the engines' keys. Used by config/load (take_products) and config/cli
// (check_product_images, after --static-dir).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "rushcast/config/config.hpp"

namespace rushcast::config::detail {

// Validates and removes the product keys of every object in j["sales"] and j["auctions"] into
// products ("sale:ID" / "auction:ID"), so that the sale and auction readers never see them.
// Throws config_error naming the key (sales[0].currency: ...).
void take_products(nlohmann::json& j, std::map<std::string, product_cfg>& products);

// With the final static_dir (after --static-dir): an image that is a path must name a regular
// file in static_dir when static_dir is a directory. Throws config_error naming the key.
void check_product_images(const config& c);

}  // namespace rushcast::config::detail
