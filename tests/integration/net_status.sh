#!/usr/bin/env bash
# net_status.sh - every refusal of a PUT, each with its status and a
# one-line text/plain reason; refusals come before the body (no 100
# Continue), and nothing refused is published.
# timeout: 90
. "$(dirname "$0")/lib.sh"

CLIENT="python3 $(dirname "$0")/net_client.py"
lf_setup
lf_start -o max_upload=1M,max_uploads=2

head -c 2000000 /dev/urandom > "$T/2m"
echo small > "$T/s"

# put_status WANT WHAT CURL_ARGS...: the final status, and a one-line reason.
put_status() {
	local want=$1 what=$2 code lines
	shift 2
	code=$(curl -sS -o "$T/body" -w '%{http_code}' "$@") || true
	expect_eq "$code" "$want" "$what"
	if [ "$want" -ge 400 ]; then
		lines=$(wc -l < "$T/body")
		expect_eq "$lines" 1 "$what: one-line reason ($(cat "$T/body"))"
		[ -s "$T/body" ] || fail "$what: empty reason"
	fi
}

# -- 400: bad paths, Content-Range, malformed heads
put_status 400 "dot-dot" --path-as-is -T "$T/s" "$URL/a/../../etc/x"
put_status 400 "encoded dot-dot" -T "$T/s" "$URL/%2e%2e/x"
put_status 400 "encoded slash" -T "$T/s" "$URL/a%2fb"
put_status 400 "encoded NUL" -T "$T/s" "$URL/a%00b"
put_status 400 "backslash" -T "$T/s" "$URL/a%5cb"
put_status 400 "reserved prefix" -T "$T/s" "$URL/.landing/x"
put_status 400 "reserved alias name" -T "$T/s" "$URL/d/.landing-incoming.1"
put_status 400 "over-long name" -T "$T/s" "$URL/$(printf 'n%.0s' $(seq 300))"
put_status 400 "Content-Range" -T "$T/s" -H 'Content-Range: bytes 0-5/6' "$URL/cr"
put_status 400 "malformed Content-Digest" -T "$T/s" -H 'Content-Digest: sha-256=nope' "$URL/cd"
out=$($CLIENT "$PORT" send 'PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello' --wait 2)
[[ "$out" == "HTTP/1.1 400 "* ]] || fail "conflicting Content-Length: $(echo "$out" | head -1)"
out=$($CLIENT "$PORT" send 'PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n' --wait 2)
[[ "$out" == "HTTP/1.1 400 "* ]] || fail "Content-Length with chunked: $(echo "$out" | head -1)"

# -- 409: onto a directory, the root, under a file
mkdir -p "$MNT/adir"
put_status 409 "PUT onto a directory" -T "$T/s" "$URL/adir"
out=$($CLIENT "$PORT" send 'PUT /newdir/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab' --wait 2)
[[ "$out" == "HTTP/1.1 409 "* ]] || fail "PUT with a trailing slash: $(echo "$out" | head -1)"
put_status 201 "a file" -T "$T/s" "$URL/afile"
put_status 409 "parent is a file" -T "$T/s" "$URL/afile/x"

# -- symbolic links (made through the mount) are never followed
mkdir -p "$T/outside" "$MNT/real"
ln -s "$T/outside" "$MNT/evil"
ln -s real "$MNT/inner"
ln -s real/f "$MNT/alink"
put_status 409 "through a symlink out of the store" -T "$T/s" "$URL/evil/x"
put_status 409 "through a symlink inside the store" -T "$T/s" "$URL/inner/x"
put_status 409 "onto a symlink" -T "$T/s" "$URL/alink"
[ -z "$(ls -A "$T/outside")" ] || fail "an upload went through a symlink: $(ls -A "$T/outside")"
[ ! -e "$MNT/real/x" ] || fail "an upload followed a symlink inside the store"
[ -L "$MNT/alink" ] || fail "the symlink was replaced"

# -- 411: no length, not chunked
out=$($CLIENT "$PORT" send 'PUT /nolen HTTP/1.1\r\nHost: x\r\n\r\n' --wait 2)
[[ "$out" == "HTTP/1.1 411 "* ]] || fail "no length: $(echo "$out" | head -1)"

