#!/usr/bin/env bash
# timeout: 90
# SIGKILL the daemon while many small uploads publish through its mount
# (the default publish mode: a rename on the mount per upload). The daemon
# must be gone within 2 s every time, by itself: the FUSE connection is
# never aborted from outside (LF_NO_ABORT=1), so a daemon thread waiting on
# its own mount would show here as a daemon that survives SIGKILL. Its
# helper processes must end too (within 5 s), the dead mount must unmount, and a
# restart on the same store must serve every acknowledged upload, byte for
# byte, over HTTP and through the mount, with nothing left in
# .landing/incoming.
. "$(dirname "$0")/lib.sh"
export LF_NO_ABORT=1

CYCLES=${LF_KILLPUB_CYCLES:-5}
WRITERS=${LF_KILLPUB_WRITERS:-12}
RANDOM=${LF_KILLPUB_SEED:-777}

# dead PID: the process has exited (at most a zombie with no thread left).
dead() {
	[ ! -d "/proc/$1" ] && return 0
	[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ] &&
		[ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" -le 1 ]
}
# A failing run may leave a daemon stuck on its own mount: abort its FUSE
# connection here (lf_abort is off), so that the cleanup cannot hang.
force_abort() {
	[ -n "$LF_CONN" ] || return 0
	mountpoint -q /sys/fs/fuse/connections ||
		mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null || true
	[ -e "/sys/fs/fuse/connections/$LF_CONN/abort" ] &&
		echo 1 >"/sys/fs/fuse/connections/$LF_CONN/abort" 2>/dev/null
	return 0
}
WPIDS=()
stop_writers() {
	local p
	[ -n "$T" ] && touch "$T/stop"
	for p in "${WPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${WPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	WPIDS=()
}
kp_cleanup() {
	local rc=$? i
	set +e
	stop_writers
	if [ -n "$LF_PID" ]; then
		kill -KILL "$LF_PID" 2>/dev/null
		for i in $(seq 1 30); do dead "$LF_PID" && break; sleep 0.1; done
		dead "$LF_PID" || force_abort
		for i in $(seq 1 50); do dead "$LF_PID" && break; sleep 0.1; done
		wait "$LF_PID" 2>/dev/null
		LF_PID=""
		fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	(exit $rc)
	lf_cleanup
}

# writer W C: PUTs small files w<W>/c<C>/f<i> until $T/stop appears,
# logging "path" in $T/acks.W.C for every 201 it gets.
writer() {
	local w=$1 c=$2 i=0 path src code
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		path=w$w/c$c/f$i
		src=$T/src/w$w.c$c.f$i
		printf 'upload %s: %*s\n' "$path" $((RANDOM % 2000)) x >"$src"
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
			-T "$src" "$URL/$path" 2>/dev/null) || true
		[ "$code" = 201 ] && echo "$path" >>"$T/acks.$w.$c"
	done
	return 0
}

lf_setup
trap kp_cleanup EXIT
mkdir -p "$T/src" "$T/get"
total=0

for c in $(seq 1 "$CYCLES"); do
	rm -f "$T/stop"
	lf_start
	for w in $(seq 1 "$WRITERS"); do
		writer "$w" "$c" &
		WPIDS+=($!)
	done
	# Kill 0.4 to 1.4 s into the uploads, when many renames are in flight.
	ms=$((400 + RANDOM % 1000))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	pid=$LF_PID
	helpers=$(pgrep -P "$pid" | tr '\n' ' ' || true)
	kill -KILL "$pid"
	for i in $(seq 1 20); do dead "$pid" && break; sleep 0.1; done
	if ! dead "$pid"; then
		w=""
		for t in /proc/"$pid"/task/*; do w="$w $(cat "$t/wchan" 2>/dev/null)"; done
		fail "cycle $c: the daemon survived SIGKILL for 2 s (killed after $ms ms; threads in:$w)"
	fi
	[ -n "$helpers" ] || fail "cycle $c: the daemon had no helper processes"
	# The helpers only need to end (their exit is slower under ASan).
	for h in $helpers; do
		for i in $(seq 1 50); do dead "$h" && break; sleep 0.1; done
		dead "$h" || fail "cycle $c: helper $h survived the daemon for 5 s (state $(cut -d' ' -f3 "/proc/$h/stat" 2>/dev/null), in $(cat "/proc/$h/wchan" 2>/dev/null))"
	done
	wait "$pid" 2>/dev/null || true
	LF_PID=""
	stop_writers
	fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	! mountpoint -q "$MNT" || fail "cycle $c: the dead mount is still there"
	! grep -qF " $MNT " /proc/self/mountinfo ||
		fail "cycle $c: $MNT is still in mountinfo"

	# Restart on the same store: every acknowledged file is there.
	lf_start
	cat "$T"/acks.*."$c" 2>/dev/null >"$T/acked" || true
	n=$(wc -l <"$T/acked")
	total=$((total + n))
	: >"$T/curl.cfg"
	while read -r path; do
		printf 'url = "%s/%s"\noutput = "%s/get/%s"\n' "$URL" "$path" \
			"$T" "${path//\//_}" >>"$T/curl.cfg"
	done <"$T/acked"
	if [ "$n" -gt 0 ]; then
		curl -s --fail --max-time 30 -K "$T/curl.cfg" ||
			fail "cycle $c: GET of an acknowledged upload failed"
	fi
	while read -r path; do
		src=$T/src/${path//\//.}
		cmp -s "$src" "$T/get/${path//\//_}" ||
			fail "cycle $c: $path over HTTP differs from what was acknowledged"
		cmp -s "$src" "$MNT/$path" ||
			fail "cycle $c: $path through the mount differs from what was acknowledged"
	done <"$T/acked"
	left=$(ls -A "$MNT/.landing/incoming" 2>/dev/null | wc -l)
	expect_eq "$left" 0 "cycle $c: entries left in .landing/incoming"
	lf_stop || fail "cycle $c: the daemon did not stop cleanly"
	if [ -n "$LANDINGCTL" ]; then
		"$LANDINGCTL" fsck "$STORE" >"$T/fsck.out" 2>&1 || {
			cat "$T/fsck.out" >&2
			fail "cycle $c: fsck found problems"
		}
	fi
	note "cycle $c: killed after $ms ms; daemon and helpers ($helpers) gone; $n acknowledged uploads verified"
done
[ "$total" -ge "$CYCLES" ] || fail "too few uploads were acknowledged ($total) to prove anything"
echo "net_killpublish: $CYCLES kills, $total acknowledged uploads verified"
