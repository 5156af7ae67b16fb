// Owns the token buckets per user and per remote IP: sharded by key hash, each shard a mutex,
// an open-addressing index over a slab of fixed-size entries and an LRU list threaded through
// the slab, so the key count stays bounded and a new key costs no allocation. Used by api
// handlers and sessions.
#include "rushcast/limits/rate_limiter.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>
#include <vector>

namespace rushcast::limits {
namespace {

constexpr std::size_t shard_count = 16;

// Keys looked at, from the least recently used end, per take() for a bucket that is full again.
constexpr int idle_checks_per_take = 2;

constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

// SipHash-1-3 of key under a per-process random key: the tables hold this 64-bit digest, not
// the key, so an entry has a fixed size. Two keys share a bucket only if their digests collide
// (about 1 in 10^8 for a million keys at once), and a client cannot aim for that without the
// process's secret.
class keyed_hash {
public:
  keyed_hash() {
    std::random_device rd;
    k0_ = (std::uint64_t{rd()} << 32) ^ rd();
    k1_ = (std::uint64_t{rd()} << 32) ^ rd();
  }

  std::uint64_t operator()(std::string_view key) const noexcept {
    std::uint64_t v0 = k0_ ^ 0x736f6d6570736575ULL;
    std::uint64_t v1 = k1_ ^ 0x646f72616e646f6dULL;
    std::uint64_t v2 = k0_ ^ 0x6c7967656e657261ULL;
    std::uint64_t v3 = k1_ ^ 0x7465646279746573ULL;
    auto round = [&] {
      v0 += v1;
      v1 = std::rotl(v1, 13);
      v1 ^= v0;
      v0 = std::rotl(v0, 32);
      v2 += v3;
      v3 = std::rotl(v3, 16);
      v3 ^= v2;
      v0 += v3;
      v3 = std::rotl(v3, 21);
      v3 ^= v0;
      v2 += v1;
      v1 = std::rotl(v1, 17);
      v1 ^= v2;
      v2 = std::rotl(v2, 32);
    };
    const char* p = key.data();
    std::size_t n = key.size();
    for (; n >= 8; p += 8, n -= 8) {
      std::uint64_t m;
      std::memcpy(&m, p, 8);  // little-endian on every target we build for
      v3 ^= m;
      round();
      v0 ^= m;
    }
    std::uint64_t last = std::uint64_t{key.size() & 0xff} << 56;
    for (std::size_t i = 0; i < n; ++i) last |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    v3 ^= last;
    round();
    v0 ^= last;
    v2 ^= 0xff;
    round();
    round();
    round();
    return v0 ^ v1 ^ v2 ^ v3;
  }

private:
  std::uint64_t k0_ = 0, k1_ = 0;
};

// One shard of one table. Least recently used keys go first when the shard is full: an evicted
// key comes back with a full bucket, which only ever errs towards letting a request through.
// A key whose bucket has refilled to the burst is forgotten as well: a fresh bucket is full, so
// nothing changes for it, and a sale's stream of one-time buyers does not keep one entry each
// (up to the cap) for ever.
// Memory: 32 bytes of slab per key held, plus 4-8 bytes of index; both grow to the most keys
// held at once (at most the cap) and are reused, not given back.
class shard {
public:
  std::uint32_t take(std::uint64_t key, std::int64_t now_ms, double rate_per_s, double burst,
                     std::size_t cap) {
    std::lock_guard<std::mutex> lock(mu_);
    forget_idle(now_ms, rate_per_s, burst);
    std::size_t pos = find(key);
    std::uint32_t at;
    if (index_.empty() || index_[pos] == 0) {
      if (size_ >= cap && tail_ != none) remove(tail_);
      at = add(key, burst, now_ms);
    } else {
      at = index_[pos] - 1;
      unlink(at);
      link_front(at);
    }
    entry& b = slots_[at];
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
    return size_;
  }

private:
  struct entry {
    std::uint64_t key;  // the keyed digest
    double tokens;
    std::int64_t last_ms;
    std::uint32_t newer;  // towards the most recently used end, or none
    std::uint32_t older;  // towards the least recently used end, or none; the free list's link
  };

