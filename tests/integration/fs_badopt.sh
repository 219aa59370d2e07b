#!/usr/bin/env bash
# fs_badopt.sh - errors before the mount print one clear line and exit
# non-zero: unknown option, bad value, no mount point, missing mount point,
# a store that cannot be opened; --help and --version exit 0.
# timeout: 30
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
# refused WHAT PATTERN ARGS...: the daemon must exit 1 with one line.
refused() {
	local what=$1 pat=$2 rc=0
	shift 2
	timeout 10 "$LANDINGFS" -f "$@" > "$T/out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "$what: exit status $rc"
	grep -q -- "$pat" "$T/out" || fail "$what: expected '$pat', got: $(cat "$T/out")"
	expect_eq "$(wc -l < "$T/out")" 1 "$what: lines printed"
	mountpoint -q "$MNT" && fail "$what: mounted anyway"
	return 0
}
refused "unknown option" "unknown option 'bogus'" --store "$STORE" -o listen=none,bogus "$MNT"
refused "unknown flag" "unknown flag '--nope'" --store "$STORE" --nope "$MNT"
refused "bad timeout" "timeouts" --store "$STORE" -o listen=none,attr_timeout=-1 "$MNT"
refused "no mount point" "no mount point" --store "$STORE" -o listen=none
refused "two mount points" "one mount point" --store "$STORE" -o listen=none "$MNT" "$T"
refused "missing mount point" "No such file" --store "$STORE" -o listen=none "$T/nowhere"
echo file > "$T/plainfile"
refused "mount point is a file" "not a directory" --store "$STORE" -o listen=none "$T/plainfile"
refused "store is a file" "Not a directory" --store "$T/plainfile" -o listen=none "$MNT"
"$LANDINGFS" --help > "$T/help" || fail "--help exit status"
for o in --store allow_other default_permissions entry_timeout attr_timeout \
	durable passthrough no_passthrough listen; do
	grep -q -- "$o" "$T/help" || fail "--help does not mention $o"
done
# Numeric HTTP options show their defaults (limits.h).
grep -q -- '-o workers=N .*(default 8)$' "$T/help" || fail "--help: no default for workers"
grep -q -- '-o max_header=N .*(default 16384)$' "$T/help" || fail "--help: no default for max_header"
"$LANDINGFS" --version | grep -q '^landingfs [0-9]' || fail "--version"
echo "fs_badopt: ok"
