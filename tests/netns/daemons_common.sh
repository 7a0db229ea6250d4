# daemons_common.sh - helpers for the arpd, strayd and exnc tests (on top of lib.sh)
#
# Environment (from meson): XOKD, ARPD, STRAYD, EXNC, XOK_ECHO.
# Topology (DESIGN.md §5): xokd in namespace $NS_X owns $XT_IF_A (libOS address
# $XT_ADDR_A, no Linux address); Linux in $NS_C on $XT_IF_B ($XT_ADDR_B).  There is no
# static neighbour entry: Linux resolves the libOS address through arpd, and libOS
# applications resolve Linux's through arpd's table.  libOS applications (exnc, xok-echo)
# run in the initial namespace: they reach xokd through its socket ($XOK_SOCKET).
# Transmit checksum offload is off on $XT_IF_B, so that frames carry complete checksums
# (tcpdump verifies them, tests/impair stashes whole frames).  With it on, frames from
# Linux sockets reach XDP with partial checksums (CHECKSUM_PARTIAL), which the libOS and
# strayd accept as such (daemons.sh checks that case too).

: "${XOKD:?path to xokd}" "${ARPD:?path to arpd}" "${STRAYD:?path to strayd}"

# xd_topology: namespaces and veth; sets NS_X, NS_C, SOCK, MAC_A, MAC_B; exports XOK_SOCKET.
xd_topology() {
	xt_netns NS_X x || xt_die "netns"
	xt_netns NS_C c || xt_die "netns"
	xt_veth --no-addr-a "$NS_X" "$NS_C" || xt_die "veth"
	MAC_A=$(ip netns exec "$NS_X" cat "/sys/class/net/$XT_IF_A/address")
	MAC_B=$(ip netns exec "$NS_C" cat "/sys/class/net/$XT_IF_B/address")
	ip netns exec "$NS_C" ethtool -K "$XT_IF_B" tx off >/dev/null 2>&1 ||
		xt_die "ethtool -K $XT_IF_B tx off"
	xt_xokd_socket
}

# xd_start_xokd: xokd on $XT_IF_A; PID in XOKD_PID.
xd_start_xokd() {
	xt_spawn "$NS_X" "$XOKD" --iface "$XT_IF_A" --addr "$XT_ADDR_A/24" --socket "$SOCK" \
		>>"$XT_TMP/xokd.log" 2>&1
	XOKD_PID=$XT_PID
	xt_wait_xokd "$XOKD_PID" "$XT_TMP/xokd.log"
}

# xd_start_arpd [ARGS...]: arpd (before any application); PID in ARPD_PID, log arpd.log.
xd_start_arpd() {
	xt_spawn - "$ARPD" --socket "$SOCK" "$@" >>"$XT_TMP/arpd.log" 2>&1
	ARPD_PID=$XT_PID
	xt_wait_log "$XT_TMP/arpd.log" "arpd: ready" 10 "$ARPD_PID"
}

# xd_start_strayd [ARGS...]: strayd; PID in STRAYD_PID, log strayd.log (appended).
xd_start_strayd() {
	local n
	n=$(grep -c "strayd: ready" "$XT_TMP/strayd.log" 2>/dev/null)
	xt_spawn - "$STRAYD" --socket "$SOCK" "$@" >>"$XT_TMP/strayd.log" 2>&1
	STRAYD_PID=$XT_PID
	xt_wait_log "$XT_TMP/strayd.log" "strayd: ready" 10 "$STRAYD_PID" "${n:-0}"
}

# xd_start_all: topology, xokd, arpd, strayd.
xd_start_all() {
	xd_topology
	xd_start_xokd || xt_die "xokd did not start"
	xd_start_arpd || xt_die "arpd did not start"
	xd_start_strayd || xt_die "strayd did not start"
}

# xd_stats PID LOG PATTERN: SIGUSR1 the daemon, wait for a new line matching PATTERN in
# LOG and print the last such line.
xd_stats() {
	local pid=$1 log=$2 pat=$3 n i
	n=$(grep -c -- "$pat" "$log")
	kill -USR1 "$pid"
	for i in $(seq 100); do
		[ "$(grep -c -- "$pat" "$log")" -gt "$n" ] && break
		sleep 0.02
	done
	grep -- "$pat" "$log" | tail -1
}

