// Owns who a request is: auth mode off (userId parameter) or jwt (HS256 token), and the
// publish key. Used by sessions at connect, by api handlers, and by ws_protocol.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "rushcast/auth/jwt.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/core/string_map.hpp"

namespace rushcast::auth {

// What auth reads of a request: its decoded query parameters and its headers (lower-case names).
// Built from anything that has both as maps (api::request does), so that auth knows no HTTP
// types; the maps must outlive the view.
struct request_view {
  using string_map = core::string_map;
  const string_map* query = nullptr;
  const string_map* headers = nullptr;

  request_view() = default;
  request_view(const string_map& q, const string_map& h) : query(&q), headers(&h) {}
  template <class Request>
    requires requires(const Request& r) {
      { r.query } -> std::convertible_to<const string_map&>;
      { r.headers } -> std::convertible_to<const string_map&>;
    }
  request_view(const Request& r) : query(&r.query), headers(&r.headers) {}  // NOLINT: implicit

  std::optional<std::string> param(std::string_view name) const;
  std::optional<std::string> header(std::string_view lower_name) const;
};

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
  boost::system::result<identity> identify(request_view req) const;
  // The user a JSON body may name: with auth off body_user_id wins; with jwt the token's sub.
  boost::system::result<std::string> acting_user(request_view req,
                                                  std::string_view body_user_id) const;
  // "Authorization: Bearer <publish_key>"; false when publish_key is empty.
  bool check_publish_key(request_view req) const;

private:
  config::auth_cfg cfg_;
  bool jwt_on_;
};

}  // namespace rushcast::auth
