// Chat presence across the cluster.
//
// Redis holds, under P = bus.stream_key + ":presence":
//   P:nodes          ZSET node id -> heartbeat deadline (Redis TIME, ms)
//   P:node:<node>    SET "topic\nuser": who this node holds
//   P:count:<topic>  HASH user -> how many nodes hold the user in the room
//   P:room:<topic>   HASH user -> username: the room's members, cluster-wide
//   P:rooms          SET of rooms with members (bus.presence_max_rooms bounds it)
// One script changes them, each operation atomically, and appends the "join" or "leave" event
// to the bus stream in the same step (the bus's epoch/seq/XADD logic, with the extra fields
// p, u, m), so the stream's order is the order of membership changes. Only a node's first
// connection of a user in a room (hub::presence counts them) and its last reach Redis; only the
// first node to hold a user appends "join", and the last to let go appends "leave".
//
// A node beats every bus.presence_heartbeat_ms: its deadline moves to now + presence_ttl_ms, and
// it removes (with their "leave" events) up to 1,000 members of nodes whose deadline passed (the
// rest at the next beats): a node killed with -9 leaves its rooms within presence_ttl_ms +
// presence_heartbeat_ms (plus a beat per further 1,000 members it held). A node
// that finds itself gone from P:nodes (its first beat, or it was taken for dead, or Redis lost
// its data), or that did not learn the outcome of a join or leave, sends its whole membership
// ("sync"), which Redis makes its P:node set equal to.
//
// The mirror (room_state snapshots, users()) is loaded with one script call (the membership and
// the bus seq it matches) and then follows the presence changes the bus reader reads after that
// seq. Changes read while a load is in flight wait, and those after its seq are applied once it
// arrives. A gap or a new epoch reloads it.
#include "rushcast/cluster/presence.hpp"

#include <algorithm>
#include <future>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/core/epoch.hpp"

