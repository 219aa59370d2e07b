#!/usr/bin/env bash
# fs_background.sh - without -f the daemon returns once the mount is up
# (exit 0, mount usable at once), keeps serving in the background, and
# exits when unmounted.
# timeout: 30
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
# The oldest match: the daemon's guardian process (fs/guardian.c) has the
# same command line.
bgpid() { pgrep -o -f -x "$LANDINGFS --store $STORE -o listen=none $MNT" || true; }
LF_EXTRA_CLEANUP='p=$(bgpid); [ -n "$p" ] && kill -KILL $p; fusermount3 -uz "$MNT" 2>/dev/null'
"$LANDINGFS" --store "$STORE" -o listen=none "$MNT" > "$T/out" 2>&1 ||
	fail "start in the background: $(cat "$T/out")"
mountpoint -q "$MNT" || fail "not mounted when the starting command returned"
echo hi > "$MNT/f"
expect_eq "$(cat "$MNT/f")" hi "through the background daemon"
pid=$(bgpid)
[ -n "$pid" ] || fail "no background daemon found"
expect_eq "$(ps -o sid= -p "$pid" | tr -d ' ')" "$pid" "the daemon leads its own session"
fusermount3 -u "$MNT"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "daemon still running 10 s after the unmount"
echo "fs_background: ok"
