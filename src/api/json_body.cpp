// Owns the shared JSON body parsing, error bodies and the userId rule of the HTTP API.
// Used by core, sale and auction handlers.
#include "rushcast/api/json_body.hpp"

#include <algorithm>
#include <cctype>

#include "rushcast/api/flat_json.hpp"

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

bool has_json_content_type(const request& req) {
  const std::string* ct = req.find_header("content-type");
  return ct && is_json_media_type(*ct);
}

std::optional<std::array<std::string_view, 2>> read_two_flat_strings(std::string_view text,
                                                                     std::string_view key1,
                                                                     std::string_view key2) {
  auto flat = flat_object::parse(text);
  if (!flat) return std::nullopt;
  std::array<std::string_view, 2> out{};
  const std::string_view keys[2] = {key1, key2};
  for (std::size_t k = 0; k < 2; ++k) {
    const flat_member* m = flat->find(keys[k]);
    if (!m) continue;
    // Another type is an error whose wording belongs to the general path.
    if (m->type != flat_member::kind::string) return std::nullopt;
    out[k] = m->text;
  }
  return out;
}

boost::system::result<nlohmann::json> parse_json_body(const request& req) {
  if (!has_json_content_type(req)) return make_error_code(errc::unsupported_media_type);
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
  r.headers.emplace_back(header_text::fixed("Retry-After"), std::to_string(seconds));
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
