#!/usr/bin/env bash
# xokdump.sh - xokdump against a live xokd: copy filters to pcap and to lines, privilege.
#
# Topology: xokd in namespace "x" owns one end of a veth (no Linux address); Linux in
# namespace "c" sends UDP to xokd's libOS address.  No arpd runs, so the client gets a
# static neighbour entry for that address.  Environment: XOKD, XOKDUMP (binaries).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

xt_require_root
xt_require_cmds tcpdump setpriv
: "${XOKD:?path to xokd}" "${XOKDUMP:?path to xokdump}"
xt_init
# The socket lives in $XT_TMP: unprivileged clients must be able to reach it.
chmod 711 "$XT_TMP"
SOCK=$XT_TMP/xokd.sock
N=5

xt_netns NS_X x || xt_die "netns"
xt_netns NS_C c || xt_die "netns"
xt_veth --no-addr-a "$NS_X" "$NS_C" || xt_die "veth"
MAC=$(ip -n "$NS_X" -br link show "$XT_IF_A" | awk '{print $3}')
ip -n "$NS_C" neigh replace "$XT_ADDR_A" lladdr "$MAC" dev "$XT_IF_B" || xt_die "neigh"

# A group whose members xokd lets install copy filters (any group but nobody's own).
GROUP=daemon
GROUP_GID=$(getent group "$GROUP" | cut -d: -f3)
[ -n "$GROUP_GID" ] && [ "$GROUP_GID" != 65534 ] || GROUP=

start_xokd() {
	xt_spawn "$NS_X" "$XOKD" --iface "$XT_IF_A" --addr "$XT_ADDR_A/24" --socket "$SOCK" \
		${GROUP:+--group "$GROUP"} -v >>"$XT_TMP/xokd.log" 2>&1
	XOKD_PID=$XT_PID
	xt_wait_xokd "$XOKD_PID" "$XT_TMP/xokd.log"
}

# dump NAME ARGS...: start xokdump in the background (as root unless $AS is set), wait
# until it has installed its filters.  Output in $XT_TMP/NAME.out and NAME.err.
dump() {
	local name=$1
	shift
	xt_spawn - ${AS:-} timeout 30 "$XOKDUMP" --socket "$SOCK" "$@" \
		>"$XT_TMP/$name.out" 2>"$XT_TMP/$name.err"
	DUMP_PID=$XT_PID
	xt_wait_log "$XT_TMP/$name.err" "listening on" 5 "$DUMP_PID"
}

# dump_wait: waits for the xokdump started last to exit; its status is in DUMP_RC.
dump_wait() {
	wait "$DUMP_PID"
	DUMP_RC=$?
}

# send PORT PAYLOAD: one UDP datagram from the Linux client to xokd's address.
send() {
	ip netns exec "$NS_C" bash -c "printf '%s' '$2' >/dev/udp/$XT_ADDR_A/$1"
}

start_xokd || xt_die "xokd did not start"

# ---- 1. -w: N UDP frames to a pcap file that tcpdump reads back ----
dump pcap -c "$N" -w "$XT_TMP/udp.pcap" udp || xt_die "xokdump did not start"
for i in $(seq "$N"); do
	send 7777 "xokdump-test-$i"
done
dump_wait
xt_expect_eq "xokdump -c $N -w exits 0" "$DUMP_RC" 0
xt_check "reports $N packets captured" grep -q "^$N packets captured" "$XT_TMP/pcap.err"
tcpdump -n -r "$XT_TMP/udp.pcap" >"$XT_TMP/udp.txt" 2>/dev/null
xt_expect_eq "tcpdump -r reads $N packets" "$(wc -l <"$XT_TMP/udp.txt")" "$N"
xt_expect_eq "every one is client -> xokd, UDP port 7777, 14 bytes" \
	"$(grep -c "IP $XT_ADDR_B\.[0-9]* > $XT_ADDR_A\.7777: UDP, length 14$" "$XT_TMP/udp.txt")" \
	"$N"
tcpdump -n -A -r "$XT_TMP/udp.pcap" >"$XT_TMP/udp.ascii" 2>/dev/null
for i in $(seq "$N"); do
	xt_check "payload $i is in the file" grep -q "xokdump-test-$i" "$XT_TMP/udp.ascii"
done

# ---- 2. lines: only what the expression selects, exactly once ----
dump lines -i "$XT_IF_A" -c 2 -t -v "udp and dst port 7778" || xt_die "xokdump did not start"
send 7777 "skip-1"
send 7778 "take-1"
send 7777 "skip-2"
send 7778 "take-2"
dump_wait
xt_expect_eq "xokdump -c 2 exits 0" "$DUMP_RC" 0
xt_expect_eq "two lines, both to port 7778" \
	"$(grep -c "^IP $XT_ADDR_B\.[0-9]* > $XT_ADDR_A\.7778: UDP, length 6$" "$XT_TMP/lines.out")" 2
xt_expect_eq "nothing else printed" "$(wc -l <"$XT_TMP/lines.out")" 2
xt_check "-v names the installed filter" grep -q "copy filter [0-9]*: \[12:2\]=0x0800" \
	"$XT_TMP/lines.err"

# "dst port 7779 or src host ADDR_B" installs overlapping copy filters: every frame here
# matches two of them and xokd delivers both copies, yet each must be printed once.
dump dedup -c 2 -t "dst port 7779 or src host $XT_ADDR_B" || xt_die "xokdump did not start"
send 7779 "twice-1"
send 7779 "twice-2"
dump_wait
xt_expect_eq "frames matched by two copy filters print once" \
	"$(grep -c "> $XT_ADDR_A\.7779: UDP, length 7$" "$XT_TMP/dedup.out")" 2

# ---- 3. privilege ----
AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
$AS "$XOKDUMP" --socket "$SOCK" -c 1 udp >"$XT_TMP/nobody.out" 2>"$XT_TMP/nobody.err"
xt_expect_eq "unprivileged xokdump exits 1" "$?" 1
xt_check "and says why" grep -qF \
	"xokdump: copy filters need root or membership in xokd's --group GROUP" \
	"$XT_TMP/nobody.err"
if [ -n "$GROUP" ]; then
	AS="setpriv --reuid=65534 --regid=65534 --groups=$GROUP_GID"
	if dump member -c 1 -t udp; then
		send 7777 "member"
		dump_wait
		xt_expect_eq "a member of xokd's --group captures" "$DUMP_RC" 0
		xt_check "... the frame" grep -q "7777: UDP, length 6" "$XT_TMP/member.out"
	else
		xt_check "a member of xokd's --group may install copy filters" false
	fi
fi
AS=

# ---- 4. errors ----
"$XOKDUMP" --socket "$SOCK" -i nosuch0 udp >/dev/null 2>"$XT_TMP/iface.err"
xt_expect_eq "-i with a foreign interface exits 1" "$?" 1
xt_check "... naming it" grep -q "nosuch0: not an interface of xokd" "$XT_TMP/iface.err"

dump gone arp || xt_die "xokdump did not start"
xt_stop "$XOKD_PID" TERM
dump_wait
xt_expect_eq "xokdump exits 1 when xokd goes away" "$DUMP_RC" 1
xt_check "... saying so" grep -q "xokd went away" "$XT_TMP/gone.err"

xt_finish
