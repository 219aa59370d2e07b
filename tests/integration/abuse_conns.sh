#!/usr/bin/env bash
# abuse_conns.sh - a thousand connections that send nothing, a thousand
# that send a request head one byte a second, and a hundred that send their
# body one byte a second: another client can still upload meanwhile, the
# daemon stays up, none of the slow uploads is published.
# timeout: 120
#
# The slow clients are tests/progs/rawhttp.c in hold mode, each bounded in
# time. An upload that meets 503 (every upload slot taken by tricklers) is
# retried once a second, within a bound: the minimum-rate timeout must free
# the slots.
. "$(dirname "$0")/lib.sh"

: "${LF_TEST_PROGS:?LF_TEST_PROGS must name the test programs}"
RAW=$LF_TEST_PROGS/rawhttp

lf_setup
lf_start

head -c $((1 << 20)) /dev/urandom >"$T/one"

# upload NAME BOUND: PUT $T/one to /conns/NAME, retrying on 503 for up to
# BOUND seconds; fails unless it lands intact.
upload() {
	local name=$1 bound=$2 code start=$SECONDS
	while :; do
		code=$(curl -s -m 10 -o "$T/reply" -w '%{http_code}' -T "$T/one" \
			"$URL/conns/$name" || true)
		[[ "$code" =~ ^20[14]$ ]] && break
		[ "$code" = 503 ] && [ $((SECONDS - start)) -lt "$bound" ] ||
			fail "upload $name beside the slow clients: got $code ($(cat "$T/reply" 2>/dev/null | head -c 200))"
		sleep 1
	done
	cmp -s "$T/one" "$MNT/conns/$name" || fail "upload $name: not intact on the mount"
	note "upload $name: $code after $((SECONDS - start)) s"
}

# hold MODE N SECONDS NAME BOUND: N slow connections, an upload beside them.
hold() {
	local mode=$1 n=$2 secs=$3 name=$4 bound=$5 h
	"$RAW" -n "$n" -m "$mode" -T "$secs" 127.0.0.1 "$PORT" >"$T/$mode.out" &
	h=$!
	sleep 3
	lf_alive "$n $mode connections"
	upload "$name" "$bound"
	wait "$h" || fail "$mode: the slow client failed"
	note "$mode: $(cat "$T/$mode.out")"
	lf_alive "after $n $mode connections"
	# The slow clients have closed their connections: within 3 s they no
	# longer count against the connection limit.
	local i c
	for i in $(seq 1 30); do
		c=$(curl -s -m 5 -o "$T/reply" -w '%{http_code}' "$URL/.landing/health" || true)
		[ "$c" = 200 ] && break
		sleep 0.1
	done
	[ "$c" = 200 ] || fail "3 s after $n $mode clients closed their connections, the daemon still answers $c ($(head -c 100 "$T/reply"))"
}

hold idle 1000 10 beside-idle 0
hold trickle 1000 10 beside-trickle 0
hold body 100 25 beside-body 20

# None of the slow uploads landed.
[ ! -e "$MNT/trickle/slow" ] || fail "a trickled upload was published"
extra=$(cd "$MNT" && find . -type f | sort | grep -vxE '\./conns/beside-(idle|trickle|body)' || true)
[ -z "$extra" ] || fail "unexpected files: $extra"
lf_stop || fail "the daemon did not stop cleanly"
if [ -n "${LANDINGCTL:-}" ]; then
	"$LANDINGCTL" fsck "$STORE" >"$T/fsck.out" 2>&1 ||
		{ cat "$T/fsck.out" >&2; fail "fsck after the slow clients"; }
fi
echo "abuse_conns: uploads went through beside idle and trickling connections"
