#!/usr/bin/env bash
# timeout: 30
# A listener on a non-loopback address without a token file is refused at
# start-up, with a message naming -o insecure. Nothing is ever served on a
# public address here: each start is expected to fail before listening, and
# is killed at once if it does not.
. "$(dirname "$0")/lib.sh"
lf_setup

refused() { # WHAT OPTIONS...
	local what=$1 rc=0 pid i
	shift
	"$LANDINGFS" -f --store "$STORE" "$@" "$MNT" > "$T/out" 2>&1 &
	pid=$!
	for i in $(seq 1 50); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $pid 2>/dev/null; then
		kill -KILL $pid
		wait $pid 2>/dev/null || true
		mountpoint -q "$MNT" && fusermount3 -uz "$MNT"
		fail "$what: the daemon started"
	fi
	wait $pid || rc=$?
	[ $rc -ne 0 ] || fail "$what: exit status 0"
	grep -q -- "-o insecure" "$T/out" || fail "$what: no hint: $(cat "$T/out")"
	mountpoint -q "$MNT" && fail "$what: left a mount"
	return 0
}
refused "0.0.0.0" -o "listen=0.0.0.0:$PORT"
refused "[::]" -o "listen=[::]:$PORT"
refused "second listener" -o "listen=127.0.0.1:$PORT,listen=0.0.0.0:$PORT"
refused "empty host" -o "listen=:$PORT"
refused "TLS on 0.0.0.0" -o "listen=127.0.0.1:$PORT,tls_listen=0.0.0.0:$PORT,tls_cert=/dev/null,tls_key=/dev/null"
grep -q "tls_listen=0.0.0.0:$PORT" "$T/out" || fail "TLS refusal does not name tls_listen"

# Loopback needs nothing: the ordinary start.
lf_start
expect_eq "$(curl -s "$URL/.landing/health")" ok "loopback health"
# A clean stop, and nothing from the sanitizers when built with them.
lf_stop || fail "the daemon did not exit cleanly"
if grep -Eq 'Sanitizer|runtime error' "$LOG"; then fail "sanitizer report in the log"; fi
echo ok
