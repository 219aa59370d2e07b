#!/usr/bin/env bash
# fs_truncate.sh - truncate down and up, sparse writes past the end, O_TRUNC,
# ftruncate of an open file, and holes reading as zeros. Both data paths.
# timeout: 60
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
for mode in passthrough no_passthrough; do
	lf_start -o "$mode"
	f=$MNT/$mode
	head -c 100000 /dev/urandom > "$T/r"
	cp "$T/r" "$f"
	truncate -s 1000 "$f"
	expect_eq "$(stat -c %s "$f")" 1000 "$mode: truncate down"
	cmp -s <(head -c 1000 "$T/r") "$f" || fail "$mode: contents after truncate down"
	truncate -s 5000 "$f"
	expect_eq "$(stat -c %s "$f")" 5000 "$mode: truncate up"
	cmp -s <(head -c 1000 "$T/r"; head -c 4000 /dev/zero) "$f" ||
		fail "$mode: truncate up must add zeros"
	# A sparse write 10 MiB past the end.
	printf 'END' | dd of="$f" bs=1 seek=$((10 * 1024 * 1024)) conv=notrunc status=none
	expect_eq "$(stat -c %s "$f")" $((10 * 1024 * 1024 + 3)) "$mode: size after a sparse write"
	expect_eq "$(tail -c 3 "$f")" END "$mode: data after the hole"
	expect_eq "$(dd if="$f" bs=4096 skip=100 count=1 status=none | tr -d '\0' | wc -c)" 0 \
		"$mode: the hole reads as zeros"
	echo short > "$f" # O_TRUNC
	expect_eq "$(cat "$f")" short "$mode: O_TRUNC"
	expect_eq "$(stat -c %s "$f")" 6 "$mode: size after O_TRUNC"
	python3 - "$f" <<'PY' || fail "$mode: ftruncate checks"
import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_RDWR)
os.ftruncate(fd, 3)
assert os.stat(p).st_size == 3, "stat after ftruncate"
os.pwrite(fd, b"x", 8191)
assert os.stat(p).st_size == 8192, "stat after a write past the end"
os.ftruncate(fd, 0)
os.close(fd)
assert os.stat(p).st_size == 0, "stat after ftruncate to 0"
PY
	lf_stop || fail "$mode: daemon exit status"
	# The index recorded the final size.
	lf_start
	expect_eq "$(stat -c %s "$f")" 0 "$mode: size after remount"
	lf_stop || fail "$mode: daemon exit status"
done
echo "fs_truncate: ok"
