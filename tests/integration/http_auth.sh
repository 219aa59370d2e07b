#!/usr/bin/env bash
# timeout: 60
# Bearer tokens: each scope, a wrong token (401 with WWW-Authenticate), out
# of scope (403), prefixes, the monitoring-only prefix, reload on SIGHUP,
# and a token file with errors refused at start-up with FILE:LINE.
. "$(dirname "$0")/lib.sh"
lf_setup

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
RW=rw-0123456789abcdef0123
RO=ro-0123456789abcdef0123
DEL=del-0123456789abcdef012
MON=mon-0123456789abcdef012
NEW=new-0123456789abcdef012
HASHED=hashed-0123456789abcdef
cat > "$T/tokens" <<TOK
# test tokens
$RW   read,write   /up
$RO   read         /
$DEL  delete       /up/tmp

$MON  read         /.landing
sha256:$(printf %s "$HASHED" | sha256sum | cut -d' ' -f1) write /hashed
TOK
chmod 600 "$T/tokens"
lf_start -o "token_file=$T/tokens"
echo data > "$T/f"
auth() { echo "Authorization: Bearer $1"; }

# No token, a wrong one, a malformed header: 401 with a challenge.
curl -s -D "$T/h" -o /dev/null -T "$T/f" "$URL/up/a"
grep -q '^HTTP/1.1 401' "$T/h" || fail "PUT without token: $(head -n1 "$T/h")"
grep -qi '^WWW-Authenticate: Bearer' "$T/h" || fail "no WWW-Authenticate on PUT"
curl -s -D "$T/h" -o /dev/null "$URL/"
grep -q '^HTTP/1.1 401' "$T/h" || fail "GET without token"
grep -qi '^WWW-Authenticate: Bearer realm="landingfs"' "$T/h" || fail "no WWW-Authenticate on GET"
curl -s -D "$T/h" -o /dev/null -H "$(auth wrong-0123456789abcdef012)" "$URL/"
grep -q '^HTTP/1.1 401' "$T/h" || fail "wrong token"
grep -qi 'error="invalid_token"' "$T/h" || fail "no invalid_token"
expect_eq "$(code -H "$(auth ${RW}x)" "$URL/up/")" 401 "token with a byte more"
expect_eq "$(code -H "$(auth ${RW%?})" "$URL/up/")" 401 "token with a byte less"
expect_eq "$(code -H "Authorization: Basic $RW" "$URL/up/")" 401 "Basic scheme"
expect_eq "$(code -X DELETE "$URL/up/a")" 401 "DELETE without token"
expect_eq "$(code -X MKCOL "$URL/up/c")" 401 "MKCOL without token"
expect_eq "$(code "$URL/.landing/metrics")" 401 "metrics without token"
expect_eq "$(code "$URL/.landing/health")" 200 "health needs no token"
expect_eq "$(code "$URL/.landing/")" 200 "status page shell needs no token"
left=$(ls -A "$MNT" | grep -vx '.landing' || true)
[ -z "$left" ] || fail "refused requests changed the store: $left"

# read,write under /up.
expect_eq "$(code -H "$(auth $RW)" -T "$T/f" "$URL/up/a")" 201 "rw PUT in prefix"
expect_eq "$(code -H "$(auth $RW)" -T "$T/f" "$URL/up/tmp/b")" 201 "rw PUT deeper"
expect_eq "$(code -H "$(auth $RW)" -T "$T/f" "$URL/upx")" 403 "rw PUT next to prefix"
expect_eq "$(code -H "$(auth $RW)" -T "$T/f" "$URL/other/a")" 403 "rw PUT outside"
expect_eq "$(code -H "$(auth $RW)" "$URL/up/a")" 200 "rw GET"
expect_eq "$(code -H "$(auth $RW)" "$URL/")" 403 "rw GET of the root"
expect_eq "$(code -H "$(auth $RW)" -X MKCOL "$URL/up/c")" 201 "rw MKCOL"
expect_eq "$(code -H "$(auth $RW)" -X DELETE "$URL/up/a")" 403 "rw DELETE"
expect_eq "$(code -H "$(auth $RW)" -X MOVE -H 'Destination: /up/a2' "$URL/up/a")" 403 "rw MOVE (needs delete)"

