// Owns the rules of one flash sale as a pure state machine on an injected clock: phases,
// FIFO admission with one reserved unit per admitted buyer, per-user limit, in-order processing.
// Used by engine::sale_runner (on its strand) and by unit tests. No I/O, no Asio, no JSON.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/system/result.hpp>

namespace rushcast::engine {

enum class sale_phase { upcoming, open, sold_out, ended };
std::string_view phase_name(sale_phase p) noexcept;

struct sale_params {
  std::string id;
  std::string name;
  std::int64_t stock_total = 0;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::int64_t per_user_limit = 1;
};

// One admitted buyer. pending: reserved in memory, its store write not yet durable (never
// told to anyone as "queued"); queued: durable, waiting; success: worked off; released: its
// store write failed, the unit went back to the stock.
enum class slot_status { pending, queued, processing, success, released };

// Kept for every admission of the sale (a million with a big stock), so it stays small: the
// order id is derived from the position (order_id_for).
struct admission_slot {
  std::string user_id;
  std::int64_t user_seq = 1;
  std::int64_t prev_same_user = 0;  // the user's previous admission, 0 = none
  std::int64_t ts_ms = 0;
  slot_status status = slot_status::pending;
};

// A durable admission as the store returns it, for recover().
struct recovered_admission {
  std::int64_t position = 0;
  std::string user_id;
  std::int64_t user_seq = 1;
  bool done = false;
  std::int64_t ts_ms = 0;
};

// What a request is told. queued carries the reserved position; sold_out nothing.
struct admit_decision {
  enum kind_t { queued, sold_out } kind = queued;
  std::int64_t position = 0;
  std::int64_t user_seq = 1;
};

// A user's latest answer: for duplicate replies and GET /api/sales/ID/result.
struct user_answer {
  enum status_t { none, queued, success, sold_out } status = none;
  std::int64_t position = 0;
  std::string order_id;
};
std::string_view answer_name(user_answer::status_t s) noexcept;

class sale {
public:
  using clock_fn = std::function<std::int64_t()>;  // epoch ms

  sale(sale_params p, clock_fn clock);

  const sale_params& params() const noexcept { return p_; }
  sale_phase phase() const;

  // Decides one purchase request. Errors: errc::not_started, errc::ended, errc::duplicate
  // (the user reached per_user_limit; answer_for() tells the earlier answer). A queued
  // decision reserves a unit at once (slot pending) so that concurrent requests are ordered;
  // the caller then makes it durable and calls admitted() or release().
  // can_store false (the store takes no writes now): every answer that needs no write is given
  // as usual, and one that would reserve a unit is errc::unavailable, with nothing reserved.
  boost::system::result<admit_decision> admit(std::string_view user_id, bool can_store = true);
  // The store has the admission: it may be told and worked off.
  void admitted(std::int64_t position);
  // The store refused the admission: the unit goes back, the user may try again.
  void release(std::int64_t position);

  // The next position to work off, in admission order, marked processing; nullopt when the
  // queue head is empty or not yet durable.
  std::optional<std::int64_t> take_next();
  // The order of a processing position is durable.
  void completed(std::int64_t position);
  // Its store write failed: it goes back to the head of the line for another try.
  void retry(std::int64_t position);
  std::string order_id_for(std::int64_t position) const;

  // Rebuilds the state from durable admissions; before any other call. Positions missing
  // from the store (writes that failed) stay released holes.
  void recover(std::vector<recovered_admission> admissions);

  std::int64_t stock() const noexcept { return p_.stock_total - sold_ < 0 ? 0 : p_.stock_total - sold_; }
  std::int64_t total() const noexcept { return p_.stock_total; }
  std::int64_t reserved() const noexcept { return reserved_; }
  std::int64_t sold() const noexcept { return sold_; }
  // Admitted and not yet worked off.
  std::int64_t queued() const noexcept { return reserved_ - sold_; }
  // The last position worked off: every position up to it is done (or released).
  std::int64_t head() const noexcept { return head_; }
  std::int64_t last_position() const noexcept { return static_cast<std::int64_t>(slots_.size()); }

  user_answer answer_for(std::string_view user_id) const;
  const admission_slot* slot(std::int64_t position) const;

private:
  admission_slot* slot_mut(std::int64_t position);
  void advance_head();
  void unlink_user(std::int64_t position);

  sale_params p_;
  clock_fn clock_;
  std::vector<admission_slot> slots_;  // index = position - 1
  std::int64_t reserved_ = 0;          // slots not released
  std::int64_t sold_ = 0;
  std::int64_t head_ = 0;
  std::int64_t cursor_ = 0;            // last position handed out by take_next()
  // user -> the user's latest admission not released; older ones via prev_same_user
  std::unordered_map<std::string, std::int64_t> by_user_;
};

}  // namespace rushcast::engine
