#!/usr/bin/env bash
# Allocations per request of a rushcast binary under wrk -t2 -c64 for 5 s: the daemon runs with
# an LD_PRELOAD malloc counter (bench/tools/malloc_count.c) read before and after the run.
#   bench/tools/mallocs_per_request.sh BIN            # the seckill admission (bench/seckill/seckill.lua)
#   bench/tools/mallocs_per_request.sh BIN - /healthz # a GET of that path
# Loopback only; the daemon it starts is stopped by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$1; lua=${2:--}; path=${3:-}
[ "$lua" = - ] && lua="$root/bench/seckill/seckill.lua"
d=$(mktemp -d /tmp/rushcast-mallocs.XXXXXX)
trap 'rm -rf "$d"' EXIT
cc -O2 -shared -fPIC -o "$d/malloc_count.so" "$here/malloc_count.c"
LD_PRELOAD="$d/malloc_count.so" "$bin" --config "$root/bench/seckill/config.json" \
  --listen 127.0.0.1:0 --port-file "$d/port" --data-dir "$d" >"$d/log" 2>&1 &
pid=$!
for _ in $(seq 100); do [[ -s "$d/port" ]] && break; sleep 0.1; done
port=$(cat "$d/port")
kill -USR2 "$pid"; sleep 0.2
if [ -n "$path" ]; then
  res=$(wrk -t2 -c64 -d5s "http://127.0.0.1:$port$path")
else
  res=$(cd "$root" && wrk -t2 -c64 -d5s -s "$lua" "http://127.0.0.1:$port")
fi
kill -USR2 "$pid"; sleep 0.2
kill "$pid"; wait "$pid" 2>/dev/null || true
n=$(echo "$res" | awk '/requests in/ {print $1}')
grep MCOUNT "$d/log" | awk -v n="$n" 'NR == 1 {a = $2; b = $3}
  NR == 2 {printf "requests=%d mallocs/req=%.1f bytes/req=%.0f\n", n, ($2 - a) / n, ($3 - b) / n}'
