#!/usr/bin/env bash
# ops_abort.sh - landingctl abort cuts the FUSE connection of a mount.
#
# A healthy daemon sees its connection end and exits. A daemon stuck in
# the kernel on its own mount (the circle of crash_stuck.sh) and SIGKILLed
# together with its guardian, as systemd's final SIGKILL to a unit does,
# exits once its connection is aborted, and a restart serves the store. A
# directory with no FUSE mount is an error, and so is a missing argument.
# timeout: 90
. "$(dirname "$0")/lib.sh"
: "${LANDINGCTL:?LANDINGCTL must name landingctl}"
export LF_NO_ABORT=1

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@"; }

# wait_dead PID SECS: true once PID has exited (bounded).
wait_dead() {
	for _ in $(seq 1 $(($2 * 10))); do lf_dead "$1" && return 0; sleep 0.1; done
	lf_dead "$1"
}

lf_setup
trap lf_cleanup_crash EXIT
LF_EXTRA_CLEANUP='LF_NO_ABORT=0 lf_abort; umount -l "$MNT" 2>/dev/null'

rc=0
"$LANDINGCTL" abort "$T" 2>"$T/err" || rc=$?
expect_eq "$rc" 8 "abort on a plain directory"
grep -q "no FUSE file system is mounted there" "$T/err" || fail "message: $(cat "$T/err")"
rc=0
"$LANDINGCTL" abort 2>/dev/null || rc=$?
expect_eq "$rc" 16 "abort without a mount point"

# A healthy daemon: named by a relative path with a trailing slash.
lf_start
(cd "$T" && "$LANDINGCTL" abort mnt/) >"$T/out" || fail "abort: $(cat "$T/out")"
grep -q "aborted the connection of $MNT " "$T/out" || fail "abort said: $(cat "$T/out")"
wait_dead "$LF_PID" 10 || fail "the daemon still runs 10 s after its connection was aborted"
wait "$LF_PID" 2>/dev/null || true
LF_PID=""
fusermount3 -uz "$MNT" 2>/dev/null || true

# The stuck daemon: a publish into d/ sits in the daemon (test-only stall)
# with d locked by a mount helper; a DELETE in d/ sends the notifier after
# the same lock.
export LANDINGFS_TEST_STALL_RENAME=30000
lf_start
unset LANDINGFS_TEST_STALL_RENAME
echo x >"$T/f"
expect_eq "$(code -T "$T/f" "$URL/d/other")" 201 "PUT d/other"
ls "$MNT/d" >/dev/null
curl -s -o /dev/null --max-time 60 -T "$T/f" "$URL/d/stall-1" &
CURL=$!
sleep 1
expect_eq "$(code -X DELETE "$URL/d/other")" 204 "DELETE d/other"
sleep 1
pid=$LF_PID
children=$(pgrep -P "$pid" | tr '\n' ' ')
[ -n "$children" ] || fail "the daemon has no guardian or helper process"
# shellcheck disable=SC2086
kill -KILL $children "$pid"
if wait_dead "$pid" 3; then
	note "the daemon exited without an abort (the circle did not form)"
else
	note "the daemon survived SIGKILL with its guardian gone, as expected"
fi
"$LANDINGCTL" abort "$MNT" >"$T/out" || fail "abort of the stuck mount: $(cat "$T/out")"
wait_dead "$pid" 10 || fail "the daemon still runs 10 s after its connection was aborted"
wait "$pid" 2>/dev/null || true
LF_PID=""
wait "$CURL" 2>/dev/null || true
fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
lf_start
expect_eq "$(code "$URL/d/other")" 404 "d/other after the restart"
expect_eq "$(code "$URL/d/stall-1")" 404 "d/stall-1 after the restart"
lf_stop || fail "daemon exit status"
echo ok
