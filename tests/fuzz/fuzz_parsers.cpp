// Fuzz target: the small parsers every request goes through. Byte 0 picks one, the rest is
// its input:
//   0 query strings and percent-decoding (api::parse_query, api::percent_decode)
//   1 topic lists and topic rules (api::split_topics, valid_topic, check_subscribe,
//     check_client_publish, valid_event_name)
//   2 Last-Event-ID values against a topic history (hub::history parse_id / since)
//   3 user ids (api::check_user_id) and the one-rule-for-ids invariant of issue 11 item 3
//   4 bid amounts (engine::parse_bid_amount)
//   5 flat request bodies (api::flat_object, the DOM-free reader of seckill and bid bodies)
//     against nlohmann's parse: whatever it takes, the full parser reads the same way
//   6 Idempotency-Key headers (api::read_idempotency_key, core::valid_idempotency_key): one
//     rule for buys and bids, and an accepted key makes a request id Redis takes
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rushcast/api/flat_json.hpp"
#include "rushcast/api/idempotency_key.hpp"
#include "rushcast/api/json_body.hpp"
#include "rushcast/api/topics.hpp"
#include "rushcast/core/ids.hpp"
#include "rushcast/engine/auction.hpp"
#include "rushcast/hub/frame.hpp"
#include "rushcast/hub/history.hpp"

using namespace rushcast;

namespace {

[[noreturn]] void violated(const char* what, std::string_view input) {
  std::fprintf(stderr, "fuzz invariant violated: %s (input %zu bytes)\n", what, input.size());
  __builtin_trap();
}

void query(std::string_view in) {
  auto q = api::parse_query(in);
  for (const auto& [k, v] : q)
    if (k.empty()) violated("an empty query key", in);
  auto d = api::percent_decode(in);
  if (d.size() > in.size()) violated("decoding made the text longer", in);
  if (in.find('%') == std::string_view::npos && d != in)
    violated("text without % changed by decoding", in);
}

void topics(std::string_view in) {
  // The first line is the list, the second the user asking.
  auto nl = in.find('\n');
  std::string_view csv = in.substr(0, nl);
  std::string_view user = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  for (const auto& t : api::split_topics(csv)) {
    if (t.empty() || t.find(',') != std::string::npos) violated("split_topics entry", in);
    for (bool auth_on : {false, true}) {
      errc e = api::check_subscribe(t, user, auth_on);
      if (e == errc::ok && !api::valid_topic(t)) violated("subscribable but not valid", in);
    }
    errc p = api::check_client_publish(t);
    if (p == errc::ok && !api::valid_topic(t)) violated("publishable but not valid", in);
  }
  (void)api::valid_event_name(csv);
}

void last_event_id(std::string_view in) {
  config::history_cfg cfg;
  cfg.max_events_per_topic = 4;
  cfg.max_age_ms = 0;
  hub::history h(cfg, "e7", [] { return std::int64_t{0}; });
  const char* names[] = {"a", "b", "a", "c", "a", "b", "a", "a"};
  for (std::uint64_t seq = 1; seq <= 8; ++seq)
    h.append(hub::make_frame(h.make_id(seq), seq, names[seq - 1], "e", "{}", false));
  std::string reason;
  if (auto seq = h.parse_id(in, reason); seq) {
    if (*h.parse_id(h.make_id(*seq), reason) != *seq) violated("make_id/parse_id round trip", in);
  } else if (reason.empty()) {
    violated("refused id without a reason", in);
  }
  auto r = h.since({"a", "b", "c"}, in);
  if (r.resync && !r.frames.empty()) violated("resync with frames", in);
  std::uint64_t prev = 0;
  for (const auto& f : r.frames) {
    if (!f || f->seq <= prev) violated("replay out of order or duplicated", in);
    prev = f->seq;
  }
}

void user_id(std::string_view in) {
  if (api::check_user_id(in) != errc::ok) return;
  if (in.empty()) violated("empty user id accepted", in);
  // One rule for user ids (issue 11, item 3): an id that may buy may read its own topic.
  if (api::check_subscribe("user:" + std::string(in), in, true) != errc::ok)
    violated("a user id that may buy cannot subscribe to its user: topic", in);
}

void bid_amount(std::string_view in) {
  auto v = engine::parse_bid_amount(in);
  if (v && (*v < 1 || *v > engine::max_bid_amount)) violated("bid amount out of range", in);
}

// By value: "-0" is the integer 0 to both readers, though nlohmann writes it back as "0".
bool same_integer(const nlohmann::json& value, std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  return value.is_number_unsigned() ? value.get<std::uint64_t>() == static_cast<std::uint64_t>(n)
                                    : value.get<std::int64_t>() == n;
}

void flat_body(std::string_view in) {
  auto flat = api::flat_object::parse(in);
  if (!flat) return;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) violated("flat reader took what is not one object", in);
  if (j.size() != flat->size()) violated("flat reader saw another number of members", in);
  for (const auto& [key, value] : j.items()) {
    const api::flat_member* m = flat->find(key);
    if (!m) violated("flat reader missed a member", in);
    using kind = api::flat_member::kind;
    const bool same = (m->type == kind::string && value.is_string() &&
                       value.get<std::string>() == m->text) ||
                      (m->type == kind::integer && value.is_number_integer() &&
                       same_integer(value, m->text)) ||
                      (m->type == kind::boolean && value.is_boolean() && value.dump() == m->text) ||
                      (m->type == kind::null && value.is_null());
    if (!same) violated("flat reader read a member otherwise than the full parser", in);
  }
}

void idempotency_key(std::string_view in) {
  const bool valid = core::valid_idempotency_key(in);
  auto read = api::read_idempotency_key(std::string(in));
  // One rule: the bid routes' reader takes exactly the keys the buy routes' check takes.
  if (valid == read.has_error()) violated("the bid and the buy rule disagree on a key", in);
  if (!valid) return;
  if (in.empty() || in.size() > core::max_idempotency_key_bytes)
    violated("a key of a length out of bounds accepted", in);
  // Redis keeps "k:" + key under the user (src/redis/rushcast.lua): at most 128 bytes, no
  // separator of its records.
  const std::string request_id = "k:" + std::string(in);
  if (request_id.size() > 128) violated("a request id Redis refuses made of an accepted key", in);
  for (char c : in)
    if (c == '\n' || c == '\r' || c == '\0' || c == ' ' || c == '@')
      violated("an accepted key holds a separator", in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0: query(in); break;
    case 1: topics(in); break;
    case 2: last_event_id(in); break;
    case 3: user_id(in); break;
    case 4: bid_amount(in); break;
    case 5: flat_body(in); break;
    case 6: idempotency_key(in); break;
  }
  return 0;
}
