// Owns the WebSocket JSON protocol: parse one text message, dispatch by "type", error replies.
// Used by net::ws_session for each complete text message, on the session's shard thread.
#include "rushcast/api/ws_protocol.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/api/context.hpp"
#include "rushcast/api/flat_json.hpp"
#include "rushcast/api/json_body.hpp"

namespace rushcast::api {

ws_protocol::ws_protocol(context& ctx) : ctx_(ctx) {}

void ws_protocol::add(std::string type, ws_handler h) { handlers_[std::move(type)] = std::move(h); }

void ws_protocol::add_flat(std::string type, ws_flat_handler h) {
  flat_handlers_[std::move(type)] = std::move(h);
}

void ws_protocol::on_message(ws_client& c, std::string_view text) const {
  // The hot shape first, without a DOM: a flat object of a type with a flat handler, no "ref".
  if (!flat_handlers_.empty())
    if (auto flat = flat_object::parse(text)) {
      const flat_member* type = flat->find("type");
      if (type && type->type == flat_member::kind::string && !flat->find("ref"))
        if (auto h = flat_handlers_.find(type->text); h != flat_handlers_.end()) {
          try {
            h->second(c, *flat);
          } catch (const std::exception& e) {
            spdlog::error("ws handler {} failed: {}", h->first, e.what());
            c.send_text(ws_error("internal", "internal error", nullptr));
          }
          return;
        }
    }
  // Depth-checked before parsing: a deep "ref" would otherwise crash the shard thread when it
  // is copied or echoed.
  auto parsed = parse_client_json(text);
  if (!parsed) {
    c.send_text(ws_error("bad_json", "a message must be one JSON object nested at most 64 deep",
                         nullptr));
    return;
  }
  const nlohmann::json& msg = *parsed;
  nlohmann::json ref = nullptr;
  if (auto it = msg.find("ref"); it != msg.end()) ref = *it;

  auto type_it = msg.find("type");
  if (type_it == msg.end() || !type_it->is_string()) {
    c.send_text(ws_error("bad_request", "\"type\" must be a string", ref));
    return;
  }
  auto h = handlers_.find(type_it->get_ref<const std::string&>());
  if (h == handlers_.end()) {
    c.send_text(ws_error("unknown_type", "unknown message type", ref));
    return;
  }
  // Handlers validate their fields, but a field of an unexpected JSON type must never take the
  // connection (or the shard thread) down: it is the client's error.
  try {
    h->second(c, msg, ref);
  } catch (const nlohmann::json::exception&) {
    c.send_text(ws_error("bad_request", "malformed message fields", ref));
  } catch (const std::exception& e) {
    spdlog::error("ws handler {} failed: {}", h->first, e.what());
    c.send_text(ws_error("internal", "internal error", ref));
  }
}

std::string ws_error(std::string_view code, std::string_view message, const nlohmann::json& ref) {
  nlohmann::ordered_json j{{"type", "error"}, {"code", code}, {"message", message}};
  if (!ref.is_null()) j["ref"] = ref;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace rushcast::api
