#!/usr/bin/env bash
# test_install.sh - `meson install` into a temporary destdir: the daemons in sbin, the
# programs in bin, libexos.so with its soname links, the headers, libexos.pc, the man
# pages and the systemd units are where they belong, and a tiny program compiles and
# links against the installed headers and library through pkg-config (then runs).
# Usage: test_install.sh BUILD_DIR   (meson test runs it; suite 'unit')
set -u
BUILD=${1:?build directory}
D=$(mktemp -d /tmp/xok-install.XXXXXX) || exit 1
trap 'rm -rf "$D"' EXIT
fails=0
check() { # DESCRIPTION CMD...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

if ! meson install -C "$BUILD" --no-rebuild --destdir "$D/root" >"$D/install.log" 2>&1; then
	cat "$D/install.log"
	echo "FAIL: meson install"
	exit 1
fi
eval "$(meson introspect --buildoptions "$BUILD" | python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
p = o["prefix"]
def d(k):
    v = o[k]
    return v if v.startswith("/") else p + "/" + v
for k in ("bindir", "sbindir", "libdir", "includedir", "mandir", "sysconfdir"):
    print("%s=%s" % (k.upper(), d(k)))
print("PREFIX=%s" % p)
print("SANITIZE=%s" % ("" if o.get("b_sanitize", "none") in ("none", []) else
    "-fsanitize=" + (o["b_sanitize"] if isinstance(o["b_sanitize"], str) else ",".join(o["b_sanitize"]))))
')"
R=$D/root

for p in xokd arpd strayd twd xfwd; do
	check "sbin/$p" test -x "$R$SBINDIR/$p"
done
for p in xokctl exnc xokdump cheetah cheetah-prep httpd httpd-linux webswamp sockclient \
	sockclient-linux webswamp-gen splicefwd; do
	check "bin/$p" test -x "$R$BINDIR/$p"
done
check "libexos.so, libexos.so.0 -> the versioned library" \
	bash -c "[ -L '$R$LIBDIR/libexos.so' ] && [ -L '$R$LIBDIR/libexos.so.0' ] &&
		[ -f \"\$(readlink -f '$R$LIBDIR/libexos.so')\" ]"
check "the soname is libexos.so.0" \
	bash -c "objdump -p '$R$LIBDIR/libexos.so' 2>/dev/null | grep -q 'SONAME *libexos.so.0' ||
		readelf -d '$R$LIBDIR/libexos.so' | grep -q 'libexos.so.0'"
for h in exos/exos.h exos/tcp.h exos/udp.h exos/socket.h exos/dns.h exos/sys.h exos/twd.h \
	xok/abi.h xok/dpf.h xok/proto/eth.h xok/proto/ip.h xok/proto/tcp.h xok/proto/udp.h; do
	check "include/$h" test -f "$R$INCLUDEDIR/$h"
done
PC=$(find "$R" -name libexos.pc | head -1)
check "libexos.pc ($PC)" test -n "$PC"
for m in man8/xokd.8 man8/arpd.8 man8/strayd.8 man8/twd.8 man8/xokctl.8 man8/xfwd.8 \
	man8/splicefwd.8 man8/cheetah.8 man8/httpd.8 man8/httpd-linux.8 man1/exnc.1 \
	man1/xokdump.1 man1/cheetah-prep.1 man1/webswamp.1 man1/sockclient.1 \
	man1/sockclient-linux.1 man1/webswamp-gen.1; do
	check "man/$m" test -f "$R$MANDIR/$m"
done
U=$R$PREFIX/lib/systemd/system
for u in xokd arpd strayd twd; do
	check "systemd unit $u.service" test -f "$U/$u.service"
done
check "xokd.service runs $SBINDIR/xokd \$XOKD_ARGS from $SYSCONFDIR/default/xokd" \
	bash -c "grep -q '^ExecStart=$SBINDIR/xokd \$XOKD_ARGS' '$U/xokd.service' &&
		grep -q '^EnvironmentFile=-$SYSCONFDIR/default/xokd' '$U/xokd.service' &&
		grep -q '^RuntimeDirectory=xok' '$U/xokd.service' &&
		grep -q '^AmbientCapabilities=.*CAP_NET_ADMIN' '$U/xokd.service'"
check "twd.service requires xokd.service" grep -q '^Requires=xokd.service' "$U/twd.service"
check "$SYSCONFDIR/default/xokd holds XOKD_ARGS" grep -q '^XOKD_ARGS=' "$R$SYSCONFDIR/default/xokd"

# a program built against the installed headers and library, found through pkg-config
cat >"$D/hello.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <exos/exos.h>
#include <exos/socket.h>
#include <exos/sys.h>
#include <exos/tcp.h>
#include <exos/twd.h>

int main(void)
{
	uint64_t t = exos_now_ns();

	if (!t || strcmp(exos_tcp_state_name(EXOS_TCP_TIME_WAIT), "TIME_WAIT"))
		return 1;
	printf("hello from libexos, %s\n", TWD_SOCKET_DEFAULT);
	return 0;
}
C
PKG_CONFIG_PATH=$(dirname "$PC")
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR=$R
FLAGS=$(pkg-config --cflags --libs libexos 2>"$D/pc.err")
check "pkg-config --cflags --libs libexos ($FLAGS)" \
	bash -c "[ -n '$FLAGS' ] && grep -q -- '-lexos' <<<'$FLAGS' && grep -q -- '-I$R' <<<'$FLAGS'"
# (a sanitized build's libexos needs the sanitizer runtime in the program too)
# shellcheck disable=SC2086 # the flags are words
check "a program compiles and links against the installed libexos" \
	cc -Wall -Werror $SANITIZE -o "$D/hello" "$D/hello.c" $FLAGS
check "and runs with it" bash -c "LD_LIBRARY_PATH='$R$LIBDIR' '$D/hello' | grep -q 'hello from libexos'"

echo "install: $fails failure(s)"
[ "$fails" = 0 ]
