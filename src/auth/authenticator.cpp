// Owns who a request is: the userId parameter (auth off) or an HS256 token's sub (auth jwt),
// and the publish key. Used by sessions at connect, api handlers and ws_protocol.
#include "rushcast/auth/authenticator.hpp"

#include <chrono>
#include <optional>

#include <openssl/crypto.h>

#include "rushcast/core/errc.hpp"
#include "rushcast/core/ids.hpp"

namespace rushcast::auth {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// "Bearer X" -> X (scheme case-insensitive, as RFC 7235 says); nullopt for any other form.
std::optional<std::string_view> bearer(const std::optional<std::string>& authz) {
  if (!authz) return std::nullopt;
  std::string_view v = *authz;
  if (v.size() < 7 || !iequals(v.substr(0, 6), "bearer") || v[6] != ' ') return std::nullopt;
  v.remove_prefix(7);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  return v;
}

std::optional<std::string> cookie(const std::optional<std::string>& header,
                                  std::string_view name) {
  if (!header) return std::nullopt;
  std::string_view rest = *header;
  while (!rest.empty()) {
    auto semi = rest.find(';');
    std::string_view part = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos || part.substr(0, eq) != name) continue;
    std::string_view value = part.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return std::nullopt;
}

std::optional<std::string> lookup(const request_view::string_map* map, std::string_view key) {
  if (!map) return std::nullopt;
  if (const std::string* v = map->get(key)) return *v;
  return std::nullopt;
}

std::int64_t now_s() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::optional<std::string> request_view::param(std::string_view name) const {
  return lookup(query, name);
}

std::optional<std::string> request_view::header(std::string_view lower_name) const {
  return lookup(headers, lower_name);
}

authenticator::authenticator(const config::auth_cfg& cfg)
    : cfg_(cfg), jwt_on_(cfg.mode == "jwt") {}

boost::system::result<identity> authenticator::identify(request_view req) const {
  if (!jwt_on_) {
    auto user = req.param("userId");
    if (!user || user->empty()) return identity{};
    if (core::check_user_id(*user) != errc::ok) return make_error_code(errc::bad_user_id);
    return identity{*user, false};
  }
  std::optional<std::string> token = req.param("token");
  if (!token || token->empty()) {
    auto authz = req.header("authorization");  // keep the string alive for bearer()'s view
    if (auto b = bearer(authz)) token = std::string(*b);
  }
  if (!token || token->empty()) token = cookie(req.header("cookie"), "rushcast_token");
  if (!token || token->empty()) return identity{};
  auto sub = verify_hs256(*token, cfg_.jwt_secret, now_s());
  if (!sub) return sub.error();
  return identity{std::move(*sub), true};
}

boost::system::result<std::string> authenticator::acting_user(request_view req,
                                                               std::string_view body_user_id) const {
  if (!jwt_on_) {
    if (errc e = core::check_user_id(body_user_id); e != errc::ok) return make_error_code(e);
    return std::string(body_user_id);
  }
  auto id = identify(req);
  if (!id) return id.error();
  if (id->user_id.empty()) return make_error_code(errc::unauthorized);
  return std::move(id->user_id);
}

bool authenticator::check_publish_key(request_view req) const {
  if (cfg_.publish_key.empty()) return false;
  auto authz = req.header("authorization");  // keep the string alive for bearer()'s view
  auto key = bearer(authz);
  if (!key || key->size() != cfg_.publish_key.size()) return false;
  return CRYPTO_memcmp(key->data(), cfg_.publish_key.data(), key->size()) == 0;
}

}  // namespace rushcast::auth
