// Owns one WebSocket connection: Beast handshake/reads/control frames, raw gathered writes of
// the hub's pre-encoded frames, its subscriptions and presence. Created by net::http_session.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
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
  const std::string& user_id() const override { return params_.user_id; }
  const std::string& remote_ip() const override { return params_.remote_ip; }
  std::function<void(std::string)> async_sender() override;

  // drainable
  void drain() override { close(1001, "server shutting down"); }

private:
  void on_accept(boost::system::error_code ec);
  void do_read();
  void on_read(boost::system::error_code ec, std::size_t n);
  void push_frame(const hub::frame_ptr& f);
  void do_write();
  void on_write(boost::system::error_code ec, std::size_t n);
  void try_close();
  void finish();

  services& svc_;
  net::shard& shard_;
  boost::beast::websocket::stream<ws_gate> ws_;
  conn_slot_ptr slot_;
  request_type upgrade_;
  ws_params params_;
  boost::beast::flat_buffer buffer_;
  write_queue queue_;
  std::vector<hub::frame_ptr> batch_;
  std::vector<boost::asio::const_buffer> bufs_;
  std::set<std::string> topics_;
  std::uint32_t strikes_ = 0;
  std::uint16_t close_code_ = 0;
  std::string close_reason_;
  bool open_ = false;             // handshake done
  bool writing_ = false;          // a raw write is in flight
  bool close_requested_ = false;  // no more frames accepted; close once the queue is flushed
  bool close_sent_ = false;
  bool finished_ = false;
};

}  // namespace rushcast::net
