// Owns who is in each chat room ("chat:ROOM"), counted per connection, and its join/leave events.
// Used by sessions (join on subscribe, leave on unsubscribe or close) and as the "chat:" snapshot.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace rushcast::hub {

class hub;

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

private:
  struct member {
    std::string username;
    std::size_t connections = 0;
  };
  hub& hub_;
  mutable std::mutex mu_;  // held across publish so join/leave order matches the state
  std::map<std::string, std::map<std::string, member>> rooms_;
};

}  // namespace rushcast::hub
