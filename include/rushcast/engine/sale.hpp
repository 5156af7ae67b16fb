// Owns the rules of one flash sale as a pure state machine on an injected clock: phases,
// FIFO admission with one reserved unit per admitted buyer, per-user limit, in-order processing.
// Used by engine::sale_runner (on its strand) and by unit tests. No I/O, no Asio, no JSON: what
// the store holds of finished buyers comes through an injected lookup.
#pragma once

#include <cstdint>
#include <deque>
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
// store write failed, the unit went back to the stock. pending_order: pending, and its order
// rides in the same store write (take_with_admission): durable, it is success at once.
enum class slot_status { pending, queued, processing, success, released, pending_order };

// Kept only while the admission is in the live window (not yet worked off, or worked off after
// an earlier one still in the line); the order id is derived from the position (order_id_for).
struct admission_slot {
  std::string user_id;
  std::int64_t user_seq = 1;
  // The user's previous admission, 0 = none; a position at or before head() is finished and
  // known only to the store.
  std::int64_t prev_same_user = 0;
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

// What the store holds at start-up: totals over every admission, and the admissions from the
// first one not worked off on (earlier ones in the list are ignored: they are finished).
struct recovered_state {
  std::int64_t admitted = 0;       // stored admissions (released ones are never stored)
  std::int64_t done = 0;           // of which worked off
  std::int64_t last_position = 0;  // the highest stored position
  std::vector<recovered_admission> tail;
};

// A user's finished admissions (positions <= up_to) as the store has them.
struct finished_buyer {
  std::int64_t count = 0;
  std::int64_t latest_position = 0;
  std::int64_t latest_seq = 0;
  std::string latest_order_id;  // may be empty: then order_id_for(latest_position)
};
// (user, up_to) -> the user's finished admissions; an error when the store cannot be read.
using finished_lookup =
    std::function<boost::system::result<finished_buyer>(std::string_view, std::int64_t)>;

// What a request is told. queued carries the reserved position; sold_out nothing.
struct admit_decision {
  enum kind_t { queued, sold_out } kind = queued;
  std::int64_t position = 0;
  std::int64_t user_seq = 1;
};

// A user's latest answer: for duplicate replies and GET /api/sales/ID/result. unavailable:
// the store could not be read to tell it (503, never shown as a status).
struct user_answer {
  enum status_t { none, queued, success, sold_out, unavailable } status = none;
  std::int64_t position = 0;
  std::string order_id;
};
std::string_view answer_name(user_answer::status_t s) noexcept;

// A fixed-size Bloom filter over every user ever admitted: a fresh buyer (the common case in a
// rush) is told apart from a returning one without reading the store. It only ever says "maybe"
// wrongly, which costs one store read, never a wrong answer. Allocated once.
class buyer_filter {
public:
  explicit buyer_filter(std::size_t bits);
  void add(std::string_view user) noexcept;
  bool may_contain(std::string_view user) const noexcept;
  std::size_t bytes() const noexcept { return words_.size() * sizeof(std::uint64_t); }
  // 10 bits per possible buyer (stock x per_user_limit: ~1 % false "maybe" when full), at
  // least 64, at most max_bits (1 MiB) per sale; docs/CONFIG.md, sales.
  static std::size_t bits_for(std::int64_t stock, std::int64_t per_user_limit) noexcept;
  static constexpr std::size_t max_bits = std::size_t{8} << 20;

private:
  std::vector<std::uint64_t> words_;
};

class sale {
public:
  using clock_fn = std::function<std::int64_t()>;  // epoch ms

  // finished reads the store for users whose admissions are all worked off; required.
  sale(sale_params p, clock_fn clock, finished_lookup finished);

  const sale_params& params() const noexcept { return p_; }
  sale_phase phase() const;

