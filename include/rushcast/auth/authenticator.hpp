// Owns who a request is: auth mode off (userId parameter) or jwt (HS256 token), and the
// publish key. Used by sessions at connect, by api handlers, and by ws_protocol.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "rushcast/api/http_types.hpp"
#include "rushcast/config/config.hpp"

namespace rushcast::auth {

struct identity {
  std::string user_id;  // empty = anonymous
  bool from_token = false;
};

class authenticator {
public:
  explicit authenticator(const config::auth_cfg& cfg);
  bool jwt_on() const { return jwt_on_; }
  // Mode off: userId from the query ("userId") or empty. Mode jwt: the token from "token"
  // query, "Authorization: Bearer", or cookie "rushcast_token"; no token = anonymous,
  // a bad/expired token = errc::unauthorized.
  boost::system::result<identity> identify(const api::request& req) const;
  // The user a JSON body may name: with auth off body_user_id wins; with jwt the token's sub.
  boost::system::result<std::string> acting_user(const api::request& req,
                                                  std::string_view body_user_id) const;
  // "Authorization: Bearer <publish_key>"; false when publish_key is empty.
  bool check_publish_key(const api::request& req) const;

private:
  config::auth_cfg cfg_;
  bool jwt_on_;
};

// Pure HS256 JWT. Returns the "sub" claim when signature and alg are good, "exp" is present and
// in the future, "nbf" (if present) is not, and sub passes api::check_user_id.
boost::system::result<std::string> verify_hs256(std::string_view token, std::string_view secret,
                                                std::int64_t now_s);
// Signs claims_json (a JSON object) with HS256; used by tests and the token tool.
std::string sign_hs256(std::string_view claims_json, std::string_view secret);

}  // namespace rushcast::auth
