#!/usr/bin/env bash
# net_auth.sh - PUT is authorised on both of its paths, before the body: the
# splice path (a refusal arrives instead of 100 Continue, and nothing is
# read) and libmicrohttpd's copying path (a PUT after a GET on one
# connection), with the same statuses and challenge.
# timeout: 40
. "$(dirname "$0")/lib.sh"

CLIENT="python3 $(dirname "$0")/net_client.py"
lf_setup
RW=rw-token-0123456789abcdef
RO=ro-token-0123456789abcdef
printf '%s write,read /up\n%s read /\n' "$RW" "$RO" > "$T/tokens"
lf_start -o "token_file=$T/tokens"
echo body > "$T/f"

# Splice path: refused before the body.
first=$($CLIENT "$PORT" expect-first 'PUT /up/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n')
[[ "$first" == "HTTP/1.1 401 "* ]] || fail "no token: $first"
first=$($CLIENT "$PORT" expect-first "PUT /up/a HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer $RO\\r\\nContent-Length: 1000000\\r\\nExpect: 100-continue\\r\\n\\r\\n")
[[ "$first" == "HTTP/1.1 403 "* ]] || fail "read-only token: $first"
first=$($CLIENT "$PORT" expect-first "PUT /up/a HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer $RW\\r\\nContent-Length: 1000000\\r\\nExpect: 100-continue\\r\\n\\r\\n")
[[ "$first" == "HTTP/1.1 100 "* ]] || fail "good token: $first"
curl -sS -D "$T/h" -o /dev/null -T "$T/f" -H "Authorization: Bearer nope-nope-nope-nope" "$URL/up/a"
grep -q '^HTTP/1.1 401' "$T/h" || fail "wrong token: $(head -1 "$T/h")"
grep -qi '^WWW-Authenticate: Bearer realm="landingfs", error="invalid_token"' "$T/h" || fail "challenge: $(cat "$T/h")"
expect_eq "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RW" -T "$T/f" "$URL/up/a")" 201 "splice path, good token"
expect_eq "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RW" -T "$T/f" "$URL/elsewhere")" 403 "splice path, out of prefix"

# Copying path: a GET first, then PUTs on the same connection.
curl -sS -v -o /dev/null -H "Authorization: Bearer $RW" "$URL/up/a" \
	--next -o /dev/null -H "Authorization: Bearer $RW" -T "$T/f" "$URL/up/copied" \
	--next -o /dev/null -H "Authorization: Bearer $RW" -T "$T/f" "$URL/out/of/prefix" 2> "$T/v"
expect_eq "$(grep -c '^\* Connected to' "$T/v")" 1 "copying path: one connection for GET and PUT"
expect_eq "$(grep '^< HTTP/1.1 [0-9]' "$T/v" | grep -v ' 100 ' | cut -d' ' -f3 | tr -d '\r' | tr '\n' ' ')" \
	"200 201 403 " "copying path statuses"
curl -sS -v -o /dev/null -H "Authorization: Bearer $RW" "$URL/up/a" \
	--next -D "$T/h2" -o /dev/null -T "$T/f" "$URL/up/noauth" 2> "$T/v"
grep -q '^HTTP/1.1 401' "$T/h2" || fail "copying path, no token: $(head -1 "$T/h2")"
grep -qi '^WWW-Authenticate: Bearer' "$T/h2" || fail "copying path: no challenge"
[ -e "$MNT/up/copied" ] || fail "copying path upload missing"
for f in up/noauth out/of/prefix elsewhere; do [ ! -e "$MNT/$f" ] || fail "$f published"; done
lf_stop || fail "daemon exit status"
