// Owns the namespace rules of topics: syntax, who may read "user:U", who may publish.
// Used by sessions (subscribe), ws_protocol (client publish) and POST /api/publish.
#include "rushcast/api/topics.hpp"

namespace rushcast::api {
namespace {

constexpr std::string_view user_prefix = "user:";
constexpr std::string_view chat_prefix = "chat:";

// Event names: [A-Za-z0-9_.-].
bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '-';
}

// Namespaces whose events only the engines publish: a backend forging "stock" on sale:demo or
// "auction_end" on auction:X would contradict the engines' state.
constexpr std::string_view engine_prefixes[] = {"sale:", "auction:", "sys:"};

}  // namespace

bool valid_event_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!name_char(c)) return false;
  return true;
}

errc check_subscribe(std::string_view topic, std::string_view user_id, bool auth_on) {
  if (!valid_topic(topic)) return errc::bad_request;
  if (topic.starts_with(user_prefix)) {
    std::string_view owner = topic.substr(user_prefix.size());
    if (owner.empty()) return errc::bad_request;
    // With auth on, user_id is the token's sub; with auth off it is the userId the client
    // named. Either way a private topic is readable only by the user it names.
    if (user_id.empty()) return auth_on ? errc::unauthorized : errc::forbidden;
    if (owner != user_id) return errc::forbidden;
  }
  return errc::ok;
}

errc check_client_publish(std::string_view topic) {
  if (!valid_topic(topic)) return errc::bad_request;
  if (!topic.starts_with(chat_prefix) || topic.size() == chat_prefix.size())
    return errc::forbidden;
  return errc::ok;
}

errc check_backend_publish(std::string_view topic) {
  if (!valid_topic(topic)) return errc::bad_request;
  for (std::string_view p : engine_prefixes)
    if (topic.starts_with(p)) return errc::forbidden_topic;
  return errc::ok;
}

std::vector<std::string> split_topics(std::string_view csv) {
  std::vector<std::string> out;
  while (!csv.empty()) {
    auto comma = csv.find(',');
    std::string_view part = csv.substr(0, comma);
    csv = comma == std::string_view::npos ? std::string_view{} : csv.substr(comma + 1);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

}  // namespace rushcast::api
