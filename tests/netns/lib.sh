# lib.sh - shared helpers for the netns integration tests: namespaces, veths, processes, checks
#
# Source it from a bash test script (meson runs: bash tests/netns/NAME.sh, env for paths):
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   xt_require_root                  # exit 77 (meson: SKIP) unless root with `ip netns`
#   xt_require_cmds curl wrk         # exit 77 if a tool is missing
#   xt_init                          # names for this run, temp dir $XT_TMP, cleanup trap
#   xt_netns NS_SRV srv              # namespace "$XT_PREFIX-srv", lo up; name in $NS_SRV
#   xt_netns NS_CLI cli
#   xt_veth "$NS_SRV" "$NS_CLI"      # veth pair $XT_IF_A <-> $XT_IF_B, up, with
#                                    # $XT_ADDR_A/24 <-> $XT_ADDR_B/24 in 198.18.0.0/15
#   xt_spawn "$NS_SRV" prog args >"$XT_TMP/log" 2>&1   # background; its PID in $XT_PID
#   xt_wait_port "$NS_CLI" "$XT_ADDR_A" 80 || xt_die "server did not start"
#   xt_check "GET works" xt_in "$NS_CLI" curl -sf "http://$XT_ADDR_A/"
#   xt_finish                        # summary; exit 1 if any check failed
#
# Conventions:
# - Everything a run creates carries XT_PREFIX ("xt" + the shell's PID), so concurrent runs
#   never collide; interface names stay within the 15-character limit (IFNAMSIZ - 1).
# - Addresses come only from 198.18.0.0/15 (RFC 2544 benchmarking space). The /24 of each
#   veth is derived from the PID and a per-run counter: 198.(18 + k/256).(k%256).0/24.
# - Cleanup (on any exit, INT or TERM) kills only the PIDs started with xt_spawn, deletes
#   only the links and namespaces created here, then removes $XT_TMP.
# - xt_on_exit CMD registers extra cleanup (e.g. unmounting a tmpfs); such commands run once
#   the spawned processes are gone, before links and namespaces go, last registered first.
# - A namespace argument of "-" means the initial namespace (e.g. the end that xokd attaches
#   to); xt_veth --no-addr-a leaves end A without a Linux address for the same purpose.
# - Functions return non-zero on failure instead of exiting, except xt_die and xt_require_*.

XT_PIDS=()
XT_ON_EXIT=()
XT_NETNS=()
XT_LINKS=() # veth ends left in the initial namespace
XT_FAILS=0
XT_CHECKS=0
XT_NVETH=0

xt_log() {
	printf '%s: %s\n' "${XT_NAME:-netns}" "$*" >&2
}

xt_die() {
	xt_log "FATAL: $*"
	exit 1
}

# Exit 77 (skipped) unless we can create namespaces.
xt_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root (network namespaces)"
		exit 77
	fi
	if ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
		echo "SKIP: iproute2 with netns support is missing"
		exit 77
	fi
	# scripts/test sets XOK_BPF_BROKEN when this kernel cannot load BPF programs any more;
	# tests that need no BPF (XT_NO_BPF=1 before this call) still run.
	if [ -n "${XOK_BPF_BROKEN:-}" ] && [ -z "${XT_NO_BPF:-}" ]; then
		echo "SKIP: $XOK_BPF_BROKEN"
		exit 77
	fi
}

# Exit 77 (skipped) if any of the named tools is missing.
xt_require_cmds() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null; then
			echo "SKIP: $c is not installed"
			exit 77
		fi
	done
}

