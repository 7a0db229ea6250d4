#!/usr/bin/env bash
# test_cheetah_prep.sh - cheetah-prep end to end: write, check, stale, missing, corrupt, CLI errors
set -u
prep=${CHEETAH_PREP:?set CHEETAH_PREP to the cheetah-prep binary}
dir=$(mktemp -d /tmp/test_cheetah_prep.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...: the command must succeed
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

mkdir -p "$dir/www/sub" "$dir/www/.git"
head -c 5000 /dev/urandom >"$dir/www/a.bin"
: >"$dir/www/empty"
echo hi >"$dir/www/sub/b.txt"
echo no >"$dir/www/.hidden"
echo no >"$dir/www/.git/config"
ln -s a.bin "$dir/www/link"

check "--help" bash -c "'$prep' --help | grep -q Usage"
check "no docroot is a usage error" bash -c "'$prep'; [ \$? -eq 2 ]"
check "missing docroot" bash -c "'$prep' '$dir/nope' 2>&1 | grep -q 'No such file'"
check "bad segment size" bash -c "'$prep' -s 0 '$dir/www' 2>&1 | grep -q 'invalid segment size'"
check "check without an index fails" bash -c "! '$prep' -c '$dir/www' 2>/dev/null"
check "write" "$prep" -q -s 1460 "$dir/www"
check "index exists" test -s "$dir/www/.cheetah-sums"
check "check passes" "$prep" -q -c -s 1460 "$dir/www"
# 3 files x 2 segment sizes; hidden files and symlinks are not entries.
check "6 entries" bash -c "'$prep' -c -s 1460 '$dir/www' | grep -q '6 entries, 3 files, 0 problems'"
check "hidden files skipped" bash -c "! grep -aq 'config\|hidden' '$dir/www/.cheetah-sums'"
# Sums agree with an independent computation (python) for a.bin, segment 1448.
check "sums match python" python3 - "$dir/www" <<'PY'
import struct, sys, os
root = sys.argv[1]
img = open(os.path.join(root, ".cheetah-sums"), "rb").read()
assert img[:8] == b"XOKCKSUM"
count = struct.unpack_from("<I", img, 16)[0]
off, found = 40, False
data = open(os.path.join(root, "a.bin"), "rb").read()
def osum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return s
for _ in range(count):
    size, plen = struct.unpack_from("<IH", img, off)
    fsize, mtime, seg, n = struct.unpack_from("<QqII", img, off + 8)
    path = img[off + 32: off + 32 + plen].decode()
    sums_off = off + (32 + plen) // 8 * 8 + 8
    sums = struct.unpack_from("<%dH" % n, img, sums_off)
    if path == "a.bin" and seg == 1448:
        want = [osum(data[i:i + seg]) for i in range(0, len(data), seg)]
        assert list(sums) == want, (sums, want)
        found = True
    off += size
assert found and off == len(img)
PY
touch -d '2001-01-01' "$dir/www/sub/b.txt"
echo new >"$dir/www/new.txt"
out=$("$prep" -c "$dir/www")
rc=$?
check "check reports stale and missing" bash -c "[ $rc -eq 1 ] && grep -q 'stale: sub/b.txt' <<<'$out' && grep -q 'missing: new.txt' <<<'$out'"
check "rewrite" "$prep" -q "$dir/www"
check "clean again" "$prep" -q -c "$dir/www"
printf 'X' | dd of="$dir/www/.cheetah-sums" bs=1 seek=50 conv=notrunc status=none
check "corruption detected" bash -c "'$prep' -c '$dir/www' 2>&1 | grep -q 'corrupt index'"
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
