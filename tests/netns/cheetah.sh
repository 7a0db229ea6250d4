#!/usr/bin/env bash
# cheetah.sh - cheetah on xokd (+ arpd, strayd) against curl, nc and wrk on Linux over a veth
#
# Environment: XOKD, XOKCTL, XOK_TESTAPP, ARPD, STRAYD, CHEETAH, CHEETAH_PREP; optionally
# IMPAIR_ATTACH (loss tests), XT_WRK_DURATION (default 20s), XT_WRK_CONNS (default 500).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/http_xok.sh"

: "${CHEETAH:?path to cheetah}" "${CHEETAH_PREP:?path to cheetah-prep}"
WRK_DURATION=${XT_WRK_DURATION:-20s}
WRK_CONNS=${XT_WRK_CONNS:-500}
PORT=8080
TIMEOUT_S=2 # the server's stall timeout (-t), short to test it quickly

xt_require_root
xt_require_cmds curl nc wrk sha256sum python3
xt_init

ROOT="$XT_TMP/www"
hx_docroot "$ROOT"
# Precomputed checksums for everything, then one file changed behind cheetah-prep's back:
# its entry is stale and cheetah must compute its sums (and still send it byte-exact).
"$CHEETAH_PREP" -q "$ROOT" || xt_die "cheetah-prep failed"
head -c 102400 /dev/urandom >"$ROOT/f100k.new" && mv "$ROOT/f100k.new" "$ROOT/f100k"
touch -d '+1 min' "$ROOT/f100k"

hx_topology

# start_cheetah ARGS...: a cheetah with the given options; PID in CPID, log in $CLOG.
start_cheetah() {
	CLOG="$XT_TMP/cheetah.$(date +%s%N).log"
	xt_spawn - "$CHEETAH" -r "$ROOT" -p "$PORT" -t "$TIMEOUT_S" --socket "$SOCK" --stats -v \
		"$@" >"$CLOG" 2>&1
	CPID=$XT_PID
	xt_wait_port "$NS_C" "$SRV" "$PORT" 10 || { cat "$CLOG"; xt_die "cheetah did not start"; }
}

# stop_cheetah LABEL: SIGTERM; checks a clean exit with nothing left in flight.
stop_cheetah() {
	xt_stop "$CPID" TERM 10
	xt_expect_eq "$1: SIGTERM: clean exit status" "$?" 0
	xt_check "$1: exit message" grep -q 'exiting after' "$CLOG"
	xt_check "$1: no response left in flight" bash -c "! grep -q 'still in flight' '$CLOG'"
}

# packets_per_request N PATH: xokd's frames in + out per HTTP/1.0 (Connection: close)
# request, over N sequential requests.
packets_per_request() {
	local n=$1 path=$2 p0 p1 i
	p0=$(hx_iface_packets)
	for i in $(seq "$n"); do
		hx_cli curl -s --http1.0 -o /dev/null "http://$SRV:$PORT$path"
	done
	sleep 0.3 # the last FIN/ACK exchange
	p1=$(hx_iface_packets)
	echo $(((p1 - p0) * 100 / n))
}

start_cheetah

# ---- byte-exact downloads, headers ----
hx_downloads "cheetah"
# the large ones left in frames of many segments, cut by the kernel (XOK_TX_TCP_GSO)
GSO=$("$XOKCTL" --socket "$SOCK" tx --json |
	python3 -c "import json, sys; print(sum(a['tx_gso'] for a in json.load(sys.stdin)['apps_tx'] if a['pid'] == $CPID))")
xt_check "downloads went out through TCP segmentation offload ($GSO frames)" test "${GSO:-0}" -gt 0
xt_check "symlink inside the docroot is served" hx_download_ok link_in
xt_check "Range is ignored: full 200 response" hx_download_ok f100k -r 0-99
xt_check "directory serves its index.html" \
	bash -c "[ \"\$(ip netns exec $NS_C curl -s http://$SRV:$PORT/dir/)\" = '<h1>dir</h1>' ]"
