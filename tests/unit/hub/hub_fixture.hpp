// The hub tests' shards: io_contexts polled by hand, and small helpers over frames.
// Used by the hub, dispatcher, publish gate and snapshot tests.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "recording_subscriber.hpp"
#include "rushcast/hub/hub.hpp"

namespace rushcast::hub::test {

struct shards {
  explicit shards(std::size_t n = 1, std::size_t history = 1000,
                  std::size_t max_backlog = hub::default_max_backlog)
      : ctx(n) {
    std::vector<boost::asio::any_io_executor> ex;
    for (auto& c : ctx) ex.push_back(c.get_executor());
    h = std::make_unique<hub>(ex, rushcast::config::history_cfg{history, 0}, "E", 256,
                              max_backlog);
  }
  // Runs only shard i's handlers (its sweeps, and on shard 0 the bounded publishes' timers).
  std::size_t poll_one_shard(std::size_t i) {
    ctx[i].restart();
    return ctx[i].poll();
  }
  void poll() {
    for (bool more = true; more;) {
      more = false;
      for (auto& c : ctx) {
        c.restart();
        if (c.poll() > 0) more = true;
      }
    }
  }
  std::vector<boost::asio::io_context> ctx;
  std::unique_ptr<hub> h;
};

// n subscribers of topic "t" on shard 0, subscribed in order.
inline std::vector<std::shared_ptr<recording_subscriber>> subscribe_many(hub& h, int n) {
  std::vector<std::shared_ptr<recording_subscriber>> subs;
  for (int i = 0; i < n; ++i) {
    subs.push_back(std::make_shared<recording_subscriber>());
    h.subscribe(subs.back(), {"t"}, std::nullopt, transport::sse);
  }
  return subs;
}

inline std::vector<std::uint64_t> seqs(const std::vector<frame_ptr>& frames) {
  std::vector<std::uint64_t> out;
  for (auto& f : frames) out.push_back(f->seq);
  return out;
}

inline std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> out;
  for (auto s = first; s <= last; ++s) out.push_back(s);
  return out;
}

inline std::string data(int i) { return nlohmann::json{{"i", i}}.dump(); }


}  // namespace rushcast::hub::test
