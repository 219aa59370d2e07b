#!/usr/bin/env bash
# fault_storegone.sh - the store directory made read-only, then removed,
# under a running daemon: requests fail with clear statuses, nothing hangs,
# the daemon does not crash and stops cleanly.
# timeout: 90
#
# Read-only: the test runs as root, for whom permission bits mean nothing,
# so the store's directories are made immutable (chattr +i), which refuses
# every new name even to root. Then made writable again: uploads work.
# Removed: rm -rf of the whole store directory (the daemon keeps its open
# files, but nothing new can be created).
. "$(dirname "$0")/lib.sh"

lf_setup
LF_EXTRA_CLEANUP='chattr -R -i "$STORE" 2>/dev/null || true'
lf_start

printf 'before\n' >"$T/before"
head -c $((2 << 20)) /dev/urandom >"$T/big"
curl -sf -o /dev/null -T "$T/before" "$URL/g/before" || fail "first upload"

code() { curl -s -m 20 -o "$T/reply" -w '%{http_code}' "$@" || true; }

# -- read-only
find "$STORE" -type d -exec chattr +i {} + || fail "chattr +i (the filesystem must support it)"
s=$(code -T "$T/big" "$URL/g/ro-upload")
[[ "$s" =~ ^(403|500|503|507)$ ]] || fail "upload to a read-only store: got $s ($(head -c 200 "$T/reply"))"
note "upload to a read-only store: $s $(head -c 100 "$T/reply")"
# No token file is in use: a refusal must not blame a token.
! grep -qi token "$T/reply" || fail "upload to a read-only store: $s blames a token: $(head -c 100 "$T/reply")"
[ ! -e "$MNT/g/ro-upload" ] || fail "an upload to a read-only store is visible"
s=$(code "$URL/g/before")
[ "$s" = 200 ] && cmp -s "$T/reply" "$T/before" || fail "GET from a read-only store: $s"
rc=0
timeout 20 dd if="$T/big" of="$MNT/g/ro-local" bs=1M conv=fsync 2>"$T/dd.err" || rc=$?
[ "$rc" != 0 ] || fail "a local write into a read-only store succeeded"
[ "$rc" != 124 ] || fail "a local write into a read-only store hung"
note "local write to a read-only store: $(tail -n 1 "$T/dd.err")"
timeout 10 ls -la "$MNT/g" >/dev/null || fail "ls hung or failed on a read-only store"
lf_alive "read-only store" any
find "$STORE" -type d -exec chattr -i {} +
rm -f "$MNT/g/ro-local" 2>/dev/null || true
s=$(code -T "$T/big" "$URL/g/after-ro")
[ "$s" = 201 ] || fail "upload after the store became writable again: $s ($(head -c 200 "$T/reply"))"
cmp -s "$T/big" "$MNT/g/after-ro" || fail "the upload after the read-only spell is not intact"

# -- removed
rm -rf "$STORE"
s=$(code -T "$T/big" "$URL/g/gone-upload")
[[ "$s" =~ ^(404|410|500|503|507)$ ]] || fail "upload to a removed store: got $s ($(head -c 200 "$T/reply"))"
note "upload to a removed store: $s $(head -c 100 "$T/reply")"
s=$(code "$URL/g/before")
[[ "$s" =~ ^(200|404|410|500|503)$ ]] || fail "GET from a removed store: got $s"
s=$(code "$URL/g/")
[[ "$s" =~ ^(200|404|410|500|503)$ ]] || fail "listing a removed store: got $s"
rc=0
timeout 20 dd if="$T/big" of="$MNT/g/gone-local" bs=1M conv=fsync 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "a local write into a removed store succeeded"
[ "$rc" != 124 ] || fail "a local write into a removed store hung"
timeout 10 ls -la "$MNT/g" >/dev/null 2>&1 || [ "$?" != 124 ] || fail "ls hung on a removed store"
lf_alive "removed store" any
lf_stop || fail "the daemon did not stop cleanly after its store was removed"
echo "fault_storegone: read-only and removed stores refused cleanly"
