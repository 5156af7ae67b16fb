// Owns HS256 JSON Web Tokens: verifying a token's signature and claims, and signing claims.
// Used by auth::authenticator (jwt mode), the tests and the token tool. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace rushcast::auth {

// Pure HS256 JWT. Returns the "sub" claim when signature and alg are good, "exp" is present and
// in the future, "nbf" (if present) is not, and sub passes core::check_user_id.
boost::system::result<std::string> verify_hs256(std::string_view token, std::string_view secret,
                                                std::int64_t now_s);
// Signs claims_json (a JSON object) with HS256; used by tests and the token tool.
std::string sign_hs256(std::string_view claims_json, std::string_view secret);

}  // namespace rushcast::auth
