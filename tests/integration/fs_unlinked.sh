#!/usr/bin/env bash
# fs_unlinked.sh - a file unlinked, or replaced by a rename, while open stays
# readable (and writable) through its handle until the last close; then its
# blob is freed. Both data paths.
# timeout: 60
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
blobs() { find "$STORE/blobs" -type f | wc -l; }
for mode in passthrough no_passthrough; do
	lf_start -o "$mode"
	python3 - "$MNT" <<'PY' || fail "$mode: open-unlinked checks"
import os, sys
d = sys.argv[1]
p = os.path.join(d, "victim")
data = os.urandom(300000)
with open(p, "wb") as f:
    f.write(data)
fd = os.open(p, os.O_RDWR)
os.unlink(p)
assert not os.path.exists(p), "name still there"
assert os.pread(fd, len(data) + 10, 0) == data, "read after unlink"
os.pwrite(fd, b"tail", len(data))
assert os.pread(fd, 10, len(data)) == b"tail", "write after unlink"
assert os.fstat(fd).st_size == len(data) + 4, "fstat after unlink"
# Replaced by a rename while open: the old contents stay with the handle.
q = os.path.join(d, "replaced")
with open(q, "wb") as f:
    f.write(b"old" * 1000)
with open(os.path.join(d, "new"), "wb") as f:
    f.write(b"new")
fd2 = os.open(q, os.O_RDONLY)
os.rename(os.path.join(d, "new"), q)
assert os.pread(fd2, 5000, 0) == b"old" * 1000, "read after replace"
with open(q, "rb") as f:
    assert f.read() == b"new", "the name holds the new file"
os.close(fd2)
os.close(fd)
PY
	# Only "replaced" is left: one blob. Release is asynchronous; wait.
	for _ in $(seq 1 50); do [ "$(blobs)" = 1 ] && break; sleep 0.1; done
	expect_eq "$(blobs)" 1 "$mode: blob files after the last close"
	rm "$MNT/replaced"
	lf_stop || fail "$mode: daemon exit status"
	expect_eq "$(blobs)" 0 "$mode: blob files after removing everything"
done
echo "fs_unlinked: ok"
