// Fuzz target: token verification (auth::verify_hs256) and where tokens come from
// (auth::authenticator::identify: "token" query, Authorization: Bearer, rushcast_token cookie).
// Byte 0 picks the mode; the rest is the input:
//   0 a token as a client sends it, verified with the server's secret;
//   1 claims JSON that the server signs itself: a token with a good signature is accepted only
//     with a string "sub", an "exp" in the future and no "nbf" in the future (issue 11 item 12:
//     "exp" is required), and never with another secret or a changed signature;
//   2 three lines -> Authorization header, Cookie header, token query, through identify().
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rushcast/api/http_types.hpp"
#include "rushcast/auth/authenticator.hpp"

using namespace rushcast;

namespace {

constexpr std::string_view secret = "fuzz-secret";
constexpr std::int64_t now_s = 1'800'000'000;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  __builtin_trap();
}

void signed_claims(std::string_view claims_text) {
  std::string token = auth::sign_hs256(claims_text, secret);
  auto r = auth::verify_hs256(token, secret, now_s);
  if (auth::verify_hs256(token, "other-secret", now_s)) violated("accepted with another secret");
  std::string tampered = token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  if (auth::verify_hs256(tampered, secret, now_s)) violated("accepted a changed signature");
  if (!r) return;
  auto claims = nlohmann::json::parse(claims_text, nullptr, false);
  if (claims.is_discarded() || !claims.is_object()) violated("accepted claims that are not an object");
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() || sub->get<std::string>() != *r)
    violated("accepted user is not the claims' sub");
  auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number() || exp->get<double>() <= now_s)
    violated("accepted a token without an exp in the future");
  auto nbf = claims.find("nbf");
  if (nbf != claims.end() && (!nbf->is_number() || nbf->get<double>() > now_s))
    violated("accepted a token before its nbf");
}

void identify(std::string_view in) {
  static const config::auth_cfg cfg{"jwt", std::string(secret), "publish-key"};
  static const auth::authenticator a(cfg);
  api::request req;
  std::string_view parts[3];
  for (auto& p : parts) {
    auto nl = in.find('\n');
    p = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  }
  if (!parts[0].empty()) req.headers["authorization"] = std::string(parts[0]);
  if (!parts[1].empty()) req.headers["cookie"] = std::string(parts[1]);
  if (!parts[2].empty()) req.query["token"] = std::string(parts[2]);
  auto id = a.identify(req);
  if (id && !id->user_id.empty() && !id->from_token) violated("a user without a token");
  (void)a.check_publish_key(req);
  (void)a.acting_user(req, "body-user");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: (void)auth::verify_hs256(in, secret, now_s); break;
    case 1: signed_claims(in); break;
    case 2: identify(in); break;
  }
  return 0;
}
