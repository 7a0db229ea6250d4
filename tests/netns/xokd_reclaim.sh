#!/usr/bin/env bash
# xokd_reclaim.sh - 200 apps holding regions, rings and filters are killed with SIGKILL;
# xokd reclaims everything: fds and RSS back to where they started.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
xt_require_root
xt_require_cmds python3
xt_init
xk_topology
xk_start_xokd || xt_die "xokd did not start"

cycle() { # N
	xk_app hold$1 "holding" hold --rings 2 --port $((20000 + ($1 % 50) * 2)) || return 1
	kill -KILL "$APP_PID"
	xt_stop "$APP_PID" KILL 5
	return 0
}
# warm up (allocator, BPF program sizes), then measure
for i in 1 2 3 4 5; do cycle "$i" || xt_die "warm-up app failed"; done
sleep 0.3
FD0=$(xk_fd_count "$XOKD_PID")
RSS0=$(xk_rss_kb "$XOKD_PID")
FAILED=0
for i in $(seq 1 200); do
	cycle "$i" || FAILED=$((FAILED + 1))
	rm -f "$XT_TMP/hold$i.out"
done
sleep 0.5
FD1=$(xk_fd_count "$XOKD_PID")
RSS1=$(xk_rss_kb "$XOKD_PID")
echo "fds $FD0 -> $FD1, RSS ${RSS0} kB -> ${RSS1} kB"
xt_expect_eq "all 200 apps set up regions, rings and filters" "$FAILED" 0
xt_expect_eq "fd count back to where it started" "$FD1" "$FD0"
if ldd "$XOKD" 2>/dev/null | grep -q libasan; then
	echo "note: RSS check skipped: ASan's quarantine holds freed memory"
else
	xt_check "RSS back within 2 MiB of where it started" test "$RSS1" -le $((RSS0 + 2048))
fi
xt_expect_eq "no apps left" "$(xk_json "len([a for a in j['apps'] if a['name'] != 'xokctl'])")" 0
xt_expect_eq "no rings left" "$(xk_json "len(j['rings'])")" 0
xt_expect_eq "no filters left" "$(xk_json "len(j['filters'])")" 0
# the program was regenerated: a frame to a dead app's port is now unmatched
xk_send_udp 20000 "anyone?"
sleep 0.2
xt_expect_eq "no delivery to a reclaimed filter" "$(xk_json "j['ifaces'][0]['drop_no_filter']")" 0
xt_finish
