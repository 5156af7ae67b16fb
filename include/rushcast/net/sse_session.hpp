// Owns one Server-Sent Events stream: its socket (no read buffer), heartbeat, and the drain of
// its write_queue in gathered writes. Created by net::http_session for GET /sse-updates.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "rushcast/hub/subscriber.hpp"
#include "rushcast/net/services.hpp"
#include "rushcast/net/stream_writer.hpp"

namespace rushcast::net {

class sse_session : public hub::subscriber,
                    public drainable,
                    public std::enable_shared_from_this<sse_session> {
public:
  // On sh's thread. head = the full HTTP response head (status line .. blank line).
  sse_session(services& svc, net::shard& sh, boost::asio::ip::tcp::socket socket,
              conn_slot_ptr slot, std::string head, std::vector<std::string> topics,
              std::optional<std::string> last_event_id);
  ~sse_session() override;

  // Subscribes, queues head + "retry:" + resync/replay/snapshot, starts heartbeat and the
  // wait for the peer's close.
  void run();

  void deliver(const hub::frame_ptr& f) override;
  std::size_t shard() const override { return shard_.index(); }
  // Ends the stream after what is queued (clients reconnect with Last-Event-ID).
  void drain() override { end_stream(); }
  // After the hub's sweep: writes what is queued (gathered, at once where the socket takes it).
  void flush() override { do_write(); }

private:
  friend class stream_writer<sse_session>;

  // Queues f; at the byte cap, ends the stream instead (slow consumer): the queue is freed at
  // once, and the connection is gone within handshake_timeout_ms even if the peer reads
  // nothing.
  void enqueue(const hub::frame_ptr& f) { writer_.push(*this, f); }
  // stream_writer's hooks.
  void do_write();
  void on_drained();
  void on_over_cap();
  // Every failed I/O ends here: logged unless it is a normal end, then the stream is closed.
  void fail(boost::system::error_code ec, const char* what);
  void wait_peer();
  void on_readable(boost::system::error_code ec);
  void arm_heartbeat();
  void end_stream();
  // Ending with a write still in flight: the peer has handshake_timeout_ms to take it, then
  // the connection is reset.
  void arm_close_deadline();
  // reset: an abortive close (RST), for a peer that stopped reading.
  void close_now(bool reset = false);

  services& svc_;
  net::shard& shard_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer heartbeat_;
  conn_slot_ptr slot_;
  std::vector<std::string> topics_;
  std::optional<std::string> last_event_id_;
  hub::frame_ptr head_;
  stream_writer<sse_session> writer_;
  bool ending_ = false;  // flush, then end the stream
  bool closed_ = false;
  bool counted_ = false;
};

}  // namespace rushcast::net
