// Owns the DOM-free reading of small flat JSON objects (a bid's three fields), for the hot
// request paths. Used by api/auction_routes and api/ws_protocol; anything it does not take is
// handed to the full parser (core::parse_client_json), so every unusual input gets the answer
// the full parser gives it.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace rushcast::api {

struct flat_member {
  enum class kind { string, integer, boolean, null };
  std::string_view key;
  kind type = kind::null;
  std::string_view text;  // a string's bytes without the quotes, or the literal as written
};

// One JSON object of at most max_members scalar members, read in place (views into text).
class flat_object {
public:
  static constexpr std::size_t max_members = 8;

  // Succeeds only for one JSON object (whitespace around it allowed) whose members are
  //   strings of printable ASCII without escapes, integers written -?(0|[1-9][0-9]*) with at
  //   most 18 digits, true, false or null,
  // at most max_members of them, no key repeated. Everything else — nested values, escapes,
  // non-ASCII bytes, fractions, exponents, longer integers, repeated keys, malformed or
  // trailing text — is nullopt: not necessarily bad JSON, only not flat.
  static std::optional<flat_object> parse(std::string_view text) noexcept;

  // The member named key, or nullptr when absent.
  const flat_member* find(std::string_view key) const noexcept;
  std::size_t size() const noexcept { return n_; }

private:
  std::array<flat_member, max_members> members_{};
  std::size_t n_ = 0;
};

}  // namespace rushcast::api
