// Bounded per-connection send queue with conflation of state frames.
#include "rushcast/net/write_queue.hpp"

namespace rushcast::net {

std::string write_queue::key_of(const hub::frame& f) {
  std::string k;
  k.reserve(f.topic.size() + 1 + f.name.size());
  k.append(f.topic).push_back('\0');
  k.append(f.name);
  return k;
}

write_queue::push_result write_queue::push(hub::frame_ptr f, std::size_t bytes) {
  push_result r;
  r.was_empty = live_ == 0;
  std::uint64_t replaced = UINT64_MAX;
  std::size_t freed = 0;
  std::string key;
  if (f->state) {
    key = key_of(*f);
    auto it = state_pos_.find(key);
    if (it != state_pos_.end() && it->second >= head_pos_) {
      auto& e = at(it->second);
      if (e.f) {
        replaced = it->second;
        freed = e.bytes;
      }
    }
  }
  // The cap is judged after conflation: a newer state value never grows a slow queue.
  std::size_t live_after = live_ - (replaced != UINT64_MAX ? 1 : 0);
  if (live_after > 0 && bytes_ - freed + bytes > max_bytes_) {
    r.over_cap = true;
    return r;
  }
  if (replaced != UINT64_MAX) {
    auto& e = at(replaced);
    e.f.reset();
    bytes_ -= e.bytes;
    e.bytes = 0;
    --live_;
    r.conflated = true;
  }
  std::uint64_t pos = head_pos_ + (entries_.size() - head_);
  if (f->state) state_pos_[std::move(key)] = pos;
  // A burst usually brings several frames: skip the 1, 2, 4 growth steps.
  if (entries_.capacity() == 0) entries_.reserve(8);
  entries_.push_back({std::move(f), bytes});
  bytes_ += bytes;
  ++live_;
  return r;
}

std::size_t write_queue::take_batch(std::vector<hub::frame_ptr>& out, std::size_t max_buffers,
                                    std::size_t max_bytes) {
  std::size_t taken = 0;
  std::size_t batch_bytes = 0;
  while (head_ < entries_.size() && taken < max_buffers) {
    auto& e = entries_[head_];
    if (e.f) {
      if (taken > 0 && batch_bytes + e.bytes > max_bytes) break;
      if (e.f->state) {
        auto it = state_pos_.find(key_of(*e.f));
        if (it != state_pos_.end() && it->second == head_pos_) state_pos_.erase(it);
      }
      batch_bytes += e.bytes;
      bytes_ -= e.bytes;
      --live_;
      ++taken;
      out.push_back(std::move(e.f));
    }
    pop_front();
  }
  // Tombstones at the head would otherwise wait for the next take.
  while (head_ < entries_.size() && !entries_[head_].f) pop_front();
  release_if_empty();
  return taken;
}

void write_queue::pop_front() {
  ++head_;
  ++head_pos_;
}

void write_queue::release_if_empty() {
  if (head_ == entries_.size()) {
    std::vector<entry>().swap(entries_);
    head_ = 0;
    // Every key was erased as its frame was taken; the bucket array would stay allocated.
    std::unordered_map<std::string, std::uint64_t>().swap(state_pos_);
  } else if (head_ >= 64 && head_ * 2 >= entries_.size()) {
    // A backlog that never empties: drop the taken prefix (amortized O(1) per frame).
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void write_queue::clear() {
  head_pos_ += entries_.size() - head_;
  entries_.resize(head_);
  release_if_empty();
  state_pos_.clear();
  bytes_ = 0;
  live_ = 0;
}

}  // namespace rushcast::net
