#!/usr/bin/env bash
# Cluster fan-out (issue 12), run by hand, never by `make test`: starts its own redis-server
# (deploy/redis/rushcast-redis.conf's settings, a scratch dir, a free loopback port) and NODES
# rushcast nodes on loopback sharing it, spreads N subscribers evenly over the nodes, publishes
# EVENTS events (S1: ~SIZE B each, as fast as PUB_CONNS keep-alive connections go) and reports
# deliveries/s, loss, latency, and what Redis costs per event: redis-server's CPU per event, the
# nodes' CPU per delivery, and the publish request latency. BACKEND=sqlite with NODES=1 is the
# same run without Redis (the single-node baseline).
#   bench/cluster/run_fanout.sh
# Env: NODES=3 N=30000 EVENTS=200 PUB_CONNS=16 SIZE=100 TRANSPORT=sse|ws BACKEND=redis|sqlite
#      PUB_SPREAD=0|1 (1: one publisher per node, EVENTS split between them)
#      NODE_THREADS (default: cores / NODES, at least 1) TIMEOUT=600 (seconds, each loadgen)
#      PER_PROC=2500 (connections per loadgen process) BIN=build/rushcast
# Everything it starts it stops by PID (trap), and its scratch dir is removed.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC_DIR="$(cd "$BENCH_DIR/.." && pwd)"
source "$BENCH_DIR/lib.sh"

NODES="${NODES:-3}"; N="${N:-30000}"; EVENTS="${EVENTS:-200}"; PUB_CONNS="${PUB_CONNS:-16}"
SIZE="${SIZE:-100}"; TRANSPORT="${TRANSPORT:-sse}"; BACKEND="${BACKEND:-redis}"
PUB_SPREAD="${PUB_SPREAD:-0}"; TIMEOUT="${TIMEOUT:-600}"; RAMP_MS="${RAMP_MS:-10000}"
QUIET_MS="${QUIET_MS:-15000}"; TOPIC="${TOPIC:-bench}"
BIN="${BIN:-$SRC_DIR/build/rushcast}"
PUBLISH_KEY=cluster-bench-key
cores="$(nproc)"
NODE_THREADS="${NODE_THREADS:-$(( cores / NODES > 0 ? cores / NODES : 1 ))}"

[ -x "$BIN" ] || { echo "rushcast not built: $BIN" >&2; exit 2; }
[ -x "$LOADGEN" ] || { echo "loadgen not built: cmake -S bench -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is required" >&2; exit 2; }
if [ "$BACKEND" = redis ]; then command -v redis-server >/dev/null || { echo "redis-server is required" >&2; exit 2; }; fi
[ "$BACKEND" = sqlite ] && [ "$NODES" != 1 ] && { echo "BACKEND=sqlite is one node (NODES=1)" >&2; exit 2; }

# Every subscriber is a socket here and in a node: raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
lim="$(ulimit -n)"
per_node=$(( (N + NODES - 1) / NODES ))
if [ "$lim" != unlimited ] && [ "$per_node" -gt $(( lim - 200 )) ]; then
  echo "N/NODES = $per_node subscribers per node, but a process may open only $lim files (ulimit -Hn): use more nodes" >&2
  exit 2
fi
if [ "$lim" != unlimited ] && [ "$PER_PROC" -gt $(( lim - 100 )) ]; then PER_PROC=$(( lim - 100 )); fi

RUN_ID="$(date +%Y%m%d-%H%M%S)-$$"
SCRATCH="$(mktemp -d /tmp/rushcast-cluster-bench.XXXXXX)"
RUN_DIR="$SCRATCH/run"; mkdir -p "$RUN_DIR"
CHILDREN=(); NODE_PIDS=(); NODE_PORTS=(); REDIS_PID=""

