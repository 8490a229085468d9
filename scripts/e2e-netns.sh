#!/bin/sh
# e2e-netns.sh JARK — `make e2e`'s network runs (docs/node.md, "make e2e"):
# 4 validators, each `jark node` in a network namespace of its own, on two
# bridges joined by one veth pair:
#
#   ns jke0, jke1 ── bridge jkeA ══ patch (jkepA ↔ jkepB) ══ bridge jkeB ── ns jke2, jke3
#
# Validator traffic goes over the bridges (10.77.0.1-4); each namespace also
# has a management veth to this namespace (10.78.I.2) for its RPC, so the
# testnet watches every node during a partition too.
#
#   1. partition 2|2: the patch goes down at height >= 8. Neither half has a
#      quorum (3 of 4): no node commits while it lasts (checked over 8 s,
#      after 2 s for a height already in flight); then the patch comes up and
#      commits resume (5 more heights); the testnet is stopped and every
#      node's archive agrees, height by height (jark testnet exits 0).
#   2. delay and loss: tc netem (20 ms ± 5 ms, 2 % loss) on every validator
#      link, 20 heights with the workload, agreement. Where the kernel has no
#      sch_netem (this machine's), it says so and runs the same under a token
#      bucket instead (tc tbf: 2 Mbit/s a link, up to 200 ms queued).
#
# Needs root and `ip netns`; skips with a clear message where they do not
# work (exit 0). Cleans up what it made, also when interrupted.
set -u
JARK=${1:-build/jark}
P=jke
N=4
DIR=$(mktemp -d /tmp/jark-e2e-netns-XXXXXX)
HOSTS=10.77.0.1,10.77.0.2,10.77.0.3,10.77.0.4
RPCS=10.78.0.2,10.78.1.2,10.78.2.2,10.78.3.2
TPID=

skip() {
    echo "e2e: skip the network-namespace runs: $*"
    rm -rf "$DIR"
    exit 0
}

