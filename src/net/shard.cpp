// A shard's session registry, used once per process lifetime: on drain.
#include "rushcast/net/shard.hpp"

#include <vector>

namespace rushcast::net {

void shard::drain_all() {
  std::vector<std::shared_ptr<drainable>> all;
  all.reserve(live_.size());
  for (auto& [p, w] : live_)
    if (auto s = w.lock()) all.push_back(std::move(s));
  for (auto& s : all) s->drain();
}

}  // namespace rushcast::net
