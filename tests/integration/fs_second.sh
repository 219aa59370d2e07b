#!/usr/bin/env bash
# fs_second.sh - a second daemon on the same store is refused with one clear
# line and exit status 1, and so is one on a mount point already in use;
# the first keeps serving.
# timeout: 30
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
lf_start
echo data > "$MNT/f"
mkdir "$T/mnt2"
rc=0
timeout 10 "$LANDINGFS" -f --store "$STORE" -o listen=none "$T/mnt2" \
	> "$T/second.out" 2>&1 || rc=$?
expect_eq "$rc" 1 "second daemon on the same store: exit status"
grep -q "in use" "$T/second.out" || fail "no clear message: $(cat "$T/second.out")"
expect_eq "$(wc -l < "$T/second.out")" 1 "lines printed by the refused daemon"
mountpoint -q "$T/mnt2" && { fusermount3 -u "$T/mnt2"; fail "the second daemon mounted"; }
rc=0
timeout 10 "$LANDINGFS" -f --store "$T/other-store" -o listen=none "$MNT" \
	> "$T/busy.out" 2>&1 || rc=$?
expect_eq "$rc" 1 "daemon on a busy mount point: exit status"
grep -q "busy" "$T/busy.out" || fail "no clear message: $(cat "$T/busy.out")"
expect_eq "$(wc -l < "$T/busy.out")" 1 "lines printed for a busy mount point"
# Not in the background either: the starting shell gets the status.
rc=0
timeout 10 "$LANDINGFS" --store "$STORE" -o listen=none "$T/mnt2" \
	> "$T/bg.out" 2>&1 || rc=$?
expect_eq "$rc" 1 "second daemon started in the background: exit status"
grep -q "in use" "$T/bg.out" || fail "background: no clear message: $(cat "$T/bg.out")"
expect_eq "$(cat "$MNT/f")" data "the first daemon still serves"
lf_stop || fail "daemon exit status"
echo "fs_second: ok"
