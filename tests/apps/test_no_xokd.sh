#!/usr/bin/env bash
# test_no_xokd.sh - every program that needs xokd, started without one: a nonzero exit, no
# crash (nor a sanitizer's report), and one line that names the control socket it tried and
# says what to check (said once, not followed by a vaguer repetition).
# Programs come as NAME=PATH arguments; no network or privileges needed.
set -u
sock=$(mktemp -u /tmp/no-xokd.XXXXXX.sock) # a path nothing listens on
docroot=$(mktemp -d)
trap 'rmdir "$docroot"' EXIT
fails=0
args_for() {
	case $1 in
	cheetah | httpd) echo "-r $docroot" ;;
	xfwd) echo "--listen 198.18.0.1:80 --backend 198.18.1.1:80" ;;
	exnc) echo "198.18.0.1 80" ;;
	xokctl) echo "apps" ;;
	webswamp | sockclient) echo "-c 1 -d 1 http://198.18.0.1/" ;;
	esac
}
for prog in "$@"; do
	name=${prog%%=*} bin=${prog#*=}
	# shellcheck disable=SC2046 # the program's arguments, split on purpose
	out=$(XOK_SOCKET=$sock timeout 10 "$bin" $(args_for "$name") 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -lt 124 ] && grep -q -- "$sock" <<<"$out" &&
		grep -q "is xokd running" <<<"$out" && ! grep -q "Sanitizer" <<<"$out" &&
		[ "$(wc -l <<<"$out")" -eq 1 ]; then
		echo "ok: $name without xokd -> $rc: $(head -1 <<<"$out")"
	else
		echo "FAIL: $name without xokd -> $rc: $out"
		fails=$((fails + 1))
	fi
done
[ "$#" -gt 0 ] || { echo "FAIL: no programs given"; exit 1; }
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
