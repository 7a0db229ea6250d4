# http_checks.sh - what every HTTP server test checks, whatever the server runs on
#
# On top of lib.sh. The caller sets NS_C (the client's namespace), SRV and PORT (where the
# server listens), ROOT (its docroot, made by hc_docroot) and TIMEOUT_S (the server's stall
# timeout, -t). cheetah.sh and httpd_exos.sh (servers on the libOS, through http_xok.sh)
# and httpd_linux.sh (on Linux sockets) share these.

# hc_docroot DIR: sizes around one segment, and things that must never be served.
hc_docroot() {
	local root=$1 spec
	mkdir -p "$root/dir" "$root/.git" "$root/empty_dir"
	for spec in 0:f0 1:f1 1460:f1460 1461:f1461 102400:f100k 5242880:f5m; do
		head -c "${spec%%:*}" /dev/urandom >"$root/${spec#*:}"
	done
	echo '<h1>index</h1>' >"$root/index.html"
	echo '<h1>dir</h1>' >"$root/dir/index.html"
	echo 'hidden' >"$root/.hidden"
	echo 'git' >"$root/.git/config"
	echo 'sums' >"$root/.cheetah-sums" # cheetah-prep's index, where it runs, replaces it
	echo 'outside' >"$XT_TMP/outside.txt"
	ln -s /etc/passwd "$root/passwd"
	ln -s /etc "$root/etc"
	ln -s ../outside.txt "$root/up"
	ln -s f1 "$root/link_in"
	ln -s .hidden "$root/link_hidden"
}

hc_cli() {
	xt_in "$NS_C" "$@"
}

# Raw request bytes (printf format) over nc; prints the response.
hc_raw() {
	printf "$1" | hc_cli timeout 10 nc -N -w 5 "$SRV" "$PORT"
}

# The status code of a raw request's first response.
hc_raw_status() {
	hc_raw "$1" | head -n 1 | cut -d' ' -f2
}

# curl's status code for a URL (as is, no normalisation by curl).
hc_status_of() {
	hc_cli curl -s --max-time 10 --path-as-is -o /dev/null -w '%{http_code}' "$@"
}

# hc_download_ok FILE CURL-OPTIONS...: 200, the file's length, and its sha256.
hc_download_ok() {
	local f=$1 out="$XT_TMP/dl.$1" meta rc
	shift
	meta=$(hc_cli curl -s --max-time 60 "$@" -o "$out" -w '%{http_code} %{size_download}' \
		"http://$SRV:$PORT/$f")
	rc=$?
	[ "$rc" = 0 ] || { echo "  $f: curl exit status $rc ($meta)"; return 1; }
	[ "$meta" = "200 $(stat -L -c %s "$ROOT/$f")" ] || { echo "  $f: $meta"; return 1; }
	[ "$(sha256sum <"$out" | cut -d' ' -f1)" = "$(sha256sum <"$ROOT/$f" | cut -d' ' -f1)" ]
}

# hc_downloads LABEL CURL-OPTIONS...: every test file, byte-exact, over 1.1 and 1.0.
hc_downloads() {
	local label=$1 f
	shift
	for f in f0 f1 f1460 f1461 f100k f5m; do
		xt_check "$label: HTTP/1.1 GET $f byte-exact" hc_download_ok "$f" --http1.1 "$@"
		xt_check "$label: HTTP/1.0 GET $f byte-exact" hc_download_ok "$f" --http1.0 "$@"
	done
}

# hc_keepalive LABEL: several URLs over one connection, and HTTP/1.0's rules.
hc_keepalive() {
	local b="http://$SRV:$PORT" conns
	conns=$(hc_cli curl -s --http1.1 -w '%{num_connects} ' -o /dev/null -o /dev/null \
		-o /dev/null -o /dev/null -o /dev/null "$b/f1" "$b/f1461" "$b/f100k" \
		"$b/nonexistent" "$b/f5m")
	xt_expect_eq "$1: HTTP/1.1 keep-alive reuses one connection (incl. after a 404)" \
		"$conns" "1 0 0 0 0 "
	conns=$(hc_cli curl -s --http1.0 -H 'Connection: keep-alive' -w '%{num_connects} ' \
		-o /dev/null -o /dev/null "$b/f1" "$b/f1460")
	xt_expect_eq "$1: HTTP/1.0 keep-alive on request" "$conns" "1 0 "
	conns=$(hc_cli curl -s --http1.0 -w '%{num_connects} ' -o /dev/null -o /dev/null \
		"$b/f1" "$b/f1460")
	xt_expect_eq "$1: HTTP/1.0 closes by default" "$conns" "1 1 "
}

