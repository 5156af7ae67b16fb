// The sale rules: phases on the injected clock, FIFO admission that reserves a unit per buyer,
// per-user limit, and processing strictly in admission order. Pure; used by sale_runner.
// Memory holds the live window only (admissions after the head); a finished buyer's count and
// order come from the injected store lookup, behind a fixed-size filter.
#include "rushcast/engine/sale.hpp"

#include <algorithm>

#include "rushcast/core/errc.hpp"

namespace rushcast::engine {

std::string_view phase_name(sale_phase p) noexcept {
  switch (p) {
    case sale_phase::upcoming: return "upcoming";
    case sale_phase::open: return "open";
    case sale_phase::sold_out: return "sold_out";
    case sale_phase::ended: return "ended";
  }
  return "ended";
}

std::string_view answer_name(user_answer::status_t s) noexcept {
  switch (s) {
    case user_answer::none: return "none";
    case user_answer::queued: return "queued";
    case user_answer::success: return "success";
    case user_answer::sold_out: return "sold_out";
    case user_answer::unavailable: return "unavailable";
  }
  return "none";
}

namespace {

// Two independent 64-bit hashes of the user id (FNV-1a and a splitmix finish of it with a
// different seed); the filter's probes are h1 + i * h2.
std::uint64_t fnv1a(std::string_view s, std::uint64_t h) noexcept {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

constexpr int filter_probes = 7;  // optimal for 10 bits per entry

}  // namespace

buyer_filter::buyer_filter(std::size_t bits)
    : words_(std::max<std::size_t>(1, (std::min(bits, max_bits) + 63) / 64), 0) {}

std::size_t buyer_filter::bits_for(std::int64_t stock, std::int64_t per_user_limit) noexcept {
  const std::int64_t buyers =
      std::max<std::int64_t>(1, stock) * std::max<std::int64_t>(1, per_user_limit);
  const std::int64_t cap = static_cast<std::int64_t>(max_bits) / 10;
  return static_cast<std::size_t>(std::max<std::int64_t>(64, std::min(buyers, cap) * 10));
}

void buyer_filter::add(std::string_view user) noexcept {
  const std::uint64_t h1 = mix(fnv1a(user, 0xcbf29ce484222325ULL));
  const std::uint64_t h2 = mix(fnv1a(user, 0x84222325cbf29ce4ULL)) | 1;
  const std::uint64_t n = words_.size() * 64;
  for (int i = 0; i < filter_probes; ++i) {
    const std::uint64_t bit = (h1 + static_cast<std::uint64_t>(i) * h2) % n;
    words_[bit / 64] |= std::uint64_t{1} << (bit % 64);
  }
}

bool buyer_filter::may_contain(std::string_view user) const noexcept {
  const std::uint64_t h1 = mix(fnv1a(user, 0xcbf29ce484222325ULL));
  const std::uint64_t h2 = mix(fnv1a(user, 0x84222325cbf29ce4ULL)) | 1;
  const std::uint64_t n = words_.size() * 64;
  for (int i = 0; i < filter_probes; ++i) {
    const std::uint64_t bit = (h1 + static_cast<std::uint64_t>(i) * h2) % n;
    if (!(words_[bit / 64] & (std::uint64_t{1} << (bit % 64)))) return false;
  }
  return true;
}

sale::sale(sale_params p, clock_fn clock, finished_lookup finished)
    : p_(std::move(p)),
      clock_(std::move(clock)),
      finished_(std::move(finished)),
      filter_(buyer_filter::bits_for(p_.stock_total, p_.per_user_limit)) {
  if (p_.per_user_limit < 1) p_.per_user_limit = 1;
}

sale_phase sale::phase() const {
  const std::int64_t now = clock_();
  if (now < p_.start_ms) return sale_phase::upcoming;
  if (now >= p_.end_ms) return sale_phase::ended;
  if (reserved_ >= p_.stock_total) return sale_phase::sold_out;
  return sale_phase::open;
}

admission_slot* sale::slot_mut(std::int64_t position) {
  if (position <= head_ || position > last_position()) return nullptr;
  return &window_[static_cast<std::size_t>(position - head_ - 1)];
}

const admission_slot* sale::slot(std::int64_t position) const {
  if (position <= head_ || position > last_position()) return nullptr;
  return &window_[static_cast<std::size_t>(position - head_ - 1)];
}

boost::system::result<sale::buyer_state> sale::buyer(std::string_view user_id) const {
  buyer_state b;
  std::int64_t finished_link = 0;  // nonzero: the user has admissions at or before the head
  if (auto it = by_user_.find(std::string(user_id)); it != by_user_.end()) {
    const admission_slot* latest = slot(it->second);
    b.latest_seq = latest->user_seq;
    b.latest_position = it->second;
    b.answer.position = it->second;
    if (latest->status == slot_status::success) {
      b.answer.status = user_answer::success;
      b.answer.order_id = order_id_for(it->second);
    } else {
      b.answer.status = user_answer::queued;
    }
    std::int64_t pos = it->second;
    for (; pos > head_; pos = slot(pos)->prev_same_user) ++b.count;
    finished_link = pos;
    if (finished_link == 0) return b;
  } else if (!filter_.may_contain(user_id)) {
    if (reserved_ >= p_.stock_total) b.answer.status = user_answer::sold_out;
    return b;
  }
  // Finished admissions are in the store only. Every position at or before the head was
  // committed (its order's commit returned before completed() moved the head), so a read that
  // starts now sees all of them.
  auto f = finished_(user_id, head_);
  if (!f) return f.error();
  b.count += f->count;
  if (finished_link != 0) return b;  // the latest answer is the window's
  if (f->count == 0) {
    if (reserved_ >= p_.stock_total) b.answer.status = user_answer::sold_out;
    return b;
  }
  b.latest_seq = f->latest_seq;
  b.latest_position = f->latest_position;
  b.answer.status = user_answer::success;
  b.answer.position = f->latest_position;
  b.answer.order_id =
      f->latest_order_id.empty() ? order_id_for(f->latest_position) : f->latest_order_id;
  return b;
}

boost::system::result<admit_decision> sale::admit(std::string_view user_id, bool can_store) {
  const std::int64_t now = clock_();
  if (now < p_.start_ms) return make_error_code(errc::not_started);

  auto b = buyer(user_id);
  if (!b) return make_error_code(errc::unavailable);
  // A buyer who already has an answer hears it again, even after the end or the sell-out.
  if (b->count >= p_.per_user_limit) return make_error_code(errc::duplicate);
  if (now >= p_.end_ms) return make_error_code(errc::ended);
  if (reserved_ >= p_.stock_total) return admit_decision{admit_decision::sold_out, 0, 0};
  if (!can_store) return make_error_code(errc::unavailable);

  admission_slot s;
  s.user_id = std::string(user_id);
  s.user_seq = b->latest_seq + 1;
  s.prev_same_user = b->count > 0 ? b->latest_position : 0;
  s.ts_ms = now;
  s.status = slot_status::pending;
  window_.push_back(std::move(s));
  const std::int64_t position = last_position();
  by_user_[std::string(user_id)] = position;
  filter_.add(user_id);
  ++reserved_;
  return admit_decision{admit_decision::queued, position, window_.back().user_seq};
}

void sale::admitted(std::int64_t position) {
  if (auto* s = slot_mut(position); s && s->status == slot_status::pending)
    s->status = slot_status::queued;
}

// A released admission leaves the user's chain (it was pending, so it is in the window).
void sale::unlink_user(std::int64_t position) {
  admission_slot& s = *slot_mut(position);
  auto it = by_user_.find(s.user_id);
  if (it == by_user_.end()) return;
  if (it->second == position) {
    if (s.prev_same_user <= head_)  // none left in the window (0, or finished ones)
      by_user_.erase(it);
    else
      it->second = s.prev_same_user;
    return;
  }
  for (std::int64_t pos = it->second; pos > head_;) {
    admission_slot& later = *slot_mut(pos);
    if (later.prev_same_user == position) {
      later.prev_same_user = s.prev_same_user;
      return;
    }
    pos = later.prev_same_user;
  }
}

void sale::release(std::int64_t position) {
  admission_slot* s = slot_mut(position);
  if (!s || (s->status != slot_status::pending && s->status != slot_status::pending_order))
    return;
  s->status = slot_status::released;
  unlink_user(position);
  --reserved_;
  advance_head();
}

// Finished admissions at the front leave memory: the store has them (success) or never had
// them (released). A user whose latest admission leaves is forgotten; a later one of the same
// user keeps a link to it, which then means "finished, ask the store".
void sale::advance_head() {
  while (!window_.empty()) {
    admission_slot& s = window_.front();
    if (s.status != slot_status::success && s.status != slot_status::released) break;
    const std::int64_t position = head_ + 1;
    if (s.status == slot_status::success) {
      if (auto it = by_user_.find(s.user_id); it != by_user_.end() && it->second == position)
        by_user_.erase(it);
    }
    window_.pop_front();
    ++head_;
  }
  cursor_ = std::max(cursor_, head_);
}

std::optional<std::int64_t> sale::take_next() {
  while (cursor_ < last_position()) {
    admission_slot& s = window_[static_cast<std::size_t>(cursor_ - head_)];
    // pending_order was taken already (a retry of an earlier order moved the cursor back).
    if (s.status == slot_status::released || s.status == slot_status::success ||
        s.status == slot_status::pending_order) {
      ++cursor_;
      continue;
    }
    // FIFO: a pending head blocks the line until its store write is durable.
    if (s.status != slot_status::queued) return std::nullopt;
    s.status = slot_status::processing;
    return ++cursor_;
  }
  return std::nullopt;
}

bool sale::take_with_admission(std::int64_t position) {
  admission_slot* s = slot_mut(position);
  if (!s || s->status != slot_status::pending || cursor_ != position - 1) return false;
  s->status = slot_status::pending_order;
  cursor_ = position;
  return true;
}

void sale::completed_with_admission(std::int64_t position) {
  admission_slot* s = slot_mut(position);
  if (!s || s->status != slot_status::pending_order) return;
  s->status = slot_status::success;
  ++sold_;
  advance_head();
}

void sale::completed(std::int64_t position) {
  admission_slot* s = slot_mut(position);
  if (!s || s->status != slot_status::processing) return;
  s->status = slot_status::success;
  ++sold_;
  advance_head();
}

void sale::retry(std::int64_t position) {
  admission_slot* s = slot_mut(position);
  if (!s || s->status != slot_status::processing) return;
  s->status = slot_status::queued;
  cursor_ = std::min(cursor_, position - 1);
}

std::string sale::order_id_for(std::int64_t position) const {
  return p_.id + "-" + std::to_string(position);
}

void sale::recover(recovered_state r) {
  window_.clear();
  by_user_.clear();
  std::sort(r.tail.begin(), r.tail.end(),
            [](const auto& a, const auto& b) { return a.position < b.position; });
  reserved_ = r.admitted;
  sold_ = r.done;
  const std::int64_t last =
      std::max(r.last_position, r.tail.empty() ? 0 : r.tail.back().position);
  // The head: just before the first admission not worked off (everything earlier is done or
  // a hole), or the last position when all are done.
  head_ = last;
  for (const auto& a : r.tail)
    if (!a.done && a.position >= 1) {
      head_ = a.position - 1;
      break;
    }
  cursor_ = head_;
  window_.resize(static_cast<std::size_t>(last - head_));
  for (auto& s : window_) s.status = slot_status::released;
  for (auto& a : r.tail) {
    filter_.add(a.user_id);
    if (a.position <= head_) continue;
    admission_slot& s = *slot_mut(a.position);
    s.user_id = std::move(a.user_id);
    s.user_seq = a.user_seq;
    s.ts_ms = a.ts_ms;
    s.status = a.done ? slot_status::success : slot_status::queued;
    auto it = by_user_.find(s.user_id);
    // The user's earlier admission: in the window, else (user_seq > 1) a finished one the
    // store has; its exact position does not matter, only that it is at or before the head.
    s.prev_same_user = it != by_user_.end() ? it->second : (s.user_seq > 1 ? head_ : 0);
    by_user_[s.user_id] = a.position;
  }
  advance_head();
}

user_answer sale::answer_for(std::string_view user_id) const {
  auto b = buyer(user_id);
  if (!b) {
    user_answer a;
    a.status = user_answer::unavailable;
    return a;
  }
  return b->answer;
}

}  // namespace rushcast::engine
