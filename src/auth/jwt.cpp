// Owns HS256 JSON Web Tokens: base64url, HMAC-SHA256 (OpenSSL), claim checks.
// Used by auth::authenticator for every token and by tests to mint tokens.
#include "rushcast/auth/jwt.hpp"

#include <array>
#include <string>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rushcast/core/client_json.hpp"
#include "rushcast/core/errc.hpp"
#include "rushcast/core/ids.hpp"

namespace rushcast::auth {
namespace {

constexpr char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8) |
                      std::uint8_t(in[i + 2]);
    out += b64url_chars[(v >> 18) & 63];
    out += b64url_chars[(v >> 12) & 63];
    out += b64url_chars[(v >> 6) & 63];
    out += b64url_chars[v & 63];
  }
  if (std::size_t rest = in.size() - i; rest > 0) {
    std::uint32_t v = std::uint8_t(in[i]) << 16;
    if (rest == 2) v |= std::uint8_t(in[i + 1]) << 8;
    out += b64url_chars[(v >> 18) & 63];
    out += b64url_chars[(v >> 12) & 63];
    if (rest == 2) out += b64url_chars[(v >> 6) & 63];
  }
  return out;
}

int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Unpadded base64url only (RFC 7515 section 2); anything else is malformed.
bool base64url_decode(std::string_view in, std::string& out) {
  if (in.size() % 4 == 1) return false;
  out.clear();
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = b64url_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, so each token has exactly one encoding.
  return (acc & ((1u << bits) - 1)) == 0;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data(), &len);
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

boost::system::error_code bad() { return make_error_code(errc::unauthorized); }

}  // namespace

boost::system::result<std::string> verify_hs256(std::string_view token, std::string_view secret,
                                                std::int64_t now_s) {
  if (secret.empty() || token.size() > 8192) return bad();
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return bad();
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return bad();
  std::string header_raw, payload_raw, sig;
  if (!base64url_decode(token.substr(0, dot1), header_raw) ||
      !base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload_raw) ||
      !base64url_decode(token.substr(dot2 + 1), sig))
    return bad();

  // Depth-checked like any client JSON: the header is read before the signature is checked.
  auto header_parsed = core::parse_client_json(header_raw);
  if (!header_parsed) return bad();
  const nlohmann::json& header = *header_parsed;
  // The algorithm is fixed by the server, never chosen by the token ("none" is refused here).
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || *alg != "HS256") return bad();

  std::string expected = hmac_sha256(secret, token.substr(0, dot2));
  if (sig.size() != expected.size() ||
      CRYPTO_memcmp(sig.data(), expected.data(), expected.size()) != 0)
    return bad();

  auto claims_parsed = core::parse_client_json(payload_raw);
  if (!claims_parsed) return bad();
  const nlohmann::json& claims = *claims_parsed;
  // A token without "exp" would be valid forever: a leaked one could never be retired.
  auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number() ||
      exp->get<double>() <= static_cast<double>(now_s))
    return bad();
  if (auto nbf = claims.find("nbf"); nbf != claims.end()) {
    if (!nbf->is_number() || nbf->get<double>() > static_cast<double>(now_s)) return bad();
  }
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string()) return bad();
  std::string user = sub->get<std::string>();
  if (core::check_user_id(user) != errc::ok) return bad();
  return user;
}

std::string sign_hs256(std::string_view claims_json, std::string_view secret) {
  std::string signing_input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims_json);
  return signing_input + "." + base64url_encode(hmac_sha256(secret, signing_input));
}

}  // namespace rushcast::auth
