// Owns the strict reader of one JSON object of the config: typed reads with ranges, and the
// rejection of unknown keys. Used by config/load and the config/read_* parts only.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace rushcast::config::detail {

using nlohmann::json;

constexpr std::uint32_t max_ms = 24u * 3600u * 1000u;  // a day: larger timers are typos
constexpr std::uint64_t max_u32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::int64_t max_i64 = std::numeric_limits<std::int64_t>::max();

// Throws config_error "key: what".
[[noreturn]] void fail(const std::string& key, const std::string& what);

// "path.key", or "key" at the top level.
std::string join(const std::string& path, std::string_view key);

// A JSON object section: every read marks its key, and finish() rejects whatever is left.
// A read of an absent key leaves out untouched (the default stays); a present key of the wrong
// type or range fails naming the key.
class section {
public:
  section(const json& j, std::string path);

  std::string key(std::string_view k) const { return join(path_, k); }
  const json* find(std::string_view k);

  void integer(std::string_view k, std::int64_t& out, std::int64_t lo, std::int64_t hi,
               const char* rule);

  template <class T>
  void uint(std::string_view k, T& out, std::int64_t lo, std::int64_t hi, const char* rule) {
    std::int64_t v = static_cast<std::int64_t>(out);
    integer(k, v, lo, hi, rule);
    out = static_cast<T>(v);
  }

  void positive_ms(std::string_view k, std::uint32_t& out) {
    uint(k, out, 1, max_ms, "a positive integer of milliseconds, at most 86400000");
  }
  void positive_size(std::string_view k, std::size_t& out) {
    uint(k, out, 1, max_i64, "a positive integer");
  }

  void number(std::string_view k, double& out, double lo, const char* rule);
  void boolean(std::string_view k, bool& out);
  void string(std::string_view k, std::string& out);
  void non_empty_string(std::string_view k, std::string& out);
  void one_of(std::string_view k, std::string& out, std::initializer_list<const char*> allowed);
  void string_list(std::string_view k, std::vector<std::string>& out);

  // Rejects any key not in keys before a value is read, so an unknown (often misspelt) key is
  // reported as such rather than as the required key it was meant to be.
  void known(std::initializer_list<std::string_view> keys) const;
  void finish() const;

private:
  const json& j_;
  std::string path_;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace rushcast::config::detail
