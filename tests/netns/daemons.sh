#!/usr/bin/env bash
# daemons.sh - arpd and strayd against Linux over a veth pair: ARP both ways, ping, resets
# and unreachables for unclaimed ports (RFC 9293 reset rules, quoted headers), silence for
# resets and broadcasts, rate limiting, ARP refresh and expiry, the command lines.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/daemons_common.sh"
xt_require_root
xt_require_cmds python3 ethtool tcpdump nc ping ss
xt_init
xd_topology
xd_start_xokd || xt_die "xokd did not start"
xd_start_arpd --max-age 4 -v || xt_die "arpd did not start"
xd_start_strayd -v || xt_die "strayd did not start"
C() { ip netns exec "$NS_C" "$@"; }

# ---- command lines ----
xt_check "arpd --help exits 0" bash -c "'$ARPD' --help >/dev/null"
xt_check "strayd --help exits 0" bash -c "'$STRAYD' --help >/dev/null"
xt_check "arpd rejects --max-age 0 (status 2)" bash -c "'$ARPD' --max-age 0 2>/dev/null; [ \$? = 2 ]"
xt_check "strayd rejects --rate x (status 2)" bash -c "'$STRAYD' --rate x 2>/dev/null; [ \$? = 2 ]"
xt_check "a second strayd is refused (catch-all filter taken)" \
	bash -c "! '$STRAYD' --socket '$SOCK' 2>'$XT_TMP/strayd2.err' && grep -q 'another strayd' '$XT_TMP/strayd2.err'"

# Capture everything on the Linux side for the checks on quoted headers below.
xt_spawn "$NS_C" tcpdump -i "$XT_IF_B" -n -U --immediate-mode -w "$XT_TMP/cap.pcap" 2>/dev/null
TCPDUMP_PID=$XT_PID
sleep 0.5

# ---- ARP (arpd) and ICMP echo (strayd) ----
xt_check "ping the libOS address from Linux (ARP by arpd, echo by strayd)" \
	C ping -c 3 -i 0.2 -W 2 "$XT_ADDR_A"
xt_check "Linux learned the libOS MAC from arpd's reply" \
	bash -c "ip -n '$NS_C' neigh show '$XT_ADDR_A' | grep -qi '$MAC_A'"
LINE=$(xd_stats "$ARPD_PID" "$XT_TMP/arpd.log" "$XT_ADDR_B ")
xt_check "arpd learned the Linux host from its request ($LINE)" \
	bash -c "grep -qi '$MAC_B.*valid' <<<'$LINE'"
xt_check "ping with a 1472-byte payload (a 1514-byte frame) is answered whole" \
	bash -c "ip netns exec '$NS_C' ping -c 1 -W 2 -s 1472 '$XT_ADDR_A' | grep -q '1480 bytes from'"
xt_check "100 pings at 10 ms: none lost" \
	bash -c "ip netns exec '$NS_C' ping -q -c 100 -i 0.01 -W 1 '$XT_ADDR_A' | grep -q ' 0% packet loss'"

# ---- unclaimed TCP and UDP (strayd) ----
OUT=$(C timeout 5 nc -v -w 3 "$XT_ADDR_A" 5001 </dev/null 2>&1)
xt_check "TCP to a closed port: connection refused ($OUT)" grep -q "refused" <<<"$OUT"
OUT=$(C timeout 5 python3 - "$XT_ADDR_A" <<'PY' 2>&1
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 5003)); s.settimeout(2); s.send(b'anyone?')
try:
    s.recv(100); print('got data')
except ConnectionRefusedError:
    print('ECONNREFUSED')
except socket.timeout:
    print('timeout')
PY
)
xt_expect_eq "UDP to a closed port: the Linux socket sees ECONNREFUSED" "$OUT" ECONNREFUSED

