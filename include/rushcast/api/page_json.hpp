// Owns what the sale and auction info replies carry for the pages beyond the engine state: the
// product (config products: description, image, price, currency, each only when configured)
// and who is asking (auth mode, and with jwt the token's sub). Used by sale_routes and
// auction_routes (GET /api/sales/ID, /api/auctions/ID and their lists).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "rushcast/api/http_types.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/config/config.hpp"

namespace rushcast::api {

// Adds the product of topic ("sale:ID" / "auction:ID") to j, when the config has one.
inline void add_product(nlohmann::json& j,
                        const std::map<std::string, config::product_cfg>& products,
                        const std::string& topic) {
  auto it = products.find(topic);
  if (it == products.end()) return;
  const config::product_cfg& p = it->second;
  if (!p.description.empty()) j["description"] = p.description;
  if (!p.image.empty()) j["image"] = p.image;
  if (p.price) j["price"] = *p.price;
  if (!p.currency.empty()) j["currency"] = p.currency;
}

// "auth": "off"|"jwt", and with jwt "viewer": the sub of the request's valid token (token=,
// Authorization: Bearer or the cookie rushcast_token, as everywhere else). A page learns from
// it whether to ask for a user id (off) or who is signed in (jwt) even from an HttpOnly cookie.
inline void add_viewer(nlohmann::json& j, const auth::authenticator& auth, const request& req) {
  j["auth"] = auth.jwt_on() ? "jwt" : "off";
  if (!auth.jwt_on()) return;
  auto id = auth.identify(req);
  if (id && !id->user_id.empty()) j["viewer"] = id->user_id;
}

}  // namespace rushcast::api
