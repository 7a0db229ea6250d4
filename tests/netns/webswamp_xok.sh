#!/usr/bin/env bash
# webswamp_xok.sh - the libOS load generators (webswamp, webswamp --merge, sockclient) on
# xokd against nginx on Linux and against cheetah on a second libOS: what the client counts
# is what the server served, surge seeds reproduce, a killed server shows as errors,
# --merge cuts the client's packets per HTTP/1.0 request from 5 to 3, and a burst of
# connections to an unresolved host loses no SYN.
#
# Topology (DESIGN.md §5; helpers: daemons_common.sh):
#   A: xokd + arpd + strayd in namespace X own $XT_IF_A (libOS address $XT_ADDR_A); nginx
#      runs in namespace C on the peer ($XT_ADDR_B).
#   B: (if cheetah is built) a second pair, both ends owned by a libOS: the client's xokd
#      in namespace Y ($CADDR), cheetah's in namespace S ($SADDR), each with arpd and strayd.
# The clients run in the initial namespace and reach their xokd through --socket.
# Environment: XOKD, ARPD, STRAYD, XOKCTL, WEBSWAMP, SOCKCLIENT, WEBSWAMP_GEN; optionally
# CHEETAH (the part against cheetah is skipped, and says so, without it);
# XT_SWAMP_SECONDS (default 1.5).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/webswamp_common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/daemons_common.sh"

WS=${WEBSWAMP:?set WEBSWAMP to the webswamp binary}
SC=${SOCKCLIENT:?set SOCKCLIENT to the sockclient binary}
GEN=${WEBSWAMP_GEN:?set WEBSWAMP_GEN to the webswamp-gen binary}
XOKCTL=${XOKCTL:?set XOKCTL to the xokctl binary}
CHEETAH=${CHEETAH:-}
SECS=${XT_SWAMP_SECONDS:-1.5}

xt_require_root
xt_require_cmds nginx jq python3 ethtool
xt_init
# nginx's worker runs as nobody: it must be able to read the docroot under $XT_TMP.
chmod 755 "$XT_TMP"

# ---- the command line (no network needed) ----
xt_check "webswamp --help exits 0 and lists --merge, --no-cksum, --socket" \
	bash -c "'$WS' --help | grep -q -- --merge && '$WS' --help | grep -q -- --no-cksum &&
		 '$WS' --help | grep -q -- '--socket PATH'"
xt_check "sockclient --help exits 0" bash -c "'$SC' --help >/dev/null"
xt_check "sockclient refuses --merge (exit 2)" \
	bash -c "'$SC' --merge http://198.18.0.1/ 2>/dev/null; [ \$? = 2 ]"
xt_check "sockclient refuses --no-cksum (exit 2)" \
	bash -c "'$SC' --no-cksum http://198.18.0.1/ 2>/dev/null; [ \$? = 2 ]"
xt_check "webswamp wants a dotted address (exit 2)" \
	bash -c "'$WS' http://localhost/ 2>/dev/null; [ \$? = 2 ]"
xt_check "webswamp without xokd: exit 1, says so" \
	bash -c "'$WS' --socket '$XT_TMP/none.sock' -d 1 http://198.18.0.1/ 2>&1 >/dev/null |
		 grep -q 'cannot open a libOS stack on xokd'"

# ---- docroot: a Surge-like set, and fixed sizes ----
ROOT=$XT_TMP/www
"$GEN" -n 200 --seed 3 --max-size 200000 "$ROOT" >/dev/null || xt_die "webswamp-gen"
DOCSET=$ROOT/webswamp.docset
for s in 0 100 1024 10240; do head -c "$s" /dev/urandom >"$ROOT/f$s"; done

# ---- topology A: xokd, arpd, strayd; nginx on the Linux peer ----
xd_start_all
NSOCK=$SOCK
SRV=$XT_ADDR_B
LOG=$XT_TMP/access.log
xt_nginx_conf "$SRV" "$ROOT" "$LOG"

# start_nginx: nginx, serving; its access log empty.
start_nginx() {
	xt_nginx_start "$NS_C" "$NS_C" "$SRV" "$LOG"
}

# tx_frames SOCK: frames the xokd behind SOCK has sent on its (one) interface.
tx_frames() {
	"$XOKCTL" --socket "$1" stats --json | jq '.ifaces[0].tx'
}

# run NAME SOCK BINARY ARGS...: a libOS client, JSON to $XT_TMP/NAME.json; the frames its
# xokd sent meanwhile in $XT_TMP/NAME.tx.
run() {
	local name=$1 sock=$2 bin=$3 t0 t1
	shift 3
	t0=$(tx_frames "$sock")
	timeout -k 5 60 "$bin" --socket "$sock" --json "$@" >"$XT_TMP/$name.json" \
		2>"$XT_TMP/$name.err" || { cat "$XT_TMP/$name.err"; return 1; }
	t1=$(tx_frames "$sock")
	echo $((t1 - t0)) >"$XT_TMP/$name.tx"
}

