// The bidder's answers written without a DOM are byte for byte what the DOM writes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rushcast/api/bid_replies.hpp"
#include "rushcast/api/errc.hpp"
#include "rushcast/api/json_body.hpp"

using namespace rushcast;
using namespace rushcast::api;
using reply = engine::auction_engine::bid_reply;

namespace {

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

reply make(errc code) {
  reply r;
  r.code = code;
  r.auction_id = "lot-7";
  r.bid_amount = 1234;
  r.current_price = code == errc::ok ? 1234 : 2000;
  r.min_increment = 5;
  r.min_acceptable = 2005;
  r.start_ms = 10;
  r.end_ms = 20;
  return r;
}

const std::string id_json = "\"lot-7\"";

}  // namespace

TEST(BidReplies, WebSocketAnswersAreWhatTheDomWrites) {
  auto ok = make(errc::ok);
  EXPECT_EQ(ws_bid_reply(ok, id_json, nullptr),
            dump({{"type", "accepted"},
                  {"auctionId", "lot-7"},
                  {"bidAmount", 1234},
                  {"currentPrice", 1234}}));
  auto low = make(errc::bid_too_low);
  nlohmann::json want = bid_refusal_fields(low);
  want["type"] = "error";
  want["code"] = "bid_too_low";
  want["message"] = bid_refusal_message(errc::bid_too_low);
  EXPECT_EQ(ws_bid_reply(low, id_json, nullptr), dump(want));
  // With a ref the DOM writes it, in its place.
  want["ref"] = 7;
  EXPECT_EQ(ws_bid_reply(low, id_json, 7), dump(want));
}

TEST(BidReplies, HttpAnswersAreWhatTheDomWrites) {
  auto ok = http_bid_reply(make(errc::ok), id_json);
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.body, dump({{"status", "accepted"},
                           {"auctionId", "lot-7"},
                           {"bidAmount", 1234},
                           {"currentPrice", 1234}}));
  auto low = make(errc::bid_too_low);
  auto res = http_bid_reply(low, id_json);
  auto want = error_response(errc::bid_too_low,
                             std::string(bid_refusal_message(errc::bid_too_low)),
                             bid_refusal_fields(low));
  EXPECT_EQ(res.status, want.status);
  EXPECT_EQ(res.body, want.body);
  EXPECT_EQ(res.headers, want.headers);
  auto unavailable = http_bid_reply(make(errc::unavailable), id_json);
  EXPECT_EQ(unavailable.status, 503u);
}
