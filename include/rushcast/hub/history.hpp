// Owns the bounded recent past of every topic (count and age), and the "<epoch>-<seq>" event ids.
// Used by hub under its mutex: append on publish, since() on subscribe and long-poll, sweep() on
// its timer. Pure.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "rushcast/config/config.hpp"
#include "rushcast/core/string_hash.hpp"
#include "rushcast/hub/frame.hpp"
#include "rushcast/hub/removed_topics.hpp"

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
  // The same event kept unencoded: its frame is made (once) only if a replay asks for it. For
  // events nobody is subscribed to when published, most of all a buyer's `user:U` result:
  // encoding them up front cost ~5 allocations and ~500 B per buyer that are rarely read.
  // The frame made later carries the same bytes append() would have kept (id from seq).
  void append_unencoded(std::string_view topic, std::uint64_t seq, std::string_view name,
                        std::string data_json, bool state);

  // Events of topics after the event id last_event_id. A malformed id gives resync "bad_id",
  // an id of another epoch (an earlier run) "epoch", and a gap (events of one of the topics
  // after it were already evicted) "too_old".
  since_result since(const std::vector<std::string>& topics, std::string_view last_event_id);
  since_result since_seq(const std::vector<std::string>& topics, std::uint64_t last_seq);

  // Removes topics whose every event is older than max_age_ms (or that keep none), oldest
  // append first, at most max_topics of them; in_use(topic) true keeps a topic (it has
  // subscribers) with its events trimmed. A removed topic's last evicted seq is remembered
  // (max_removed_topics of them; beyond, one floor for all), so since() still answers
  // "too_old" for a gap across the removal. Returns how many topics it removed; `more` is set
  // when max_topics stopped it before the work was done.
  std::size_t sweep(std::int64_t now, std::size_t max_topics,
                    const std::function<bool(const std::string&)>& in_use, bool& more);
  // The topic lost its last subscriber: removed now when it keeps no event.
  void release(const std::string& topic);

  // Cluster mode: ids from now on are "<epoch>-<seq - base>" (the bus's seq; the hub's own seq
  // stays increasing over epochs, so base is the hub's last seq when the epoch changed). Ids
  // of the previous epoch answer "epoch" from now on; the events kept are not touched (their
  // seqs are all <= base, so no id of the new epoch replays them) and age out as usual.
  void set_epoch(std::string epoch, std::uint64_t base);
  // Events up to seq (the hub's) may have been lost: an id before it answers "too_old".
  void lose_through(std::uint64_t seq);

  std::string make_id(std::uint64_t seq) const;
  // The seq of an id of this epoch; nullopt with reason set otherwise.
  std::optional<std::uint64_t> parse_id(std::string_view id, std::string& reason) const;
  // As parse_id, but an id beyond the last seq is returned too (a client that came from a
  // node that has read further).
  std::optional<std::uint64_t> position(std::string_view id, std::string& reason) const;

  const std::string& epoch() const { return epoch_; }
  std::uint64_t last_seq() const { return last_seq_; }
  std::size_t size(const std::string& topic) const;  // events kept for topic
  std::size_t topic_count() const { return topics_.size(); }
  std::size_t event_count() const { return events_; }  // events kept over all topics
  std::size_t removed_count() const { return removed_total_; }  // topics removed since start

private:
  struct item {
    std::uint64_t seq = 0;
    std::int64_t at_ms = 0;
    frame_ptr f;  // null while unencoded (append_unencoded): then name, data and state hold it
    std::string name;
    std::string data;
    bool state = false;
  };
  // The item's frame, encoded now if it was kept unencoded.
  const frame_ptr& frame_of(const std::string& topic, item& i);
  class item_queue {
  public:
    bool empty() const noexcept { return head_ == v_.size(); }
    std::size_t size() const noexcept { return v_.size() - head_; }
    item& front() noexcept { return v_[head_]; }
    item& back() noexcept { return v_.back(); }
    const item& back() const noexcept { return v_.back(); }
    void push_back(item i) { v_.push_back(std::move(i)); }
    void pop_front() {
      v_[head_] = item{};
      if (++head_ == v_.size()) {
        v_.clear();
        head_ = 0;
      } else if (head_ >= 32 && 2 * head_ >= v_.size()) {
        v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
      }
    }
    using items = boost::container::small_vector<item, 1>;
    items::iterator begin() noexcept { return v_.begin() + static_cast<std::ptrdiff_t>(head_); }
    items::iterator end() noexcept { return v_.end(); }

  private:
    items v_;
    std::size_t head_ = 0;
  };
  struct ring {
    item_queue items;
    std::uint64_t evicted_seq = 0;  // highest seq of this topic no longer kept
    // Its place among the topics by last append (an intrusive list: no node to allocate per
    // topic). Ring addresses are stable: the map's nodes never move.
    const std::string* name = nullptr;
    ring* older = nullptr;
    ring* newer = nullptr;
    bool aged = false;  // in the age list (always, while it keeps events)
  };
  void unlink_age(ring& r) noexcept;
  void link_age_newest(ring& r) noexcept;
  using topic_map = std::unordered_map<std::string, ring, core::string_hash, std::equal_to<>>;
  // The topic's ring, made if new, made the newest in the age list; seq is the event's.
  ring& ring_for(std::string_view topic, std::uint64_t seq);
  void expire(ring& r, std::int64_t now);
  void remove(topic_map::iterator it);
  // The highest seq topic may have had before its ring was (re)created: its remembered
  // removal, or the floor of forgotten removals.
  std::uint64_t removed_seq(std::string_view topic) const;

  config::history_cfg cfg_;
  std::string epoch_;
  std::uint64_t base_ = 0;        // seq - base_ is the number in an id (set_epoch)
  std::uint64_t lost_floor_ = 0;  // events up to here may be missing (lose_through)
  clock_fn now_ms_;
  std::uint64_t last_seq_ = 0;
  topic_map topics_;
  // Topics by last append, oldest first: the sweep walks from oldest_ and stops at the first
  // that still keeps an event.
  ring* oldest_ = nullptr;
  ring* newest_ = nullptr;
  std::size_t events_ = 0;
  std::size_t removed_total_ = 0;
  // Removed topics by hash of the name (a collision only merges two topics' seqs upwards,
  // which errs towards resync).
  removed_topics removed_;
};

}  // namespace rushcast::hub
