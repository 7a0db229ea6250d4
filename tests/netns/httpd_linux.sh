#!/usr/bin/env bash
# httpd_linux.sh - httpd-linux in one namespace, curl/nc/wrk in another, over a veth pair
#
# Environment: HTTPD_LINUX (the binary), optionally XT_WRK_DURATION (default 20s) and
# XT_WRK_CONNS (default 500).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HTTPD=${HTTPD_LINUX:?set HTTPD_LINUX to the httpd-linux binary}
WRK_DURATION=${XT_WRK_DURATION:-20s}
WRK_CONNS=${XT_WRK_CONNS:-500}
PORT=8080
TIMEOUT_S=2 # the server's stall timeout (-t), short to test it quickly

XT_NO_BPF=1 # plain Linux sockets and nginx: no xokd
xt_require_root
xt_require_cmds curl nc wrk sha256sum
xt_init

# ---- docroot: sizes around one segment, and things that must not be served ----
ROOT="$XT_TMP/www"
mkdir -p "$ROOT/dir" "$ROOT/.git" "$ROOT/empty_dir"
for spec in 0:f0 1:f1 1460:f1460 1461:f1461 102400:f100k 5242880:f5m; do
	head -c "${spec%%:*}" /dev/urandom >"$ROOT/${spec#*:}"
done
echo '<h1>index</h1>' >"$ROOT/index.html"
echo '<h1>dir</h1>' >"$ROOT/dir/index.html"
echo 'hidden' >"$ROOT/.hidden"
echo 'git' >"$ROOT/.git/config"
echo 'sums' >"$ROOT/.cheetah-sums"
echo 'outside' >"$XT_TMP/outside.txt"
ln -s /etc/passwd "$ROOT/passwd"
ln -s /etc "$ROOT/etc"
ln -s ../outside.txt "$ROOT/up"
ln -s f1 "$ROOT/link_in"
ln -s .hidden "$ROOT/link_hidden"

# ---- topology ----
xt_netns NS_SRV srv || xt_die "netns"
xt_netns NS_CLI cli || xt_die "netns"
xt_veth "$NS_SRV" "$NS_CLI" || xt_die "veth"
SRV=$XT_ADDR_A
BASE="http://$SRV:$PORT"
xt_spawn "$NS_SRV" "$HTTPD" -r "$ROOT" -a "$SRV" -p "$PORT" -t "$TIMEOUT_S" \
	>"$XT_TMP/httpd.log" 2>&1
HTTPD_PID=$XT_PID
xt_wait_port "$NS_CLI" "$SRV" "$PORT" 10 || { cat "$XT_TMP/httpd.log"; xt_die "no server"; }

cli() { xt_in "$NS_CLI" "$@"; }

# Raw request bytes (printf format) over nc; prints the response.
raw() {
	printf "$1" | cli timeout 10 nc -N -w 5 "$SRV" "$PORT"
}

# The status code of a raw request's first response.
raw_status() {
	raw "$1" | head -n 1 | cut -d' ' -f2
}

# curl's status code for a path (as is, no normalisation by curl).
status_of() {
	cli curl -s --path-as-is -o /dev/null -w '%{http_code}' "$@"
}

# ---- byte-exact downloads ----
download_ok() { # download_ok FILE CURL-OPTIONS...
	local f=$1 out="$XT_TMP/dl.$1"
	shift
	local meta
	meta=$(cli curl -s "$@" -o "$out" -w '%{http_code} %{size_download}' "$BASE/$f") || return 1
	[ "$meta" = "200 $(stat -L -c %s "$ROOT/$f")" ] || { echo "  $f: $meta"; return 1; }
	[ "$(sha256sum <"$out")" = "$(sha256sum <"$ROOT/$f")" ]
}
for f in f0 f1 f1460 f1461 f100k f5m; do
	xt_check "HTTP/1.1 GET $f byte-exact" download_ok "$f" --http1.1
	xt_check "HTTP/1.0 GET $f byte-exact" download_ok "$f" --http1.0
done
xt_check "symlink inside the docroot is served" download_ok link_in
xt_check "Range is ignored: full 200 response" download_ok f100k -r 0-99
xt_check "directory serves its index.html" \
	bash -c "[ \"\$(ip netns exec $NS_CLI curl -s $BASE/dir/)\" = '<h1>dir</h1>' ]"