namespace rushcast::cluster {
namespace {

// KEYS: 1 P, 2 stream, 3 epoch key, 4 seq key. ARGV: 1 epoch candidate, 2 maxlen, 3 op,
// 4 node, 5 ttl ms, 6 max rooms, 7 max members, 8.. the op's own.
constexpr std::string_view presence_script = R"lua(
local P, S, EK, QK = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op, node = ARGV[3], ARGV[4]
local ttl, max_rooms, max_members = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local rooms_key, nodes_key = P .. ':rooms', P .. ':nodes'

local function append(topic, name, user, uname)
  local epoch = redis.call('GET', EK)
  if not epoch then
    epoch = ARGV[1]
    redis.call('SET', EK, epoch)
    redis.call('DEL', QK)
  end
  local seq = redis.call('INCR', QK)
  local data = '{"userId":' .. cjson.encode(user) .. ',"username":' .. cjson.encode(uname) .. '}'
  redis.call('XADD', S, 'MAXLEN', '~', ARGV[2], '*', 'e', epoch, 's', seq, 't', topic,
             'n', name, 'd', data, 'c', '0', 'p', name == 'join' and '+' or '-', 'u', user,
             'm', uname)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function join(topic, user, uname)
  local nk = P .. ':node:' .. node
  local member = topic .. '\n' .. user
  if redis.call('SISMEMBER', nk, member) == 1 then return 0 end
  local ck = P .. ':count:' .. topic
  if redis.call('HEXISTS', ck, user) == 0 then
    if redis.call('EXISTS', ck) == 0 and redis.call('SCARD', rooms_key) >= max_rooms then
      return -1
    end
    if redis.call('HLEN', ck) >= max_members then return -2 end
  end
  redis.call('SADD', nk, member)
  if redis.call('HINCRBY', ck, user, 1) == 1 then
    redis.call('HSET', P .. ':room:' .. topic, user, uname)
    redis.call('SADD', rooms_key, topic)
    append(topic, 'join', user, uname)
  end
  return 1
end

-- member ("topic\nuser") was just removed from a node's set.
local function drop(member)
  local nl = string.find(member, '\n', 1, true)
  if not nl then return end
  local topic, user = string.sub(member, 1, nl - 1), string.sub(member, nl + 1)
  local ck, rk = P .. ':count:' .. topic, P .. ':room:' .. topic
  if redis.call('HINCRBY', ck, user, -1) > 0 then return end
  redis.call('HDEL', ck, user)
  local uname = redis.call('HGET', rk, user) or user
  redis.call('HDEL', rk, user)
  if redis.call('HLEN', ck) == 0 then
    redis.call('DEL', ck)
    redis.call('SREM', rooms_key, topic)
  end
  append(topic, 'leave', user, uname)
end

-- Removes up to budget members of node id (all when budget is nil); the node itself once none
-- is left. Returns how many were removed.
local function drop_node(id, budget)
  local nk = P .. ':node:' .. id
  local members
  if budget then members = redis.call('SPOP', nk, budget) else members = redis.call('SMEMBERS', nk) end
  for _, m in ipairs(members) do drop(m) end
  if not budget or redis.call('SCARD', nk) == 0 then
    redis.call('DEL', nk)
    redis.call('ZREM', nodes_key, id)
  end
  return #members
end

if op == 'join' then
  -- A node that holds members is in P:nodes, even before its first heartbeat: else nobody
  -- would remove them if it died before that.
  redis.call('ZADD', nodes_key, 'NX', now_ms() + ttl, node)
  return join(ARGV[8], ARGV[9], ARGV[10])
elseif op == 'leave' then
  local member = ARGV[8] .. '\n' .. ARGV[9]
  if redis.call('SREM', P .. ':node:' .. node, member) == 0 then return 0 end
  drop(member)
  return 1
elseif op == 'beat' then
  local now = now_ms()
  local known = redis.call('ZSCORE', nodes_key, node)
  redis.call('ZADD', nodes_key, now + ttl, node)
  -- A bounded share per beat (one script blocks Redis while it runs): the rest next beat.
  local reaped = 0
  for _, d in ipairs(redis.call('ZRANGEBYSCORE', nodes_key, '-inf', '(' .. now, 'LIMIT', 0, 8)) do
    if d ~= node and reaped < 1000 then reaped = reaped + drop_node(d, 1000 - reaped) end
  end
  return {known and 1 or 0, reaped}
elseif op == 'sync' then
  redis.call('ZADD', nodes_key, now_ms() + ttl, node)
  local nk = P .. ':node:' .. node
  local want = {}
  for i = 8, #ARGV, 3 do want[ARGV[i] .. '\n' .. ARGV[i + 1]] = true end
  for _, m in ipairs(redis.call('SMEMBERS', nk)) do
    if not want[m] then
      redis.call('SREM', nk, m)
      drop(m)
    end
  end
  local refused = 0
  for i = 8, #ARGV, 3 do
    if join(ARGV[i], ARGV[i + 1], ARGV[i + 2]) < 0 then refused = refused + 1 end
  end
  return refused
elseif op == 'bye' then
  return drop_node(node)
elseif op == 'load' then
  local out = {}
  for _, topic in ipairs(redis.call('SMEMBERS', rooms_key)) do
    local h = redis.call('HGETALL', P .. ':room:' .. topic)
    for i = 1, #h, 2 do
      out[#out + 1] = topic
      out[#out + 1] = h[i]
      out[#out + 1] = h[i + 1]
    end
  end
  return {redis.call('GET', EK) or '', tonumber(redis.call('GET', QK) or '0'), out}
end
return redis.error_reply('unknown presence op ' .. tostring(op))
)lua";

// Presence changes read while a load is in flight, at most: past it the load is redone.
constexpr std::size_t max_pending_ops = 100000;

}  // namespace

std::shared_ptr<presence> presence::create(std::shared_ptr<redis::client> writer,
                                           hub::presence& local, const config::bus_cfg& cfg,
                                           std::string node_id) {
  return std::shared_ptr<presence>(
      new presence(std::move(writer), local, cfg, std::move(node_id)));
}

presence::presence(std::shared_ptr<redis::client> writer, hub::presence& local,
                   const config::bus_cfg& cfg, std::string node_id)
    : writer_(std::move(writer)),
      local_(local),
      cfg_(cfg),
      node_id_(std::move(node_id)),
      prefix_(cfg.stream_key + ":presence"),
      epoch_key_(cfg.stream_key + ":epoch"),
      seq_key_(cfg.stream_key + ":seq"),
      maxlen_(std::to_string(cfg.stream_maxlen)),
      ttl_(std::to_string(cfg.presence_ttl_ms)),
      max_rooms_(std::to_string(cfg.presence_max_rooms)),
      max_members_(std::to_string(cfg.presence_max_members)),
      epoch_candidate_(core::make_epoch()),
      timer_(writer_->get_executor()) {}

void presence::call(std::string_view op, std::vector<std::string> args,
                    redis::client::handler h) {
  std::vector<std::string> cmd;
  cmd.reserve(15 + args.size());
  for (std::string_view a :
       {std::string_view("EVAL"), presence_script, std::string_view("4"),
        std::string_view(prefix_), std::string_view(cfg_.stream_key),
        std::string_view(epoch_key_), std::string_view(seq_key_),
        std::string_view(epoch_candidate_), std::string_view(maxlen_), op,
        std::string_view(node_id_), std::string_view(ttl_), std::string_view(max_rooms_),
        std::string_view(max_members_)})
    cmd.emplace_back(a);
  for (auto& a : args) cmd.push_back(std::move(a));
  writer_->execute(cmd, std::move(h));
}

void presence::run() {
  // The connection is still being made: the first heartbeat and load come soon after.
  arm_heartbeat();
}

void presence::arm_heartbeat() {
  if (closed_.load()) return;
  bool settled = registered_;
  {
    std::lock_guard lk(mu_);
    settled = settled && loaded_once_;
  }
  // Until this node is registered and its mirror loaded, it tries again soon.
  const auto every = std::chrono::milliseconds(cfg_.presence_heartbeat_ms);
  timer_.expires_after(settled ? every : std::min(every, std::chrono::milliseconds(100)));
  timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    if (auto self = w.lock(); self && !ec) self->heartbeat();
  });
}

// Writer executor.
void presence::heartbeat() {
  if (closed_.load()) return;
  bool reload = false;
  {
    std::lock_guard lk(mu_);
    reload = !loading_ && !loaded_once_;  // the last load failed
  }
  if (reload) load();
  if (needs_sync_.exchange(false)) {
    sync();
  } else {
    call("beat", {}, [self = shared_from_this()](boost::system::error_code ec, redis::reply r) {
      if (ec) {
        // Not told whether it counted: send everything once Redis answers again.
        self->needs_sync_ = true;
        if (auto n = self->log_.admit())
          spdlog::warn("presence: heartbeat failed ({} time(s)): {}", n, ec.message());
        return;
      }
      self->registered_ = true;
      if (auto reaped = r.at(1).as_int(); reaped && *reaped > 0)
        spdlog::info("presence: {} member(s) of nodes that stopped beating removed", *reaped);
      // Not (or no longer) known to the cluster: its first beat, it was taken for dead, or
      // Redis lost its data. Its members go back in.
      if (r.at(0).as_int().value_or(1) == 0) self->sync();
    });
  }
  arm_heartbeat();
}

void presence::sync() {
  local_.with_local_members([this](const std::vector<hub::local_member>& all) {
    std::vector<std::string> args;
    args.reserve(all.size() * 3);
    for (const auto& m : all) {
      args.push_back(m.topic);
      args.push_back(m.user_id);
      args.push_back(m.username);
    }
    call("sync", std::move(args),
         [self = shared_from_this()](boost::system::error_code ec, redis::reply r) {
           if (ec) {
             self->needs_sync_ = true;
             return;
           }
           if (auto n = r.as_int(); n && *n > 0)
             self->refused_.fetch_add(static_cast<std::uint64_t>(*n), std::memory_order_relaxed);
         });
  });
}

void presence::count_join_reply(boost::system::error_code ec, const redis::reply& r) {
  if (ec) {
    needs_sync_ = true;
    return;
  }
  if (auto v = r.as_int(); v && *v < 0) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    if (auto n = log_.admit())
      spdlog::warn("presence: {} join(s) not listed: bus.presence_max_{} reached", n,
                   *v == -1 ? "rooms" : "members");
  }
}