# hc_pipelined: three requests in one write, answered in order (text bodies ending in a
# newline, so that each status line starts a line of its own).
hc_pipelined() {
	local resp want
	resp=$(hc_raw 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nHEAD /f1460 HTTP/1.1\r\nHost: x\r\n\r\nGET /dir/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | tr -d '\r' | grep -a -E '^(HTTP/1.1|Content-Length)')
	want=$(printf 'HTTP/1.1 200 OK\nContent-Length: 15\nHTTP/1.1 200 OK\nContent-Length: 1460\nHTTP/1.1 200 OK\nContent-Length: 13')
	xt_expect_eq "pipelined GET, HEAD, GET answered in order" "$resp" "$want"
}

# hc_wrk LABEL CONNS DURATION URL-PATH [WRK-OPTIONS...]: completes requests, no errors.
hc_wrk() {
	local label=$1 conns=$2 dur=$3 path=$4 out
	shift 4
	out=$(hc_cli wrk -t 2 -c "$conns" -d "$dur" --timeout 5s "$@" "http://$SRV:$PORT$path" 2>&1)
	echo "$out" | sed 's/^/  wrk: /'
	xt_check "$label: requests completed" grep -Eq '[1-9][0-9]* requests in' <<<"$out"
	xt_check "$label: no socket errors" bash -c "! grep -q 'Socket errors' <<<'$out'"
	xt_check "$label: no non-2xx responses" bash -c "! grep -q 'Non-2xx' <<<'$out'"
}

# hc_headers: what a served file's response says about it, and the docroot's rules.
hc_headers() {
	local hdrs
	xt_check "symlink inside the docroot is served" hc_download_ok link_in
	xt_check "Range is ignored: full 200 response" hc_download_ok f100k -r 0-99
	xt_check "directory serves its index.html" \
		bash -c "[ \"\$(ip netns exec $NS_C curl -s http://$SRV:$PORT/dir/)\" = '<h1>dir</h1>' ]"
	hdrs=$(hc_cli curl -s -D - -o /dev/null "http://$SRV:$PORT/index.html" | tr -d '\r')
	xt_check "Content-Type text/html" grep -q '^Content-Type: text/html' <<<"$hdrs"
	xt_check "Last-Modified is an IMF-fixdate" \
		grep -Eq '^Last-Modified: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT$' \
		<<<"$hdrs"
	xt_check "Date is now, an IMF-fixdate (RFC 9110 6.6.1)" hc_date_is_now "$hdrs"
	xt_check "Server: cheetah" grep -q '^Server: cheetah$' <<<"$hdrs"
	hdrs=$(hc_cli curl -s -D - -o /dev/null "http://$SRV:$PORT/nonexistent" | tr -d '\r')
	xt_check "an error response's Date is now too" hc_date_is_now "$hdrs"
}

# hc_date_is_now HEADERS: their Date field is an IMF-fixdate within 5 s of now.
hc_date_is_now() {
	python3 -c "import email.utils, sys, time
d = email.utils.parsedate_to_datetime(sys.argv[1])
sys.exit(abs(d.timestamp() - time.time()) > 5)" "$(sed -n 's/^Date: //p' <<<"$1")" 2>/dev/null
}

hc_head_bytes() {
	hc_raw 'HEAD /f100k HTTP/1.0\r\n\r\n' >"$XT_TMP/head.out"
	grep -q 'Content-Length: 102400' "$XT_TMP/head.out" &&
		[ "$(tail -c 4 "$XT_TMP/head.out" | od -An -tx1 | tr -d ' \n')" = 0d0a0d0a ]
}

# hc_head: headers only.
hc_head() {
	xt_check "HEAD: Content-Length of the file, no body" hc_head_bytes
	xt_expect_eq "HEAD via curl" "$(hc_cli curl -s -I -o /dev/null -w '%{http_code}' \
		"http://$SRV:$PORT/f5m")" 200
}

