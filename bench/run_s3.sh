#!/usr/bin/env bash
# S3 latency: N subscribers on one topic, RATE events/s for DURATION s. Reports p50/p99/p99.9.
#   bench/run_s3.sh rushcast|nchan|epoll sse|ws [URL] [PUBLISH_KEY]
# Env: N=5000 RATE=50 DURATION=20 PUB_CONNS=16 SIZE=100 PER_PROC=2500 RAMP_MS=5000 QUIET_MS=10000 TOPIC=...
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init "$@"
N="${N:-5000}"; RATE="${RATE:-50}"; DURATION="${DURATION:-20}"; PUB_CONNS="${PUB_CONNS:-16}"; SIZE="${SIZE:-100}"
RAMP_MS="${RAMP_MS:-5000}"; QUIET_MS="${QUIET_MS:-10000}"
EVENTS="$(awk -v r="$RATE" -v d="$DURATION" 'BEGIN{printf "%d", r*d + 0.5}')"
TIMEOUT="${TIMEOUT:-$(awk -v d="$DURATION" 'BEGIN{printf "%d", d + 180}')}"
if [ "$TARGET" = nchan ]; then TOPIC="${TOPIC:-s3-$RUN_ID}"; else TOPIC="${TOPIC:-bench}"; fi

spawn_subs sub "$N" "$TOPIC" --events "$EVENTS" --ramp-ms "$RAMP_MS" --timeout "$TIMEOUT" --quiet-ms "$QUIET_MS"
wait_ready 120
read -r ok failed < <(ready_counts)
echo "S3 subscribers ready: ok=$ok failed=$failed (run dir $RUN_DIR)" >&2
sleep 1
publish_args
"$LOADGEN" pub "${PUB_ARGS[@]}" --topic "$TOPIC" --conns "$PUB_CONNS" --rate "$RATE" --duration "$DURATION" \
  --size "$SIZE" --timeout "$TIMEOUT" --out "$RUN_DIR/pub.json" >/dev/null || true
publisher_done
wait_subs
m="$(merge_subs)"
p="$(cat "$RUN_DIR/pub.json" 2>/dev/null || echo "{}")"
jq -n -r --argjson m "$m" --argjson p "$p" --arg t "$TARGET" --arg tr "$TRANSPORT" --arg n "$N" --arg r "$RATE" --arg d "$DURATION" '
  "S3 target=\($t) transport=\($tr) N=\($n) rate=\($r)/s duration=\($d)s subs_ok=\($m.ok) subs_failed=\($m.failed)" +
  " delivered=\($m.received)/\($m.expected) loss=\($m.loss) (\($m.loss_pct)%)" +
  " p50=\($m.latency_ms.p50)ms p99=\($m.latency_ms.p99)ms p99.9=\($m.latency_ms.p999)ms max=\($m.latency_ms.max)ms" +
  " published=\($p.published) pub_errors=\($p.errors) publishes/s=\($p.publishes_per_s) pub_req_p50=\($p.request_latency_ms.p50)ms pub_req_max=\($p.request_latency_ms.max)ms max_behind=\($p.max_behind_schedule)"'
