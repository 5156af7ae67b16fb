#!/usr/bin/env bash
# Cluster writes (issue 12), run by hand, never by `make test`: admissions/s and accepted bids/s
# of peers interleaved round by round, so that they share the machine's load:
#   sqlite1  one node, storage.backend sqlite (the single-node default, synchronous FULL)
#   redis1   one node, storage.backend redis
#   redis3   three nodes sharing one redis-server
# Each run gets a fresh redis-server (deploy/redis/rushcast-redis.conf's settings: appendonly yes,
# appendfsync always, noeviction; a scratch dir on the same disk as SQLite's, a free loopback
# port) and fresh nodes (each its own data dir and port), and stops them by PID when it ends.
#   admissions: one wrk per node (bench/seckill/seckill.lua, USER_PREFIX per process so that
#     userIds are unique over all of them), CONNS connections in all, DURATION s; sale stock
#     1,000,000 (never sold out here). Summed admissions/s, p50/p99 (the highest of the wrk
#     processes': an upper bound), CPU of the nodes and of redis-server from /proc, Redis calls.
#     Checked: no socket errors or other answers; every node reports the same stock afterwards,
#     total - (the queued answers wrk counted) - at most CONNS (the requests in flight when wrk
#     stopped: admitted, their answers never read).
#   bids: one build-bench/bidbench (--ports: watchers and bidders round-robin over the nodes,
#     one rising counter), BIDDERS bidders and WATCHERS WebSocket watchers, DURATION s.
#     Checked: no other errors, every watcher ends on the final price, and the final price is
#     the highest amount a bidder was told `accepted`.
# One line per run, with the load average, appended to OUT.
#   bench/cluster/run_writes.sh ROUNDS
# Env: PEERS ("sqlite1 redis1 redis3"), DURATION (10, at most 15), CONNS (64), BIDDERS (64),
#      WATCHERS (1000), MODES (bids: "ws"; "ws http"), WHAT ("adm bids"),
#      BIN (/tmp/h-clbench12/rushcast: a Release build), OUT (bench/results/cluster-writes-DATE.txt)
#      PERF=1: `perf record -g` (3 s, mid-run) of redis-server and of the first node, per run,
#      into PERF_DIR (/tmp/rushcast-cluster-writes-perf); PERF=stat: `perf stat` of redis-server's
#      fdatasync/write/epoll_wait calls and CPU over the same 3 s (LABEL-redis.stat), and the
#      first node's fdatasync calls and CPU (LABEL-node1.stat).
# Needs wrk, jq, redis-server, curl, build-bench/bidbench (cmake -S bench -B build-bench
#   -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench --target bidbench).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds="${1:?usage: run_writes.sh ROUNDS}"
PEERS="${PEERS:-sqlite1 redis1 redis3}"; DURATION="${DURATION:-10}"; CONNS="${CONNS:-64}"
BIDDERS="${BIDDERS:-64}"; WATCHERS="${WATCHERS:-1000}"; MODES="${MODES:-ws}"; WHAT="${WHAT:-adm bids}"
BIN="${BIN:-/tmp/h-clbench12/rushcast}"; BIDBENCH="${BIDBENCH:-$root/build-bench/bidbench}"
OUT="${OUT:-$root/bench/results/cluster-writes-$(date -u +%F).txt}"
PERF_DIR="${PERF_DIR:-/tmp/rushcast-cluster-writes-perf}"
[ "$DURATION" -le 15 ] || { echo "DURATION is at most 15 s" >&2; exit 2; }
[ -x "$BIN" ] || { echo "rushcast not built: $BIN" >&2; exit 2; }
[ -x "$BIDBENCH" ] || { echo "bidbench not built: $BIDBENCH" >&2; exit 2; }
for c in wrk jq redis-server redis-cli curl; do command -v "$c" >/dev/null || { echo "$c is required" >&2; exit 2; }; done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
hz="$(getconf CLK_TCK)"; cores="$(nproc)"

