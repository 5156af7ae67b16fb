// The Origin policy of WebSocket upgrades and the Sec-WebSocket-Key syntax.
#include "rushcast/api/ws_origin.hpp"

#include <algorithm>
#include <cctype>

namespace rushcast::api {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// The first value of a header a proxy may have appended to ("https, http" -> "https").
std::string first_value(const std::string& v) {
  return std::string(trim(std::string_view(v).substr(0, v.find(','))));
}

// "host:80" for http and "host:443" for https are the same origin as "host".
std::string without_default_port(std::string host, std::string_view scheme) {
  std::string_view port = scheme == "https" ? ":443" : ":80";
  if (host.size() > port.size() && host.ends_with(port)) host.resize(host.size() - port.size());
  return host;
}

bool is_b64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '/';
}

}  // namespace

ws_origin check_ws_origin(const request& r, const std::vector<std::string>& allow_origins,
                          bool via_proxy) {
  auto origin = r.header("origin");
  if (!origin) return ws_origin::same_site;
  std::string scheme = "http";
  std::optional<std::string> host = r.header("host");
  if (via_proxy) {
    if (auto p = r.header("x-forwarded-proto")) scheme = lower(first_value(*p));
    if (auto h = r.header("x-forwarded-host")) host = first_value(*h);
  }
  if (host && !host->empty()) {
    std::string own = scheme + "://" + without_default_port(lower(*host), scheme);
    std::string o = lower(trim(*origin));
    auto colon = o.find("://");
    if (colon != std::string::npos &&
        o.substr(0, colon) + "://" +
                without_default_port(o.substr(colon + 3), std::string_view(o).substr(0, colon)) ==
            own)
      return ws_origin::same_site;
  }
  bool any = false;
  for (const auto& a : allow_origins) {
    if (a == "*") {
      any = true;
    } else if (lower(a) == lower(trim(*origin))) {
      return ws_origin::listed;
    }
  }
  return any ? ws_origin::cross_site : ws_origin::forbidden;
}

bool valid_ws_key(std::string_view key) {
  key = trim(key);
  if (key.size() != 24 || key.substr(22) != "==") return false;
  if (!std::all_of(key.begin(), key.begin() + 22, is_b64)) return false;
  // The 22nd character carries 2 bits of the 16th byte and 4 padding bits, which must be 0.
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  return (alphabet.find(key[21]) & 0x0F) == 0;
}

}  // namespace rushcast::api
