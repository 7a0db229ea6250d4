#!/usr/bin/env bash
# xokd_tables.sh - system tables owned by xokd, and waking an app that polls other fds.
# An app that starts before arpd maps the (empty) ARP table and sees arpd's entries when
# arpd comes; a libOS app started before arpd answers a connection through it; arpd
# killed and restarted adopts the same table, and the apps' mappings follow it; a second
# arpd is refused while one runs.  exos_sys_kick ends a wait from another thread and from
# a signal handler; exos_sys_wait_poll wakes for frames and for stdin.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/daemons_common.sh"
: "${EXNC:?path to exnc}" "${XOK_LOAD:?path to xok-load}"
xt_require_root
xt_require_cmds python3 ethtool nc ss
xt_init
xd_topology
xd_start_xokd || xt_die "xokd did not start"
C() { ip netns exec "$NS_C" "$@"; }

# before arpd: the table is there, empty
xt_spawn - "$XOK_LOAD" table --socket "$SOCK" --seconds 60 >"$XT_TMP/table.out" 2>&1
TABLE_PID=$XT_PID
xt_wait_for "$XT_TMP/table.out" "^table size" 5 "$TABLE_PID"
xt_check "the ARP table maps before arpd runs (version 0)" \
	grep -q "^table size=[0-9]* version=0$" "$XT_TMP/table.out"
xd_exnc_listen early 5001 || xt_die "exnc -l did not start"
EARLY_PID=$EXNC_PID

xd_start_arpd || xt_die "arpd did not start"
head -c 1M /dev/urandom >"$XT_TMP/data"
C timeout 30 nc -N "$XT_ADDR_A" 5001 <"$XT_TMP/data"
xd_wait_pid "$EARLY_PID" 20
xt_expect_eq "exnc started before arpd answers through arpd's table (exit 0)" "$?" 0
xt_expect_eq "... byte-exact" "$(xd_sha "$XT_TMP/early.out")" "$(xd_sha "$XT_TMP/data")"
xt_wait_for "$XT_TMP/table.out" "entries=[1-9]" 5
xt_check "the early app saw arpd's entry appear" grep -q "^table version=.* entries=[1-9]" \
	"$XT_TMP/table.out"
V1=$(grep "^table version=" "$XT_TMP/table.out" | tail -1 | sed 's/.*version=\([0-9]*\).*/\1/')

# a second arpd while the first runs: refused
"$ARPD" --socket "$SOCK" >"$XT_TMP/arpd2.log" 2>&1
xt_check "a second arpd is refused while one publishes" \
	bash -c "grep -q 'cannot publish the ARP table' '$XT_TMP/arpd2.log'"

# arpd dies; a new one adopts the same table: the old mappings see its updates
xt_stop "$ARPD_PID" KILL 5
mv "$XT_TMP/arpd.log" "$XT_TMP/arpd.1.log" # xd_start_arpd waits for a "ready" line in it
xd_start_arpd || xt_die "arpd did not restart"
xt_check "xokd: the new arpd publishes the same table" \
	test "$(grep -c "table 0: publisher is now" "$XT_TMP/xokd.log")" -ge 2
C ip neigh flush dev "$XT_IF_B"
xd_exnc_listen late 5002 || xt_die "exnc -l did not start"
C timeout 30 nc -N "$XT_ADDR_A" 5002 <"$XT_TMP/data"
xd_wait_pid "$EXNC_PID" 20
xt_expect_eq "after the arpd restart, a connection works (exit 0)" "$?" 0
xt_expect_eq "... byte-exact" "$(xd_sha "$XT_TMP/late.out")" "$(xd_sha "$XT_TMP/data")"
for _ in $(seq 40); do
	V2=$(grep "^table version=" "$XT_TMP/table.out" | tail -1 | sed 's/.*version=\([0-9]*\).*/\1/')
	[ "${V2:-0}" -gt "${V1:-0}" ] && break
	sleep 0.1
done
xt_check "the early app's mapping follows the new arpd (version $V1 -> $V2)" \
	test "${V2:-0}" -gt "${V1:-0}"
xt_stop "$TABLE_PID" TERM 2

# exos_sys_kick: from a thread and from a signal handler
"$XOK_LOAD" kick --socket "$SOCK" --ms 100 >"$XT_TMP/kick.out" 2>&1
cat "$XT_TMP/kick.out"
TK=$(sed -n 's/^kick thread_ms=\([0-9]*\) .*/\1/p' "$XT_TMP/kick.out")
SK=$(sed -n 's/.* signal_ms=\([0-9]*\)/\1/p' "$XT_TMP/kick.out")
xt_check "a kick from another thread ends exos_sys_wait (${TK:-?} ms)" \
	test "${TK:-9999}" -ge 90 -a "${TK:-9999}" -lt 1000
xt_check "a kick from a signal handler ends exos_sys_wait_poll (${SK:-?} ms)" \
	test "${SK:-9999}" -ge 90 -a "${SK:-9999}" -lt 1000

# exos_sys_wait_poll: frames and stdin in one sleep
mkfifo "$XT_TMP/in"
xt_spawn -i - "$XOK_LOAD" waitpoll --socket "$SOCK" --port 7001 <>"$XT_TMP/in" \
	>"$XT_TMP/wp.out" 2>&1
WP_PID=$XT_PID
xt_wait_for "$XT_TMP/wp.out" "^ready" 5 "$WP_PID"
echo hello >"$XT_TMP/in"
xt_wait_for "$XT_TMP/wp.out" "^stdin hello" 5
xt_check "exos_sys_wait_poll wakes for stdin" grep -q "^stdin hello" "$XT_TMP/wp.out"
C python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x' * 10, ('$XT_ADDR_A', 7001))"
xt_wait_for "$XT_TMP/wp.out" "^frame" 5
xt_check "exos_sys_wait_poll wakes for a frame" grep -q "^frame len=52" "$XT_TMP/wp.out"
xt_stop "$WP_PID" TERM 2
xt_finish
