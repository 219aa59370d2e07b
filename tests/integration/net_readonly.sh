#!/usr/bin/env bash
# net_readonly.sh - a read-only daemon (-o ro) starts on a store that does
# not exist yet and on one holding files, serves what is there, and refuses
# uploads with 403 and a reason, publishing nothing.
# timeout: 60
. "$(dirname "$0")/lib.sh"
lf_setup

echo hello > "$T/f"
lf_start -o ro
code=$(curl -s -o "$T/body" -w '%{http_code}' -T "$T/f" "$URL/a/f")
expect_eq "$code" 403 "PUT on a fresh read-only store"
grep -q 'read-only' "$T/body" || fail "403 without a reason: $(cat "$T/body")"
[ ! -e "$MNT/a" ] || fail "a refused upload left a directory"
touch "$MNT/x" 2>/dev/null && fail "the mount is writable"
lf_stop

lf_start
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$T/f" "$URL/a/f")
expect_eq "$code" 201 "PUT on the writable store"
lf_stop

lf_start -o ro
expect_eq "$(curl -s "$URL/a/f")" hello "GET from the read-only store"
expect_eq "$(cat "$MNT/a/f")" hello "read through the read-only mount"
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$T/f" "$URL/a/f")
expect_eq "$code" 403 "PUT over a file on a read-only store"
expect_eq "$(cat "$MNT/a/f")" hello "the file after a refused PUT"
lf_stop
