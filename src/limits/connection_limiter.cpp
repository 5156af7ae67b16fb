// Owns the count of open connections, in total and per remote IP, against the configured caps.
// Used by net::listener on accept (503 + Retry-After when over) and on close.
#include "rushcast/limits/connection_limiter.hpp"

#include <mutex>
#include <string>
#include <unordered_map>


namespace rushcast::limits {

struct connection_limiter::impl {
  std::size_t max_total;
  std::size_t max_per_ip;
  mutable std::mutex mu;
  std::size_t total = 0;
  std::unordered_map<std::string, std::size_t> per_ip;  // only IPs with open connections
};

connection_limiter::connection_limiter(std::size_t max_total, std::size_t max_per_ip)
    : impl_(std::make_unique<impl>()) {
  impl_->max_total = max_total;
  impl_->max_per_ip = max_per_ip;
}

connection_limiter::~connection_limiter() = default;

bool connection_limiter::try_acquire(std::string_view ip) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->total >= impl_->max_total) return false;
  auto it = impl_->per_ip.try_emplace(std::string(ip), 0).first;
  if (it->second >= impl_->max_per_ip) {
    if (it->second == 0) impl_->per_ip.erase(it);
    return false;
  }
  ++it->second;
  ++impl_->total;
  return true;
}

void connection_limiter::release(std::string_view ip) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->per_ip.find(std::string(ip));
  // A release without its acquire is ignored, so a double release cannot free someone's slot.
  if (it == impl_->per_ip.end() || it->second == 0) return;
  if (--it->second == 0) impl_->per_ip.erase(it);
  --impl_->total;
}

bool connection_limiter::try_acquire_total() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->total >= impl_->max_total) return false;
  ++impl_->total;
  return true;
}

void connection_limiter::release_total() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->total > 0) --impl_->total;
}

bool connection_limiter::try_acquire_ip(std::string_view ip) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->per_ip.try_emplace(std::string(ip), 0).first;
  if (it->second >= impl_->max_per_ip) {
    if (it->second == 0) impl_->per_ip.erase(it);
    return false;
  }
  ++it->second;
  return true;
}

void connection_limiter::release_ip(std::string_view ip) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->per_ip.find(std::string(ip));
  if (it == impl_->per_ip.end() || it->second == 0) return;
  if (--it->second == 0) impl_->per_ip.erase(it);
}

std::size_t connection_limiter::total() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->total;
}

}  // namespace rushcast::limits
