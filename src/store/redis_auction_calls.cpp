// Owns the wire form of the cluster auction's Redis calls (see the header).
#include "rushcast/store/redis_auction_calls.hpp"

#include <charconv>

namespace rushcast::store {
namespace {

using redis::reply;

std::optional<std::int64_t> int_of(const reply& r) { return r.as_int(); }

std::optional<std::string> opt_string(const reply& r, bool& ok) {
  if (r.is_nil()) return std::nullopt;
  if (r.type != reply::kind::string) ok = false;
  return r.str;
}

std::optional<std::int64_t> opt_int(const reply& r, bool& ok) {
  if (r.is_nil()) return std::nullopt;
  auto v = r.as_int();
  if (!v) ok = false;
  return v;
}

bool read_head(const reply& r, redis_auction_head& h) {
  bool ok = true;
  auto now = int_of(r.at(0)), price = int_of(r.at(1)), count = int_of(r.at(3)),
       end = int_of(r.at(4));
  h.leader = opt_string(r.at(2), ok);
  if (!ok || !now || !price || !count || !end) return false;
  h.now_ms = *now;
  h.current_price = *price;
  h.bid_count = *count;
  h.end_ms = *end;
  return true;
}

std::optional<redis_bid_result> read_result(const reply& r) {
  if (!r.is_array() || r.elements.empty()) return std::nullopt;
  const std::string& tag = r.at(0).str;
  redis_bid_result out;
  auto i1 = int_of(r.at(1)), i2 = int_of(r.at(2));
  if (tag == "accepted") {
    auto end = int_of(r.at(3)), ext = int_of(r.at(4)), replay = int_of(r.at(5));
    if (r.elements.size() != 6 || !i1 || !i2 || !end || !ext || !replay) return std::nullopt;
    out.what = redis_bid_result::outcome::accepted;
    out.seq = *i1;
    out.amount = *i2;
    out.end_ms = *end;
    out.extended = *ext != 0;
    out.replay = *replay != 0;
  } else if (tag == "bid_invalid") {
    out.what = redis_bid_result::outcome::bid_invalid;
  } else if (tag == "ended") {
    if (!i1) return std::nullopt;
    out.what = redis_bid_result::outcome::ended;
    out.end_ms = *i1;
  } else if (tag == "not_started") {
    if (!i1) return std::nullopt;
    out.what = redis_bid_result::outcome::not_started;
    out.start_ms = *i1;
  } else if (tag == "bid_too_low") {
    if (!i1 || !i2) return std::nullopt;
    out.what = redis_bid_result::outcome::bid_too_low;
    out.current_price = *i1;
    out.min_acceptable = *i2;
  } else {
    return std::nullopt;
  }
  return out;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::string redis_auction_base(std::string_view auction_id) {
  std::string out = "rc:auction:{";
  out += auction_id;
  out += '}';
  return out;
}

std::vector<std::string> redis_bid_command(const std::string& base,
                                           std::span<const redis_bid> bids) {
  std::vector<std::string> cmd;
  cmd.reserve(5 + 3 * bids.size());
  cmd.insert(cmd.end(), {"FCALL", "rc_auction_bid", "1", base, std::to_string(bids.size())});
  for (const auto& b : bids) {
    cmd.push_back(b.user);
    cmd.push_back(std::to_string(b.amount));
    cmd.push_back(b.request_id);
  }
  return cmd;
}

std::optional<redis_bid_call> parse_bid_call(const redis::reply& r, std::size_t sent) {
  if (!r.is_array() || r.elements.size() != 5 + sent) return std::nullopt;
  redis_bid_call out;
  if (!read_head(r, out.head)) return std::nullopt;
  out.results.reserve(sent);
  for (std::size_t i = 0; i < sent; ++i) {
    auto res = read_result(r.elements[5 + i]);
    if (!res) return std::nullopt;
    out.results.push_back(*res);
  }
  return out;
}

std::optional<redis_finish> parse_finish(const redis::reply& r) {
  if (!r.is_array() || r.elements.empty()) return std::nullopt;
  redis_finish out;
  if (r.at(0).str == "not_due") {
    auto end = int_of(r.at(1));
    if (!end || r.elements.size() != 2) return std::nullopt;
    out.end_ms = *end;
    return out;
  }
  if (r.at(0).str != "ended" || r.elements.size() < 4 || (r.elements.size() - 4) % 3 != 0)
    return std::nullopt;
  bool ok = true;
  auto first = int_of(r.at(1));
  out.ended = true;
  out.first = first.value_or(0) != 0;
  out.winner = opt_string(r.at(2), ok);
  out.final_price = opt_int(r.at(3), ok);
  if (!ok || !first) return std::nullopt;
  for (std::size_t i = 4; i < r.elements.size(); i += 3) {
    auto won = int_of(r.at(i + 1)), best = int_of(r.at(i + 2));
    if (r.at(i).type != reply::kind::string || !won || !best) return std::nullopt;
    out.results.push_back({r.at(i).str, *won != 0, *best});
  }
  return out;
}

std::optional<redis_auction_state> parse_state(const redis::reply& r) {
  if (!r.is_array() || r.elements.size() != 8) return std::nullopt;
  redis_auction_state out;
  auto ended = int_of(r.at(5)), start = int_of(r.at(6)), min = int_of(r.at(7));
  if (!read_head(r, out.head) || !ended || !start || !min) return std::nullopt;
  out.ended = *ended != 0;
  out.start_ms = *start;
  out.min_acceptable = *min;
  return out;
}

std::optional<redis_auction_init> parse_init(const redis::reply& r) {
  if (!r.is_array() || r.elements.size() != 9) return std::nullopt;
  std::int64_t v[9];
  for (std::size_t i = 0; i < 9; ++i) {
    auto x = int_of(r.at(i));
    if (!x) return std::nullopt;
    v[i] = *x;
  }
  return redis_auction_init{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8] != 0};
}

std::optional<std::vector<redis_stored_bid>> parse_bid_list(const redis::reply& r) {
  if (!r.is_array()) return std::nullopt;
  std::vector<redis_stored_bid> out;
  out.reserve(r.elements.size());
  for (const auto& e : r.elements) {
    if (e.type != reply::kind::string) return std::nullopt;
    std::string_view s = e.str;
    std::string_view parts[4];
    for (int k = 0; k < 3; ++k) {
      auto nl = s.find('\n');
      if (nl == std::string_view::npos) return std::nullopt;
      parts[k] = s.substr(0, nl);
      s.remove_prefix(nl + 1);
    }
    parts[3] = s;
    auto seq = parse_int(parts[0]), amount = parse_int(parts[2]), ts = parse_int(parts[3]);
    if (!seq || !amount || !ts || parts[1].empty()) return std::nullopt;
    out.push_back({*seq, std::string(parts[1]), *amount, *ts});
  }
  return out;
}

}  // namespace rushcast::store
