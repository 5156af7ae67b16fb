// Owns the rules of one English auction as a pure state machine on an injected clock.
// Used by engine::auction_runner (under its lock) and by the unit tests; no I/O, no Asio.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "rushcast/core/errc.hpp"

namespace rushcast::engine {

// The largest amount a bid may carry: keeps every sum of price + increment far from overflow.
inline constexpr std::int64_t max_bid_amount = 1'000'000'000'000;

// Reads a bid amount from the text of a JSON number ("150", "150.0", "1e3"...) or of a
// string: a positive integer <= max_bid_amount. Anything else (fractional, negative, zero,
// NaN, empty, exponent overflow, signs, spaces) -> errc::bid_invalid.
boost::system::result<std::int64_t> parse_bid_amount(std::string_view text);

struct auction_rules {
  std::int64_t start_price = 0;
  std::int64_t min_increment = 1;
  std::int64_t reserve_price = 0;
  std::int64_t start_ms = 0;        // epoch ms, resolved once and stored
  std::int64_t end_ms = 0;          // the configured end; soft close moves the current end
  std::int64_t extend_window_ms = 0;
  std::int64_t extend_by_ms = 0;
};

enum class auction_phase { upcoming, open, ended };
std::string_view phase_name(auction_phase p) noexcept;

struct bid_record {
  std::uint64_t seq = 0;  // 1, 2, ... in acceptance order
  std::string user;
  std::int64_t amount = 0;
  std::int64_t ts_ms = 0;
};

struct bid_accepted {
  bid_record bid;
  std::int64_t end_ms = 0;  // the current end after this bid
  bool extended = false;    // soft close moved the end
};

// Why a bid was refused, with what the bidder needs to try again.
struct bid_refusal {
  errc code = errc::ok;  // bid_invalid, not_started, ended, bid_too_low
  std::int64_t current_price = 0;
  std::int64_t min_acceptable = 0;  // the lowest amount that would be accepted now
};

struct bidder_result {
  std::string user;
  bool won = false;
  std::int64_t highest_bid = 0;
};

struct auction_outcome {
  std::optional<std::string> winner;     // none when no bid met the reserve
  std::optional<std::int64_t> final_price;  // none when there was no bid
  std::vector<bidder_result> results;    // one per distinct bidder, in first-bid order
};

class auction {
public:
  using clock_fn = std::function<std::int64_t()>;  // epoch ms

  auction(std::string id, std::string name, auction_rules rules, clock_fn clock);

  // Replays a committed history at start-up (recovery): bids in seq order, the current end
  // and the ended flag as stored. Does not check the rules: the store holds accepted bids only.
  void restore(const std::vector<bid_record>& bids, std::int64_t current_end_ms, bool ended);

  // Applies one bid now. Accepted only while open and when amount >= current_price() +
  // min_increment (the first bid: >= start_price); an equal later bid is too low, so the first
  // to arrive wins. A bid within extend_window_ms of the end moves it to now + extend_by_ms.
  // Errors: bid_invalid (amount <= 0 or > max), not_started, ended, bid_too_low.
  boost::system::result<bid_accepted> place_bid(const std::string& user, std::int64_t amount);
  // The refusal details for an error place_bid just returned (price and next acceptable).
  bid_refusal refusal(errc code) const;
  // Mirrors a bid that place_bid accepted on another instance and the store then committed:
  // a runner keeps a second auction holding only committed bids, which it falls back to when a
  // write fails (its end moves to the bid's end when later).
  void apply_committed(const bid_accepted& acc);

  // True once now >= the current end (the runner then calls finish()).
  bool due() const;
  // Ends the auction (idempotent: the second call returns the same outcome).
  auction_outcome finish();
  auction_outcome outcome() const;

  auction_phase phase() const;
  const std::string& id() const { return id_; }
  const std::string& name() const { return name_; }
  const auction_rules& rules() const { return rules_; }
  // Highest accepted bid, or start_price before the first bid.
  std::int64_t current_price() const;
  // The lowest amount place_bid would accept now.
  std::int64_t min_acceptable() const;
  const std::optional<std::string>& leader() const { return leader_; }
  std::uint64_t bid_count() const { return bid_count_; }
  std::int64_t end_ms() const { return end_ms_; }
  bool ended() const { return ended_; }
  std::int64_t now() const { return clock_(); }
  // The most recent bids, oldest first (at most recent_capacity).
  const std::deque<bid_record>& recent_bids() const { return recent_; }
  static constexpr std::size_t recent_capacity = 50;

private:
  void apply(const bid_record& b);

  std::string id_;
  std::string name_;
  auction_rules rules_;
  clock_fn clock_;
  std::int64_t end_ms_;
  bool ended_ = false;
  std::int64_t highest_ = 0;
  std::optional<std::string> leader_;
  std::uint64_t bid_count_ = 0;
  std::deque<bid_record> recent_;
  // Each bidder's highest bid, and the order they first bid in (results go to all of them).
  std::map<std::string, std::int64_t, std::less<>> best_by_user_;
  std::vector<std::string> bidders_;
};

}  // namespace rushcast::engine
