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
# shellcheck disable=SC2120 # (ARGS: for experiments by hand)
twd_start() {
	local n
	n=$(grep -c "twd: ready" "$XT_TMP/twd.log" 2>/dev/null)
	xt_spawn - "$TWD" --socket "$XOK_TWD_SOCKET" --xok-socket "$SOCK" --msl "$MSL" -v "$@" \
		>>"$XT_TMP/twd.log" 2>&1
	TWD_PID=$XT_PID
	xt_wait_log "$XT_TMP/twd.log" "twd: ready" 5 "$TWD_PID" "${n:-0}"
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
OUT=$(timeout 30 "$XOK_CLOSER" --connect "$XT_ADDR_B" --port 7300 --count 5 --state fin_wait_2 2>&1)
xt_check "xok-closer exited with 5 connections in FIN_WAIT_2 ($OUT)" grep -q "closed-all .* pcbs=5" <<<"$OUT"
B=$(twd_stats)
sleep 3
A=$(twd_stats)
xt_check "twd took them in FIN_WAIT_2 ($(xd_field "$B" fin_wait_2)), then Linux's FINs moved them to TIME_WAIT" \
	bash -c "[ $(xd_field "$B" fin_wait_2) = 5 ] && [ $(xd_field "$A" fin_wait_2) = 0 ] &&
		[ $(($(xd_field "$A" fin_in) - $(xd_field "$B" fin_in))) -ge 5 ]"
xt_expect_eq "no Linux socket left in LAST_ACK" "$(last_ack_sockets 7300)" 0
xt_stop "$SRV_PID" TERM 2

# ---- FIN_WAIT_1 with the FIN unacknowledged: twd retransmits it ----
# Linux closes 3 s after our FIN; its pure ACKs (egress on $XT_IF_B) are dropped from the
# moment our data was acknowledged until after the process has exited.
linux_server 7350 3 || xt_die "Linux server"
xt_spawn - timeout 30 "$XOK_CLOSER" --connect "$XT_ADDR_B" --port 7350 --count 1 --exit-now \
	--pause-ms 500 >"$XT_TMP/fw1.out" 2>&1
FW1_PID=$XT_PID
xt_wait_for "$XT_TMP/fw1.out" "opened" 10 "$FW1_PID"
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

# ---- SYNs reusing a TIME_WAIT 4-tuple (RFC 9293 / RFC 6191) ----
# xok-closer serves two Linux clients with fixed ports and closes first: two TIME_WAIT
# connections demultiplexed by its listener, handed over with the listener's port filter.
cat >"$XT_TMP/client.py" <<'PY'
import socket, sys
addr, port, lport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('', lport)); s.settimeout(10); s.connect((addr, port))
s.sendall(b'hello\n')
while s.recv(100):
    pass
s.close()
PY
# clients LPORT...: one client.py per local port, at once (xok-closer closes only when it
# has accepted them all), waiting for every one
clients() {
	local port=$1 lp pids=()
	shift
	for lp in "$@"; do
		C timeout 15 python3 "$XT_TMP/client.py" "$XT_ADDR_A" "$port" "$lp" &
		pids+=($!)
	done
	wait "${pids[@]}"
}
capture syn tcp port 7400
xt_spawn - timeout 30 "$XOK_CLOSER" --listen --port 7400 --count 2 >"$XT_TMP/syn.out" 2>&1
SYN_PID=$XT_PID
xt_wait_for "$XT_TMP/syn.out" "listening" 10 "$SYN_PID" || xt_die "xok-closer --listen"
clients 7400 41001 41002
xd_wait_pid "$SYN_PID" 20
xt_check "the server closed first: two TIME_WAIT connections, handed over ($(tail -1 "$XT_TMP/syn.out"))" \
	grep -q "closed-all .* tw=2" "$XT_TMP/syn.out"
B=$(twd_stats)
# a new incarnation from 41001: Linux's timestamps have moved on, so RFC 6191 lets it in;
# twd frees the 4-tuple, the SYN's retransmission finds the port closed (nobody listens)
OUT=$(C timeout 15 python3 -c "
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('', 41001)); s.settimeout(8); t = time.time()
try:
    s.connect(('$XT_ADDR_A', 7400)); print('connected')
except ConnectionRefusedError:
    print('refused after %.1f s' % (time.time() - t))
except OSError as e:
    print('error', e)
")
A=$(twd_stats)
xt_check "a newer SYN on a TIME_WAIT 4-tuple ended the TIME_WAIT ($OUT)" \
	bash -c "[ $(($(xd_field "$A" syn_reuse) - $(xd_field "$B" syn_reuse))) = 1 ] && grep -q refused <<<'$OUT'"