SCRATCH="$(mktemp -d /tmp/rushcast-cluster-writes.XXXXXX)"
NODE_PIDS=(); NODE_PORTS=(); REDIS_PID=""; REDIS_PORT=""; LOADER_PIDS=(); PERF_PIDS=()

stop_run() {
  local p
  for p in "${PERF_PIDS[@]:-}" "${LOADER_PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PERF_PIDS[@]:-}" "${LOADER_PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  if [ -n "$REDIS_PID" ]; then kill -TERM "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  NODE_PIDS=(); NODE_PORTS=(); REDIS_PID=""; REDIS_PORT=""; LOADER_PIDS=(); PERF_PIDS=()
}
cleanup() { stop_run; rm -rf "$SCRATCH"; }
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$1/stat" 2>/dev/null || echo 0; }
nodes_ticks() { local t=0 p; for p in "${NODE_PIDS[@]}"; do t=$(( t + $(cpu_ticks "$p") )); done; echo "$t"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# "calls usec" of FCALL since the last CONFIG RESETSTAT.
redis_fcalls() {
  [ -n "$REDIS_PORT" ] || { echo "0 0"; return; }
  redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' |
    awk -F'[=,:]' '/^cmdstat_fcall:/ { print $3, $5; found = 1 } END { if (!found) print "0 0" }'
}

# start_redis DIR: the shipped durability settings, loopback, foreground, DIR as its dir.
start_redis() {
  local dir="$1"; mkdir -p "$dir"
  REDIS_PORT="$(free_port)"
  {
    grep -Ev '^\s*(#|$)' "$root/deploy/redis/rushcast-redis.conf"
    echo "bind 127.0.0.1"; echo "port $REDIS_PORT"; echo "dir $dir"; echo "daemonize no"
    echo "logfile $dir/redis.log"
  } > "$dir/redis.conf"
  redis-server "$dir/redis.conf" >/dev/null 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
  echo "redis-server did not start" >&2; cat "$dir/redis.log" >&2; return 1
}

# start_nodes N BACKEND CONFIG_JSON DIR: N nodes, threads cores/N (at least 1), each its own
# data dir and port; the same config otherwise.
start_nodes() {
  local n="$1" be="$2" cfg="$3" dir="$4" i d th url=""
  th=$(( cores / n > 0 ? cores / n : 1 ))
  [ "$be" = redis ] && url="redis://127.0.0.1:$REDIS_PORT/0"
  for i in $(seq 1 "$n"); do
    d="$dir/node$i"; mkdir -p "$d"
    jq --arg url "$url" --arg be "$be" --argjson th "$th" '
        .listen = {"address": "127.0.0.1", "port": 0} | .threads = $th | .log.level = "warn"
        | .storage.backend = $be | .storage.redis_url = $url' <<<"$cfg" > "$d/config.json"
    "$BIN" --config "$d/config.json" --data-dir "$d/data" --port-file "$d/port" >"$d/log" 2>&1 &
    NODE_PIDS+=("$!")
  done
  for i in $(seq 1 "$n"); do
    d="$dir/node$i"
    for _ in $(seq 200); do [ -s "$d/port" ] && break; sleep 0.05; done
    [ -s "$d/port" ] || { echo "node $i did not start:" >&2; cat "$d/log" >&2; return 1; }
    NODE_PORTS+=("$(tr -d '\n' < "$d/port")")
  done
  NODE_THREADS="$th"
}

# start_peer PEER CONFIG_JSON DIR: sets NODES, BACKEND and starts redis (if any) and the nodes.
start_peer() {
  case "$1" in
    sqlite1) NODES=1; BACKEND=sqlite ;;
    redis1) NODES=1; BACKEND=redis ;;
    redis3) NODES=3; BACKEND=redis ;;
    *) echo "unknown peer $1 (sqlite1, redis1, redis3)" >&2; return 2 ;;
  esac
  mkdir -p "$3"
  [ "$BACKEND" = redis ] && start_redis "$3/redis"
  start_nodes "$NODES" "$BACKEND" "$2" "$3"
  if [ -n "$REDIS_PORT" ]; then redis-cli -p "$REDIS_PORT" config resetstat >/dev/null; fi
}

