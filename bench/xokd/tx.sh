#!/usr/bin/env bash
# tx.sh - the cost of checked transmission: one app floods xokd's transmit path, xokd
# checked (the default) and --unchecked-tx, alternating in the same run; frames per second
# and xokd's CPU time per frame.  With CLAIMS=N the app holds N filters and cycles its
# source port through them.  Root; own namespaces, removed on exit.
#   SECONDS_RUN=5 ROUNDS=3 SIZE=60 CLAIMS="1 256" ./tx.sh   (build dir: bench/xokd/tx.sh)
set -u
case ${1:-} in
-h | --help) sed -n '2,/^set -u/{/^set -u/d;p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) echo "tx.sh: unexpected argument '$1' (settings are environment variables: see --help)" >&2
	exit 2 ;;
esac
B=$(cd "$(dirname "$0")" && pwd)
XOKD=${XOKD:-$B/../../src/kern/xokd}
FLOOD=$B/bench-xokd-txflood
SECS=${SECONDS_RUN:-5}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-60}
CLAIMS=${CLAIMS:-1 256}
# shellcheck disable=SC2034 # the name prefix netns.sh uses
P=xt$$
HZ=$(getconf CLK_TCK)
. "$B/netns.sh"

netns_up

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run MODE CLAIMS: one flood; prints "fps ns_per_frame"
run() {
	local mode=$1 claims=$2 args=() c0 c1 frames
	[ "$mode" = unchecked ] && args=(--unchecked-tx)
	SOCK=$TMP/xokd.sock
	ip netns exec "$NS_X" "$XOKD" --iface "$IFA" --addr "$NET.1/24" --socket "$SOCK" \
		"${args[@]}" >"$TMP/xokd.log" 2>&1 &
	XOKD_PID=$!
	wait_for "$TMP/xokd.log" ready
	"$FLOOD" --socket "$SOCK" --dst "$NET.2" --size "$SIZE" --seconds "$SECS" \
		--claims "$claims" >"$TMP/flood.out" 2>&1 &
	local fpid=$!
	wait_for "$TMP/flood.out" ready
	c0=$(cpu_ticks "$XOKD_PID")
	wait "$fpid"
	c1=$(cpu_ticks "$XOKD_PID")
	kill -TERM "$XOKD_PID"
	wait "$XOKD_PID"
	frames=$(sed -n 's/.* frames=\([0-9]*\).*/\1/p' "$TMP/flood.out")
	awk -v f="$frames" -v s="$SECS" -v t=$((c1 - c0)) -v hz="$HZ" \
		'BEGIN { printf "%d %d\n", f / s, (f > 0 ? t / hz * 1e9 / f : 0) }'
}

echo "checked vs unchecked transmission: ${SIZE}-byte frames, ${SECS}s per run, $ROUNDS" \
	"rounds, $(nproc) CPUs, frames to a MAC nobody has (the peer drops them)"
for claims in $CLAIMS; do
	CF=() CN=() UF=() UN=()
	for r in $(seq "$ROUNDS"); do
		read -r f n < <(run checked "$claims")
		CF+=("$f") CN+=("$n")
		read -r f n < <(run unchecked "$claims")
		UF+=("$f") UN+=("$n")
		printf '  claims %4d round %d: checked %8d fps %6d ns/frame | unchecked %8d fps %6d ns/frame\n' \
			"$claims" "$r" "${CF[-1]}" "${CN[-1]}" "${UF[-1]}" "${UN[-1]}"
	done
	cf=$(median "${CF[@]}") cn=$(median "${CN[@]}") uf=$(median "${UF[@]}") un=$(median "${UN[@]}")
	printf '  claims %4d median: checked %d fps, %d ns of xokd CPU per frame; unchecked %d fps, %d ns/frame; check costs %+d ns/frame (%s of throughput)\n' \
		"$claims" "$cf" "$cn" "$uf" "$un" $((cn - un)) \
		"$(awk -v a="$cf" -v b="$uf" 'BEGIN { if (b > 0) printf "%+.1f%%", 100 * (a - b) / b; else print "n/a" }')"
done
