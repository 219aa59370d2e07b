#!/usr/bin/env bash
# fs_statfs.sh - df and stat -f through the mount report the blob
# filesystem's space and the index's file count.
# timeout: 30
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
lf_start
df -P "$MNT" > "$T/df" || fail "df failed"
grep -q " $MNT\$" "$T/df" || fail "df does not show the mount: $(cat "$T/df")"
read -r bsize blocks <<<"$(stat -f -c '%S %b' "$MNT")"
read -r sbsize sblocks <<<"$(stat -f -c '%S %b' "$STORE")"
expect_eq "$(( bsize * blocks ))" "$(( sbsize * sblocks ))" "total bytes: mount vs the store's filesystem"
expect_eq "$(stat -f -c %l "$MNT")" 255 "name length"
free0=$(stat -f -c %a "$MNT")
head -c $((64 * 1024 * 1024)) /dev/zero > "$MNT/fill"
sync
free1=$(stat -f -c %a "$MNT")
used=$(( (free0 - free1) * bsize ))
# Other processes share this filesystem: only check the order of magnitude.
[ "$used" -gt $((32 * 1024 * 1024)) ] || fail "64 MiB written, free space fell by $used bytes"
lf_stop || fail "daemon exit status"
echo "fs_statfs: ok"
