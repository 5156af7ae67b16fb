// Owns the DOM-free reading of small flat JSON objects (see the header).
#include "rushcast/api/flat_json.hpp"

namespace rushcast::api {
namespace {

class cursor {
public:
  explicit cursor(std::string_view s) : s_(s) {}
  void skip_ws() noexcept {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) noexcept {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool at_end() const noexcept { return i_ == s_.size(); }
  char peek() const noexcept { return i_ < s_.size() ? s_[i_] : '\0'; }

  // A string without escapes or bytes outside printable ASCII; its bytes without quotes.
  std::optional<std::string_view> plain_string() noexcept {
    if (!eat('"')) return std::nullopt;
    std::size_t start = i_;
    while (i_ < s_.size()) {
      auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        std::string_view out = s_.substr(start, i_ - start);
        ++i_;
        return out;
      }
      if (c == '\\' || c < 0x20 || c >= 0x7f) return std::nullopt;
      ++i_;
    }
    return std::nullopt;
  }

  // -?(0|[1-9][0-9]*), at most 18 digits, not followed by a fraction or an exponent.
  std::optional<std::string_view> plain_integer() noexcept {
    std::size_t start = i_;
    eat('-');
    std::size_t digits_at = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    std::size_t digits = i_ - digits_at;
    if (digits == 0 || digits > 18) return std::nullopt;
    if (digits > 1 && s_[digits_at] == '0') return std::nullopt;  // a leading zero: not JSON
    char next = peek();
    if (next == '.' || next == 'e' || next == 'E') return std::nullopt;
    return s_.substr(start, i_ - start);
  }

  bool word(std::string_view w) noexcept {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }

private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::optional<flat_object> flat_object::parse(std::string_view text) noexcept {
  flat_object out;
  cursor c(text);
  c.skip_ws();
  if (!c.eat('{')) return std::nullopt;
  c.skip_ws();
  if (!c.eat('}')) {
    for (;;) {
      c.skip_ws();
      auto key = c.plain_string();
      if (!key || out.find(*key) != nullptr || out.n_ == max_members) return std::nullopt;
      c.skip_ws();
      if (!c.eat(':')) return std::nullopt;
      c.skip_ws();
      flat_member m;
      m.key = *key;
      char p = c.peek();
      if (p == '"') {
        auto v = c.plain_string();
        if (!v) return std::nullopt;
        m.type = flat_member::kind::string;
        m.text = *v;
      } else if (p == '-' || (p >= '0' && p <= '9')) {
        auto v = c.plain_integer();
        if (!v) return std::nullopt;
        m.type = flat_member::kind::integer;
        m.text = *v;
      } else if (c.word("true")) {
        m.type = flat_member::kind::boolean;
        m.text = "true";
      } else if (c.word("false")) {
        m.type = flat_member::kind::boolean;
        m.text = "false";
      } else if (c.word("null")) {
        m.type = flat_member::kind::null;
        m.text = "null";
      } else {
        return std::nullopt;
      }
      out.members_[out.n_++] = m;
      c.skip_ws();
      if (c.eat(',')) continue;
      if (c.eat('}')) break;
      return std::nullopt;
    }
  }
  c.skip_ws();
  if (!c.at_end()) return std::nullopt;
  return out;
}

const flat_member* flat_object::find(std::string_view key) const noexcept {
  for (std::size_t i = 0; i < n_; ++i)
    if (members_[i].key == key) return &members_[i];
  return nullptr;
}

}  // namespace rushcast::api