# perf_start LABEL LEAD: 3 s of `perf record -g` of redis-server and node 1, from LEAD +
# DURATION/2 - 1 s on (mid-run).
perf_start() {
  [ "${PERF:-0}" = 1 ] || [ "${PERF:-0}" = stat ] || return 0
  mkdir -p "$PERF_DIR"
  local off=$(( $2 + (DURATION / 2 - 1 > 0 ? DURATION / 2 - 1 : 0) ))
  if [ "$PERF" = stat ]; then
    (sleep "$off"; exec perf stat -e syscalls:sys_enter_fdatasync,task-clock \
      -p "${NODE_PIDS[0]}" -o "$PERF_DIR/$1-node1.stat" -- sleep 3) >/dev/null 2>&1 &
    PERF_PIDS+=("$!")
    [ -n "$REDIS_PID" ] || return 0
    (sleep "$off"; exec perf stat -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait,task-clock \
      -p "$REDIS_PID" -o "$PERF_DIR/$1-redis.stat" -- sleep 3) >/dev/null 2>&1 &
    PERF_PIDS+=("$!")
    return 0
  fi
  (sleep "$off"; exec perf record -F 499 -g -p "${NODE_PIDS[0]}" -o "$PERF_DIR/$1-node1.data" -- sleep 3) >/dev/null 2>&1 &
  PERF_PIDS+=("$!")
  if [ -n "$REDIS_PID" ]; then
    (sleep "$off"; exec perf record -F 499 -g -p "$REDIS_PID" -o "$PERF_DIR/$1-redis.data" -- sleep 3) >/dev/null 2>&1 &
    PERF_PIDS+=("$!")
  fi
}
perf_wait() { local p; for p in "${PERF_PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done; PERF_PIDS=(); }

ADM_CFG="$(jq '.sales[0].stock = 1000000 | .sales[0].start_at = "+0s"' "$root/bench/seckill/config.json")"
BID_CFG='{"threads": 2, "log": {"level": "warn"}, "coalesce_ms": 50, "default_topics": [], "sales": [],
 "storage": {"synchronous": "full"},
 "limits": {"max_connections": 20000, "max_connections_per_ip": 20000},
 "rate_limit": {"per_user_per_s": 1000000, "per_user_burst": 1000000,
                "per_ip_per_s": 1000000, "per_ip_burst": 1000000},
 "auctions": [{"id": "bench", "name": "bench", "start_price": 100, "min_increment": 1,
   "reserve_price": 0, "start_at": "2020-01-01T00:00:00Z", "end_at": "+1h",
   "extend_window_ms": 0, "extend_by_ms": 0}]}'

