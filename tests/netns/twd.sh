#!/usr/bin/env bash
# twd.sh - the TIME_WAIT server (§3.3 (3)) with xokd, arpd, strayd and twd on a veth pair
# and Linux peers: a libexos process (tests/netns/xok-closer) closing 1000 connections
# exits in under 100 ms with twd holding them; a FIN Linux retransmits after that process
# is gone is ACKed (the libOS's first ACK dropped by a tc filter on the Linux side); a
# connection handed over in FIN_WAIT_2 completes when Linux closes later; SYNs reusing a
# TIME_WAIT 4-tuple per RFC 6191 (an old one gets the old connection's ACK, a new one
# frees the 4-tuple); a listener's port given back with its TIME_WAIT connections to the
# next process listening there; exit drains unacknowledged data (exnc sends a file and
# exits at once: Linux gets every byte); without twd, a background copy of the process
# keeps the connections; twd releases connections after 2*MSL and prints its counters.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/daemons_common.sh"
: "${TWD:?path to twd}" "${XOK_CLOSER:?path to xok-closer}"
xt_require_root
xt_require_cmds python3 ethtool tcpdump nc ss tc
xt_init
xd_start_all
C() { ip netns exec "$NS_C" "$@"; }
MSL=${TWD_TEST_MSL:-4} # twd --msl: TIME_WAIT lasts 8 s
export XOK_TWD_SOCKET=$XT_TMP/twd.sock

# twd_start [ARGS...]: twd; PID in TWD_PID, log twd.log (appended).
twd_start() {
	local n
	n=$(grep -c "twd: ready" "$XT_TMP/twd.log" 2>/dev/null)
	xt_spawn - "$TWD" --socket "$XOK_TWD_SOCKET" --xok-socket "$SOCK" --msl "$MSL" -v "$@" \
		>>"$XT_TMP/twd.log" 2>&1
	TWD_PID=$XT_PID
	for _ in $(seq 100); do
		[ "$(grep -c "twd: ready" "$XT_TMP/twd.log")" -gt "${n:-0}" ] && return 0
		kill -0 "$TWD_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$XT_TMP/twd.log" >&2
	return 1
}

twd_stats() {
	xd_stats "$TWD_PID" "$XT_TMP/twd.log" "twd: stats"
}

# A Linux server in $NS_C on PORT: accepts, reads to EOF, closes after CLOSE_DELAY
# seconds (0: at once); serves until killed.  PID in SRV_PID.
cat >"$XT_TMP/server.py" <<'PY'
import selectors, socket, sys, time
addr, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((addr, port)); l.listen(4096); l.setblocking(False)
sel = selectors.DefaultSelector(); sel.register(l, selectors.EVENT_READ)
closing = []
while True:
    for key, _ in sel.select(timeout=0.05):
        s = key.fileobj
        if s is l:
            try:
                c, _ = l.accept()
            except BlockingIOError:
                continue
            c.setblocking(False); sel.register(c, selectors.EVENT_READ)
            continue
        try:
            b = s.recv(65536)
        except BlockingIOError:
            continue
        except ConnectionError:
            b = b''
        if not b:
            sel.unregister(s); closing.append((time.time() + delay, s))
    now = time.time()
    for x in [x for x in closing if x[0] <= now]:
        x[1].close(); closing.remove(x)
