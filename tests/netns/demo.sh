#!/usr/bin/env bash
# demo.sh - the README's first command, scripts/demo, without its install and build steps:
# it serves, downloads byte-exact, runs wrk, exits 0 and leaves no namespace or process.
#
# Environment: BUILD (the meson build directory the demo takes its programs from).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${BUILD:?the meson build directory}"

xt_require_root
xt_require_cmds curl wrk ping
xt_init

before=$(ip netns list | sort)
out=$(BUILD=$BUILD "$REPO/scripts/demo" --no-build --seconds 1 --conns 10 2>&1)
rc=$?
echo "$out" | tail -n 25 | sed 's/^/  demo: /'
xt_expect_eq "demo exits 0" "$rc" 0
xt_check "demo: ping answered" grep -q '3 received' <<<"$out"
xt_check "demo: curl got the index page" grep -q 'Hello from cheetah' <<<"$out"
xt_check "demo: 100 KB download identical" grep -q '100k.bin: identical' <<<"$out"
xt_expect_eq "demo: both wrk runs reported" "$(grep -c '^Requests/sec:' <<<"$out")" 2
xt_check "demo: no wrk socket errors" bash -c "! grep -q 'Socket errors' <<<\"\$1\"" _ "$out"
xt_expect_eq "demo leaves no namespace behind" "$(ip netns list | sort)" "$before"
xt_check "demo leaves no xokd behind" bash -c "! pgrep -f '^$BUILD/src/kern/xokd' >/dev/null"
xt_finish
