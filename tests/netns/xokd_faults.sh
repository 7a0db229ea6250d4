#!/usr/bin/env bash
# xokd_faults.sh - fault survival.
# (a) 1000 apps are killed with SIGKILL, 20 at a time, while they hold rings, filters,
#     regions, queued transmits (xok-load txhold) and TCP connections (exnc), and while an
#     exnc transfer to Linux runs all along: the transfer is byte-exact, and xokd's fd
#     count and RSS end where they started, its filter set where it was.
# (b) xokd stopped (SIGTERM, then SIGKILL) under running apps: an app asleep in
#     exos_sys_wait and one in exos_sys_wait_poll get -EPIPE, exnc says xokd went away and
#     exits non-zero, nothing hangs; a new app instance works against the new xokd.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/daemons_common.sh"
: "${EXNC:?path to exnc}" "${XOKCTL:?path to xokctl}" "${XOK_LOAD:?path to xok-load}"
: "${XOK_TESTAPP:?path to xok-testapp}"
xt_require_root
xt_require_cmds python3 ethtool nc ss
xt_init
xd_start_all
C() { ip netns exec "$NS_C" "$@"; }
KILLS=${XOKD_FAULTS_KILLS:-1000}
BATCH=20
SINK_MAC=02:00:00:00:00:01

fd_count() { ls "/proc/$1/fd" | wc -l; }
# xokd's own memory: not the pages of live apps' shared regions it touched (RssShmem)
rss_kb() { awk '/^RssAnon:|^RssFile:/ {kb += $2} END {print kb}' "/proc/$1/status"; }
nfilters() {
	"$XOKCTL" --socket "$SOCK" filters --json |
		python3 -c "import json,sys; print(len(json.load(sys.stdin)['filters']))"
}

# ---- (a) ----
# Linux: a sink for the serving transfer, and a listener that holds every connection open
C python3 -c 'pass' || xt_die "python3"
cat >"$XT_TMP/hold.py" <<'PY'
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(1024)
print('listening', flush=True)
conns = []
while True:
    c, _ = s.accept()
    conns = [x for x in conns if x.fileno() >= 0][-2000:] + [c]
    c.setblocking(False)
PY
xt_spawn "$NS_C" python3 "$XT_TMP/hold.py" 5010 >"$XT_TMP/hold.out" 2>&1
for _ in $(seq 100); do grep -q listening "$XT_TMP/hold.out" && break; sleep 0.05; done
# the serving app: exnc streams to Linux for as long as the kills last, at a bounded rate
cat >"$XT_TMP/feed.py" <<'PY'
import hashlib, os, sys, time
stop, out = sys.argv[1], sys.argv[2]
h, n, chunk = hashlib.sha256(), 0, os.urandom(65536)
w = sys.stdout.buffer
while not os.path.exists(stop):
    w.write(chunk); h.update(chunk); n += len(chunk)
    time.sleep(0.05)
w.flush()
open(out, 'w').write('%s %d\n' % (h.hexdigest(), n))
PY
xd_linux_listen 5011 "$XT_TMP/serve.out" || xt_die "nc -l"
xt_spawn - bash -c "python3 '$XT_TMP/feed.py' '$XT_TMP/stop' '$XT_TMP/feed.sum' |
	timeout 280 '$EXNC' -N '$XT_ADDR_B' 5011 2>'$XT_TMP/serve.err'"
SERVE_PID=$XT_PID

# one victim of each kind; returns at once (they are killed by the batch)
victim() { # I (run in a background subshell: exec, so that $! is the victim itself)
	case $(($1 % 3)) in
	0) exec "$XOK_TESTAPP" hold --socket "$SOCK" --rings 2 --port $((20000 + ($1 % 500) * 2)) ;;
	1) exec "$XOK_LOAD" txhold --socket "$SOCK" --dst-mac "$SINK_MAC" --dst "$XT_ADDR_B" \
		--sport $((30000 + $1 % 1000)) --dport 9 --count 64 ;;
	2) exec "$EXNC" -d "$XT_ADDR_B" 5010 ;;
	esac
}

batch() { # FIRST: BATCH victims, up and holding, then SIGKILL all of them
	local i pids=() n
	for i in $(seq "$1" $(($1 + BATCH - 1))); do
		victim "$i" >"$XT_TMP/v$((i % BATCH)).out" 2>&1 &
		pids+=($!)
	done
	for _ in $(seq 60); do # until every one has its state set up (or gave up)
		n=$(cat "$XT_TMP"/v*.out 2>/dev/null | grep -c "holding\|error=")
		[ "$n" -ge $((BATCH * 2 / 3)) ] && break
		sleep 0.05
	done
	sleep 0.1 # the exnc victims connect
	kill -KILL "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	rm -f "$XT_TMP"/v*.out
}

for i in 1 2; do batch $((i * BATCH)); done # warm-up: allocator, program sizes
sleep 1
FD0=$(fd_count "$XOKD_PID")
RSS0=$(rss_kb "$XOKD_PID")
F0=$(nfilters)
T0=$(date +%s)
for b in $(seq 0 $((KILLS / BATCH - 1))); do
	batch $((b * BATCH))
