// Owns one shard's map topic -> subscribers (with the first seq each may receive); pure, no Asio.
// Used by hub on that shard's thread only: subscribe/unsubscribe edit it, the fan-out sweeps it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rushcast/core/string_hash.hpp"

#include "rushcast/hub/subscriber.hpp"

namespace rushcast::hub {

class topic_index {
public:
  struct entry {
    subscriber* sub = nullptr;  // nullptr = removed while the topic was pinned (tombstone)
    std::uint64_t start_seq = 0;  // frames with a smaller seq are not for this subscriber
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  // Adds sub to topic; false (and nothing changes) when it is already there.
  bool add(const std::string& topic, subscriber* sub, std::uint64_t start_seq);
  // False when sub was not subscribed to topic.
  bool remove(const std::string& topic, subscriber* sub);
  // Removes sub from every topic; returns how many it left.
  std::size_t remove_all(subscriber* sub);

  bool contains(const std::string& topic, subscriber* sub) const;
  // Live subscribers of topic.
  std::size_t count(std::string_view topic) const;
  // Topics with at least one live subscriber.
  std::size_t topic_count() const;
  // Topics sub is subscribed to.
  std::vector<std::string> topics_of(subscriber* sub) const;

  // A sweep that spans several calls pins its topic: positions then stay stable (removals
  // leave tombstones, additions append) and the topic is not erased until unpin.
  void pin(const std::string& topic);
  void unpin(const std::string& topic);

  // Calls fn(subscriber&) for the entries of topic from position `from` on whose start_seq <=
  // seq, visiting at most `budget` entries (decremented per visit). Returns the position to
  // resume at, or npos when the list is done. fn may add or remove subscribers.
  template <class Fn>
  std::size_t sweep(std::string_view topic, std::uint64_t seq, std::size_t from,
                    std::size_t& budget, Fn&& fn) {
    auto it = topics_.find(topic);
    if (it == topics_.end()) return npos;
    // Index, not iterator: fn may append and reallocate the vector.
    for (std::size_t i = from; i < it->second.entries.size(); ++i) {
      if (budget == 0) return i;
      --budget;
      entry e = it->second.entries[i];
      if (e.sub != nullptr && e.start_seq <= seq) fn(*e.sub);
    }
    return npos;
  }

  // Every live subscriber of topic that should receive seq, in one call.
  template <class Fn>
  void for_each(const std::string& topic, std::uint64_t seq, Fn&& fn) {
    const std::string t = topic;  // fn may unsubscribe the owner of `topic`
    std::size_t budget = npos;
    pin(t);
    sweep(t, seq, 0, budget, fn);
    unpin(t);
  }

  // Every subscriber of this shard once, whatever its topics (a notice for all: the hub's
  // resync after a bus gap). fn may add or remove subscribers; one removed meanwhile is skipped.
  template <class Fn>
  void for_each_subscriber(Fn&& fn) {
    std::vector<subscriber*> all;
    all.reserve(subs_.size());
    for (const auto& [sub, mem] : subs_)
      if (!mem.empty()) all.push_back(sub);
    for (subscriber* sub : all)
      if (subs_.find(sub) != subs_.end()) fn(*sub);
  }

private:
  struct topic_state {
    std::vector<entry> entries;
    std::size_t live = 0;
    std::size_t pins = 0;
  };
  struct membership {
    std::string topic;
    std::size_t pos;  // index in topic_state::entries
  };
  // find() takes a string_view without building a std::string per frame.
  using topic_map =
      std::unordered_map<std::string, topic_state, core::string_hash, std::equal_to<>>;
  void maybe_compact(topic_map::iterator it);

  topic_map topics_;
  std::unordered_map<subscriber*, std::vector<membership>> subs_;
};

}  // namespace rushcast::hub
