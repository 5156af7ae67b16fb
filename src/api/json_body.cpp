// Owns the shared JSON body parsing, error bodies and the userId rule of the HTTP API.
// Used by core, sale and auction handlers.
#include "rushcast/api/json_body.hpp"

#include <algorithm>
#include <cctype>

namespace rushcast::api {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_json_media_type(std::string_view content_type) {
  std::string_view media = trim(content_type.substr(0, content_type.find(';')));
  constexpr std::string_view want = "application/json";
  return media.size() == want.size() &&
         std::equal(media.begin(), media.end(), want.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

bool is_json_content_type(const request& req) {
  auto ct = req.header("content-type");
  return ct && is_json_media_type(*ct);
}

namespace {

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A string token of printable ASCII without escapes, at text[i] == '"'; its contents, with i
// past the closing quote. nullopt for anything else.
std::optional<std::string_view> plain_string(std::string_view text, std::size_t& i) {
  if (i >= text.size() || text[i] != '"') return std::nullopt;
  const std::size_t from = ++i;
  for (; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"') return text.substr(from, i++ - from);
    if (c == '\\' || c < 0x20 || c > 0x7e) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::array<std::string_view, 2>> read_two_flat_strings(std::string_view text,
                                                                     std::string_view key1,
                                                                     std::string_view key2) {
  constexpr int max_members = 16;
  std::array<std::string_view, 2> out{};
  bool seen[2] = {false, false};
  std::size_t i = 0;
  auto skip = [&] {
    while (i < text.size() && json_space(text[i])) ++i;
  };
  skip();
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  ++i;
  skip();
  if (i < text.size() && text[i] == '}') {
    ++i;
  } else {
    for (int n = 0;; ++n) {
      if (n == max_members) return std::nullopt;
      auto key = plain_string(text, i);
      if (!key) return std::nullopt;
      skip();
      if (i >= text.size() || text[i] != ':') return std::nullopt;
      ++i;
      skip();
      auto value = plain_string(text, i);
      if (!value) return std::nullopt;
      for (int k = 0; k < 2; ++k) {
        if (*key != (k == 0 ? key1 : key2)) continue;
        if (seen[k]) return std::nullopt;  // which one wins is the general parser's call
        seen[k] = true;
        out[static_cast<std::size_t>(k)] = *value;
      }
      skip();
      if (i < text.size() && text[i] == ',') {
        ++i;
        skip();
        continue;
      }
      if (i < text.size() && text[i] == '}') {
        ++i;
        break;
      }
      return std::nullopt;
    }
  }
  skip();
  if (i != text.size()) return std::nullopt;
  return out;
}

boost::system::result<nlohmann::json> parse_json_body(const request& req) {
  auto ct = req.header("content-type");
  if (!ct || !is_json_media_type(*ct)) return make_error_code(errc::unsupported_media_type);
  return parse_client_json(req.body);
}

response error_response(errc e, std::string message, nlohmann::json extra) {
  nlohmann::json body = nlohmann::json::object();
  if (extra.is_object()) body = std::move(extra);
  body["error"] = std::string(error_name(e));
  body["message"] = std::move(message);
  return response::json(http_status(e),
                        body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

response json_response(const nlohmann::json& j, unsigned status) {
  return response::json(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

response rate_limited_response(std::uint32_t retry_after_ms, std::string_view scope) {
  response r = error_response(errc::rate_limited, "too many requests",
                              {{"retryAfterMs", retry_after_ms}, {"scope", scope}});
  add_retry_after(r, retry_after_ms);
  return r;
}

void add_retry_after(response& r, std::uint32_t retry_after_ms) {
  std::uint32_t seconds = std::max<std::uint32_t>(1, (retry_after_ms + 999) / 1000);
  r.headers.emplace_back("Retry-After", std::to_string(seconds));
}

std::string_view user_id_error_message(errc e) noexcept {
  switch (e) {
    case errc::missing_user_id: return "userId is required";
    case errc::bad_user_id: return "userId must be 1..120 bytes of [A-Za-z0-9_.@:-]";
    case errc::unauthorized: return "a valid token is required";
    default: return "the user could not be identified";
  }
}

boost::system::result<std::string> optional_string(const nlohmann::json& obj,
                                                   std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string{};
  if (!it->is_string()) return make_error_code(errc::bad_request);
  return it->get<std::string>();
}

}  // namespace rushcast::api
