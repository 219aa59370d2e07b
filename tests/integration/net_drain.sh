#!/usr/bin/env bash
# net_drain.sh - a stop lets the uploads in flight finish (drain=).
#
# After SIGTERM an upload already under way completes with 201 and lands,
# while a new one is refused with 503, Retry-After and its reason, and
# other requests are still answered; the daemon then exits 0 by itself. A
# second signal stops at once and the upload in flight lands nowhere; so
# does the end of the drain= bound.
# timeout: 120
. "$(dirname "$0")/lib.sh"

# wait_exit SECS: wait for the daemon to exit by itself; its status.
wait_exit() {
	local rc=0
	for _ in $(seq 1 $(($1 * 10))); do kill -0 "$LF_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$LF_PID" 2>/dev/null && fail "the daemon still runs $1 s after the stop"
	wait "$LF_PID" || rc=$?
	LF_PID=""
	return $rc
}

# slow_put NAME RATE: a background PUT of $T/src at RATE; its status code
# goes to $T/NAME.code.
slow_put() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 60 --limit-rate "$2" \
		-T "$T/src" "$URL/d/$1" >"$T/$1.code" || true
}

lf_setup
head -c $((1 << 20)) /dev/urandom >"$T/src"

# 1. The upload in flight finishes; a new one is refused.
lf_start
slow_put one 256K &
C=$!
sleep 1
t0=$(date +%s%N)
kill -TERM "$LF_PID"
sleep 0.3
curl -s -D "$T/h" -o "$T/b" -T "$T/src" "$URL/d/new" || true
tr -d '\r' <"$T/h" >"$T/h2"
head -n 1 "$T/h2" | grep -q ' 503 ' || fail "a new PUT while draining: $(head -n 1 "$T/h2")"
grep -qi '^retry-after: ' "$T/h2" || fail "503 without Retry-After"
grep -qi '^connection: close' "$T/h2" || fail "503 without Connection: close"
grep -q 'shutting down' "$T/b" || fail "503 reason: $(cat "$T/b")"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/.landing/health")" 200 "health while draining"
wait "$C"
expect_eq "$(cat "$T/one.code")" 201 "the upload in flight at the stop"
wait_exit 15 || fail "exit status after a drain"
note "stopped $(( ($(date +%s%N) - t0) / 1000000 )) ms after SIGTERM"
grep -q 'stopping: the uploads in flight finished' "$LOG" || fail "no drain line in the log"
mountpoint -q "$MNT" && fail "still mounted after the drain"
lf_start
cmp -s "$T/src" "$MNT/d/one" || fail "d/one did not land whole"
[ ! -e "$MNT/d/new" ] || fail "the refused upload landed"

# 2. A second signal stops at once.
slow_put two 32K &
C=$!
sleep 1
kill -TERM "$LF_PID"
sleep 0.5
kill -TERM "$LF_PID"
wait_exit 5 || true
wait "$C"
[ "$(cat "$T/two.code")" != 201 ] || fail "the upload cut by a second signal answered 201"
mountpoint -q "$MNT" && fusermount3 -u "$MNT"

# 3. The drain= bound ends the wait.
lf_start -o drain=1
slow_put three 32K &
C=$!
sleep 1
kill -TERM "$LF_PID"
wait_exit 5 || true
wait "$C"
[ "$(cat "$T/three.code")" != 201 ] || fail "the upload past drain=1 answered 201"
grep -q 'stopping: 1 upload still in flight discarded' "$LOG" || fail "no discard line in the log"
mountpoint -q "$MNT" && fusermount3 -u "$MNT"

lf_start
[ ! -e "$MNT/d/two" ] || fail "d/two landed after a second signal"
[ ! -e "$MNT/d/three" ] || fail "d/three landed after the drain bound"
cmp -s "$T/src" "$MNT/d/one" || fail "d/one lost"
lf_stop || fail "daemon exit status"
echo ok
