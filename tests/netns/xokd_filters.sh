#!/usr/bin/env bash
# xokd_filters.sh - two apps cannot install overlapping filters; the filter tree as xokctl
# shows it; a filter's port frees up when its owner dies.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
xt_require_root
xt_require_cmds python3
xt_init
xk_topology
xk_start_xokd || xt_die "xokd did not start"

xk_app a "filter=" filter --port 7200 --hold || xt_die "app a"
A_PID=$APP_PID
FA=$(sed -n 's/^filter=\([0-9]*\).*/\1/p' "$XT_TMP/a.out")

"$XOK_TESTAPP" filter --socket "$SOCK" --port 7200 >"$XT_TMP/b.out" 2>&1
cat "$XT_TMP/b.out"
xt_check "an equal filter of another app is refused (-EEXIST, naming it)" \
	grep -q "filter_error=-17 conflict=$FA" "$XT_TMP/b.out"
"$XOK_TESTAPP" filter --socket "$SOCK" --port 7200 --sport-filter >"$XT_TMP/c.out" 2>&1
cat "$XT_TMP/c.out"
xt_check "an ambiguous overlap is refused (-EBUSY)" grep -q "filter_error=-16" "$XT_TMP/c.out"
grep -q "insert rejected" "$XT_TMP/xokd.log"
xt_check "xokd logs the rejection with its module prefix" \
	grep -q "xokd: dpf: .*insert rejected: \(equal to\|overlaps\) filter $FA" "$XT_TMP/xokd.log"

"$XOKCTL" --socket "$SOCK" filters >"$XT_TMP/filters.txt"
cat "$XT_TMP/filters.txt"
xt_check "xokctl filters lists the filter with its owner" \
	grep -q "^$FA .*xok-testapp" "$XT_TMP/filters.txt"
xk_send_udp 7200 x x x
sleep 0.2
xt_expect_eq "hit counts" "$(xk_json "[f['hits'] for f in j['filters'] if f['filter']==$FA][0]")" 3

# an unprivileged user may connect (socket mode 0666) and install an ordinary filter
if command -v setpriv >/dev/null; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$XOK_TESTAPP" filter \
		--socket "$SOCK" --port 7201 >"$XT_TMP/nobody.out" 2>&1
	cat "$XT_TMP/nobody.out"
	xt_check "an unprivileged app installs a filter" grep -q "^filter=" "$XT_TMP/nobody.out"
fi

kill -KILL "$A_PID"
xt_stop "$A_PID" KILL 5
sleep 0.2
"$XOK_TESTAPP" filter --socket "$SOCK" --port 7200 >"$XT_TMP/d.out" 2>&1
cat "$XT_TMP/d.out"
xt_check "after the owner's death the port is free again, under a new id" \
	bash -c "grep -q '^filter=' '$XT_TMP/d.out' && ! grep -q '^filter=$FA ' '$XT_TMP/d.out'"
xt_finish
