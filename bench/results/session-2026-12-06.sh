#!/usr/bin/env bash
# Session benchmark driver (2026-12-06, issue 14 before/after): S1 and S3 for SSE and WebSocket,
# rushcast against the raw epoll reference interleaved, then the seckill admission run.
# Loopback only, bounded. Env: TREE (checkout whose build-release/rushcast is measured), R (results file).
set -u
TREE=${TREE:?checkout}; R=${R:?results file}
cd "$TREE"
ulimit -n 65536 2>/dev/null || true
start_rc() { rm -rf /tmp/rc-bench-data; mkdir -p /tmp/rc-bench-data; nohup build-release/rushcast --config bench/rushcast-bench.json --data-dir /tmp/rc-bench-data > /tmp/rc-bench.log 2>&1 & RP=$!; for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18080/healthz && break; sleep 0.1; done; }
start_ep() { out=$(bench/epoll_ref/run-epoll.sh 8070); EP=$(echo "$out" | sed -n 's/EPOLL_PID=//p'); }
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; sleep 1; }
echo "# commit $(git rev-parse --short HEAD), $(date -u), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$R"
start_rc; start_ep
export RUSHCAST_PID=$RP EPOLL_PID=$EP RESULTS=$R
for tr in sse ws; do bench/compare.sh s1 "$tr" 3 rushcast epoll >/dev/null; done
for tr in sse ws; do bench/compare.sh s3 "$tr" 2 rushcast epoll >/dev/null; done
stop "$RP"; stop "$EP"
echo "\$ RUSHCAST_BIN=$TREE/build-release/rushcast DURATION=10s bench/seckill/run.sh  # $(date -u +%H:%M) load $(cut -d' ' -f1 /proc/loadavg)" >> "$R"
RUSHCAST_BIN=$TREE/build-release/rushcast DURATION=10s bench/seckill/run.sh 2>&1 | grep -E 'Requests/sec|admissions|99%|50%|queued|rss_kb|Latency' >> "$R"
echo "# done $(date -u)" >> "$R"