# xd_field LINE NAME: the number after "NAME " in a stats line.
xd_field() {
	sed -n "s/.* $2 \([0-9]*\).*/\1/p" <<<"$1"
}

# xd_linux_listen PORT OUT [NC_ARGS...]: Linux `nc -l` in $NS_C, bounded by 120 s, output
# to OUT, stdin empty; waits until it listens.  PID in NC_PID.
xd_linux_listen() {
	local port=$1 out=$2 i
	shift 2
	xt_spawn "$NS_C" timeout 120 nc "$@" -l "$port" >"$out" </dev/null
	NC_PID=$XT_PID
	for i in $(seq 100); do
		ip netns exec "$NS_C" ss -ltnH "sport = :$port" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

# xd_exnc_listen NAME PORT [ARGS...]: exnc -l in the background, stdout to NAME.out,
# stderr to NAME.err, stdin empty; waits until it listens.  PID in EXNC_PID.
xd_exnc_listen() {
	local name=$1 port=$2
	shift 2
	xt_spawn - timeout 120 "$EXNC" -v "$@" -l -p "$port" >"$XT_TMP/$name.out" \
		2>"$XT_TMP/$name.err" </dev/null
	EXNC_PID=$XT_PID
	xt_wait_for "$XT_TMP/$name.err" "listening on" 10 "$EXNC_PID" && return 0
	cat "$XT_TMP/$name.err" >&2
	return 1
}

# xd_wait_pid PID [TIMEOUT_S]: wait for a spawned process; its exit status (124: killed).
xd_wait_pid() {
	local pid=$1 t=${2:-60} i
	for i in $(seq $((t * 20))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	xt_stop "$pid" TERM 2
}

# xd_sha FILE: its sha256.
xd_sha() {
	sha256sum <"$1" | cut -d' ' -f1
}

# xd_rate BYTES NS: Gbit/s with two decimals.
xd_rate() {
	awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.2f", (ns > 0 ? b * 8 / ns : 0) }'
}

# xd_transfers LABEL MB [TIMEOUT_S]: MB of random data Linux nc -> exnc -l and exnc -> Linux
# nc -l, each byte-exact.
xd_transfers() {
	local label=$1 mb=$2 t=${3:-150} t0 t1 rc sum
	head -c "${mb}M" /dev/urandom >"$XT_TMP/data"
	sum=$(xd_sha "$XT_TMP/data")
	xd_exnc_listen rx 5001 || xt_die "exnc -l did not start"
	t0=$(date +%s%N)
	ip netns exec "$NS_C" timeout "$t" nc -N "$XT_ADDR_A" 5001 <"$XT_TMP/data"
	xd_wait_pid "$EXNC_PID" 60
	rc=$?
	t1=$(date +%s%N)
	xt_expect_eq "$label: Linux -> exnc -l exits 0" "$rc" 0
	xt_expect_eq "$label: Linux -> libOS $mb MB byte-exact" "$(xd_sha "$XT_TMP/rx.out")" "$sum"
	echo "$label: Linux -> libOS $(xd_rate $((mb << 20)) $((t1 - t0))) Gbit/s"
	xd_linux_listen 5002 "$XT_TMP/tx.out" || xt_die "nc -l"
	t0=$(date +%s%N)
	timeout "$t" "$EXNC" -N "$XT_ADDR_B" 5002 <"$XT_TMP/data" 2>"$XT_TMP/tx.err"
	rc=$?
	t1=$(date +%s%N)
	xd_wait_pid "$NC_PID" 30
	xt_expect_eq "$label: exnc -> Linux exits 0" "$rc" 0
	xt_expect_eq "$label: libOS -> Linux $mb MB byte-exact" "$(xd_sha "$XT_TMP/tx.out")" "$sum"
	echo "$label: libOS -> Linux $(xd_rate $((mb << 20)) $((t1 - t0))) Gbit/s"
}