hdrs=$(cli curl -s -D - -o /dev/null "$BASE/index.html" | tr -d '\r')
xt_check "Content-Type text/html" grep -q '^Content-Type: text/html' <<<"$hdrs"
xt_check "Last-Modified is an IMF-fixdate" \
	grep -Eq '^Last-Modified: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT$' \
	<<<"$hdrs"
xt_check "Date is now, an IMF-fixdate (RFC 9110 6.6.1)" \
	python3 -c "import email.utils, sys, time; d = email.utils.parsedate_to_datetime(sys.argv[1]); sys.exit(abs(d.timestamp() - time.time()) > 5)" \
	"$(sed -n 's/^Date: //p' <<<"$hdrs")"
xt_check "Server: cheetah" grep -q '^Server: cheetah$' <<<"$hdrs"

# ---- keep-alive: several URLs over one connection ----
conns=$(cli curl -s --http1.1 -w '%{num_connects} ' -o /dev/null -o /dev/null -o /dev/null \
	-o /dev/null "$BASE/f1" "$BASE/f1461" "$BASE/f100k" "$BASE/nonexistent")
xt_expect_eq "HTTP/1.1 keep-alive reuses one connection (incl. after a 404)" "$conns" "1 0 0 0 "
conns=$(cli curl -s --http1.0 -H 'Connection: keep-alive' -w '%{num_connects} ' \
	-o /dev/null -o /dev/null "$BASE/f1" "$BASE/f1460")
xt_expect_eq "HTTP/1.0 keep-alive on request" "$conns" "1 0 "
conns=$(cli curl -s --http1.0 -w '%{num_connects} ' -o /dev/null -o /dev/null \
	"$BASE/f1" "$BASE/f1460")
xt_expect_eq "HTTP/1.0 closes by default" "$conns" "1 1 "

# ---- pipelining: three requests in one write, answered in order ----
# (Text bodies ending in a newline, so that each status line starts a line of its own.)
resp=$(raw 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nHEAD /f1460 HTTP/1.1\r\nHost: x\r\n\r\nGET /dir/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | tr -d '\r' | grep -a -E '^(HTTP/1.1|Content-Length)')
want=$(printf 'HTTP/1.1 200 OK\nContent-Length: 15\nHTTP/1.1 200 OK\nContent-Length: 1460\nHTTP/1.1 200 OK\nContent-Length: 13')
xt_expect_eq "pipelined GET, HEAD, GET answered in order" "$resp" "$want"

# ---- HEAD: headers only ----
head_bytes() {
	raw 'HEAD /f100k HTTP/1.0\r\n\r\n' >"$XT_TMP/head.out"
	grep -q 'Content-Length: 102400' "$XT_TMP/head.out" &&
		[ "$(tail -c 4 "$XT_TMP/head.out" | od -An -tx1 | tr -d ' \n')" = 0d0a0d0a ]
}
xt_check "HEAD: Content-Length of the file, no body" head_bytes
xt_expect_eq "HEAD via curl" "$(cli curl -s -I -o /dev/null -w '%{http_code}' "$BASE/f5m")" 200

# ---- error statuses ----
xt_expect_eq "404 for a missing file" "$(status_of "$BASE/nonexistent")" 404
xt_expect_eq "400 for garbage" "$(raw_status 'BLAH\r\n\r\n')" 400
xt_expect_eq "400 for HTTP/0.9" "$(raw_status 'GET /\r\n\r\n')" 400
xt_expect_eq "400 for HTTP/1.1 without Host" "$(raw_status 'GET / HTTP/1.1\r\n\r\n')" 400
xt_expect_eq "405 for POST" "$(status_of -X POST -d x "$BASE/index.html")" 405
xt_check "405 carries Allow: GET, HEAD" bash -c \
	"ip netns exec $NS_CLI curl -s -D - -o /dev/null -X DELETE $BASE/ | grep -q 'Allow: GET, HEAD'"
xt_expect_eq "405 for an unknown method" "$(raw_status 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n')" 405
long=$(head -c 9000 /dev/zero | tr '\0' a)
xt_expect_eq "414 for a 9000-byte target" "$(status_of "$BASE/$long")" 414
xt_expect_eq "505 for HTTP/2.0" "$(raw_status 'GET / HTTP/2.0\r\nHost: x\r\n\r\n')" 505
xt_expect_eq "505 for HTTP/3.0" "$(raw_status 'GET / HTTP/3.0\r\n\r\n')" 505
big_hdr=$(head -c 17000 /dev/zero | tr '\0' h)
xt_expect_eq "431 for 17 KB of headers" \
	"$(raw_status "GET / HTTP/1.1\\r\\nHost: x\\r\\nX-Big: $big_hdr\\r\\n\\r\\n")" 431