void presence::node_joined(const std::string& topic, const std::string& user_id,
                           const std::string& username) {
  if (closed_.load()) return;
  call("join", {topic, user_id, username},
       [self = shared_from_this()](boost::system::error_code ec, redis::reply r) {
         self->count_join_reply(ec, r);
       });
}

void presence::node_left(const std::string& topic, const std::string& user_id) {
  if (closed_.load()) return;
  call("leave", {topic, user_id},
       [self = shared_from_this()](boost::system::error_code ec, redis::reply) {
         if (ec) self->needs_sync_ = true;
       });
}

std::vector<std::pair<std::string, std::string>> presence::members(
    const std::string& topic) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::lock_guard lk(mu_);
  if (auto it = rooms_.find(topic); it != rooms_.end())
    out.assign(it->second.begin(), it->second.end());
  return out;
}

void presence::load() {
  {
    std::lock_guard lk(mu_);
    if (loading_) {
      reload_again_ = true;
      return;
    }
    loading_ = true;
    // Changes read before this call are in what it returns.
    pending_.clear();
  }
  call("load", {}, [self = shared_from_this()](boost::system::error_code ec, redis::reply r) {
    if (ec) {
      std::lock_guard lk(self->mu_);
      self->loading_ = false;
      self->reload_again_ = false;
      self->loaded_once_ = false;  // the next heartbeat tries again
      return;
    }
    self->on_loaded(r);
  });
}