hdrs=$(hx_cli curl -s -D - -o /dev/null "http://$SRV:$PORT/index.html" | tr -d '\r')
xt_check "Content-Type text/html" grep -q '^Content-Type: text/html' <<<"$hdrs"
xt_check "Last-Modified is an IMF-fixdate" \
	grep -Eq '^Last-Modified: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT$' \
	<<<"$hdrs"
xt_check "Date is now, an IMF-fixdate (RFC 9110 6.6.1)" \
	python3 -c "import email.utils, sys, time; d = email.utils.parsedate_to_datetime(sys.argv[1]); sys.exit(abs(d.timestamp() - time.time()) > 5)" \
	"$(sed -n 's/^Date: //p' <<<"$hdrs")"
xt_check "Server: cheetah" grep -q '^Server: cheetah$' <<<"$hdrs"

# ---- keep-alive and pipelining ----
hx_keepalive "cheetah"
resp=$(hx_raw 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nHEAD /f1460 HTTP/1.1\r\nHost: x\r\n\r\nGET /dir/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | tr -d '\r' | grep -a -E '^(HTTP/1.1|Content-Length)')
want=$(printf 'HTTP/1.1 200 OK\nContent-Length: 15\nHTTP/1.1 200 OK\nContent-Length: 1460\nHTTP/1.1 200 OK\nContent-Length: 13')
xt_expect_eq "pipelined GET, HEAD, GET answered in order" "$resp" "$want"
pipe100() { # 100 pipelined requests in one write: 100 responses, in order
	local req="" i
	for i in $(seq 99); do req+="GET /f1461 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"; done
	req+="GET /f1 HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n"
	hx_raw "$req" >"$XT_TMP/pipe.out"
	[ "$(grep -ao 'HTTP/1.1 200 OK' "$XT_TMP/pipe.out" | wc -l)" = 100 ] &&
		[ "$(stat -c %s "$XT_TMP/pipe.out")" -gt $((99 * 1461 + 1)) ]
}
xt_check "100 pipelined requests (beyond the in-flight limit) all answered" pipe100

# ---- HEAD ----
head_bytes() {
	hx_raw 'HEAD /f100k HTTP/1.0\r\n\r\n' >"$XT_TMP/head.out"
	grep -q 'Content-Length: 102400' "$XT_TMP/head.out" &&
		[ "$(tail -c 4 "$XT_TMP/head.out" | od -An -tx1 | tr -d ' \n')" = 0d0a0d0a ]
}
xt_check "HEAD: Content-Length of the file, no body" head_bytes
xt_expect_eq "HEAD via curl" "$(hx_cli curl -s -I -o /dev/null -w '%{http_code}' \
	"http://$SRV:$PORT/f5m")" 200

# ---- error statuses ----
B="http://$SRV:$PORT"
xt_expect_eq "404 for a missing file" "$(hx_status_of "$B/nonexistent")" 404
xt_expect_eq "400 for garbage" "$(hx_raw_status 'BLAH\r\n\r\n')" 400
xt_expect_eq "400 for HTTP/0.9" "$(hx_raw_status 'GET /\r\n\r\n')" 400
xt_expect_eq "400 for HTTP/1.1 without Host" "$(hx_raw_status 'GET / HTTP/1.1\r\n\r\n')" 400
xt_expect_eq "405 for POST" "$(hx_status_of -X POST -d x "$B/index.html")" 405
xt_check "405 carries Allow: GET, HEAD" bash -c \
	"ip netns exec $NS_C curl -s -D - -o /dev/null -X DELETE $B/ | grep -q 'Allow: GET, HEAD'"
xt_expect_eq "405 for an unknown method" \
	"$(hx_raw_status 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n')" 405
long=$(head -c 9000 /dev/zero | tr '\0' a)
xt_expect_eq "414 for a 9000-byte target" "$(hx_status_of "$B/$long")" 414
xt_expect_eq "505 for HTTP/2.0" "$(hx_raw_status 'GET / HTTP/2.0\r\nHost: x\r\n\r\n')" 505
xt_expect_eq "505 for HTTP/3.0" "$(hx_raw_status 'GET / HTTP/3.0\r\n\r\n')" 505
big_hdr=$(head -c 17000 /dev/zero | tr '\0' h)
xt_expect_eq "431 for 17 KB of headers" \
	"$(hx_raw_status "GET / HTTP/1.1\\r\\nHost: x\\r\\nX-Big: $big_hdr\\r\\n\\r\\n")" 431
