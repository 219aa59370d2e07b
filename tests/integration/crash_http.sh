#!/usr/bin/env bash
# crash_http.sh - SIGKILL the daemon at random moments under HTTP uploads.
# timeout: 240
#
# Four clients upload files of mixed sizes (1 B to 20 MiB, mostly small) to
# 24 paths, each path again and again, logging every version they begin
# and every 2xx they get (tests/progs/crashload.c). The daemon is SIGKILLed
# at a random moment (fixed seed) and restarted on the same store, 20
# times. After every restart each path must hold, over HTTP and through the
# mount, byte for byte, its last acknowledged version or a later one that
# was begun; no other file may be visible; the blob directory must hold one
# blob per file; and after a clean stop `landingctl fsck` must pass.
. "$(dirname "$0")/lib.sh"

: "${LF_TEST_PROGS:?LF_TEST_PROGS must name the test programs}"
: "${LANDINGCTL:?LANDINGCTL must name landingctl}"
CL=$LF_TEST_PROGS/crashload
CYCLES=${LF_CRASH_CYCLES:-20}
SEED=${LF_CRASH_SEED:-4242}
RANDOM=$SEED

# A daemon that publishes through its own mount could be left unkillable
# by SIGKILL (a thread waiting in the kernel for a FUSE reply that no
# worker will send keeps /dev/fuse open). lf_kill frees such a daemon by
# aborting its FUSE connection and counts it in LF_UNKILLABLE; any fails
# the test at the end (LF_CRASH_TOLERATE_UNKILLABLE=1 only notes it).
# LF_CRASH_OPTS adds -o options to the daemon.

lf_setup
trap lf_cleanup_crash EXIT
args=(-H 127.0.0.1 -P "$PORT" -n 24 -w 4 -s "$SEED" -l "$T/acks.log"
	-M $((20 << 20)))

for c in $(seq 1 "$CYCLES"); do
	lf_start ${LF_CRASH_OPTS:+-o "$LF_CRASH_OPTS"}
	"$CL" put "${args[@]}" -c "$c" -t 6 &
	cl=$!
	# A random moment 0.1 to 1.6 s into the uploads.
	ms=$((100 + RANDOM % 1500))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	lf_kill
	wait "$cl" || fail "cycle $c: the upload client failed"
	acks=$(grep -c '^A' "$T/acks.log" || true)

	lf_start ${LF_CRASH_OPTS:+-o "$LF_CRASH_OPTS"}
	"$CL" verify "${args[@]}" -m "$MNT" -S "$STORE" ||
		fail "cycle $c (killed after ${ms} ms): the landing directory does not match what was acknowledged"
	lf_stop || fail "cycle $c: the daemon did not stop cleanly"
	"$LANDINGCTL" fsck "$STORE" >"$T/fsck.out" 2>&1 || {
		cat "$T/fsck.out" >&2
		fail "cycle $c: fsck found problems after recovery"
	}
	note "cycle $c: killed after ${ms} ms, $acks acknowledged so far, verified, fsck clean"
done
if [ "$LF_UNKILLABLE" -gt 0 ]; then
	msg="the daemon survived SIGKILL in $LF_UNKILLABLE of $CYCLES cycles (threads stuck on its own mount)"
	[ "${LF_CRASH_TOLERATE_UNKILLABLE:-0}" = 1 ] && note "$msg" || fail "$msg"
fi
[ "$(grep -c '^A' "$T/acks.log")" -ge "$CYCLES" ] ||
	fail "too few uploads were acknowledged to prove anything"
echo "crash_http: $CYCLES crash cycles verified"
