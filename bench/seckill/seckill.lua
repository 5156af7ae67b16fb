-- wrk script for POST /api/seckill: every request names a fresh userId, so each one is a real
-- admission attempt (queued while stock lasts, then sold_out), never a duplicate.
-- Usage: wrk -t2 -c64 -d20s --latency -s bench/seckill/seckill.lua http://127.0.0.1:8080
-- env SALE_ID (default: the server's first sale); USER_PREFIX, prepended to every userId, for
-- several wrk processes started in the same second (bench/cluster/run_writes.sh): the salt below
-- is the second and the thread number, the same in each of them.

local counter = 0
local thread_id = 0
local threads = {}
local sale_id = os.getenv("SALE_ID")
local user_prefix = os.getenv("USER_PREFIX") or ""

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  -- A per-run salt keeps userIds unique across repeated runs against one data dir.
  salt = user_prefix .. tostring(os.time()) .. "-" .. tostring(tid)
  queued, sold_out, other = 0, 0, 0
end

function request()
  counter = counter + 1
  local body
  if sale_id then
    body = string.format('{"userId":"b%s-%d","saleId":"%s"}', salt, counter, sale_id)
  else
    body = string.format('{"userId":"b%s-%d"}', salt, counter)
  end
  return wrk.format("POST", "/api/seckill", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status == 200 and body:find('"queued"', 1, true) then
    queued = queued + 1
  elseif status == 200 and body:find('"sold_out"', 1, true) then
    sold_out = sold_out + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local q, s, o = 0, 0, 0
  for _, t in ipairs(threads) do
    q = q + t:get("queued")
    s = s + t:get("sold_out")
    o = o + t:get("other")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("admissions: queued %d, sold_out %d, other %d\n", q, s, o))
  io.write(string.format("admissions/s: %.0f (queued/s %.0f)\n", (q + s) / secs, q / secs))
  io.write(string.format("latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