PY
linux_server() { # PORT CLOSE_DELAY
	xt_spawn "$NS_C" timeout 120 python3 "$XT_TMP/server.py" "$XT_ADDR_B" "$1" "$2"
	SRV_PID=$XT_PID
	for _ in $(seq 100); do
		C ss -ltnH "sport = :$1" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

twd_start || xt_die "twd did not start"
xt_check "twd --help exits 0" bash -c "'$TWD' --help | grep -q TIME_WAIT"
xt_check "twd rejects a bad --msl" bash -c "! '$TWD' --msl x 2>/dev/null"

# ---- 1000 connections closed first by the libOS: the process exits at once ----
N=${TWD_TEST_N:-1000}
linux_server 7100 0 || xt_die "Linux server"
T0=$(date +%s%N)
OUT=$(timeout 60 "$XOK_CLOSER" --connect "$XT_ADDR_B" --port 7100 --count "$N" 2>"$XT_TMP/c1.err")
RC=$?
T1=$(date +%s%N)
CLOSED=$(sed -n 's/^closed-all \([0-9]*\).*/\1/p' <<<"$OUT")
xt_expect_eq "xok-closer closed $N connections into TIME_WAIT and exited 0" \
	"$RC $(sed -n 's/.* tw=\([0-9]*\).*/\1/p' <<<"$OUT")" "0 $N"
EXIT_MS=$(((T1 - ${CLOSED:-0}) / 1000000))
echo "  $N connections: all closed after $(((CLOSED - T0) / 1000000)) ms; exit took $EXIT_MS ms"
xt_check "from 'closed all' to process exit: $EXIT_MS ms (under 100)" test "$EXIT_MS" -lt 100
xt_check "no lingering message (twd took them all)" bash -c "! grep -q libexos: '$XT_TMP/c1.err'"
LINE=$(twd_stats)
xt_check "twd holds $N TIME_WAIT connections ($LINE)" \
	bash -c "[ '$(xd_field "$LINE" time_wait)' = $N ] && [ '$(xd_field "$LINE" taken)' = $N ]"
xt_stop "$SRV_PID" TERM 2

# Drops the libOS's pure ACKs (flags exactly ACK) to Linux port PORT as they arrive in
# $NS_C: redirected by a tc filter to a veth end whose peer is down (no gact here).
# tcpdump on $XT_IF_B still sees them (taps come before tc ingress).
C ip link add "${XT_PREFIX}ska" type veth peer name "${XT_PREFIX}skb" || xt_die "sink veth"
C ip link set "${XT_PREFIX}ska" up
C tc qdisc add dev "$XT_IF_B" clsact || xt_die "clsact"
drop_acks_to() { # PORT
	C tc filter add dev "$XT_IF_B" ingress protocol ip prio 1 u32 \
		match ip protocol 6 0xff match ip dport "$1" 0xffff match u8 0x10 0xff at 33 \
		action mirred egress redirect dev "${XT_PREFIX}ska"
}
drop_none() {
	C tc filter del dev "$XT_IF_B" ingress prio 1 2>/dev/null
}
capture() { # NAME FILTER...: tcpdump in $NS_C; PID in CAP_PID
	local name=$1
	shift
	xt_spawn "$NS_C" tcpdump -i "$XT_IF_B" -n -S -U --immediate-mode -w "$XT_TMP/$name.pcap" "$@" \
		2>/dev/null
	CAP_PID=$XT_PID
	sleep 0.5
}
capture_text() { # NAME
	xt_stop "$CAP_PID" INT 5
	tcpdump -n -S -r "$XT_TMP/$1.pcap" 2>/dev/null
}
last_ack_sockets() { # PORT: Linux sockets on PORT still in LAST_ACK
	C ss -tanH state last-ack "( sport = :$1 or dport = :$1 )" | wc -l
}

# ---- a FIN Linux retransmits after the libOS process is gone is ACKed (by twd) ----
linux_server 7200 1 || xt_die "Linux server"
drop_acks_to 7200
capture fin tcp port 7200
OUT=$(timeout 30 "$XOK_CLOSER" --connect "$XT_ADDR_B" --port 7200 --count 1 2>&1)
xt_check "xok-closer: its ACK of Linux's FIN dropped, TIME_WAIT, exited ($OUT)" \
	grep -q "closed-all .* tw=1" <<<"$OUT"
sleep 1.5 # Linux retransmits its FIN (RTO 200 ms, then 400 ms, ...): twd answers
xt_expect_eq "Linux's socket waits in LAST_ACK (the ACKs are dropped)" "$(last_ack_sockets 7200)" 1
drop_none
sleep 3 # the next retransmission's ACK gets through
TXT=$(capture_text fin)
FINS=$(grep -c "$XT_ADDR_B.7200 > $XT_ADDR_A.[0-9]*: Flags \[F\.\]" <<<"$TXT")
ACKS=$(grep -c "$XT_ADDR_A.[0-9]* > $XT_ADDR_B.7200: Flags \[\.\]" <<<"$TXT")
xt_check "Linux sent its FIN $FINS times, the libOS side ACKed $ACKS times" \
	bash -c "[ $FINS -ge 3 ] && [ $ACKS -ge $FINS ]"
xt_expect_eq "Linux's LAST_ACK completed after the process had exited" "$(last_ack_sockets 7200)" 0
LINE=$(twd_stats)
xt_check "twd saw the retransmitted FINs ($(xd_field "$LINE" fin_in) >= 2)" \
	test "$(xd_field "$LINE" fin_in)" -ge 2
# every ACK after the first carries the same numbers (twd's are the process's own)
xt_expect_eq "all ACKs of the FIN acknowledge the same sequence number" \
	"$(grep "$XT_ADDR_A.[0-9]* > $XT_ADDR_B.7200: Flags \[\.\]" <<<"$TXT" | tail -n +2 |
		sed -n 's/.* ack \([0-9]*\),.*/\1/p' | sort -u | wc -l)" 1
