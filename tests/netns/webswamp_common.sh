# shellcheck shell=bash
# webswamp_common.sh - what the webswamp tests share: comparing surge traces.
# Sourced after lib.sh; traces are $XT_TMP/NAME.trace ("client n think path" per line).

# same_prefix A B: for every client, the shorter of the two sequences is a prefix of the
# other (runs of equal length in time complete different numbers of requests).
same_prefix() {
	python3 - "$XT_TMP/$1.trace" "$XT_TMP/$2.trace" <<'PY'
import sys
from collections import defaultdict
def load(f):
    seq = defaultdict(list)
    for line in open(f):
        client, n, think, path = line.split()
        assert int(n) == len(seq[client]), "trace out of order"
        seq[client].append((think, path))
    return seq
a, b = load(sys.argv[1]), load(sys.argv[2])
common = 0
for c in set(a) | set(b):
    n = min(len(a[c]), len(b[c]))
    if n == 0 or a[c][:n] != b[c][:n]:
        sys.exit(1)
    common += n
sys.exit(0 if common >= 40 else 1)
PY
}

# differs A B: some client's sequences in A and B part ways.
differs() { ! same_prefix "$@"; }
