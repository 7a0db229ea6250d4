#!/usr/bin/env bash
# test_httpd_cli.sh - httpd-linux command line: --help, argument and docroot errors
set -u
httpd=${HTTPD_LINUX:?set HTTPD_LINUX to the httpd-linux binary}
fails=0
expect() { # expect RC PATTERN ARGS...: exit status RC and output matching PATTERN
	local rc=$1 pat=$2 out got
	shift 2
	out=$(timeout 5 "$httpd" "$@" 2>&1)
	got=$?
	if [ "$got" -eq "$rc" ] && grep -q -- "$pat" <<<"$out"; then
		echo "ok: $* -> $rc"
	else
		echo "FAIL: $* -> $got: $out"
		fails=$((fails + 1))
	fi
}
expect 0 'Usage: httpd-linux -r DOCROOT' --help
expect 0 'Usage:' -h
expect 2 'missing -r DOCROOT'
expect 2 "docroot '/nonexistent': No such file or directory" -r /nonexistent
expect 2 "docroot '/etc/passwd': not a directory" -r /etc/passwd
expect 2 "invalid port '0'" -r /tmp -p 0
expect 2 "invalid port '65536'" -r /tmp -p 65536
expect 2 "invalid port 'x'" -r /tmp -p x
expect 2 "invalid timeout" -r /tmp -t 0
expect 2 "invalid cache size" -r /tmp -m -1
expect 2 "unexpected argument 'extra'" -r /tmp extra
expect 1 'not a numeric IP address' -r /tmp -a 1.2.3
expect 2 'Usage:' --bogus
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
