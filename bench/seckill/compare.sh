#!/usr/bin/env bash
# Admissions side by side: runs the wrk admission load REPS times against each target, interleaved
# (A B C A B C ...) so the machine's load hits all alike, and prints per run and per target
# (median) the admissions/s, p50/p99 and the server's CPU per request.
#   bench/seckill/compare.sh REPS TARGET...
# TARGET: `nginx` (bench/seckill/nginx-peer.conf: a fixed `queued` body, the HTTP ceiling) or the
# path of a rushcast binary (a fresh daemon and data dir per run, bench/seckill/config.json).
# Env: CONNS (64), THREADS (2), DURATION (10s), RESULTS (append everything to this file),
# CONFIG (the daemons' config, default bench/seckill/config.json).
# Loopback only; every server it starts is stopped by PID at the end of its run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
REPS=${1:?reps}; shift
[ $# -ge 1 ] || { echo "name at least one target" >&2; exit 2; }
conns=${CONNS:-64}; threads=${THREADS:-2}; duration=${DURATION:-10s}
tck=$(getconf CLK_TCK)
out=$(mktemp); trap 'rm -f "$out"' EXIT
log() { echo "$*"; [ -n "${RESULTS:-}" ] && echo "$*" >> "$RESULTS"; return 0; }
# utime+stime of a process and its children that are still alive, in clock ticks.
cpu_ticks() {
  local t=0 p
  for p in "$@" $(pgrep -P "$1" 2>/dev/null || true); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
start_nginx() {
  scratch=$(mktemp -d /tmp/rushcast-nginx-peer.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  sed -e "s#PREFIX#$scratch#g" -e "s#PORT#$port#g" "$here/nginx-peer.conf" > "$scratch/nginx.conf"
  nginx -p "$scratch" -c "$scratch/nginx.conf" >"$scratch/out.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -s -o /dev/null -X POST "http://127.0.0.1:$port/api/seckill" && break; sleep 0.1; done
}
start_rushcast() {
  scratch=$(mktemp -d /tmp/rushcast-seckill-cmp.XXXXXX)
  "$1" --config "${CONFIG:-$here/config.json}" --listen 127.0.0.1:0 --port-file "$scratch/port" \
    --data-dir "$scratch" >"$scratch/daemon.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do [[ -s "$scratch/port" ]] && break; sleep 0.1; done
  port=$(tr -d '\n' <"$scratch/port")
  for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
}
log "# bench/seckill/compare.sh $REPS $* — $(date -u '+%Y-%m-%dT%H:%M:%SZ'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), wrk -t$threads -c$conns -d$duration"
for ((i = 1; i <= REPS; i++)); do
  for t in "$@"; do
    if [ "$t" = nginx ]; then start_nginx; else start_rushcast "$t"; fi
    c0=$(cpu_ticks "$pid")
    res=$(cd "$root" && wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$here/seckill.lua" "http://127.0.0.1:$port")
    c1=$(cpu_ticks "$pid")
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$scratch"
    adm=$(echo "$res" | sed -n 's/^admissions\/s: \([0-9.]*\).*/\1/p')
    q=$(echo "$res" | sed -n 's/^admissions: queued \([0-9]*\), sold_out \([0-9]*\), other \([0-9]*\)/queued=\1 sold_out=\2 other=\3/p')
    p50=$(echo "$res" | sed -n 's/^latency p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*/\1/p')
    p99=$(echo "$res" | sed -n 's/^latency p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*/\2/p')
    secs=${duration%s}
    cpu_s=$(awk -v d=$((c1 - c0)) -v k="$tck" 'BEGIN {printf "%.2f", d / k}')
    cpu_pct=$(awk -v c="$cpu_s" -v s="$secs" 'BEGIN {printf "%.0f", 100 * c / s}')
    us_per=$(awk -v c="$cpu_s" -v a="$adm" -v s="$secs" 'BEGIN {printf "%.1f", (a > 0) ? 1e6 * c / (a * s) : 0}')
    line="target=$t admissions/s=$adm p50=${p50}ms p99=${p99}ms server_cpu_s=$cpu_s server_cpu_pct=$cpu_pct cpu_us_per_admission=$us_per $q"
    log "$line  # load $(cut -d' ' -f1 /proc/loadavg)"
    echo "$t $line" >> "$out"
  done
done
log "# medians over $REPS runs"
for t in "$@"; do
  med=$(grep "^$t " "$out" | tr ' ' '\n' | grep -E '^[a-z_/0-9]+=[0-9.]+(ms)?$' | sed 's/ms$//' |
    awk -F= '{v[$1] = v[$1] " " $2} END {for (k in v) print k, v[k]}' | sort |
    while read -r k vals; do
      m=$(echo "$vals" | tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
      echo -n "$k=$m "
    done)
  log "MEDIAN seckill target=$t $med"
done
