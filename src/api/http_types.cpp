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

void decode_into(std::string_view s, bool plus_is_space, std::string& out) {
  out.clear();
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
}

}  // namespace

std::optional<std::string> request::header(std::string_view lower_name) const {
  if (const std::string* v = headers.get(lower_name)) return *v;
  return std::nullopt;
}

std::optional<std::string> request::param(std::string_view name) const {
  if (const std::string* v = query.get(name)) return *v;
  return std::nullopt;
}

void request::clear() noexcept {
  method.clear();
  target.clear();
  path.clear();
  query.clear();
  headers.clear();
  body.clear();
  remote_ip.clear();
  version = 11;
  home = nullptr;
}

response response::json(unsigned status, std::string body) {
  response r;
  r.status = status;
  r.headers.emplace_back(header_text::fixed("Content-Type"), header_text::fixed("application/json"));
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

void parse_query(std::string_view qs, core::string_map& out) {
  out.clear();
  if (!qs.empty() && qs.front() == '?') qs.remove_prefix(1);
  std::string key, value;
  while (!qs.empty()) {
    auto amp = qs.find('&');
    std::string_view pair = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view{} : qs.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    decode_into(pair.substr(0, eq), true, key);
    if (key.empty()) continue;
    if (eq == std::string_view::npos)
      value.clear();
    else
      decode_into(pair.substr(eq + 1), true, value);
    // The first occurrence wins, so a repeated key cannot override an earlier one.
    out.emplace(key, value);
  }
}

core::string_map parse_query(std::string_view qs) {
  core::string_map out;
  parse_query(qs, out);
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  decode_into(s, false, out);
  return out;
}

void percent_decode(std::string_view s, std::string& out) { decode_into(s, false, out); }

}  // namespace rushcast::api
