# xfwd.sh - the TCP forwarders (xfwd, splicefwd) between Linux clients and nginx backends
#
# Topology (fwd_common.sh): clients in $NS_C | xokd with two interfaces in $NS_X, with arpd,
# strayd, xfwd and splicefwd | two nginx (two addresses) and a scripted Python backend in
# $NS_S.  The client side keeps Linux's transmit checksum offload (frames reach xfwd with
# CHECKSUM_PARTIAL checksums, which it must complete); the backend side has it off (frames
# carry full checksums, which xfwd patches incrementally).
#
# Checks: downloads of 0 B .. 5 MB byte-exact through both forwarders; 2 MB echoed through
# xfwd (client-to-backend bulk and half-close); 200 parallel connections (xargs curl) per
# policy, spread over both backends (rr: balanced; hash: both used), wrk -c 200 without
# errors; per-connection return filters; resets: a refused connect and a backend's reset
# reach the client; connection state drains after FIN/RST; and the end-to-end check: with
# the backends' traffic held back, xfwd's client never gets an ACK for its request bytes,
# while splicefwd's does (both read from client-side captures).
#
# Environment: XOKD, ARPD, STRAYD, XFWD, SPLICEFWD, XOKCTL, IMPAIR_ATTACH (tests/impair's
# eBPF loader: it drops the backends' incoming frames for the end-to-end check).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/fwd_common.sh"
: "${XFWD:?path to xfwd}" "${SPLICEFWD:?path to splicefwd}" "${XOKCTL:?path to xokctl}"
: "${IMPAIR_ATTACH:?path to tests/impair/impair-attach}"
TOOLS="$(dirname "${BASH_SOURCE[0]}")/fwd_tools.py"

xt_require_root
xt_require_cmds curl nginx wrk tcpdump python3 ethtool xargs sha256sum
[ -x "$IMPAIR_ATTACH" ] || { echo "SKIP: $IMPAIR_ATTACH is not built"; exit 77; }
xt_init

fw_topology
ip netns exec "$NS_S" ethtool -K "$FW_IF_S" tx off >/dev/null || xt_die "ethtool"
fw_start_xokd || xt_die "xokd did not start"
fw_start_daemons || xt_die "arpd/strayd did not start"
ROOT=$XT_TMP/www
fw_docroot "$ROOT"
fw_nginx n1 "$FW_BE1" "$ROOT" || xt_die "nginx 1"
fw_nginx n2 "$FW_BE2" "$ROOT" || xt_die "nginx 2"
xt_spawn "$NS_S" python3 "$TOOLS" backend "$FW_BE1" 7007 >"$XT_TMP/pyback.log" 2>&1
PYBACK_PID=$XT_PID
fw_wait_for "$XT_TMP/pyback.log" listening 10 "$PYBACK_PID" || xt_die "python backend"

cli() {
	xt_in "$NS_C" "$@"
}

# start_xfwd NAME ARGS...: an xfwd instance, log appended to $XT_TMP/NAME.log, PID in the
# variable NAME.
start_xfwd() {
	local name=$1 log="$XT_TMP/$1.log" n
	shift
	n=$(grep -c "xfwd: ready" "$log" 2>/dev/null)
	xt_spawn - "$XFWD" --socket "$SOCK" --linger 0.5 --stats "$@" >>"$log" 2>&1
	printf -v "$name" '%s' "$XT_PID"
	xt_wait_log "$log" "xfwd: ready" 10 "$XT_PID" "${n:-0}"
}

# stats_of PID LOG FIELD: a counter from the daemon's latest SIGUSR1 dump.
stats_of() {
	local pid=$1 log=$2 field=$3 n i
	n=$(grep -c "conns: active" "$log")
	kill -USR1 "$pid"
	for i in $(seq 100); do
		[ "$(grep -c "conns: active" "$log")" -gt "$n" ] && break
		sleep 0.02
	done
	grep -E "^xfwd: (stats|conns):" "$log" | tail -2 | tr ' ' '\n' |
		grep -A1 -x -- "$field" | tail -1
}

