#!/usr/bin/env bash
# S1 fan-out: N subscribers on one topic, EVENTS events of ~SIZE B published as fast as possible
# over PUB_CONNS keep-alive connections. Reports deliveries/s, loss, latency p50/p99.
#   bench/run_s1.sh rushcast|nchan|epoll sse|ws [URL] [PUBLISH_KEY]
# Env: N=10000 EVENTS=2000 PUB_CONNS=16 SIZE=100 PER_PROC=2500 RAMP_MS=5000 TIMEOUT=900 QUIET_MS=15000 TOPIC=...
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init "$@"
N="${N:-10000}"; EVENTS="${EVENTS:-2000}"; PUB_CONNS="${PUB_CONNS:-16}"; SIZE="${SIZE:-100}"
RAMP_MS="${RAMP_MS:-5000}"; TIMEOUT="${TIMEOUT:-900}"; QUIET_MS="${QUIET_MS:-15000}"
if [ "$TARGET" = nchan ]; then TOPIC="${TOPIC:-s1-$RUN_ID}"; else TOPIC="${TOPIC:-bench}"; fi

spawn_subs sub "$N" "$TOPIC" --events "$EVENTS" --ramp-ms "$RAMP_MS" --timeout "$TIMEOUT" --quiet-ms "$QUIET_MS"
wait_ready 120
read -r ok failed < <(ready_counts)
echo "S1 subscribers ready: ok=$ok failed=$failed (run dir $RUN_DIR)" >&2
sleep 1
# Optional: SERVER_PID adds the server's CPU over the publish phase (µs of CPU per delivery).
SERVER_PID="${SERVER_PID:-}"
[ -z "$SERVER_PID" ] && [ "$TARGET" = nchan ] && SERVER_PID="$(cat "${NCHAN_PREFIX:-/tmp/nchan-bench}/nginx.pid" 2>/dev/null || true)"
cpu0="$(cpu_ticks "$SERVER_PID")"
publish_args
"$LOADGEN" pub "${PUB_ARGS[@]}" --topic "$TOPIC" --conns "$PUB_CONNS" --events "$EVENTS" --size "$SIZE" \
  --timeout "$TIMEOUT" --out "$RUN_DIR/pub.json" >/dev/null || true
publisher_done
wait_subs
cpu1="$(cpu_ticks "$SERVER_PID")"
hz="$(getconf CLK_TCK)"
m="$(merge_subs)"
p="$(cat "$RUN_DIR/pub.json" 2>/dev/null || echo "{}")"
jq -n -r --argjson m "$m" --argjson p "$p" --arg t "$TARGET" --arg tr "$TRANSPORT" --arg n "$N" --arg e "$EVENTS" --arg cpu "$(( cpu1 - cpu0 ))" --arg hz "$hz" '
  "S1 target=\($t) transport=\($tr) N=\($n) events=\($e) subs_ok=\($m.ok) subs_failed=\($m.failed) closed=\($m.closed_by_server)" +
  " delivered=\($m.received)/\($m.expected) loss=\($m.loss) (\($m.loss_pct)%) deliveries/s=\($m.deliveries_per_s)" +
  " p50=\($m.latency_ms.p50)ms p99=\($m.latency_ms.p99)ms p99.9=\($m.latency_ms.p999)ms max=\($m.latency_ms.max)ms" +
  " published=\($p.published) pub_errors=\($p.errors) publishes/s=\($p.publishes_per_s) pub_req_p50=\($p.request_latency_ms.p50)ms pub_req_max=\($p.request_latency_ms.max)ms loadgen_cpu_s=\($m.loadgen_cpu_s)" +
  (if ($cpu|tonumber) > 0 then " server_cpu_s=\((($cpu|tonumber) / ($hz|tonumber)))" +
     " server_cpu_us_per_delivery=\(if $m.received > 0 then ((($cpu|tonumber) / ($hz|tonumber)) * 1e6 / $m.received * 100 | round / 100) else null end)"
   else "" end)'
