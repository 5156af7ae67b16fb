// One shard's topic -> subscriber lists. Removal is O(1) by swap-and-pop when no sweep holds the
// topic, and a tombstone when one does, so a sweep resumed later neither skips nor repeats.
#include "rushcast/hub/topic_index.hpp"

#include <algorithm>

namespace rushcast::hub {

bool topic_index::add(const std::string& topic, subscriber* sub, std::uint64_t start_seq) {
  auto& mem = subs_[sub];
  for (const auto& m : mem)
    if (m.topic == topic) return false;
  auto it = topics_.find(topic);
  if (it == topics_.end()) it = topics_.emplace(topic, topic_state{}).first;
  it->second.entries.push_back(entry{sub, start_seq});
  ++it->second.live;
  mem.push_back(membership{topic, it->second.entries.size() - 1});
  return true;
}

bool topic_index::remove(const std::string& topic, subscriber* sub) {
  auto sit = subs_.find(sub);
  if (sit == subs_.end()) return false;
  auto& mem = sit->second;
  auto mit = std::find_if(mem.begin(), mem.end(),
                          [&](const membership& m) { return m.topic == topic; });
  if (mit == mem.end()) return false;
  auto tit = topics_.find(topic);
  auto& ts = tit->second;
  const std::size_t pos = mit->pos;
  if (mit != mem.end() - 1) *mit = std::move(mem.back());
  mem.pop_back();
  if (mem.empty()) subs_.erase(sit);

  --ts.live;
  if (ts.pins > 0) {
    ts.entries[pos].sub = nullptr;
    return true;
  }
  // Unpinned topics hold no tombstones, so the last entry is live and can fill the hole.
  const std::size_t last = ts.entries.size() - 1;
  if (pos != last) {
    ts.entries[pos] = ts.entries[last];
    for (auto& m : subs_[ts.entries[pos].sub])
      if (m.topic == topic) m.pos = pos;
  }
  ts.entries.pop_back();
  if (ts.live == 0) topics_.erase(tit);
  return true;
}

std::size_t topic_index::remove_all(subscriber* sub) {
  auto sit = subs_.find(sub);
  if (sit == subs_.end()) return 0;
  std::vector<std::string> topics;
  topics.reserve(sit->second.size());
  for (const auto& m : sit->second) topics.push_back(m.topic);
  for (const auto& t : topics) remove(t, sub);
  return topics.size();
}

bool topic_index::contains(const std::string& topic, subscriber* sub) const {
  auto sit = subs_.find(sub);
  if (sit == subs_.end()) return false;
  for (const auto& m : sit->second)
    if (m.topic == topic) return true;
  return false;
}

std::size_t topic_index::count(std::string_view topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? 0 : it->second.live;
}

std::size_t topic_index::topic_count() const {
  std::size_t n = 0;
  for (const auto& [t, ts] : topics_)
    if (ts.live > 0) ++n;
  return n;
}

std::vector<std::string> topic_index::topics_of(subscriber* sub) const {
  std::vector<std::string> out;
  auto sit = subs_.find(sub);
  if (sit == subs_.end()) return out;
  for (const auto& m : sit->second) out.push_back(m.topic);
  std::sort(out.begin(), out.end());
  return out;
}

void topic_index::pin(const std::string& topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) it = topics_.emplace(topic, topic_state{}).first;
  ++it->second.pins;
}

void topic_index::unpin(const std::string& topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end() || it->second.pins == 0) return;
  --it->second.pins;
  maybe_compact(it);
}

void topic_index::maybe_compact(topic_map::iterator it) {
  auto& ts = it->second;
  if (ts.pins > 0) return;
  if (ts.live == 0) {
    topics_.erase(it);
    return;
  }
  if (ts.live == ts.entries.size()) return;
  std::size_t out = 0;
  for (std::size_t i = 0; i < ts.entries.size(); ++i) {
    if (ts.entries[i].sub == nullptr) continue;
    if (out != i) {
      ts.entries[out] = ts.entries[i];
      for (auto& m : subs_[ts.entries[out].sub])
        if (m.topic == it->first) m.pos = out;
    }
    ++out;
  }
  ts.entries.resize(out);
}

}  // namespace rushcast::hub
