// Owns the syntax of user ids and topic names.
// Used by auth, config and api through check_user_id() and valid_topic().
#include "rushcast/core/ids.hpp"

namespace rushcast::core {
namespace {

// Topics take ':' (namespaces) and '@' besides [A-Za-z0-9_.-], so that every user id
// check_user_id admits makes a valid "user:<id>" (alice@example.com may buy and then read her
// result).
bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '@' || c == ':' || c == '-';
}

}  // namespace

errc check_user_id(std::string_view user_id) {
  if (user_id.empty()) return errc::missing_user_id;
  if (user_id.size() > max_user_id_bytes) return errc::bad_user_id;
  for (char c : user_id)
    if (!id_char(c)) return errc::bad_user_id;
  return errc::ok;
}

bool valid_topic(std::string_view topic) {
  if (topic.empty() || topic.size() > max_topic_bytes) return false;
  for (char c : topic)
    if (!id_char(c)) return false;
  return true;
}

bool valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > max_idempotency_key_bytes) return false;
  for (char c : key)
    if (c == '@' || !id_char(c)) return false;
  return true;
}

}  // namespace rushcast::core
