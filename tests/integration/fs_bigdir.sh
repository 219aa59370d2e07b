#!/usr/bin/env bash
# fs_bigdir.sh - a 10,000-entry directory: every name listed exactly once
# by readdir (ls -f: plain paging through the store's cursor) and by
# readdirplus (ls -l: attributes with each entry), also when the directory
# changes while it is being listed.
# timeout: 90
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
lf_start
N=10000
mkdir "$MNT/big"
python3 - "$MNT/big" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, "file-%05d" % i), "w") as f:
        f.write("%d\n" % i)
PY
seq -f 'file-%05g' 0 $((N - 1)) > "$T/want"
ls -f "$MNT/big" | grep -v '^\.\.\?$' | sort > "$T/plain"
cmp -s "$T/want" "$T/plain" || fail "ls -f: $(wc -l < "$T/plain") names, differs from the $N created"
ls -f "$MNT/big" | grep -c '^\.$' | grep -qx 1 || fail "ls -f: '.' not listed exactly once"
ls -l "$MNT/big" > "$T/long"
expect_eq "$(grep -c '^-rw' "$T/long")" "$N" "ls -l entries"
awk '/^-/ { n = substr($9, 6) + 0; if ($5 != length(n "") + 1) bad++ }
     END { exit bad > 0 }' "$T/long" ||
	fail "ls -l: sizes do not match the contents"
# Entries unlinked while the listing pages must not shift the others: each
# survivor appears exactly once.
python3 - "$MNT/big" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
seen = []
with os.scandir(d) as it:
    for i, e in enumerate(it):
        seen.append(e.name)
        if i == 100:
            for j in range(0, n, 2):
                os.unlink(os.path.join(d, "file-%05d" % j))
dups = len(seen) - len(set(seen))
if dups:
    sys.exit("listing during removals: %d duplicates" % dups)
odd = {"file-%05d" % j for j in range(1, n, 2)}
missing = odd - set(seen)
if missing:
    sys.exit("listing during removals: %d survivors missing" % len(missing))
left = set(os.listdir(d))
if left != odd:
    sys.exit("after removals: %d names, expected %d" % (len(left), len(odd)))
PY
lf_stop || fail "daemon exit status"
echo "fs_bigdir: ok"
