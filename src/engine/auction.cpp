// Owns the rules of one English auction as a pure state machine on an injected clock.
// Used by engine::auction_runner (under its lock) and by the unit tests; no I/O, no Asio.
#include "rushcast/engine/auction.hpp"

#include <algorithm>
#include <cctype>

namespace rushcast::engine {
namespace {

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

boost::system::result<std::int64_t> parse_bid_amount(std::string_view text) {
  // JSON writes a double such as 150.0 or 1e+20; an integral value is accepted whatever its
  // spelling, so that JavaScript clients (whose numbers are doubles) are not refused.
  const auto invalid = make_error_code(errc::bid_invalid);
  std::string_view mantissa = text;
  long exponent = 0;
  if (auto e = text.find_first_of("eE"); e != std::string_view::npos) {
    mantissa = text.substr(0, e);
    std::string_view exp = text.substr(e + 1);
    bool negative = false;
    if (!exp.empty() && (exp.front() == '+' || exp.front() == '-')) {
      negative = exp.front() == '-';
      exp.remove_prefix(1);
    }
    if (exp.empty() || exp.size() > 4 || !all_digits(exp)) return invalid;
    exponent = std::stol(std::string(exp));
    if (negative) exponent = -exponent;
  }
  std::string_view int_part = mantissa;
  std::string_view frac_part;
  if (auto dot = mantissa.find('.'); dot != std::string_view::npos) {
    int_part = mantissa.substr(0, dot);
    frac_part = mantissa.substr(dot + 1);
    if (frac_part.empty()) return invalid;
  }
  if (int_part.empty() || !all_digits(int_part) || !all_digits(frac_part)) return invalid;

  std::string digits;
  digits.reserve(int_part.size() + frac_part.size());
  digits.append(int_part).append(frac_part);
  long shift = exponent - static_cast<long>(frac_part.size());
  if (shift < 0) {
    // The digits moved behind the point must all be zeros, or the amount is fractional.
    auto cut = static_cast<std::size_t>(-shift);
    if (cut > digits.size()) return invalid;  // fractional, or zero
    if (digits.find_first_not_of('0', digits.size() - cut) != std::string::npos) return invalid;
    digits.resize(digits.size() - cut);
    shift = 0;
  }
  auto first = digits.find_first_not_of('0');
  if (first == std::string::npos) return invalid;  // zero
  digits.erase(0, first);
  if (digits.size() + static_cast<std::size_t>(shift) > 13) return invalid;  // > 10^12 for sure
  digits.append(static_cast<std::size_t>(shift), '0');
  std::int64_t value = std::stoll(digits);
  if (value <= 0 || value > max_bid_amount) return invalid;
  return value;
}

std::string_view phase_name(auction_phase p) noexcept {
  switch (p) {
    case auction_phase::upcoming: return "upcoming";
    case auction_phase::open: return "open";
    case auction_phase::ended: return "ended";
  }
  return "ended";
}

auction::auction(std::string id, std::string name, auction_rules rules, clock_fn clock)
    : id_(std::move(id)),
      name_(std::move(name)),
      rules_(rules),
      clock_(std::move(clock)),
      end_ms_(rules.end_ms) {}

void auction::restore(const std::vector<bid_record>& bids, std::int64_t current_end_ms,
                      bool ended) {
  for (const auto& b : bids) apply(b);
  end_ms_ = std::max(current_end_ms, rules_.end_ms);
  ended_ = ended;
}

void auction::apply(const bid_record& b) {
  highest_ = b.amount;
  leader_ = b.user;
  bid_count_ = std::max(bid_count_ + 1, b.seq);
  recent_.push_back(b);
  if (recent_.size() > recent_capacity) recent_.pop_front();
  auto [it, inserted] = best_by_user_.try_emplace(b.user, b.amount);
  if (inserted)
    bidders_.push_back(b.user);
  else
    it->second = std::max(it->second, b.amount);
}

std::int64_t auction::current_price() const {
  return bid_count_ == 0 ? rules_.start_price : highest_;
}

std::int64_t auction::min_acceptable() const {
  std::int64_t floor = std::max<std::int64_t>(rules_.start_price, 1);
  return bid_count_ == 0 ? floor : highest_ + std::max<std::int64_t>(rules_.min_increment, 1);
}

auction_phase auction::phase() const {
  std::int64_t now = clock_();
  if (ended_ || now >= end_ms_) return auction_phase::ended;
  if (now < rules_.start_ms) return auction_phase::upcoming;
  return auction_phase::open;
}

bool auction::due() const { return !ended_ && clock_() >= end_ms_; }

boost::system::result<bid_accepted> auction::place_bid(const std::string& user,
                                                       std::int64_t amount) {
  if (amount <= 0 || amount > max_bid_amount) return make_error_code(errc::bid_invalid);
  std::int64_t now = clock_();
  if (ended_ || now >= end_ms_) return make_error_code(errc::ended);
  if (now < rules_.start_ms) return make_error_code(errc::not_started);
  if (amount < min_acceptable()) return make_error_code(errc::bid_too_low);

  bid_accepted out;
  out.bid = bid_record{bid_count_ + 1, user, amount, now};
  apply(out.bid);
  if (rules_.extend_window_ms > 0 && end_ms_ - now <= rules_.extend_window_ms &&
      now + rules_.extend_by_ms > end_ms_) {
    end_ms_ = now + rules_.extend_by_ms;
    out.extended = true;
  }
  out.end_ms = end_ms_;
  return out;
}

void auction::apply_committed(const bid_accepted& acc) {
  apply(acc.bid);
  end_ms_ = std::max(end_ms_, acc.end_ms);
}

bid_refusal auction::refusal(errc code) const {
  return bid_refusal{code, current_price(), min_acceptable()};
}

auction_outcome auction::finish() {
  ended_ = true;
  return outcome();
}

auction_outcome auction::outcome() const {
  auction_outcome o;
  if (bid_count_ > 0) {
    o.final_price = highest_;
    if (highest_ >= rules_.reserve_price) o.winner = leader_;
  }
  o.results.reserve(bidders_.size());
  for (const auto& u : bidders_) {
    bool won = o.winner && *o.winner == u;
    o.results.push_back(bidder_result{u, won, best_by_user_.find(u)->second});
  }
  return o;
}

}  // namespace rushcast::engine
