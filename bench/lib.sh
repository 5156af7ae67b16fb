# Shared helpers for bench/run_s*.sh (sourced, not run).
# Usage of the drivers:  run_sN.sh TARGET TRANSPORT [URL] [PUBLISH_KEY]
#   TARGET     rushcast | nchan | epoll (bench/epoll_ref: the raw epoll reference, rushcast's protocol)
#   TRANSPORT  sse | ws
#   URL        http://127.0.0.1:8080 (rushcast default), http://127.0.0.1:8090 (nchan default) or
#              http://127.0.0.1:8070 (epoll default)
#   PUBLISH_KEY  rushcast's auth.publish_key (or env PUBLISH_KEY); unused for nchan; any for epoll

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOADGEN="${LOADGEN:-$BENCH_DIR/../build-bench/loadgen}"
PER_PROC="${PER_PROC:-2500}"          # connections per loadgen process (fd limit here is ~20,000)

bench_init() {
  TARGET="${1:-}"; TRANSPORT="${2:-}"
  case "$TARGET" in rushcast|nchan|epoll) ;; *) echo "usage: $0 rushcast|nchan|epoll sse|ws [URL] [PUBLISH_KEY]" >&2; exit 2;; esac
  case "$TRANSPORT" in sse|ws) ;; *) echo "usage: $0 rushcast|nchan|epoll sse|ws [URL] [PUBLISH_KEY]" >&2; exit 2;; esac
  local def_url="http://127.0.0.1:8080"; [ "$TARGET" = nchan ] && def_url="http://127.0.0.1:8090"
  [ "$TARGET" = epoll ] && def_url="http://127.0.0.1:8070"
  URL="${3:-${URL:-$def_url}}"
  PUBLISH_KEY="${4:-${PUBLISH_KEY:-}}"
  # epoll_ref speaks rushcast's protocol: loadgen talks to it as --target rushcast; it accepts any
  # Bearer key, and one is sent so that the publish requests are the same bytes as for rushcast.
  LG_TARGET="$TARGET"
  if [ "$TARGET" = epoll ]; then LG_TARGET=rushcast; PUBLISH_KEY="${PUBLISH_KEY:-epoll-ref}"; fi
  local hp="${URL#*://}"; hp="${hp%%/*}"
  HOST="${hp%:*}"; PORT="${hp##*:}"
  [ "$HOST" = localhost ] && HOST=127.0.0.1
  if [ "$HOST" != 127.0.0.1 ]; then echo "only 127.0.0.1 targets are allowed (got $HOST)" >&2; exit 2; fi
  if [ ! -x "$LOADGEN" ]; then
    echo "loadgen not built: cmake -S bench -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2" >&2
    exit 2
  fi
  command -v jq >/dev/null || { echo "jq is required" >&2; exit 2; }
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  local lim; lim="$(ulimit -n)"
  if [ "$lim" != unlimited ] && [ "$PER_PROC" -gt $((lim - 100)) ]; then PER_PROC=$((lim - 100)); fi
  RUN_ID="$(date +%Y%m%d-%H%M%S)-$$"
  RUN_DIR="${RUN_DIR:-$BENCH_DIR/results/tmp/$RUN_ID}"
  mkdir -p "$RUN_DIR"
  COMMON=(--host "$HOST" --port "$PORT" --target "$LG_TARGET" --transport "$TRANSPORT")
  CHILDREN=()
  trap bench_cleanup EXIT INT TERM
}

# Stops only the loadgen processes this script started.
bench_cleanup() {
  local p
  for p in "${CHILDREN[@]:-}"; do
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
  done
  return 0
}

# spawn_subs MODE N TOPIC [extra loadgen args...]: N connections over ceil(N/PER_PROC) processes.
# Sets SUB_PIDS, SUB_OUTS, SUB_READY.
spawn_subs() {
  local mode="$1" n="$2" topic="$3"; shift 3
  SUB_PIDS=(); SUB_OUTS=(); SUB_READY=()
  local left="$n" i=0
  while [ "$left" -gt 0 ]; do
    local c=$(( left < PER_PROC ? left : PER_PROC ))
    local out="$RUN_DIR/$mode-$i.json" ready="$RUN_DIR/$mode-$i.ready"
    rm -f "$out" "$ready"
    "$LOADGEN" "$mode" "${COMMON[@]}" --topic "$topic" --conns "$c" --ready-file "$ready" --out "$out" "$@" \
      >/dev/null 2>"$RUN_DIR/$mode-$i.err" &
    SUB_PIDS+=("$!"); CHILDREN+=("$!"); SUB_OUTS+=("$out"); SUB_READY+=("$ready")
    left=$((left - c)); i=$((i + 1))
  done
}

# wait_ready TIMEOUT_S: until every subscriber process has finished its handshakes.
wait_ready() {
  local deadline=$(( $(date +%s) + $1 )) r p all
  while :; do
    all=1
    for r in "${SUB_READY[@]}"; do [ -f "$r" ] || all=0; done
    [ "$all" = 1 ] && return 0
    for p in "${SUB_PIDS[@]}"; do
      if ! kill -0 "$p" 2>/dev/null; then echo "a loadgen process exited early; see $RUN_DIR/*.err" >&2; cat "$RUN_DIR"/*.err >&2; return 1; fi
    done
    [ "$(date +%s)" -ge "$deadline" ] && { echo "subscribers not ready after $1 s" >&2; return 1; }
    sleep 0.2
  done
}

ready_counts() {  # prints "ok failed" summed over the ready files
  cat "${SUB_READY[@]}" | jq -s -r '"\(map(.ok)|add) \(map(.failed)|add)"'
}

wait_subs() { local p; for p in "${SUB_PIDS[@]}"; do wait "$p" || true; done; }

# The publisher has finished: each subscriber process then exits after QUIET_MS without an event
# (even if it never got one, e.g. when every publish failed).
publisher_done() { local p; for p in "${SUB_PIDS[@]}"; do kill -USR1 "$p" 2>/dev/null || true; done; }

merge_subs() {
  # Loss is counted against the events the publisher got a 200 for (its pub.json, when there).
  local pub=(); [ -f "$RUN_DIR/pub.json" ] && pub=(--pub "$RUN_DIR/pub.json")
  "$LOADGEN" merge "${SUB_OUTS[@]}" "${pub[@]}" --out "$RUN_DIR/sub-merged.json" >/dev/null; cat "$RUN_DIR/sub-merged.json"; }

publish_args() {
  PUB_ARGS=(--host "$HOST" --port "$PORT" --target "$LG_TARGET")
  [ -n "$PUBLISH_KEY" ] && PUB_ARGS+=(--key "$PUBLISH_KEY")
  return 0
}

# Server memory: the PID and its direct children (nginx master + workers), in KiB.
server_pids() { echo "$1"; pgrep -P "$1" 2>/dev/null || true; }
rss_kb() {
  local t=0 p v
  for p in $(server_pids "$1"); do v=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null); t=$((t + ${v:-0})); done
  echo "$t"
}
pss_kb() {
  local t=0 p v
  for p in $(server_pids "$1"); do v=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null); t=$((t + ${v:-0})); done
  echo "$t"
}

# Server CPU (user + system) of the PID and its direct children, in clock ticks; 0 without a PID.
cpu_ticks() {
  local t=0 p v
  [ -n "${1:-}" ] || { echo 0; return; }
  for p in $(server_pids "$1"); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null); t=$((t + ${v:-0}))
  done
  echo "$t"
}
