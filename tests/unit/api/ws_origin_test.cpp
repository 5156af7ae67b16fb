// Who may open a WebSocket by its Origin, and the Sec-WebSocket-Key syntax.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rushcast/api/ws_origin.hpp"

using namespace rushcast::api;

namespace {

request upgrade(std::map<std::string, std::string> headers) {
  request r;
  r.method = "GET";
  r.path = "/ws";
  r.headers = std::move(headers);
  return r;
}

const std::vector<std::string> listed_only{"https://shop.example"};
const std::vector<std::string> any{"*"};

}  // namespace

TEST(WsOrigin, NoOriginIsANonBrowserClientAndAllowed) {
  EXPECT_EQ(check_ws_origin(upgrade({{"host", "a:8080"}}), listed_only, false),
            ws_origin::same_site);
}

TEST(WsOrigin, OwnSchemeAndHostIsSameSite) {
  auto r = upgrade({{"host", "127.0.0.1:8080"}, {"origin", "http://127.0.0.1:8080"}});
  EXPECT_EQ(check_ws_origin(r, listed_only, false), ws_origin::same_site);
  r = upgrade({{"host", "Example.COM"}, {"origin", "http://example.com:80"}});
  EXPECT_EQ(check_ws_origin(r, listed_only, false), ws_origin::same_site);
  // Another port or scheme is another origin.
  r = upgrade({{"host", "127.0.0.1:8080"}, {"origin", "http://127.0.0.1:9090"}});
  EXPECT_EQ(check_ws_origin(r, listed_only, false), ws_origin::forbidden);
  r = upgrade({{"host", "127.0.0.1:8080"}, {"origin", "https://127.0.0.1:8080"}});
  EXPECT_EQ(check_ws_origin(r, listed_only, false), ws_origin::forbidden);
}

TEST(WsOrigin, BehindATrustedProxyItsForwardedSchemeAndHostCount) {
  // The shipped nginx site: Host $http_host (port included), X-Forwarded-Proto $scheme. Other
  // proxies pass Host without the port and the browser's host in X-Forwarded-Host.
  auto r = upgrade({{"host", "shop.example"},
                    {"x-forwarded-proto", "https"},
                    {"origin", "https://shop.example"}});
  EXPECT_EQ(check_ws_origin(r, {}, true), ws_origin::same_site);
  r = upgrade({{"host", "shop.example:8443"},
               {"x-forwarded-proto", "https"},
               {"origin", "https://shop.example:8443"}});
  EXPECT_EQ(check_ws_origin(r, {}, true), ws_origin::same_site);
  // Without the proxy's word the scheme is http, and https://... is another origin.
  EXPECT_EQ(check_ws_origin(r, {}, false), ws_origin::forbidden);
  r = upgrade({{"host", "127.0.0.1"},
               {"x-forwarded-proto", "http"},
               {"x-forwarded-host", "127.0.0.1:8443"},
               {"origin", "http://127.0.0.1:8443"}});
  EXPECT_EQ(check_ws_origin(r, {}, true), ws_origin::same_site);
  // Not from a trusted proxy: the forwarded headers are the client's word and ignored.
  EXPECT_EQ(check_ws_origin(r, {}, false), ws_origin::forbidden);
}

TEST(WsOrigin, ListedOriginAllowedOtherForbiddenOrCrossSiteWithStar) {
  auto r = upgrade({{"host", "api.example"}, {"origin", "https://shop.example"}});
  EXPECT_EQ(check_ws_origin(r, listed_only, false), ws_origin::listed);
  r = upgrade({{"host", "api.example"}, {"origin", "https://evil.example"}});
  EXPECT_EQ(check_ws_origin(r, listed_only, false), ws_origin::forbidden);
  EXPECT_EQ(check_ws_origin(r, any, false), ws_origin::cross_site);
  r = upgrade({{"host", "api.example"}, {"origin", "null"}});
  EXPECT_EQ(check_ws_origin(r, listed_only, false), ws_origin::forbidden);
}

TEST(WsKey, OnlyBase64OfSixteenBytes) {
  EXPECT_TRUE(valid_ws_key("dGhlIHNhbXBsZSBub25jZQ=="));  // RFC 6455's example
  EXPECT_FALSE(valid_ws_key("abc"));
  EXPECT_FALSE(valid_ws_key(""));
  EXPECT_FALSE(valid_ws_key("dGhlIHNhbXBsZSBub25jZQ"));     // padding missing
  EXPECT_FALSE(valid_ws_key("dGhlIHNhbXBsZSBub25jZQ=a"));   // bad padding
  EXPECT_FALSE(valid_ws_key("dGhlIHNhbXBsZSBub25j*Q=="));   // not the alphabet
  EXPECT_FALSE(valid_ws_key("dGhlIHNhbXBsZSBub25jZR=="));   // non-zero padding bits
  EXPECT_FALSE(valid_ws_key("dGhlIHNhbXBsZSBub25jZSBh"));   // 18 bytes
}
