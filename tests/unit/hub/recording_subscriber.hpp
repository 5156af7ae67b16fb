// A real subscriber for hub tests: keeps every delivered frame, on a fixed shard.
// Used by the hub, coalescer and presence unit tests.
#pragma once

#include <functional>
#include <vector>

#include "rushcast/hub/subscriber.hpp"

namespace rushcast::hub::test {

class recording_subscriber : public subscriber {
public:
  explicit recording_subscriber(std::size_t shard_no = 0) : shard_no_(shard_no) {}
  void deliver(const frame_ptr& f) override { got.push_back(f); }
  std::size_t shard() const override { return shard_no_; }
  // Records how much had been delivered at each flush (what a session would write then).
  void flush() override {
    flushed_at.push_back(got.size());
    if (on_flush) on_flush();
  }

  std::vector<frame_ptr> got;
  std::vector<std::size_t> flushed_at;
  std::function<void()> on_flush;

private:
  std::size_t shard_no_;
};

}  // namespace rushcast::hub::test
