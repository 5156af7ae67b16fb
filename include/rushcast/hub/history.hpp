// Owns the bounded recent past of every topic (count and age), and the "<epoch>-<seq>" event ids.
// Used by hub under its mutex: append on publish, since() on subscribe and long-poll. Pure.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rushcast/config/config.hpp"
#include "rushcast/hub/frame.hpp"

namespace rushcast::hub {

class history {
public:
  // Milliseconds of a monotonic clock; injected so tests control event age.
  using clock_fn = std::function<std::int64_t()>;

  struct since_result {
    bool resync = false;
    std::string reason;               // "epoch" | "too_old" | "bad_id"
    std::vector<frame_ptr> frames;    // in seq order, no duplicates; empty when resync
  };

  // max_events_per_topic 0 keeps nothing; max_age_ms 0 means no age bound.
  history(config::history_cfg cfg, std::string epoch, clock_fn now_ms);

  // f->seq must be greater than every seq appended before (the hub assigns them in order).
  void append(const frame_ptr& f);

  // Events of topics after the event id last_event_id. A malformed id gives resync "bad_id",
  // an id of another epoch (an earlier run) "epoch", and a gap (events of one of the topics
  // after it were already evicted) "too_old".
  since_result since(const std::vector<std::string>& topics, std::string_view last_event_id);
  since_result since_seq(const std::vector<std::string>& topics, std::uint64_t last_seq);

  std::string make_id(std::uint64_t seq) const;
  // The seq of an id of this epoch; nullopt with reason set otherwise.
  std::optional<std::uint64_t> parse_id(std::string_view id, std::string& reason) const;

  const std::string& epoch() const { return epoch_; }
  std::uint64_t last_seq() const { return last_seq_; }
  std::size_t size(const std::string& topic) const;  // events kept for topic
  std::size_t topic_count() const { return topics_.size(); }

private:
  struct item {
    frame_ptr f;
    std::int64_t at_ms;
  };
  struct ring {
    std::deque<item> items;
    std::uint64_t evicted_seq = 0;  // highest seq of this topic no longer kept
  };
  void expire(ring& r, std::int64_t now);

  config::history_cfg cfg_;
  std::string epoch_;
  clock_fn now_ms_;
  std::uint64_t last_seq_ = 0;
  std::unordered_map<std::string, ring> topics_;
};

}  // namespace rushcast::hub
