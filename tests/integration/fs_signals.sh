#!/usr/bin/env bash
# fs_signals.sh - clean shutdown: SIGTERM, SIGINT and fusermount3 -u each end
# the daemon with status 0, the mount gone and the store closed (it opens
# again with everything there), also with a file still open for writing;
# SIGHUP does not end it.
# timeout: 60
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
# stop_with SIG: send SIG (or unmount), wait (bounded) and check the exit.
stop_with() {
	local pid=$LF_PID rc=0
	if [ "$1" = umount ]; then
		fusermount3 -u "$MNT" || fail "fusermount3 -u"
	else
		kill "-$1" "$pid"
	fi
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "$1: daemon still running after 10 s"
	wait "$pid" || rc=$?
	LF_PID=""
	expect_eq "$rc" 0 "$1: exit status"
	mountpoint -q "$MNT" && fail "$1: still mounted"
	grep -q "unmounting" "$LOG" || fail "$1: no shutdown line in the log"
	: > "$LOG"
}
lf_start
echo one > "$MNT/one"
kill -HUP "$LF_PID"
sleep 0.3
mountpoint -q "$MNT" || fail "SIGHUP ended the mount"
expect_eq "$(cat "$MNT/one")" one "after SIGHUP"
stop_with TERM
lf_start
expect_eq "$(cat "$MNT/one")" one "after SIGTERM and restart"
echo two > "$MNT/two"
stop_with INT
lf_start
expect_eq "$(cat "$MNT/two")" two "after SIGINT and restart"
stop_with umount
# A writer still holding its file open when SIGTERM comes.
for mode in passthrough no_passthrough; do
	lf_start -o "$mode"
	python3 - "$MNT/open-$mode" "$T/ready-$mode" <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, b"x" * 100000)
open(sys.argv[2], "w").close()
time.sleep(30)
PY
	writer=$!
	for _ in $(seq 1 50); do [ -e "$T/ready-$mode" ] && break; sleep 0.1; done
	[ -e "$T/ready-$mode" ] || fail "$mode: the writer did not start"
	stop_with TERM
	kill "$writer" 2>/dev/null
	wait "$writer" 2>/dev/null || true
	lf_start
	expect_eq "$(stat -c %s "$MNT/open-$mode")" 100000 "$mode: size of a file open at shutdown"
	stop_with TERM
done
echo "fs_signals: ok"