# Set up names, the temp dir and the cleanup trap. Call once, before anything else.
xt_init() {
	XT_NAME=${XT_NAME:-$(basename "$0" .sh)}
	XT_PREFIX="xt$$"
	XT_TMP=$(mktemp -d "/tmp/$XT_PREFIX.XXXXXX") || xt_die "mktemp failed"
	trap xt_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Kill what we started, delete what we created. Runs once, from the EXIT trap.
xt_cleanup() {
	local rc=$? pid i
	trap - EXIT
	set +e # a script under set -e (scripts/demo) must still clean up everything
	for pid in "${XT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${XT_PIDS[@]}"; do
		for i in $(seq 30); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for ((i = ${#XT_ON_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${XT_ON_EXIT[i]}"
	done
	for i in "${XT_LINKS[@]}"; do
		ip link del "$i" 2>/dev/null
	done
	# Deleting a namespace deletes the veth ends inside it (and so their peers).
	for i in "${XT_NETNS[@]}"; do
		ip netns del "$i" 2>/dev/null
	done
	[ -n "${XT_TMP:-}" ] && [ -z "${XT_KEEP_TMP:-}" ] && rm -rf "$XT_TMP"
	exit "$rc"
}

# xt_on_exit CMD: run the shell command string CMD at cleanup (see the conventions above).
xt_on_exit() {
	XT_ON_EXIT+=("$1")
}

# xt_netns VAR NAME: create namespace "$XT_PREFIX-NAME" with lo up; store its name in VAR.
xt_netns() {
	local ns="$XT_PREFIX-$2"
	ip netns add "$ns" || return 1
	XT_NETNS+=("$ns")
	ip -n "$ns" link set lo up || return 1
	printf -v "$1" '%s' "$ns"
}

# xt_in NS CMD...: run CMD in namespace NS ("-": the initial namespace).
xt_in() {
	local ns=$1
	shift
	if [ "$ns" = - ]; then
		"$@"
	else
		ip netns exec "$ns" "$@"
	fi
}

# xt_veth [--no-addr-a] NS_A NS_B: a veth pair between two namespaces, both ends up.
# Sets XT_IF_A, XT_IF_B (interface names), XT_ADDR_A, XT_ADDR_B (198.18.X.1 and .2),
# XT_SUBNET (198.18.X.0/24). Each call in a run gets another /24.
xt_veth() {
	local addr_a=1
	[ "$1" = --no-addr-a ] && { addr_a=0; shift; }
	local ns_a=$1 ns_b=$2 n=$XT_NVETH
	local k=$(((($$ % 256) * 2 + n) % 512))
	local net="198.$((18 + k / 256)).$((k % 256))"
	XT_NVETH=$((n + 1))
	XT_IF_A="${XT_PREFIX}v${n}a"
	XT_IF_B="${XT_PREFIX}v${n}b"
	XT_ADDR_A="$net.1"
	XT_ADDR_B="$net.2"
	# shellcheck disable=SC2034 # for the caller
	XT_SUBNET="$net.0/24"
	ip link add "$XT_IF_A" type veth peer name "$XT_IF_B" || return 1
	XT_LINKS+=("$XT_IF_A")
	if [ "$ns_a" != - ]; then ip link set "$XT_IF_A" netns "$ns_a" || return 1; fi
	if [ "$ns_b" != - ]; then ip link set "$XT_IF_B" netns "$ns_b" || return 1; fi
	if [ "$addr_a" = 1 ]; then
		xt_in "$ns_a" ip addr add "$XT_ADDR_A/24" dev "$XT_IF_A" || return 1
	fi
	xt_in "$ns_b" ip addr add "$XT_ADDR_B/24" dev "$XT_IF_B" || return 1
	xt_in "$ns_a" ip link set "$XT_IF_A" up || return 1
	xt_in "$ns_b" ip link set "$XT_IF_B" up || return 1
}

# xt_spawn [-i] NS CMD...: start CMD in the background in NS; its PID goes to XT_PID and to
# the cleanup list. `ip netns exec` execs CMD, so the PID is CMD's own. Redirect as usual,
# except stdin: bash gives background commands /dev/null unless told otherwise, so -i
# hands CMD the caller's stdin (xt_spawn -i - cmd <fifo).
xt_spawn() {
	local keep_stdin=0 ns
	if [ "$1" = -i ]; then
		keep_stdin=1
		shift
	fi
	ns=$1
	shift
	[ "$ns" = - ] && set -- "$@" || set -- ip netns exec "$ns" "$@"
	if ((keep_stdin)); then
		"$@" <&0 &
	else
		"$@" &
	fi
	XT_PID=$!
	XT_PIDS+=("$XT_PID")
}

# xt_stop PID [SIGNAL [TIMEOUT_S]]: signal a spawned process (default TERM), wait up to
# TIMEOUT_S (default 5) for it to exit. Returns its exit status, or 124 if it did not exit
# (it is then killed).
xt_stop() {
	local pid=$1 sig=${2:-TERM} t=${3:-5} i rc
	kill "-$sig" "$pid" 2>/dev/null
	for i in $(seq $((t * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid"
	rc=$?
	local keep=() p
	for p in "${XT_PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
	XT_PIDS=("${keep[@]}")
	return "$rc"
}

# xt_wait_port NS ADDR PORT [TIMEOUT_S]: wait until a TCP connect from NS succeeds.
xt_wait_port() {
	local ns=$1 addr=$2 port=$3 t=${4:-10} i
	for i in $(seq $((t * 20))); do
		if xt_in "$ns" timeout 1 bash -c "exec 3<>/dev/tcp/$addr/$port" 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# xt_wait_for FILE PATTERN [TIMEOUT_S [PID [SEEN]]]: wait until FILE holds more than SEEN
# (default 0) lines matching PATTERN, while PID, if given, is alive.  SEEN is for logs
# appended to across restarts: the count taken before the start.
xt_wait_for() {
	local file=$1 pat=$2 t=${3:-10} pid=${4:-} seen=${5:-0} i c
	for i in $(seq $((t * 20))); do
		c=$(grep -c -- "$pat" "$file" 2>/dev/null)
		[ "${c:-0}" -gt "$seen" ] && return 0
		[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && break
		sleep 0.05
	done
	return 1
}

# xt_wait_log FILE PATTERN TIMEOUT_S PID [SEEN]: xt_wait_for a program's readiness line; if
# it does not come, the program's log on stderr to say why.
xt_wait_log() {
	xt_wait_for "$@" && return 0
	cat "$1" >&2
	return 1
}

# xt_xokd_socket: SOCK, xokd's socket under $XT_TMP, which unprivileged clients can reach;
# exported as XOK_SOCKET for the libOS applications.
xt_xokd_socket() {
	chmod 711 "$XT_TMP"
	SOCK=$XT_TMP/xokd.sock
	export XOK_SOCKET=$SOCK
}

# xt_wait_xokd PID LOG: wait until the xokd PID has made $SOCK and says "ready" in LOG;
# its log on stderr if it does not.
xt_wait_xokd() {
	xt_wait_log "$2" ready 10 "$1" && [ -S "$SOCK" ] # xokd says ready once it listens
}

# xt_nginx_conf ADDR ROOT LOG: $XT_TMP/nginx.conf, nginx serving ROOT on ADDR:80 with its
# files under $XT_TMP, one "status body-bytes uri" line per request in LOG.
xt_nginx_conf() {
	cat >"$XT_TMP/nginx.conf" <<CONF
worker_processes 1;
pid $XT_TMP/nginx.pid;
error_log $XT_TMP/nginx-error.log warn;
events { worker_connections 4096; }
http {
    log_format swamp '\$status \$body_bytes_sent \$request_uri';
    access_log $3 swamp;
    sendfile on;
    keepalive_requests 1000000;
    types { }
    default_type application/octet-stream;
    client_body_temp_path $XT_TMP;
    proxy_temp_path $XT_TMP;
    fastcgi_temp_path $XT_TMP;
    uwsgi_temp_path $XT_TMP;
    scgi_temp_path $XT_TMP;
    server { listen $1:80 backlog=4096; root $2; location / { } }
}
CONF
}

# xt_nginx_start NS PROBE_NS ADDR LOG: nginx (xt_nginx_conf's) in the foreground in NS, up
# once PROBE_NS connects to ADDR:80; LOG emptied after that probe.  PID in NGINX_PID.
xt_nginx_start() {
	: >"$4"
	xt_spawn "$1" nginx -c "$XT_TMP/nginx.conf" -p "$XT_TMP" -g 'daemon off;' \
		>>"$XT_TMP/nginx.out" 2>&1
	# shellcheck disable=SC2034 # (the caller stops it)
	NGINX_PID=$XT_PID
	xt_wait_port "$2" "$3" 80 10 || { cat "$XT_TMP/nginx.out"; xt_die "no nginx"; }
	: >"$4"
}

# xt_check DESCRIPTION CMD...: run CMD; count and report a failure if it fails.
xt_check() {
	local what=$1
	shift
	XT_CHECKS=$((XT_CHECKS + 1))
	if "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what"
		XT_FAILS=$((XT_FAILS + 1))
	fi
}

# xt_expect_eq DESCRIPTION GOT WANT: a check that two strings are equal.
xt_expect_eq() {
	XT_CHECKS=$((XT_CHECKS + 1))
	if [ "$2" = "$3" ]; then
		echo "ok: $1"
	else
		echo "FAIL: $1: got '$2', want '$3'"
		XT_FAILS=$((XT_FAILS + 1))
	fi
}

# Print the summary and exit: 0 if every check passed, 1 otherwise.
xt_finish() {
	echo "$XT_NAME: $((XT_CHECKS - XT_FAILS))/$XT_CHECKS checks passed"
	[ "$XT_FAILS" -eq 0 ] && exit 0
	exit 1
}
