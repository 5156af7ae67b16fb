#!lua name=rushcast
-- rushcast's decisions in Redis (docs/ARCHITECTURE.md, "Redis backend: key layout and
-- Functions"). Every function that writes checks all of its arguments and the state it needs
-- before its first write, so a refused call changes nothing. Time is Redis TIME: one clock
-- for the whole cluster. Keys of one sale or auction share a hash tag ({id}); KEYS[1] is the
-- base key (rc:sale:{ID} or rc:auction:{ID}) and the others are the base plus a suffix.
-- The rules match src/engine/sale.cpp and src/engine/auction.cpp.

local LIBRARY_VERSION = '2'
local MAX_BATCH = 1000
local MAX_USER_BYTES = 120     -- core::max_user_id_bytes
local MAX_REQUEST_ID_BYTES = 128
local MAX_BID_AMOUNT = 1000000000000  -- engine::max_bid_amount

local function bad(what)
  return redis.error_reply('ERR rushcast: ' .. what)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- A decimal integer argument in [lo, hi], else nil.
local function int_arg(s, lo, hi)
  if type(s) ~= 'string' or #s == 0 or #s > 16 or not s:match('^%-?%d+$') then return nil end
  local v = tonumber(s)
  if v == nil or v < lo or v > hi then return nil end
  return v
end

-- "abs:MS" (epoch ms) or "rel:MS" (now + MS): how a configured time is resolved, once, by the
-- first node that initialises the sale or auction.
local function time_arg(s, now)
  if type(s) ~= 'string' then return nil end
  local kind, digits = s:match('^(%a%a%a):(%d+)$')
  if not digits or #digits > 15 then return nil end
  if kind == 'abs' then return tonumber(digits) end
  if kind == 'rel' then return now + tonumber(digits) end
  return nil
end

local function id_ok(s, max)
  return type(s) == 'string' and #s > 0 and #s <= max
end

-- core::check_user_id's alphabet: records join fields with newlines, so none may hold one.
local function user_ok(s)
  return id_ok(s, MAX_USER_BYTES) and s:match('^[%w_%.@:%-]+$') ~= nil
end

local function hnum(key, field)
  return tonumber(redis.call('HGET', key, field) or '0')
end

-- The idempotency field of a request: scoped to its user, so that two users' keys never meet.
local function request_field(user, request_id)
  return #user .. ':' .. user .. ':' .. request_id
end

---------------------------------------------------------------------------------------------
-- Sales. Keys (base = rc:sale:{ID}):
--   base:meta   hash  total, start_ms, end_ms, per_user_limit, rate (process_rate_per_s)
--   base:state  hash  reserved (admissions), head (last position worked off), next_us (rate)
--   base:pos    hash  position -> "user\nuser_seq\nts_ms"
--   base:users  hash  user -> "count\nlatest_position"
--   base:req    hash  "len:user:request_id" -> position (the admission a request got)
--   base:unannounced hash  first position -> "last\nts_ms": completed, results not yet published
--   base:publisher string  the node holding the publisher lease
---------------------------------------------------------------------------------------------

local function sale_meta(base)
  local m = redis.call('HMGET', base .. ':meta', 'total', 'start_ms', 'end_ms', 'per_user_limit',
                       'rate')
  if not m[1] then return nil end
  return {total = tonumber(m[1]), start_ms = tonumber(m[2]), end_ms = tonumber(m[3]),
          limit = tonumber(m[4]), rate = tonumber(m[5])}
end

local function sale_state(base)
  local s = redis.call('HMGET', base .. ':state', 'reserved', 'head', 'next_us')
  return {reserved = tonumber(s[1] or '0'), head = tonumber(s[2] or '0'),
          next_us = tonumber(s[3] or '0')}
end

local function user_record(base, user)
  local u = redis.call('HGET', base .. ':users', user)
  if not u then return 0, 0 end
  local count, latest = u:match('^(%d+)\n(%d+)$')
  return tonumber(count), tonumber(latest)
end