# -- 412: conditionals
put_status 412 "If-None-Match: * on an existing file" -T "$T/s" -H 'If-None-Match: *' "$URL/afile"
put_status 201 "If-None-Match: * on a new file" -T "$T/s" -H 'If-None-Match: *' "$URL/inm-new"
put_status 412 "If-Match on a missing file" -T "$T/s" -H 'If-Match: *' "$URL/missing"
put_status 412 "If-Match with another ETag" -T "$T/s" -H 'If-Match: "0123456789abcdef"' "$URL/afile"
etag=$(curl -sS -D - -o /dev/null -T "$T/s" "$URL/afile" | tr -d '\r' | sed -n 's/^ETag: //Ip')
put_status 204 "If-Match with the ETag" -T "$T/s" -H "If-Match: $etag" "$URL/afile"
put_status 412 "If-Match with the old ETag" -T "$T/s" -H "If-Match: $etag" "$URL/afile"

# -- 413: over max_upload, answered before the body
put_status 413 "over max_upload" -T "$T/2m" "$URL/toobig"
first=$($CLIENT "$PORT" expect-first 'PUT /toobig HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n')
[[ "$first" == "HTTP/1.1 413 "* ]] || fail "413 not before the body: $first"
first=$($CLIENT "$PORT" expect-first 'PUT /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n')
[[ "$first" == "HTTP/1.1 100 "* ]] || fail "no 100 Continue for an acceptable PUT: $first"
code=$(head -c 2000000 "$T/2m" | curl -sS -o "$T/body" -w '%{http_code}' -T - "$URL/toobig-chunked") || true
expect_eq "$code" 413 "chunked over max_upload"
first=$($CLIENT "$PORT" expect-first 'PUT /.landing/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n')
[[ "$first" == "HTTP/1.1 400 "* ]] || fail "bad path not before the body: $first"

# -- 417, 501
put_status 417 "Expect other than 100-continue" -T "$T/s" -H 'Expect: teapot' "$URL/e"
out=$($CLIENT "$PORT" send 'PUT /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n' --wait 2)
[[ "$out" == "HTTP/1.1 501 "* ]] || fail "gzip, chunked: $(echo "$out" | head -1)"
out=$($CLIENT "$PORT" send 'PUT /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n' --wait 2)
[[ "$out" == "HTTP/1.1 501 "* || "$out" == "HTTP/1.1 400 "* ]] || fail "gzip coding: $(echo "$out" | head -1)"

# -- 431: a header section over max_header (16 KiB by default)
put_status 431 "header section too large" -T "$T/s" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$URL/big-head"

# -- 405 with Allow, for a method nobody serves (handed to libmicrohttpd)
code=$(curl -sS -D "$T/h" -o "$T/body" -w '%{http_code}' -X BREW "$URL/pot") || true
expect_eq "$code" 405 "unknown method"
grep -qi '^Allow: .*PUT' "$T/h" || fail "405 without Allow: $(cat "$T/h")"

# -- 503 with Retry-After beyond max_uploads (2): two slow bodies hold both
$CLIENT "$PORT" trickle /slow1 100000 1 6 > "$T/t1" &
p1=$!
$CLIENT "$PORT" trickle /slow2 100000 1 6 > "$T/t2" &
p2=$!
sleep 1.5
code=$(curl -sS -D "$T/h" -o "$T/body" -w '%{http_code}' -T "$T/s" "$URL/third") || true
expect_eq "$code" 503 "over max_uploads"
grep -qi '^Retry-After: [0-9]' "$T/h" || fail "503 without Retry-After"
wait $p1 $p2 || true
sleep 0.5
put_status 201 "a slot frees again" -T "$T/s" "$URL/third"

# Nothing refused was published.
for f in toobig toobig-chunked ok cr cd nolen missing e te big-head slow1 slow2 x newdir adir/s; do
	[ ! -e "$MNT/$f" ] || fail "$f was published"
done
lf_stop || fail "daemon exit status"
