#!/usr/bin/env bash
# xokd_cli.sh - the command line: --help, missing interface, another XDP program (refused,
# then --force), a second xokd on the same socket, clean exit detaching XDP.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
xt_require_root
xt_init
xk_topology
: "${XOK_ENTRY_OBJ:?path to xok_entry.bpf.o}"

xt_check "--help documents every option" bash -c \
	"'$XOKD' --help | grep -q -- --iface && '$XOKD' --help | grep -q -- --unmatched &&
	 '$XOKD' --help | grep -q -- --busy-poll && '$XOKD' --help | grep -q -- --group"
xt_check "bad arguments exit 2" bash -c "'$XOKD' --bogus >/dev/null 2>&1; [ \$? = 2 ]"
xt_check "--iface without --addr is refused" \
	bash -c "! '$XOKD' --iface lo 2>&1 | grep -q ready"

ip netns exec "$NS_X" "$XOKD" --iface nosuch0 --addr 198.18.0.1/24 --socket "$SOCK" \
	>"$XT_TMP/missing.log" 2>&1
RC=$?
xt_expect_eq "missing interface: exit 1" "$RC" 1
xt_check "missing interface: says so" grep -q "xokd: iface: nosuch0: no such interface" \
	"$XT_TMP/missing.log"

# someone else's XDP program
ip -n "$NS_X" link set dev "$XT_IF_A" xdpgeneric obj "$XOK_ENTRY_OBJ" sec xdp ||
	xt_die "cannot attach a test XDP program"
ip netns exec "$NS_X" "$XOKD" --iface "$XT_IF_A" --addr "$XT_ADDR_A/24" --socket "$SOCK" \
	>"$XT_TMP/busy.log" 2>&1
RC=$?
xt_expect_eq "existing XDP program: exit 1" "$RC" 1
xt_check "existing XDP program: refuses clearly" grep -q "another XDP program .* --force" \
	"$XT_TMP/busy.log"
xk_start_xokd --force || xt_die "xokd --force did not start"
xt_check "--force replaced it" grep -q "detached the previous XDP program" "$XT_TMP/xokd.log"
xt_check "xokd's program is attached" bash -c \
	"ip -n '$NS_X' -d link show '$XT_IF_A' | grep -q 'prog/xdp'"

# a second xokd on the same socket is refused, without disturbing the first
ip netns exec "$NS_X" "$XOKD" --iface lo --addr 198.18.0.1/24 --socket "$SOCK" \
	>"$XT_TMP/second.log" 2>&1
xt_check "second xokd refused" grep -q "another xokd is listening on $SOCK" "$XT_TMP/second.log"
xt_check "first still serves" bash -c "'$XOKCTL' --socket '$SOCK' apps >/dev/null"

# clean exit on SIGTERM: XDP detached, socket removed
xt_stop "$XOKD_PID" TERM 10
RC=$?
xt_expect_eq "SIGTERM: exit 0" "$RC" 0
xt_check "XDP detached on exit" bash -c \
	"! ip -n '$NS_X' -d link show '$XT_IF_A' | grep -q 'prog/xdp'"
xt_check "socket removed on exit" test ! -e "$SOCK"
xt_check "logs say so" grep -q "xokd: iface: $XT_IF_A: XDP detached" "$XT_TMP/xokd.log"

# SIGKILL: the kernel detaches the program (bpf_link)
xk_start_xokd || xt_die "xokd did not restart"
kill -KILL "$XOKD_PID"
xt_stop "$XOKD_PID" KILL 5
sleep 0.2
xt_check "after SIGKILL the kernel detached it too" bash -c \
	"! ip -n '$NS_X' -d link show '$XT_IF_A' | grep -q 'prog/xdp'"
xt_check "and a new xokd starts on the stale socket" xk_start_xokd
xt_finish
