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
hc_docroot "$ROOT"
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
		hc_cli curl -s --http1.0 -o /dev/null "http://$SRV:$PORT$path"
	done
	sleep 0.3 # the last FIN/ACK exchange
	p1=$(hx_iface_packets)
	echo $(((p1 - p0) * 100 / n))
}

start_cheetah

# ---- byte-exact downloads, headers ----
hc_downloads "cheetah"
# the large ones left in frames of many segments, cut by the kernel (XOK_TX_TCP_GSO)
GSO=$("$XOKCTL" --socket "$SOCK" tx --json |
	python3 -c "import json, sys; print(sum(a['tx_gso'] for a in json.load(sys.stdin)['apps_tx'] if a['pid'] == $CPID))")
xt_check "downloads went out through TCP segmentation offload ($GSO frames)" test "${GSO:-0}" -gt 0
hc_headers

# ---- keep-alive and pipelining ----
hc_keepalive "cheetah"
hc_pipelined
pipe100() { # 100 pipelined requests in one write: 100 responses, in order
	local req="" i
	for i in $(seq 99); do req+="GET /f1461 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"; done
	req+="GET /f1 HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n"
	hc_raw "$req" >"$XT_TMP/pipe.out"
	[ "$(grep -ao 'HTTP/1.1 200 OK' "$XT_TMP/pipe.out" | wc -l)" = 100 ] &&
		[ "$(stat -c %s "$XT_TMP/pipe.out")" -gt $((99 * 1461 + 1)) ]
}
xt_check "100 pipelined requests (beyond the in-flight limit) all answered" pipe100

# ---- HEAD ----
hc_head

# ---- error statuses ----
B="http://$SRV:$PORT"
hc_errors

# ---- path escapes: never a 200, never the file's content ----
hc_escapes

# ---- stalled and aborting clients ----
hc_stalls
hc_abort_clients
# A reader that stops reading: its window closes, the response stalls, the timeout resets it.
hc_cli timeout 10 bash -c "exec 3<>/dev/tcp/$SRV/$PORT; printf 'GET /f5m HTTP/1.1\r\nHost: x\r\n\r\n' >&3; sleep $((TIMEOUT_S + 2))" 2>/dev/null
hc_cli curl -s --max-time 0.3 --limit-rate 200k -o /dev/null "$B/f5m"
sleep 0.5
xt_check "server alive after aborting and stalling clients" kill -0 "$CPID"
xt_check "still serving after aborts" hc_download_ok f5m

# ---- packet merging: packets per Connection: close request (xokd's counters) ----
ppr_merge=$(packets_per_request 50 /f1)
echo "  packets per HTTP/1.0 request (1 B file), merging on: $(printf '%d.%02d' $((ppr_merge / 100)) $((ppr_merge % 100)))"

# ---- load ----
hc_wrk "wrk -c $WRK_CONNS keep-alive" "$WRK_CONNS" "$WRK_DURATION" /f1460
hc_wrk "wrk -c 50 Connection: close" 50 3s /f1 -H 'Connection: close'
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
	hc_downloads "cheetah $opt"
	hc_keepalive "cheetah $opt"
	xt_expect_eq "cheetah $opt: 404" "$(hc_status_of "$B/nonexistent")" 404
	xt_expect_eq "cheetah $opt: 505" \
		"$(hc_raw_status 'GET / HTTP/2.0\r\nHost: x\r\n\r\n')" 505
	xt_check "cheetah $opt: 100 pipelined requests" pipe100
	if [ "$opt" = --no-merge ]; then
		ppr_nomerge=$(packets_per_request 50 /f1)
		echo "  packets per HTTP/1.0 request (1 B file), merging off: $(printf '%d.%02d' $((ppr_nomerge / 100)) $((ppr_nomerge % 100)))"
		xt_check "merging saves 2 packets per request ($ppr_merge vs $ppr_nomerge / 100)" \
			test $((ppr_nomerge - ppr_merge)) -ge 180
	fi
	hc_wrk "cheetah $opt: wrk -c 100" 100 3s /f100k
	stop_cheetah "cheetah $opt"
done

# ---- loss, duplication and reordering (tests/impair) ----
# RTO back-off under 5% loss can exceed the short stall timeout: give it room here.
TIMEOUT_S=30 start_cheetah
if hx_impair_on; then
	hc_downloads "cheetah under loss" --max-time 120
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
	xt_check "unsegmented: GET $f byte-exact" hc_download_ok "$f"
done
stop_cheetah "cheetah (xokd --no-gso)"
grep 'stats: precsum' "$CLOG" | sed 's/^/  /'
xt_check "unsegmented: data segments lined up with the sums" \
	grep -Eq '\([1-9][0-9]* aligned\)' "$CLOG"
xt_check "unsegmented: the stale index entry was noticed and computed" \
	grep -Eq '[1-9][0-9]* stale' "$CLOG"
xt_check "unsegmented: no multi-segment frames" grep -q '(0 segmented by xokd)' "$CLOG"
xt_finish