# Crafted segments from an AF_PACKET socket; prints the reply's flags, seq, ack or "none".
tcp_probe() { # FLAGS SEQ ACK PAYLOAD_LEN [DST]
	C python3 - "$XT_IF_B" "$MAC_A" "$MAC_B" "$XT_ADDR_B" "${5:-$XT_ADDR_A}" "$@" <<'PY'
import socket, struct, sys, time, random
ifname, dmac, smac, src, dst, flags, seq, ack, plen = sys.argv[1:10]
flags, seq, ack, plen = int(flags, 0), int(seq), int(ack), int(plen)
def mac(m): return bytes(int(x, 16) for x in m.split(':'))
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
sport = random.randint(20000, 60000)
payload = b'x' * plen
tcp = struct.pack('!HHIIBBHHH', sport, 5004, seq, ack, 5 << 4, flags, 8192, 0, 0) + payload
ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(tcp))
tcp = tcp[:16] + struct.pack('!H', csum(ph + tcp)) + tcp[18:]
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                 socket.inet_aton(src), socket.inet_aton(dst))
ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
dm = b'\xff' * 6 if dst.endswith('.255') else mac(dmac)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((ifname, 0))
s.settimeout(0.2)
s.send(dm + mac(smac) + b'\x08\x00' + ip + tcp)
end = time.time() + 1.5
while time.time() < end:
    try:
        f = s.recv(2000)
    except socket.timeout:
        continue
    if len(f) < 54 or f[23] != 6 or f[6:12] == mac(smac): continue
    ihl = (f[14] & 15) * 4
    t = f[14 + ihl:]
    sp, dp, rseq, rack, off, rfl = struct.unpack('!HHIIBB', t[:14])
    if dp == sport:
        print('flags=0x%02x seq=%d ack=%d' % (rfl, rseq, rack)); sys.exit(0)
print('none')
PY
}
OUT=$(tcp_probe 0x02 1000 0 0)
xt_expect_eq "SYN to a closed port: RST|ACK, seq 0, ack SEG.SEQ+1" "$OUT" "flags=0x14 seq=0 ack=1001"
OUT=$(tcp_probe 0x02 4294967290 0 10)
xt_expect_eq "SYN with 10 data bytes: ack wraps to SEG.SEQ+1+10" "$OUT" "flags=0x14 seq=0 ack=5"
OUT=$(tcp_probe 0x10 7000 123456789 0)
xt_expect_eq "ACK to a closed port: RST with seq = SEG.ACK" "$OUT" "flags=0x04 seq=123456789 ack=0"
OUT=$(tcp_probe 0x19 7000 5555 20)
xt_expect_eq "FIN|PSH|ACK with data: RST with seq = SEG.ACK" "$OUT" "flags=0x04 seq=5555 ack=0"
OUT=$(tcp_probe 0x01 9000 0 5)
xt_expect_eq "bare FIN with 5 bytes: RST|ACK ack = SEG.SEQ+5+1" "$OUT" "flags=0x14 seq=0 ack=9006"
OUT=$(tcp_probe 0x04 1 0 0)
xt_expect_eq "a reset is never answered" "$OUT" none
OUT=$(tcp_probe 0x14 1 1 0)
xt_expect_eq "RST|ACK is never answered" "$OUT" none
BCAST=${XT_ADDR_A%.*}.255
OUT=$(tcp_probe 0x02 1 0 0 "$BCAST")
xt_expect_eq "a SYN to the subnet broadcast address is not answered" "$OUT" none

C python3 - "$BCAST" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.sendto(b'to everyone', (sys.argv[1], 5005))
PY
# An unknown protocol (GRE, 47) gets a protocol unreachable.
C python3 - "$XT_ADDR_A" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
s.sendto(b'\0\0\x08\0' + b'x' * 20, (sys.argv[1], 0))
PY
sleep 0.5
xt_stop "$TCPDUMP_PID" INT 5
tcpdump -n -v -r "$XT_TMP/cap.pcap" 2>/dev/null >"$XT_TMP/cap.txt"
xt_check "ICMP port unreachable quotes the datagram (tcpdump decodes 'udp port 5003 unreachable')" \
	grep -q "$XT_ADDR_A udp port 5003 unreachable" "$XT_TMP/cap.txt"
xt_check "ICMP protocol unreachable for GRE" grep -q "$XT_ADDR_A protocol 47 unreachable" \
	"$XT_TMP/cap.txt"
xt_check "no ICMP answers the broadcast datagram" \
	bash -c "! grep -q 'udp port 5005 unreachable' '$XT_TMP/cap.txt'"
xt_check "the reply checksums are correct (tcpdump -v finds no bad ones)" \
	bash -c "! grep -qi 'bad cksum\|incorrect' '$XT_TMP/cap.txt'"
LINE=$(xd_stats "$STRAYD_PID" "$XT_TMP/strayd.log" "strayd: stats")
xt_check "strayd counted its resets, unreachables and echo replies ($LINE)" \
	bash -c "[ '$(xd_field "$LINE" resets)' -ge 6 ] && [ '$(xd_field "$LINE" port_unreach)' -ge 1 ] && [ '$(xd_field "$LINE" echo_replies)' -ge 104 ]"
