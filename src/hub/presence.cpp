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
  if (backend_) return backend_->node_joined(topic, user_id, m.username);
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
  if (backend_) return backend_->node_left(topic, user_id);
  hub_.publish(topic, "leave", dump(nlohmann::json{{"userId", user_id}, {"username", username}}));
}

std::vector<std::string> presence::users(const std::string& topic) const {
  std::vector<std::string> out;
  if (auto b = backend()) {
    for (auto& [id, name] : b->members(topic)) out.push_back(std::move(id));
    return out;
  }
  std::lock_guard lk(mu_);
  auto rit = rooms_.find(topic);
  if (rit == rooms_.end()) return out;
  for (const auto& [id, m] : rit->second) out.push_back(id);
  return out;
}

std::string presence::room_state_json(const std::string& topic) const {
  auto list = nlohmann::json::array();
  if (auto b = backend()) {
    for (auto& [id, name] : b->members(topic))
      list.push_back({{"userId", std::move(id)}, {"username", std::move(name)}});
  } else {
    std::lock_guard lk(mu_);
    if (auto rit = rooms_.find(topic); rit != rooms_.end())
      for (const auto& [id, m] : rit->second)
        list.push_back({{"userId", id}, {"username", m.username}});
  }
  return dump(nlohmann::json{{"room", topic}, {"users", std::move(list)}});
}

void presence::set_backend(std::shared_ptr<presence_backend> backend) {
  std::lock_guard lk(mu_);
  backend_ = std::move(backend);
}

std::shared_ptr<presence_backend> presence::backend() const {
  std::lock_guard lk(mu_);
  return backend_;
}

void presence::with_local_members(
    const std::function<void(const std::vector<local_member>&)>& fn) const {
  std::vector<local_member> all;
  std::lock_guard lk(mu_);
  for (const auto& [topic, users] : rooms_)
    for (const auto& [id, m] : users) all.push_back({topic, id, m.username});
  fn(all);
}

}  // namespace rushcast::hub
