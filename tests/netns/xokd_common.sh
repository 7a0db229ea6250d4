# xokd_common.sh - helpers shared by the xokd integration tests (on top of lib.sh)
#
# Environment (from meson): XOKD, XOKCTL, XOK_TESTAPP.
# Topology (DESIGN.md §5): xokd in namespace $NS_X owns $XT_IF_A (no Linux address, libOS
# address $XT_ADDR_A); Linux clients in $NS_C on $XT_IF_B ($XT_ADDR_B) with a static
# neighbour entry for $XT_ADDR_A (no arpd).  The control socket is $SOCK in $XT_TMP.

: "${XOKD:?path to xokd}" "${XOKCTL:?path to xokctl}" "${XOK_TESTAPP:?path to xok-testapp}"

# xk_topology: namespaces, veth, neighbour entry; sets NS_X, NS_C, SOCK, MAC_A, MAC_B, IFINDEX_A.
xk_topology() {
	xt_netns NS_X x || xt_die "netns"
	xt_netns NS_C c || xt_die "netns"
	xt_veth --no-addr-a "$NS_X" "$NS_C" || xt_die "veth"
	MAC_A=$(ip netns exec "$NS_X" cat "/sys/class/net/$XT_IF_A/address")
	MAC_B=$(ip netns exec "$NS_C" cat "/sys/class/net/$XT_IF_B/address")
	IFINDEX_A=$(ip netns exec "$NS_X" cat "/sys/class/net/$XT_IF_A/ifindex")
	ip -n "$NS_C" neigh replace "$XT_ADDR_A" lladdr "$MAC_A" dev "$XT_IF_B" nud permanent ||
		xt_die "neigh"
	chmod 711 "$XT_TMP"
	SOCK=$XT_TMP/xokd.sock
}

# xk_start_xokd [ARGS...]: start xokd on $XT_IF_A; waits for its "ready" (a new one: the
# log is appended to across restarts).  PID in XOKD_PID.
xk_start_xokd() {
	local n
	n=$(grep -c "main: ready" "$XT_TMP/xokd.log" 2>/dev/null)
	xt_spawn "$NS_X" "$XOKD" --iface "$XT_IF_A" --addr "$XT_ADDR_A/24" --socket "$SOCK" "$@" \
		>>"$XT_TMP/xokd.log" 2>&1
	XOKD_PID=$XT_PID
	xt_wait_log "$XT_TMP/xokd.log" "main: ready" 10 "$XOKD_PID" "${n:-0}" && [ -S "$SOCK" ]
}

# xk_app NAME PATTERN SUBCOMMAND ARGS...: start xok-testapp in the background, output in
# $XT_TMP/NAME.out; wait until PATTERN appears.  PID in APP_PID.
xk_app() {
	local name=$1 pattern=$2
	shift 2
	xt_spawn - "$XOK_TESTAPP" "$@" --socket "$SOCK" >"$XT_TMP/$name.out" 2>&1
	APP_PID=$XT_PID
	xt_wait_log "$XT_TMP/$name.out" "$pattern" 5 "$APP_PID"
}

# xk_wait_exit PID [TIMEOUT_S]: wait for a spawned process to exit; its status.
xk_wait_exit() {
	local pid=$1 t=${2:-10} i
	for i in $(seq $((t * 20))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	xt_stop "$pid" TERM 1
}

# xk_json EXPR: evaluates a python3 expression over `xokctl stats --json` bound to `j`.
xk_json() {
	"$XOKCTL" --socket "$SOCK" stats --json >"$XT_TMP/stats.json" || return 1
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$XT_TMP/stats.json"
}

# xk_send_udp PORT PAYLOAD...: UDP datagrams from the Linux client to the libOS address.
xk_send_udp() {
	local port=$1
	shift
	ip netns exec "$NS_C" python3 - "$XT_ADDR_A" "$port" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in sys.argv[3:]:
    s.sendto(p.encode(), (sys.argv[1], int(sys.argv[2])))
PY
}

# xk_fd_count PID / xk_rss_kb PID.  The RSS is xokd's own memory (anonymous and file
# pages): the pages of live apps' shared regions that it has touched (RssShmem) grow as
# their rings cycle, and they are the apps' memory, not xokd's.
xk_fd_count() {
	ls "/proc/$1/fd" | wc -l
}
xk_rss_kb() {
	awk '/^RssAnon:|^RssFile:/ {kb += $2} END {print kb}' "/proc/$1/status"
}
