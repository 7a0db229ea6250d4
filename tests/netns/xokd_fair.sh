#!/usr/bin/env bash
# xokd_fair.sh - fair transmit (§8 "Transmit Queue Fairness"): two apps flooding the same
# interface each get half of it (50% +- 10%, from xokd's per-app transmit counters over a
# window where both have frames queued); with --tx-weight uid=...:3 the weighted one gets
# three quarters; and an idle app's single frame leaves within 5 ms (90th percentile) while
# the others flood.  The interface is made the bottleneck (xokd --impair rate=$RATE Mbit/s):
# a veth drains faster than two processes can fill it, and fairness only matters when the
# link, not the senders, is the limit.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
: "${XOK_LOAD:?path to xok-load}"
xt_require_root
xt_require_cmds python3 setpriv
xt_init
xk_topology
SIZE=200
FLOOD_S=8
# frames to a MAC nobody has: the Linux end drops them at once, cheaply
SINK_MAC=02:00:00:00:00:01
RATE=200

flood() { # NAME SPORT [setpriv args...]: a flooder in the background; PID in FLOOD_PID
	local name=$1 sport=$2
	shift 2
	xt_spawn - "$@" "$XOK_LOAD" flood --socket "$SOCK" --dst-mac "$SINK_MAC" \
		--dst "$XT_ADDR_B" --sport "$sport" --dport 9 --size "$SIZE" --seconds "$FLOOD_S" \
		>"$XT_TMP/$name.out" 2>&1
	FLOOD_PID=$XT_PID
	for _ in $(seq 100); do grep -q "^ready" "$XT_TMP/$name.out" && return 0; sleep 0.05; done
	cat "$XT_TMP/$name.out" >&2
	return 1
}

# share PID_A PID_B: A's fraction of the bytes both sent over 3 s, and whether both were
# backlogged: frames waiting in their TXQ or handed to xokd and not yet sent, at the start
# and at the end (the TXQ alone can be empty for an instant: a flooder flushes every 32
# frames, and xokd takes a turn's worth at once).
share() {
	local q="{a['pid']: (a['tx_bytes'], a['txq_backlog'] + a['tx_inflight']) for a in j['apps_tx']}"
	local s0 s1
	s0=$(xk_json "$q") || return 1
	sleep 3
	s1=$(xk_json "$q") || return 1
	python3 - "$1" "$2" "$s0" "$s1" <<'PY'
import ast, sys
a, b = int(sys.argv[1]), int(sys.argv[2])
s0, s1 = ast.literal_eval(sys.argv[3]), ast.literal_eval(sys.argv[4])
da, db = s1[a][0] - s0[a][0], s1[b][0] - s0[b][0]
backlogged = min(s0[a][1], s0[b][1], s1[a][1], s1[b][1]) > 0
print('%.3f %d %d %s' % (da / max(da + db, 1), da, db, 'backlogged' if backlogged else 'idle'))
PY
}

# ---- equal weights ----
xk_start_xokd --impair "rate=$RATE" || xt_die "xokd did not start"
flood fa 6001 || xt_die "flooder a"
PA=$FLOOD_PID
flood fb 6002 || xt_die "flooder b"
PB=$FLOOD_PID
sleep 1.5
read -r SHARE DA DB STATE < <(share "$PA" "$PB")
echo "equal weights: a sent $DA bytes, b $DB: a's share $SHARE ($STATE)"
xt_check "both flooders backlogged during the window" test "$STATE" = backlogged
xt_check "equal weights: 50% +- 10% each (a: $SHARE)" \
	python3 -c "import sys; sys.exit(not 0.4 <= $SHARE <= 0.6)"
# an idle app's frames while both flood
"$XOK_LOAD" txlat --socket "$SOCK" --dst-mac "$SINK_MAC" --dst "$XT_ADDR_B" --sport 6003 \
	--dport 9 --count 40 --ms 25 >"$XT_TMP/lat.out" 2>&1 || cat "$XT_TMP/lat.out"
cat "$XT_TMP/lat.out"
P90=$(sed -n 's/.* p90_us=\([0-9]*\).*/\1/p' "$XT_TMP/lat.out")
xt_check "an idle app's frame leaves within 5 ms while two apps flood (p90 ${P90:-?} us)" \
	test "${P90:-999999}" -lt 5000
xk_wait_exit "$PA" 15
xk_wait_exit "$PB" 15
cat "$XT_TMP/fa.out" "$XT_TMP/fb.out"
xt_check "flooders saw no refusals" bash -c "grep -q 'refused=0' '$XT_TMP/fa.out' &&
	grep -q 'refused=0' '$XT_TMP/fb.out'"

# ---- weight 3 for uid nobody ----
xt_stop "$XOKD_PID" TERM 5
NOBODY=$(id -u nobody)
xk_start_xokd --impair "rate=$RATE" --tx-weight "uid=$NOBODY:3" ||
	xt_die "xokd --tx-weight did not start"
flood fc 6011 || xt_die "flooder c"
PC=$FLOOD_PID
flood fd 6012 setpriv --reuid=nobody --regid=nogroup --clear-groups || xt_die "flooder d"
PD=$FLOOD_PID
sleep 1.5
read -r SHARE DC DD STATE < <(share "$PD" "$PC")
echo "weights 3:1: nobody sent $DD bytes, root $DC: nobody's share $SHARE ($STATE)"
xt_check "both flooders backlogged during the window" test "$STATE" = backlogged
xt_check "weight 3 against 1: 75% +- 10% (got $SHARE)" \
	python3 -c "import sys; sys.exit(not 0.65 <= $SHARE <= 0.85)"
xk_wait_exit "$PC" 15
xk_wait_exit "$PD" 15
xt_check "xokd still running" kill -0 "$XOKD_PID"
xt_finish