# ---- path escapes: never a 200, never the file's content ----
escape_refused() { # escape_refused PATH WANT-STATUS
	local body st
	body=$(cli curl -s --path-as-is -w '\n%{http_code}' "$BASE$1")
	st=${body##*$'\n'}
	[ "$st" = "$2" ] && ! grep -q 'root:\|outside\|hidden\|git\|sums' <<<"${body%$'\n'*}"
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
	cli timeout 15 bash -c "exec 3<>/dev/tcp/$SRV/$PORT; printf 'GET / HTTP/1.1\r\n' >&3
		s=\$(date +%s%N); cat <&3 >/dev/null; e=\$(date +%s%N); echo \$(((e - s) / 1000000))"
}
ms=$(stall_ms)
xt_check "a stalled request is timed out after ~${TIMEOUT_S}s (took ${ms}ms)" \
	test "${ms:-0}" -ge $((TIMEOUT_S * 1000 - 100)) -a "${ms:-99999}" -le $((TIMEOUT_S * 1000 + 2000))
trickle_ms() { # one header byte every 0.3 s: progress, but the request never completes
	cli timeout 15 bash -c "trap '' PIPE; exec 3<>/dev/tcp/$SRV/$PORT; s=\$(date +%s%N)
		printf 'GET / HTTP/1.1\r\n' >&3
		while printf 'X' >&3 2>/dev/null; do sleep 0.3; done
		e=\$(date +%s%N); echo \$(((e - s) / 1000000))" 2>/dev/null
}
ms=$(trickle_ms)
xt_check "a trickling request is cut off after ~${TIMEOUT_S}s (took ${ms}ms)" \
	test "${ms:-0}" -ge $((TIMEOUT_S * 1000 - 100)) -a "${ms:-99999}" -le $((TIMEOUT_S * 1000 + 2000))
fds_before=$(ls /proc/"$HTTPD_PID"/fd | wc -l)
for _ in $(seq 20); do
	# Ask for 5 MB, then close without reading: the server's writes meet a reset.
	cli bash -c "exec 3<>/dev/tcp/$SRV/$PORT; printf 'GET /f5m HTTP/1.1\r\nHost: x\r\n\r\n' >&3
		sleep 0.05; exec 3<&-" 2>/dev/null
done
cli curl -s --max-time 0.3 --limit-rate 200k -o /dev/null "$BASE/f5m"
sleep 0.5
xt_check "server alive after aborting clients" kill -0 "$HTTPD_PID"
xt_check "aborted connections are closed (fds $fds_before -> $(ls /proc/"$HTTPD_PID"/fd | wc -l))" \
	test "$(ls /proc/"$HTTPD_PID"/fd | wc -l)" -le "$fds_before"
xt_check "still serving after aborts" download_ok f5m

# ---- load: wrk, zero errors ----
wrk_out=$(cli wrk -t 2 -c "$WRK_CONNS" -d "$WRK_DURATION" --timeout 5s "$BASE/f1460" 2>&1)
echo "$wrk_out" | sed 's/^/  wrk: /'
xt_check "wrk: requests completed" grep -Eq '[0-9]+ requests in' <<<"$wrk_out"
xt_check "wrk: no socket errors" bash -c "! grep -q 'Socket errors' <<<'$wrk_out'"
xt_check "wrk: no non-2xx responses" bash -c "! grep -q 'Non-2xx' <<<'$wrk_out'"
wrk_out=$(cli wrk -t 2 -c 50 -d 3s -H 'Connection: close' "$BASE/f1" 2>&1)
xt_check "wrk Connection: close: no errors" \
	bash -c "grep -Eq '[0-9]+ requests in' <<<'$wrk_out' && ! grep -q 'Socket errors\|Non-2xx' <<<'$wrk_out'"

# ---- clean exit on SIGTERM ----
xt_stop "$HTTPD_PID" TERM 5
rc=$?
xt_expect_eq "SIGTERM: clean exit status" "$rc" 0
xt_check "SIGTERM: exit message" grep -q 'exiting after' "$XT_TMP/httpd.log"
xt_finish