# download_ok PORT FILE: byte-exact through the forwarder on PORT.
download_ok() {
	local port=$1 f=$2 out="$XT_TMP/dl.$1.$2" meta
	meta=$(cli curl -s --max-time 30 -o "$out" -w '%{http_code} %{size_download}' \
		"http://$FW_XC:$port/$f") || { echo "  curl failed: $meta"; return 1; }
	[ "$meta" = "200 $(stat -c %s "$ROOT/$f")" ] || { echo "  $f: $meta"; return 1; }
	[ "$(sha256sum <"$out" | cut -d' ' -f1)" = "$(sha256sum <"$ROOT/$f" | cut -d' ' -f1)" ]
}

# parallel PORT N: N connections, 50 at a time; prints how many got a 200.
parallel() {
	seq "$2" | cli xargs -P 50 -I{} curl -s --max-time 20 -o /dev/null -w '%{http_code}\n' \
		"http://$FW_XC:$1/f1024" | grep -c '^200$'
}

# ---- xfwd, round robin ----
start_xfwd XF --listen "$FW_XC:80" --backend "$FW_BE1:80,$FW_BE2:80" --policy rr \
	--ports 61440-63487 || xt_die "xfwd did not start"
xt_spawn - "$SPLICEFWD" --socket "$SOCK" --listen "$FW_XC:81" \
	--backend "$FW_BE1:80,$FW_BE2:80" --stats >"$XT_TMP/splicefwd.log" 2>&1
SPLICE=$XT_PID
fw_wait_for "$XT_TMP/splicefwd.log" "splicefwd: ready" 10 "$SPLICE" || xt_die "splicefwd"

for f in f0 f1024 f102400 f5242880; do
	xt_check "xfwd: GET $f byte-exact" download_ok 80 "$f"
	xt_check "splicefwd: GET $f byte-exact" download_ok 81 "$f"
done
echo "info: xfwd completed $(stats_of "$XF" "$XT_TMP/XF.log" csum_partial) CHECKSUM_PARTIAL" \
	"checksums from the offloading client side"
merged=$(stats_of "$XF" "$XT_TMP/XF.log" merged_segs)
echo "info: xfwd joined $merged segments into $(stats_of "$XF" "$XT_TMP/XF.log" merged_frames)" \
	"offload frames"
xt_check "xfwd: the backends' segment trains left in joined offload frames" test "${merged:-0}" -gt 0

a1=$(fw_access_count n1) a2=$(fw_access_count n2)
xt_expect_eq "xfwd rr: 200 parallel connections, all 200 OK" "$(parallel 80 200)" 200
d1=$(($(fw_access_count n1) - a1)) d2=$(($(fw_access_count n2) - a2))
echo "info: rr: backend 1 got $d1, backend 2 got $d2"
xt_check "xfwd rr: both backends used, balanced (80..120 each of 200)" \
	test "$d1" -ge 80 -a "$d1" -le 120 -a "$d2" -ge 80 -a "$d2" -le 120
xt_expect_eq "splicefwd: 200 parallel connections, all 200 OK" "$(parallel 81 200)" 200

out=$(cli wrk -t 2 -c 200 -d 3 --timeout 5s "http://$FW_XC:80/f1024" 2>&1)
echo "$out" | sed 's/^/  wrk: /'
xt_check "xfwd: wrk -c 200 completed requests" grep -Eq '[1-9][0-9]* requests in' <<<"$out"
xt_check "xfwd: wrk -c 200 without socket errors or non-2xx" \
	bash -c "! grep -Eq 'Socket errors|Non-2xx' <<<'$out'"

# Connection state drains: both FINs (or a RST) seen, then the linger time.
sleep 1.2
xt_expect_eq "xfwd: no connection left after the clients closed" \
	"$(stats_of "$XF" "$XT_TMP/XF.log" active)" 0
