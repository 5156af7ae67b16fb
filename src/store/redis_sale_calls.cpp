// The sale Functions' argument lists and reply parsers (src/redis/rushcast.lua has the shapes).
#include "rushcast/store/redis_sale_calls.hpp"

namespace rushcast::store {
namespace {

using redis::reply;

std::vector<std::string> fcall(std::string_view fn, std::string_view sale_id,
                               std::size_t extra = 0) {
  std::vector<std::string> args;
  args.reserve(4 + extra);
  args.emplace_back("FCALL");
  args.emplace_back(fn);
  args.emplace_back("1");
  args.push_back(redis_sale_key(sale_id));
  return args;
}

// Element i as an integer; false when it is missing or not one.
bool int_at(const redis::reply& r, std::size_t i, std::int64_t& out) {
  auto v = r.at(i).as_int();
  if (!v) return false;
  out = *v;
  return true;
}

bool counts_of(const redis::reply& r, redis_sale_counts& c) {
  return r.is_array() && int_at(r, 0, c.now_ms) && int_at(r, 1, c.total) &&
         int_at(r, 2, c.reserved) && int_at(r, 3, c.head);
}

std::optional<redis_admit_result> admit_result_of(const redis::reply& e) {
  if (!e.is_array() || e.elements.empty() || e.at(0).type != redis::reply::kind::string)
    return std::nullopt;
  const std::string& k = e.at(0).str;
  redis_admit_result out;
  std::int64_t flag = 0;
  if (k == "queued") {
    out.kind = redis_admit_result::queued;
    if (!int_at(e, 1, out.position) || !int_at(e, 2, out.user_seq) || !int_at(e, 3, flag))
      return std::nullopt;
    out.replay = flag != 0;
    if (out.position < 1) return std::nullopt;
  } else if (k == "sold_out") {
    out.kind = redis_admit_result::sold_out;
  } else if (k == "duplicate") {
    out.kind = redis_admit_result::duplicate;
    if (!int_at(e, 1, out.position) || !int_at(e, 2, flag)) return std::nullopt;
    out.done = flag != 0;
  } else if (k == "not_started") {
    out.kind = redis_admit_result::not_started;
    if (!int_at(e, 1, out.time_ms)) return std::nullopt;
  } else if (k == "ended") {
    out.kind = redis_admit_result::ended;
    if (!int_at(e, 1, out.time_ms)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::string redis_sale_key(std::string_view sale_id) {
  std::string k = "rc:sale:{";
  k += sale_id;
  k += '}';
  return k;
}

std::vector<std::string> sale_init_command(std::string_view sale_id, std::int64_t total,
                                           const std::string& start, const std::string& end,
                                           std::int64_t per_user_limit, std::int64_t rate) {
  auto a = fcall("rc_sale_init", sale_id, 5);
  a.push_back(std::to_string(total));
  a.push_back(start);
  a.push_back(end);
  a.push_back(std::to_string(per_user_limit));
  a.push_back(std::to_string(rate));
  return a;
}

std::vector<std::string> sale_admit_command(std::string_view sale_id,
                                            std::span<const redis_admit_request> requests) {
  auto a = fcall("rc_sale_admit", sale_id, 1 + 2 * requests.size());
  a.push_back(std::to_string(requests.size()));
  for (const auto& r : requests) {
    a.push_back(r.user_id);
    a.push_back(r.request_id);
  }
  return a;
}

std::vector<std::string> sale_complete_command(std::string_view sale_id, std::int64_t max) {
  auto a = fcall("rc_sale_complete", sale_id, 1);
  a.push_back(std::to_string(max));
  return a;
}

std::vector<std::string> sale_state_command(std::string_view sale_id) {
  auto a = fcall("rc_sale_state", sale_id);
  a[0] = "FCALL_RO";
  return a;
}

std::vector<std::string> sale_user_command(std::string_view sale_id, std::string_view user) {
  auto a = fcall("rc_sale_user", sale_id, 1);
  a[0] = "FCALL_RO";
  a.emplace_back(user);
  return a;
}

std::vector<std::string> sale_announced_command(std::string_view sale_id, std::int64_t first) {
  auto a = fcall("rc_sale_announced", sale_id, 1);
  a.push_back(std::to_string(first));
  return a;
}

std::vector<std::string> sale_unannounced_command(std::string_view sale_id,
                                                  std::int64_t older_than_ms,
                                                  std::int64_t max_ranges) {
  auto a = fcall("rc_sale_unannounced", sale_id, 2);
  a.push_back(std::to_string(older_than_ms));
  a.push_back(std::to_string(max_ranges));
  return a;
}

std::vector<std::string> sale_lease_command(std::string_view sale_id, std::string_view node,
                                            std::int64_t ttl_ms) {
  auto a = fcall("rc_sale_lease", sale_id, 2);
  a.emplace_back(node);
  a.push_back(std::to_string(ttl_ms));
  return a;
}

std::optional<redis_sale_meta> parse_sale_init(const redis::reply& r) {
  redis_sale_meta m;
  std::int64_t created = 0;
  if (!r.is_array() || r.elements.size() != 7 || !int_at(r, 0, m.now_ms) ||
      !int_at(r, 1, m.total) || !int_at(r, 2, m.start_ms) || !int_at(r, 3, m.end_ms) ||
      !int_at(r, 4, m.per_user_limit) || !int_at(r, 5, m.rate) || !int_at(r, 6, created))
    return std::nullopt;
  m.created = created != 0;
  return m;
}

std::optional<redis_admit_reply> parse_sale_admit(const redis::reply& r, std::size_t n) {
  redis_admit_reply out;
  if (!counts_of(r, out.counts) || r.elements.size() != 4 + n) return std::nullopt;
  out.results.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto one = admit_result_of(r.elements[4 + i]);
    if (!one) return std::nullopt;
    out.results.push_back(*one);
  }
  return out;
}

std::optional<redis_complete_reply> parse_sale_complete(const redis::reply& r) {
  redis_complete_reply out;
  if (!r.is_array() || r.elements.size() < 4 || !int_at(r, 0, out.now_ms) ||
      !int_at(r, 1, out.head_before) || !int_at(r, 2, out.head_after) ||
      !int_at(r, 3, out.reserved))
    return std::nullopt;
  if (out.head_after < out.head_before ||
      r.elements.size() != 4 + static_cast<std::size_t>(out.head_after - out.head_before))
    return std::nullopt;
  for (std::size_t i = 4; i < r.elements.size(); ++i) {
    if (r.elements[i].type != redis::reply::kind::string) return std::nullopt;
    out.users.push_back(r.elements[i].str);
  }
  return out;
}

std::optional<redis_sale_state> parse_sale_state(const redis::reply& r) {
  redis_sale_state s;
  if (!counts_of(r, s.counts) || r.elements.size() != 8 || !int_at(r, 4, s.start_ms) ||
      !int_at(r, 5, s.end_ms) || !int_at(r, 6, s.per_user_limit) || !int_at(r, 7, s.rate))
    return std::nullopt;
  return s;
}

std::optional<redis_user_reply> parse_sale_user(const redis::reply& r) {
  redis_user_reply u;
  std::int64_t done = 0, sold_out = 0;
  if (!r.is_array() || r.elements.size() != 4 || !int_at(r, 0, u.count) ||
      !int_at(r, 1, u.latest_position) || !int_at(r, 2, done) || !int_at(r, 3, sold_out))
    return std::nullopt;
  u.done = done != 0;
  u.sold_out = sold_out != 0;
  return u;
}

std::optional<redis_unannounced_reply> parse_sale_unannounced(const redis::reply& r) {
  redis_unannounced_reply out;
  if (!r.is_array() || r.elements.empty() || r.elements.size() % 2 != 1 ||
      !int_at(r, 0, out.now_ms))
    return std::nullopt;
  for (std::size_t i = 1; i + 1 < r.elements.size(); i += 2) {
    redis_unannounced_range range;
    const reply& users = r.elements[i + 1];
    if (!int_at(r, i, range.first) || range.first < 1 || !users.is_array() ||
        users.elements.empty())
      return std::nullopt;
    for (const auto& u : users.elements) {
      if (u.type != redis::reply::kind::string) return std::nullopt;
      range.users.push_back(u.str);
    }
    out.ranges.push_back(std::move(range));
  }
  return out;
}

}  // namespace rushcast::store
