#!/usr/bin/env bash
# exnc.sh - exnc (netcat on libexos) against Linux nc: 64 MB each way byte-exact, the TCP
# options the libOS offers and accepts on the wire (window scale, timestamps, SACK), UDP
# both ways, errors (refused, unreachable), -q/-w/-d, the command line.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/daemons_common.sh"
xt_require_root
xt_require_cmds python3 ethtool tcpdump nc ss
xt_init
xd_start_all
C() { ip netns exec "$NS_C" "$@"; }
MB=${EXNC_TEST_MB:-64}

xt_check "exnc --help exits 0" bash -c "'$EXNC' --help >/dev/null"
xt_check "exnc without a port exits 1" bash -c "! '$EXNC' 198.18.0.1 2>/dev/null"
xt_check "exnc rejects port 0" bash -c "'$EXNC' 198.18.0.1 0 2>&1 | grep -q 'invalid port'"

head -c "${MB}M" /dev/urandom >"$XT_TMP/data"
SUM=$(xd_sha "$XT_TMP/data")
xt_spawn "$NS_C" tcpdump -i "$XT_IF_B" -n -U --immediate-mode -s 128 -w "$XT_TMP/syn.pcap" \
	"tcp[tcpflags] & tcp-syn != 0" 2>/dev/null
TCPDUMP_PID=$XT_PID
sleep 0.5

# ---- Linux nc -> exnc -l ----
xd_exnc_listen rx 5001 || xt_die "exnc -l did not start"
T0=$(date +%s%N)
C timeout 120 nc -N "$XT_ADDR_A" 5001 <"$XT_TMP/data"
xt_check "Linux nc sent $MB MB to exnc -l" test $? = 0
xd_wait_pid "$EXNC_PID" 60
RC=$?
T1=$(date +%s%N)
xt_expect_eq "exnc -l exits 0 when the peer closes" "$RC" 0
xt_expect_eq "Linux -> libOS: $MB MB arrive byte-exact (sha256)" "$(xd_sha "$XT_TMP/rx.out")" "$SUM"
echo "Linux -> libOS: $(xd_rate $((MB << 20)) $((T1 - T0))) Gbit/s"
xt_check "exnc -v reported the connection" grep -q "connection from $XT_ADDR_B" "$XT_TMP/rx.err"

# ---- exnc -> Linux nc -l ----
xd_linux_listen 5002 "$XT_TMP/tx.out" || xt_die "nc -l"
T0=$(date +%s%N)
timeout 120 "$EXNC" -N "$XT_ADDR_B" 5002 <"$XT_TMP/data" 2>"$XT_TMP/tx.err"
xt_expect_eq "exnc -N exits 0 after the peer closes" "$?" 0
T1=$(date +%s%N)
xd_wait_pid "$NC_PID" 30
xt_expect_eq "libOS -> Linux: $MB MB arrive byte-exact (sha256)" "$(xd_sha "$XT_TMP/tx.out")" "$SUM"
echo "libOS -> Linux: $(xd_rate $((MB << 20)) $((T1 - T0))) Gbit/s"

# ---- both directions at once, 8 MB each, over one connection ----
head -c 8M /dev/urandom >"$XT_TMP/d8"
xt_spawn - bash -c "timeout 60 '$EXNC' -l -p 5003 <'$XT_TMP/d8' >'$XT_TMP/bi_x.out' 2>'$XT_TMP/bi_x.err'"
BI_PID=$XT_PID
sleep 0.5
C timeout 60 python3 - "$XT_ADDR_A" "$XT_TMP/d8" "$XT_TMP/bi_c.out" <<'PY'
import socket, sys, threading
s = socket.create_connection((sys.argv[1], 5003), timeout=30)
data = open(sys.argv[2], 'rb').read()
def tx():
    s.sendall(data); s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=tx); t.start()
got = bytearray()
while True:
    b = s.recv(1 << 20)
    if not b: break
    got += b
t.join()
open(sys.argv[3], 'wb').write(got)
PY
xd_wait_pid "$BI_PID" 30
xt_expect_eq "simultaneous: Linux received exnc's 8 MB" "$(xd_sha "$XT_TMP/bi_c.out")" "$(xd_sha "$XT_TMP/d8")"
xt_expect_eq "simultaneous: exnc received Linux's 8 MB" "$(xd_sha "$XT_TMP/bi_x.out")" "$(xd_sha "$XT_TMP/d8")"

# ---- the peer finishes first: its FIN is a half-close, exnc -l still sends its whole stdin ----
xt_spawn - bash -c "timeout 60 '$EXNC' -v -l -p 5006 <'$XT_TMP/d8' >'$XT_TMP/hc_x.out' 2>'$XT_TMP/hc_x.err'"
HC_PID=$XT_PID
xt_wait_for "$XT_TMP/hc_x.err" "listening" 5
C timeout 60 python3 - "$XT_ADDR_A" "$XT_TMP/hc_c.out" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 5006), timeout=30)
s.sendall(b'request\n'); s.shutdown(socket.SHUT_WR)
got = bytearray()
while True:
    b = s.recv(1 << 20)
    if not b: break
    got += b
open(sys.argv[2], 'wb').write(got)
PY
xd_wait_pid "$HC_PID" 30
xt_expect_eq "half-close: exnc -l exits 0" "$?" 0
xt_expect_eq "half-close: exnc -l received the request" "$(cat "$XT_TMP/hc_x.out")" "request"
xt_expect_eq "half-close: Linux received all 8 MB of exnc's stdin after its own FIN" \
	"$(stat -c %s "$XT_TMP/hc_c.out"):$(xd_sha "$XT_TMP/hc_c.out")" "8388608:$(xd_sha "$XT_TMP/d8")"
