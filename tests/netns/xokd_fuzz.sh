#!/usr/bin/env bash
# xokd_fuzz.sh - random and malformed control traffic (garbage, truncated and oversized
# datagrams, mutated fields, bad fds) never crashes xokd or leaks its fds.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/xokd_common.sh"
xt_require_root
xt_require_cmds python3
xt_init
xk_topology
xk_start_xokd || xt_die "xokd did not start"
sleep 0.2
FD0=$(xk_fd_count "$XOKD_PID")

for seed in 1 2 3 4 5; do
	"$XOK_TESTAPP" fuzz --socket "$SOCK" --iterations 20000 --seed "$seed" \
		>"$XT_TMP/fuzz$seed.out" 2>&1
	cat "$XT_TMP/fuzz$seed.out"
	xt_check "fuzz seed $seed: xokd answered every request and is alive" \
		grep -q "^fuzz alive" "$XT_TMP/fuzz$seed.out"
done
# also raw garbage from python, including zero-length and maximal datagrams, in parallel
python3 - "$SOCK" <<'PY'
import os, random, socket, sys
random.seed(9)
for i in range(300):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    for k in range(random.randint(1, 20)):
        n = random.choice([0, 1, 15, 16, 17, 100, 4095, 4096, 4097, 65000])
        try:
            s.send(os.urandom(n))
        except OSError:
            break
    s.close()
PY
sleep 0.5
xt_check "xokd survived" kill -0 "$XOKD_PID"
"$XOK_TESTAPP" filter --socket "$SOCK" --port 7300 >"$XT_TMP/after.out" 2>&1
xt_check "and still serves a well-formed app" grep -q "^filter=" "$XT_TMP/after.out"
sleep 0.2
FD1=$(xk_fd_count "$XOKD_PID")
xt_expect_eq "no fd leaked ($FD0 before)" "$FD1" "$FD0"
xt_expect_eq "no app left behind" "$(xk_json "len([a for a in j['apps'] if a['name'] != 'xokctl'])")" 0
xt_finish