# hc_errors: the error statuses, each for its reason.
hc_errors() {
	local b="http://$SRV:$PORT" long big_hdr
	xt_expect_eq "404 for a missing file" "$(hc_status_of "$b/nonexistent")" 404
	xt_expect_eq "400 for garbage" "$(hc_raw_status 'BLAH\r\n\r\n')" 400
	xt_expect_eq "400 for HTTP/0.9" "$(hc_raw_status 'GET /\r\n\r\n')" 400
	xt_expect_eq "400 for HTTP/1.1 without Host" "$(hc_raw_status 'GET / HTTP/1.1\r\n\r\n')" 400
	xt_expect_eq "405 for POST" "$(hc_status_of -X POST -d x "$b/index.html")" 405
	xt_check "405 carries Allow: GET, HEAD" bash -c \
		"ip netns exec $NS_C curl -s -D - -o /dev/null -X DELETE $b/ | grep -q 'Allow: GET, HEAD'"
	xt_expect_eq "405 for an unknown method" \
		"$(hc_raw_status 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n')" 405
	long=$(head -c 9000 /dev/zero | tr '\0' a)
	xt_expect_eq "414 for a 9000-byte target" "$(hc_status_of "$b/$long")" 414
	xt_expect_eq "505 for HTTP/2.0" "$(hc_raw_status 'GET / HTTP/2.0\r\nHost: x\r\n\r\n')" 505
	xt_expect_eq "505 for HTTP/3.0" "$(hc_raw_status 'GET / HTTP/3.0\r\n\r\n')" 505
	big_hdr=$(head -c 17000 /dev/zero | tr '\0' h)
	xt_expect_eq "431 for 17 KB of headers" \
		"$(hc_raw_status "GET / HTTP/1.1\\r\\nHost: x\\r\\nX-Big: $big_hdr\\r\\n\\r\\n")" 431
	xt_check "error body arrives whole (404 page)" bash -c \
		"ip netns exec $NS_C curl -s $b/nonexistent | grep -q '<h1>404 Not Found</h1>'"
}

# hc_escape_refused PATH WANT-STATUS: that status, and none of the forbidden content.
hc_escape_refused() {
	local body st
	body=$(hc_cli curl -s --max-time 10 --path-as-is -w '\n%{http_code}' "http://$SRV:$PORT$1")
	st=${body##*$'\n'}
	[ "$st" = "$2" ] && ! grep -q 'root:\|outside\|hidden\|git\|sums\|XOKCKSUM' <<<"${body%$'\n'*}"
}

# hc_escapes: no path out of the docroot, plain or encoded, and no hidden file.
hc_escapes() {
	local spec
	for spec in '/../../etc/passwd 400' '/%2e%2e/%2e%2e/etc/passwd 400' '/.%2e/etc/passwd 400' \
		'/dir/%2e%2e/%2e%2e/up 400' '/a%2f..%2f..%2fetc%2fpasswd 400' '//etc//passwd 404' \
		'/passwd 404' '/etc/passwd 404' '/up 404' '/.hidden 404' '/%2ehidden 404' \
		'/.git/config 404' '/.cheetah-sums 404' '/link_hidden 404' '/%00 400' \
		'/index.html%00.txt 400' '/empty_dir/ 404'; do
		xt_check "refused: ${spec% *} -> ${spec#* }" hc_escape_refused ${spec% *} ${spec#* }
	done
}

hc_stall_ms() {
	hc_cli timeout 15 bash -c "exec 3<>/dev/tcp/$SRV/$PORT; printf 'GET / HTTP/1.1\r\n' >&3
		s=\$(date +%s%N); cat <&3 >/dev/null; e=\$(date +%s%N); echo \$(((e - s) / 1000000))"
}

hc_trickle_ms() { # one header byte every 0.3 s: progress, but the request never completes
	hc_cli timeout 15 bash -c "trap '' PIPE; exec 3<>/dev/tcp/$SRV/$PORT; s=\$(date +%s%N)
		printf 'GET / HTTP/1.1\r\n' >&3
		while printf 'X' >&3 2>/dev/null; do sleep 0.3; done
		e=\$(date +%s%N); echo \$(((e - s) / 1000000))" 2>/dev/null
}

# hc_stalls: a request that stalls, and one that trickles, are both cut off at TIMEOUT_S.
hc_stalls() {
	local ms
	ms=$(hc_stall_ms)
	xt_check "a stalled request is timed out after ~${TIMEOUT_S}s (took ${ms}ms)" \
		test "${ms:-0}" -ge $((TIMEOUT_S * 1000 - 100)) -a "${ms:-99999}" -le $((TIMEOUT_S * 1000 + 2000))
	ms=$(hc_trickle_ms)
	xt_check "a trickling request is cut off after ~${TIMEOUT_S}s (took ${ms}ms)" \
		test "${ms:-0}" -ge $((TIMEOUT_S * 1000 - 100)) -a "${ms:-99999}" -le $((TIMEOUT_S * 1000 + 2000))
}

# hc_abort_clients: 20 clients ask for 5 MB and close without reading; the server's
# segments meet resets.
hc_abort_clients() {
	for _ in $(seq 20); do
		hc_cli bash -c "exec 3<>/dev/tcp/$SRV/$PORT; printf 'GET /f5m HTTP/1.1\r\nHost: x\r\n\r\n' >&3
			sleep 0.05; exec 3<&-" 2>/dev/null
	done
}
