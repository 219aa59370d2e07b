# lib.sh - shared helpers for the integration scripts (sourced, not run).
#
# A script does:
#   . "$(dirname "$0")/lib.sh"
#   lf_setup                 # temp dir $T with $MNT and $STORE, cleanup trap
#   lf_start [-o opt,...]    # daemon on $MNT and $STORE, HTTP on $PORT
#   ...checks; fail "why" to fail...
# and exits 0 on success. The trap unmounts, kills the daemon (SIGKILL
# after a bound) and removes $T, on success and on failure alike.
set -euo pipefail

: "${LANDINGFS:?LANDINGFS must name the daemon binary}"
: "${LANDINGCTL:=}"
: "${LF_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

LF_PID=""
LF_CONN=""
T=""

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

note() {
	echo "# $*" >&2
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((10000 + RANDOM % 22000))
		if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	fail "no free port"
}

lf_setup() {
	T=$(mktemp -d /tmp/lf-itest.XXXXXX)
	MNT=$T/mnt
	STORE=$T/store
	LOG=$T/daemon.log
	mkdir -p "$MNT"
	PORT=$(free_port)
	URL=http://127.0.0.1:$PORT
	trap lf_cleanup EXIT
	trap 'exit 130' INT TERM
}

# lf_start [ARGS...]: start the daemon in the foreground (in the background
# of this script) with the test's store, mount point and port, and wait until
# the mount is up (and the HTTP port answers). With LF_NO_HTTP=1 the daemon
# runs with listen=none: the mount alone.
lf_start() {
	local listen="127.0.0.1:$PORT"
	[ "${LF_NO_HTTP:-0}" = 1 ] && listen=none
	"$LANDINGFS" -f --store "$STORE" -o "listen=$listen" "$@" \
		"$MNT" >>"$LOG" 2>&1 &
	LF_PID=$!
	lf_wait_up
}

lf_wait_up() {
	local i
	for i in $(seq 1 100); do
		if ! kill -0 "$LF_PID" 2>/dev/null; then
			cat "$LOG" >&2
			fail "daemon exited during start-up"
		fi
		if mountpoint -q "$MNT"; then
			LF_CONN=$(mountpoint -d "$MNT" | cut -d: -f2)
			if [ "${LF_NO_HTTP:-0}" = 1 ] ||
			   curl -s -o /dev/null "$URL/.landing/health"; then
				return 0
			fi
		fi
		sleep 0.1
	done
	cat "$LOG" >&2
	fail "daemon not up after 10 s"
}

# lf_stop: unmount and wait for the daemon to exit (bounded); returns the
# daemon's exit status.
lf_stop() {
	local rc=0 i
	[ -n "$LF_PID" ] || return 0
	if mountpoint -q "$MNT"; then
		fusermount3 -u "$MNT" 2>/dev/null || kill -TERM "$LF_PID" 2>/dev/null || true
	else
		kill -TERM "$LF_PID" 2>/dev/null || true
	fi
	for i in $(seq 1 100); do
		kill -0 "$LF_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$LF_PID" 2>/dev/null; then
		note "daemon did not exit in 10 s; killing it"
		kill -KILL "$LF_PID" 2>/dev/null || true
		sleep 1
		kill -0 "$LF_PID" 2>/dev/null && lf_abort
		rc=1
	fi
	wait "$LF_PID" 2>/dev/null || rc=$?
	LF_PID=""
	mountpoint -q "$MNT" && { fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true; }
	return $rc
}

# lf_abort: abort the mount's FUSE connection (fusectl). A daemon killed
# while one of its own threads waits on its own mount (the publish rename)
# cannot exit until the connection is aborted: that thread sleeps
# uninterruptibly, so /dev/fuse never closes by itself. LF_NO_ABORT=1
# disables it, so that a test can show the daemon dies on its own.
lf_abort() {
	[ "${LF_NO_ABORT:-0}" = 1 ] && return 0
	[ -n "$LF_CONN" ] || return 0
	mountpoint -q /sys/fs/fuse/connections ||
		mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null || true
	[ -e "/sys/fs/fuse/connections/$LF_CONN/abort" ] &&
		echo 1 >"/sys/fs/fuse/connections/$LF_CONN/abort" 2>/dev/null
	return 0
}

# lf_start_stuck: start the daemon and build the circle that keeps it from
# exiting on SIGKILL unless its connection is aborted (crash_stuck.sh): a
# publish into d/ sits in the daemon (LANDINGFS_TEST_STALL_RENAME, a
# test-only stall of renames to names beginning with "stall-") with d
# locked by a mount helper, and a DELETE in d/ sends the notifier after
# the same lock. Sets LF_CHILDREN (the daemon's guardian and helpers) and
# LF_STUCK_CURL (the stalled upload's curl).
lf_start_stuck() {
	local code
	LANDINGFS_TEST_STALL_RENAME=30000 lf_start
	echo x >"$T/f"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -T "$T/f" "$URL/d/other")
	expect_eq "$code" 201 "PUT d/other"
	ls "$MNT/d" >/dev/null
	LF_CHILDREN=$(pgrep -P "$LF_PID" | tr '\n' ' ')
	[ "$(echo "$LF_CHILDREN" | wc -w)" -ge 2 ] ||
		fail "no helper or guardian processes: '$LF_CHILDREN'"
	curl -s -o /dev/null --max-time 60 -T "$T/f" "$URL/d/stall-1" &
	LF_STUCK_CURL=$!
	sleep 1
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -X DELETE "$URL/d/other")
	expect_eq "$code" 204 "DELETE d/other"
	sleep 1
}

