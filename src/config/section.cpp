// Owns the strict reader of one JSON object of the config (see section.hpp).
// Used by config/load and the config/read_* parts at start-up only.
#include "rushcast/config/section.hpp"

#include <algorithm>

#include "rushcast/config/load.hpp"

namespace rushcast::config::detail {

void fail(const std::string& key, const std::string& what) {
  throw config_error(key + ": " + what);
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

section::section(const json& j, std::string path) : j_(j), path_(std::move(path)) {
  if (!j_.is_object()) fail(path_.empty() ? "config" : path_, "must be a JSON object");
}

const json* section::find(std::string_view k) {
  auto it = j_.find(k);
  if (it == j_.end()) return nullptr;
  seen_.insert(std::string(k));
  return &*it;
}

void section::integer(std::string_view k, std::int64_t& out, std::int64_t lo,
                      std::int64_t hi, const char* rule) {
  const json* v = find(k);
  if (!v) return;
  if (!v->is_number_integer()) fail(key(k), std::string("must be ") + rule);
  if (v->is_number_unsigned()) {
    auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi)) fail(key(k), std::string("must be ") + rule);
    out = static_cast<std::int64_t>(u);
  } else {
    out = v->get<std::int64_t>();
  }
  if (out < lo || out > hi) fail(key(k), std::string("must be ") + rule);
}

void section::number(std::string_view k, double& out, double lo, const char* rule) {
  const json* v = find(k);
  if (!v) return;
  if (!v->is_number()) fail(key(k), std::string("must be ") + rule);
  out = v->get<double>();
  if (!(out >= lo) || out > 1e12) fail(key(k), std::string("must be ") + rule);
}

void section::string(std::string_view k, std::string& out) {
  const json* v = find(k);
  if (!v) return;
  if (!v->is_string()) fail(key(k), "must be a string");
  out = v->get<std::string>();
}

void section::boolean(std::string_view k, bool& out) {
  const json* v = find(k);
  if (!v) return;
  if (!v->is_boolean()) fail(key(k), "must be true or false");
  out = v->get<bool>();
}

void section::non_empty_string(std::string_view k, std::string& out) {
  string(k, out);
  if (find(k) && out.empty()) fail(key(k), "must not be empty");
}

void section::one_of(std::string_view k, std::string& out,
                     std::initializer_list<const char*> allowed) {
  const json* v = find(k);
  if (!v) return;
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : "|") + std::string(a);
  if (!v->is_string()) fail(key(k), "must be one of " + list);
  out = v->get<std::string>();
  for (const char* a : allowed)
    if (out == a) return;
  fail(key(k), "must be one of " + list + " (got \"" + out + "\")");
}

void section::string_list(std::string_view k, std::vector<std::string>& out) {
  const json* v = find(k);
  if (!v) return;
  if (!v->is_array()) fail(key(k), "must be an array of strings");
  out.clear();
  for (std::size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string())
      fail(key(k) + "[" + std::to_string(i) + "]", "must be a string");
    out.push_back((*v)[i].get<std::string>());
  }
}

void section::known(std::initializer_list<std::string_view> keys) const {
  for (auto it = j_.begin(); it != j_.end(); ++it)
    if (std::find(keys.begin(), keys.end(), std::string_view(it.key())) == keys.end())
      fail(key(it.key()), "unknown key");
}

void section::finish() const {
  for (auto it = j_.begin(); it != j_.end(); ++it)
    if (!seen_.count(it.key())) fail(key(it.key()), "unknown key");
}

}  // namespace rushcast::config::detail