xt_expect_eq "xfwd: nothing dropped for lack of a connection or backend" \
	"$(stats_of "$XF" "$XT_TMP/XF.log" no_backend)/$(stats_of "$XF" "$XT_TMP/XF.log" \
	malformed)" "0/0"

# ---- the end-to-end check: hold the backends' traffic back after the handshake ----
# e2e PORT NAME: prints the acks line for a request sent while the backends are cut off.
e2e() {
	local port=$1 name=$2 pcap="$XT_TMP/$2.pcap" gate="$XT_TMP/$2.gate" lport cap
	xt_spawn "$NS_C" tcpdump -i "$FW_IF_C" -U -s 128 -w "$pcap" "tcp port $port" \
		>"$XT_TMP/$name.tcpdump" 2>&1
	cap=$XT_PID
	fw_wait_for "$XT_TMP/$name.tcpdump" "listening on" 5 "$cap"
	xt_spawn "$NS_C" python3 "$TOOLS" hold "$FW_XC" "$port" "$gate" 300 \
		>"$XT_TMP/$name.hold" 2>&1
	local hold=$XT_PID
	fw_wait_for "$XT_TMP/$name.hold" "connected" 5 "$hold"
	lport=$(awk '/connected/ {print $2}' "$XT_TMP/$name.hold")
	sleep 0.3 # the handshake's last ACK has reached the backend
	ip netns exec "$NS_S" "$IMPAIR_ATTACH" --dev "$FW_IF_S" --ingress --drop 100 --dup 0 \
		--reorder 0 >"$XT_TMP/$name.impair" 2>&1 || cat "$XT_TMP/$name.impair" >&2
	touch "$gate"
	fw_wait_for "$XT_TMP/$name.hold" "sent" 10 "$hold"
	xt_stop "$hold" TERM 5 >/dev/null
	ip netns exec "$NS_S" "$IMPAIR_ATTACH" --dev "$FW_IF_S" --ingress --stats |
		sed 's/^/  impair: /' >&2
	ip netns exec "$NS_S" "$IMPAIR_ATTACH" --dev "$FW_IF_S" --ingress --detach
	sleep 0.2
	xt_stop "$cap" INT 5 >/dev/null
	python3 "$TOOLS" acks "$pcap" "$lport" 300
}
line=$(e2e 80 xfwd-e2e)
echo "info: xfwd: $line"
xt_check "xfwd: the handshake was the backend's (SYN-ACK through xfwd)" \
	grep -q "syn_ack_from_peer=1" <<<"$line"
xt_check "xfwd: no ACK for any request byte while the backend is cut off (end to end)" \
	grep -q "max_ack_rel=0 covers=0" <<<"$line"
line=$(e2e 81 splice-e2e)
echo "info: splicefwd: $line"
xt_check "splicefwd: acknowledges the request bytes itself (no end-to-end semantics)" \
	grep -q "covers=1" <<<"$line"

# ---- resets, and client-to-backend bulk, through a second instance ----
start_xfwd XE --listen "$FW_XC:7" --backend "$FW_BE1:7007" --ports 63488-65535 ||
	xt_die "second xfwd did not start"
xt_expect_eq "xfwd: 2 MB echoed back byte-exact (client->backend bulk, half-close)" \
	"$(cli python3 "$TOOLS" echo "$FW_XC" 7 2097152)" ok
xt_expect_eq "xfwd: the backend's reset reaches the client" \
	"$(cli python3 "$TOOLS" reset "$FW_XC" 7)" reset
xt_stop "$PYBACK_PID" TERM 5
line=$(cli python3 "$TOOLS" refused "$FW_XC" 7)
echo "info: $line"
xt_check "xfwd: a refused connect (the backend's RST) reaches the client" \
	grep -q "^refused" <<<"$line"