done
T1=$(date +%s)
sleep 2
FD1=$(fd_count "$XOKD_PID")
RSS1=$(rss_kb "$XOKD_PID")
F1=$(nfilters)
echo "$KILLS kills in $((T1 - T0)) s: xokd fds $FD0 -> $FD1, RSS $RSS0 -> $RSS1 kB, filters $F0 -> $F1"
touch "$XT_TMP/stop"
xd_wait_pid "$SERVE_PID" 60
RC=$?
xd_wait_pid "$NC_PID" 30
read -r FSUM FBYTES <"$XT_TMP/feed.sum"
xt_expect_eq "the serving exnc exits 0" "$RC" 0
xt_expect_eq "its transfer ($FBYTES bytes, across all the kills) is byte-exact" \
	"$(xd_sha "$XT_TMP/serve.out")" "$FSUM"
xt_expect_eq "xokd's fd count back where it started" "$FD1" "$FD0"
if ldd "$XOKD" 2>/dev/null | grep -q libasan; then
	echo "note: RSS check skipped: ASan's quarantine holds freed memory"
else
	xt_check "xokd's RSS back within 2 MiB ($RSS0 -> $RSS1 kB)" test "$RSS1" -le $((RSS0 + 2048))
fi
xt_expect_eq "the filter set back where it was" "$F1" "$F0"

# ---- (b) ----
check_gone() { # LABEL SIGNAL
	local label=$1 sig=$2 t0 t1
	xt_spawn - "$XOK_TESTAPP" recv --socket "$SOCK" --port 7000 --count 1 --timeout-ms 60000 \
		>"$XT_TMP/w1.out" 2>&1
	W1=$XT_PID
	[ -p "$XT_TMP/fifo" ] || mkfifo "$XT_TMP/fifo"
	xt_spawn -i - "$XOK_LOAD" waitpoll --socket "$SOCK" --port 7001 >"$XT_TMP/w2.out" 2>&1 \
		<>"$XT_TMP/fifo"
	W2=$XT_PID
	xd_exnc_listen ex 5020 || xt_die "exnc -l did not start"
	EX=$EXNC_PID
	for _ in $(seq 100); do
		grep -q "^ready" "$XT_TMP/w1.out" && grep -q "^ready" "$XT_TMP/w2.out" && break
		sleep 0.05
	done
	sleep 0.3 # all asleep
	t0=$(date +%s%N)
	kill "-$sig" "$XOKD_PID"
	xd_wait_pid "$W1" 5
	xt_expect_eq "$label: exos_sys_wait returns -EPIPE (exit 1)" "$?" 1
	t1=$(date +%s%N)
	xt_check "$label: ... within 1.5 s ($(((t1 - t0) / 1000000)) ms)" \
		test $(((t1 - t0) / 1000000)) -lt 1500
	xt_check "$label: ... and says so" grep -q "^error=-32 what=wait" "$XT_TMP/w1.out"
	xd_wait_pid "$W2" 5
	xt_expect_eq "$label: exos_sys_wait_poll returns -EPIPE (exit 1)" "$?" 1
	xt_check "$label: ... and says so" grep -q "^error=-32" "$XT_TMP/w2.out"
	xd_wait_pid "$EX" 5
	RC=$?
	cat "$XT_TMP/ex.err"
	xt_check "$label: exnc exits non-zero (status $RC), not hung or killed" \
		test "$RC" -ne 0 -a "$RC" -ne 124 -a "$RC" -lt 128
	xt_check "$label: exnc says why" test "$(wc -l <"$XT_TMP/ex.err")" -ge 2
	xt_stop "$XOKD_PID" KILL 5
}
# arpd and strayd lose xokd too: stop them first
xt_stop "$STRAYD_PID" TERM 5
xt_stop "$ARPD_PID" TERM 5
restart_xokd() {
	cat "$XT_TMP/xokd.log" >>"$XT_TMP/xokd.old.log"
	: >"$XT_TMP/xokd.log"
	xd_start_xokd
}
check_gone "xokd SIGTERM" TERM
restart_xokd || xt_die "xokd did not restart"
check_gone "xokd SIGKILL" KILL
restart_xokd || xt_die "xokd did not restart"
xt_spawn - "$XOK_TESTAPP" recv --socket "$SOCK" --port 7000 --count 1 --timeout-ms 10000 \
	>"$XT_TMP/new.out" 2>&1
NEW=$XT_PID
for _ in $(seq 100); do grep -q "^ready" "$XT_TMP/new.out" && break; sleep 0.05; done
ip netns exec "$NS_C" ip neigh replace "$XT_ADDR_A" lladdr "$MAC_A" dev "$XT_IF_B" nud permanent
C python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'again', ('$XT_ADDR_A', 7000))"
xd_wait_pid "$NEW" 10
xt_expect_eq "a new app against the new xokd receives (exit 0)" "$?" 0
xt_finish