cleanup() {
  bench_cleanup
  local p
  for p in "${NODE_PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  if [ -n "$REDIS_PID" ]; then kill -TERM "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$SCRATCH"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- redis-server: the shipped durability settings, loopback, scratch dir, foreground.
REDIS_URL=""
if [ "$BACKEND" = redis ]; then
  rport="$(free_port)"
  {
    grep -Ev '^\s*(#|$)' "$SRC_DIR/deploy/redis/rushcast-redis.conf"
    echo "bind 127.0.0.1"; echo "port $rport"; echo "dir $SCRATCH"; echo "daemonize no"
    echo "logfile $SCRATCH/redis.log"
  } > "$SCRATCH/redis.conf"
  redis-server "$SCRATCH/redis.conf" >/dev/null 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 100); do redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  redis-cli -p "$rport" ping | grep -q PONG || { echo "redis-server did not start" >&2; cat "$SCRATCH/redis.log" >&2; exit 1; }
  REDIS_URL="redis://127.0.0.1:$rport/0"
fi

# ---- the nodes: bench/rushcast-bench.json, no sales or auctions, one topic, the bus on Redis.
for i in $(seq 1 "$NODES"); do
  d="$SCRATCH/node$i"; mkdir -p "$d"
  jq --arg url "$REDIS_URL" --arg be "$BACKEND" --arg key "$PUBLISH_KEY" --argjson th "$NODE_THREADS" '
      .listen.port = 0 | .threads = $th | .sales = [] | .auctions = [] | .default_topics = []
      | .auth.publish_key = $key | .storage.backend = $be | .storage.redis_url = $url
      | .data_dir = "data"' "$BENCH_DIR/rushcast-bench.json" > "$d/config.json"
  "$BIN" --config "$d/config.json" --data-dir "$d/data" --port-file "$d/port" >"$d/log" 2>&1 &
  NODE_PIDS+=("$!")
done
for i in $(seq 1 "$NODES"); do
  d="$SCRATCH/node$i"
  for _ in $(seq 200); do [ -s "$d/port" ] && break; sleep 0.05; done
  [ -s "$d/port" ] || { echo "node $i did not start:" >&2; cat "$d/log" >&2; exit 1; }
  NODE_PORTS+=("$(cat "$d/port")")
done
echo "nodes: ${NODE_PORTS[*]} (threads $NODE_THREADS each), redis: ${REDIS_URL:-none}" >&2

# ---- subscribers, spread evenly over the nodes.
SUB_PIDS=(); SUB_OUTS=(); SUB_READY=()
left="$N"; k=0
for i in $(seq 0 $(( NODES - 1 ))); do
  share=$(( left / (NODES - i) )); left=$(( left - share ))
  while [ "$share" -gt 0 ]; do
    c=$(( share < PER_PROC ? share : PER_PROC ))
    out="$RUN_DIR/sub-$k.json"; ready="$RUN_DIR/sub-$k.ready"
    "$LOADGEN" sub --host 127.0.0.1 --port "${NODE_PORTS[$i]}" --target rushcast --transport "$TRANSPORT" \
      --topic "$TOPIC" --conns "$c" --events "$EVENTS" --ramp-ms "$RAMP_MS" --timeout "$TIMEOUT" \
      --quiet-ms "$QUIET_MS" --ready-file "$ready" --out "$out" >/dev/null 2>"$RUN_DIR/sub-$k.err" &
    SUB_PIDS+=("$!"); CHILDREN+=("$!"); SUB_OUTS+=("$out"); SUB_READY+=("$ready")
    share=$(( share - c )); k=$(( k + 1 ))
  done
done
wait_ready "$(( RAMP_MS / 1000 + 120 ))"
read -r ok failed < <(ready_counts)
echo "subscribers ready: ok=$ok failed=$failed over $NODES node(s), $k loadgen process(es)" >&2
sleep 1

# ---- publish: to node 1, or one publisher per node.
node_cpu() { local t=0 p; for p in "${NODE_PIDS[@]}"; do t=$(( t + $(cpu_ticks "$p") )); done; echo "$t"; }
n0="$(node_cpu)"; r0="$(cpu_ticks "$REDIS_PID")"; t0="$(date +%s.%N)"
PUB_OUTS=()
if [ "$PUB_SPREAD" = 1 ]; then
  for i in $(seq 0 $(( NODES - 1 ))); do
    e=$(( EVENTS / NODES + (i < EVENTS % NODES ? 1 : 0) ))
    "$LOADGEN" pub --host 127.0.0.1 --port "${NODE_PORTS[$i]}" --target rushcast --key "$PUBLISH_KEY" \
      --topic "$TOPIC" --conns "$PUB_CONNS" --events "$e" --size "$SIZE" --timeout "$TIMEOUT" \
      --out "$RUN_DIR/pub-$i.json" >/dev/null &
    PUB_OUTS+=("$RUN_DIR/pub-$i.json"); CHILDREN+=("$!")
  done
  wait "${CHILDREN[@]: -$NODES}" || true
