#!/usr/bin/env bash
# fs_bigfile.sh - a 256 MiB file written with cp and read back with the same
# sha-256: written through the splice path, read through passthrough and
# through the splice path after a remount (cold), and once more warm.
# timeout: 120
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
head -c $((256 * 1024 * 1024)) /dev/urandom > "$T/src"
want=$(sha "$T/src")
lf_start -o no_passthrough
cp "$T/src" "$MNT/big"
expect_eq "$(stat -c %s "$MNT/big")" $((256 * 1024 * 1024)) "size after cp"
expect_eq "$(sha "$MNT/big")" "$want" "sha-256 read back (splice)"
expect_eq "$(getfattr --absolute-names --only-values -n user.landing.sha256 "$MNT/big")" "$want" \
	"user.landing.sha256"
lf_stop || fail "daemon exit status"
lf_start -o passthrough
expect_eq "$(sha "$MNT/big")" "$want" "sha-256 after remount (passthrough)"
cp "$MNT/big" "$T/copy"
expect_eq "$(sha "$T/copy")" "$want" "cp out of the mount"
lf_stop || fail "daemon exit status"
echo "fs_bigfile: ok"
