// A hash for std::unordered_map<std::string, ...> that also takes a std::string_view, so that
// find() with a view builds no std::string. Use with std::equal_to<>.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace rushcast::core {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

}  // namespace rushcast::core
