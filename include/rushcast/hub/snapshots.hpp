// Owns the snapshot registry: who computes a topic's current state for a new subscriber.
// Used by the hub (subscribe) and, through hub::set_snapshot*, by the engines and chat presence.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace rushcast::hub {

enum class transport { sse, websocket, long_poll };

// A state event a topic's owner computes on demand (current stock, countdown with a fresh
// serverTime, auction price or init...). Sent after replay, without id.
struct snapshot_event {
  std::string name;
  std::string data_json;
};
// Must be thread-safe: called from any shard thread while subscribing.
using snapshot_fn = std::function<std::vector<snapshot_event>(transport)>;
// The snapshot source of a family of topics ("chat:" -> every room); gets the full topic.
using snapshot_prefix_fn =
    std::function<std::vector<snapshot_event>(const std::string& topic, transport)>;

class snapshot_registry {
public:
  // Registers the snapshot source of one topic. Thread-safe.
  void set(std::string topic, snapshot_fn fn);
  // Registers the snapshot source of every topic starting with prefix; an exact set() wins
  // over a prefix, and a longer prefix over a shorter one. Thread-safe.
  void set_prefix(std::string prefix, snapshot_prefix_fn fn);
  // The snapshot events of topic for a subscriber on t; none when no source claims it.
  // Thread-safe; the source runs outside the registry's lock, and may throw.
  std::vector<snapshot_event> of(const std::string& topic, transport t) const;

private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, snapshot_fn> exact_;
  std::map<std::string, snapshot_prefix_fn> prefixes_;
};

}  // namespace rushcast::hub
