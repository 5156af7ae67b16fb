// Owns the running engines by id (sale engines: one node's or the cluster's; auction runners) and the default of each.
// Built by app/server at start-up; read by api handlers; not changed after start-up.
#pragma once

#include <map>
#include <memory>
#include <string>

namespace rushcast::engine {

class sale_engine;     // the local sale_runner or the cluster one
class auction_engine;  // the local auction_runner or the cluster one

class registry {
public:
  std::map<std::string, std::shared_ptr<sale_engine>> sales;
  std::map<std::string, std::shared_ptr<auction_engine>> auctions;
  std::string default_sale;     // the first configured sale: saleId when a request omits it
  std::string default_auction;  // likewise for auctionId

  std::shared_ptr<sale_engine> sale(const std::string& id) const {
    auto it = sales.find(id.empty() ? default_sale : id);
    return it == sales.end() ? nullptr : it->second;
  }
  std::shared_ptr<auction_engine> auction(const std::string& id) const {
    auto it = auctions.find(id.empty() ? default_auction : id);
    return it == auctions.end() ? nullptr : it->second;
  }
};

}  // namespace rushcast::engine
