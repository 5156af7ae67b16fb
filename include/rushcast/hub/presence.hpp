// Owns who is in each chat room ("chat:ROOM"), counted per connection, and its join/leave events.
// Used by sessions (join on subscribe, leave on unsubscribe or close) and as the "chat:" snapshot.
// In cluster mode a backend (cluster/presence) makes membership cluster-wide: this object then
// counts this node's connections only, and tells the backend of its first join and last leave.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace rushcast::hub {

class hub;

// Where presence goes in cluster mode (implemented by cluster/presence).
class presence_backend {
public:
  virtual ~presence_backend() = default;
  // This node's first connection of user_id in topic, and its last one. Called under the
  // presence lock, in the order of this node's changes; must not block or call back.
  virtual void node_joined(const std::string& topic, const std::string& user_id,
                           const std::string& username) = 0;
  virtual void node_left(const std::string& topic, const std::string& user_id) = 0;
  // The room's members over the whole cluster, (user id, username), sorted by user id.
  // Thread-safe.
  virtual std::vector<std::pair<std::string, std::string>> members(
      const std::string& topic) const = 0;
};

// One user in one room on this node (a backend's full resynchronisation).
struct local_member {
  std::string topic, user_id, username;
};

class presence {
public:
  // Registers the "chat:" snapshot prefix on h ("room_state"); h must outlive this object.
  explicit presence(hub& h);
  presence(const presence&) = delete;
  presence& operator=(const presence&) = delete;

  // A connection of user_id subscribed to topic ("chat:ROOM"). First connection of that user in
  // the room publishes "join" {"userId","username"} (username defaults to user_id). An empty
  // user_id (anonymous) is not tracked. Thread-safe.
  void join(const std::string& topic, const std::string& user_id, const std::string& username);
  // Last connection of that user left: publishes "leave" {"userId","username"}. A leave without
  // a matching join changes nothing. Thread-safe.
  void leave(const std::string& topic, const std::string& user_id);
  // User ids present in topic, sorted.
  std::vector<std::string> users(const std::string& topic) const;
  // The "room_state" data object: {"room": topic, "users": [{"userId","username"}...]}.
  std::string room_state_json(const std::string& topic) const;

  // Cluster mode, once before the first join: join and leave go to backend (which publishes the
  // events), and users()/room_state_json() answer from backend->members(). nullptr: back to
  // this node alone (teardown).
  void set_backend(std::shared_ptr<presence_backend> backend);
  // Calls fn with every user in every room on this node, under the lock, so that what fn sends
  // is ordered with later node_joined/node_left calls. Thread-safe.
  void with_local_members(const std::function<void(const std::vector<local_member>&)>& fn) const;

private:
  std::shared_ptr<presence_backend> backend() const;

  struct member {
    std::string username;
    std::size_t connections = 0;
  };
  hub& hub_;
  std::shared_ptr<presence_backend> backend_;  // set once before use; read under mu_
  mutable std::mutex mu_;  // held across publish so join/leave order matches the state
  std::map<std::string, std::map<std::string, member>> rooms_;
};

}  // namespace rushcast::hub
