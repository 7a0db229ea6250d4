#!/usr/bin/env bash
# conns.sh - 100 simultaneous TCP connections through the libOS: 100 Linux clients connect
# to one xok-echo process (libexos sockets, one stack, one listener), all open at once,
# each sending 256 KB and checking the echo byte for byte; then twice that, back to back.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/daemons_common.sh"
: "${XOK_ECHO:?path to xok-echo}"
xt_require_root
xt_require_cmds python3 ethtool
xt_init
xd_start_all
N=${CONNS_TEST_N:-100}
SIZE=${CONNS_TEST_SIZE:-262144}

# Opens N connections (all before any data moves), then sends SIZE random bytes on each
# and half-closes; checks each echo.  Prints "ok K of N" and "max_open M".
clients() { # PORT
	ip netns exec "$NS_C" timeout 120 python3 - "$XT_ADDR_A" "$1" "$N" "$SIZE" <<'PY'
import os, selectors, socket, sys, time
addr, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sel = selectors.DefaultSelector()
conns = []
for i in range(n):
    s = socket.create_connection((addr, port), timeout=10)
    s.setblocking(False)
    st = {'out': os.urandom(size), 'off': 0, 'in': bytearray(), 'done': False}
    conns.append(st)
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, st)
print('connected %d' % n, flush=True)
left, deadline = n, time.time() + 90
while left and time.time() < deadline:
    for key, ev in sel.select(timeout=1):
        s, st = key.fileobj, key.data
        if ev & selectors.EVENT_WRITE and st['off'] < size:
            try:
                st['off'] += s.send(st['out'][st['off']:st['off'] + 65536])
            except BlockingIOError:
                pass
            if st['off'] == size:
                s.shutdown(socket.SHUT_WR)
                sel.modify(s, selectors.EVENT_READ, st)
        if ev & selectors.EVENT_READ:
            try:
                b = s.recv(1 << 16)
            except BlockingIOError:
                continue
            except ConnectionError:
                b = b''
            if not b:
                sel.unregister(s); s.close(); left -= 1; st['done'] = True
            else:
                st['in'] += b
print('ok %d of %d' % (sum(st['done'] and st['in'] == st['out'] for st in conns), n))
PY
}

run_round() { # NAME PORT COUNT
	local name=$1 port=$2 count=$3
	xt_spawn - "$XOK_ECHO" --port "$port" --count "$count" >"$XT_TMP/$name.out" 2>&1
	local pid=$XT_PID
	xt_wait_for "$XT_TMP/$name.out" "ready" 10 "$pid" || xt_die "xok-echo did not start"
	clients "$port" >"$XT_TMP/$name.cli" 2>&1
	xd_wait_pid "$pid" 30
	xt_expect_eq "$name: xok-echo saw $count connections and exited 0" "$?" 0
}

T0=$(date +%s%N)
run_round round1 7000 "$N"
T1=$(date +%s%N)
xt_expect_eq "round 1: $N simultaneous connections echoed byte-exact" \
	"$(grep '^ok' "$XT_TMP/round1.cli")" "ok $N of $N"
xt_check "round 1: all $N were open at once ($(grep done "$XT_TMP/round1.out"))" \
	grep -q "max_open=$N\b" "$XT_TMP/round1.out"
echo "round 1: $((N * SIZE * 2 >> 20)) MB through $N connections in $(((T1 - T0) / 1000000)) ms"

# Two rounds on one server: the stack must have reclaimed the first round's state.
xt_spawn - "$XOK_ECHO" --port 7001 --count $((2 * N)) >"$XT_TMP/round2.out" 2>&1
PID=$XT_PID
xt_wait_for "$XT_TMP/round2.out" "ready" 10 "$PID" || xt_die "xok-echo did not start"
clients 7001 >"$XT_TMP/round2a.cli" 2>&1
clients 7001 >"$XT_TMP/round2b.cli" 2>&1
xd_wait_pid "$PID" 30
xt_expect_eq "rounds 2+3 on one server: first $N echoed" "$(grep '^ok' "$XT_TMP/round2a.cli")" "ok $N of $N"
xt_expect_eq "rounds 2+3 on one server: second $N echoed" "$(grep '^ok' "$XT_TMP/round2b.cli")" "ok $N of $N"
xt_check "xokd, arpd and strayd still run" kill -0 "$XOKD_PID" "$ARPD_PID" "$STRAYD_PID"
xt_finish
