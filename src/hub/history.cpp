// Per-topic rings of shared frames, trimmed by count on append and by age on every access and
// on the hub's sweep timer. A topic keeps the seq of its last evicted event, so a replay that
// would skip it is detected; a topic with nothing left to replay and no subscriber is removed,
// and that seq outlives it in a bounded table (removed_), so a resume across the removal is
// still detected. Without the removal every topic ever published to stayed: one `user:` topic
// per buyer (~1.6 KB each) grew the process without bound (issue 17).
#include "rushcast/hub/history.hpp"

#include <algorithm>
#include <charconv>

namespace rushcast::hub {

history::history(config::history_cfg cfg, std::string epoch, clock_fn now_ms)
    : cfg_(cfg),
      epoch_(std::move(epoch)),
      now_ms_(std::move(now_ms)),
      removed_(cfg.max_removed_topics) {}

void history::expire(ring& r, std::int64_t now) {
  while (!r.items.empty() && r.items.size() > cfg_.max_events_per_topic) {
    r.evicted_seq = r.items.front().seq;
    r.items.pop_front();
    --events_;
  }
  if (cfg_.max_age_ms == 0) return;
  const std::int64_t oldest = now - static_cast<std::int64_t>(cfg_.max_age_ms);
  while (!r.items.empty() && r.items.front().at_ms < oldest) {
    r.evicted_seq = r.items.front().seq;
    r.items.pop_front();
    --events_;
  }
}

history::ring& history::ring_for(std::string_view topic, std::uint64_t seq) {
  last_seq_ = std::max(last_seq_, seq);
  auto it = topics_.find(topic);
  if (it == topics_.end()) {
    it = topics_.try_emplace(std::string(topic)).first;
    // A topic removed before (or possibly removed, once forgotten one by one) starts with its
    // old gap: a client that missed events of the removed topic must still get resync.
    it->second.evicted_seq = removed_seq(topic);
  }
  auto& r = it->second;
  r.name = &it->first;
  if (r.aged) unlink_age(r);
  link_age_newest(r);
  return r;
}

void history::unlink_age(ring& r) noexcept {
  (r.older ? r.older->newer : oldest_) = r.newer;
  (r.newer ? r.newer->older : newest_) = r.older;
  r.older = r.newer = nullptr;
  r.aged = false;
}

void history::link_age_newest(ring& r) noexcept {
  r.older = newest_;
  r.newer = nullptr;
  (newest_ ? newest_->newer : oldest_) = &r;
  newest_ = &r;
  r.aged = true;
}

void history::append(const frame_ptr& f) {
  auto& r = ring_for(f->topic, f->seq);
  item i;
  i.seq = f->seq;
  i.at_ms = now_ms_();
  i.f = f;
  r.items.push_back(std::move(i));
  ++events_;
  expire(r, r.items.back().at_ms);
}

void history::append_unencoded(std::string_view topic, std::uint64_t seq, std::string_view name,
                               std::string data_json, bool state) {
  auto& r = ring_for(topic, seq);
  item i;
  i.seq = seq;
  i.at_ms = now_ms_();
  i.name = std::string(name);
  i.data = std::move(data_json);
  i.state = state;
  r.items.push_back(std::move(i));
  ++events_;
  expire(r, r.items.back().at_ms);
}

const frame_ptr& history::frame_of(const std::string& topic, item& i) {
  if (!i.f) {
    i.f = make_frame(make_id(i.seq), i.seq, topic, i.name, i.data, i.state);
    i.name = std::string();
    i.data = std::string();
  }
  return i.f;
}

std::uint64_t history::removed_seq(std::string_view topic) const {
  return removed_.seq_of(std::hash<std::string_view>{}(topic));
}

void history::remove(topic_map::iterator it) {
  ring& r = it->second;
  if (r.aged) unlink_age(r);
  events_ -= r.items.size();
  const std::size_t h = std::hash<std::string_view>{}(it->first);
  const std::uint64_t seq = std::max(r.evicted_seq, r.items.empty() ? 0 : r.items.back().seq);
  topics_.erase(it);
  ++removed_total_;
  removed_.add(h, seq);
}

std::size_t history::sweep(std::int64_t now, std::size_t max_topics,
                           const std::function<bool(const std::string&)>& in_use, bool& more) {
  more = false;
  std::size_t removed = 0;
  // Rings behind the first one that still keeps an event were appended to later, so each of
  // their newest events is younger: the walk stops there.
  while (oldest_) {
    if (max_topics == 0) {
      more = true;
      break;
    }
    --max_topics;
    auto it = topics_.find(*oldest_->name);
    ring& r = it->second;
    expire(r, now);
    if (!r.items.empty()) break;
    if (in_use && in_use(it->first)) {
      // Kept for its subscribers; release() removes it when the last one leaves.
      unlink_age(r);
      continue;
    }
    remove(it);
    ++removed;
  }
  return removed;
}

void history::release(const std::string& topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end() || !it->second.items.empty()) return;
  remove(it);
}

