// Owns the plain request/response structs that cross from net/ into api/ (no Beast here).
// Used by net::http_session (fills request, writes response) and every api handler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <new>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/container/small_vector.hpp>

#include "rushcast/core/string_map.hpp"

namespace boost::asio { class io_context; }

namespace rushcast::api {

struct request {
  std::string method;   // "GET", "POST", "OPTIONS", ...
  std::string target;   // raw target with query string
  std::string path;     // decoded path without query
  core::string_map query;    // decoded query parameters
  core::string_map headers;  // lower-case names
  std::string body;
  std::string remote_ip;
  unsigned version = 11;
  // The io_context of the shard that holds the connection (nullptr in tests): an engine that
  // answers later sends the answer there, grouped with the other answers for that shard.
  boost::asio::io_context* home = nullptr;

  std::optional<std::string> header(std::string_view lower_name) const;
  std::optional<std::string> param(std::string_view name) const;
  // The same without a copy: nullptr when absent.
  const std::string* find_header(std::string_view lower_name) const noexcept {
    return headers.get(lower_name);
  }
  // Empties every field for the next request of a keep-alive connection; the strings and maps
  // keep their memory, so refilling them does not allocate.
  void clear() noexcept;
};

// A header name or value of an answer: a copy of any text, or a view of a string that lives as
// long as the process (a literal, the configuration) that costs no allocation. Reads as text.
class header_text {
public:
  header_text() = default;
  header_text(const char* s) : owned_(s) {}           // NOLINT: implicit, like std::string
  header_text(std::string s) : owned_(std::move(s)) {}  // NOLINT
  header_text(std::string_view s) : owned_(s) {}      // NOLINT
  // No copy: s must outlive every answer (a literal, or the configuration).
  static header_text fixed(std::string_view s) noexcept {
    header_text t;
    t.fixed_ = s;
    t.is_fixed_ = true;
    return t;
  }

  std::string_view view() const noexcept { return is_fixed_ ? fixed_ : std::string_view(owned_); }
  operator std::string_view() const noexcept { return view(); }  // NOLINT
  operator std::string() const { return std::string(view()); }   // NOLINT
  std::size_t size() const noexcept { return view().size(); }
  bool empty() const noexcept { return view().empty(); }
  const char* data() const noexcept { return view().data(); }
  bool starts_with(std::string_view p) const noexcept { return view().starts_with(p); }
  std::size_t find_first_of(std::string_view chars, std::size_t pos = 0) const noexcept {
    return view().find_first_of(chars, pos);
  }

  friend bool operator==(const header_text& a, const header_text& b) noexcept {
    return a.view() == b.view();
  }
  friend bool operator==(const header_text& a, std::string_view b) noexcept {
    return a.view() == b;
  }
  friend bool operator==(const header_text& a, const std::string& b) noexcept {
    return a.view() == b;
  }
  friend bool operator==(const header_text& a, const char* b) noexcept { return a.view() == b; }
  friend std::string operator+(const header_text& a, std::string_view b) {
    std::string out(a.view());
    out += b;
    return out;
  }
  friend std::string operator+(std::string a, const header_text& b) {
    a += b.view();
    return a;
  }
  friend std::ostream& operator<<(std::ostream& os, const header_text& t) { return os << t.view(); }

private:
  std::string owned_;
  std::string_view fixed_;
  bool is_fixed_ = false;
};

using header = std::pair<header_text, header_text>;

struct response {
  unsigned status = 200;
  // Content-Type etc. Most answers carry at most four, held without an allocation.
  boost::container::small_vector<header, 4> headers;
  std::string body;
  bool close = false;  // close the connection after writing
  // Set for HEAD: the Content-Length a GET would carry; body is empty and none is sent.
  std::optional<std::uint64_t> head_length;

  static response json(unsigned status, std::string body);
  static response text(unsigned status, std::string body, std::string content_type);
};

// A handler may answer later and from any thread (engine strands, store thread): the
// session posts the response back to its own shard. Called exactly once.
// Like std::function<void(response)> (copyable, empty by default), but a callable of up to
// four pointers (the session's [self], a test's [&]) is held without an allocation, and the
// router adds its finishing step (CORS, HEAD) as plain data instead of wrapping a closure.
class responder {
public:
  // A step every answer takes before the callable sees it, with its two arguments.
  using step_fn = void (*)(response&, const void* arg, std::uintptr_t flags);

