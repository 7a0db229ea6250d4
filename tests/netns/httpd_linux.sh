#!/usr/bin/env bash
# httpd_linux.sh - httpd-linux in one namespace, curl/nc/wrk in another, over a veth pair
#
# Environment: HTTPD_LINUX (the binary), optionally XT_WRK_DURATION (default 20s) and
# XT_WRK_CONNS (default 500).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/http_checks.sh"

HTTPD=${HTTPD_LINUX:?set HTTPD_LINUX to the httpd-linux binary}
WRK_DURATION=${XT_WRK_DURATION:-20s}
WRK_CONNS=${XT_WRK_CONNS:-500}
PORT=8080
TIMEOUT_S=2 # the server's stall timeout (-t), short to test it quickly

XT_NO_BPF=1 # plain Linux sockets and nginx: no xokd
xt_require_root
xt_require_cmds curl nc wrk sha256sum python3
xt_init

# ---- docroot: sizes around one segment, and things that must not be served ----
ROOT="$XT_TMP/www"
hc_docroot "$ROOT"

# ---- topology ----
xt_netns NS_SRV srv || xt_die "netns"
xt_netns NS_CLI cli || xt_die "netns"
xt_veth "$NS_SRV" "$NS_CLI" || xt_die "veth"
NS_C=$NS_CLI # for http_checks.sh
SRV=$XT_ADDR_A
BASE="http://$SRV:$PORT"
xt_spawn "$NS_SRV" "$HTTPD" -r "$ROOT" -a "$SRV" -p "$PORT" -t "$TIMEOUT_S" \
	>"$XT_TMP/httpd.log" 2>&1
HTTPD_PID=$XT_PID
xt_wait_port "$NS_CLI" "$SRV" "$PORT" 10 || { cat "$XT_TMP/httpd.log"; xt_die "no server"; }

# ---- byte-exact downloads, headers ----
hc_downloads "httpd-linux"
hc_headers

# ---- keep-alive and pipelining ----
hc_keepalive "httpd-linux"
hc_pipelined

# ---- HEAD, error statuses ----
hc_head
hc_errors

# ---- path escapes: never a 200, never the file's content ----
hc_escapes

# ---- stalled and aborting clients ----
hc_stalls
fds_before=$(ls /proc/"$HTTPD_PID"/fd | wc -l)
hc_abort_clients
hc_cli curl -s --max-time 0.3 --limit-rate 200k -o /dev/null "$BASE/f5m"
sleep 0.5
xt_check "server alive after aborting clients" kill -0 "$HTTPD_PID"
xt_check "aborted connections are closed (fds $fds_before -> $(ls /proc/"$HTTPD_PID"/fd | wc -l))" \
	test "$(ls /proc/"$HTTPD_PID"/fd | wc -l)" -le "$fds_before"
xt_check "still serving after aborts" hc_download_ok f5m

# ---- load: wrk, zero errors ----
hc_wrk "wrk -c $WRK_CONNS keep-alive" "$WRK_CONNS" "$WRK_DURATION" /f1460
hc_wrk "wrk -c 50 Connection: close" 50 3s /f1 -H 'Connection: close'

# ---- clean exit on SIGTERM ----
xt_stop "$HTTPD_PID" TERM 5
rc=$?
xt_expect_eq "SIGTERM: clean exit status" "$rc" 0
xt_check "SIGTERM: exit message" grep -q 'exiting after' "$XT_TMP/httpd.log"
xt_finish
