#!/usr/bin/env bash
# xokd_wake.sh - wakeup predicates: a frame wakes an app sleeping on its predicate; xokd's
# predicate timeout wakes a sleeper whose predicate stays false.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
xt_require_root
xt_require_cmds python3
xt_init
xk_topology
xk_start_xokd || xt_die "xokd did not start"

xk_app wait "sleeping" wait --port 7100 --count 1 --timeout-ms 20000 || xt_die "app"
sleep 0.5
STATE=$(awk '{print $3}' "/proc/$APP_PID/stat")
WCHAN=$(cat "/proc/$APP_PID/wchan" 2>/dev/null)
echo "app state $STATE wchan $WCHAN"
xt_expect_eq "app is asleep (not polling)" "$STATE" S
xt_check "asleep in a futex wait" bash -c "[[ '$WCHAN' == *futex* || -z '$WCHAN' || '$WCHAN' == 0 ]]"
xk_send_udp 7100 "wake up"
xk_wait_exit "$APP_PID" 5
cat "$XT_TMP/wait.out"
xt_check "woken by the frame" grep -q "^woke after_us=" "$XT_TMP/wait.out"
xt_check "and received it" grep -q "^done frames=1" "$XT_TMP/wait.out"

"$XOK_TESTAPP" pred-timeout --socket "$SOCK" --ms 300 >"$XT_TMP/pt.out" 2>&1
cat "$XT_TMP/pt.out"
MS=$(sed -n 's/.*woke_after_ms=\([0-9]*\).*/\1/p' "$XT_TMP/pt.out")
xt_check "xokd's timeout woke the sleeper after ~300 ms" \
	bash -c "[ -n '$MS' ] && [ '$MS' -ge 290 ] && [ '$MS' -le 2000 ]"
xt_check "seq bumped and sleeping cleared" grep -q "seq=1 sleeping=0" "$XT_TMP/pt.out"
xt_finish
