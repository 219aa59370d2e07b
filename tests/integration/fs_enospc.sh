#!/usr/bin/env bash
# fs_enospc.sh - the store on an 8 MiB tmpfs: a write that does not fit
# fails with ENOSPC (both data paths, each on its own tmpfs) and the files
# written before stay intact, also after a remount.
# timeout: 60
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
head -c 300000 /dev/urandom > "$T/a"
head -c 500000 /dev/urandom > "$T/b"
LF_EXTRA_CLEANUP="umount -l '$T'/store-* 2>/dev/null"
for mode in passthrough no_passthrough; do
	STORE=$T/store-$mode
	mkdir -p "$STORE"
	mount -t tmpfs -o size=8m tmpfs "$STORE" || fail "cannot mount a tmpfs"
	lf_start -o "$mode"
	cp "$T/a" "$MNT/a"
	cp "$T/b" "$MNT/b"
	if dd if=/dev/zero of="$MNT/huge" bs=1M count=16 2> "$T/dd.err"; then
		fail "$mode: 16 MiB fitted on an 8 MiB store"
	fi
	grep -q "No space left on device" "$T/dd.err" ||
		fail "$mode: dd failed otherwise: $(cat "$T/dd.err")"
	cmp -s "$T/a" "$MNT/a" || fail "$mode: a changed after ENOSPC"
	cmp -s "$T/b" "$MNT/b" || fail "$mode: b changed after ENOSPC"
	lf_stop || fail "$mode: daemon exit status"
	lf_start -o "$mode"
	cmp -s "$T/a" "$MNT/a" || fail "$mode: a after remount"
	cmp -s "$T/b" "$MNT/b" || fail "$mode: b after remount"
	lf_stop || fail "$mode: daemon exit status"
done
echo "fs_enospc: ok"