xt_stop "$SRV_PID" TERM 2

# ---- FIN_WAIT_2 handed over: Linux closes 2 s after the process exited ----
linux_server 7300 2 || xt_die "Linux server"
capture fw2 tcp port 7300
OUT=$(timeout 30 "$XOK_CLOSER" --connect "$XT_ADDR_B" --port 7300 --count 5 --state fin_wait_2 2>&1)
xt_check "xok-closer exited with 5 connections in FIN_WAIT_2 ($OUT)" grep -q "closed-all .* pcbs=5" <<<"$OUT"
B=$(twd_stats)
sleep 3
A=$(twd_stats)
echo "  before: $B"; echo "  after: $A"
xt_check "twd took them in FIN_WAIT_2 ($(xd_field "$B" fin_wait_2)), then Linux's FINs moved them to TIME_WAIT" \
	bash -c "[ $(xd_field "$B" fin_wait_2) = 5 ] && [ $(xd_field "$A" fin_wait_2) = 0 ] &&
		[ $(($(xd_field "$A" fin_in) - $(xd_field "$B" fin_in))) -ge 5 ]"
xt_expect_eq "no Linux socket left in LAST_ACK" "$(last_ack_sockets 7300)" 0
capture_text fw2 >"$XT_TMP/fw2.txt"
xt_stop "$SRV_PID" TERM 2

# ---- FIN_WAIT_1 with the FIN unacknowledged: twd retransmits it ----
# Linux closes 3 s after our FIN; its pure ACKs (egress on $XT_IF_B) are dropped from the
# moment our data was acknowledged until after the process has exited.
linux_server 7350 3 || xt_die "Linux server"
xt_spawn - timeout 30 "$XOK_CLOSER" --connect "$XT_ADDR_B" --port 7350 --count 1 --exit-now \
	--pause-ms 500 >"$XT_TMP/fw1.out" 2>&1
FW1_PID=$XT_PID
xd_wait_for "$XT_TMP/fw1.out" "opened" 10 "$FW1_PID"
C tc filter add dev "$XT_IF_B" egress protocol ip prio 2 u32 \
	match ip protocol 6 0xff match ip sport 7350 0xffff match u8 0x10 0xff at 33 \
	action mirred egress redirect dev "${XT_PREFIX}ska"
xd_wait_pid "$FW1_PID" 10
B=$(twd_stats)
xt_check "handed over in FIN_WAIT_1, its FIN unacknowledged ($(xd_field "$B" fin_wait_1))" \
	test "$(xd_field "$B" fin_wait_1)" = 1
sleep 1
C tc filter del dev "$XT_IF_B" egress prio 2
sleep 4
A=$(twd_stats)
xt_check "twd retransmitted the FIN ($(xd_field "$A" fin_rtx)); Linux's ACK, then its FIN ended FIN_WAIT" \
	bash -c "[ $(xd_field "$A" fin_rtx) -ge 1 ] && [ $(xd_field "$A" fin_wait_1) = 0 ] &&
		[ $(xd_field "$A" fin_wait_2) = 0 ] && [ $(($(xd_field "$A" fin_in) - $(xd_field "$B" fin_in))) -ge 1 ]"
xt_expect_eq "no Linux socket left in LAST_ACK" "$(last_ack_sockets 7350)" 0
xt_stop "$SRV_PID" TERM 2

xt_finish