# lf_restart_unstuck: once the daemon of lf_start_stuck is gone, clear its
# mount and restart: the store must show d/other deleted and d/stall-1
# never landed. Ends with a clean stop.
lf_restart_unstuck() {
	wait "$LF_STUCK_CURL" 2>/dev/null || true
	fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	lf_start
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/d/other")" 404 \
		"d/other after the restart"
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/d/stall-1")" 404 \
		"d/stall-1 after the restart"
	lf_stop || fail "daemon exit status"
}

# lf_small_store SIZE: put the store on a tmpfs of SIZE (for example 32m),
# mounted for the test's duration (root needed).
lf_small_store() {
	mkdir -p "$T/fs"
	mount -t tmpfs -o "size=$1" tmpfs "$T/fs" || fail "cannot mount a tmpfs (root needed)"
	LF_EXTRA_CLEANUP="${LF_EXTRA_CLEANUP:+$LF_EXTRA_CLEANUP; }umount -l '$T/fs' 2>/dev/null || true"
	STORE=$T/fs/store
}

# lf_fill_until_507 DIR FILE...: PUT the files in turn as DIR/f1, DIR/f2,
# ... (the last one again once they run out; 12 uploads at most) until one
# is refused with 507, whose body is left in $T/reply. Sets LF_FILLED (the
# uploads stored) and LF_REFUSED (the number of the refused one). Any
# other answer, or no 507, fails.
lf_fill_until_507() {
	local dir=$1 i s f
	shift
	local files=("$@")
	LF_FILLED=0 LF_REFUSED=""
	for i in $(seq 1 12); do
		f=${files[$((i - 1))]:-${files[-1]}}
		s=$(curl -s -m 30 -o "$T/reply" -w '%{http_code}' -T "$f" "$URL/$dir/f$i" || true)
		case "$s" in
		201) LF_FILLED=$i ;;
		507) LF_REFUSED=$i; return 0 ;;
		*) fail "upload $i on a filling disk: got $s ($(head -c 200 "$T/reply"))" ;;
		esac
	done
	fail "no 507 after 12 uploads"
}

# lf_dead PID: the process has exited (at most a zombie with no thread
# left).
lf_dead() {
	[ ! -d "/proc/$1" ] && return 0
	[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ] &&
		[ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" -le 1 ]
}

# lf_kill: SIGKILL the daemon (a crash) and clear the dead mount. A daemon
# still alive 3 s after SIGKILL is counted in LF_UNKILLABLE, with the wait
# channels of its threads, and freed by aborting its FUSE connection (a
# test that must prove the daemon dies by itself sets LF_NO_ABORT=1 and
# fails instead).
LF_UNKILLABLE=0
lf_kill() {
	local pid=$LF_PID i t w=""
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null || true
	for i in $(seq 1 30); do lf_dead "$pid" && break; sleep 0.1; done
	if ! lf_dead "$pid"; then
		LF_UNKILLABLE=$((LF_UNKILLABLE + 1))
		for t in /proc/"$pid"/task/*; do w="$w $(cat "$t/wchan" 2>/dev/null)"; done
		note "the daemon survived SIGKILL for 3 s (threads in:$w)"
		[ "${LF_NO_ABORT:-0}" = 1 ] && fail "the daemon survived SIGKILL"
		lf_abort
		for i in $(seq 1 50); do lf_dead "$pid" && break; sleep 0.1; done
		lf_dead "$pid" || fail "the daemon survived SIGKILL even after its FUSE connection was aborted"
	fi
	wait "$pid" 2>/dev/null || true
	LF_PID=""
	fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
}

# lf_cleanup_crash: lf_cleanup for tests that kill the daemon: on a
# failure the daemon is killed first (and freed if SIGKILL cannot end it),
# so that the unmount in lf_cleanup cannot hang on a dead mount.
lf_cleanup_crash() {
	local rc=$? i
	set +e
	if [ "$rc" -ne 0 ] && [ -n "$LF_PID" ]; then
		kill -KILL "$LF_PID" 2>/dev/null || true
		for i in $(seq 1 30); do lf_dead "$LF_PID" && break; sleep 0.1; done
		lf_dead "$LF_PID" || lf_abort
	fi
	(exit $rc)
	lf_cleanup
}

lf_cleanup() {
	local rc=$?
	set +e
	lf_stop >/dev/null 2>&1
	if [ $rc -ne 0 ] && [ -f "$LOG" ]; then
		echo "---- daemon log (tail)" >&2
		tail -n 30 "$LOG" >&2
	fi
	[ -n "${LF_EXTRA_CLEANUP:-}" ] && eval "$LF_EXTRA_CLEANUP"
	[ -n "$T" ] && rm -rf "$T"
	exit $rc
}

# lf_alive WHAT [any]: fail unless the daemon still runs and its health
# endpoint answers 200 (with "any": answers at all, for a store that has
# been taken away and reports 503).
lf_alive() {
	local c
	kill -0 "$LF_PID" 2>/dev/null || fail "$1: the daemon died"
	c=$(curl -s -m 5 -o "$T/health" -w '%{http_code}' "$URL/.landing/health" || true)
	if [ "${2:-}" = any ]; then
		[ "$c" != 000 ] || fail "$1: the daemon stopped answering"
	else
		[ "$c" = 200 ] || fail "$1: the daemon answers $c ($(head -c 100 "$T/health"))"
	fi
}

# http_status OUTPUT: the status code of the first response in OUTPUT (raw
# HTTP), or "none".
http_status() {
	local c
	c=$(printf '%s' "$1" | sed -n '1s/^HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p')
	echo "${c:-none}"
}

# sha FILE: the sha-256 of FILE, hex.
sha() {
	sha256sum "$1" | cut -d' ' -f1
}
