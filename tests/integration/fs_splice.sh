#!/usr/bin/env bash
# fs_splice.sh - with passthrough off, large writes reach write_buf as
# pipe-backed buffers (libfuse spliced them from /dev/fuse): the root's
# user.landing.splice_writes counters and the -d unmount line show it.
# timeout: 60
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
counter() {
	getfattr --absolute-names --only-values -n "user.landing.$1" "$MNT"
}
lf_start -d -o no_passthrough
s0=$(counter splice_writes)
m0=$(counter memory_writes)
dd if=/dev/urandom of="$T/src" bs=1M count=64 status=none
dd if="$T/src" of="$MNT/f" bs=1M status=none
expect_eq "$(sha "$MNT/f")" "$(sha "$T/src")" "contents"
s1=$(counter splice_writes)
m1=$(counter memory_writes)
sb=$(counter splice_bytes)
note "write_buf: $((s1 - s0)) pipe-backed, $((m1 - m0)) in memory, $sb bytes spliced"
[ $((s1 - s0)) -ge 64 ] || fail "only $((s1 - s0)) pipe-backed writes for 64 x 1 MiB"
[ $((m1 - m0)) -le 2 ] || fail "$((m1 - m0)) writes came in memory (libfuse's pipe could not grow?)"
[ "$sb" -ge $((64 * 1024 * 1024)) ] || fail "only $sb bytes spliced"
lf_stop || fail "daemon exit status"
grep -q "write_buf: [0-9]* pipe-backed" "$LOG" || fail "no counter line in the -d log"
# Not on other inodes than the root.
lf_start -o no_passthrough
if getfattr -n user.landing.splice_writes "$MNT/f" 2>/dev/null; then
	fail "splice counters on a file"
fi
lf_stop || fail "daemon exit status"
echo "fs_splice: ok"
