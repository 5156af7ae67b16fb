// Owns the token buckets per user and per remote IP: sharded by key hash, each shard a mutex,
// a map and an LRU list, so the key count stays bounded. Used by api handlers and sessions.
#include "rushcast/limits/rate_limiter.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace rushcast::limits {
namespace {

constexpr std::size_t shard_count = 16;

struct bucket {
  double tokens;
  std::int64_t last_ms;
};

// Keys looked at, from the least recently used end, per take() for a bucket that is full again.
constexpr int idle_checks_per_take = 2;

// One shard of one table. Least recently used keys go first when the shard is full: an evicted
// key comes back with a full bucket, which only ever errs towards letting a request through.
// A key whose bucket has refilled to the burst is forgotten as well: a fresh bucket is full, so
// nothing changes for it, and a sale's stream of one-time buyers does not keep one entry each
// (up to the cap, ~150 B each) for ever.
class shard {
public:
  std::uint32_t take(std::string_view key, std::int64_t now_ms, double rate_per_s, double burst,
                     std::size_t cap) {
    std::lock_guard<std::mutex> lock(mu_);
    forget_idle(now_ms, rate_per_s, burst);
    auto it = map_.find(std::string(key));
    if (it == map_.end()) {
      if (map_.size() >= cap && !lru_.empty()) {
        map_.erase(lru_.back());
        lru_.pop_back();
      }
      lru_.emplace_front(key);
      it = map_.emplace(lru_.front(), entry{bucket{burst, now_ms}, lru_.begin()}).first;
    } else {
      lru_.splice(lru_.begin(), lru_, it->second.pos);
    }
    bucket& b = it->second.b;
    // A clock that steps back refills nothing, and never takes tokens away.
    if (now_ms > b.last_ms) {
      b.tokens = std::min(burst, b.tokens + static_cast<double>(now_ms - b.last_ms) * rate_per_s / 1000.0);
      b.last_ms = now_ms;
    }
    if (b.tokens >= 1.0) {
      b.tokens -= 1.0;
      return 0;
    }
    double wait = std::ceil((1.0 - b.tokens) * 1000.0 / rate_per_s);
    return static_cast<std::uint32_t>(std::clamp(wait, 1.0, 4.0e9));
  }

  std::size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return map_.size();
  }

private:
  struct entry {
    bucket b;
    std::list<std::string>::iterator pos;
  };

  // Caller holds mu_. Two per call outpace one new key per call, so idle keys cannot pile up.
  void forget_idle(std::int64_t now_ms, double rate_per_s, double burst) {
    for (int i = 0; i < idle_checks_per_take && !lru_.empty(); ++i) {
      auto it = map_.find(lru_.back());
      const bucket& b = it->second.b;
      const double refill = static_cast<double>(now_ms - b.last_ms) * rate_per_s / 1000.0;
      if (now_ms < b.last_ms || b.tokens + refill < burst) return;
      map_.erase(it);
      lru_.pop_back();
    }
  }

  std::mutex mu_;
  std::list<std::string> lru_;  // front = most recently used
  std::unordered_map<std::string, entry> map_;
};

struct table {
  std::array<shard, shard_count> shards;
  std::uint32_t take(std::string_view key, std::int64_t now_ms, double rate, double burst,
                     std::size_t per_shard_cap) {
    auto& s = shards[std::hash<std::string_view>{}(key) % shard_count];
    return s.take(key, now_ms, rate, burst, per_shard_cap);
  }
  std::size_t size() {
    std::size_t n = 0;
    for (auto& s : shards) n += s.size();
    return n;
  }
};

}  // namespace

struct rate_limiter::impl {
  config::rate_limit_cfg cfg;
  std::size_t per_shard_cap;
  table users;
  table ips;
};

rate_limiter::rate_limiter(const config::rate_limit_cfg& cfg, std::size_t max_keys)
    : impl_(std::make_unique<impl>()) {
  impl_->cfg = cfg;
  // Config validation keeps these positive; a zero rate from a caller would divide by zero.
  impl_->cfg.per_user_per_s = std::max(impl_->cfg.per_user_per_s, 1e-6);
  impl_->cfg.per_ip_per_s = std::max(impl_->cfg.per_ip_per_s, 1e-6);
  impl_->cfg.per_user_burst = std::max(impl_->cfg.per_user_burst, 1.0);
  impl_->cfg.per_ip_burst = std::max(impl_->cfg.per_ip_burst, 1.0);
  impl_->per_shard_cap = std::max<std::size_t>(1, max_keys / shard_count);
}

rate_limiter::~rate_limiter() = default;

std::uint32_t rate_limiter::check_user(std::string_view user_id, std::int64_t now_ms) {
  return impl_->users.take(user_id, now_ms, impl_->cfg.per_user_per_s, impl_->cfg.per_user_burst,
                           impl_->per_shard_cap);
}

std::size_t rate_limiter::user_keys() const { return impl_->users.size(); }

std::size_t rate_limiter::ip_keys() const { return impl_->ips.size(); }

std::uint32_t rate_limiter::check_ip(std::string_view ip, std::int64_t now_ms) {
  return impl_->ips.take(ip, now_ms, impl_->cfg.per_ip_per_s, impl_->cfg.per_ip_burst,
                         impl_->per_shard_cap);
}

}  // namespace rushcast::limits
