# http_xok.sh - the HTTP servers on the libOS (cheetah, httpd) against Linux clients: their
# topology, xokd's counters, loss; the checks themselves are http_checks.sh's.
#
# On top of lib.sh and xokd_common.sh. Environment: XOKD, XOKCTL, XOK_TESTAPP (for
# xokd_common.sh), ARPD, STRAYD; optionally IMPAIR_ATTACH (tests/impair/impair-attach).
# Topology (DESIGN.md §5): xokd in $NS_X owns $XT_IF_A (the libOS address $XT_ADDR_A, no
# Linux address), arpd and strayd beside it; curl, nc and wrk run in $NS_C on $XT_IF_B.
# The server under test connects to $SOCK like every libOS application.

: "${ARPD:?path to arpd}" "${STRAYD:?path to strayd}"
. "$(dirname "${BASH_SOURCE[0]}")/http_checks.sh"

# hx_topology: namespaces, veth, xokd, arpd, strayd; sets SRV (the server's address).
hx_topology() {
	xk_topology
	xk_start_xokd || xt_die "xokd did not start"
	xt_spawn - "$ARPD" --socket "$SOCK" >"$XT_TMP/arpd.log" 2>&1
	xt_spawn - "$STRAYD" --socket "$SOCK" >"$XT_TMP/strayd.log" 2>&1
	SRV=$XT_ADDR_A
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
	hc_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" "$@" &&
		hc_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" --ingress "$@"
}

hx_impair_off() {
	hc_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" --stats | sed 's/^/  impair egress: /'
	hc_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" --ingress --stats | sed 's/^/  impair ingress: /'
	hc_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" --detach
	hc_cli "$IMPAIR_ATTACH" --dev "$XT_IF_B" --ingress --detach
}