# ---- admissions: one wrk per node, CONNS connections in all, DURATION s.
run_adm() {
  local peer="$1" r="$2" dir="$SCRATCH/adm-$peer-$r" i c left n0 r0 n1 r1 t0 t1 f0 f1
  start_peer "$peer" "$ADM_CFG" "$dir"
  local load; load="$(load1)"
  left="$CONNS"
  n0="$(nodes_ticks)"; r0="$( [ -n "$REDIS_PID" ] && cpu_ticks "$REDIS_PID" || echo 0)"; t0="$(date +%s.%N)"
  perf_start "adm-$peer-$r" 0
  for i in $(seq 0 $(( NODES - 1 ))); do
    c=$(( left / (NODES - i) )); left=$(( left - c ))
    # 2 wrk threads for one node (as bench/seckill/run.sh), 1 per wrk with several.
    (cd "$root" && USER_PREFIX="r$r-n$i-" exec wrk -t"$(( NODES == 1 ? 2 : 1 ))" -c"$c" -d"${DURATION}s" --latency \
      -s bench/seckill/seckill.lua "http://127.0.0.1:${NODE_PORTS[$i]}") >"$dir/wrk-$i.out" 2>&1 &
    LOADER_PIDS+=("$!")
  done
  for i in "${LOADER_PIDS[@]}"; do wait "$i" || true; done
  LOADER_PIDS=()
  n1="$(nodes_ticks)"; r1="$( [ -n "$REDIS_PID" ] && cpu_ticks "$REDIS_PID" || echo 0)"; t1="$(date +%s.%N)"
  perf_wait
  read -r fcalls fusec < <(redis_fcalls)
  # What each node reports once its view caught up (rc_sale_state every coalesce_ms).
  sleep 0.5
  local stocks="" total=0 p s
  for p in "${NODE_PORTS[@]}"; do
    s="$(curl -s "http://127.0.0.1:$p/api/sales/bench")"
    stocks="$stocks$(jq -r '.stock' <<<"$s"),"; total="$(jq -r '.total' <<<"$s")"
  done
  stocks="${stocks%,}"
  # wrk's own lines and seckill.lua's done().
  local q=0 so=0 o=0 sockerr=0 non2xx=0 p50=0 p99=0 rate=0 x
  for i in $(seq 0 $(( NODES - 1 ))); do
    f="$dir/wrk-$i.out"
    x="$(sed -n 's/^admissions: queued \([0-9]*\), sold_out \([0-9]*\), other \([0-9]*\)$/\1 \2 \3/p' "$f")"
    [ -n "$x" ] || { echo "wrk $i gave no figures:" >&2; cat "$f" >&2; x="0 0 0"; }
    read -r a b cc <<<"$x"; q=$(( q + a )); so=$(( so + b )); o=$(( o + cc ))
    x="$(sed -n 's/^admissions\/s: \([0-9]*\) .*$/\1/p' "$f")"
    [ -n "$x" ] && rate=$(( rate + x ))
    x="$(sed -n 's/^  Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\)$/\1 \2 \3 \4/p' "$f")"
    if [ -n "$x" ]; then read -r a b cc d <<<"$x"; sockerr=$(( sockerr + a + b + cc + d )); fi
    x="$(sed -n 's/^  Non-2xx or 3xx responses: \([0-9]*\)$/\1/p' "$f")"
    [ -n "$x" ] && non2xx=$(( non2xx + x ))
    x="$(sed -n 's/^latency p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*$/\1 \2/p' "$f")"
    if [ -n "$x" ]; then read -r a b <<<"$x"; p50="$(jq -n "[$p50, $a] | max")"; p99="$(jq -n "[$p99, $b] | max")"; fi
  done
  # wrk stops with up to one request per connection in flight: admitted, never counted.
  local ok=yes expect=$(( total - q )) first="${stocks%%,*}" uncounted
  uncounted=$(( expect - first ))
  [ "$o" = 0 ] && [ "$sockerr" = 0 ] && [ "$non2xx" = 0 ] || ok=no
  [ "$uncounted" -ge 0 ] && [ "$uncounted" -le "$CONNS" ] || ok=no
  for s in ${stocks//,/ }; do [ "$s" = "$first" ] || ok=no; done
  jq -n -r --arg peer "$peer" --arg r "$r" --arg load "$load" --arg nodes "$NODES" --arg th "$NODE_THREADS" \
    --arg be "$BACKEND" --argjson q "$q" --argjson so "$so" --argjson o "$o" --argjson se "$sockerr" \
    --argjson nx "$non2xx" --argjson rate "$rate" --arg p50 "$p50" --arg p99 "$p99" --arg stocks "$stocks" --argjson expect "$expect" --argjson unc "$uncounted" \
    --argjson ncpu "$(( n1 - n0 ))" --argjson rcpu "$(( r1 - r0 ))" --argjson hz "$hz" \
    --arg wall "$(echo "$t1 - $t0" | bc)" --argjson fc "${fcalls:-0}" --argjson fu "${fusec:-0}" --arg ok "$ok" --arg conns "$CONNS" '
    def r1: . * 10 | round / 10;
    ($wall|tonumber) as $w | ($ncpu / $hz) as $ns | ($rcpu / $hz) as $rs | ($q + $so) as $adm |
    "adm peer=\($peer) round=\($r) load=\($load) nodes=\($nodes) threads/node=\($th) backend=\($be) conns=\($conns)" +
    " admissions/s=\($rate) queued=\($q) sold_out=\($so) other=\($o) socket_errors=\($se) non2xx=\($nx)" +
    " p50_ms<=\($p50) p99_ms<=\($p99) stock_per_node=\($stocks) total-queued=\($expect) in_flight_at_stop=\($unc) ok=\($ok)" +
    " nodes_cpu_s=\($ns * 100 | round / 100) nodes_cpu_us_per_adm=\(if $adm > 0 then ($ns * 1e6 / $adm | r1) else null end)" +
    " redis_cpu_s=\($rs * 100 | round / 100) redis_cpu_us_per_adm=\(if $adm > 0 then ($rs * 1e6 / $adm | r1) else null end)" +
    " fcalls=\($fc) adm_per_fcall=\(if $fc > 0 then ($adm / $fc | r1) else null end) fcall_us_per_adm=\(if $adm > 0 then ($fu / $adm | r1) else null end)" +
    " wall_s=\($w * 100 | round / 100)"' | tee -a "$OUT"
  stop_run
}

# ---- bids: one bidbench over every node.
run_bids() {
  local peer="$1" r="$2" mode="$3" dir="$SCRATCH/bids-$peer-$r-$mode" res load ports pids
  start_peer "$peer" "$BID_CFG" "$dir"
  load="$(load1)"
  ports="$(IFS=,; echo "${NODE_PORTS[*]}")"; pids="$(IFS=,; echo "${NODE_PIDS[*]}")"
  # bidbench opens the watchers and waits 2 s before it bids: perf starts that much later.
  perf_start "bids-$peer-$r-$mode" 3
  res="$("$BIDBENCH" --ports "$ports" --watchers "$WATCHERS" --bidders "$BIDDERS" --seconds "$DURATION" \
    --mode "$mode" --pid "$pids" ${REDIS_PID:+--redis-pid "$REDIS_PID"} 2>&1)" || true
  perf_wait
  read -r fcalls fusec < <(redis_fcalls)
  local ok
  ok="$(jq -r --argjson w "$WATCHERS" 'if .other_errors == 0 and .watchers_on_final == $w and .final_price == .max_accepted
           and .accepted > 0 then "yes" else "no" end' <<<"$res" 2>/dev/null || echo "no")"
  echo "bids peer=$peer round=$r load=$load nodes=$NODES threads/node=$NODE_THREADS backend=$BACKEND fcalls=${fcalls:-0} fcall_usec=${fusec:-0} ok=$ok $res" | tee -a "$OUT"
  stop_run
}

mkdir -p "$(dirname "$OUT")"
echo "# $(date -u +%FT%TZ) bench/cluster/run_writes.sh $rounds; peers: $PEERS; what: $WHAT; ${DURATION}s runs, $CONNS wrk conns, $BIDDERS bidders, $WATCHERS watchers, bid modes: $MODES; PERF=${PERF:-0}; $cores cores; $(redis-server --version | cut -d' ' -f3); load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
for r in $(seq "$rounds"); do
  for what in $WHAT; do
    for peer in $PEERS; do
      case "$what" in
        adm) run_adm "$peer" "$r" ;;
        bids) for mode in $MODES; do run_bids "$peer" "$r" "$mode"; done ;;
        *) echo "WHAT is adm and/or bids" >&2; exit 2 ;;
      esac
    done
  done
done
