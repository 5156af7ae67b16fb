// Owns chat presence across the cluster (storage.backend "redis"): which users are in which
// "chat:" room on any node, kept in Redis per node, with one "join" when a user's first
// connection anywhere enters a room and one "leave" when the last one anywhere goes, appended to
// the event bus by the same script that changes the membership. Each node mirrors the
// membership from the bus for its room_state snapshots. A node refreshes a heartbeat; one that
// stops (kill -9) has its members removed by the others. Used by app/server in cluster mode,
// as hub::presence's backend and as the bus's presence sink. Keys: docs/ARCHITECTURE.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "rushcast/cluster/bus.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/hub/presence.hpp"
#include "rushcast/obs/log_limiter.hpp"
#include "rushcast/redis/client.hpp"

namespace rushcast::cluster {

class presence : public hub::presence_backend,
                 public presence_sink,
                 public std::enable_shared_from_this<presence> {
public:
  // writer: the bus's publishing connection (one-thread executor; the heartbeat timer runs on
  // it). local must outlive this object. node_id names this node's membership in Redis; a new
  // one per process start (a restarted node's old members expire with its old heartbeat).
  static std::shared_ptr<presence> create(std::shared_ptr<redis::client> writer,
                                          hub::presence& local, const config::bus_cfg& cfg,
                                          std::string node_id);

  // Starts the heartbeat (the first one registers this node and sends its members) and loads
  // the mirror.
  void run();
  // Drain: removes this node's members from the cluster now ("leave" for those on no other
  // node), waiting at most wait for Redis's answer; no heartbeat after it. Not on the writer's
  // executor's thread.
  void leave_cluster(std::chrono::milliseconds wait);
  // Teardown, once no thread runs the writer's executor: stops the timer.
  void close_stopped();

  // hub::presence_backend. node_joined/node_left: any thread, never block.
  void node_joined(const std::string& topic, const std::string& user_id,
                   const std::string& username) override;
  void node_left(const std::string& topic, const std::string& user_id) override;
  std::vector<std::pair<std::string, std::string>> members(
      const std::string& topic) const override;

  // presence_sink (the bus reader).
  void on_presence(std::string_view epoch, std::span<const presence_op> ops) override;
  void on_bus_reset() override;

  const std::string& node_id() const { return node_id_; }
  // Joins Redis refused because a bound was reached (bus.presence_max_rooms or
  // bus.presence_max_members): the user is subscribed but not listed. Thread-safe.
  std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

private:
  presence(std::shared_ptr<redis::client> writer, hub::presence& local,
           const config::bus_cfg& cfg, std::string node_id);

  struct owned_op {
    std::uint64_t seq;
    std::string topic, user_id, username;
    bool join;
  };
  using room = std::map<std::string, std::string>;  // user id -> username

  // Runs the presence script: op and its arguments after the common ones.
  void call(std::string_view op, std::vector<std::string> args, redis::client::handler h);
  void heartbeat();
  void arm_heartbeat();
  void sync();
  void load();
  void on_loaded(const redis::reply& r);
  void apply_locked(const owned_op& op);  // mu_ held
  void count_join_reply(boost::system::error_code ec, const redis::reply& r);

  std::shared_ptr<redis::client> writer_;
  hub::presence& local_;
  config::bus_cfg cfg_;
  std::string node_id_;
  std::string prefix_;  // KEY:presence
  std::string epoch_key_, seq_key_, maxlen_, ttl_, max_rooms_, max_members_;
  std::string epoch_candidate_;

  boost::asio::steady_timer timer_;
  bool registered_ = false;  // writer executor: a heartbeat succeeded
  std::atomic<bool> closed_{false};
  // A join or leave whose outcome this node did not learn: the next heartbeat sends the whole
  // membership instead of trusting what Redis has.
  std::atomic<bool> needs_sync_{false};
  std::atomic<std::uint64_t> refused_{0};

  // The mirror: what every node's rooms hold, as of mirror_seq_ in mirror_epoch_.
  mutable std::mutex mu_;
  std::map<std::string, room> rooms_;
  std::string mirror_epoch_;
  std::uint64_t mirror_seq_ = 0;
  bool loading_ = false;      // a load is in flight: changes read meanwhile wait in pending_
  bool reload_again_ = false; // the mirror went stale while a load was in flight
  bool loaded_once_ = false;  // a load succeeded (else changes read are not applied)
  std::vector<std::pair<std::string, owned_op>> pending_;  // (epoch, op), bounded

  obs::log_limiter log_{std::chrono::seconds(10)};
};

}  // namespace rushcast::cluster
