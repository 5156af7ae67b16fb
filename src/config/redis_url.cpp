// Parses storage.redis_url (redis://[[user]:password@]host[:port][/db]) into its parts.
#include "rushcast/config/redis_url.hpp"

#include <cctype>
#include <charconv>

namespace rushcast::config {
namespace {

std::optional<redis_url> bad(std::string* why, std::string what) {
  if (why) *why = std::move(what);
  return std::nullopt;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX-decodes s; false on a malformed escape.
bool percent_decode(std::string_view s, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

template <class T>
bool parse_number(std::string_view s, T& out, T lo, T hi) {
  if (s.empty() || s.size() > 10) return false;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return false;
  if (v < lo || v > hi) return false;
  out = static_cast<T>(v);
  return true;
}

}  // namespace

std::optional<redis_url> parse_redis_url(std::string_view text, std::string* why) {
  constexpr std::string_view scheme = "redis://";
  if (text.substr(0, scheme.size()) != scheme)
    return bad(why, "must start with redis:// (redis://[:password@]host:port/db)");
  std::string_view rest = text.substr(scheme.size());
  redis_url u;

  // The authority ends at the first '/'; the user info at its last '@' (a password may hold
  // an escaped '@' only, but a raw one is accepted too as long as the host has none).
  std::string_view path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view info = rest.substr(0, at);
    rest = rest.substr(at + 1);
    std::string_view user = info, pass;
    if (auto colon = info.find(':'); colon != std::string_view::npos) {
      user = info.substr(0, colon);
      pass = info.substr(colon + 1);
    } else {
      // redis://secret@host: the one word is the password (as redis-cli -u reads it).
      pass = info;
      user = {};
    }
    if (!percent_decode(user, u.username) || !percent_decode(pass, u.password))
      return bad(why, "has a malformed %-escape in its user or password");
    if (u.password.empty()) return bad(why, "has an empty password before '@'");
  }

  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad(why, "has an unclosed '[' in its host");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad(why, "has text after the IPv6 host");
      port = after.substr(1);
      if (port.empty()) return bad(why, "has an empty port");
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return bad(why, "has an empty port");
  }
  if (host.empty()) return bad(why, "has no host");
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
          c == ':'))
      return bad(why, "has a host with a character not allowed in a host name or address");
  u.host = std::string(host);
  if (!port.empty() && !parse_number<std::uint16_t>(port, u.port, 1, 65535))
    return bad(why, "has a port that is not an integer between 1 and 65535");
  if (!path.empty() && !parse_number<std::uint32_t>(path, u.db, 0, 1'000'000))
    return bad(why, "has a database (after '/') that is not an integer between 0 and 1000000");
  return u;
}

}  // namespace rushcast::config