# ...but input stdin does not have yet is not waited for: the peer's close ends the session
xt_spawn - bash -c "timeout 60 '$EXNC' -v -l -p 5007 < <(sleep 30) >'$XT_TMP/idle_x.out' \
	2>'$XT_TMP/idle_x.err'; echo \$? >'$XT_TMP/idle_x.rc'"
IDLE_PID=$XT_PID
xt_wait_for "$XT_TMP/idle_x.err" "listening" 5
C timeout 10 python3 -c "import socket; s = socket.create_connection(('$XT_ADDR_A', 5007), timeout=5); s.sendall(b'bye\n'); s.close()"
xt_wait_for "$XT_TMP/idle_x.rc" "" 5
xt_expect_eq "idle stdin: exnc -l exits 0 when the peer closes" "$(cat "$XT_TMP/idle_x.rc" 2>/dev/null)" 0
xt_expect_eq "idle stdin: exnc -l received the peer's data" "$(cat "$XT_TMP/idle_x.out")" "bye"
xt_stop "$IDLE_PID" TERM 2

# ---- TCP options on the wire ----
xt_stop "$TCPDUMP_PID" INT 5
tcpdump -n -r "$XT_TMP/syn.pcap" 2>/dev/null >"$XT_TMP/syn.txt"
SYNACK=$(grep "$XT_ADDR_A.5001 > .*Flags \[S\.\]" "$XT_TMP/syn.txt" | head -1)
SYN=$(grep "$XT_ADDR_A\.[0-9]* > $XT_ADDR_B.5002: Flags \[S\]" "$XT_TMP/syn.txt" | head -1)
for opt in "wscale [0-9]" "TS val" "sackOK" "mss 1460"; do
	xt_check "libOS SYN-ACK (passive open) carries '$opt'" grep -q "$opt" <<<"$SYNACK"
	xt_check "libOS SYN (active open) carries '$opt'" grep -q "$opt" <<<"$SYN"
done
echo "  SYN-ACK: ${SYNACK#*options }"
echo "  SYN:     ${SYN#*options }"

# ---- UDP ----
xt_spawn - bash -c "timeout 20 '$EXNC' -v -u -l -p 5004 -q 1 < <(sleep 1; echo reply-from-libos) >'$XT_TMP/u.out' 2>'$XT_TMP/u.err'"
U_PID=$XT_PID
xt_wait_for "$XT_TMP/u.err" "listening" 5
OUT=$(C timeout 5 python3 - "$XT_ADDR_A" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(4)
s.sendto(b'hello-udp\n', (sys.argv[1], 5004))
print(s.recvfrom(100)[0].decode().strip())
PY
)
xt_expect_eq "UDP: exnc -u -l answers the first sender" "$OUT" "reply-from-libos"
xd_wait_pid "$U_PID" 10
xt_expect_eq "UDP: exnc -u -l received the datagram" "$(cat "$XT_TMP/u.out")" "hello-udp"

xt_spawn "$NS_C" timeout 20 nc -u -l 5005 >"$XT_TMP/u2.out" </dev/null
sleep 0.5
echo "to-linux" | timeout 10 "$EXNC" -u -q 1 "$XT_ADDR_B" 5005
sleep 0.3
xt_expect_eq "UDP: exnc -u sends to Linux nc -u -l" "$(cat "$XT_TMP/u2.out")" "to-linux"

# ---- errors ----
OUT=$(timeout 10 "$EXNC" "$XT_ADDR_B" 5009 </dev/null 2>&1)
xt_expect_eq "connect to a closed Linux port: clear error" "$OUT" \
	"exnc: connect to $XT_ADDR_B port 5009: Connection refused"
OUT=$( (echo probe; sleep 2) | timeout 10 "$EXNC" -u "$XT_ADDR_B" 5010 2>&1)
xt_check "UDP to a closed Linux port: Connection refused reported ($OUT)" grep -q "Connection refused" <<<"$OUT"
T0=$(date +%s)
SILENT=${XT_ADDR_A%.*}.77
OUT=$(timeout 20 "$EXNC" -w 2 "$SILENT" 5011 </dev/null 2>&1)
T1=$(date +%s)
xt_check "-w 2: connecting to a silent neighbour gives up within 2 s ($OUT)" \
	bash -c "[ $((T1 - T0)) -le 4 ] && grep -q 'exnc: connect to $SILENT port 5011: .*\(timed out\|unreachable\)' <<<'$OUT'"
xd_linux_listen 5012 "$XT_TMP/idle.out" -k || xt_die "nc -l"
T0=$(date +%s)
timeout 20 "$EXNC" -d -w 2 "$XT_ADDR_B" 5012 </dev/null
RC=$?
T1=$(date +%s)
xt_check "-d -w 2: an idle connection ends after ~2 s (status $RC)" \
	bash -c "[ $RC = 0 ] && [ $((T1 - T0)) -ge 2 ] && [ $((T1 - T0)) -le 6 ]"
xt_stop "$NC_PID" TERM 2
xd_linux_listen 5013 "$XT_TMP/q.out" -k || xt_die "nc -l"
T0=$(date +%s)
echo quick | timeout 20 "$EXNC" -q 0 "$XT_ADDR_B" 5013
RC=$?
T1=$(date +%s)
xt_check "-q 0: quits at end of input although the peer stays (status $RC)" \
	bash -c "[ $RC = 0 ] && [ $((T1 - T0)) -le 3 ]"
sleep 0.3
xt_expect_eq "-q 0: the data was delivered first" "$(cat "$XT_TMP/q.out")" quick
xt_stop "$NC_PID" TERM 2

xt_check "xokd, arpd and strayd still run" kill -0 "$XOKD_PID" "$ARPD_PID" "$STRAYD_PID"
xt_finish