sleep 0.8
xt_expect_eq "xfwd: reset connections drain too" "$(stats_of "$XE" "$XT_TMP/XE.log" active)" 0
xt_stop "$XE" TERM 5 >/dev/null

# ---- hash policy ----
xt_stop "$XF" TERM 5 >/dev/null
start_xfwd XF --listen "$FW_XC:80" --backend "$FW_BE1:80,$FW_BE2:80" --policy hash ||
	xt_die "xfwd --policy hash did not start"
a1=$(fw_access_count n1) a2=$(fw_access_count n2)
xt_expect_eq "xfwd hash: 200 parallel connections, all 200 OK" "$(parallel 80 200)" 200
d1=$(($(fw_access_count n1) - a1)) d2=$(($(fw_access_count n2) - a2))
echo "info: hash: backend 1 got $d1, backend 2 got $d2"
xt_check "xfwd hash: spread over both backends (at least 50 of 200 each)" \
	test "$d1" -ge 50 -a "$d2" -ge 50
xt_stop "$XF" TERM 5 >/dev/null

# ---- per-connection return filters ----
start_xfwd XF --listen "$FW_XC:80" --backend "$FW_BE1:80,$FW_BE2:80" --return-filter conn ||
	xt_die "xfwd --return-filter conn did not start"
for f in f0 f102400 f5242880; do
	xt_check "xfwd (filter per connection): GET $f byte-exact" download_ok 80 "$f"
done
xt_expect_eq "xfwd (filter per connection): 100 parallel connections, all 200 OK" \
	"$(parallel 80 100)" 100
sleep 1.2
inserts=$(stats_of "$XF" "$XT_TMP/XF.log" filter_inserts)
echo "info: per-connection filters installed: $inserts"
xt_check "xfwd (filter per connection): a filter per connection" test "$inserts" -ge 103
nfilt=$("$XOKCTL" --socket "$SOCK" apps --json | python3 -c "
import json, sys
j = json.load(sys.stdin)
apps = j['apps'] if isinstance(j, dict) else j
print([a['filters'] for a in apps if a.get('pid') == $XF][0])")
xt_expect_eq "xfwd (filter per connection): filters removed with their connections" \
	"$nfilt" 1

xt_stop "$XF" TERM 5 >/dev/null
sed -n 's/^/  /p' "$XT_TMP/XF.log" | grep -E "stats|conns|backend" | tail -4

# ---- joining under loss, duplication and reordering (xokd --impair on receive) ----
# A duplicate or a gap never joins a train, and what joins arrives byte-exact.  Receive
# only: xokd offers segmentation offload while its transmission is not impaired.
xt_stop "$STRAYD_PID" TERM 5
xt_stop "$ARPD_PID" TERM 5
xt_stop "$XOKD_PID" TERM 5
for d in xokd arpd strayd; do mv "$XT_TMP/$d.log" "$XT_TMP/$d.1.log"; done # fresh "ready" lines
FW_XOKD_EXTRA=(--impair "drop=2,dup=2,reorder=3,seed=11,dir=rx")
fw_start_xokd || xt_die "xokd --impair did not start"
fw_start_daemons || xt_die "arpd/strayd did not start"
start_xfwd XI --listen "$FW_XC:80" --backend "$FW_BE1:80,$FW_BE2:80" ||
	xt_die "xfwd (impaired) did not start"
for f in f102400 f5242880; do
	xt_check "xfwd under 2% loss, 2% duplication, 3% reordering: GET $f byte-exact" \
		download_ok 80 "$f"
done
merged=$(stats_of "$XI" "$XT_TMP/XI.log" merged_segs)
echo "info: impaired: xfwd joined $merged segments into" \
	"$(stats_of "$XI" "$XT_TMP/XI.log" merged_frames) offload frames"
xt_check "xfwd: trains joined under impairment too" test "${merged:-0}" -gt 0
"$XOKCTL" --socket "$SOCK" impair | sed 's/^/  /'
xt_stop "$XI" TERM 5 >/dev/null
xt_finish
