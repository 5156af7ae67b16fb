// Fuzz target: raw bytes of one connection's HTTP requests -> Beast's request parser with the
// daemon's limits -> the api::request that net::http_session builds -> the router and every
// handler (publish, seckill, bid, sales, auctions, time, health, metrics, static 404s), or, for
// /sse-updates, /long-poll and upgrades, the subscription checks and the hub's replay.
// Byte 0 picks the auth mode (bit 0: jwt); the rest is what a client sends, pipelined requests
// included. Invariants: each request is answered exactly once, with a status in 100..599, and a
// JSON answer parses as JSON.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "fuzz_app.hpp"
#include "rushcast/api/topics.hpp"
#include "rushcast/net/long_poll.hpp"

namespace http = boost::beast::http;
using namespace rushcast;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// What net::http_session::handle copies out of Beast's message (keep the two in step).
api::request to_api_request(const http::request<http::string_body>& req) {
  api::request r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  auto q = r.target.find('?');
  r.path = api::percent_decode(std::string_view(r.target).substr(0, q));
  if (q != std::string::npos) r.query = api::parse_query(std::string_view(r.target).substr(q + 1));
  for (const auto& f : req) r.headers[lower(f.name_string())] = std::string(f.value());
  r.version = req.version();
  r.remote_ip = "10.0.0.2";
  r.body = req.body();
  return r;
}

// SSE, long-poll and WebSocket upgrades: the checks net::http_session::resolve makes, then the
// hub's replay and snapshots as a stream would get them.
void subscribe_path(fuzz::app& a, const api::request& req, bool long_poll) {
  auto id = a.ctx().auth.identify(req);
  if (!id) return;
  auto tp = req.param("topics");
  std::vector<std::string> topics =
      tp ? api::split_topics(*tp) : a.cfg().default_topics.value_or(std::vector<std::string>{});
  if (!id->user_id.empty()) topics.push_back("user:" + id->user_id);
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  for (const auto& t : topics)
    if (api::check_subscribe(t, id->user_id, a.ctx().auth.jwt_on()) != errc::ok) return;
  std::optional<std::string> last = req.header("last-event-id");
  if (!last) last = req.param(long_poll ? "since" : "lastEventId");
  if (last && last->empty()) last.reset();
  if (long_poll) {
    auto r = a.hub().history_since(topics, last);
    // The lastEventId that net::long_poll::answer() echoes (keep the two in step).
    std::string echo = !r.replay.empty()            ? r.replay.back()->id
                       : r.resync || !last          ? a.hub().last_id()
                                                    : *last;
    auto body = net::long_poll::render(r.replay, echo, r.resync_reason);
    if (!fuzz::valid_json(body)) fuzz::violated("long-poll answer is not JSON", body);
    return;
  }
  auto sub = std::make_shared<fuzz::null_subscriber>();
  auto r = a.hub().subscribe(sub, topics, last, hub::transport::sse);
  if (r.resync && !r.resync_frame) fuzz::violated("resync without its frame");
  a.pump_until([] { return true; });
  a.hub().unsubscribe_all(*sub);
}

void handle(fuzz::app& a, http::request<http::string_body>&& msg) {
  api::request req = to_api_request(msg);
  const auto& paths = a.cfg().websocket.paths;
  if (boost::beast::websocket::is_upgrade(msg) &&
      std::find(paths.begin(), paths.end(), req.path) != paths.end())
    return subscribe_path(a, req, false);
  if (req.method == "GET" && req.path == "/sse-updates") return subscribe_path(a, req, false);
  if (req.method == "GET" && req.path == "/long-poll") return subscribe_path(a, req, true);

  a.dispatch(req);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  fuzz::app& a = fuzz::the_app(data[0] & 1);
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto& lim = a.cfg().limits;
  // Pipelined requests on one connection, as http_session reads them: one parser each.
  for (int n = 0; n < 4 && !in.empty(); ++n) {
    http::request_parser<http::string_body> p;
    p.header_limit(static_cast<std::uint32_t>(lim.max_header_bytes));
    p.body_limit(lim.max_body_bytes);
    p.eager(true);
    boost::beast::error_code ec;
    while (!p.is_done()) {
      std::size_t used = p.put(boost::asio::buffer(in.data(), in.size()), ec);
      in.remove_prefix(used);
      if (ec && ec != http::error::need_more) return 0;  // the session answers 400/413/431
      if (used == 0) {
        // The peer closed here: a message without a length ends at EOF, others are incomplete.
        p.put_eof(ec);
        if (ec || !p.is_done()) return 0;
      }
    }
    handle(a, p.release());
  }
  return 0;
}
