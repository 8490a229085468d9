#!/bin/sh
# The system calls of BENCH testnet's nodes, by kind and thread, per height
# and per committed event at each node (docs/bench.md "System calls per
# event, session 16"). Runs the bench's testnet (extra arguments go to
# `jark testnet`), attaches `perf record -e raw_syscalls:sys_enter` to the
# four `jark node` processes once node 0 has committed its first height (so
# the chain compile's clang is not counted), and counts only the calls made
# between node 0's first and last commit of more than one event.
# Needs perf with the raw_syscalls tracepoints (root, or perf_event_paranoid
# low enough) and python3.
# Usage: scripts/node-syscalls.sh [BUILD_DIR] [jark testnet options...]
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
tmp=$(mktemp -d /tmp/jark-syscalls-XXXXXX)
"$build"/jark testnet --validators 4 --blocks 60 --events-per-block 256 --in-flight 16 \
	--accounts 8192 --bench --dir "$tmp/tn" "$@" >"$tmp/out" 2>&1 &
tn=$!
i=0
until grep -q "commit height=" "$tmp/tn/node-0.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 3000 ] && { echo "no commit in 600 s" >&2; exit 1; }
	sleep 0.2
done
pids=$(pgrep -P $tn -f "jark node" | paste -sd, -)
# perf's timestamps are CLOCK_MONOTONIC; the node logs wall-clock times
off=$(python3 -c 'import time; print(time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_MONOTONIC))')
perf record -q -k CLOCK_MONOTONIC -e raw_syscalls:sys_enter -p "$pids" -o "$tmp/perf.data" 2>/dev/null &
pr=$!
wait $tn || true
sleep 0.5
kill -INT $pr 2>/dev/null || true
wait $pr || true
tail -n 1 "$tmp/out"
perf script -i "$tmp/perf.data" -F comm,tid,time,trace >"$tmp/trace" 2>/dev/null
python3 - "$tmp/tn/node-0.log" "$off" "$tmp/trace" <<'EOF'
import collections, datetime, re, sys
names = {}
for l in open('/usr/include/x86_64-linux-gnu/asm/unistd_64.h'):
    m = re.match(r'#define __NR_(\w+) (\d+)', l)
    if m:
        names[int(m.group(2))] = m.group(1)
off = float(sys.argv[2])
day = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d')
busy = []
for l in open(sys.argv[1]):
    m = re.match(r'(\d\d:\d\d:\d\d\.\d+) commit height=\d+ .*events=(\d+)', l)
    if m and int(m.group(2)) > 1:
        t = datetime.datetime.strptime(day + ' ' + m.group(1), '%Y-%m-%d %H:%M:%S.%f')
        busy.append((t.replace(tzinfo=datetime.timezone.utc).timestamp() - off, int(m.group(2))))
t0, t1 = busy[0][0], busy[-1][0]
events, heights, nodes = sum(e for _, e in busy[1:]), len(busy) - 1, 4
kinds, threads = collections.Counter(), collections.Counter()
for l in open(sys.argv[3]):
    m = re.match(r'\s*(\S.*?)\s+\d+\s+([\d.]+):\s+NR (\d+)', l)
    if m and t0 < float(m.group(2)) <= t1:
        k = names.get(int(m.group(3)), m.group(3))
        kinds[k] += 1
        threads[(m.group(1), k)] += 1
total = sum(kinds.values())
print(f'{heights} heights, {events} events (node 0); {total} calls at 4 nodes: '
      f'{total / heights / nodes:.1f} a height, {total / events / nodes:.3f} an event at each node')
for k, c in kinds.most_common(20):
    print(f'  {k:16s} {c / heights / nodes:7.1f} /height {c / events / nodes:7.4f} /event')
print('by thread:')
for (t, k), c in threads.most_common(20):
    print(f'  {t:10s} {k:16s} {c / heights / nodes:7.1f} /height')
EOF
[ -n "${KEEP:-}" ] || rm -rf "$tmp"
