#!/usr/bin/env bash
# xokd_impair.sh - xokd --impair: 10% loss inside xokd, both ways (seeded), under TCP
# transfers through the libOS: Linux nc -> exnc and exnc -> Linux nc byte-exact, cheetah
# downloads byte-exact (when cheetah is built); then duplication, reordering and delay;
# xokctl impair counts what was done.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/daemons_common.sh"
: "${EXNC:?path to exnc}" "${XOKCTL:?path to xokctl}"
xt_require_root
xt_require_cmds python3 ethtool nc ss curl
xt_init
C() { ip netns exec "$NS_C" "$@"; }
MB=${XOKD_IMPAIR_MB:-3}

# xi_start SPEC: xokd --impair SPEC, arpd, strayd (on the topology of daemons_common.sh)
xi_start() {
	: >"$XT_TMP/xokd.log"
	xt_spawn "$NS_X" "$XOKD" --iface "$XT_IF_A" --addr "$XT_ADDR_A/24" --socket "$SOCK" \
		--impair "$1" >>"$XT_TMP/xokd.log" 2>&1
	XOKD_PID=$XT_PID
	xt_wait_xokd "$XOKD_PID" "$XT_TMP/xokd.log" || return 1
	cat "$XT_TMP/arpd.log" >>"$XT_TMP/arpd.old.log" 2>/dev/null
	: >"$XT_TMP/arpd.log" # xd_start_arpd waits for a "ready" line in it
	xd_start_arpd && xd_start_strayd
}

xi_stop() {
	xt_stop "$STRAYD_PID" TERM 5
	xt_stop "$ARPD_PID" TERM 5
	xt_stop "$XOKD_PID" TERM 5
}

# xi_counter NAME: an impairment counter of the interface
xi_counter() {
	"$XOKCTL" --socket "$SOCK" impair --json |
		python3 -c "import json,sys; print(json.load(sys.stdin)['impair'][0]['$1'])"
}


xd_topology
xt_check "bad --impair specs are refused" bash -c \
	"'$XOKD' --iface lo --addr 1.2.3.4/8 --impair drop=200 2>&1 | grep -q 'bad --impair' &&
	 '$XOKD' --iface lo --addr 1.2.3.4/8 --impair bogus=1 2>&1 | grep -q 'bad --impair'"

# ---- 10% loss each way ----
xi_start "drop=10,seed=7" || xt_die "xokd --impair did not start"
xt_check "xokd announces the impairment" grep -q "IMPAIRING every frame: drop 10.00%" \
	"$XT_TMP/xokd.log"
C ping -c 10 -i 0.2 -W 1 "$XT_ADDR_A" >/dev/null # ARP through the loss
xd_transfers "10% loss" "$MB"
if [ -n "${CHEETAH:-}" ] && [ -x "$CHEETAH" ]; then
	ROOT=$XT_TMP/www
	mkdir -p "$ROOT"
	head -c 2M /dev/urandom >"$ROOT/f2m"
	head -c 100k /dev/urandom >"$ROOT/f100k"
	"$CHEETAH_PREP" -q "$ROOT" || xt_die "cheetah-prep failed"
	xt_spawn - "$CHEETAH" -r "$ROOT" -p 8080 --socket "$SOCK" >"$XT_TMP/cheetah.log" 2>&1
	CH_PID=$XT_PID
	xt_wait_port "$NS_C" "$XT_ADDR_A" 8080 20 || { cat "$XT_TMP/cheetah.log"; xt_die "cheetah"; }
	for f in f2m f100k f2m; do
		C curl -s --max-time 90 -o "$XT_TMP/dl" "http://$XT_ADDR_A:8080/$f"
		xt_expect_eq "10% loss: cheetah GET $f byte-exact" "$(xd_sha "$XT_TMP/dl")" \
			"$(xd_sha "$ROOT/$f")"
	done
	xt_stop "$CH_PID" TERM 5
else
	echo "note: cheetah is not built: its downloads are skipped"
fi
RXD=$(xi_counter rx_drop)
TXD=$(xi_counter tx_drop)
echo "impaired: rx_drop $RXD, tx_drop $TXD"
xt_check "frames were dropped on receive ($RXD)" test "$RXD" -gt 50
xt_check "frames were dropped on transmit ($TXD)" test "$TXD" -gt 50
xi_stop

# ---- duplication, reordering, delay ----
xi_start "dup=3,reorder=3,gap=2,delay=300,seed=3" || xt_die "xokd --impair did not start"
C ping -c 5 -i 0.2 -W 1 "$XT_ADDR_A" >/dev/null
xd_transfers "dup+reorder+delay" 2
for c in rx_dup rx_reorder rx_delay tx_dup tx_reorder tx_delay; do
	v=$(xi_counter "$c")
	xt_check "$c counted ($v)" test "$v" -gt 0
done
xt_check "xokd still running" kill -0 "$XOKD_PID"
xi_stop
xt_finish