j() { jq -r "$2" "$XT_TMP/$1.json"; }

# per_req NAME: the client xokd's transmitted frames per request, two decimals.
per_req() {
	awk -v f="$(cat "$XT_TMP/$1.tx")" -v r="$(j "$1" .requests)" \
		'BEGIN { printf "%.2f", r ? f / r : 0 }'
}

# log_matches NAME: nginx's access log agrees with the client's counts, exactly.
log_matches() {
	local name=$1 lines bytes non200
	lines=$(wc -l <"$LOG")
	bytes=$(awk '{s += $2} END {print s + 0}' "$LOG")
	non200=$(awk '$1 != 200' "$LOG" | wc -l)
	xt_check "$name: requests > 0 ($(j "$name" .requests), $(j "$name" .requests_per_sec)/s)" \
		test "$(j "$name" .requests)" -gt 0
	xt_expect_eq "$name: requests = nginx log lines" "$(j "$name" .requests)" "$lines"
	xt_expect_eq "$name: body bytes = sum of \$body_bytes_sent" "$(j "$name" .body_bytes)" \
		"$bytes"
	xt_expect_eq "$name: nginx served only 200s" "$non200" 0
	xt_expect_eq "$name: no errors" "$(j "$name" '[.errors[]] | add')" 0
}

start_nginx

# ---- a burst of connections to a host not resolved yet ----
# The first client run: its 200 SYNs wait together for ARP and fill xokd's queue at once.
# None may be dropped (to wait out a 1 s retransmission timeout instead).
: >"$LOG"
if run burst "$NSOCK" "$WS" -c 200 -d "$SECS" "http://$SRV/f0"; then
	log_matches burst
	xt_expect_eq "burst of 200: no frame dropped by the client's stack" \
		"$(j burst .stack.tx_dropped)" 0
	xt_check "burst of 200: (almost) no retransmission timeout ($(j burst .stack.timeouts))" \
		test "$(j burst .stack.timeouts)" -lt 20
else
	xt_check "burst: client ran" false
fi

# ---- fixed driver, HTTP/1.0, each client ----
# fixed NAME BINARY SIZE ARGS...
fixed() {
	local name=$1 bin=$2 s=$3
	shift 3
	: >"$LOG"
	run "$name" "$NSOCK" "$bin" -c 10 -d "$SECS" "$@" "http://$SRV/f$s" || {
		xt_check "$name: client ran" false
		return
	}
	log_matches "$name"
	xt_expect_eq "$name: one connection per request" "$(j "$name" .connects)" \
		"$(j "$name" .requests)"
	xt_expect_eq "$name: body bytes = requests x $s" "$(j "$name" .body_bytes)" \
		$(($(j "$name" .requests) * s))
	echo "  $name: $(per_req "$name") frames sent per request (xokd), client's stack:" \
		"$(j "$name" .packets.tx_per_request) sent, $(j "$name" .packets.rx_per_request) received"
}
for s in 0 100 10240; do
	fixed "webswamp_f$s" "$WS" "$s"
	fixed "mergeswamp_f$s" "$WS" "$s" --merge
done
fixed webswamp_nocksum "$WS" 1024 --no-cksum
fixed mergeswamp_nocksum "$WS" 1024 --merge --no-cksum
for s in 100 10240; do
	fixed "sockclient_f$s" "$SC" "$s"
done

# ---- packets per request (client side), 5 -> 3 (paper §6.2) ----
# packets NAME WEB MERGE: webswamp sends about 5 frames per HTTP/1.0 request for a small
# document (SYN, ACK, GET, ACK, FIN), mergeswamp about 3 (SYN, GET+ACK, FIN+ACK); by xokd's
# counters and by the client stack's own.
packets() {
	local name=$1 web=$2 merge=$3 w m ws ms
	w=$(per_req "$web")
	m=$(per_req "$merge")
	ws=$(j "$web" .packets.tx_per_request)
	ms=$(j "$merge" .packets.tx_per_request)
	echo "  $name: frames sent per request: webswamp $w, mergeswamp $m (xokd);" \
		"$ws, $ms (the clients' stacks)"
	xt_check "$name: mergeswamp sends fewer packets per request than webswamp ($m < $w)" \
		awk -v w="$w" -v m="$m" 'BEGIN { exit !(m < w) }'
	xt_check "$name: webswamp sends about 5 packets per request ($w, stack $ws)" \
		awk -v a="$w" -v b="$ws" 'BEGIN { exit !(a >= 4.8 && a <= 5.5 && b >= 4.8 && b <= 5.5) }'
	xt_check "$name: mergeswamp sends about 3 packets per request ($m, stack $ms)" \
		awk -v a="$m" -v b="$ms" 'BEGIN { exit !(a >= 2.9 && a <= 3.5 && b >= 2.9 && b <= 3.5) }'
}
packets "nginx 0 B" webswamp_f0 mergeswamp_f0
packets "nginx 100 B" webswamp_f100 mergeswamp_f100

