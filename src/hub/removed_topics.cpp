// Linear probing with backward-shift deletion: no tombstones, so a full ring turning over
// forever never degrades the probes, and memory never moves after the first fill.
#include "rushcast/hub/removed_topics.hpp"

#include <algorithm>
#include <new>

namespace rushcast::hub {

namespace {
constexpr std::size_t npos = static_cast<std::size_t>(-1);
}

removed_topics::removed_topics(std::size_t capacity) : capacity_(capacity) {
  if (capacity_ == 0) return;
  std::size_t slots = 2;
  while (slots < 2 * capacity_) slots *= 2;  // load factor <= 1/2 keeps probes short
  mask_ = slots - 1;
  ring_.reset(new entry[capacity_]);
  index_.reset(static_cast<std::uint32_t*>(std::calloc(slots, sizeof(std::uint32_t))));
  if (!index_) throw std::bad_alloc();
}

std::size_t removed_topics::find_slot(std::uint64_t hash) const {
  for (std::size_t s = home(hash);; s = (s + 1) & mask_) {
    const std::uint32_t v = index_[s];
    if (v == 0) return npos;
    if (ring_[v - 1].hash == hash) return s;
  }
}

void removed_topics::erase_slot(std::size_t hole) {
  // Moves back every later entry of the cluster whose home does not lie cyclically in
  // (hole, j], so that every probe sequence still reaches its entry without a gap.
  for (std::size_t j = (hole + 1) & mask_; index_[j] != 0; j = (j + 1) & mask_) {
    const std::size_t k = home(ring_[index_[j] - 1].hash);
    const bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
    if (stays) continue;
    index_[hole] = index_[j];
    hole = j;
  }
  index_[hole] = 0;
}

void removed_topics::add(std::uint64_t hash, std::uint64_t seq) {
  if (capacity_ == 0) {
    floor_ = std::max(floor_, seq);
    return;
  }
  if (std::size_t s = find_slot(hash); s != npos) {
    auto& e = ring_[index_[s] - 1];
    e.seq = std::max(e.seq, seq);
    return;
  }
  std::size_t pos;
  if (count_ < capacity_) {
    pos = count_++;
  } else {
    pos = oldest_;
    oldest_ = (oldest_ + 1) % capacity_;
    floor_ = std::max(floor_, ring_[pos].seq);
    erase_slot(find_slot(ring_[pos].hash));
  }
  ring_[pos] = entry{hash, seq};
  std::size_t s = home(hash);
  while (index_[s] != 0) s = (s + 1) & mask_;
  index_[s] = static_cast<std::uint32_t>(pos + 1);
}

std::uint64_t removed_topics::seq_of(std::uint64_t hash) const {
  // Nothing removed yet (a burst's first max_age_ms): no probe into the cold index.
  if (capacity_ == 0 || count_ == 0) return floor_;
  const std::size_t s = find_slot(hash);
  return s == npos ? floor_ : ring_[index_[s] - 1].seq;
}

}  // namespace rushcast::hub
