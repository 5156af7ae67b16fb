// Chat presence: per room, user -> open connections. Only the first join and the last leave of a
// user are broadcast, so a user with three tabs appears once.
#include "rushcast/hub/presence.hpp"

#include <nlohmann/json.hpp>

#include "rushcast/hub/hub.hpp"

namespace rushcast::hub {
namespace {

// Names and ids come from clients: never let one that is not UTF-8 make a dump throw (the
// edge refuses such names; this is the second line).
std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

presence::presence(hub& h) : hub_(h) {
  hub_.set_snapshot_prefix("chat:", [this](const std::string& topic, transport) {
    return std::vector<snapshot_event>{{"room_state", room_state_json(topic)}};
  });
}

void presence::join(const std::string& topic, const std::string& user_id,
                    const std::string& username) {
  if (user_id.empty()) return;
  std::lock_guard lk(mu_);
  auto& m = rooms_[topic][user_id];
  if (m.connections++ > 0) return;
  m.username = username.empty() ? user_id : username;
  hub_.publish(topic, "join", dump(nlohmann::json{{"userId", user_id}, {"username", m.username}}));
}

void presence::leave(const std::string& topic, const std::string& user_id) {
  std::lock_guard lk(mu_);
  auto rit = rooms_.find(topic);
  if (rit == rooms_.end()) return;
  auto uit = rit->second.find(user_id);
  if (uit == rit->second.end()) return;
  if (--uit->second.connections > 0) return;
  const std::string username = std::move(uit->second.username);
  rit->second.erase(uit);
  if (rit->second.empty()) rooms_.erase(rit);
  hub_.publish(topic, "leave", dump(nlohmann::json{{"userId", user_id}, {"username", username}}));
}

std::vector<std::string> presence::users(const std::string& topic) const {
  std::vector<std::string> out;
  std::lock_guard lk(mu_);
  auto rit = rooms_.find(topic);
  if (rit == rooms_.end()) return out;
  for (const auto& [id, m] : rit->second) out.push_back(id);
  return out;
}

std::string presence::room_state_json(const std::string& topic) const {
  auto list = nlohmann::json::array();
  {
    std::lock_guard lk(mu_);
    if (auto rit = rooms_.find(topic); rit != rooms_.end())
      for (const auto& [id, m] : rit->second)
        list.push_back({{"userId", id}, {"username", m.username}});
  }
  return dump(nlohmann::json{{"room", topic}, {"users", std::move(list)}});
}

}  // namespace rushcast::hub
