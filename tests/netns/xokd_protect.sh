#!/usr/bin/env bash
# xokd_protect.sh - xokd as a protection boundary: an unprivileged hostile app
# (tests/kern/xok-hostile) tries to take another app's traffic (equal, refining,
# overlapping and copy filters, forged capabilities), to transmit from memory that is not
# its own, to spoof addresses, ports, MACs and ARP, and floods predicates; every attempt is
# refused and counted, nothing it tried reaches the wire, and the victim, receiving on its
# filter all along, gets exactly the frames Linux sent it: nothing extra, nothing lost.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
: "${XOK_HOSTILE:?path to xok-hostile}"
xt_require_root
xt_require_cmds python3 setpriv
xt_init
xk_topology
# nothing but xokd may transmit on its side (no IPv6 neighbour discovery from Linux)
ip netns exec "$NS_X" sysctl -qw "net.ipv6.conf.$XT_IF_A.disable_ipv6=1" 2>/dev/null
xk_start_xokd || xt_die "xokd did not start"
C() { ip netns exec "$NS_C" "$@"; }

xk_app victim "ready" recv --port 7000 --count 30 --timeout-ms 60000 --linger-ms 3000 ||
	xt_die "victim did not start"
VICTIM_PID=$APP_PID
VRING=$(sed -n 's/^ready .*ring=\([0-9]*\).*/\1/p' "$XT_TMP/victim.out")

send() { # TAG N: N datagrams "TAG-i" from Linux to the victim's port
	C python3 - "$XT_ADDR_A" "$1" "$2" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(('%s-%d' % (sys.argv[2], i)).encode(), (sys.argv[1], 7000))
    time.sleep(0.01)
PY
}

# Whatever leaves xokd's interface while the hostile app runs (there should be nothing).
cat >"$XT_TMP/watch.py" <<'PY'
import socket, sys, time
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
raw.bind((sys.argv[1], 0))
raw.settimeout(0.2)
mine = bytes.fromhex(sys.argv[2].replace(':', ''))
n = 0
end = time.time() + float(sys.argv[3])
print('watching', flush=True)
while time.time() < end:
    try:
        f, addr = raw.recvfrom(65535)
    except socket.timeout:
        continue
    if addr[2] != socket.PACKET_OUTGOING:
        n += 1
        print('seen', f[:42].hex(), flush=True)
print('frames', n, flush=True)
PY
xt_spawn "$NS_C" python3 "$XT_TMP/watch.py" "$XT_IF_B" "$MAC_B" 25 >"$XT_TMP/watch.out" 2>&1
WATCH_PID=$XT_PID
for _ in $(seq 100); do grep -q watching "$XT_TMP/watch.out" && break; sleep 0.05; done

send before 10
send during 10 &
SEND_PID=$!
setpriv --reuid=nobody --regid=nogroup --clear-groups "$XOK_HOSTILE" --socket "$SOCK" \
	--victim-port 7000 --peer "$XT_ADDR_B" --peer-mac "$MAC_B" --rounds 3000 \
	>"$XT_TMP/hostile.out" 2>&1
HOSTILE_RC=$?
wait "$SEND_PID"
send after 10
cat "$XT_TMP/hostile.out"
xt_expect_eq "hostile app: every attack refused (exit 0)" "$HOSTILE_RC" 0
ATTACKS=$(sed -n 's/^hostile attacks=\([0-9]*\) .*/\1/p' "$XT_TMP/hostile.out")
xt_check "hostile app: ran all its attacks" test "${ATTACKS:-0}" -ge 25
xt_check "hostile app: refused = attacks" grep -q "^hostile attacks=$ATTACKS refused=$ATTACKS " \
	"$XT_TMP/hostile.out"
DENIED=$(sed -n 's/.* tx_denied=\([0-9]*\)/\1/p' "$XT_TMP/hostile.out")
xt_check "spoofed frames counted by xokd (tx_denied=$DENIED)" test "${DENIED:-0}" -ge 7

# the victim: exactly the 30 datagrams, in order, none dropped or extra on its ring
for _ in $(seq 200); do grep -q "^done" "$XT_TMP/victim.out" && break; sleep 0.1; done
RING=$(xk_json "[(r['delivered'], r['dropped_full']) for r in j['rings'] if r['ring'] == $VRING]")
xt_expect_eq "victim's ring: 30 delivered, none dropped" "$RING" "[(30, 0)]"
xk_wait_exit "$VICTIM_PID" 20
PAYLOADS=$(sed -n 's/^frame .*hex=//p' "$XT_TMP/victim.out" | python3 -c '
import sys
for l in sys.stdin:
    b = bytes.fromhex(l.strip())
    print(b[42:].decode(errors="replace"))' | tr '\n' ' ')
WANT=$(for t in before during after; do for i in $(seq 0 9); do printf '%s-%d ' "$t" "$i"; done; done)
xt_expect_eq "victim got exactly the 30 datagrams Linux sent, in order" "$PAYLOADS" "$WANT"
xt_check "victim finished" grep -q "^done frames=30" "$XT_TMP/victim.out"

xk_wait_exit "$WATCH_PID" 30
xt_check "nothing the hostile app tried reached the wire" grep -q "^frames 0$" "$XT_TMP/watch.out"
xt_check "xokd still running" kill -0 "$XOKD_PID"
xt_check "xokd logged the refusals" grep -q "refused by checked transmission" "$XT_TMP/xokd.log"
xt_check "... and the stolen filter" grep -q "insert rejected" "$XT_TMP/xokd.log"
xt_finish
