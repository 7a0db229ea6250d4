# netns.sh - sourced by run.sh and tx.sh: the two namespaces every xokd benchmark runs in
# (NS_X, xokd's, with IFA; NS_C, the peer's, with IFB at $NET.2), joined by a veth pair, a
# scratch directory TMP, all removed on exit; and the waiting and medians of the runs.
# The caller sets P, a prefix unique to the run for the names.
NS_X=$P-x NS_C=$P-c IFA=${P}a IFB=${P}b
NET=198.19.$(($$ % 256))
TMP=$(mktemp -d "/tmp/$P.XXXXXX")

cleanup() {
	local p
	# only our own still-running background jobs (never a recycled PID)
	for p in $(jobs -p); do kill -TERM "$p" 2>/dev/null; done
	wait
	ip netns del "$NS_X" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # FILE PATTERN
	local i
	for i in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	echo "${0##*/}: timed out waiting for '$2' in $1" >&2
	cat "$1" >&2
	exit 1
}

netns_up() { # exits when they cannot be made: nothing can run without them
	ip netns add "$NS_X" && ip netns add "$NS_C" || exit 1
	ip link add "$IFA" netns "$NS_X" type veth peer name "$IFB" netns "$NS_C" || exit 1
	ip -n "$NS_X" link set "$IFA" up
	ip -n "$NS_C" link set "$IFB" up
	ip -n "$NS_C" addr add "$NET.2/24" dev "$IFB"
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
