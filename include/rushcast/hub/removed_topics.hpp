// The last event seq of the most recently removed topics, in memory fixed by the capacity: a
// FIFO ring of (name hash, seq) and an open-addressing index into it. Beyond the capacity the
// oldest removal is folded into one floor. A node-based map here grew and churned the heap for
// the first ~65k removals of a sale and never gave the pages back (issue 17's soak).
// Owned by history, under the hub's mutex. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace rushcast::hub {

class removed_topics {
public:
  // capacity 0 remembers nothing one by one: every removal goes to the floor.
  explicit removed_topics(std::size_t capacity);

  // A second removal of the same hash keeps its older place in the ring with the higher seq,
  // so it is folded into the floor sooner: that errs towards resync, never towards a gap.
  void add(std::uint64_t hash, std::uint64_t seq);
  // The seq remembered for hash (exact while remembered), else the floor of forgotten
  // removals.
  std::uint64_t seq_of(std::uint64_t hash) const;

  std::size_t size() const { return count_; }
  std::size_t capacity() const { return capacity_; }
  std::uint64_t floor() const { return floor_; }

private:
  struct entry {
    std::uint64_t hash;
    std::uint64_t seq;
  };
  struct free_deleter {
    void operator()(void* p) const { std::free(p); }
  };
  std::size_t home(std::uint64_t hash) const { return static_cast<std::size_t>(hash) & mask_; }
  // The index slot of hash's entry, or npos.
  std::size_t find_slot(std::uint64_t hash) const;
  void erase_slot(std::size_t slot);

  std::size_t capacity_;
  std::size_t mask_ = 0;
  // Left uninitialised and calloc'ed so that pages are touched only as the table fills.
  std::unique_ptr<entry[]> ring_;
  std::unique_ptr<std::uint32_t[], free_deleter> index_;  // ring position + 1; 0 = empty
  std::size_t oldest_ = 0;  // ring position of the oldest removal once full
  std::size_t count_ = 0;
  std::uint64_t floor_ = 0;
};

}  // namespace rushcast::hub
