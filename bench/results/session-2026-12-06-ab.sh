#!/usr/bin/env bash
# Before/after driver (2026-12-06, issue 14): two rushcast builds side by side with the raw epoll
# reference, interleaved per round (before, after, epoll), S1 and S3 for SSE and WebSocket, then
# the admission load with nginx's fixed answer as the ceiling. Loopback only, bounded.
# Env: BEFORE, AFTER (checkouts with build-release/rushcast), R (results file), ROUNDS (2).
set -u
BEFORE=${BEFORE:?}; AFTER=${AFTER:?}; R=${R:?}; ROUNDS=${ROUNDS:-2}
here="$(cd "$(dirname "$0")/../.." && pwd)"; cd "$here"
ulimit -n 65536 2>/dev/null || true
start_rc() { # tree port -> RP
  rm -rf "/tmp/rc-ab-$2"; mkdir -p "/tmp/rc-ab-$2"
  nohup "$1/build-release/rushcast" --config bench/rushcast-bench.json --listen "127.0.0.1:$2" --data-dir "/tmp/rc-ab-$2" > "/tmp/rc-ab-$2.log" 2>&1 &
  RP=$!; for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$2/healthz" && break; sleep 0.1; done; }
echo "# before $(git -C "$BEFORE" rev-parse --short HEAD), after $(git -C "$AFTER" rev-parse --short HEAD), $(date -u), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$R"
start_rc "$BEFORE" 18080; PB=$RP; start_rc "$AFTER" 18081; PA=$RP
out=$(bench/epoll_ref/run-epoll.sh 8070); EP=$(echo "$out" | sed -n 's/EPOLL_PID=//p')
export EPOLL_PID=$EP
for s in s1 s3; do for tr in sse ws; do for ((i = 1; i <= ROUNDS; i++)); do
  echo "before $(RUSHCAST_PID=$PB RUSHCAST_URL=http://127.0.0.1:18080 bench/compare.sh $s $tr 1 rushcast | grep '^S')  # load $(cut -d' ' -f1 /proc/loadavg)" >> "$R"
  echo "after $(RUSHCAST_PID=$PA RUSHCAST_URL=http://127.0.0.1:18081 bench/compare.sh $s $tr 1 rushcast | grep '^S')  # load $(cut -d' ' -f1 /proc/loadavg)" >> "$R"
  echo "peer $(bench/compare.sh $s $tr 1 epoll | grep '^S')  # load $(cut -d' ' -f1 /proc/loadavg)" >> "$R"
done; done; done
kill $PB $PA $EP; wait $PB $PA 2>/dev/null
RESULTS=$R bench/seckill/compare.sh "$ROUNDS" nginx "$BEFORE/build-release/rushcast" "$AFTER/build-release/rushcast" > /dev/null
echo "# done $(date -u)" >> "$R"
