# http_xok.sh - helpers for the HTTP servers on the libOS (cheetah, httpd) against Linux clients
#
# On top of lib.sh and xokd_common.sh. Environment: XOKD, XOKCTL, XOK_TESTAPP (for
# xokd_common.sh), ARPD, STRAYD; optionally IMPAIR_ATTACH (tests/impair/impair-attach).
# Topology (DESIGN.md §5): xokd in $NS_X owns $XT_IF_A (the libOS address $XT_ADDR_A, no
# Linux address), arpd and strayd beside it; curl, nc and wrk run in $NS_C on $XT_IF_B.
# The server under test connects to $SOCK like every libOS application.

: "${ARPD:?path to arpd}" "${STRAYD:?path to strayd}"

# hx_topology: namespaces, veth, xokd, arpd, strayd; sets SRV (the server's address).
hx_topology() {
	xk_topology
	xk_start_xokd || xt_die "xokd did not start"
	xt_spawn - "$ARPD" --socket "$SOCK" >"$XT_TMP/arpd.log" 2>&1
	xt_spawn - "$STRAYD" --socket "$SOCK" >"$XT_TMP/strayd.log" 2>&1
	SRV=$XT_ADDR_A
}

# hx_docroot DIR: sizes around one segment, and things that must never be served.
hx_docroot() {
	local root=$1 spec
	mkdir -p "$root/dir" "$root/.git" "$root/empty_dir"
	for spec in 0:f0 1:f1 1460:f1460 1461:f1461 102400:f100k 5242880:f5m; do
		head -c "${spec%%:*}" /dev/urandom >"$root/${spec#*:}"
	done
	echo '<h1>index</h1>' >"$root/index.html"
	echo '<h1>dir</h1>' >"$root/dir/index.html"
	echo 'hidden' >"$root/.hidden"
	echo 'git' >"$root/.git/config"
	echo 'outside' >"$XT_TMP/outside.txt"
	ln -s /etc/passwd "$root/passwd"
	ln -s /etc "$root/etc"
	ln -s ../outside.txt "$root/up"
	ln -s f1 "$root/link_in"
	ln -s .hidden "$root/link_hidden"
}

hx_cli() {
	xt_in "$NS_C" "$@"
}

# Raw request bytes (printf format) over nc; prints the response.
hx_raw() {
	printf "$1" | hx_cli timeout 10 nc -N -w 5 "$SRV" "$PORT"
}

# The status code of a raw request's first response.
hx_raw_status() {
	hx_raw "$1" | head -n 1 | cut -d' ' -f2
}

# curl's status code for a URL (as is, no normalisation by curl).
hx_status_of() {
	hx_cli curl -s --max-time 10 --path-as-is -o /dev/null -w '%{http_code}' "$@"
}

# hx_download_ok FILE CURL-OPTIONS...: 200, the file's length, and its sha256.
hx_download_ok() {
	local f=$1 out="$XT_TMP/dl.$1" meta rc
	shift
	meta=$(hx_cli curl -s --max-time 60 "$@" -o "$out" -w '%{http_code} %{size_download}' \
		"http://$SRV:$PORT/$f")
	rc=$?
	[ "$rc" = 0 ] || { echo "  $f: curl exit status $rc ($meta)"; return 1; }
	[ "$meta" = "200 $(stat -L -c %s "$ROOT/$f")" ] || { echo "  $f: $meta"; return 1; }
	[ "$(sha256sum <"$out" | cut -d' ' -f1)" = "$(sha256sum <"$ROOT/$f" | cut -d' ' -f1)" ]
}

# hx_downloads LABEL CURL-OPTIONS...: every test file, byte-exact, over 1.1 and 1.0.
hx_downloads() {
	local label=$1 f
	shift
	for f in f0 f1 f1460 f1461 f100k f5m; do
		xt_check "$label: HTTP/1.1 GET $f byte-exact" hx_download_ok "$f" --http1.1 "$@"
		xt_check "$label: HTTP/1.0 GET $f byte-exact" hx_download_ok "$f" --http1.0 "$@"
	done
}

# hx_keepalive LABEL: several URLs over one connection, and HTTP/1.0's rules.
hx_keepalive() {
	local b="http://$SRV:$PORT" conns
	conns=$(hx_cli curl -s --http1.1 -w '%{num_connects} ' -o /dev/null -o /dev/null \
		-o /dev/null -o /dev/null -o /dev/null "$b/f1" "$b/f1461" "$b/f100k" \
		"$b/nonexistent" "$b/f5m")
	xt_expect_eq "$1: HTTP/1.1 keep-alive reuses one connection (incl. after a 404)" \
		"$conns" "1 0 0 0 0 "
	conns=$(hx_cli curl -s --http1.0 -H 'Connection: keep-alive' -w '%{num_connects} ' \
		-o /dev/null -o /dev/null "$b/f1" "$b/f1460")
	xt_expect_eq "$1: HTTP/1.0 keep-alive on request" "$conns" "1 0 "
	conns=$(hx_cli curl -s --http1.0 -w '%{num_connects} ' -o /dev/null -o /dev/null \
		"$b/f1" "$b/f1460")
	xt_expect_eq "$1: HTTP/1.0 closes by default" "$conns" "1 1 "
}

# hx_wrk LABEL CONNS DURATION URL-PATH [WRK-OPTIONS...]: completes requests, no errors.
hx_wrk() {
	local label=$1 conns=$2 dur=$3 path=$4 out
	shift 4
	out=$(hx_cli wrk -t 2 -c "$conns" -d "$dur" --timeout 5s "$@" "http://$SRV:$PORT$path" 2>&1)
	echo "$out" | sed 's/^/  wrk: /'
	xt_check "$label: requests completed" grep -Eq '[1-9][0-9]* requests in' <<<"$out"
	xt_check "$label: no socket errors" bash -c "! grep -q 'Socket errors' <<<'$out'"
	xt_check "$label: no non-2xx responses" bash -c "! grep -q 'Non-2xx' <<<'$out'"
}

# hx_iface_packets: frames xokd received plus sent on the server's interface so far.
hx_iface_packets() {
	xk_json "j['ifaces'][0]['rx'] + j['ifaces'][0]['tx']"
}

# hx_impair_on / hx_impair_off: tests/impair's drop/dup/reorder on both directions of the
# client's veth end. Returns 1 (and says so) when impair-attach is not available.
hx_impair_on() {
	if [ -z "${IMPAIR_ATTACH:-}" ] || [ ! -x "$IMPAIR_ATTACH" ]; then
		echo "note: tests/impair/impair-attach not built: no loss tests"
		return 1
	fi
	hx_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" "$@" &&
		hx_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" --ingress "$@"
}

hx_impair_off() {
	hx_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" --stats | sed 's/^/  impair egress: /'
	hx_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" --ingress --stats | sed 's/^/  impair ingress: /'
	hx_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" --detach
	hx_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" --ingress --detach
}
