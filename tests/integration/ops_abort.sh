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

# The stuck daemon (lib.sh), killed with its guardian and helpers.
lf_start_stuck
pid=$LF_PID
# shellcheck disable=SC2086
kill -KILL $LF_CHILDREN "$pid"
if wait_dead "$pid" 3; then
	note "the daemon exited without an abort (the circle did not form)"
else
	note "the daemon survived SIGKILL with its guardian gone, as expected"
fi
"$LANDINGCTL" abort "$MNT" >"$T/out" || fail "abort of the stuck mount: $(cat "$T/out")"
wait_dead "$pid" 10 || fail "the daemon still runs 10 s after its connection was aborted"
wait "$pid" 2>/dev/null || true
LF_PID=""
lf_restart_unstuck
echo ok