void history::set_epoch(std::string epoch, std::uint64_t base) {
  epoch_ = std::move(epoch);
  base_ = base;
  last_seq_ = std::max(last_seq_, base);
}

void history::lose_through(std::uint64_t seq) { lost_floor_ = std::max(lost_floor_, seq); }

std::string history::make_id(std::uint64_t seq) const {
  std::string id = epoch_;
  id += '-';
  id += std::to_string(seq - base_);
  return id;
}

std::optional<std::uint64_t> history::parse_id(std::string_view id, std::string& reason) const {
  auto seq = position(id, reason);
  // An id this run never issued cannot be a position in its stream.
  if (seq && *seq > last_seq_) {
    reason = "bad_id";
    return std::nullopt;
  }
  return seq;
}

std::optional<std::uint64_t> history::position(std::string_view id, std::string& reason) const {
  auto dash = id.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size()) {
    reason = "bad_id";
    return std::nullopt;
  }
  auto digits = id.substr(dash + 1);
  std::uint64_t seq = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc{} || end != digits.data() + digits.size()) {
    reason = "bad_id";
    return std::nullopt;
  }
  if (id.substr(0, dash) != epoch_) {
    reason = "epoch";
    return std::nullopt;
  }
  if (seq > UINT64_MAX - base_) {
    reason = "bad_id";
    return std::nullopt;
  }
  return seq + base_;
}

history::since_result history::since(const std::vector<std::string>& topics,
                                     std::string_view last_event_id) {
  since_result out;
  auto seq = parse_id(last_event_id, out.reason);
  if (!seq) {
    out.resync = true;
    return out;
  }
  return since_seq(topics, *seq);
}

history::since_result history::since_seq(const std::vector<std::string>& topics,
                                         std::uint64_t last_seq) {
  since_result out;
  // Which topics the lost events had is unknown: every one of them may have a gap.
  if (last_seq < lost_floor_) {
    out.resync = true;
    out.reason = "too_old";
    return out;
  }
  const std::int64_t now = now_ms_();
  std::vector<std::string> unique = topics;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  for (const auto& t : unique) {
    auto it = topics_.find(t);
    if (it == topics_.end()) {
      // Nothing kept: no gap unless the topic had events once and was removed since.
      if (removed_seq(t) > last_seq) {
        out.resync = true;
        out.reason = "too_old";
        out.frames.clear();
        return out;
      }
      continue;
    }
    auto& r = it->second;
    expire(r, now);
    if (r.evicted_seq > last_seq) {
      out.resync = true;
      out.reason = "too_old";
      out.frames.clear();
      return out;
    }
    auto first = std::upper_bound(r.items.begin(), r.items.end(), last_seq,
                                  [](std::uint64_t s, const item& i) { return s < i.seq; });
    for (auto i = first; i != r.items.end(); ++i) out.frames.push_back(frame_of(it->first, *i));
  }
  // Each frame belongs to one topic and topics are unique, so sorting leaves no duplicates.
  std::sort(out.frames.begin(), out.frames.end(),
            [](const frame_ptr& a, const frame_ptr& b) { return a->seq < b->seq; });
  return out;
}

std::size_t history::size(const std::string& topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? 0 : it->second.items.size();
}

}  // namespace rushcast::hub
