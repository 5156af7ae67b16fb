#!/usr/bin/env bash
# The SQLite writer's cost per admission: bench/seckill/writer_cpu.sh LABEL BINARY
# Starts BINARY (fresh data dir, bench/seckill/config.json), runs wrk -t2 -c64 for 12 s and,
# over 8 s of it, prints the CPU of the store's writer thread (found as the thread most often
# inside fdatasync) and of the whole process per admission, and the writer's fdatasync and
# pwrite64 calls per admission (perf stat tracepoints: needs perf and root). Run it A/B
# interleaved. The server it starts is stopped by PID.
set -euo pipefail
label=$1; bin=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
tck=$(getconf CLK_TCK)
scratch=$(mktemp -d /tmp/rushcast-writer-cpu.XXXXXX)
"$bin" --config $root/bench/seckill/config.json --listen 127.0.0.1:0 --port-file $scratch/port --data-dir $scratch >$scratch/daemon.log 2>&1 &
pid=$!
for _ in $(seq 100); do [[ -s $scratch/port ]] && break; sleep 0.1; done
port=$(tr -d '\n' <$scratch/port)
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
(cd $root && wrk -t2 -c64 -d12s -s bench/seckill/seckill.lua "http://127.0.0.1:$port" > $scratch/wrk.txt 2>&1) &
wpid=$!
sleep 1
# The writer: the thread found most often inside fdatasync (syscall 75).
writer=$(for i in $(seq 40); do for t in /proc/$pid/task/*; do read -r s _ < $t/syscall 2>/dev/null || true; [ "$s" = 75 ] && echo ${t##*/}; done; sleep 0.01; done | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
ticks() { awk '{print $14+$15}' "$1"; }
s0=$(curl -s "http://127.0.0.1:$port/api/sales/bench"); w0=$(ticks /proc/$pid/task/$writer/stat); p0=$(ticks /proc/$pid/stat)
perf stat -x, -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_pwrite64 -t $writer -o $scratch/stat.txt -- sleep 8 2>/dev/null
s1=$(curl -s "http://127.0.0.1:$port/api/sales/bench"); w1=$(ticks /proc/$pid/task/$writer/stat); p1=$(ticks /proc/$pid/stat)
wait $wpid || true
kill $pid; wait $pid 2>/dev/null || true
n=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['stock']-json.loads(sys.argv[2])['stock'])" "$s0" "$s1")
fd=$(awk -F, '/fdatasync/{print $1}' $scratch/stat.txt); pw=$(awk -F, '/pwrite64/{print $1}' $scratch/stat.txt)
awk -v l=$label -v fd=$fd -v pw=$pw -v n=$n -v w=$((w1-w0)) -v p=$((p1-p0)) -v k=$tck -v ld="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN{printf "%s admissions/s=%.0f writer_us_per_adm=%.2f process_us_per_adm=%.2f fdatasync_per_adm=%.4f pwrite_per_adm=%.3f adm_per_commit=%.1f load=%s\n", l, n/8, 1e6*w/k/n, 1e6*p/k/n, fd/n, pw/n, n/fd, ld}'
sed -n 's/^latency/  latency/p' $scratch/wrk.txt
rm -rf $scratch
