#!/usr/bin/env bash
# run.sh - xokd receive benchmark, one run: (1) a plain AF_XDP rx-drop, (2) xokd delivering
# into a busy-polling app's ring, same veth, same sender; the ratio; (3) wake-up latency of
# an app sleeping on its predicate.  Root; creates and removes its own namespaces.
#   SECONDS_RUN=5 RATE_PPS=1000 FRAME=60 ./run.sh     (from the build dir: bench/xokd/run.sh)
set -u
B=$(cd "$(dirname "$0")" && pwd)
XOKD=${XOKD:-$B/../../src/kern/xokd}
BLAST=$B/bench-xokd-blast
DROP=$B/bench-xokd-xsk-drop
POLL=$B/bench-xokd-ringpoll
SECS=${SECONDS_RUN:-5}
RATE=${RATE_PPS:-1000}
FRAME=${FRAME:-60}
P=xb$$
NS_X=$P-x NS_C=$P-c IFA=${P}a IFB=${P}b
NET=198.19.$(($$ % 256))
TMP=$(mktemp -d "/tmp/$P.XXXXXX")
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NS_X" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # FILE PATTERN
	local i
	for i in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	echo "run.sh: timed out waiting for '$2' in $1" >&2
	cat "$1" >&2
	exit 1
}

ip netns add "$NS_X" && ip netns add "$NS_C" || exit 1
ip link add "$IFA" netns "$NS_X" type veth peer name "$IFB" netns "$NS_C" || exit 1
ip -n "$NS_X" link set "$IFA" up
ip -n "$NS_C" link set "$IFB" up
ip -n "$NS_C" addr add "$NET.2/24" dev "$IFB"
MAC_A=$(ip netns exec "$NS_X" cat "/sys/class/net/$IFA/address")
MAC_B=$(ip netns exec "$NS_C" cat "/sys/class/net/$IFB/address")
ip -n "$NS_C" neigh replace "$NET.1" lladdr "$MAC_A" dev "$IFB" nud permanent
blast() { # SECONDS [ARGS]
	ip netns exec "$NS_C" "$BLAST" --iface "$IFB" --dst-mac "$MAC_A" --src-mac "$MAC_B" \
		--src "$NET.2" --dst "$NET.1" --dport 9000 --size "$FRAME" --seconds "$@"
}
echo "xokd benchmark: veth $IFA (xokd side) <- $IFB (sender), ${FRAME}-byte frames," \
	"${SECS}s per run, $(nproc) CPUs"

# 1. baseline: plain AF_XDP rx-drop
ip netns exec "$NS_X" "$DROP" --iface "$IFA" --seconds "$SECS" >"$TMP/drop.out" 2>&1 &
DROP_PID=$!
PIDS+=("$DROP_PID")
wait_for "$TMP/drop.out" ready
blast $((SECS + 2)) >"$TMP/blast1.out" &
PIDS+=("$!")
wait "$DROP_PID"
wait
BASE=$(sed -n 's/.* pps=\([0-9]*\).*/\1/p' "$TMP/drop.out")
echo "  AF_XDP rx-drop:        $(cat "$TMP/drop.out" | tail -1)"
echo "  sender:                $(cat "$TMP/blast1.out")"

# 2. xokd -> app ring (app busy-polls, returns entries at once)
SOCK=$TMP/xokd.sock
ip netns exec "$NS_X" "$XOKD" --iface "$IFA" --addr "$NET.1/24" --socket "$SOCK" \
	>"$TMP/xokd.log" 2>&1 &
XOKD_PID=$!
PIDS+=("$XOKD_PID")
wait_for "$TMP/xokd.log" ready
"$POLL" --socket "$SOCK" --port 9000 --seconds "$SECS" >"$TMP/poll.out" 2>&1 &
POLL_PID=$!
PIDS+=("$POLL_PID")
wait_for "$TMP/poll.out" ready
blast $((SECS + 2)) >"$TMP/blast2.out" &
BLAST_PID=$!
PIDS+=("$BLAST_PID")
wait "$POLL_PID"
wait "$BLAST_PID"
XOK=$(sed -n 's/.* pps=\([0-9]*\).*/\1/p' "$TMP/poll.out")
echo "  xokd -> app ring:      $(grep frames "$TMP/poll.out")"
echo "  sender:                $(cat "$TMP/blast2.out")"
if [ -n "$BASE" ] && [ -n "$XOK" ] && [ "$BASE" -gt 0 ]; then
	echo "  ratio xokd/AF_XDP:     $(awk -v a="$XOK" -v b="$BASE" 'BEGIN {printf "%.1f%%", 100 * a / b}') (target >= 70%)"
fi

# 3. wake-up latency: the app sleeps on its predicate; frames at RATE pps
"$POLL" --socket "$SOCK" --port 9000 --seconds 3 --latency >"$TMP/lat.out" 2>&1 &
POLL_PID=$!
PIDS+=("$POLL_PID")
wait_for "$TMP/lat.out" ready
blast 4 --pps "$RATE" >"$TMP/blast3.out" &
BLAST_PID=$!
PIDS+=("$BLAST_PID")
wait "$POLL_PID"
wait "$BLAST_PID"
echo "  wake-up latency at $RATE pps (app asleep between frames):"
grep latency "$TMP/lat.out" | sed 's/^/    /'