-- ARGV: total, start ("abs:MS"|"rel:MS"), end, per_user_limit, process_rate_per_s.
-- The first call stores the sale; later calls (other nodes, restarts) change nothing and
-- return what is stored. -> {now, total, start_ms, end_ms, per_user_limit, rate, created}
local function sale_init(keys, args)
  local base = keys[1]
  if not base then return bad('sale_init needs the sale key') end
  local now = now_ms()
  local total = int_arg(args[1], 0, 1e12)
  local start_ms = time_arg(args[2], now)
  local end_ms = time_arg(args[3], now)
  local limit = int_arg(args[4], 1, 1e9)
  local rate = int_arg(args[5], 0, 1e9)
  if not total then return bad('sale_init: total must be an integer >= 0') end
  if not start_ms or not end_ms then return bad('sale_init: times must be abs:MS or rel:MS') end
  if not limit then return bad('sale_init: per_user_limit must be an integer >= 1') end
  if not rate then return bad('sale_init: process_rate_per_s must be an integer >= 0') end
  local created = 0
  if redis.call('EXISTS', base .. ':meta') == 0 then
    redis.call('HSET', base .. ':meta', 'total', total, 'start_ms', start_ms, 'end_ms', end_ms,
               'per_user_limit', limit, 'rate', rate)
    created = 1
  end
  local m = sale_meta(base)
  return {now, m.total, m.start_ms, m.end_ms, m.limit, m.rate, created}
end

