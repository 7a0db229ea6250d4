#!/usr/bin/env bash
# xokd_tx.sh - transmit path: a 3-piece gather frame reaches Linux as one frame and the
# notification word is decremented; memory the app did not register cannot be sent;
# checked transmission refuses a frame from a port the app does not hold, and
# --unchecked-tx lets it through.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
xt_require_root
xt_require_cmds python3
xt_init
xk_topology
xk_start_xokd || xt_die "xokd did not start"

# On the Linux side: capture frames to UDP port 9000 raw (AF_PACKET) and through a UDP socket.
PAYLOAD="three pieces, one frame"
# (a background command's stdin is /dev/null: the script goes through a file)
cat >"$XT_TMP/peer.py" <<'PY'
import socket, struct, sys, select
ifname, port = sys.argv[1], int(sys.argv[2])
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
raw.bind((ifname, 0))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(('0.0.0.0', port))
print('listening', flush=True)
got_raw = got_udp = False
while not (got_raw and got_udp):
    r, _, _ = select.select([raw, udp], [], [], 10)
    if not r:
        print('timeout', flush=True)
        break
    for s in r:
        if s is udp:
            data, addr = udp.recvfrom(4096)
            print('udp', data.decode(), addr[0], addr[1], flush=True)
            got_udp = True
        else:
            f = raw.recv(4096)
            if len(f) >= 38 and f[23] == 17 and struct.unpack('!H', f[36:38])[0] == port:
                print('raw', len(f), f.hex(), flush=True)
                got_raw = True
PY
xt_spawn "$NS_C" python3 "$XT_TMP/peer.py" "$XT_IF_B" 9000 >"$XT_TMP/peer.out" 2>&1
PEER_PID=$XT_PID
for i in $(seq 100); do grep -q listening "$XT_TMP/peer.out" && break; sleep 0.05; done

"$XOK_TESTAPP" send --socket "$SOCK" --dst-mac "$MAC_B" --dst "$XT_ADDR_B" --sport 5555 \
	--dport 9000 --payload "$PAYLOAD" >"$XT_TMP/send.out" 2>&1
xk_wait_exit "$PEER_PID" 10
cat "$XT_TMP/send.out" "$XT_TMP/peer.out"
xt_check "notification word decremented to 0, status 0" \
	grep -q "sent len=65 notify=0 status=0" "$XT_TMP/send.out"
xt_check "Linux received one 65-byte frame" grep -q "^raw 65 " "$XT_TMP/peer.out"
RAW=$(sed -n 's/^raw 65 //p' "$XT_TMP/peer.out")
PAYHEX=$(printf '%s' "$PAYLOAD" | od -An -tx1 | tr -d ' \n')
xt_expect_eq "frame = Ethernet | IP+UDP | payload, in order" \
	"${RAW:0:24}${RAW:24:4}${RAW: -${#PAYHEX}}" \
	"$(echo "$MAC_B$MAC_A" | tr -d ':')0800$PAYHEX"
xt_check "the UDP socket got the datagram from the libOS address" \
	grep -q "^udp $PAYLOAD $XT_ADDR_A 5555" "$XT_TMP/peer.out"
xt_check "interface counted the transmit" test "$(xk_json "j['ifaces'][0]['tx']")" -ge 1

# memory the app did not register: foreign region ids, out of bounds, overflow, TXQ
"$XOK_TESTAPP" badsend --socket "$SOCK" >"$XT_TMP/bad.out" 2>&1
cat "$XT_TMP/bad.out"
xt_check "all 5 transmissions from unregistered memory rejected" \
	grep -q "badsend rejected=5 of 5" "$XT_TMP/bad.out"
xt_check "xokd still running" kill -0 "$XOKD_PID"

# checked transmission: a source port the app holds no filter for is refused (EPERM = 1)
"$XOK_TESTAPP" send --socket "$SOCK" --no-claim --dst-mac "$MAC_B" --dst "$XT_ADDR_B" \
	--sport 5556 --dport 9000 --payload "not mine" >"$XT_TMP/noclaim.out" 2>&1
cat "$XT_TMP/noclaim.out"
xt_check "unclaimed source port: refused with EPERM, notified" \
	grep -q "sent len=50 notify=0 status=1" "$XT_TMP/noclaim.out"
xt_check "xokd logged the refusal" grep -q "refused by checked transmission" "$XT_TMP/xokd.log"
# the paper's behaviour with --unchecked-tx
xt_stop "$XOKD_PID" TERM 5
xk_start_xokd --unchecked-tx || xt_die "xokd --unchecked-tx did not start"
xt_check "--unchecked-tx is announced" grep -q "UNCHECKED transmission" "$XT_TMP/xokd.log"
"$XOK_TESTAPP" send --socket "$SOCK" --no-claim --dst-mac "$MAC_B" --dst "$XT_ADDR_B" \
	--sport 5556 --dport 9000 --payload "not mine" >"$XT_TMP/unchecked.out" 2>&1
xt_check "--unchecked-tx: the same frame goes out" \
	grep -q "sent len=50 notify=0 status=0" "$XT_TMP/unchecked.out"
xt_finish
