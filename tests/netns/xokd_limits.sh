#!/usr/bin/env bash
# xokd_limits.sh - per-app limits: over --limit rings/filters/regions a request fails with
# -EDQUOT and xokd says so once per app; control requests are rate limited (rps), so two
# apps spamming requests at full speed get -EAGAIN and are slowed down in their own
# sendmsg, while another app's UDP echo keeps its latency and loses nothing.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
: "${XOK_LOAD:?path to xok-load}"
xt_require_root
xt_require_cmds python3
xt_init
xk_topology
C() { ip netns exec "$NS_C" "$@"; }

# ---- resource limits ----
xk_start_xokd --limit regions=4,rings=2,filters=1 || xt_die "xokd did not start"
xt_check "the limits are announced" grep -q "limits regions=4 .* rings=2 filters=1" \
	"$XT_TMP/xokd.log"
"$XOK_TESTAPP" hold --socket "$SOCK" --rings 3 >"$XT_TMP/rings.out" 2>&1
cat "$XT_TMP/rings.out"
xt_check "a third ring: -EDQUOT" grep -q "^error=-122 what=ring" "$XT_TMP/rings.out"
xt_check "xokd says which limit, once" \
	test "$(grep -c "rings limit (2) reached (-EDQUOT; logged once per app)" "$XT_TMP/xokd.log")" -eq 1
"$XOK_TESTAPP" hold --socket "$SOCK" --rings 2 --port 21000 >"$XT_TMP/filters.out" 2>&1
cat "$XT_TMP/filters.out"
xt_check "a second filter: -EDQUOT" grep -q "^error=-122 what=filter" "$XT_TMP/filters.out"
xt_check "xokd says so" grep -q "filters limit (1) reached" "$XT_TMP/xokd.log"
xt_stop "$XOKD_PID" TERM 5

# ---- request rate: spammers do not slow an echo down ----
RPS=1000
xk_start_xokd --limit "rps=$RPS" || xt_die "xokd did not start"
xt_spawn - "$XOK_LOAD" echo --socket "$SOCK" --port 7100 --seconds 90 >"$XT_TMP/echo.out" 2>&1
ECHO_PID=$XT_PID
for _ in $(seq 100); do grep -q "^ready" "$XT_TMP/echo.out" && break; sleep 0.05; done
grep -q "^ready" "$XT_TMP/echo.out" || xt_die "echo did not start"

cat >"$XT_TMP/ping.py" <<'PY'
import socket, sys, time
addr, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
rtt, lost = [], 0
for i in range(n):
    msg = b'%d' % i
    t0 = time.perf_counter()
    s.sendto(msg, (addr, 7100))
    while True:
        try:
            d, _ = s.recvfrom(2048)
        except socket.timeout:
            lost += 1
            break
        if d == msg:
            rtt.append((time.perf_counter() - t0) * 1e6)
            break
    time.sleep(0.004)
rtt.sort()
p = lambda q: int(rtt[min(len(rtt) - 1, int(q * len(rtt)))]) if rtt else 999999
print('%d %d %d %d' % (p(0.5), p(0.9), lost, len(rtt)))
PY
ping() { C python3 "$XT_TMP/ping.py" "$XT_ADDR_A" "$1"; }
# let Linux learn nothing new during the runs: one warm-up round
ping 20 >/dev/null
read -r B50 B90 BLOST BN < <(ping 400)
echo "echo alone: p50 ${B50} us, p90 ${B90} us, lost $BLOST of 400"
xt_expect_eq "echo alone: nothing lost" "$BLOST" 0

xt_spawn - "$XOK_LOAD" spam --socket "$SOCK" --seconds 12 >"$XT_TMP/spam1.out" 2>&1
S1=$XT_PID
xt_spawn - "$XOK_LOAD" spam --socket "$SOCK" --seconds 12 >"$XT_TMP/spam2.out" 2>&1
S2=$XT_PID
sleep 1
THROTTLED=$(xk_json "sum(a['ctl_throttled'] for a in j['apps_tx'])")
read -r L50 L90 LLOST LN < <(ping 400)
echo "echo with 2 spammers: p50 ${L50} us, p90 ${L90} us, lost $LLOST of 400"
xk_wait_exit "$S1" 20
xk_wait_exit "$S2" 20
cat "$XT_TMP/spam1.out" "$XT_TMP/spam2.out"
OK1=$(sed -n 's/^spam ok=\([0-9]*\) .*/\1/p' "$XT_TMP/spam1.out")
EA1=$(sed -n 's/.* eagain=\([0-9]*\)/\1/p' "$XT_TMP/spam1.out")
xt_check "spammers were refused with -EAGAIN (throttled so far: $THROTTLED)" \
	test "${EA1:-0}" -gt 0 -a "${THROTTLED:-0}" -gt 0
# 12 s at the rate, plus the bucket, plus slack for the clock
xt_check "a spammer got no more than its rate (ok=$OK1 in 12 s at $RPS/s)" \
	test "${OK1:-999999999}" -le $((RPS * 13 + 200))
xt_check "xokd logged the rate limit once per spammer" \
	test "$(grep -c "over the control request rate" "$XT_TMP/xokd.log")" -eq 2
xt_check "echo with spammers: nothing lost (lost $LLOST)" test "$LLOST" -le 2
xt_check "echo with spammers: p50 within 3x (+1 ms) of alone (${L50} vs ${B50} us)" \
	test "$L50" -le $((3 * B50 + 1000))
xt_check "echo with spammers: p90 within 3x (+2 ms) of alone (${L90} vs ${B90} us)" \
	test "$L90" -le $((3 * B90 + 2000))
xt_check "xokd still running" kill -0 "$XOKD_PID"
xt_stop "$ECHO_PID" TERM 5
xt_finish