  responder() noexcept = default;
  template <class F>
    requires(!std::is_same_v<std::decay_t<F>, responder> &&
             std::is_invocable_v<std::decay_t<F>&, response>)
  responder(F&& f) {  // NOLINT: implicit, like std::function
    using T = std::decay_t<F>;
    if constexpr (fits<T>) {
      ::new (static_cast<void*>(buf_)) T(std::forward<F>(f));
      ops_ = &inline_ops<T>;
    } else {
      ::new (static_cast<void*>(buf_)) T*(new T(std::forward<F>(f)));
      ops_ = &heap_ops<T>;
    }
  }
  responder(const responder& o) : step_(o.step_), arg_(o.arg_), flags_(o.flags_) {
    if (o.ops_) o.ops_->copy(o.buf_, buf_);
    ops_ = o.ops_;
  }
  responder(responder&& o) noexcept : step_(o.step_), arg_(o.arg_), flags_(o.flags_) {
    if (o.ops_) o.ops_->move(o.buf_, buf_);
    ops_ = o.ops_;
    o.forget();
  }
  responder& operator=(const responder& o) {
    if (this != &o) *this = responder(o);
    return *this;
  }
  responder& operator=(responder&& o) noexcept {
    if (this != &o) {
      reset();
      if (o.ops_) o.ops_->move(o.buf_, buf_);
      ops_ = o.ops_;
      step_ = o.step_;
      arg_ = o.arg_;
      flags_ = o.flags_;
      o.forget();
    }
    return *this;
  }
  ~responder() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  void operator()(response r) const {
    if (step_) step_(r, arg_, flags_);
    ops_->call(const_cast<unsigned char*>(buf_), std::move(r));
  }

  // Every answer first goes through step(r, arg, flags). One step is held as data; a second
  // one wraps the first (an allocation), so the order stays: the latest step runs first.
  void add_step(step_fn step, const void* arg, std::uintptr_t flags);

private:
  struct chained;
  struct ops {
    void (*call)(void* buf, response&& r);
    void (*copy)(const void* from, void* to);
    void (*move)(void* from, void* to) noexcept;  // the source is gone afterwards
    void (*destroy)(void* buf) noexcept;
  };
  static constexpr std::size_t buf_bytes = 4 * sizeof(void*);
  template <class T>
  static constexpr bool fits = sizeof(T) <= buf_bytes && alignof(T) <= alignof(void*) &&
                               std::is_nothrow_move_constructible_v<T>;
  template <class T>
  static constexpr ops inline_ops = {
      [](void* b, response&& r) { (*static_cast<T*>(b))(std::move(r)); },
      [](const void* f, void* t) { ::new (t) T(*static_cast<const T*>(f)); },
      [](void* f, void* t) noexcept {
        ::new (t) T(std::move(*static_cast<T*>(f)));
        static_cast<T*>(f)->~T();
      },
      [](void* b) noexcept { static_cast<T*>(b)->~T(); }};
  template <class T>
  static constexpr ops heap_ops = {
      [](void* b, response&& r) { (**static_cast<T**>(b))(std::move(r)); },
      [](const void* f, void* t) { ::new (t) T*(new T(**static_cast<T* const*>(f))); },
      [](void* f, void* t) noexcept { ::new (t) T*(*static_cast<T**>(f)); },
      [](void* b) noexcept { delete *static_cast<T**>(b); }};

  void reset() noexcept {
    if (ops_) ops_->destroy(buf_);
    forget();
  }
  // After a move out: nothing is left to destroy.
  void forget() noexcept {
    ops_ = nullptr;
    step_ = nullptr;
    arg_ = nullptr;
    flags_ = 0;
  }

  alignas(void*) unsigned char buf_[buf_bytes];
  const ops* ops_ = nullptr;
  step_fn step_ = nullptr;
  const void* arg_ = nullptr;
  std::uintptr_t flags_ = 0;
};

struct responder::chained {
  responder inner;
  void operator()(response r) const { inner(std::move(r)); }
};

inline void responder::add_step(step_fn step, const void* arg, std::uintptr_t flags) {
  if (step_) *this = responder(chained{std::move(*this)});
  step_ = step;
  arg_ = arg;
  flags_ = flags;
}

// Parses "a=b&c=%20d" into a map (percent and '+' decoding); the first occurrence of a key
// wins. Pure.
core::string_map parse_query(std::string_view qs);
// The same into out (cleared first), reusing its memory.
void parse_query(std::string_view qs, core::string_map& out);
std::string percent_decode(std::string_view s);
// The same into out, reusing its memory.
void percent_decode(std::string_view s, std::string& out);

}  // namespace rushcast::api