-- ARGV: n, then n pairs (user_id, request_id). Decides n purchase requests in order, each
-- seeing the ones before it, as engine::sale::admit does:
--   not_started before start; duplicate when the user has per_user_limit admissions (even
--   after the end or the sell-out); ended after the end; sold_out when every unit is reserved;
--   else queued at the next position (FIFO), reserving one unit.
-- A request id that was admitted for this user gets the same answer again (replay = 1) and
-- writes nothing. Refusals are not stored: deciding again gives the same answer (sold_out,
-- duplicate and ended never go back), except not_started, which had no effect either. -> {now, total, reserved, head, result_1, ..., result_n}, each result:
--   {"queued", position, user_seq, replay}  {"sold_out"}  {"duplicate", latest_position, done}
--   {"not_started", start_ms}  {"ended", end_ms}
local function sale_admit(keys, args)
  local base = keys[1]
  if not base then return bad('sale_admit needs the sale key') end
  local n = int_arg(args[1], 1, MAX_BATCH)
  if not n then return bad('sale_admit: n must be an integer between 1 and ' .. MAX_BATCH) end
  if #args ~= 1 + 2 * n then return bad('sale_admit: expected ' .. (1 + 2 * n) .. ' arguments') end
  for i = 1, n do
    if not user_ok(args[2 * i]) then
      return bad('sale_admit: request ' .. i .. ': bad user id')
    end
    if not id_ok(args[2 * i + 1], MAX_REQUEST_ID_BYTES) then
      return bad('sale_admit: request ' .. i .. ': bad request id')
    end
  end
  local m = sale_meta(base)
  if not m then return bad('sale_admit: unknown sale (sale_init first)') end

  -- Nothing has been written so far; from here on every request gets an answer. (Numbers
  -- written into keys stay below 1e13: Lua writes numbers with 14 significant digits; next_us
  -- is formatted by hand.)
  local now = now_ms()
  local st = sale_state(base)
  local out = {now, m.total, 0, 0}
  for i = 1, n do
    local user, request_id = args[2 * i], args[2 * i + 1]
    local field = request_field(user, request_id)
    local known = redis.call('HGET', base .. ':req', field)
    local count, latest = user_record(base, user)
    if known then
      local rec = redis.call('HGET', base .. ':pos', known)
      local seq = rec and tonumber(rec:match('^[^\n]*\n(%d+)\n')) or 1
      out[#out + 1] = {'queued', tonumber(known), seq, 1}
    elseif now < m.start_ms then
      out[#out + 1] = {'not_started', m.start_ms}
    elseif count >= m.limit then
      out[#out + 1] = {'duplicate', latest, latest <= st.head and 1 or 0}
    elseif now >= m.end_ms then
      out[#out + 1] = {'ended', m.end_ms}
    elseif st.reserved >= m.total then
      out[#out + 1] = {'sold_out'}
    else
      st.reserved = st.reserved + 1
      local position = st.reserved
      local seq = count + 1
      redis.call('HSET', base .. ':pos', position, user .. '\n' .. seq .. '\n' .. now)
      redis.call('HSET', base .. ':users', user, seq .. '\n' .. position)
      redis.call('HSET', base .. ':req', field, position)
      redis.call('HSET', base .. ':state', 'reserved', st.reserved)
      out[#out + 1] = {'queued', position, seq, 0}
    end
  end
  out[3] = st.reserved
  out[4] = st.head
  return out
end

-- ARGV: max. Works off the next admissions in position order, at most max, and at most what
-- process_rate_per_s allows for the whole sale since the last call (whichever node calls):
-- each position is worked off exactly once. -> {now, head_before, head_after, reserved,
-- user_1, ..., user_k} for positions head_before + 1 .. head_after (order id: ID-position).
local function sale_complete(keys, args)
  local base = keys[1]
  if not base then return bad('sale_complete needs the sale key') end
  local max = int_arg(args[1], 1, 100000)
  if not max then return bad('sale_complete: max must be an integer between 1 and 100000') end
  local m = sale_meta(base)
  if not m then return bad('sale_complete: unknown sale (sale_init first)') end

  local t = now_us()
  local now = math.floor(t / 1000)
  local st = sale_state(base)
  local k = math.min(max, st.reserved - st.head)
  if k > 0 and m.rate > 0 then
    -- A credit clock: next_us is when the next unit may go. Idle time saves at most one
    -- period, so a pause never turns into a burst.
    local period = 1000000 / m.rate
    local next_us = math.max(st.next_us, t - period)
    local allowed = t >= next_us and (math.floor((t - next_us) / period) + 1) or 0
    k = math.min(k, allowed)
    if k > 0 then
      redis.call('HSET', base .. ':state', 'next_us', string.format('%.0f', next_us + k * period))
    end
  end
  local out = {now, st.head, st.head + math.max(k, 0), st.reserved}
  if k <= 0 then return out end
  for p = st.head + 1, st.head + k do
    local rec = redis.call('HGET', base .. ':pos', p)
    out[#out + 1] = rec and rec:match('^([^\n]*)\n') or ''
  end
  redis.call('HSET', base .. ':state', 'head', st.head + k)
  -- Not announced yet: the caller publishes the buyers' results, then rc_sale_announced
  -- forgets the range; a range left here (the caller died) goes out via rc_sale_unannounced.
  redis.call('HSET', base .. ':unannounced', st.head + 1, (st.head + k) .. '\n' .. now)
  return out
end

-- ARGV: first. The caller published the results of the range rc_sale_complete (or
-- rc_sale_unannounced) gave it, starting at position first: forgotten. -> 1, or 0 if unknown.
local function sale_announced(keys, args)
  local base = keys[1]
  local first = int_arg(args[1], 1, 1e13)
  if not base or not first then return bad('sale_announced: bad arguments') end
  return redis.call('HDEL', base .. ':unannounced', first)
end

-- ARGV: older_than_ms, max_ranges. The ranges completed more than older_than_ms ago whose
-- results nobody announced (the node that completed them died between this reply and its
-- publish): handed to the caller, their clock restarted, so that one caller at a time gets
-- each. -> {now, first_1, {user...}, first_2, {user...}, ...}
local function sale_unannounced(keys, args)
  local base = keys[1]
  local older = int_arg(args[1], 0, 1e9)
  local max = int_arg(args[2], 1, 1000)
  if not base or not older or not max then return bad('sale_unannounced: bad arguments') end
  local now = now_ms()
  local out = {now}
  local all = redis.call('HGETALL', base .. ':unannounced')
  for i = 1, #all, 2 do
    if (#out - 1) / 2 >= max then break end
    local last, ts = all[i + 1]:match('^(%d+)\n(%d+)$')
    if last and now - tonumber(ts) >= older then
      redis.call('HSET', base .. ':unannounced', all[i], last .. '\n' .. now)
      local users = {}
      for p = tonumber(all[i]), tonumber(last) do
        local rec = redis.call('HGET', base .. ':pos', p)
        users[#users + 1] = rec and rec:match('^([^\n]*)\n') or ''
      end
      out[#out + 1] = tonumber(all[i])
      out[#out + 1] = users
    end
  end
  return out
end

-- -> {now, total, reserved, head, start_ms, end_ms, per_user_limit, rate}; stock is
-- total - head, queued reserved - head.
local function sale_read(keys, args)
  local base = keys[1]
  local m = base and sale_meta(base)
  if not m then return bad('sale_state: unknown sale') end
  local st = sale_state(base)
  return {now_ms(), m.total, st.reserved, st.head, m.start_ms, m.end_ms, m.limit, m.rate}
end

-- ARGV: user. -> {count, latest_position, done, sold_out}: the user's latest admission (done:
-- worked off) and whether every unit is reserved, for GET /api/sales/ID/result (count 0:
-- "sold_out" when sold_out, else "none").
local function sale_user(keys, args)
  local base = keys[1]
  if not base or not user_ok(args[1]) then return bad('sale_user: bad arguments') end
  local m = sale_meta(base)
  if not m then return bad('sale_user: unknown sale') end
  local count, latest = user_record(base, args[1])
  local st = sale_state(base)
  return {count, latest, (count > 0 and latest <= st.head) and 1 or 0,
          st.reserved >= m.total and 1 or 0}
end

-- ARGV: node, ttl_ms. The sale's publisher lease (base:publisher): the one node that publishes
-- the sale's stock and queue events, so that they reach the bus in the order Redis decided
-- them (several publishers would interleave stale counts). Taken when free, renewed by its
-- holder, and free again ttl_ms after the holder's last renewal (a dead node's lapses).
-- -> 1 when node holds it now, else 0.
local function sale_lease(keys, args)
  local base = keys[1]
  local ttl = int_arg(args[2], 1, 600000)
  if not base or not id_ok(args[1], 64) or not ttl then return bad('sale_lease: bad arguments') end
  local key = base .. ':publisher'
  local holder = redis.call('GET', key)
  if holder and holder ~= args[1] then return 0 end
  redis.call('SET', key, args[1], 'PX', ttl)
  return 1
end

---------------------------------------------------------------------------------------------
-- Auctions. Keys (base = rc:auction:{ID}):
--   base:meta     hash  start_price, min_increment, reserve_price, start_ms, end_ms,
--                       extend_window_ms, extend_by_ms
--   base:state    hash  end_ms (current, after soft closes), highest, leader, bid_count, ended
--   base:bids     list  "seq\nuser\namount\nts_ms", in acceptance order
--   base:best     hash  user -> the user's highest bid
--   base:bidders  list  users in first-bid order
--   base:req      hash  "len:user:request_id" -> "seq\namount\nend_ms\nextended"
--   base:pub      hash  guard -> the last version published under it (rc_auction_publish)
---------------------------------------------------------------------------------------------

local function auction_meta(base)
  local m = redis.call('HMGET', base .. ':meta', 'start_price', 'min_increment', 'reserve_price',
                       'start_ms', 'end_ms', 'extend_window_ms', 'extend_by_ms')
  if not m[1] then return nil end
  return {start_price = tonumber(m[1]), min_increment = tonumber(m[2]),
          reserve_price = tonumber(m[3]), start_ms = tonumber(m[4]), end_ms = tonumber(m[5]),
          window = tonumber(m[6]), by = tonumber(m[7])}
end

local function auction_state(base, m)
  local s = redis.call('HMGET', base .. ':state', 'end_ms', 'highest', 'leader', 'bid_count',
                       'ended')
  return {end_ms = tonumber(s[1] or m.end_ms), highest = tonumber(s[2] or '0'), leader = s[3],
          bid_count = tonumber(s[4] or '0'), ended = s[5] == '1'}
end

local function current_price(m, st)
  if st.bid_count == 0 then return m.start_price end
  return st.highest
end

local function min_acceptable(m, st)
  if st.bid_count == 0 then return math.max(m.start_price, 1) end
  return st.highest + math.max(m.min_increment, 1)
end

-- ARGV: start_price, min_increment, reserve_price, start, end ("abs:MS"|"rel:MS"),
-- extend_window_ms, extend_by_ms. First call stores; later ones return what is stored.
-- -> {now, start_price, min_increment, reserve_price, start_ms, end_ms, extend_window_ms,
--     extend_by_ms, created}
local function auction_init(keys, args)
  local base = keys[1]
  if not base then return bad('auction_init needs the auction key') end
  local now = now_ms()
  local start_price = int_arg(args[1], 0, MAX_BID_AMOUNT)
  local min_increment = int_arg(args[2], 0, MAX_BID_AMOUNT)
  local reserve_price = int_arg(args[3], 0, MAX_BID_AMOUNT)
  local start_ms = time_arg(args[4], now)
  local end_ms = time_arg(args[5], now)
  local window = int_arg(args[6], 0, 1e12)
  local by = int_arg(args[7], 0, 1e12)
  if not start_price or not min_increment or not reserve_price then
    return bad('auction_init: prices must be integers between 0 and ' .. MAX_BID_AMOUNT)
  end
  if not start_ms or not end_ms then return bad('auction_init: times must be abs:MS or rel:MS') end
  if not window or not by then return bad('auction_init: extend times must be integers >= 0') end
  local created = 0
  if redis.call('EXISTS', base .. ':meta') == 0 then
    redis.call('HSET', base .. ':meta', 'start_price', start_price, 'min_increment',
               min_increment, 'reserve_price', reserve_price, 'start_ms', start_ms, 'end_ms',
               end_ms, 'extend_window_ms', window, 'extend_by_ms', by)
    created = 1
  end
  local m = auction_meta(base)
  return {now, m.start_price, m.min_increment, m.reserve_price, m.start_ms, m.end_ms, m.window,
          m.by, created}
end

-- ARGV: n, then n triples (user_id, amount, request_id). Decides n bids in order, as
-- engine::auction::place_bid does: bid_invalid (amount 0 or above the maximum), ended (ended,
-- or now >= the current end), not_started, bid_too_low (below current price + min_increment;
-- the first bid below start_price); else accepted, and a bid within extend_window_ms of the
-- end moves the end to now + extend_by_ms (soft close). A request id already answered for
-- this user gets the same answer again (replay = 1).
-- -> {now, current_price, leader (nil when none), bid_count, end_ms, result_1, ...}, each:
--   {"accepted", seq, amount, end_ms, extended, replay}  {"bid_invalid"}
--   {"ended", end_ms}  {"not_started", start_ms}  {"bid_too_low", current_price, min_acceptable}
local function auction_bid(keys, args)
  local base = keys[1]
  if not base then return bad('auction_bid needs the auction key') end
  local n = int_arg(args[1], 1, MAX_BATCH)
  if not n then return bad('auction_bid: n must be an integer between 1 and ' .. MAX_BATCH) end
  if #args ~= 1 + 3 * n then return bad('auction_bid: expected ' .. (1 + 3 * n) .. ' arguments') end
  for i = 0, n - 1 do
    if not user_ok(args[2 + 3 * i]) then
      return bad('auction_bid: bid ' .. (i + 1) .. ': bad user id')
    end
    if not int_arg(args[3 + 3 * i], 0, 1e15) then
      return bad('auction_bid: bid ' .. (i + 1) .. ': amount must be a decimal integer')
    end
    if not id_ok(args[4 + 3 * i], MAX_REQUEST_ID_BYTES) then
      return bad('auction_bid: bid ' .. (i + 1) .. ': bad request id')
    end
  end
  local m = auction_meta(base)
  if not m then return bad('auction_bid: unknown auction (auction_init first)') end

  local now = now_ms()
  local st = auction_state(base, m)
  local results = {}
  for i = 0, n - 1 do
    local user, amount, request_id = args[2 + 3 * i], tonumber(args[3 + 3 * i]), args[4 + 3 * i]
    local field = request_field(user, request_id)
    local known = redis.call('HGET', base .. ':req', field)
    if known then
      local seq, amt, end_ms, ext = known:match('^(%d+)\n(%d+)\n(%d+)\n(%d)$')
      results[#results + 1] = {'accepted', tonumber(seq), tonumber(amt), tonumber(end_ms),
                               tonumber(ext), 1}
    elseif amount <= 0 or amount > MAX_BID_AMOUNT then
      results[#results + 1] = {'bid_invalid'}
    elseif st.ended or now >= st.end_ms then
      results[#results + 1] = {'ended', st.end_ms}
    elseif now < m.start_ms then
      results[#results + 1] = {'not_started', m.start_ms}
    elseif amount < min_acceptable(m, st) then
      results[#results + 1] = {'bid_too_low', current_price(m, st), min_acceptable(m, st)}
    else
      st.bid_count = st.bid_count + 1
      st.highest = amount
      st.leader = user
      local extended = 0
      if m.window > 0 and st.end_ms - now <= m.window and now + m.by > st.end_ms then
        st.end_ms = now + m.by
        extended = 1
      end
      redis.call('RPUSH', base .. ':bids', st.bid_count .. '\n' .. user .. '\n' .. amount ..
                 '\n' .. now)
      local best = redis.call('HGET', base .. ':best', user)
      if not best then redis.call('RPUSH', base .. ':bidders', user) end
      if not best or tonumber(best) < amount then redis.call('HSET', base .. ':best', user, amount) end
      redis.call('HSET', base .. ':req', field,
                 st.bid_count .. '\n' .. amount .. '\n' .. st.end_ms .. '\n' .. extended)
      redis.call('HSET', base .. ':state', 'end_ms', st.end_ms, 'highest', amount, 'leader', user,
                 'bid_count', st.bid_count)
      results[#results + 1] = {'accepted', st.bid_count, amount, st.end_ms, extended, 0}
    end
  end
  local out = {now, current_price(m, st), st.leader or false, st.bid_count, st.end_ms}
  for _, r in ipairs(results) do out[#out + 1] = r end
  return out
end

-- Ends the auction once its (current) end has passed. -> {"not_due", end_ms} before that;
-- else {"ended", first, winner (nil: none met the reserve), final_price (nil: no bid),
-- user_1, won_1, best_1, ...} for every bidder in first-bid order. first is 1 for the one
-- call that ended it (that caller announces auction_end), 0 for every later call.
local function auction_finish(keys, args)
  local base = keys[1]
  local m = base and auction_meta(base)
  if not m then return bad('auction_finish: unknown auction') end
  local now = now_ms()
  local st = auction_state(base, m)
  if not st.ended and now < st.end_ms then return {'not_due', st.end_ms} end
  local first = 0
  if not st.ended then
    redis.call('HSET', base .. ':state', 'ended', '1')
    first = 1
  end
  local winner, final_price = false, false
  if st.bid_count > 0 then
    final_price = st.highest
    if st.highest >= m.reserve_price then winner = st.leader end
  end
  local out = {'ended', first, winner, final_price}
  local bidders = redis.call('LRANGE', base .. ':bidders', 0, -1)
  for _, u in ipairs(bidders) do
    out[#out + 1] = u
    out[#out + 1] = (winner and winner == u) and 1 or 0
    out[#out + 1] = tonumber(redis.call('HGET', base .. ':best', u))
  end
  return out
end

-- Appends an auction's events to the cluster's event bus unless a newer version was appended
-- under the same guard, so that events built by different nodes from what each learnt reach
-- the bus in the order of the state they describe (a price never goes back), and the end is
-- announced once whichever nodes try. Keys: the auction base, then the bus stream, its epoch
-- key and its seq key (config bus.stream_key, KEY:epoch, KEY:seq). The append is the one
-- src/cluster/bus.cpp's script makes, and must stay the same.
-- ARGV: epoch_candidate, maxlen, guard ("price", "countdown" or "final"), version (integer),
--   n, then n × (topic, name, data_json, state "1"/"0"). Once "final" was appended, every
--   other guard appends nothing. -> {appended (1|0), seq of the last event appended or 0}
local function auction_publish(keys, args)
  local base, stream, epoch_key, seq_key = keys[1], keys[2], keys[3], keys[4]
  if not base or not stream or not epoch_key or not seq_key then
    return bad('auction_publish needs the auction key and the bus keys')
  end
  local guard = args[3]
  if guard ~= 'price' and guard ~= 'countdown' and guard ~= 'final' then
    return bad('auction_publish: guard must be price, countdown or final')
  end
  local version = int_arg(args[4], 0, 1e15)
  local n = int_arg(args[5], 1, 100000)  -- the end: one result per bidder
  if not version or not n or not int_arg(args[2], 1, 1e12) or not id_ok(args[1], 64) then
    return bad('auction_publish: bad epoch, maxlen, version or n')
  end
  if #args ~= 5 + 4 * n then return bad('auction_publish: expected ' .. (5 + 4 * n) .. ' arguments') end
  local pub = base .. ':pub'
  if guard ~= 'final' and redis.call('HEXISTS', pub, 'final') == 1 then return {0, 0} end
  local last = tonumber(redis.call('HGET', pub, guard) or '-1')
  if version <= last then return {0, 0} end
  redis.call('HSET', pub, guard, version)
  local epoch = redis.call('GET', epoch_key)
  if not epoch then
    epoch = args[1]
    redis.call('SET', epoch_key, epoch)
    redis.call('DEL', seq_key)
  end
  local seq = 0
  for i = 0, n - 1 do
    seq = redis.call('INCR', seq_key)
    redis.call('XADD', stream, 'MAXLEN', '~', args[2], '*', 'e', epoch, 's', seq,
               't', args[6 + 4 * i], 'n', args[7 + 4 * i], 'd', args[8 + 4 * i],
               'c', args[9 + 4 * i])
  end
  return {1, seq}
end

-- -> {now, current_price, leader (nil when none), bid_count, end_ms, ended, start_ms,
--     min_acceptable}
local function auction_read(keys, args)
  local base = keys[1]
  local m = base and auction_meta(base)
  if not m then return bad('auction_state: unknown auction') end
  local st = auction_state(base, m)
  return {now_ms(), current_price(m, st), st.leader or false, st.bid_count, st.end_ms,
          st.ended and 1 or 0, m.start_ms, min_acceptable(m, st)}
end

redis.register_function{function_name = 'rc_version', flags = {'no-writes'},
                        callback = function() return LIBRARY_VERSION end}
redis.register_function('rc_sale_init', sale_init)
redis.register_function('rc_sale_admit', sale_admit)
redis.register_function('rc_sale_complete', sale_complete)
redis.register_function('rc_sale_lease', sale_lease)
redis.register_function('rc_sale_announced', sale_announced)
redis.register_function('rc_sale_unannounced', sale_unannounced)
redis.register_function{function_name = 'rc_sale_state', callback = sale_read,
                        flags = {'no-writes'}}
redis.register_function{function_name = 'rc_sale_user', callback = sale_user,
                        flags = {'no-writes'}}
redis.register_function('rc_auction_init', auction_init)
redis.register_function('rc_auction_bid', auction_bid)
redis.register_function('rc_auction_finish', auction_finish)
redis.register_function{function_name = 'rc_auction_state', callback = auction_read,
                        flags = {'no-writes'}}
redis.register_function('rc_auction_publish', auction_publish)