  // Caller holds mu_. Two per call outpace one new key per call, so idle keys cannot pile up.
  void forget_idle(std::int64_t now_ms, double rate_per_s, double burst) {
    for (int i = 0; i < idle_checks_per_take && tail_ != none; ++i) {
      const entry& b = slots_[tail_];
      const double refill = static_cast<double>(now_ms - b.last_ms) * rate_per_s / 1000.0;
      if (now_ms < b.last_ms || b.tokens + refill < burst) return;
      remove(tail_);
    }
  }

  std::size_t mask() const noexcept { return index_.size() - 1; }

  // The index position holding key, or the empty one where it would go (index_ non-empty).
  std::size_t find(std::uint64_t key) const noexcept {
    if (index_.empty()) return 0;
    std::size_t pos = static_cast<std::size_t>(key) & mask();
    while (index_[pos] != 0 && slots_[index_[pos] - 1].key != key) pos = (pos + 1) & mask();
    return pos;
  }

  std::uint32_t add(std::uint64_t key, double burst, std::int64_t now_ms) {
    // At most half full: probes stay short.
    if ((size_ + 1) * 2 > index_.size()) grow_index();
    std::uint32_t at;
    if (free_ != none) {
      at = free_;
      free_ = slots_[at].older;
    } else {
      at = static_cast<std::uint32_t>(slots_.size());
      slots_.push_back({});
    }
    slots_[at] = entry{key, burst, now_ms, none, none};
    index_[find(key)] = at + 1;
    link_front(at);
    ++size_;
    return at;
  }

  void remove(std::uint32_t at) {
    erase_index(find(slots_[at].key));
    unlink(at);
    slots_[at].older = free_;
    free_ = at;
    --size_;
  }

  // Backward-shift deletion: the entries after pos that probed past it move up, so no
  // tombstones are needed.
  void erase_index(std::size_t i) {
    for (std::size_t j = (i + 1) & mask(); index_[j] != 0; j = (j + 1) & mask()) {
      const std::size_t home = static_cast<std::size_t>(slots_[index_[j] - 1].key) & mask();
      if (((j - home) & mask()) >= ((j - i) & mask())) {
        index_[i] = index_[j];
        i = j;
      }
    }
    index_[i] = 0;
  }

  void grow_index() {
    std::vector<std::uint32_t> old = std::move(index_);
    index_.assign(std::max<std::size_t>(16, old.size() * 2), 0);
    for (std::uint32_t v : old)
      if (v != 0) index_[find(slots_[v - 1].key)] = v;
  }

  void link_front(std::uint32_t at) {
    entry& e = slots_[at];
    e.newer = none;
    e.older = head_;
    if (head_ != none) slots_[head_].newer = at;
    head_ = at;
    if (tail_ == none) tail_ = at;
  }

  void unlink(std::uint32_t at) {
    entry& e = slots_[at];
    if (e.newer != none) slots_[e.newer].older = e.older; else head_ = e.older;
    if (e.older != none) slots_[e.older].newer = e.newer; else tail_ = e.newer;
  }

  std::mutex mu_;
  std::vector<entry> slots_;          // live entries and the free list
  std::vector<std::uint32_t> index_;  // slot + 1, 0 = empty; a power of two long
  std::uint32_t head_ = none;         // most recently used
  std::uint32_t tail_ = none;         // least recently used
  std::uint32_t free_ = none;
  std::size_t size_ = 0;
};

struct table {
  keyed_hash hash;
  std::array<shard, shard_count> shards;
  std::uint32_t take(std::string_view key, std::int64_t now_ms, double rate, double burst,
                     std::size_t per_shard_cap) {
    const std::uint64_t h = hash(key);
    // The top bits pick the shard, the low bits the index position: independent of each other.
    auto& s = shards[(h >> 60) % shard_count];
    return s.take(h, now_ms, rate, burst, per_shard_cap);
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