xt_check "strayd ignored the resets and the broadcasts" \
	bash -c "[ '$(xd_field "$LINE" rst)' -ge 2 ] && [ '$(xd_field "$LINE" bcast)' -ge 2 ]"

# ---- rate limiting: 10/s, burst 5 ----
xt_stop "$STRAYD_PID" TERM 5
xd_start_strayd --rate 10 --burst 5 || xt_die "strayd did not restart"
T0=$(date +%s%N)
C python3 - "$XT_ADDR_A" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(200):
    s.sendto(b'x', (sys.argv[1], 6000 + i % 50))
    time.sleep(0.002)
PY
T1=$(date +%s%N)
sleep 0.2
LINE=$(xd_stats "$STRAYD_PID" "$XT_TMP/strayd.log" "strayd: stats")
N=$(xd_field "$LINE" port_unreach)
MAX=$(( 5 + (T1 - T0 + 300000000) * 10 / 1000000000 + 1 ))
xt_check "rate limit: $N of 200 unreachables sent (at most $MAX), the rest counted" \
	bash -c "[ '$N' -ge 5 ] && [ '$N' -le '$MAX' ] && [ '$(xd_field "$LINE" rate_limited)' -ge $((200 - MAX)) ]"

# ---- the libOS resolves Linux through arpd; refresh; expiry ----
xd_linux_listen 5010 "$XT_TMP/nc1.out" || xt_die "nc -l"
T0=$(date +%s%N)
xt_check "a libOS application reaches Linux (its ARP request, arpd records the reply)" \
	bash -c "echo hello | timeout 20 '$EXNC' -N '$XT_ADDR_B' 5010"
T1=$(date +%s%N)
# The stack sleeps on the table's version word; without arpd's notify it would only find
# the entry when its ARP timer fires (1 s).
xt_check "arpd's table notify woke it at once ($(((T1 - T0) / 1000000)) ms, under 800)" \
	test $(((T1 - T0) / 1000000)) -lt 800
xd_wait_pid "$NC_PID" 10
xt_expect_eq "Linux received the line" "$(cat "$XT_TMP/nc1.out")" hello
sleep 4.5 # past max-age: the entry lives on through refresh requests that Linux answers
LINE=$(xd_stats "$ARPD_PID" "$XT_TMP/arpd.log" "arpd: stats")
xt_check "arpd refreshed the entry with unicast requests ($LINE)" \
	bash -c "[ '$(xd_field "$LINE" probes)' -ge 1 ] && [ '$(xd_field "$LINE" expired)' = 0 ]"
ip -n "$NS_C" link set dev "$XT_IF_B" arp off
sleep 4.5
xt_check "with Linux silent, the entry expired (failed)" \
	grep -q "did not answer" "$XT_TMP/arpd.log"
LINE=$(xd_stats "$ARPD_PID" "$XT_TMP/arpd.log" "$XT_ADDR_B ")
xt_check "arpd's table shows $XT_ADDR_B failed ($LINE)" grep -q failed <<<"$LINE"
ip -n "$NS_C" link set dev "$XT_IF_B" arp on
xd_linux_listen 5011 "$XT_TMP/nc2.out" || xt_die "nc -l"
xt_check "after Linux answers again, the libOS resolves it anew" \
	bash -c "echo again | timeout 20 '$EXNC' -N '$XT_ADDR_B' 5011"
xd_wait_pid "$NC_PID" 10
LINE=$(xd_stats "$ARPD_PID" "$XT_TMP/arpd.log" "$XT_ADDR_B ")
xt_check "and the entry is valid again ($LINE)" grep -q valid <<<"$LINE"

# ---- a Linux peer with transmit checksum offload on (partial checksums, see stray.c) ----
C ethtool -K "$XT_IF_B" tx on >/dev/null 2>&1
OUT=$(C timeout 5 nc -v -w 3 "$XT_ADDR_A" 5020 </dev/null 2>&1)
xt_check "offload on: TCP to a closed port is still refused ($OUT)" grep -q "refused" <<<"$OUT"
C ethtool -K "$XT_IF_B" tx off >/dev/null 2>&1

xt_check "xokd, arpd and strayd still run" kill -0 "$XOKD_PID" "$ARPD_PID" "$STRAYD_PID"
xt_stop "$STRAYD_PID" TERM 5
xt_check "strayd exits 0 on SIGTERM" test $? = 0
xt_stop "$ARPD_PID" TERM 5
xt_check "arpd exits 0 on SIGTERM" test $? = 0
xt_finish
