#!/usr/bin/env bash
# Where the machine's CPU goes during the admission load: the server, wrk, the whole machine
# (busy and idle from /proc/stat) and each server thread, over the middle SECONDS of one
# wrk -t2 -c64 run of bench/seckill/seckill.lua (what compare.sh runs).
#   bench/tools/cpu_split.sh TARGET [CONFIG]
# TARGET: `nginx` (bench/seckill/nginx-peer.conf) or a rushcast binary (a fresh data dir;
# CONFIG, default bench/seckill/config.json). Env: DURATION (8), SECONDS_MEASURED (4).
# Answers whether a run is bound by CPU (idle near 0, or one thread near 100 %) or by waiting.
# Loopback only; the server it starts is stopped by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${1:?target}
cfg=${2:-$root/bench/seckill/config.json}
duration=${DURATION:-8}
measured=${SECONDS_MEASURED:-4}
scratch=$(mktemp -d /tmp/rushcast-cpu-split.XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$scratch"' EXIT
if [ "$target" = nginx ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  sed -e "s#PREFIX#$scratch#g" -e "s#PORT#$port#g" "$root/bench/seckill/nginx-peer.conf" > "$scratch/nginx.conf"
  nginx -p "$scratch" -c "$scratch/nginx.conf" >"$scratch/out.log" 2>&1 &
  pid=$!
  sleep 0.5
else
  "$target" --config "$cfg" --listen 127.0.0.1:0 --port-file "$scratch/port" --data-dir "$scratch" \
    >"$scratch/daemon.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do [[ -s "$scratch/port" ]] && break; sleep 0.1; done
  port=$(tr -d '\n' < "$scratch/port")
fi
sleep 0.5
(cd "$root" && exec wrk -t2 -c64 -d"${duration}s" -s bench/seckill/seckill.lua "http://127.0.0.1:$port" \
  > "$scratch/wrk.out") &
wrk_pid=$!
sleep $(( (duration - measured) / 2 ))
ticks() {  # utime+stime of a process and its children, in clock ticks
  local t=0 p
  for p in "$@" $(pgrep -P "$1" || true); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}
threads() { for t in /proc/"$pid"/task/*; do echo "$(basename "$t") $(awk '{print $14 + $15}' "$t/stat")"; done; }
machine() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat; }
s0=$(ticks "$pid"); w0=$(ticks "$wrk_pid"); read -r b0 i0 < <(machine); threads > "$scratch/t0"
sleep "$measured"
s1=$(ticks "$pid"); w1=$(ticks "$wrk_pid"); read -r b1 i1 < <(machine); threads > "$scratch/t1"
wait "$wrk_pid"
hz=$(getconf CLK_TCK)
pct() { awk -v d="$1" -v s="$measured" -v hz="$hz" 'BEGIN {printf "%.0f%%", 100 * d / (s * hz)}'; }
echo "target=$target server=$(pct $((s1 - s0))) wrk=$(pct $((w1 - w0))) machine_busy=$(pct $((b1 - b0))) machine_idle=$(pct $((i1 - i0))) $(grep 'admissions/s' "$scratch/wrk.out")"
echo -n "  server threads:"
join "$scratch/t0" "$scratch/t1" | while read -r tid a b; do
  if [ $((b - a)) -gt 0 ]; then echo -n " $tid=$(pct $((b - a)))"; fi
done
echo