cleanup() {
    [ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
    for i in 0 1 2 3; do
        ip netns del "$P$i" 2>/dev/null
        ip link del "${P}v$i" 2>/dev/null
        ip link del "${P}m$i" 2>/dev/null
    done
    ip link del "${P}pA" 2>/dev/null
    ip link del "${P}A" 2>/dev/null
    ip link del "${P}B" 2>/dev/null
}

fail() {
    echo "e2e: FAIL: $*"
    echo "e2e: logs kept in $DIR"
    cleanup
    exit 1
}

[ "$(id -u)" = 0 ] || skip "they need root (ip netns, veth, bridges)"
command -v ip > /dev/null || skip "no ip command (iproute2)"
ip netns add "${P}probe" 2> /dev/null || skip "ip netns add does not work here"
ip netns del "${P}probe"
trap 'cleanup; exit 130' INT TERM
cleanup

# The two bridges and the patch between them.
ip link add "${P}A" type bridge && ip link add "${P}B" type bridge || skip "cannot make bridges"
ip link add "${P}pA" type veth peer name "${P}pB" || { cleanup; skip "cannot make veth pairs"; }
ip link set "${P}pA" master "${P}A"
ip link set "${P}pB" master "${P}B"
for l in "${P}A" "${P}B" "${P}pA" "${P}pB"; do ip link set "$l" up; done
for i in 0 1 2 3; do
    ns=$P$i
    br=${P}A
    [ "$i" -ge 2 ] && br=${P}B
    ip netns add "$ns" || fail "ip netns add $ns"
    ip netns exec "$ns" ip link set lo up
    # the validator link: root end on its bridge, eth0 inside
    ip link add "${P}v$i" type veth peer name eth0 netns "$ns" || fail "veth for $ns"
    ip link set "${P}v$i" master "$br" up
    ip netns exec "$ns" ip addr add "10.77.0.$((i + 1))/24" dev eth0
    ip netns exec "$ns" ip link set eth0 up
    # the management link (RPC from here)
    ip link add "${P}m$i" type veth peer name mgmt0 netns "$ns" || fail "management veth for $ns"
    ip addr add "10.78.$i.1/30" dev "${P}m$i"
    ip link set "${P}m$i" up
    ip netns exec "$ns" ip addr add "10.78.$i.2/30" dev mgmt0
    ip netns exec "$ns" ip link set mgmt0 up
done

# The highest committed height over every node (their RPC), or -1.
top() {
    best=-1
    for i in 0 1 2 3; do
        h=$("$JARK" rpc --rpc "10.78.$i.2:7101" status 2> /dev/null | sed -n 's/.*"height": *\([0-9]*\).*/\1/p' | head -n 1)
        [ -n "$h" ] && [ "$h" -gt "$best" ] && best=$h
    done
    echo "$best"
}

netns_testnet() { # LOG ARGS...
    log=$1
    shift
    "$JARK" testnet --validators $N --netns "$P" --hosts "$HOSTS" --rpc-hosts "$RPCS" "$@" > "$log" 2>&1
}

# ---- 1. partition 2|2, then heal ------------------------------------------
echo "e2e: partition 2|2 of 4 validators in network namespaces"
# As many heights as it takes: the script stops the testnet (SIGTERM: it
# stops the nodes and compares their archives) once commits have resumed.
# Started directly, so that TPID is jark's own pid.
"$JARK" testnet --validators $N --netns "$P" --hosts "$HOSTS" --rpc-hosts "$RPCS" \
    --blocks 1000000 --dir "$DIR/partition" > "$DIR/partition.log" 2>&1 &
TPID=$!
t=0
while [ "$(top)" -lt 8 ]; do
    sleep 1
    t=$((t + 1))
    [ $t -gt 120 ] && fail "the testnet did not reach height 8 in 120 s (see $DIR/partition.log)"
done
ip link set "${P}pA" down
ip link set "${P}pB" down
sleep 2
h1=$(top)
sleep 8
h2=$(top)
echo "e2e: partitioned at height $h1; 8 s later the highest node is at $h2"
[ "$h1" = "$h2" ] || fail "a node committed during the 2|2 partition ($h1 -> $h2)"
ip link set "${P}pA" up
ip link set "${P}pB" up
t=0
while [ "$(top)" -lt $((h2 + 5)) ]; do
    sleep 1
    t=$((t + 1))
    [ $t -gt 60 ] && fail "no 5 commits within 60 s of healing (see $DIR/partition.log)"
done
echo "e2e: healed; the highest node is at $(top)"
kill -TERM "$TPID"
wait "$TPID"
rc=$?
TPID=
tail -n 1 "$DIR/partition.log"
[ $rc = 0 ] || fail "jark testnet exited $rc after the partition healed (see $DIR/partition.log)"
grep -q "nodes agree on every block" "$DIR/partition.log" || fail "no agreement line"
echo "e2e: partition: no commit while partitioned, commits resumed after healing, no fork"

# ---- 2. delay and loss (tc netem) ------------------------------------------
# shaped NAME WHAT QDISC...: put QDISC on every validator link (false when
# the first one fails: the kernel lacks it), 20 heights with the workload.
shaped() {
    name=$1
    what=$2
    shift 2
    tc qdisc add dev "${P}v0" root "$@" 2> /dev/null || return 1
    for i in 1 2 3; do
        tc qdisc add dev "${P}v$i" root "$@" || fail "tc $name on ${P}v$i"
    done
    echo "e2e: $what on every validator link"
    netns_testnet "$DIR/$name.log" --blocks 20 --dir "$DIR/$name" || fail "jark testnet under $name (see $DIR/$name.log)"
    tail -n 1 "$DIR/$name.log"
}
if ! shaped netem "20 ms +- 5 ms delay, 2 % loss" netem delay 20ms 5ms loss 2%; then
    echo "e2e: skip the tc netem delay/loss run: this kernel has no sch_netem (tc qdisc ... netem fails)"
    # What this kernel does have: a token bucket. 2 Mbit/s per validator
    # link, queueing up to 200 ms: slow links under the workload.
    shaped tbf "instead, 2 Mbit/s (tc tbf, up to 200 ms queued)" tbf rate 2mbit burst 16kb latency 200ms ||
        echo "e2e: skip the tc tbf run too: tc qdisc ... tbf fails"
fi

cleanup
rm -rf "$DIR"
echo "e2e: network-namespace runs passed"