void presence::on_loaded(const redis::reply& r) {
  std::unique_lock lk(mu_);
  if (reload_again_) {
    reload_again_ = false;
    loading_ = false;
    lk.unlock();
    load();
    return;
  }
  rooms_.clear();
  const auto& flat = r.at(2).elements;
  for (std::size_t i = 0; i + 2 < flat.size(); i += 3)
    apply_locked({0, flat[i].str, flat[i + 1].str, flat[i + 2].str, true});
  mirror_epoch_ = r.at(0).str;
  mirror_seq_ = static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.at(1).as_int().value_or(0)));
  for (auto& [epoch, op] : pending_) {
    if (mirror_epoch_.empty()) mirror_epoch_ = epoch;
    if (epoch == mirror_epoch_ && op.seq > mirror_seq_) apply_locked(op);
  }
  pending_.clear();
  loading_ = false;
  loaded_once_ = true;
}

void presence::apply_locked(const owned_op& op) {
  if (op.seq > 0) mirror_seq_ = op.seq;
  if (op.join) {
    auto it = rooms_.find(op.topic);
    // The script keeps Redis within the bounds; the mirror holds to them on its own too.
    if (it == rooms_.end()) {
      if (rooms_.size() >= cfg_.presence_max_rooms) return;
      it = rooms_.emplace(op.topic, room{}).first;
    }
    if (it->second.size() >= cfg_.presence_max_members && !it->second.count(op.user_id)) return;
    it->second[op.user_id] = op.username.empty() ? op.user_id : op.username;
    return;
  }
  auto it = rooms_.find(op.topic);
  if (it == rooms_.end()) return;
  it->second.erase(op.user_id);
  if (it->second.empty()) rooms_.erase(it);
}

void presence::on_presence(std::string_view epoch, std::span<const presence_op> ops) {
  std::unique_lock lk(mu_);
  if (loading_) {
    if (pending_.size() + ops.size() > max_pending_ops) {
      pending_.clear();
      reload_again_ = true;
      return;
    }
    for (const auto& op : ops)
      pending_.emplace_back(std::string(epoch),
                            owned_op{op.seq, std::string(op.topic), std::string(op.user_id),
                                     std::string(op.username), op.join});
    return;
  }
  if (!loaded_once_) return;  // a load comes with the next heartbeat and will hold these
  if (mirror_epoch_.empty()) mirror_epoch_.assign(epoch);
  if (epoch != mirror_epoch_) {
    lk.unlock();
    load();
    return;
  }
  for (const auto& op : ops)
    if (op.seq > mirror_seq_)
      apply_locked({op.seq, std::string(op.topic), std::string(op.user_id),
                    std::string(op.username), op.join});
}

void presence::on_bus_reset() { load(); }

void presence::leave_cluster(std::chrono::milliseconds wait) {
  if (closed_.exchange(true)) return;
  boost::asio::post(writer_->get_executor(), [self = shared_from_this()] {
    self->timer_.cancel();
  });
  auto done = std::make_shared<std::promise<void>>();
  auto f = done->get_future();
  call("bye", {}, [done](boost::system::error_code, redis::reply) { done->set_value(); });
  if (f.wait_for(wait) != std::future_status::ready)
    spdlog::warn("presence: Redis did not confirm this node's leaving in {} ms; its members go "
                 "when its heartbeat expires",
                 wait.count());
}

void presence::close_stopped() {
  closed_.store(true);
  timer_.cancel();
}

}  // namespace rushcast::cluster
