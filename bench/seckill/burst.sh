#!/usr/bin/env bash
# The buying burst side by side: CONNS buyers at once, each a NEW connection with ONE
# POST /api/seckill (fresh userId), BURSTS times, against each TARGET, interleaved.
#   bench/seckill/burst.sh REPS TARGET...
# TARGET: the path of a rushcast binary (buyers connect to it directly), `nginx:<path>`
# (buyers connect to nginx, which passes every request to that rushcast over keep-alive
# upstream connections: bench/seckill/nginx-proxy.conf), or `nginx` alone: nginx answering a
# fixed `queued` body (bench/seckill/nginx-peer.conf), the machine's ceiling for this shape. A fresh daemon and data dir per run
# (bench/seckill/config.json). Prints per run the burst client's summary (answers, refusals by
# a limit, errors, p50/p99/max from connect() to the answer) and the server CPU per admission
# (rushcast, plus nginx for nginx: targets).
# Env: CONNS (2000), BURSTS (5), RESULTS (append everything to this file), KEEPALIVE=1 (the
# buyers' connections are opened before the bursts and kept: each burst is one request on each).
# Loopback only, every burst bounded (10 s); every server started is stopped by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
REPS=${1:?reps}; shift
[ $# -ge 1 ] || { echo "name at least one target" >&2; exit 2; }
conns=${CONNS:-2000}; bursts=${BURSTS:-5}
tck=$(getconf CLK_TCK)
client=$(mktemp -d /tmp/rushcast-burst-client.XXXXXX)
trap 'rm -rf "$client"' EXIT
cc -O2 -o "$client/burst" "$here/burst.c"
log() { echo "$*"; [ -n "${RESULTS:-}" ] && echo "$*" >> "$RESULTS"; return 0; }
cpu_ticks() {
  local t=0 p
  for p in "$@" $(for q in "$@"; do pgrep -P "$q" 2>/dev/null || true; done); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
log "# bench/seckill/burst.sh $REPS $* — $(date -u '+%Y-%m-%dT%H:%M:%SZ'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $bursts bursts of $conns buyers$([ "${KEEPALIVE:-}" = 1 ] && echo ', keep-alive connections opened beforehand')"
for ((i = 1; i <= REPS; i++)); do
  for t in "$@"; do
    bin=${t#nginx:}
    scratch=$(mktemp -d /tmp/rushcast-burst.XXXXXX)
    if [ "$t" = nginx ]; then
      port=$(free_port)
      sed -e "s#PREFIX#$scratch#g" -e "s#PORT#$port#g" "$here/nginx-peer.conf" > "$scratch/nginx.conf"
      nginx -p "$scratch" -c "$scratch/nginx.conf" >"$scratch/nginx.log" 2>&1 &
      pid=$!
      pids=$pid
      for _ in $(seq 50); do curl -s -o /dev/null -X POST "http://127.0.0.1:$port/api/seckill" && break; sleep 0.1; done
    else
      "$bin" --config "$here/config.json" --listen 127.0.0.1:0 --port-file "$scratch/port" \
        --data-dir "$scratch" >"$scratch/daemon.log" 2>&1 &
      pid=$!
      pids=$pid
      for _ in $(seq 100); do [[ -s "$scratch/port" ]] && break; sleep 0.1; done
      port=$(tr -d '\n' <"$scratch/port")
      for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
      if [ "$t" != "$bin" ]; then
        nport=$(free_port)
        sed -e "s#PREFIX#$scratch#g" -e "s#UPSTREAM#$port#g" -e "s#PORT#$nport#g" \
          "$here/nginx-proxy.conf" > "$scratch/nginx.conf"
        nginx -p "$scratch" -c "$scratch/nginx.conf" >"$scratch/nginx.log" 2>&1 &
        npid=$!
        pids="$pid $npid"
        for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$nport/readyz" && break; sleep 0.1; done
        port=$nport
      fi
    fi
    c0=$(cpu_ticks $pids)
    res=$("$client/burst" "$port" "$conns" "$bursts" "$(date +%s)-$i")
    c1=$(cpu_ticks $pids)
    kill $pids 2>/dev/null || true; for p in $pids; do wait "$p" 2>/dev/null || true; done
    rm -rf "$scratch"
    sum=$(echo "$res" | grep '^bursts:')
    adm=$(echo "$sum" | sed -n 's/.*queued \([0-9]*\) sold_out \([0-9]*\).*/\1 \2/p' | awk '{print $1 + $2}')
    us=$(awk -v d=$((c1 - c0)) -v k="$tck" -v a="${adm:-0}" 'BEGIN {printf "%.1f", (a > 0) ? 1e6 * d / k / a : 0}')
    echo "$res" | grep '^burst ' | sed 's/^/  /'
    log "target=$t $sum server_cpu_us_per_admission=$us  # load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
