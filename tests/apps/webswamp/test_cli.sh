#!/usr/bin/env bash
# test_cli.sh - sockclient-linux and webswamp-gen command lines: help, errors, generation.
# Needs no network: every run here fails before connecting, or only generates files.
# Env: SOCKCLIENT_LINUX, WEBSWAMP_GEN (paths to the programs).
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect_usage_error WANT_SUBSTRING CMD...: exit status 2 and the reason on stderr.
expect_usage_error() {
	local want=$1 rc=0; shift
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[[ $rc == 2 ]] || fail "$* exited $rc, want 2"
	grep -qF -- "$want" "$tmp/err" || fail "$*: stderr lacks '$want': $(cat "$tmp/err")"
}

sc=$SOCKCLIENT_LINUX gen=$WEBSWAMP_GEN

"$sc" --help >"$tmp/help"
for w in --connections --duration --driver --docset --keepalive --merge --no-cksum --think \
	--seed --timeout --trace --json 'webswamp accepts it (not here)'; do
	grep -qF -- "$w" "$tmp/help" || fail "sockclient-linux --help lacks '$w'"
done
"$gen" --help | grep -qF -- '--max-size' || fail "webswamp-gen --help lacks --max-size"

url=http://198.18.0.1/
expect_usage_error "no URL" "$sc"
expect_usage_error "one URL only" "$sc" "$url" "$url"
expect_usage_error "-c: 'x' is not a count" "$sc" -c x "$url"
expect_usage_error "-c: '0' is not a count" "$sc" -c 0 "$url"
expect_usage_error "-d: '5h' is not a duration" "$sc" -d 5h "$url"
expect_usage_error "--think: '-1'" "$sc" --think -1 "$url"
expect_usage_error "--seed" "$sc" --seed 1x "$url"
expect_usage_error "--timeout" "$sc" --timeout 0 "$url"
expect_usage_error "--merge needs the libOS low-level TCP API" "$sc" --merge "$url"
expect_usage_error "--no-cksum needs the libOS" "$sc" --no-cksum "$url"
expect_usage_error "unknown option '--bogus'" "$sc" --bogus "$url"
expect_usage_error "needs a value" "$sc" "$url" -c
expect_usage_error "https is not supported" "$sc" https://198.18.0.1/
expect_usage_error "port must be 1-65535" "$sc" http://198.18.0.1:0/
expect_usage_error "unknown driver 'nope'" "$sc" --driver nope "$url"
expect_usage_error "needs --docset" "$sc" --driver surge "$url"

# webswamp-gen: deterministic, and the docset drives sockclient-linux's surge driver.
expect_usage_error "DOCROOT" "$gen"
expect_usage_error "--zipf" "$gen" --zipf -1 "$tmp/a"
"$gen" -n 50 --seed 9 --max-size 100000 "$tmp/a" >/dev/null
"$gen" -n 50 --seed 9 --max-size 100000 -o "$tmp/b.docset" "$tmp/b" >/dev/null
cmp -s "$tmp/a/webswamp.docset" "$tmp/b.docset" || fail "same seed, different docsets"
[[ $(find "$tmp/a/ws" -type f | wc -l) == 50 ]] || fail "webswamp-gen did not create 50 files"
read -r _ _ size path < <(grep '^doc ' "$tmp/a/webswamp.docset" | head -1)
[[ $(stat -c %s "$tmp/a$path") == "$size" ]] || fail "$path is not $size bytes"
"$gen" -n 50 --seed 10 --max-size 100000 "$tmp/c" >/dev/null
! cmp -s "$tmp/a/webswamp.docset" "$tmp/c/webswamp.docset" || fail "other seed, same docset"
expect_usage_error "--prefix wants a path" "$gen" --prefix 'bad prefix' "$tmp/d"
expect_usage_error "--prefix wants a path" "$gen" --prefix /ws/ "$tmp/d"
expect_usage_error "--prefix wants a path" "$gen" --prefix /../x "$tmp/d"

# A corrupted docset is refused before any connection is made.
sed 's/^doc 1 /doc 2 /' "$tmp/a/webswamp.docset" >"$tmp/bad.docset"
rc=0
"$sc" -d 1 --driver surge --docset "$tmp/bad.docset" "$url" 2>"$tmp/err" || rc=$?
[[ $rc == 2 ]] || fail "corrupt docset: exit $rc"
grep -qE "appears twice|checksum" "$tmp/err" || fail "corrupt docset: $(cat "$tmp/err")"
echo "ok"
