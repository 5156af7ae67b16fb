// The sale rules: phases on the injected clock, FIFO admission that reserves a unit per buyer,
// per-user limit, and processing strictly in admission order. Pure; used by sale_runner.
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
  }
  return "none";
}

sale::sale(sale_params p, clock_fn clock) : p_(std::move(p)), clock_(std::move(clock)) {
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
  if (position < 1 || position > static_cast<std::int64_t>(slots_.size())) return nullptr;
  return &slots_[static_cast<std::size_t>(position - 1)];
}

const admission_slot* sale::slot(std::int64_t position) const {
  if (position < 1 || position > static_cast<std::int64_t>(slots_.size())) return nullptr;
  return &slots_[static_cast<std::size_t>(position - 1)];
}

boost::system::result<admit_decision> sale::admit(std::string_view user_id, bool can_store) {
  const std::int64_t now = clock_();
  if (now < p_.start_ms) return make_error_code(errc::not_started);

  std::int64_t latest = 0;
  std::int64_t count = 0;
  if (auto it = by_user_.find(std::string(user_id)); it != by_user_.end()) {
    latest = it->second;
    for (std::int64_t pos = latest; pos != 0; pos = slots_[static_cast<std::size_t>(pos - 1)].prev_same_user)
      ++count;
  }
  // A buyer who already has an answer hears it again, even after the end or the sell-out.
  if (count >= p_.per_user_limit) return make_error_code(errc::duplicate);
  if (now >= p_.end_ms) return make_error_code(errc::ended);
  if (reserved_ >= p_.stock_total) return admit_decision{admit_decision::sold_out, 0, 0};
  if (!can_store) return make_error_code(errc::unavailable);

  admission_slot s;
  s.user_id = std::string(user_id);
  s.user_seq = latest ? slots_[static_cast<std::size_t>(latest - 1)].user_seq + 1 : 1;
  s.prev_same_user = latest;
  s.ts_ms = now;
  s.status = slot_status::pending;
  slots_.push_back(std::move(s));
  const auto position = static_cast<std::int64_t>(slots_.size());
  by_user_[std::string(user_id)] = position;
  ++reserved_;
  return admit_decision{admit_decision::queued, position, slots_.back().user_seq};
}

void sale::admitted(std::int64_t position) {
  if (auto* s = slot_mut(position); s && s->status == slot_status::pending)
    s->status = slot_status::queued;
}

void sale::unlink_user(std::int64_t position) {
  admission_slot& s = slots_[static_cast<std::size_t>(position - 1)];
  auto it = by_user_.find(s.user_id);
  if (it == by_user_.end()) return;
  if (it->second == position) {
    if (s.prev_same_user == 0)
      by_user_.erase(it);
    else
      it->second = s.prev_same_user;
    return;
  }
  for (std::int64_t pos = it->second; pos != 0;) {
    admission_slot& later = slots_[static_cast<std::size_t>(pos - 1)];
    if (later.prev_same_user == position) {
      later.prev_same_user = s.prev_same_user;
      return;
    }
    pos = later.prev_same_user;
  }
}

void sale::release(std::int64_t position) {
  admission_slot* s = slot_mut(position);
  if (!s || s->status != slot_status::pending) return;
  s->status = slot_status::released;
  unlink_user(position);
  --reserved_;
  advance_head();
}

void sale::advance_head() {
  while (head_ < static_cast<std::int64_t>(slots_.size())) {
    const auto st = slots_[static_cast<std::size_t>(head_)].status;
    if (st != slot_status::success && st != slot_status::released) break;
    ++head_;
  }
  cursor_ = std::max(cursor_, head_);
}

std::optional<std::int64_t> sale::take_next() {
  while (cursor_ < static_cast<std::int64_t>(slots_.size())) {
    admission_slot& s = slots_[static_cast<std::size_t>(cursor_)];
    if (s.status == slot_status::released || s.status == slot_status::success) {
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

void sale::recover(std::vector<recovered_admission> admissions) {
  slots_.clear();
  by_user_.clear();
  reserved_ = sold_ = head_ = cursor_ = 0;
  std::sort(admissions.begin(), admissions.end(),
            [](const auto& a, const auto& b) { return a.position < b.position; });
  std::int64_t last = admissions.empty() ? 0 : admissions.back().position;
  slots_.resize(static_cast<std::size_t>(std::max<std::int64_t>(last, 0)));
  for (auto& s : slots_) s.status = slot_status::released;
  for (auto& a : admissions) {
    if (a.position < 1) continue;
    admission_slot& s = slots_[static_cast<std::size_t>(a.position - 1)];
    s.user_id = std::move(a.user_id);
    s.user_seq = a.user_seq;
    s.ts_ms = a.ts_ms;
    s.status = a.done ? slot_status::success : slot_status::queued;
    auto it = by_user_.find(s.user_id);
    s.prev_same_user = it == by_user_.end() ? 0 : it->second;
    by_user_[s.user_id] = a.position;
    ++reserved_;
    if (a.done) ++sold_;
  }
  advance_head();
}

user_answer sale::answer_for(std::string_view user_id) const {
  user_answer a;
  auto it = by_user_.find(std::string(user_id));
  if (it == by_user_.end()) {
    if (reserved_ >= p_.stock_total) a.status = user_answer::sold_out;
    return a;
  }
  const admission_slot& s = slots_[static_cast<std::size_t>(it->second - 1)];
  a.position = it->second;
  if (s.status == slot_status::success) {
    a.status = user_answer::success;
    a.order_id = order_id_for(it->second);
  } else {
    a.status = user_answer::queued;
  }
  return a;
}

}  // namespace rushcast::engine
