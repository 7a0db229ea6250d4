#!/usr/bin/env bash
# test_xokdump_cli.sh - xokdump's command line without xokd: help, -d, errors, exit codes.
set -uo pipefail
: "${XOKDUMP:?path to the xokdump binary}"

fails=0
check() { # description, expected exit code, expected output substring, command...
	local what=$1 code=$2 want=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [[ $rc != "$code" || $out != *"$want"* ]]; then
		echo "FAIL: $what: exit $rc (want $code), output:"
		echo "$out" | sed 's/^/    /'
		echo "  wanted: $want"
		fails=$((fails + 1))
	else
		echo "ok: $what"
	fi
}

check "--help" 0 "Usage: xokdump" "$XOKDUMP" --help
check "--version" 0 "xokdump " "$XOKDUMP" --version
check "-d conjunction" 0 "1 copy filter, exact" \
	"$XOKDUMP" -d tcp and dst port 80 and src host 198.18.0.2
check "-d atoms" 0 "(005) match [+2:2]=0x0050" \
	"$XOKDUMP" -d tcp and dst port 80 and src host 198.18.0.2
check "-d host" 0 "4 copy filters, exact" "$XOKDUMP" -d host 198.18.0.1
check "-d negation" 0 "wider than the expression" "$XOKDUMP" -d udp and not port 53
check "-d canonical" 0 "expression: ((tcp or udp) and port 53)" \
	"$XOKDUMP" -d "tcp or udp and port 53"
check "options after the expression" 0 "expression: (udp and port 53)" \
	"$XOKDUMP" udp and port 53 -d
check "-d nothing" 0 "the expression matches no frame" "$XOKDUMP" -d tcp and udp
check "syntax error" 1 "xokdump: syntax error: expected a primitive, got the end" \
	"$XOKDUMP" -d tcp and
check "syntax caret" 1 "         ^" "$XOKDUMP" -d tcp and
check "bad address" 1 "'1.2.3.400' is not an IPv4 address" "$XOKDUMP" -d host 1.2.3.400
check "bad count" 1 "invalid count '0'" "$XOKDUMP" -c 0 tcp
check "bad snaplen" 1 "invalid snaplen 'x'" "$XOKDUMP" -s x tcp
check "bad option" 1 "Try 'xokdump --help'" "$XOKDUMP" -Z
check "no xokd" 1 "cannot connect to xokd at /nonexistent/xokd.sock" \
	"$XOKDUMP" --socket /nonexistent/xokd.sock -c 1 udp
check "no xokd (env)" 1 "cannot connect to xokd at /nonexistent/env.sock" \
	env XOK_SOCKET=/nonexistent/env.sock "$XOKDUMP" -c 1 udp

((fails == 0)) || { echo "$fails check(s) failed"; exit 1; }