xt_check "error body arrives whole (404 page)" bash -c \
	"ip netns exec $NS_C curl -s $B/nonexistent | grep -q '<h1>404 Not Found</h1>'"

# ---- path escapes: never a 200, never the file's content ----
escape_refused() { # escape_refused PATH WANT-STATUS
	local body st
	body=$(hx_cli curl -s --max-time 10 --path-as-is -w '\n%{http_code}' "$B$1")
	st=${body##*$'\n'}
	[ "$st" = "$2" ] && ! grep -q 'root:\|outside\|hidden\|git\|XOKCKSUM' <<<"${body%$'\n'*}"
}
for spec in '/../../etc/passwd 400' '/%2e%2e/%2e%2e/etc/passwd 400' '/.%2e/etc/passwd 400' \
	'/dir/%2e%2e/%2e%2e/up 400' '/a%2f..%2f..%2fetc%2fpasswd 400' '//etc//passwd 404' \
	'/passwd 404' '/etc/passwd 404' '/up 404' '/.hidden 404' '/%2ehidden 404' \
	'/.git/config 404' '/.cheetah-sums 404' '/link_hidden 404' '/%00 400' \
	'/index.html%00.txt 400' '/empty_dir/ 404'; do
	xt_check "refused: ${spec% *} -> ${spec#* }" escape_refused ${spec% *} ${spec#* }
done

# ---- stalled and aborting clients ----
stall_ms() {
	hx_cli timeout 15 bash -c "exec 3<>/dev/tcp/$SRV/$PORT; printf 'GET / HTTP/1.1\r\n' >&3
		s=\$(date +%s%N); cat <&3 >/dev/null; e=\$(date +%s%N); echo \$(((e - s) / 1000000))"
}
ms=$(stall_ms)
xt_check "a stalled request is timed out after ~${TIMEOUT_S}s (took ${ms}ms)" \
	test "${ms:-0}" -ge $((TIMEOUT_S * 1000 - 100)) -a "${ms:-99999}" -le $((TIMEOUT_S * 1000 + 2000))
trickle_ms() { # one header byte every 0.3 s: progress, but the request never completes
	hx_cli timeout 15 bash -c "trap '' PIPE; exec 3<>/dev/tcp/$SRV/$PORT; s=\$(date +%s%N)
		printf 'GET / HTTP/1.1\r\n' >&3
		while printf 'X' >&3 2>/dev/null; do sleep 0.3; done
		e=\$(date +%s%N); echo \$(((e - s) / 1000000))" 2>/dev/null
}
ms=$(trickle_ms)
xt_check "a trickling request is cut off after ~${TIMEOUT_S}s (took ${ms}ms)" \
	test "${ms:-0}" -ge $((TIMEOUT_S * 1000 - 100)) -a "${ms:-99999}" -le $((TIMEOUT_S * 1000 + 2000))
for _ in $(seq 20); do
	# Ask for 5 MB, then close without reading: the server's segments meet a reset.
	hx_cli bash -c "exec 3<>/dev/tcp/$SRV/$PORT; printf 'GET /f5m HTTP/1.1\r\nHost: x\r\n\r\n' >&3
		sleep 0.05; exec 3<&-" 2>/dev/null
done
# A reader that stops reading: its window closes, the response stalls, the timeout resets it.
hx_cli timeout 10 bash -c "exec 3<>/dev/tcp/$SRV/$PORT; printf 'GET /f5m HTTP/1.1\r\nHost: x\r\n\r\n' >&3; sleep $((TIMEOUT_S + 2))" 2>/dev/null
hx_cli curl -s --max-time 0.3 --limit-rate 200k -o /dev/null "$B/f5m"
sleep 0.5
xt_check "server alive after aborting and stalling clients" kill -0 "$CPID"
xt_check "still serving after aborts" hx_download_ok f5m

# ---- packet merging: packets per Connection: close request (xokd's counters) ----
ppr_merge=$(packets_per_request 50 /f1)
echo "  packets per HTTP/1.0 request (1 B file), merging on: $(printf '%d.%02d' $((ppr_merge / 100)) $((ppr_merge % 100)))"

# ---- load ----
hx_wrk "wrk -c $WRK_CONNS keep-alive" "$WRK_CONNS" "$WRK_DURATION" /f1460
hx_wrk "wrk -c 50 Connection: close" 50 3s /f1 -H 'Connection: close'
stop_cheetah "cheetah"
grep -E 'cheetah: 5[0-9][0-9] for' "$CLOG" | sed 's/^/  /'
xt_check "the checksum index was used" grep -Eq 'sums [1-9][0-9]* from index' "$CLOG"
# xokd segments here: replies of several segments leave in frames the kernel sums as it cuts
# them, so no sums go with them and no header is sent alone to line them up.
xt_check "segmented: replies went out in multi-segment frames" \
	grep -Eq '\([1-9][0-9]* segmented by xokd\)' "$CLOG"
xt_check "segmented: no header sent alone for the sums" grep -q '(0 aligned)' "$CLOG"
grep 'stats:' "$CLOG" | sed 's/^/  /'

# ---- each specialisation off in turn: still correct ----
for opt in --no-merge --no-precsum --no-prehdr --no-cache; do
	start_cheetah "$opt"
	hx_downloads "cheetah $opt"
	hx_keepalive "cheetah $opt"
	xt_expect_eq "cheetah $opt: 404" "$(hx_status_of "$B/nonexistent")" 404
	xt_expect_eq "cheetah $opt: 505" \
		"$(hx_raw_status 'GET / HTTP/2.0\r\nHost: x\r\n\r\n')" 505
	xt_check "cheetah $opt: 100 pipelined requests" pipe100
	if [ "$opt" = --no-merge ]; then
		ppr_nomerge=$(packets_per_request 50 /f1)
		echo "  packets per HTTP/1.0 request (1 B file), merging off: $(printf '%d.%02d' $((ppr_nomerge / 100)) $((ppr_nomerge % 100)))"
		xt_check "merging saves 2 packets per request ($ppr_merge vs $ppr_nomerge / 100)" \
			test $((ppr_nomerge - ppr_merge)) -ge 180
	fi
	hx_wrk "cheetah $opt: wrk -c 100" 100 3s /f100k
	stop_cheetah "cheetah $opt"
done

# ---- loss, duplication and reordering (tests/impair) ----
# RTO back-off under 5% loss can exceed the short stall timeout: give it room here.
TIMEOUT_S=30 start_cheetah
if hx_impair_on; then
	hx_downloads "cheetah under loss" --max-time 120
	hx_impair_off
fi
stop_cheetah "cheetah (loss run)"
grep 'stats: tcp' "$CLOG" | sed 's/^/  /'

# ---- precomputed sums where xokd does not segment (xokd --no-gso) ----
# One frame per segment: the data segments line up with the sums behind a header sent
# alone, and the stale entry (f100k) is noticed and its sums computed.
xt_stop "$XOKD_PID" TERM 10 # arpd and strayd exit with it
xk_start_xokd --no-gso || xt_die "xokd --no-gso did not start"
xt_spawn - "$ARPD" --socket "$SOCK" >>"$XT_TMP/arpd.log" 2>&1
xt_spawn - "$STRAYD" --socket "$SOCK" >>"$XT_TMP/strayd.log" 2>&1
start_cheetah
for f in f1 f1461 f100k f5m; do
	xt_check "unsegmented: GET $f byte-exact" hx_download_ok "$f"
done
stop_cheetah "cheetah (xokd --no-gso)"
grep 'stats: precsum' "$CLOG" | sed 's/^/  /'
xt_check "unsegmented: data segments lined up with the sums" \
	grep -Eq '\([1-9][0-9]* aligned\)' "$CLOG"
xt_check "unsegmented: the stale index entry was noticed and computed" \
	grep -Eq '[1-9][0-9]* stale' "$CLOG"
xt_check "unsegmented: no multi-segment frames" grep -q '(0 segmented by xokd)' "$CLOG"
xt_finish
