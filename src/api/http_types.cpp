// Owns the plain request/response helpers shared by net/ and api/ (no Beast here).
// Used by net::http_session to fill requests and by every api handler to answer.
#include "rushcast/api/http_types.hpp"

namespace rushcast::api {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    // A malformed escape stays as typed: the validators downstream reject it if it matters.
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

}  // namespace

std::optional<std::string> request::header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> request::param(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

response response::json(unsigned status, std::string body) {
  response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

response response::text(unsigned status, std::string body, std::string content_type) {
  response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

std::map<std::string, std::string> parse_query(std::string_view qs) {
  std::map<std::string, std::string> out;
  if (!qs.empty() && qs.front() == '?') qs.remove_prefix(1);
  while (!qs.empty()) {
    auto amp = qs.find('&');
    std::string_view pair = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view{} : qs.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string key = decode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? std::string{} : decode(pair.substr(eq + 1), true);
    if (key.empty()) continue;
    // The first occurrence wins, so a repeated key cannot override an earlier one.
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

std::string percent_decode(std::string_view s) { return decode(s, false); }

}  // namespace rushcast::api
