// Owns the syntax of storage.redis_url: redis://[[user]:password@]host[:port][/db].
// Used by config (validation at load) and redis::client_options (the connection's endpoint).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rushcast::config {

struct redis_url {
  std::string host;  // a name, an IPv4 address, or an IPv6 address (written [::1] in the URL)
  std::uint16_t port = 6379;
  std::string username;  // Redis 6 ACL user; empty = AUTH with the password only
  std::string password;  // empty = no AUTH
  std::uint32_t db = 0;  // SELECT when not 0
};

// Percent-escapes (%40 for '@') are decoded in the user and password. On failure: nullopt, and
// *why (when given) says what is wrong, without repeating the password.
std::optional<redis_url> parse_redis_url(std::string_view text, std::string* why = nullptr);

}  // namespace rushcast::config
