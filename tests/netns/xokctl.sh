#!/usr/bin/env bash
# xokctl.sh - xokctl against a live xokd with arpd, strayd and a libexos application (exnc):
# every subcommand's --json parses (python3 -m json.tool) and its text form prints; the
# counters move as traffic flows (UDP from Linux: the interface's rx, the application's
# filter hits); the filter tree names the owners (app id, pid, command); the ARP table
# shows the Linux peer; --watch --count N refreshes N times; errors exit non-zero.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/daemons_common.sh"
: "${XOKCTL:?path to xokctl}"
xt_require_root
xt_require_cmds python3 ethtool nc
xt_init
xd_start_all
C() { ip netns exec "$NS_C" "$@"; }
X() { "$XOKCTL" --socket "$SOCK" "$@"; }

# json FILTER: evaluates a python expression over the JSON document on stdin (as `d`).
json() {
	python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"
}

xt_check "xokctl --help exits 0" bash -c "'$XOKCTL' --help | grep -q watch"
xt_check "an unknown command exits 2" bash -c "'$XOKCTL' --socket '$SOCK' bogus 2>/dev/null; [ \$? = 2 ]"
xt_check "--count without --watch exits 2" bash -c "'$XOKCTL' --count 2 apps 2>/dev/null; [ \$? = 2 ]"
xt_check "no xokd at the socket: exit 1 and a message" \
	bash -c "'$XOKCTL' --socket '$XT_TMP/none.sock' apps 2>&1 | grep -q 'is xokd running'"

# a libexos application receiving UDP, with its filters
xt_spawn - timeout 120 "$EXNC" -v -u -l -p 5004 >"$XT_TMP/u.out" 2>"$XT_TMP/u.err" </dev/null
xt_wait_for "$XT_TMP/u.err" "listening" 10 "$XT_PID" || xt_die "exnc -u -l"
EXNC_PID=$(pgrep -P "$XT_PID" -x exnc) || xt_die "no exnc under timeout $XT_PID"

for cmd in apps filters rings tx impair stats arp; do
	xt_check "xokctl $cmd --json parses" bash -c "'$XOKCTL' --socket '$SOCK' $cmd --json | python3 -m json.tool >/dev/null"
	xt_check "xokctl $cmd prints a table" bash -c "'$XOKCTL' --socket '$SOCK' $cmd | head -1 | grep -q '[A-Z]'"
done

S0=$(X stats --json)
F0=$(X filters --json)
RX0=$(json "d['ifaces'][0]['rx']" <<<"$S0")
HITS0=$(json "sum(f['hits'] for f in d['filters'] if f['owner_pid'] == $EXNC_PID)" <<<"$F0")
C python3 - "$XT_ADDR_A" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20):
    s.sendto(b'datagram %d\n' % i, (sys.argv[1], 5004))
    time.sleep(0.005)
PY
sleep 0.5
S1=$(X stats --json)
F1=$(X filters --json)
RX1=$(json "d['ifaces'][0]['rx']" <<<"$S1")
HITS1=$(json "sum(f['hits'] for f in d['filters'] if f['owner_pid'] == $EXNC_PID)" <<<"$F1")
xt_check "interface rx moved with 20 datagrams ($RX0 -> $RX1)" test $((RX1 - RX0)) -ge 20
xt_check "exnc's filter hits moved with them ($HITS0 -> $HITS1)" test $((HITS1 - HITS0)) -ge 20
xt_check "exnc received the datagrams" grep -q "datagram 19" "$XT_TMP/u.out"

APP=$(X apps --json | json "[a['app'] for a in d['apps'] if a['pid'] == $EXNC_PID][0]")
TREE=$(X filters)
xt_check "the filter tree names exnc as an owner (app $APP, pid $EXNC_PID)" \
	grep -qE "^ +[0-9]+ +$APP +$EXNC_PID +exnc " <<<"$TREE"
xt_check "exnc's filters sit under strayd's catch-all (indented)" \
	bash -c "grep -E ' strayd ' <<<'$TREE' | head -1 | grep -q '^[0-9]' && grep -qE '^  +[0-9]+ +$APP ' <<<'$TREE'"
xt_check "filters --json gives each owner's pid" \
	test "$(X filters --json | json "len([f for f in d['filters'] if f['owner_pid'] == $EXNC_PID])")" -ge 1

# the ARP table: a libOS application reached Linux through arpd
xd_linux_listen 5010 "$XT_TMP/nc.out" || xt_die "nc -l"
echo hello | timeout 20 "$EXNC" -N "$XT_ADDR_B" 5010 2>/dev/null
ARP=$(X arp --json)
xt_expect_eq "arp --json shows $XT_ADDR_B valid at $MAC_B" \
	"$(json "[(e['state'], e['mac']) for e in d['arp']['entries'] if e['addr'] == '$XT_ADDR_B'][0]" <<<"$ARP")" \
	"('valid', '$MAC_B')"
xt_check "arp prints the entry" bash -c "'$XOKCTL' --socket '$SOCK' arp | grep -q '$XT_ADDR_B .*valid'"

# --watch: once a second, bounded by --count
T0=$(date +%s%N)
OUT=$(X stats --json --watch --count 3)
T1=$(date +%s%N)
xt_expect_eq "--watch --count 3 --json: three objects, one per line" \
	"$(python3 -c "import json, sys; print(sum(1 for l in sys.stdin if json.loads(l)['ifaces'] is not None))" <<<"$OUT")" 3
xt_check "... a second apart ($(((T1 - T0) / 1000000)) ms)" \
	bash -c "[ $(((T1 - T0) / 1000000)) -ge 1900 ] && [ $(((T1 - T0) / 1000000)) -le 4000 ]"
xt_check "--watch in text clears the screen each time" \
	bash -c "[ \$('$XOKCTL' --socket '$SOCK' apps --watch --count 2 | grep -c \$'\\e\\[2J') = 2 ]"
xt_check "--watch stops at SIGINT" bash -c "
	'$XOKCTL' --socket '$SOCK' arp --watch >/dev/null & p=\$!
	sleep 1.5; kill -INT \$p; for i in \$(seq 30); do kill -0 \$p 2>/dev/null || exit 0; sleep 0.1; done; kill -9 \$p; exit 1"

xt_check "xokd, arpd and strayd still run" kill -0 "$XOKD_PID" "$ARPD_PID" "$STRAYD_PID"
xt_finish
