// Owns the snapshot registry: exact topics first, then the longest matching prefix.
// Used by hub::subscribe for every new subscription.
#include "rushcast/hub/snapshots.hpp"

namespace rushcast::hub {

void snapshot_registry::set(std::string topic, snapshot_fn fn) {
  std::lock_guard lk(mu_);
  exact_[std::move(topic)] = std::move(fn);
}

void snapshot_registry::set_prefix(std::string prefix, snapshot_prefix_fn fn) {
  std::lock_guard lk(mu_);
  prefixes_[std::move(prefix)] = std::move(fn);
}

std::vector<snapshot_event> snapshot_registry::of(const std::string& topic, transport t) const {
  snapshot_fn exact;
  snapshot_prefix_fn by_prefix;
  {
    std::lock_guard lk(mu_);
    if (auto it = exact_.find(topic); it != exact_.end()) {
      exact = it->second;
    } else {
      std::size_t best = 0;
      for (const auto& [prefix, fn] : prefixes_) {
        if (topic.starts_with(prefix) && (prefix.size() > best || !by_prefix)) {
          best = prefix.size();
          by_prefix = fn;
        }
      }
    }
  }
  if (exact) return exact(t);
  if (by_prefix) return by_prefix(topic, t);
  return {};
}

}  // namespace rushcast::hub