# ---- keep-alive ----
for m in "" --merge; do
	name=keepalive${m:+_merge}
	: >"$LOG"
	run "$name" "$NSOCK" "$WS" -c 10 -d "$SECS" --keepalive $m "http://$SRV/f100" ||
		xt_die "webswamp --keepalive"
	log_matches "$name"
	xt_check "$name: at most one connection per client ($(j "$name" .connects))" \
		test "$(j "$name" .connects)" -le 10
done
: >"$LOG"
run keepalive_sock "$NSOCK" "$SC" -c 10 -d "$SECS" --keepalive "http://$SRV/f100" ||
	xt_die "sockclient --keepalive"
log_matches keepalive_sock

# ---- surge: counts, and the same seed gives the same request sequence ----
surge() { # surge NAME SEED [ARGS...]
	local name=$1 seed=$2
	shift 2
	: >"$LOG"
	run "$name" "$NSOCK" "$WS" -c 8 -d "$SECS" --driver surge --docset "$DOCSET" --think 2 \
		--seed "$seed" --trace "$XT_TMP/$name.trace" "$@" "http://$SRV/" ||
		xt_die "webswamp surge"
}
surge surge_a 42 --merge
log_matches surge_a
served=$(awk '{print $3}' "$LOG" | sort)
traced=$(awk '{print $4}' "$XT_TMP/surge_a.trace" | sort)
xt_check "surge: nginx served only traced URLs" \
	bash -c '[ -z "$(comm -23 <(echo "$1") <(echo "$2"))" ]' _ "$served" "$traced"
xt_check "surge: at most one untraced-by-nginx task per client" \
	test $(($(wc -l <"$XT_TMP/surge_a.trace") - $(wc -l <"$LOG"))) -le 8
xt_check "surge: more than 20 distinct documents" \
	test "$(awk '{print $3}' "$LOG" | sort -u | wc -l)" -gt 20
surge surge_b 42
log_matches surge_b
surge surge_c 43

xt_check "surge: same seed, same per-client request sequences (merge and not)" \
	same_prefix surge_a surge_b
xt_check "surge: another seed, other sequences" differs surge_a surge_c

# ---- the server dies mid-run: errors, counted and reported ----
# killed NAME KILLFN BINARY ARGS... : run the client for 3 s, call KILLFN after 1 s.
killed() {
	local name=$1 killfn=$2 bin=$3 pid
	shift 3
	xt_spawn - timeout -k 5 60 "$bin" --json -c 10 -d 3 --timeout 500 "$@" \
		>"$XT_TMP/$name.json" 2>"$XT_TMP/$name.err"
	pid=$XT_PID
	sleep 1
	"$killfn"
	for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	xt_stop "$pid" TERM 5
	xt_expect_eq "$name: the client exits 0 with a report" "$?" 0
	xt_check "$name: requests before the kill ($(j "$name" .requests))" \
		test "$(j "$name" .requests)" -gt 0
	xt_check "$name: errors after it ($(j "$name" '.errors | tostring'))" \
		test "$(j "$name" '[.errors[]] | add')" -gt 0
}
kill_nginx() {
	# Only the nginx we started: its master and the master's children (the worker).
	local workers
	workers=$(ps -o pid= --ppid "$NGINX_PID")
	kill -KILL "$NGINX_PID" $workers 2>/dev/null
	{ wait "$NGINX_PID"; } 2>/dev/null
}
: >"$LOG"
killed kill_webswamp kill_nginx "$WS" --socket "$NSOCK" --merge "http://$SRV/f100"
xt_check "kill_webswamp: connect errors ($(j kill_webswamp .errors.connect))" \
	test "$(j kill_webswamp .errors.connect)" -gt 0
xt_check "kill_webswamp: every request nginx logged was counted or failed" \
	test "$(wc -l <"$LOG")" -le \
	$(($(j kill_webswamp .requests) + $(j kill_webswamp '[.errors[]] | add')))
start_nginx
killed kill_sockclient kill_nginx "$SC" --socket "$NSOCK" "http://$SRV/f100"

