// Owns the core WebSocket messages: subscribe, unsubscribe, client publish (chat) and ping.
// Registered by app/server on the ws_protocol every ws_session uses.
#include "rushcast/api/core_ws.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "rushcast/api/context.hpp"
#include "rushcast/api/errc.hpp"
#include "rushcast/api/topics.hpp"
#include "rushcast/api/ws_protocol.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::api {
namespace {

// A subscribe message names at most this many topics; more is a client bug, not a use case.
constexpr std::size_t max_topics_per_message = 64;

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// "type" first, then the fields, then "ref": easier to read in a browser's frame view.
std::string reply(std::string_view type, const nlohmann::json& fields, const nlohmann::json& ref) {
  nlohmann::ordered_json out{{"type", type}};
  for (const auto& [k, v] : fields.items()) out[k] = v;
  if (!ref.is_null()) out["ref"] = ref;
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Reads msg.topics as a non-empty array of strings; on failure sends the error and returns false.
bool read_topics(ws_client& c, const nlohmann::json& msg, const nlohmann::json& ref,
                 std::vector<std::string>& out) {
  auto it = msg.find("topics");
  if (it == msg.end() || !it->is_array() || it->empty()) {
    c.send_text(ws_error("bad_request", "\"topics\" must be a non-empty array of strings", ref));
    return false;
  }
  if (it->size() > max_topics_per_message) {
    c.send_text(ws_error("bad_request", "too many topics in one message", ref));
    return false;
  }
  for (const auto& t : *it) {
    if (!t.is_string()) {
      c.send_text(ws_error("bad_request", "\"topics\" must be a non-empty array of strings", ref));
      return false;
    }
    const auto& s = t.get_ref<const std::string&>();
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return true;
}

void on_subscribe(context& ctx, ws_client& c, const nlohmann::json& msg,
                  const nlohmann::json& ref) {
  std::vector<std::string> topics;
  if (!read_topics(c, msg, ref, topics)) return;
  for (const auto& t : topics) {
    errc e = check_subscribe(t, c.user_id(), ctx.auth.jwt_on());
    if (e != errc::ok) {
      // All or nothing: a refused topic refuses the message, so the client's view stays simple.
      std::string why = e == errc::bad_request ? "invalid topic: " : "topic not allowed: ";
      c.send_text(ws_error(error_name(e), why + t, ref));
      return;
    }
  }
  // limits.max_topics_per_connection: the topics that fit (in the order named; one already
  // held costs nothing) are subscribed, the rest refused with too_many_topics, which names them.
  const std::size_t max_topics = ctx.cfg.limits.max_topics_per_connection;
  std::vector<std::string> accepted;
  nlohmann::json refused = nlohmann::json::array();
  std::size_t held = c.topic_count();
  for (auto& t : topics) {
    if (c.has_topic(t)) {
      accepted.push_back(std::move(t));
    } else if (held < max_topics) {
      ++held;
      accepted.push_back(std::move(t));
    } else {
      refused.push_back(std::move(t));
    }
  }
  if (!refused.empty()) {
    nlohmann::ordered_json j{{"type", "error"},
                             {"code", "too_many_topics"},
                             {"message", "a connection holds at most " +
                                             std::to_string(max_topics) + " topics"},
                             {"limit", max_topics},
                             {"topics", std::move(refused)}};
    if (!ref.is_null()) j["ref"] = ref;
    c.send_text(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (accepted.empty()) return;
  // The reply goes first: the snapshots that subscribe() queues must follow "subscribed".
  c.send_text(reply("subscribed", {{"topics", accepted}}, ref));
  c.subscribe(accepted);
}

void on_unsubscribe(context&, ws_client& c, const nlohmann::json& msg,
                    const nlohmann::json& ref) {
  std::vector<std::string> topics;
  if (!read_topics(c, msg, ref, topics)) return;
  for (const auto& t : topics) {
    if (!valid_topic(t)) {
      c.send_text(ws_error("bad_request", "invalid topic: " + t, ref));
      return;
    }
  }
  c.unsubscribe(topics);
  c.send_text(reply("unsubscribed", {{"topics", topics}}, ref));
}

void on_publish(context& ctx, ws_client& c, const nlohmann::json& msg,
                const nlohmann::json& ref) {
  auto topic_it = msg.find("topic");
  if (topic_it == msg.end() || !topic_it->is_string()) {
    c.send_text(ws_error("bad_request", "\"topic\" must be a string", ref));
    return;
  }
  const auto& topic = topic_it->get_ref<const std::string&>();
  if (errc e = check_client_publish(topic); e != errc::ok) {
    c.send_text(ws_error(error_name(e),
                         e == errc::forbidden ? "clients may publish only on chat: topics"
                                              : "invalid topic",
                         ref));
    return;
  }
  std::string event = "message";
  if (auto ev = msg.find("event"); ev != msg.end() && !ev->is_null()) {
    if (!ev->is_string() || !valid_event_name(ev->get_ref<const std::string&>())) {
      c.send_text(ws_error("bad_request", "\"event\" must match [A-Za-z0-9_.-]{1,64}", ref));
      return;
    }
    event = ev->get<std::string>();
  }
  auto data = msg.find("data");
  if (data == msg.end() || !data->is_object()) {
    c.send_text(ws_error("bad_request", "\"data\" must be a JSON object", ref));
    return;
  }
  // Anonymous clients share their address's bucket so a reconnect does not reset the limit.
  std::string key = c.user_id().empty() ? "ip:" + c.remote_ip() : c.user_id();
  if (std::uint32_t wait = ctx.rate.check_user(key, now_ms()); wait != 0) {
    ctx.metrics.rate_limited.fetch_add(1, std::memory_order_relaxed);
    nlohmann::ordered_json j{{"type", "error"},
                             {"code", "rate_limited"},
                             {"message", "too many messages"},
                             {"retryAfterMs", wait}};
    if (!ref.is_null()) j["ref"] = ref;
    c.send_text(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  if (ctx.cfg.storage.backend == "redis") {
    // Cluster mode: the id is the bus's, known once Redis has appended the event; answered
    // from the writer's thread through the session's sender. Redis unreachable: "unavailable".
    ctx.hub.publish_bounded(
        topic, std::move(event), dump(*data), std::chrono::milliseconds(0),
        [send = c.async_sender(), ref](boost::system::result<hub::publish_result> published) {
          if (published) return send(reply("published", {{"id", published->id}}, ref));
          send(ws_error("unavailable",
                        "the cluster's event bus (Redis) is unreachable: not published", ref));
        });
    return;
  }
  auto published = ctx.hub.publish(topic, event, dump(*data));
  c.send_text(reply("published", {{"id", published.id}}, ref));
}

void on_ping(context&, ws_client& c, const nlohmann::json&, const nlohmann::json& ref) {
  c.send_text(reply("pong", {{"serverTime", now_ms()}}, ref));
}

}  // namespace

void register_core_ws(ws_protocol& p, context& ctx) {
  auto bind = [&ctx](auto fn) {
    return [&ctx, fn](ws_client& c, const nlohmann::json& m, const nlohmann::json& r) {
      fn(ctx, c, m, r);
    };
  };
  p.add("subscribe", bind(on_subscribe));
  p.add("unsubscribe", bind(on_unsubscribe));
  p.add("publish", bind(on_publish));
  p.add("ping", bind(on_ping));
}

}  // namespace rushcast::api