  // Decides one purchase request. Errors: errc::not_started, errc::ended, errc::duplicate
  // (the user reached per_user_limit; answer_for() tells the earlier answer), errc::unavailable
  // (the store could not be read to count the user's finished purchases). A queued
  // decision reserves a unit at once (slot pending) so that concurrent requests are ordered;
  // the caller then makes it durable and calls admitted() or release().
  // can_store false (the store takes no writes now): every answer that needs no write is given
  // as usual, and one that would reserve a unit is errc::unavailable, with nothing reserved.
  boost::system::result<admit_decision> admit(std::string_view user_id, bool can_store = true);
  // The store has the admission: it may be told and worked off.
  void admitted(std::int64_t position);
  // The store refused the admission (pending or pending_order): the unit goes back, the user
  // may try again.
  void release(std::int64_t position);

  // The next position to work off, in admission order, marked processing; nullopt when the
  // queue head is empty or not yet durable.
  std::optional<std::int64_t> take_next();
  // Takes a pending admission for working off before it is durable, its order to be written
  // with it (process_rate_per_s 0): only when it is next in line (every earlier position is
  // taken, worked off or released), so orders still go in admission order. Marked
  // pending_order; then completed_with_admission() once the write is durable, or release().
  bool take_with_admission(std::int64_t position);
  // The write holding a pending_order admission and its order is durable: worked off.
  void completed_with_admission(std::int64_t position);
  // The order of a processing position is durable. Positions up to the new head leave memory.
  void completed(std::int64_t position);
  // Its store write failed: it goes back to the head of the line for another try.
  void retry(std::int64_t position);
  std::string order_id_for(std::int64_t position) const;

  // Rebuilds the state from durable admissions; before any other call. Positions missing
  // from the tail (writes that failed) stay released holes. Finished buyers before the tail
  // are only in the store: note_buyer() each of them.
  void recover(recovered_state r);
  // A buyer the store has (recovery): later lookups for it read the store.
  void note_buyer(std::string_view user_id) { filter_.add(user_id); }

  std::int64_t stock() const noexcept { return p_.stock_total - sold_ < 0 ? 0 : p_.stock_total - sold_; }
  std::int64_t total() const noexcept { return p_.stock_total; }
  std::int64_t reserved() const noexcept { return reserved_; }
  std::int64_t sold() const noexcept { return sold_; }
  // Admitted and not yet worked off.
  std::int64_t queued() const noexcept { return reserved_ - sold_; }
  // The last position worked off: every position up to it is done (or released).
  std::int64_t head() const noexcept { return head_; }
  std::int64_t last_position() const noexcept {
    return head_ + static_cast<std::int64_t>(window_.size());
  }
  // Memory held per buyer: the admissions after head() and their users, nothing for finished
  // ones (bounded by the live queue, not by the buyers ever admitted).
  std::size_t window_size() const noexcept { return window_.size(); }
  std::size_t users_in_memory() const noexcept { return by_user_.size(); }
  std::size_t filter_bytes() const noexcept { return filter_.bytes(); }

  // The user's latest answer; status unavailable when the store could not be read.
  user_answer answer_for(std::string_view user_id) const;
  // Only positions after head() (nullptr for finished ones).
  const admission_slot* slot(std::int64_t position) const;

private:
  // What is known of one user: memory for the live window, the store for finished admissions.
  struct buyer_state {
    std::int64_t count = 0;       // admissions not released
    std::int64_t latest_seq = 0;  // 0 = none
    std::int64_t latest_position = 0;
    user_answer answer;
  };
  boost::system::result<buyer_state> buyer(std::string_view user_id) const;
  admission_slot* slot_mut(std::int64_t position);
  void advance_head();
  void unlink_user(std::int64_t position);

  sale_params p_;
  clock_fn clock_;
  finished_lookup finished_;
  buyer_filter filter_;
  std::deque<admission_slot> window_;  // positions head_ + 1 .. last_position()
  std::int64_t reserved_ = 0;          // admissions not released
  std::int64_t sold_ = 0;
  std::int64_t head_ = 0;
  std::int64_t cursor_ = 0;            // last position handed out by take_next()
  // user -> the user's latest admission in the window; older ones via prev_same_user
  std::unordered_map<std::string, std::int64_t> by_user_;
};

}  // namespace rushcast::engine
