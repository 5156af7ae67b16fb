// Owns one WebSocket connection: Beast handshake/reads/control frames, raw gathered writes of
// the hub's pre-encoded frames, its subscriptions and presence. Created by net::http_session.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "rushcast/api/ws_protocol.hpp"
#include "rushcast/hub/subscriber.hpp"
#include "rushcast/net/services.hpp"
#include "rushcast/net/write_queue.hpp"
#include "rushcast/net/ws_gate.hpp"

namespace rushcast::net {

struct ws_params {
  std::string user_id;   // token sub or userId param; empty = anonymous
  std::string username;  // "username" param, for presence; defaults to user_id
  std::string remote_ip;
  std::vector<std::string> topics;  // subscribed right after the handshake
  std::uint16_t refuse_code = 0;    // 4001/4003/1008: accept, then close with this code
  std::string refuse_reason;
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

  // api::ws_client (shard thread)
  void send_text(std::string json_text) override;
  void subscribe(const std::vector<std::string>& topics) override;
  void unsubscribe(const std::vector<std::string>& topics) override;
  void close(std::uint16_t code, std::string reason) override;
  const std::string& user_id() const override { return user_id_; }
  const std::string& remote_ip() const override { return remote_ip_; }
  std::function<void(std::string)> async_sender() override;

  // drainable
  void drain() override { close(1001, "server shutting down"); }

private:
  // Needed only until the handshake is done; freed then.
  struct handshake_state {
    request_type upgrade;
    std::vector<std::string> topics;
    std::uint16_t refuse_code = 0;
    std::string refuse_reason;
  };

  void on_accept(boost::system::error_code ec);
  void do_read();
  void on_frame(boost::system::error_code ec);
  void on_read(boost::system::error_code ec, std::size_t n);
  void on_message(std::string text);
  bool read_failed(boost::system::error_code ec);
  void push_frame(const hub::frame_ptr& f);
  void do_write();
  void on_write(boost::system::error_code ec, std::size_t n);
  void try_close();
  void finish();

  // Every member here is paid by every idle connection (docs/ARCHITECTURE.md, "memory"): keep
  // what only a handshake, a message or a write needs behind a pointer that is empty meanwhile.
  services& svc_;
  net::shard& shard_;
  // No permessage-deflate: the server never offers it, so drop its state and code.
  boost::beast::websocket::stream<ws_gate, false> ws_;
  conn_slot_ptr slot_;
  std::unique_ptr<handshake_state> handshake_;
  std::unique_ptr<boost::beast::flat_buffer> message_;  // only while a message is being read
  std::string user_id_;
  std::string username_;  // empty = user_id_
  std::string remote_ip_;
  write_queue queue_;
  std::vector<hub::frame_ptr> batch_;
  std::vector<boost::asio::const_buffer> bufs_;
  std::vector<std::string> topics_;  // a handful at most: a vector is smaller than a set
  std::string close_reason_;
  std::uint32_t strikes_ = 0;
  std::uint16_t close_code_ = 0;
  bool open_ = false;             // handshake done
  bool writing_ = false;          // a raw write is in flight
  bool close_requested_ = false;  // no more frames accepted; close once the queue is flushed
  bool close_sent_ = false;
  bool finished_ = false;
};

}  // namespace rushcast::net
