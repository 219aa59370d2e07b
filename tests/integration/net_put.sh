#!/usr/bin/env bash
# net_put.sh - PUT lands files: small, empty, chunked (curl -T -) and 256 MiB
# bodies appear whole on the mount (sha-256 through cat), 201 then 204 with
# ETag and Location, missing parents created, landing metadata recorded.
# timeout: 90
. "$(dirname "$0")/lib.sh"

lf_setup
lf_start

head -c 100000 /dev/urandom > "$T/small"
: > "$T/empty"

# A new file: 201 Created, ETag, Location; parents created.
curl -sS -D "$T/h1" -o "$T/b1" -T "$T/small" "$URL/run42/sub/small.bin"
expect_eq "$(grep '^HTTP/' "$T/h1" | tail -1 | cut -d' ' -f2)" 201 "new file status"
grep -qi '^ETag: "[0-9a-f]\{16\}"' "$T/h1" || fail "no ETag: $(cat "$T/h1")"
grep -qi '^Location: /run42/sub/small.bin' "$T/h1" || fail "no Location"
expect_eq "$(cat "$T/b1")" "created" "201 body"
expect_eq "$(sha "$MNT/run42/sub/small.bin")" "$(sha "$T/small")" "small file"
[ -d "$MNT/run42/sub" ] || fail "parents not created"

# The same path again: 204 No Content, a new ETag.
etag1=$(grep -i '^ETag' "$T/h1" | tr -d '\r')
code=$(curl -sS -D "$T/h2" -o /dev/null -w '%{http_code}' -T "$T/small" \
	"$URL/run42/sub/small.bin")
expect_eq "$code" 204 "replace status"
etag2=$(grep -i '^ETag' "$T/h2" | tr -d '\r')
[ -n "$etag2" ] && [ "$etag1" != "$etag2" ] || fail "ETag not renewed: $etag1 / $etag2"

# Landing metadata: origin, peer, time.
getfattr -d "$MNT/run42/sub/small.bin" > "$T/x" 2>/dev/null
grep -q 'user.landing.origin="net"' "$T/x" || fail "origin: $(cat "$T/x")"
grep -q 'user.landing.peer="127.0.0.1:' "$T/x" || fail "peer: $(cat "$T/x")"

# An empty body (Content-Length: 0).
code=$(curl -sS -o /dev/null -w '%{http_code}' -T "$T/empty" "$URL/empty.txt")
expect_eq "$code" 201 "empty body"
expect_eq "$(stat -c %s "$MNT/empty.txt")" 0 "empty size"

# Chunked: curl -T - sends Transfer-Encoding: chunked.
head -c 3000000 /dev/urandom > "$T/chunky"
code=$(curl -sS -o /dev/null -w '%{http_code}' -T - "$URL/c/chunked.bin" < "$T/chunky")
expect_eq "$code" 201 "chunked upload"
expect_eq "$(sha "$MNT/c/chunked.bin")" "$(sha "$T/chunky")" "chunked body"
# Small and odd chunks, sent by hand, with extensions and a trailer.
python3 "$(dirname "$0")/net_client.py" "$PORT" send \
	'PUT /c/hand.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n' \
	--wait 2 > "$T/r"
head -1 "$T/r" | grep -q '^HTTP/1.1 201' || fail "hand-chunked: $(head -1 "$T/r")"
expect_eq "$(cat "$MNT/c/hand.txt")" "hello 0123456789" "hand-chunked body"

# 256 MiB, checked through the mount.
head -c $((256 << 20)) /dev/urandom > "$T/big"
code=$(curl -sS -o /dev/null -w '%{http_code}' -T "$T/big" "$URL/big/big.bin")
expect_eq "$code" 201 "256 MiB upload"
expect_eq "$(cat "$MNT/big/big.bin" | sha256sum | cut -d' ' -f1)" "$(sha "$T/big")" "256 MiB body"
# And 64 MiB chunked.
code=$(head -c $((64 << 20)) "$T/big" | curl -sS -o /dev/null -w '%{http_code}' -T - "$URL/big/chunked.bin")
expect_eq "$code" 201 "64 MiB chunked"
expect_eq "$(cat "$MNT/big/chunked.bin" | sha256sum | cut -d' ' -f1)" \
	"$(head -c $((64 << 20)) "$T/big" | sha256sum | cut -d' ' -f1)" "64 MiB chunked body"

# Nothing is left in the private incoming directory.
[ -z "$(ls -A "$MNT/.landing/incoming" 2>/dev/null)" ] || fail "incoming leftovers: $(ls -A "$MNT/.landing/incoming")"
lf_stop || fail "daemon exit status"
