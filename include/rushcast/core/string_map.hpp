// Owns a small map of strings sorted by key, in one vector whose slots keep their memory across
// clear(): a request's headers and query parameters are refilled for every request of a
// keep-alive connection without allocating. Used by api::request and auth::request_view.
// Reads like std::map<std::string, std::string> (find, count, operator[], erase, ordered
// iteration); a key is not const in iteration, and changing it there breaks the order.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rushcast::core {

class string_map {
public:
  using value_type = std::pair<std::string, std::string>;
  using iterator = value_type*;
  using const_iterator = const value_type*;

  string_map() = default;
  string_map(std::initializer_list<std::pair<std::string_view, std::string_view>> items) {
    for (const auto& [k, v] : items) insert_or_assign(k, v);
  }
  string_map(const std::map<std::string, std::string>& m) {  // NOLINT: implicit, as a map reads
    slots_.reserve(m.size());
    for (const auto& [k, v] : m) slots_.emplace_back(k, v);
    n_ = slots_.size();
  }
  string_map(const string_map& o) : slots_(o.begin(), o.end()), n_(o.n_) {}
  string_map(string_map&& o) noexcept : slots_(std::move(o.slots_)), n_(o.n_) { o.n_ = 0; }
  string_map& operator=(const string_map& o) {
    if (this != &o) {
      clear();
      for (const auto& [k, v] : o) insert_or_assign(k, v);
    }
    return *this;
  }
  string_map& operator=(string_map&& o) noexcept {
    slots_ = std::move(o.slots_);
    n_ = o.n_;
    o.n_ = 0;
    return *this;
  }

  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  iterator begin() noexcept { return slots_.data(); }
  iterator end() noexcept { return slots_.data() + n_; }
  const_iterator begin() const noexcept { return slots_.data(); }
  const_iterator end() const noexcept { return slots_.data() + n_; }

  // Forgets every entry; the slots keep their strings' memory for the next fill.
  void clear() noexcept { n_ = 0; }

  const_iterator find(std::string_view key) const noexcept {
    auto it = lower(key);
    return it != end() && it->first == key ? it : end();
  }
  iterator find(std::string_view key) noexcept {
    auto it = lower(key);
    return it != end() && it->first == key ? it : end();
  }
  std::size_t count(std::string_view key) const noexcept { return find(key) != end() ? 1 : 0; }
  bool contains(std::string_view key) const noexcept { return find(key) != end(); }
  // The value of key, or nullptr: a read without a copy.
  const std::string* get(std::string_view key) const noexcept {
    auto it = find(key);
    return it != end() ? &it->second : nullptr;
  }
  const std::string& at(std::string_view key) const {
    if (const std::string* v = get(key)) return *v;
    throw std::out_of_range("string_map::at");
  }

  // The value of key, inserted empty when absent.
  std::string& operator[](std::string_view key) {
    auto it = lower(key);
    if (it != end() && it->first == key) return it->second;
    return insert_at(it, key).second;
  }
  // Inserts key = value unless key is present (then nothing changes); true when inserted.
  bool emplace(std::string_view key, std::string_view value) {
    auto it = lower(key);
    if (it != end() && it->first == key) return false;
    insert_at(it, key).second.assign(value);
    return true;
  }
  void insert_or_assign(std::string_view key, std::string_view value) {
    (*this)[key].assign(value);
  }
  std::size_t erase(std::string_view key) {
    auto it = find(key);
    if (it == end()) return 0;
    // The erased slot moves past the end, where it waits with its memory for the next insert.
    std::rotate(it, it + 1, end());
    --n_;
    return 1;
  }

  friend bool operator==(const string_map& a, const string_map& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

private:
  iterator lower(std::string_view key) const noexcept {
    auto* first = const_cast<value_type*>(slots_.data());
    return std::lower_bound(first, first + n_, key,
                            [](const value_type& e, std::string_view k) { return e.first < k; });
  }
  value_type& insert_at(iterator pos, std::string_view key) {
    const auto at = static_cast<std::size_t>(pos - begin());
    if (n_ == slots_.size()) slots_.emplace_back();
    value_type& spare = slots_[n_];
    spare.first.assign(key);
    spare.second.clear();
    std::rotate(begin() + at, begin() + n_, begin() + n_ + 1);
    ++n_;
    return slots_[at];
  }

  std::vector<value_type> slots_;  // [0, n_) live and sorted; the rest spare
  std::size_t n_ = 0;
};

}  // namespace rushcast::core
