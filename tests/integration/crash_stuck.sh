#!/usr/bin/env bash
# crash_stuck.sh - a daemon SIGKILLed while one of its threads is stuck in
# the kernel still exits, and its mount with it.
#
# The circle: a publish renames through the mount, so the helper process
# holds the directory's lock while it waits for the daemon's reply; the
# daemon's notifier, told of a DELETE over HTTP in that directory, waits
# for the same lock to invalidate the kernel's entry. Kill the daemon then:
# the helper waits out a request already read, uninterruptibly; the
# notifier sleeps uninterruptibly too and holds /dev/fuse open, so the
# connection is never aborted and the daemon never exits. The guardian
# process (fs/guardian.c) aborts the connection when the daemon's main
# thread dies. LANDINGFS_TEST_STALL_RENAME makes the daemon sit on renames
# to names beginning with "stall-", to hold the circle open; LF_NO_ABORT=1
# keeps the test itself from aborting the connection.
# timeout: 90
. "$(dirname "$0")/lib.sh"
export LF_NO_ABORT=1

lf_setup
trap lf_cleanup_crash EXIT
# On a failure the cleanup must not hang on a stuck mount, nor leave it.
LF_EXTRA_CLEANUP='LF_NO_ABORT=0 lf_abort; umount -l "$MNT" 2>/dev/null'
lf_start_stuck
children=$LF_CHILDREN
pid=$LF_PID
kill -KILL "$pid"
for _ in $(seq 1 100); do lf_dead "$pid" && break; sleep 0.1; done
if ! lf_dead "$pid"; then
	w=""
	for t in /proc/"$pid"/task/*; do w="$w $(cat "$t/wchan" 2>/dev/null)"; done
	LF_NO_ABORT=0 lf_abort
	for _ in $(seq 1 50); do lf_dead "$pid" && break; sleep 0.1; done
	umount -l "$MNT" 2>/dev/null
	fail "the daemon survived SIGKILL for 10 s (threads in:$w)"
fi
wait "$pid" 2>/dev/null || true
LF_PID=""
# Its helpers and guardian end too.
for p in $children; do
	for _ in $(seq 1 50); do [ -d "/proc/$p" ] || break; sleep 0.1; done
	[ -d "/proc/$p" ] && fail "process $p of the killed daemon is still there"
done
# A restart serves the store.
lf_restart_unstuck
echo ok