# read everywhere.
expect_eq "$(code -H "$(auth $RO)" "$URL/up/a")" 200 "ro GET"
expect_eq "$(code -H "$(auth $RO)" "$URL/?format=json")" 200 "ro listing"
expect_eq "$(code -H "$(auth $RO)" -T "$T/f" "$URL/up/z")" 403 "ro PUT"
expect_eq "$(code -H "$(auth $RO)" -X DELETE "$URL/up/a")" 403 "ro DELETE"
expect_eq "$(code -H "$(auth $RO)" "$URL/.landing/uploads")" 200 "ro uploads"

# delete under /up/tmp only.
expect_eq "$(code -H "$(auth $DEL)" -X DELETE "$URL/up/a")" 403 "del outside its prefix"
expect_eq "$(code -H "$(auth $DEL)" "$URL/up/tmp/b")" 403 "del GET"
expect_eq "$(code -H "$(auth $DEL)" -X DELETE "$URL/up/tmp/b")" 204 "del DELETE"
[ ! -e "$MNT/up/tmp/b" ] || fail "DELETE by token not seen"

# monitoring only.
expect_eq "$(code -H "$(auth $MON)" "$URL/.landing/metrics")" 200 "mon metrics"
expect_eq "$(code -H "$(auth $MON)" "$URL/.landing/uploads")" 200 "mon uploads"
expect_eq "$(code -H "$(auth $MON)" "$URL/up/a")" 403 "mon GET a file"

# A token kept as its sha-256 in the file.
expect_eq "$(code -H "$(auth $HASHED)" -T "$T/f" "$URL/hashed/f")" 201 "hashed token PUT"
expect_eq "$(code -H "$(auth $HASHED)" "$URL/hashed/f")" 403 "hashed token is write-only"

# SIGHUP re-reads the file; a broken file leaves the tokens in force.
printf '%s all /\n' "$NEW" > "$T/tokens"
kill -HUP "$LF_PID"
for _ in $(seq 1 50); do
	[ "$(code -H "$(auth $NEW)" "$URL/up/a")" = 200 ] && break
	sleep 0.1
done
expect_eq "$(code -H "$(auth $NEW)" "$URL/up/a")" 200 "new token after SIGHUP"
expect_eq "$(code -H "$(auth $RO)" "$URL/up/a")" 401 "old token after SIGHUP"
printf '%s all /\nbroken line\n' "$RO" > "$T/tokens"
kill -HUP "$LF_PID"
for _ in $(seq 1 50); do
	grep -q "tokens:2:" "$LOG" && break
	sleep 0.1
done
grep -q "tokens:2: expected TOKEN SCOPES PREFIX" "$LOG" || fail "no FILE:LINE for the broken reload"
expect_eq "$(code -H "$(auth $NEW)" "$URL/up/a")" 200 "tokens kept after a broken reload"
expect_eq "$(code -H "$(auth $RO)" "$URL/up/a")" 401 "broken file not taken"
lf_stop || fail "the daemon did not exit cleanly"

# A token file with errors stops the daemon at start-up, naming the line.
printf '# ok\n%s read /\n%s read,jump /\n' "$RO" "$RW" > "$T/bad"
rc=0
timeout 10 "$LANDINGFS" -f --store "$STORE" -o "listen=127.0.0.1:$PORT,token_file=$T/bad" \
	"$MNT" > "$T/bad.log" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "bad token file accepted (rc $rc)"
grep -q "$T/bad:3: unknown scope" "$T/bad.log" || fail "no FILE:LINE: $(cat "$T/bad.log")"
# A clean stop, and nothing from the sanitizers when built with them.
lf_stop || fail "the daemon did not exit cleanly"
if grep -Eq 'Sanitizer|runtime error' "$LOG"; then fail "sanitizer report in the log"; fi
echo ok
