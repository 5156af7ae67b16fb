// Owns the depth-checked parse of client JSON.
// Used by api (bodies, WebSocket messages) and auth (JWT parts).
#include "rushcast/core/client_json.hpp"

namespace rushcast::core {

bool json_depth_within(std::string_view text, std::size_t max_depth) noexcept {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > max_depth) return false;
        break;
      case ']':
      case '}':
        // Unbalanced closers are the parser's to refuse; only the nesting matters here.
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return true;
}

boost::system::result<nlohmann::json> parse_client_json(std::string_view text) {
  // Before the parser: nlohmann builds, copies, dumps and compares values recursively, so a
  // deep document must never become a value at all.
  if (!json_depth_within(text)) return make_error_code(errc::bad_json);
  // No exceptions on the request path: a discarded value marks malformed input.
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return make_error_code(errc::bad_json);
  return j;
}

}  // namespace rushcast::core
