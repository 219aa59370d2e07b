#!/usr/bin/env bash
# net_keepalive.sh - keep-alive and pipelining across both paths: several
# PUTs on one connection (each spliced, the connection coming back to the
# front door between them), a PUT then a GET on one connection (the front
# door hands the connection to libmicrohttpd at the request boundary), a
# GET then a PUT (the PUT then takes libmicrohttpd's copying path, same
# answers, counted as copied), and requests pipelined in one write.
# timeout: 60
. "$(dirname "$0")/lib.sh"

CLIENT="python3 $(dirname "$0")/net_client.py"
lf_setup
lf_start

for i in 1 2 3 4; do head -c $((i * 300000)) /dev/urandom > "$T/f$i"; done

# Four PUTs, one connection.
curl -sS -v -T "$T/f1" "$URL/k/1" -T "$T/f2" "$URL/k/2" -T "$T/f3" "$URL/k/3" \
	-T "$T/f4" "$URL/k/4" -o /dev/null 2> "$T/v"
expect_eq "$(grep -c '^\* Connected to' "$T/v")" 1 "connections opened"
expect_eq "$(grep -c '^\* Re-using existing connection' "$T/v")" 3 "connections reused"
expect_eq "$(grep -c '^< HTTP/1.1 201' "$T/v")" 4 "201s"
for i in 1 2 3 4; do
	expect_eq "$(sha "$MNT/k/$i")" "$(sha "$T/f$i")" "keep-alive file $i"
done

# A PUT then a GET then a HEAD on one connection.
curl -sS -v -T "$T/f2" "$URL/k/pg" --next -o "$T/got" "$URL/k/pg" \
	--next -I "$URL/k/pg" 2> "$T/v" > "$T/headout"
expect_eq "$(grep -c '^\* Connected to' "$T/v")" 1 "PUT+GET: connections opened"
grep -q '^< HTTP/1.1 201' "$T/v" || fail "PUT+GET: no 201"
grep -q '^< HTTP/1.1 200' "$T/v" || fail "PUT+GET: no 200"
expect_eq "$(sha "$T/got")" "$(sha "$T/f2")" "GET after PUT on one connection"
grep -qi "^Content-Length: $(stat -c %s "$T/f2")" "$T/headout" || fail "HEAD after GET: $(cat "$T/headout")"

# A GET then PUTs on one connection: libmicrohttpd's copying path, which
# answers like the splice path (201, 204, ETag, Location, refusals).
copied0=$(curl -sS "$URL/.landing/metrics" | sed -n 's/^landingfs_upload_received_bytes_total{via="copy"} //p')
curl -sS -v -o /dev/null "$URL/k/1" --next -D "$T/h1" -T "$T/f3" "$URL/k/copied" \
	--next -T "$T/f3" "$URL/k/copied" \
	--next -T "$T/f1" -H 'If-None-Match: *' "$URL/k/copied" 2> "$T/v"
expect_eq "$(grep -c '^\* Connected to' "$T/v")" 1 "GET+PUT: connections opened"
expect_eq "$(grep '^< HTTP/1.1 [0-9]' "$T/v" | grep -v ' 100 ' | cut -d' ' -f3 | tr -d '\r' | tr '\n' ' ')" \
	"200 201 204 412 " "statuses on the copying path"
curl -sS -v -o /dev/null "$URL/k/1" --next -o "$T/body" --path-as-is -T "$T/f3" "$URL/k/../x" \
	--next -o /dev/null -H 'Content-Range: bytes 0-1/2' -T "$T/f3" "$URL/k/cr" 2> "$T/v"
expect_eq "$(grep '^< HTTP/1.1 [0-9]' "$T/v" | grep -v ' 100 ' | cut -d' ' -f3 | tr -d '\r' | tr '\n' ' ')" \
	"200 400 400 " "refusals on the copying path"
expect_eq "$(cat "$T/body")" "'.' or '..' in path" "copying path reason"
grep -qi '^ETag: "[0-9a-f]\{16\}"' "$T/h1" || fail "copying path: no ETag"
grep -qi '^Location: /k/copied' "$T/h1" || fail "copying path: no Location"
expect_eq "$(sha "$MNT/k/copied")" "$(sha "$T/f3")" "PUT on the copying path"
copied1=$(curl -sS "$URL/.landing/metrics" | sed -n 's/^landingfs_upload_received_bytes_total{via="copy"} //p')
[ "$((copied1 - copied0))" -ge $((2 * $(stat -c %s "$T/f3"))) ] ||
	fail "copied bytes not counted: $copied0 -> $copied1"

# Pipelined: three PUTs and a GET in one write.
$CLIENT "$PORT" pipeline /k/pipe 3 70000 > "$T/p"
expect_eq "$(tr '\n' '|' < "$T/p")" \
	"HTTP/1.1 201 Created|HTTP/1.1 201 Created|HTTP/1.1 201 Created|HTTP/1.1 200 OK len=70000|" \
	"pipelined responses"
expect_eq "$(head -c 70000 /dev/zero | tr '\0' A | sha256sum | cut -d' ' -f1)" "$(sha "$MNT/k/pipe.0")" "pipelined body 0"
expect_eq "$(head -c 70000 /dev/zero | tr '\0' C | sha256sum | cut -d' ' -f1)" "$(sha "$MNT/k/pipe.2")" "pipelined body 2"
lf_stop || fail "daemon exit status"
