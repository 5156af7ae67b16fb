// Owns one WebSocket connection: the upgrade (Beast, then Beast is freed), its own frame
// reading (ws_frame_reader), gathered writes of the hub's pre-encoded frames and of its control
// frames (stream_writer), keep-alive via the shard's sweep, and the close handshake. What its
// messages and subscriptions mean is api's (ws_protocol, chat_membership). Created by
// net::http_session.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "rushcast/api/ws_protocol.hpp"
#include "rushcast/hub/subscriber.hpp"
#include "rushcast/net/services.hpp"
#include "rushcast/net/stream_writer.hpp"
#include "rushcast/net/ws_frame_reader.hpp"

namespace rushcast::net {

struct ws_params {
  std::string user_id;   // token sub or userId param; empty = anonymous
  std::string username;  // "username" param, for presence; defaults to user_id
  std::string remote_ip;
  std::vector<std::string> topics;  // subscribed right after the handshake
  std::uint16_t refuse_code = 0;    // 4001/4003/1008: accept, then close with this code
  std::string refuse_reason;
  // Bytes read together with the upgrade request (http_session's buffer): the start of the
  // WebSocket stream, parsed before anything read later.
  std::string early_bytes;
};

class ws_session : public hub::subscriber,
                   public api::ws_client,
                   public drainable,
                   public std::enable_shared_from_this<ws_session> {
public:
  using request_type = boost::beast::http::request<boost::beast::http::string_body>;

  // On sh's thread. upgrade is the already-read HTTP upgrade request.
  ws_session(services& svc, net::shard& sh, boost::asio::ip::tcp::socket socket, conn_slot_ptr slot,
             request_type upgrade, ws_params params);
  ~ws_session() override;

  void run();

  // hub::subscriber
  void deliver(const hub::frame_ptr& f) override;
  std::size_t shard() const override { return shard_.index(); }
  // After the hub's sweep: writes what is queued (gathered, at once where the socket takes it).
  void flush() override { do_write(); }

  // api::ws_client (shard thread)
  void send_text(std::string json_text) override;
  void subscribe(const std::vector<std::string>& topics) override;
  void unsubscribe(const std::vector<std::string>& topics) override;
  void close(std::uint16_t code, std::string reason) override;
  std::size_t topic_count() const override { return topics_.size(); }
  bool has_topic(std::string_view topic) const override;
  const std::string& user_id() const override { return user_id_; }
  const std::string& display_name() const override { return username_; }
  const std::string& remote_ip() const override { return remote_ip_; }
  std::function<void(std::string)> async_sender() override;

  // drainable
  void drain() override { close(1001, "server shutting down"); }
  void keepalive(std::chrono::steady_clock::time_point now) override;

  // The shard's own executor type, not any_io_executor: every pending operation on this
  // connection stores a copy of it (and of its work guard).
  using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp,
                                                       boost::asio::io_context::executor_type>;

private:
  friend class stream_writer<ws_session>;
  using beast_stream = boost::beast::websocket::stream<socket_type, false>;

  // Needed only until the handshake is done; freed then.
  struct handshake_state {
    request_type upgrade;
    std::vector<std::string> topics;
    std::uint16_t refuse_code = 0;
    std::string refuse_reason;
    std::string early_bytes;
  };

  void on_accept(boost::system::error_code ec);
  void wait_read();
  void on_readable(boost::system::error_code ec);
  // Feeds what was read to the frame reader and acts on what it completed.
  void on_bytes(std::string_view bytes);
  void on_event(ws_event& e);
  void on_message(std::string text);
  // Closing or closed: no data frame, reply or message is taken any more.
  bool closing() const { return close_requested_ || finished_ || writer_.over_cap(); }
  // Queues f, and posts a write: for frames that do not come from the hub's fan-out. At the
  // byte cap, closes 4008 instead (slow consumer).
  void push_frame(const hub::frame_ptr& f);
  // A ping or pong: written in order with the data frames and counted against the cap, but a
  // newer one replaces one of its kind still queued (RFC 6455 §5.5.3 lets a pong answer only
  // the most recent ping), so a peer that pings and never reads holds at most one of each.
  void push_control(hub::frame_ptr f);
  void post_write();
  // After a read was handled: writes the replies it queued (replying_ held them back).
  void write_replies();
  // A reply on the session's shard, outside its own input handling: queued and written now.
  void send_now(std::string json_text);
  // stream_writer's hooks.
  void do_write();
  // Nothing queued, nothing in flight: the close handshake's next step, if one is due.
  void on_drained();
  // At the byte cap: close 4008 from the shard, not from the caller.
  void on_over_cap();
  // Every failed I/O ends here: logged unless it is a normal end, then the connection ends.
  void fail(boost::system::error_code ec, const char* what);
  void try_close();
  // Bounds the close handshake by handshake_timeout_ms (then the connection is reset).
  void arm_close_deadline();
  void finish();

  // Every member here is paid by every idle connection (docs/ARCHITECTURE.md, "memory"): keep
  // what only a handshake, a message or a write needs behind a pointer that is empty meanwhile.
  services& svc_;
  net::shard& shard_;
  socket_type socket_;
  // Beast's stream, only for the upgrade handshake; freed once it is done (~2.5 KiB: its fixed
  // read buffer, timer and handler slots). No permessage-deflate: the server never offers it.
  std::unique_ptr<beast_stream> ws_;
  conn_slot_ptr slot_;
  std::unique_ptr<handshake_state> handshake_;
  // Only while a frame or a fragmented message is incomplete; freed when nothing is pending.
  std::unique_ptr<ws_frame_reader> reader_;
  // Last time the peer sent anything (keep-alive); once our close frame is written, the time
  // it was written (the close handshake is bounded by handshake_timeout_ms from there).
  std::chrono::steady_clock::time_point last_heard_{};
  std::string user_id_;
  std::string username_;  // empty = user_id_
  std::string remote_ip_;
  stream_writer<ws_session> writer_;
  // Only while a close is under way (arm_close_deadline).
  std::unique_ptr<boost::asio::steady_timer> close_deadline_;
  std::vector<std::string> topics_;  // a handful at most: a vector is smaller than a set
  std::string close_reason_;
  std::uint32_t strikes_ = 0;
  std::uint16_t close_code_ = 0;
  bool open_ = false;             // handshake done
  bool close_requested_ = false;  // no more data frames accepted; close once the queue is flushed
  bool close_sent_ = false;       // our close frame is queued: nothing more is queued after it
  bool close_written_ = false;    // ... and written; FIN sent, reading until the peer's EOF
  bool peer_closed_ = false;      // the peer's close frame arrived
  bool discard_input_ = false;    // a protocol error: what follows is not parsed
  bool finished_ = false;
  bool replying_ = false;         // handling a read: its replies are written as it ends
};

}  // namespace rushcast::net
