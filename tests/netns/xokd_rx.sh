#!/usr/bin/env bash
# xokd_rx.sh - receive path: frames from Linux arrive byte-exact with timestamp and ifindex;
# truncation and full-ring drops are flagged and counted; unclaimed frames are counted.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
xt_require_root
xt_require_cmds python3
xt_init
xk_topology
xk_start_xokd || xt_die "xokd did not start"

# Exact frames from an AF_PACKET socket on the client side; their hex goes to sent.hex.
send_raw() { # PORT COUNT PAYLOAD_LEN
	ip netns exec "$NS_C" python3 - "$XT_IF_B" "$MAC_A" "$MAC_B" "$XT_ADDR_B" "$XT_ADDR_A" \
		"$1" "$2" "$3" >>"$XT_TMP/sent.hex" <<'PY'
import socket, struct, sys
ifname, dmac, smac, src, dst, port, count, plen = sys.argv[1:9]
port, count, plen = int(port), int(count), int(plen)
def mac(m): return bytes(int(x, 16) for x in m.split(':'))
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
for i in range(count):
    payload = bytes((i * 7 + k) & 0xff for k in range(plen))
    udp = struct.pack('!HHHH', 40000 + i, port, 8 + plen, 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0x1000 + i, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    frame = mac(dmac) + mac(smac) + b'\x08\x00' + ip + udp
    s.send(frame)
    print(frame.hex())
PY
}

# 1. byte-exact delivery, ifindex, timestamp
xk_app rx "ready" recv --port 7000 --count 3 || xt_die "app did not start"
T0=$(date +%s%N)
send_raw 7000 2 64
xk_send_udp 7000 "from a linux socket"
T1=$(date +%s%N)
xk_wait_exit "$APP_PID" 5
xt_check "three frames delivered" grep -q "done frames=3" "$XT_TMP/rx.out"
mapfile -t GOT < <(grep '^frame' "$XT_TMP/rx.out" | sed 's/.* hex=//')
mapfile -t SENT < "$XT_TMP/sent.hex"
xt_expect_eq "raw frame 1 arrives byte-exact" "${GOT[0]}" "${SENT[0]}"
xt_expect_eq "raw frame 2 arrives byte-exact" "${GOT[1]}" "${SENT[1]}"
PAYHEX=$(printf '%s' "from a linux socket" | od -An -tx1 | tr -d ' \n')
xt_check "kernel-built datagram carries its payload" \
	bash -c "[[ '${GOT[2]}' == *$PAYHEX ]]"
xt_check "ifindex is the xokd interface's ($IFINDEX_A)" \
	bash -c "! grep '^frame' '$XT_TMP/rx.out' | grep -vq 'ifindex=$IFINDEX_A '"
check_ts() {
	local ts
	for ts in $(grep '^frame' "$XT_TMP/rx.out" | sed 's/.*rx_ns=\([0-9]*\).*/\1/'); do
		[ "$ts" -ge "$T0" ] && [ "$ts" -le "$T1" ] || return 1
	done
}
xt_check "rx timestamps lie between send start and end (CLOCK_REALTIME)" check_ts

# 2. truncation: 128-byte entries hold 96 bytes of frame
xk_app trunc "ready" recv --port 7001 --count 1 --entry-size 128 --linger-ms 3000 ||
	xt_die "app"
RING=$(sed -n 's/.*ring=\([0-9]*\).*/\1/p' "$XT_TMP/trunc.out")
send_raw 7001 1 300
for i in $(seq 100); do grep -q "^done" "$XT_TMP/trunc.out" && break; sleep 0.05; done
xt_expect_eq "truncation counted on the ring (stats --json)" \
	"$(xk_json "[r['truncated'] for r in j['rings'] if r['ring']==$RING][0]")" 1
xt_stop "$APP_PID" TERM 5
LINE=$(grep '^frame' "$XT_TMP/trunc.out")
xt_check "long frame truncated to the entry, flagged, original length kept" \
	bash -c "[[ '$LINE' == *'len=342 caplen=96 flags=1 '* ]]"
xt_check "truncated bytes are the frame's first 96" \
	bash -c "[[ '$(tail -1 "$XT_TMP/sent.hex" | cut -c1-192)' == '${LINE##* hex=}' ]]"

# 3. full ring: 4 entries never returned; 10 frames -> 4 delivered, 6 dropped and counted
xk_app full "ready" recv --port 7002 --entries 4 --hold --timeout-ms 4000 || xt_die "app"
RING=$(sed -n 's/.*ring=\([0-9]*\).*/\1/p' "$XT_TMP/full.out")
send_raw 7002 10 32
sleep 0.3
xt_expect_eq "ring delivered 4" \
	"$(xk_json "[r['delivered'] for r in j['rings'] if r['ring']==$RING][0]")" 4
xt_expect_eq "ring dropped 6 (full)" \
	"$(xk_json "[r['dropped_full'] for r in j['rings'] if r['ring']==$RING][0]")" 6
xt_expect_eq "interface counts 6 ring-full drops" \
	"$(xk_json "j['ifaces'][0]['drop_ring_full']")" 6
xt_expect_eq "no frame lost for want of a filter" \
	"$(xk_json "j['ifaces'][0]['drop_no_filter']")" 0
xt_stop "$APP_PID" TERM 5

# 4. nobody's frames: counted as unmatched (passed to Linux)
xk_send_udp 7999 "nobody listens" "nobody listens"
sleep 0.2
xt_check "unclaimed frames counted as unmatched" \
	test "$(xk_json "j['ifaces'][0]['drop_unmatched']")" -ge 2
xt_check "xokd still running" kill -0 "$XOKD_PID"
xt_finish