# ---- topology B: webswamp on one libOS, cheetah on another ----
if [ -z "$CHEETAH" ] || [ ! -x "$CHEETAH" ]; then
	echo "SKIPPED: webswamp against cheetah: cheetah is not built (CHEETAH unset)"
	xt_finish
fi

# start_xok NAME NS IFACE ADDR: xokd, arpd and strayd for one end; socket $XT_TMP/NAME.sock.
start_xok() {
	local name=$1 ns=$2 ifc=$3 addr=$4 sock=$XT_TMP/$1.sock
	xt_spawn "$ns" "$XOKD" --iface "$ifc" --addr "$addr/24" --socket "$sock" \
		>"$XT_TMP/$name-xokd.log" 2>&1
	xt_wait_for "$XT_TMP/$name-xokd.log" ready 10 "$XT_PID" || return 1
	xt_spawn - "$ARPD" --socket "$sock" >"$XT_TMP/$name-arpd.log" 2>&1
	xt_wait_for "$XT_TMP/$name-arpd.log" "arpd: ready" 10 "$XT_PID" || return 1
	xt_spawn - "$STRAYD" --socket "$sock" >"$XT_TMP/$name-strayd.log" 2>&1
	xt_wait_for "$XT_TMP/$name-strayd.log" "strayd: ready" 10 "$XT_PID"
}
xt_netns NS_Y y || xt_die "netns"
xt_netns NS_S s || xt_die "netns"
xt_veth --no-addr-a "$NS_Y" "$NS_S" || xt_die "veth"
ip -n "$NS_S" addr flush dev "$XT_IF_B" # both ends belong to a libOS
CADDR=$XT_ADDR_A SADDR=$XT_ADDR_B
start_xok y "$NS_Y" "$XT_IF_A" "$CADDR" || xt_die "the client's xokd did not start"
start_xok s "$NS_S" "$XT_IF_B" "$SADDR" || xt_die "cheetah's xokd did not start"
CSOCK=$XT_TMP/y.sock SSOCK=$XT_TMP/s.sock

# start_cheetah: on port 80 of $SADDR; PID in CPID, log in $CLOG.  Ready once a libOS
# client's connect succeeds (sockclient, one request).
start_cheetah() {
	CLOG=$XT_TMP/cheetah.$(date +%s%N).log
	xt_spawn - "$CHEETAH" -r "$ROOT" -p 80 --socket "$SSOCK" --stats >"$CLOG" 2>&1
	CPID=$XT_PID
	xt_wait_for "$CLOG" "serving" 10 "$CPID" || { cat "$CLOG"; xt_die "cheetah did not start"; }
}
# stop_cheetah: SIGTERM; prints the requests it served.
stop_cheetah() {
	xt_stop "$CPID" TERM 10 >/dev/null
	sed -n 's/.*exiting after [0-9]* connections, \([0-9]*\) requests.*/\1/p' "$CLOG"
}

# against_cheetah NAME BINARY SIZE ARGS...: counts equal what cheetah says it served.
against_cheetah() {
	local name=$1 bin=$2 s=$3 served
	shift 3
	start_cheetah
	run "$name" "$CSOCK" "$bin" -c 10 -d "$SECS" "$@" "http://$SADDR/f$s" ||
		xt_check "$name: client ran" false
	served=$(stop_cheetah)
	xt_check "$name: requests > 0 ($(j "$name" .requests), $(j "$name" .requests_per_sec)/s)" \
		test "$(j "$name" .requests)" -gt 0
	xt_expect_eq "$name: requests = what cheetah served" "$(j "$name" .requests)" "$served"
	xt_expect_eq "$name: body bytes = requests x $s" "$(j "$name" .body_bytes)" \
		$(($(j "$name" .requests) * s))
	xt_expect_eq "$name: no errors" "$(j "$name" '[.errors[]] | add')" 0
	grep 'packets per request' "$CLOG" | sed "s/^/  $name: /"
}
against_cheetah cheetah_webswamp "$WS" 100
against_cheetah cheetah_mergeswamp "$WS" 100 --merge
against_cheetah cheetah_nocksum "$WS" 1024 --merge --no-cksum
against_cheetah cheetah_webswamp_10k "$WS" 10240
against_cheetah cheetah_sockclient "$SC" 100
packets "cheetah 100 B" cheetah_webswamp cheetah_mergeswamp

start_cheetah
kill_cheetah() {
	kill -KILL "$CPID" 2>/dev/null
	{ wait "$CPID"; } 2>/dev/null
}
killed kill_cheetah kill_cheetah "$WS" --socket "$CSOCK" --merge "http://$SADDR/f100"

xt_finish
