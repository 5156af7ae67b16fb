// Owns the WebSocket JSON protocol: parsing a text message, dispatching by "type", the
// error replies. Used by net::ws_session for each complete text message.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace rushcast::api {

struct context;
class flat_object;

// The session as the protocol sees it. Implemented by net::ws_session.
class ws_client {
public:
  virtual ~ws_client() = default;
  // On the session's shard thread only:
  virtual void send_text(std::string json_text) = 0;  // a direct reply (never conflated)
  // Subscribes to topics the protocol has allowed (check_subscribe) and queues their replay
  // and snapshots; at most limits.max_topics_per_connection are held.
  virtual void subscribe(const std::vector<std::string>& topics) = 0;
  virtual void unsubscribe(const std::vector<std::string>& topics) = 0;
  // Subscriptions held now, and whether topic is one of them (limits.max_topics_per_connection
  // is judged on these). The defaults suit a client that holds none.
  virtual std::size_t topic_count() const { return 0; }
  virtual bool has_topic(std::string_view) const { return false; }
  virtual void close(std::uint16_t code, std::string reason) = 0;
  virtual const std::string& user_id() const = 0;   // token's sub, or userId param; may be empty
  // The chat name ("username" param); empty = user_id.
  virtual const std::string& display_name() const { return no_name_; }
  virtual const std::string& remote_ip() const = 0;
  // Thread-safe: returns a function that posts a reply to this session from any thread
  // (engine strands); it does nothing once the session is gone.
  virtual std::function<void(std::string)> async_sender() = 0;

private:
  static inline const std::string no_name_{};
};

// A message handler. msg is the parsed object; ref is the client's "ref" (null if absent) and
// must be echoed in the reply. Runs on the session's shard thread.
using ws_handler = std::function<void(ws_client&, const nlohmann::json& msg,
                                      const nlohmann::json& ref)>;

// A handler for the common shape of a hot message type: a flat object (api/flat_json) without
// "ref". Messages of other shapes go to the ws_handler of the same type.
using ws_flat_handler = std::function<void(ws_client&, const flat_object& msg)>;

class ws_protocol {
public:
  explicit ws_protocol(context& ctx);
  void add(std::string type, ws_handler h);
  // Also registered with add(): the handler every message of another shape goes to.
  void add_flat(std::string type, ws_flat_handler h);
  // Parses and dispatches one text message; malformed JSON, non-object, unknown type each get
  // {"type":"error","code":...,"message":...,"ref":...} and the connection stays open.
  void on_message(ws_client& c, std::string_view text) const;

private:
  context& ctx_;
  std::map<std::string, ws_handler, std::less<>> handlers_;
  std::map<std::string, ws_flat_handler, std::less<>> flat_handlers_;
};

// Reply helpers shared by every handler.
std::string ws_error(std::string_view code, std::string_view message, const nlohmann::json& ref);


}  // namespace rushcast::api
