#!/usr/bin/env bash
# Session benchmark driver (2026-11-26, second session: flush rounds). Loopback only, bounded.
set -u
cd /work/main
R=${R:-/tmp/bench-s/all3.txt}
ulimit -n 65536 2>/dev/null || true
start_rc() { rm -rf /tmp/rc-bench-data; mkdir -p /tmp/rc-bench-data; nohup build-release/rushcast --config bench/rushcast-bench.json --data-dir /tmp/rc-bench-data > /tmp/rc-bench.log 2>&1 & RP=$!; for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18080/healthz && break; sleep 0.1; done; }
start_ep() { out=$(bench/epoll_ref/run-epoll.sh 8070); EP=$(echo "$out" | sed -n 's/EPOLL_PID=//p'); }
start_nc() { rm -rf /tmp/nchan-bench; out=$(bench/nchan/run-nchan.sh /tmp/nchan-bench); NP=$(echo "$out" | sed -n 's/NCHAN_PID=//p'); }
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; sleep 1; }
echo "# commit $(git rev-parse --short HEAD), $(date -u), $(nproc) cores" >> $R
# S2 rushcast (fresh daemon each)
for tr in sse ws; do start_rc
  echo "\$ SERVER_PID=$RP N=15000 HOLD=10 bench/run_s2.sh rushcast $tr http://127.0.0.1:18080 demo-publish-key  # $(date -u +%H:%M) load $(cut -d' ' -f1 /proc/loadavg)" >> $R
  SERVER_PID=$RP N=15000 HOLD=10 bench/run_s2.sh rushcast $tr http://127.0.0.1:18080 demo-publish-key 2>/dev/null >> $R; stop $RP; done
start_rc; start_ep; start_nc
export RUSHCAST_PID=$RP EPOLL_PID=$EP RESULTS=$R
for tr in sse ws; do bench/compare.sh s3 $tr 2 rushcast epoll nchan >/dev/null; done
for tr in sse ws; do
  bench/compare.sh s1 $tr 3 rushcast epoll >/dev/null
  echo "\$ SERVER_PID=$NP bench/run_s1.sh nchan $tr  # $(date -u +%H:%M) load $(cut -d' ' -f1 /proc/loadavg)" >> $R
  SERVER_PID=$NP TIMEOUT=600 bench/run_s1.sh nchan $tr 2>/dev/null >> $R
done
# growth 1k -> 15k subscribers, rushcast and epoll, SSE, 500 events
for n in 1000 5000 15000; do N=$n EVENTS=500 bench/compare.sh s1 sse 1 rushcast epoll >/dev/null; done
stop $RP; stop $EP; stop $NP
echo "# done $(date -u)" >> $R
