# fwd_common.sh - the forwarder topology of DESIGN.md §5 (clients | forwarder | backends)
#
# On top of lib.sh; used by tests/netns/xfwd.sh and bench/forward/run.
# Environment: XOKD, ARPD, STRAYD (paths).
#
#   $NS_C  Linux clients:  $FW_IF_C ($FW_CLI)              (tx checksum offload as given)
#   $NS_X  the forwarder:  $FW_IF_XC (client side, libOS address $FW_XC, no Linux address)
#                          $FW_IF_XS (backend side, libOS address $FW_XS, no Linux address)
#                          xokd owns both; arpd, strayd and the forwarders reach it via $SOCK
#   $NS_S  backends:       $FW_IF_S with $FW_BE1 and $FW_BE2 (two addresses, one veth)
#
# Every address is in 198.18.0.0/15 (lib.sh's per-run /24s).  The libOS applications run in
# the initial namespace: they only need xokd's socket ($XOK_SOCKET is exported).

: "${XOKD:?path to xokd}" "${ARPD:?path to arpd}" "${STRAYD:?path to strayd}"
FW_XOKD_EXTRA=()

# fw_topology: the three namespaces and two veth pairs.
fw_topology() {
	xt_netns NS_C cli || xt_die "netns"
	xt_netns NS_X fwd || xt_die "netns"
	xt_netns NS_S srv || xt_die "netns"
	xt_veth --no-addr-a "$NS_X" "$NS_C" || xt_die "veth (client side)"
	FW_IF_XC=$XT_IF_A FW_IF_C=$XT_IF_B FW_XC=$XT_ADDR_A FW_CLI=$XT_ADDR_B
	xt_veth --no-addr-a "$NS_X" "$NS_S" || xt_die "veth (backend side)"
	FW_IF_XS=$XT_IF_A FW_IF_S=$XT_IF_B FW_XS=$XT_ADDR_A FW_BE1=$XT_ADDR_B
	FW_BE2=${XT_ADDR_B%.*}.3
	ip -n "$NS_S" addr add "$FW_BE2/24" dev "$FW_IF_S" || xt_die "second backend address"
	xt_xokd_socket
}

# fw_wait_for: xt_wait_for, by the name bench/forward/run knows it.
fw_wait_for() {
	xt_wait_for "$@"
}

# fw_start_xokd [PREFIX...]: xokd on both forwarder interfaces (PREFIX: e.g. taskset -c 1),
# and on more given as FW_XOKD_EXTRA=(--iface IF --addr A/N ...); PID in XOKD_PID.
fw_start_xokd() {
	xt_spawn "$NS_X" "$@" "$XOKD" --iface "$FW_IF_XC" --addr "$FW_XC/24" \
		--iface "$FW_IF_XS" --addr "$FW_XS/24" "${FW_XOKD_EXTRA[@]}" --socket "$SOCK" \
		>>"$XT_TMP/xokd.log" 2>&1
	XOKD_PID=$XT_PID
	xt_wait_for "$XT_TMP/xokd.log" "ready" 10 "$XOKD_PID" && [ -S "$SOCK" ] && return 0
	cat "$XT_TMP/xokd.log" >&2
	return 1
}

# fw_start_daemons [PREFIX...]: arpd and strayd.
fw_start_daemons() {
	xt_spawn - "$@" "$ARPD" --socket "$SOCK" >>"$XT_TMP/arpd.log" 2>&1
	ARPD_PID=$XT_PID
	fw_wait_for "$XT_TMP/arpd.log" "arpd: ready" 10 "$ARPD_PID" ||
		{ cat "$XT_TMP/arpd.log" >&2; return 1; }
	xt_spawn - "$@" "$STRAYD" --socket "$SOCK" >>"$XT_TMP/strayd.log" 2>&1
	STRAYD_PID=$XT_PID
	fw_wait_for "$XT_TMP/strayd.log" "strayd: ready" 10 "$STRAYD_PID" ||
		{ cat "$XT_TMP/strayd.log" >&2; return 1; }
}

# fw_docroot DIR: files of the sizes the tests and benchmarks fetch.
fw_docroot() {
	local root=$1 s
	mkdir -p "$root"
	for s in 0 1024 10240 102400 5242880; do
		head -c "$s" /dev/urandom >"$root/f$s"
	done
	chmod -R a+rX "$root"
}

# fw_nginx NAME ADDR[,ADDR...] DOCROOT [CPU]: nginx on port 80 of each ADDR in $NS_S with
# its access log in $XT_TMP/NAME/access.log; PID in NGINX_PID.  CPU pins its one worker.
fw_nginx() {
	local name=$1 addrs=$2 root=$3 cpu=${4:-} run="$XT_TMP/$1" affinity="" listen="" a
	for a in ${addrs//,/ }; do
		listen+="        listen $a:80 backlog=4096;"$'\n'
	done
	mkdir -p "$run/tmp"
	chmod 755 "$run"
	# nginx's mask is a bit string, CPU0 rightmost: "1" then CPU zeros
	[ -n "$cpu" ] && affinity="worker_cpu_affinity 1$(printf '%*s' "$cpu" '' | tr ' ' 0);"
	cat >"$run/nginx.conf" <<EOF
worker_processes 1;
$affinity
pid $run/nginx.pid;
error_log $run/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 8192; multi_accept on; use epoll; }
http {
    access_log $run/access.log;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 10000000;
    open_file_cache max=1000 inactive=60s;
    server_tokens off;
    types { }
    default_type application/octet-stream;
    client_body_temp_path $run/tmp;
    proxy_temp_path $run/tmp;
    fastcgi_temp_path $run/tmp;
    uwsgi_temp_path $run/tmp;
    scgi_temp_path $run/tmp;
    server {
$listen        root $root;
        location / { }
    }
}
EOF
	xt_spawn "$NS_S" nginx -c "$run/nginx.conf" -p "$run" -g 'daemon off;' \
		>"$run/stdout.log" 2>&1
	NGINX_PID=$XT_PID
	xt_wait_port "$NS_S" "${addrs%%,*}" 80 10 || { cat "$run/error.log" >&2; return 1; }
}

# fw_access_count NAME: requests in nginx NAME's access log so far.
fw_access_count() {
	local f="$XT_TMP/$1/access.log"
	[ -f "$f" ] && wc -l <"$f" || echo 0
}
