#!/usr/bin/env bash
# fs_enospc_free.sh - on a full store (an 8 MiB tmpfs filled by a write
# that failed with ENOSPC), removing a file must still work and give the
# space back, as on any local filesystem.
# timeout: 60
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
lf_small_store 8m
lf_start
echo before > "$MNT/a"
if dd if=/dev/zero of="$MNT/huge" bs=1M count=16 2> "$T/dd.err"; then
	fail "16 MiB fitted on an 8 MiB store"
fi
rm "$MNT/huge" 2> "$T/rm.err" || fail "rm on a full store: $(cat "$T/rm.err")"
echo after > "$MNT/c" || fail "no space came back after rm"
expect_eq "$(cat "$MNT/a")" before "a"
lf_stop || fail "daemon exit status"
lf_start
[ ! -e "$MNT/huge" ] || fail "huge is back after remount"
expect_eq "$(cat "$MNT/c")" after "c after remount"
lf_stop || fail "daemon exit status"
echo "fs_enospc_free: ok"
