#!/usr/bin/env bash
# crash_local.sh - SIGKILL the daemon under local writers on the mount.
# timeout: 180
#
# Three writers write files of mixed sizes through the mount (temporary
# name, write, fsync, close, rename: the usual atomic replace) and append
# fsync'd records to a file each, logging what completed
# (tests/progs/crashload.c, mode local). The daemon is SIGKILLed at a random
# moment (fixed seed) and restarted, 20 times. After every restart: every
# renamed file holds its last completed version or a later begun one, byte
# for byte, through the mount and over HTTP; each appended file keeps at
# least its fsync'd length and only bytes that were written; no file but
# the writers' is visible; and after a clean stop `landingctl fsck` passes.
. "$(dirname "$0")/lib.sh"

: "${LF_TEST_PROGS:?LF_TEST_PROGS must name the test programs}"
: "${LANDINGCTL:?LANDINGCTL must name landingctl}"
CL=$LF_TEST_PROGS/crashload
CYCLES=${LF_CRASH_CYCLES:-20}
SEED=${LF_CRASH_SEED:-777}
RANDOM=$SEED

# A daemon that publishes through its own mount could be left unkillable
# by SIGKILL (a thread waiting in the kernel for a FUSE reply that no
# worker will send keeps /dev/fuse open). lf_kill frees such a daemon by
# aborting its FUSE connection and counts it in LF_UNKILLABLE; any fails
# the test at the end (LF_CRASH_TOLERATE_UNKILLABLE=1 only notes it).
# LF_CRASH_OPTS adds -o options to the daemon.

lf_setup
trap lf_cleanup_crash EXIT
args=(-n 18 -w 3 -s "$SEED" -l "$T/acks.log" -M $((8 << 20)))

for c in $(seq 1 "$CYCLES"); do
	lf_start ${LF_CRASH_OPTS:+-o "$LF_CRASH_OPTS"}
	"$CL" local "${args[@]}" -m "$MNT" -c "$c" -t 6 &
	cl=$!
	ms=$((100 + RANDOM % 1500))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	lf_kill
	wait "$cl" || fail "cycle $c: the local writers failed"

	lf_start ${LF_CRASH_OPTS:+-o "$LF_CRASH_OPTS"}
	"$CL" verify -L "${args[@]}" -H 127.0.0.1 -P "$PORT" -m "$MNT" ||
		fail "cycle $c (killed after ${ms} ms): the mount does not hold what was fsync'd"
	lf_stop || fail "cycle $c: the daemon did not stop cleanly"
	"$LANDINGCTL" fsck "$STORE" >"$T/fsck.out" 2>&1 || {
		cat "$T/fsck.out" >&2
		fail "cycle $c: fsck found problems after recovery"
	}
	note "cycle $c: killed after ${ms} ms, verified, fsck clean"
done
if [ "$LF_UNKILLABLE" -gt 0 ]; then
	msg="the daemon survived SIGKILL in $LF_UNKILLABLE of $CYCLES cycles (threads stuck on its own mount)"
	[ "${LF_CRASH_TOLERATE_UNKILLABLE:-0}" = 1 ] && note "$msg" || fail "$msg"
fi
[ "$(grep -c '^A' "$T/acks.log")" -ge "$CYCLES" ] ||
	fail "too few local writes completed to prove anything"
echo "crash_local: $CYCLES crash cycles verified"
