#!/usr/bin/env bash
# run.sh - xokd receive benchmark, one run: (1) a plain AF_XDP rx-drop, (2) xokd delivering
# into a busy-polling app's ring, same veth, same sender; the ratio; (3) wake-up latency of
# an app sleeping on its predicate.  Root; creates and removes its own namespaces.
#   SECONDS_RUN=5 ROUNDS=3 RATE_PPS=1000 FRAME=60 ./run.sh   (build dir: bench/xokd/run.sh)
# Each round runs the baseline and then xokd, alternating, so that background load hits
# both alike; the medians and their ratio are reported.
set -u
case ${1:-} in
-h | --help) sed -n '2,/^set -u/{/^set -u/d;p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) echo "run.sh: unexpected argument '$1' (settings are environment variables: see --help)" >&2
	exit 2 ;;
esac
B=$(cd "$(dirname "$0")" && pwd)
XOKD=${XOKD:-$B/../../src/kern/xokd}
BLAST=$B/bench-xokd-blast
DROP=$B/bench-xokd-xsk-drop
POLL=$B/bench-xokd-ringpoll
SECS=${SECONDS_RUN:-5}
RATE=${RATE_PPS:-1000}
FRAME=${FRAME:-60}
ROUNDS=${ROUNDS:-3}
# CPUs: the sender (and the softirq work its frames cause: XDP, the AF_XDP copy) on
# SENDER_CPU, every receiver (the AF_XDP rx-drop; xokd and its app) on RECV_CPU, so that
# each receiver gets the same CPU to itself.
SENDER_CPU=${SENDER_CPU:-0}
RECV_CPU=${RECV_CPU:-1}
# How the busy-polling app is run.  On the receiving CPU it would take half of it from
# xokd (a busy loop is never idle); at SCHED_IDLE it only gets the CPU time xokd leaves,
# as a busy-polling app sharing a core with its kernel should.  APP_PREFIX= (empty)
# measures the plain contention instead.
APP_PREFIX=${APP_PREFIX-chrt -i 0}
# shellcheck disable=SC2034 # the name prefix netns.sh uses
P=xb$$
. "$B/netns.sh"

netns_up
MAC_A=$(ip netns exec "$NS_X" cat "/sys/class/net/$IFA/address")
MAC_B=$(ip netns exec "$NS_C" cat "/sys/class/net/$IFB/address")
ip -n "$NS_C" neigh replace "$NET.1" lladdr "$MAC_A" dev "$IFB" nud permanent
blast() { # SECONDS [ARGS]
	ip netns exec "$NS_C" taskset -c "$SENDER_CPU" "$BLAST" --iface "$IFB" --dst-mac "$MAC_A" --src-mac "$MAC_B" \
		--src "$NET.2" --dst "$NET.1" --dport 9000 --size "$FRAME" --seconds "$@"
}
echo "xokd benchmark: veth $IFA (xokd side) <- $IFB (sender), ${FRAME}-byte frames," \
	"${SECS}s per run, $(nproc) CPUs; sender on CPU $SENDER_CPU, receivers on CPU $RECV_CPU," \
	"busy-polling app run as '${APP_PREFIX:-(as is)}'"

rate_of() { sed -n 's/.* pps=\([0-9]*\).*/\1/p' "$1" | tail -1; }
start_xokd() {
	SOCK=$TMP/xokd.sock
	ip netns exec "$NS_X" taskset -c "$RECV_CPU" "$XOKD" --iface "$IFA" --addr "$NET.1/24" --socket "$SOCK" \
		>"$TMP/xokd.log" 2>&1 &
	XOKD_PID=$!
	wait_for "$TMP/xokd.log" ready
}
stop_xokd() {
	kill -TERM "$XOKD_PID"
	wait "$XOKD_PID"
}
app_run() { # OUT [ringpoll args]: the app against the sender; its output in OUT
	local out=$1 app blaster
	shift
	taskset -c "$RECV_CPU" $APP_PREFIX "$POLL" --socket "$SOCK" --port 9000 \
		--seconds "$SECS" "$@" >"$out" 2>&1 &
	app=$!
	wait_for "$out" ready
	blast $((SECS + 2)) >"$out.blast" &
	blaster=$!
	wait "$app"
	wait "$blaster"
}

BASES=() BUSYS=() SLEEPS=()
for r in $(seq "$ROUNDS"); do
	# 1. baseline: plain AF_XDP rx-drop
	ip netns exec "$NS_X" taskset -c "$RECV_CPU" "$DROP" --iface "$IFA" --seconds "$SECS" \
		>"$TMP/drop$r.out" 2>&1 &
	DROP_PID=$!
	wait_for "$TMP/drop$r.out" ready
	blast $((SECS + 2)) >"$TMP/drop$r.out.blast" &
	BLAST_PID=$!
	wait "$DROP_PID"
	wait "$BLAST_PID"
	BASES+=("$(rate_of "$TMP/drop$r.out")")

	# 2. xokd -> app ring: the app busy-polls (sched_yield when empty), returns at once
	start_xokd
	app_run "$TMP/busy$r.out"
	BUSYS+=("$(rate_of "$TMP/busy$r.out")")
	# 2b. the same, the app sleeping on its predicate between batches
	app_run "$TMP/sleep$r.out" --latency
	SLEEPS+=("$(rate_of "$TMP/sleep$r.out")")
	stop_xokd
	printf '  round %d: AF_XDP rx-drop %8s pps (sender %s pps) | xokd->ring, app busy-polls %8s pps (sender %s) | app sleeps %8s pps (sender %s)\n' \
		"$r" "${BASES[-1]}" "$(rate_of "$TMP/drop$r.out.blast")" "${BUSYS[-1]}" \
		"$(rate_of "$TMP/busy$r.out.blast")" "${SLEEPS[-1]}" "$(rate_of "$TMP/sleep$r.out.blast")"
done
BASE=$(median "${BASES[@]}")
BUSY=$(median "${BUSYS[@]}")
SLEEP=$(median "${SLEEPS[@]}")
pct() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.1f%%", 100 * a / b; else print "n/a"}'; }
echo "  median of $ROUNDS rounds:"
echo "    AF_XDP rx-drop (baseline)          $BASE pps"
echo "    xokd -> ring, app busy-polls        $BUSY pps   ratio $(pct "$BUSY" "$BASE") (target >= 70%)"
echo "    xokd -> ring, app sleeps (wakeups)  $SLEEP pps   ratio $(pct "$SLEEP" "$BASE")"

start_xokd
# 3. wake-up latency: the app sleeps on its predicate; frames at RATE pps
taskset -c "$RECV_CPU" "$POLL" --socket "$SOCK" --port 9000 --seconds 3 --latency \
	>"$TMP/lat.out" 2>&1 &
POLL_PID=$!
wait_for "$TMP/lat.out" ready
blast 4 --pps "$RATE" >"$TMP/blast3.out" &
BLAST_PID=$!
wait "$POLL_PID"
wait "$BLAST_PID"
stop_xokd
echo "  wake-up latency at $RATE pps (app asleep between frames):"
grep latency "$TMP/lat.out" | sed 's/^/    /'