else
  "$LOADGEN" pub --host 127.0.0.1 --port "${NODE_PORTS[0]}" --target rushcast --key "$PUBLISH_KEY" \
    --topic "$TOPIC" --conns "$PUB_CONNS" --events "$EVENTS" --size "$SIZE" --timeout "$TIMEOUT" \
    --out "$RUN_DIR/pub.json" >/dev/null || true
  PUB_OUTS+=("$RUN_DIR/pub.json")
fi
publisher_done
wait_subs
n1="$(node_cpu)"; r1="$(cpu_ticks "$REDIS_PID")"; t1="$(date +%s.%N)"
hz="$(getconf CLK_TCK)"

# Loss against the events the publishers got a 200 for (one publisher: its pub.json).
pub="$(jq -s '{published: (map(.published) | add), errors: (map(.errors) | add),
               publishes_per_s: (map(.publishes_per_s) | add),
               request_latency_ms: {p50: (map(.request_latency_ms.p50) | max),
                                    max: (map(.request_latency_ms.max) | max)}}' "${PUB_OUTS[@]}")"
if [ "$PUB_SPREAD" = 1 ]; then m="$("$LOADGEN" merge "${SUB_OUTS[@]}" --out "$RUN_DIR/merged.json" >/dev/null; cat "$RUN_DIR/merged.json")"
else m="$(merge_subs)"; fi
bus_read=0
for p in "${NODE_PORTS[@]}"; do
  v="$(curl -s "http://127.0.0.1:$p/metrics" | awk '/^rushcast_bus_events_read_total /{print $2}')"
  bus_read=$(( bus_read + ${v:-0} ))
done
jq -n -r --argjson m "$m" --argjson p "$pub" --arg nodes "$NODES" --arg be "$BACKEND" --arg tr "$TRANSPORT" \
  --arg n "$N" --arg e "$EVENTS" --arg ncpu "$(( n1 - n0 ))" --arg rcpu "$(( r1 - r0 ))" --arg hz "$hz" \
  --arg th "$NODE_THREADS" --arg wall "$(echo "$t1 - $t0" | bc)" --arg busread "$bus_read" '
  def r2: . * 100 | round / 100;
  (($ncpu|tonumber) / ($hz|tonumber)) as $ns | (($rcpu|tonumber) / ($hz|tonumber)) as $rs |
  "cluster-S1 backend=\($be) nodes=\($nodes) threads/node=\($th) transport=\($tr) N=\($n) events=\($e)" +
  " subs_ok=\($m.ok) subs_failed=\($m.failed) closed=\($m.closed_by_server)" +
  " delivered=\($m.received)/\($m.expected) loss=\($m.loss) (\($m.loss_pct)%) deliveries/s=\($m.deliveries_per_s)" +
  " p50=\($m.latency_ms.p50)ms p99=\($m.latency_ms.p99)ms max=\($m.latency_ms.max)ms" +
  " published=\($p.published) pub_errors=\($p.errors) publishes/s=\($p.publishes_per_s|r2)" +
  " pub_req_p50=\($p.request_latency_ms.p50)ms pub_req_max=\($p.request_latency_ms.max)ms" +
  " bus_events_read=\($busread) nodes_cpu_s=\($ns|r2) nodes_cpu_us_per_delivery=\(if $m.received > 0 then ($ns * 1e6 / $m.received | r2) else null end)" +
  " redis_cpu_s=\($rs|r2) redis_cpu_us_per_event=\(if $p.published > 0 then ($rs * 1e6 / $p.published | r2) else null end)" +
  " wall_s=\($wall|tonumber|r2) loadgen_cpu_s=\($m.loadgen_cpu_s)"'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