# an old SYN on 41002 (its first incarnation's sequence number, no timestamp): the old
# connection's ACK
TXT=$(tcpdump -n -S -r "$XT_TMP/syn.pcap" 2>/dev/null)
ISN=$(sed -n "s/.*$XT_ADDR_B.41002 > $XT_ADDR_A.7400: Flags \[S\], seq \([0-9]*\),.*/\1/p" <<<"$TXT" | head -1)
LFIN=$(sed -n "s/.*$XT_ADDR_B.41002 > $XT_ADDR_A.7400: Flags \[F\.\], seq \([0-9]*\),.*/\1/p" <<<"$TXT" | head -1)
C python3 - "$XT_ADDR_B" "$XT_ADDR_A" 41002 7400 "${ISN:-0}" <<'PY'
import socket, struct, sys
src, dst, sport, dport, seq = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
hdr = struct.pack('!HHIIBBHHH', sport, dport, seq, 0, 5 << 4, 0x02, 65535, 0, 0)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(hdr))
hdr = hdr[:16] + struct.pack('!H', csum(pseudo + hdr)) + hdr[18:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.sendto(hdr, (dst, 0))
PY
sleep 1
A2=$(twd_stats)
TXT=$(capture_text syn)
xt_check "an older SYN got the old connection's ACK (ack $((LFIN + 1)))" \
	bash -c "[ $(($(xd_field "$A2" syn_old) - $(xd_field "$A" syn_old))) = 1 ] &&
		grep -Eq '$XT_ADDR_A.7400 > $XT_ADDR_B.41002: Flags \[\.\], (seq [0-9]*, )?ack $((LFIN + 1)),' <<<'$TXT'"

# ---- the port goes back, with its TIME_WAIT connections, to the next listener ----
xt_spawn - timeout 30 "$XOK_CLOSER" --listen --port 7500 --count 3 >"$XT_TMP/p.out" 2>&1
P_PID=$XT_PID
xt_wait_for "$XT_TMP/p.out" "listening" 10 "$P_PID" || xt_die "xok-closer --listen"
clients 7500 42001 42002 42003
xd_wait_pid "$P_PID" 20
B=$(twd_stats)
xt_spawn - "$XOK_ECHO" --port 7500 --count 1 >"$XT_TMP/echo.out" 2>&1
E_PID=$XT_PID
xt_wait_for "$XT_TMP/echo.out" "ready" 10 "$E_PID"
xt_check "xok-echo listens on the port twd held" grep -q "ready port=7500" "$XT_TMP/echo.out"
A=$(twd_stats)
xt_check "twd gave the port back with its 3 connections ($(xd_field "$A" ports_given) ports given)" \
	bash -c "[ $(($(xd_field "$A" ports_given) - $(xd_field "$B" ports_given))) = 1 ] &&
		[ $(($(xd_field "$B" conns) - $(xd_field "$A" conns))) -ge 3 ]"
OUT=$(C timeout 10 python3 -c "
import socket; s = socket.create_connection(('$XT_ADDR_A', 7500), timeout=5)
s.sendall(b'echo me\n'); s.shutdown(socket.SHUT_WR); print(s.recv(100).decode().strip())")
xt_expect_eq "a new client is served on that port" "$OUT" "echo me"
xd_wait_pid "$E_PID" 20
A2=$(twd_stats)
xt_check "at xok-echo's exit the adopted TIME_WAIT connections went back to twd" \
	test $(($(xd_field "$A2" taken) - $(xd_field "$A" taken))) -ge 3

# ---- exit drains data: exnc sends 16 MB and exits at once; Linux gets every byte ----
head -c 16M /dev/urandom >"$XT_TMP/data"
xd_linux_listen 7600 "$XT_TMP/rx.out" || xt_die "nc -l"
T0=$(date +%s%N)
timeout 30 "$EXNC" -q 0 "$XT_ADDR_B" 7600 <"$XT_TMP/data" 2>"$XT_TMP/drain.err"
RC=$?
T1=$(date +%s%N)
xd_wait_pid "$NC_PID" 10
xt_expect_eq "exnc -q 0 exits 0 after $(((T1 - T0) / 1000000)) ms" "$RC" 0
xt_expect_eq "Linux received all 16 MB (sha256)" "$(xd_sha "$XT_TMP/rx.out")" "$(xd_sha "$XT_TMP/data")"

# ---- SIGTERM through exos_stack_handoff_on_signals ----
linux_server 7100 0 || xt_die "Linux server"
xt_spawn - "$XOK_CLOSER" --connect "$XT_ADDR_B" --port 7100 --count 2 --signals --sleep-ms 20000 \
	>"$XT_TMP/sig.out" 2>&1
SIG_PID=$XT_PID
xt_wait_for "$XT_TMP/sig.out" "closed-all" 20 "$SIG_PID"
B=$(twd_stats)
T0=$(date +%s%N)
xt_stop "$SIG_PID" TERM 5
RC=$?
T1=$(date +%s%N)
A=$(twd_stats)
xt_check "SIGTERM: exit(143) in $(((T1 - T0) / 1000000)) ms, twd took its 2 connections" \
	bash -c "[ $RC = 143 ] && [ $(($(xd_field "$A" taken) - $(xd_field "$B" taken))) = 2 ]"

# ---- twd lets go after 2*MSL ----
sleep $((2 * MSL))
LINE=$(twd_stats)
xt_check "everything older than 2*MSL is gone ($(xd_field "$LINE" conns) left, $(xd_field "$LINE" ended_timewait) ended in TIME_WAIT)" \
	bash -c "[ $(xd_field "$LINE" conns) = 0 ] && [ $(xd_field "$LINE" ended_timewait) -ge $N ]"
for _ in $(seq 100); do
	LINE=$(twd_stats)
	[ "$(xd_field "$LINE" releasing)" = 0 ] && break
	sleep 0.2
done
xt_expect_eq "and every filter went back to xokd" \
	"$(xd_field "$LINE" filters) $(xd_field "$LINE" releasing)" "0 0"
xt_expect_eq "xokctl: twd holds no filter" \
	"$("$XOKCTL" --socket "$SOCK" apps --json | python3 -c "import json, sys; print([a['filters'] for a in json.load(sys.stdin)['apps'] if a['name'] == 'twd'])")" "[0]"

# ---- without twd: a background copy of the process keeps the connections ----
xt_stop "$TWD_PID" TERM 5
xt_expect_eq "twd exits 0 at SIGTERM" "$?" 0
xt_check "and removes its socket" test ! -e "$XOK_TWD_SOCKET"
T0=$(date +%s%N)
OUT=$(EXOS_TCP_MSL_MS=1000 timeout 30 "$XOK_CLOSER" --connect "$XT_ADDR_B" --port 7100 --count 3 2>"$XT_TMP/bg.err")
T1=$(date +%s%N)
CLOSED=$(sed -n 's/^closed-all \([0-9]*\).*/\1/p' <<<"$OUT")
BG=$(sed -n 's/.*: pid \([0-9]*\) keeps 3 closing TCP connections in the background.*/\1/p' "$XT_TMP/bg.err")
[ -n "$BG" ] && XT_PIDS+=("$BG")
xt_check "no twd: exit at once ($(((T1 - CLOSED) / 1000000)) ms), saying so ($(cat "$XT_TMP/bg.err"))" \
	bash -c "[ $(((T1 - CLOSED) / 1000000)) -lt 500 ] && grep -q 'twd is not reachable' '$XT_TMP/bg.err' && [ -n '$BG' ]"
xt_check "the background copy (pid $BG) keeps them, then ends after 2*MSL" bash -c "
	kill -0 $BG || exit 1
	for i in \$(seq 60); do kill -0 $BG 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
T0=$(date +%s%N)
EXOS_EXIT_LINGER=foreground EXOS_TCP_MSL_MS=500 timeout 30 "$XOK_CLOSER" --connect "$XT_ADDR_B" \
	--port 7100 --count 2 >/dev/null 2>"$XT_TMP/fg.err"
T1=$(date +%s%N)
xt_check "EXOS_EXIT_LINGER=foreground: exit waits for TIME_WAIT ($(((T1 - T0) / 1000000)) ms)" \
	bash -c "[ $(((T1 - T0) / 1000000)) -ge 900 ] && grep -q 'exit waits' '$XT_TMP/fg.err'"
EXOS_EXIT_LINGER=none timeout 30 "$XOK_CLOSER" --connect "$XT_ADDR_B" --port 7100 --count 1 \
	>/dev/null 2>"$XT_TMP/none.err"
xt_check "EXOS_EXIT_LINGER=none: dropped, and said so" grep -q "dropping 1 closing" "$XT_TMP/none.err"
xt_stop "$SRV_PID" TERM 2

xt_check "xokd, arpd and strayd still run" kill -0 "$XOKD_PID" "$ARPD_PID" "$STRAYD_PID"
xt_finish
