#!/usr/bin/env bash
# impair.sh - byte-exact transfers through the libOS while tests/impair's eBPF program
# drops 5%, duplicates 1% and reorders 2% of the frames in both directions on the Linux end
# of the veth: Linux nc -> exnc -l, exnc -> Linux nc -l, and echoes over 20 simultaneous
# connections through xok-echo.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/daemons_common.sh"
: "${IMPAIR_ATTACH:?path to impair-attach}" "${XOK_ECHO:?path to xok-echo}"
xt_require_root
xt_require_cmds python3 ethtool nc ss
xt_init
xd_start_all
C() { ip netns exec "$NS_C" "$@"; }
MB=${IMPAIR_TEST_MB:-16}
DROP=${IMPAIR_DROP:-5} DUP=${IMPAIR_DUP:-1} REORDER=${IMPAIR_REORDER:-2}

# Resolve both ways before impairing (ARP is never impaired, but this keeps setup quick).
C ping -c 1 -W 2 "$XT_ADDR_A" >/dev/null || xt_die "no ping before impairing"
for dir in --egress --ingress; do
	C "$IMPAIR_ATTACH" --dev "$XT_IF_B" "$dir" --drop "$DROP" --dup "$DUP" \
		--reorder "$REORDER" || xt_die "impair-attach $dir"
done

xd_transfers impaired "$MB" 120

# ---- 20 simultaneous echoes of 512 KB ----
xt_spawn - "$XOK_ECHO" --port 7000 --count 20 >"$XT_TMP/echo.out" 2>&1
ECHO_PID=$XT_PID
xt_wait_for "$XT_TMP/echo.out" "ready" 10 "$ECHO_PID" || xt_die "xok-echo did not start"
OUT=$(C timeout 120 python3 - "$XT_ADDR_A" 7000 20 524288 <<'PY'
import os, socket, sys, threading
addr, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
socks = [socket.create_connection((addr, port), timeout=60) for _ in range(n)]
ok = [False] * n
def run(i):
    s, data = socks[i], os.urandom(size)
    t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    t.start()
    got = bytearray()
    try:
        while True:
            b = s.recv(1 << 16)
            if not b: break
            got += b
    except OSError:
        pass
    t.join()
    ok[i] = got == data
ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print('ok %d of %d' % (sum(ok), n))
PY
)
xd_wait_pid "$ECHO_PID" 30
xt_expect_eq "impaired: 20 simultaneous 512 KB echoes byte-exact" "$OUT" "ok 20 of 20"

# ---- the impairment really happened ----
for dir in egress ingress; do
	S=$(C "$IMPAIR_ATTACH" --dev "$XT_IF_B" "--$dir" --stats)
	xt_check "$dir impairment dropped, duplicated and reordered frames ($S)" \
		bash -c "[[ '$S' =~ dropped=([0-9]+).*duplicated=([0-9]+).*released=([0-9]+) ]] && [ \${BASH_REMATCH[1]} -gt 0 ] && [ \${BASH_REMATCH[2]} -gt 0 ] && [ \${BASH_REMATCH[3]} -gt 0 ]"
done
xt_check "xokd, arpd and strayd still run" kill -0 "$XOKD_PID" "$ARPD_PID" "$STRAYD_PID"
xt_finish
