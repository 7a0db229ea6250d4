#!/usr/bin/env bash
# httpd_exos.sh - httpd (the socket baseline on libexos) on xokd (+ arpd, strayd) against
# curl, nc and wrk on Linux over a veth pair: the shorter set of cheetah.sh
#
# Environment: XOKD, XOKCTL, XOK_TESTAPP, ARPD, STRAYD, HTTPD; optionally IMPAIR_ATTACH.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/http_xok.sh"

: "${HTTPD:?path to httpd}"
PORT=8080

xt_require_root
xt_require_cmds curl nc wrk sha256sum python3
xt_init

ROOT="$XT_TMP/www"
hc_docroot "$ROOT"
hx_topology

# start_httpd TIMEOUT_S: httpd on the libOS (its default stack reads $XOK_SOCKET).
start_httpd() {
	HLOG="$XT_TMP/httpd.$(date +%s%N).log"
	XOK_SOCKET=$SOCK xt_spawn - "$HTTPD" -r "$ROOT" -a "$SRV" -p "$PORT" -t "$1" >"$HLOG" 2>&1
	HPID=$XT_PID
	xt_wait_port "$NS_C" "$SRV" "$PORT" 10 || { cat "$HLOG"; xt_die "httpd did not start"; }
}

stop_httpd() {
	xt_stop "$HPID" TERM 10
	xt_expect_eq "$1: SIGTERM: clean exit status" "$?" 0
	xt_check "$1: exit message" grep -q 'exiting after' "$HLOG"
}

start_httpd 10
hc_downloads "httpd"
hc_keepalive "httpd"
hc_pipelined
B="http://$SRV:$PORT"
xt_expect_eq "404 for a missing file" "$(hc_status_of "$B/nonexistent")" 404
xt_expect_eq "400 for garbage" "$(hc_raw_status 'BLAH\r\n\r\n')" 400
xt_expect_eq "405 for POST" "$(hc_status_of -X POST -d x "$B/index.html")" 405
xt_expect_eq "505 for HTTP/2.0" "$(hc_raw_status 'GET / HTTP/2.0\r\nHost: x\r\n\r\n')" 505
xt_expect_eq "refused: /../../etc/passwd" "$(hc_status_of "$B/../../etc/passwd")" 400
hc_wrk "httpd: wrk -c 100" 100 5s /f1460
hc_wrk "httpd: wrk -c 50 Connection: close" 50 3s /f1 -H 'Connection: close'
if hx_impair_on; then
	hc_downloads "httpd under loss" --max-time 120
	hx_impair_off
fi
stop_httpd "httpd"
xt_finish
