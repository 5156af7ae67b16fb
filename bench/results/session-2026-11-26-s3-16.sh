#!/usr/bin/env bash
set -u
cd /work/main
R=/tmp/bench-s/s3_16.txt
ulimit -n 20000 2>/dev/null || true
rm -rf /tmp/rc-bench-data; mkdir -p /tmp/rc-bench-data
nohup build-release/rushcast --config bench/rushcast-bench.json --data-dir /tmp/rc-bench-data > /tmp/rc-bench.log 2>&1 & RP=$!
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18080/healthz && break; sleep 0.1; done
out=$(bench/epoll_ref/run-epoll.sh 8070); EP=$(echo "$out" | sed -n 's/EPOLL_PID=//p')
export RUSHCAST_PID=$RP EPOLL_PID=$EP RESULTS=$R PUB_CONNS=16
for tr in sse ws; do bench/compare.sh s3 $tr 2 rushcast epoll >/dev/null; done
kill $RP $EP; wait $RP 2>/dev/null
echo "# done $(date -u)" >> $R
