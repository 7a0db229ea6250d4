#!/usr/bin/env bash
# webswamp_nginx.sh - sockclient-linux against nginx over a veth pair: what the client counts
# is what nginx served (access log), surge seeds reproduce, a killed server shows as errors.
#
# Topology: nginx (a foreground process with a generated config) in namespace "srv" serves a
# docroot made by webswamp-gen; sockclient-linux runs in namespace "cli".
# Environment: SOCKCLIENT_LINUX, WEBSWAMP_GEN (binaries); XT_SWAMP_SECONDS (default 2).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/webswamp_common.sh"

SC=${SOCKCLIENT_LINUX:?set SOCKCLIENT_LINUX to the sockclient-linux binary}
GEN=${WEBSWAMP_GEN:?set WEBSWAMP_GEN to the webswamp-gen binary}
SECS=${XT_SWAMP_SECONDS:-2}

XT_NO_BPF=1 # plain Linux sockets and nginx: no xokd
xt_require_root
xt_require_cmds nginx jq
xt_init
# nginx's worker runs as nobody: it must be able to read the docroot under $XT_TMP.
chmod 755 "$XT_TMP"

# ---- docroot: a Surge-like set, and fixed sizes ----
ROOT=$XT_TMP/www
"$GEN" -n 200 --seed 3 --max-size 200000 "$ROOT" >/dev/null || xt_die "webswamp-gen"
DOCSET=$ROOT/webswamp.docset
for s in 0 100 10240; do head -c "$s" /dev/urandom >"$ROOT/f$s"; done

# ---- topology ----
xt_netns NS_SRV srv || xt_die "netns"
xt_netns NS_CLI cli || xt_die "netns"
xt_veth "$NS_SRV" "$NS_CLI" || xt_die "veth"
SRV=$XT_ADDR_A
# HTTP/1.0 closed loops take a local port per request and leave TIME_WAITs behind.
xt_in "$NS_CLI" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1 ||
	xt_die "sysctl"

LOG=$XT_TMP/access.log
xt_nginx_conf "$SRV" "$ROOT" "$LOG"

# start_nginx: nginx, serving; its access log empty.
start_nginx() {
	xt_nginx_start "$NS_SRV" "$NS_CLI" "$SRV" "$LOG"
}

# swamp NAME ARGS...: run sockclient-linux in the client namespace, JSON to $XT_TMP/NAME.json.
swamp() {
	local name=$1
	shift
	xt_in "$NS_CLI" "$SC" --json "$@" >"$XT_TMP/$name.json" 2>"$XT_TMP/$name.err" ||
		{ cat "$XT_TMP/$name.err"; return 1; }
}

j() { jq -r "$2" "$XT_TMP/$1.json"; }

# log_matches NAME: nginx's access log agrees with the client's counts, exactly: the client
# drains requests in flight before it stops, so nothing is served uncounted.
log_matches() {
	local name=$1 lines bytes non200
	lines=$(wc -l <"$LOG")
	bytes=$(awk '{s += $2} END {print s + 0}' "$LOG")
	non200=$(awk '$1 != 200' "$LOG" | wc -l)
	xt_check "$name: requests > 0 ($(j "$name" .requests))" test "$(j "$name" .requests)" -gt 0
	xt_expect_eq "$name: requests = nginx log lines" "$(j "$name" .requests)" "$lines"
	xt_expect_eq "$name: body bytes = sum of \$body_bytes_sent" "$(j "$name" .body_bytes)" "$bytes"
	xt_expect_eq "$name: nginx served only 200s" "$non200" 0
	xt_expect_eq "$name: no errors" "$(j "$name" '[.errors[]] | add')" 0
}

start_nginx

# ---- fixed driver, HTTP/1.0: one connection per request ----
for s in 0 100 10240; do
	: >"$LOG"
	swamp fixed$s -c 20 -d "$SECS" "http://$SRV/f$s" || xt_die "sockclient-linux failed"
	log_matches fixed$s
	xt_expect_eq "fixed$s: one connection per request" "$(j fixed$s .connects)" \
		"$(j fixed$s .requests)"
	xt_expect_eq "fixed$s: body bytes = requests x size" "$(j fixed$s .body_bytes)" \
		$(($(j fixed$s .requests) * s))
done

# ---- fixed driver, keep-alive ----
: >"$LOG"
swamp keepalive -c 10 -d "$SECS" --keepalive "http://$SRV/f100" || xt_die "sockclient-linux"
log_matches keepalive
xt_check "keepalive: at most one connection per client ($(j keepalive .connects))" \
	test "$(j keepalive .connects)" -le 10

# ---- surge: counts, and the same seed gives the same request sequence ----
surge() { # surge NAME SEED
	: >"$LOG"
	swamp "$1" -c 8 -d "$SECS" --driver surge --docset "$DOCSET" --think 2 --seed "$2" \
		--trace "$XT_TMP/$1.trace" "http://$SRV/" || xt_die "sockclient-linux surge"
}
surge surge_a 42
log_matches surge_a
# Every URL nginx served was handed out by the driver; the trace has at most one more task
# per client (drawn, then still thinking when the run ended).
served=$(awk '{print $3}' "$LOG" | sort)
traced=$(awk '{print $4}' "$XT_TMP/surge_a.trace" | sort)
xt_check "surge: nginx served only traced URLs" \
	bash -c '[ -z "$(comm -23 <(echo "$1") <(echo "$2"))" ]' _ "$served" "$traced"
xt_check "surge: at most one untraced-by-nginx task per client" \
	test $(($(wc -l <"$XT_TMP/surge_a.trace") - $(wc -l <"$LOG"))) -le 8
xt_check "surge: more than 20 distinct documents" \
	test "$(awk '{print $3}' "$LOG" | sort -u | wc -l)" -gt 20
surge surge_b 42
surge surge_c 43

xt_check "surge: same seed, same per-client request sequences" same_prefix surge_a surge_b
xt_check "surge: another seed, other sequences" differs surge_a surge_c

# ---- the server dies mid-run: errors, counted and reported ----
: >"$LOG"
xt_spawn "$NS_CLI" "$SC" --json -c 10 -d 4 --timeout 500 "http://$SRV/f100" \
	>"$XT_TMP/kill.json" 2>"$XT_TMP/kill.err"
CLIENT_PID=$XT_PID
sleep 1.5
# Only the nginx we started: its master and the master's own children (the worker).
workers=$(ps -o pid= --ppid "$NGINX_PID")
kill -KILL "$NGINX_PID" $workers 2>/dev/null
{ wait "$NGINX_PID"; } 2>/dev/null # reap it quietly (no "Killed" from the shell)
# Let it run its course (4 s, plus draining up to --timeout); xt_stop then only reaps it.
for _ in $(seq 100); do kill -0 "$CLIENT_PID" 2>/dev/null || break; sleep 0.1; done
xt_stop "$CLIENT_PID" TERM 5
xt_expect_eq "kill: the client exits 0 with a report" "$?" 0
xt_check "kill: requests before the kill ($(j kill .requests))" test "$(j kill .requests)" -gt 0
xt_check "kill: connect errors after it ($(j kill .errors.connect))" \
	test "$(j kill .errors.connect)" -gt 0
xt_check "kill: every request nginx logged was counted or failed" \
	test "$(wc -l <"$LOG")" -le $(($(j kill .requests) + $(j kill '[.errors[]] | add')))

xt_finish
