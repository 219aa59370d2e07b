#!/usr/bin/env bash
# timeout: 60
# GET and HEAD of a file: whole, one Range (206), an unsatisfiable one
# (416), several (200), If-Range, ETag / Last-Modified conditionals (304,
# 412), Content-Type from mime.types, Repr-Digest on demand.
. "$(dirname "$0")/lib.sh"
lf_setup
lf_start

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# hdr NAME FILE: the value of a response header in a curl -D dump.
hdr() { grep -i "^$1:" "$2" | head -n1 | cut -d' ' -f2- | tr -d '\r'; }

head -c 1000000 /dev/urandom > "$T/f.bin"
printf 'hello, range\n' > "$T/small.txt"
expect_eq "$(code -T "$T/f.bin" "$URL/d/f.bin")" 201 "PUT f.bin"
curl -s -D "$T/put.h" -o /dev/null -T "$T/small.txt" "$URL/d/small.txt"
put_etag=$(hdr ETag "$T/put.h")
[ -n "$put_etag" ] || fail "PUT gave no ETag"

# Whole file, and its headers.
curl -s -D "$T/get.h" -o "$T/got" "$URL/d/f.bin"
expect_eq "$(sha "$T/got")" "$(sha "$T/f.bin")" "GET body"
expect_eq "$(hdr Content-Length "$T/get.h")" 1000000 "Content-Length"
expect_eq "$(hdr Accept-Ranges "$T/get.h")" bytes "Accept-Ranges"
expect_eq "$(hdr Content-Type "$T/get.h")" application/octet-stream "type of .bin"
etag=$(hdr ETag "$T/get.h")
lm=$(hdr Last-Modified "$T/get.h")
[[ "$etag" =~ ^\"[0-9a-f]{16}\"$ ]] || fail "ETag form: $etag"
[[ "$lm" =~ ^[A-Z][a-z]{2},\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9:]{8}\ GMT$ ]] ||
	fail "Last-Modified form: $lm"

curl -s -D "$T/small.h" -o "$T/got" "$URL/d/small.txt"
expect_eq "$(cat "$T/got")" "hello, range" "small body"
expect_eq "$(hdr Content-Type "$T/small.h")" text/plain "type of .txt"
expect_eq "$(hdr ETag "$T/small.h")" "$put_etag" "GET ETag = PUT ETag"

# HEAD: the same headers, no body.
curl -s -I -o "$T/head.h" "$URL/d/f.bin"
expect_eq "$(head -n1 "$T/head.h" | cut -d' ' -f2)" 200 "HEAD status"
expect_eq "$(hdr Content-Length "$T/head.h")" 1000000 "HEAD Content-Length"
expect_eq "$(hdr ETag "$T/head.h")" "$etag" "HEAD ETag"

# One range: 206 with the exact bytes and Content-Range.
check_range() { # RANGE OFFSET LENGTH
	curl -s -D "$T/r.h" -o "$T/r" -H "Range: $1" "$URL/d/f.bin"
	expect_eq "$(head -n1 "$T/r.h" | cut -d' ' -f2)" 206 "status for $1"
	dd if="$T/f.bin" of="$T/want" iflag=skip_bytes,count_bytes skip="$2" \
		count="$3" status=none
	cmp -s "$T/r" "$T/want" || fail "bytes for $1"
	expect_eq "$(hdr Content-Range "$T/r.h")" \
		"bytes $2-$(($2 + $3 - 1))/1000000" "Content-Range for $1"
	expect_eq "$(hdr Content-Length "$T/r.h")" "$3" "Content-Length for $1"
}
check_range "bytes=0-9" 0 10
check_range "bytes=999990-" 999990 10
check_range "bytes=-7" 999993 7
check_range "bytes=500000-500000" 500000 1
check_range "bytes=999000-2000000" 999000 1000
check_range "bytes=-2000000" 0 1000000

# Unsatisfiable: 416 with the size.
curl -s -D "$T/r.h" -o /dev/null -H "Range: bytes=1000000-" "$URL/d/f.bin"
expect_eq "$(head -n1 "$T/r.h" | cut -d' ' -f2)" 416 "range past the end"
expect_eq "$(hdr Content-Range "$T/r.h")" "bytes */1000000" "416 Content-Range"
expect_eq "$(code -H 'Range: bytes=-0' "$URL/d/f.bin")" 416 "empty suffix range"
# Several ranges, or nonsense: the whole file.
expect_eq "$(code -H 'Range: bytes=0-1,5-6' "$URL/d/f.bin")" 200 "two ranges"
expect_eq "$(code -H 'Range: pages=1-2' "$URL/d/f.bin")" 200 "other unit"
expect_eq "$(code -H 'Range: bytes=9-1' "$URL/d/f.bin")" 200 "inverted range"

# If-Range: the range only while the validator is current.
expect_eq "$(code -H 'Range: bytes=0-9' -H "If-Range: $etag" "$URL/d/f.bin")" 206 "If-Range current ETag"
expect_eq "$(code -H 'Range: bytes=0-9' -H 'If-Range: "0000000000000000"' "$URL/d/f.bin")" 200 "If-Range stale ETag"
expect_eq "$(code -H 'Range: bytes=0-9' -H "If-Range: $lm" "$URL/d/f.bin")" 206 "If-Range current date"
expect_eq "$(code -H 'Range: bytes=0-9' -H 'If-Range: Thu, 01 Jan 1998 00:00:00 GMT' "$URL/d/f.bin")" 200 "If-Range old date"

# Conditionals.
expect_eq "$(code -H "If-None-Match: $etag" "$URL/d/f.bin")" 304 "If-None-Match current"
expect_eq "$(code -H "If-None-Match: \"x\", W/$etag" "$URL/d/f.bin")" 304 "If-None-Match weak in a list"
expect_eq "$(code -H 'If-None-Match: "nope"' "$URL/d/f.bin")" 200 "If-None-Match other"
expect_eq "$(code -H 'If-None-Match: *' "$URL/d/f.bin")" 304 "If-None-Match *"
curl -s -D "$T/c.h" -o "$T/c" -H "If-None-Match: $etag" "$URL/d/f.bin"
expect_eq "$(hdr ETag "$T/c.h")" "$etag" "304 carries the ETag"
[ ! -s "$T/c" ] || fail "304 with a body"
expect_eq "$(code -H "If-Modified-Since: $lm" "$URL/d/f.bin")" 304 "If-Modified-Since = Last-Modified"
expect_eq "$(code -H 'If-Modified-Since: Thu, 01 Jan 1998 00:00:00 GMT' "$URL/d/f.bin")" 200 "If-Modified-Since old"
expect_eq "$(code -H 'If-Modified-Since: garbage' "$URL/d/f.bin")" 200 "If-Modified-Since malformed"
# If-None-Match wins over If-Modified-Since.
expect_eq "$(code -H 'If-None-Match: "nope"' -H "If-Modified-Since: $lm" "$URL/d/f.bin")" 200 "INM before IMS"
expect_eq "$(code -H 'If-Match: "nope"' "$URL/d/f.bin")" 412 "If-Match other"
expect_eq "$(code -H "If-Match: $etag" "$URL/d/f.bin")" 200 "If-Match current"
expect_eq "$(code -H 'If-Unmodified-Since: Thu, 01 Jan 1998 00:00:00 GMT' "$URL/d/f.bin")" 412 "If-Unmodified-Since old"

# Replacing the file changes the ETag; the old one no longer matches.
expect_eq "$(code -T "$T/small.txt" "$URL/d/f.bin")" 204 "replace f.bin"
expect_eq "$(code -H "If-None-Match: $etag" "$URL/d/f.bin")" 200 "old ETag after replace"

# Repr-Digest: computed on demand, then kept.
want=$(python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1],"rb").read()).digest()).decode())' "$T/small.txt")
curl -s -D "$T/d.h" -o /dev/null "$URL/d/small.txt"
[ -z "$(hdr Repr-Digest "$T/d.h")" ] || note "Repr-Digest already known (digest computed at upload)"
curl -s -D "$T/d.h" -o /dev/null -H 'Want-Repr-Digest: sha-256=1' "$URL/d/small.txt"
expect_eq "$(hdr Repr-Digest "$T/d.h")" "sha-256=:$want:" "Repr-Digest asked for"
curl -s -D "$T/d.h" -o /dev/null "$URL/d/small.txt"
expect_eq "$(hdr Repr-Digest "$T/d.h")" "sha-256=:$want:" "Repr-Digest once known"
curl -s -D "$T/d.h" -o /dev/null -H 'Range: bytes=0-1' "$URL/d/small.txt"
expect_eq "$(hdr Repr-Digest "$T/d.h")" "sha-256=:$want:" "Repr-Digest of a 206 is the whole file's"

# Missing files, reserved and bad paths.
expect_eq "$(code "$URL/d/nope")" 404 "missing file"
expect_eq "$(code "$URL/d/f.bin/x")" 404 "file as a directory"
expect_eq "$(code --path-as-is "$URL/d/../etc/passwd")" 400 "dot-dot"
expect_eq "$(code "$URL/d/%2e%2e/x")" 400 "encoded dot-dot"
expect_eq "$(code "$URL/.landing/nope")" 404 "unknown endpoint"
expect_eq "$(code -X POST "$URL/d/f.bin")" 405 "POST"
curl -s -D "$T/o.h" -o /dev/null -X OPTIONS "$URL/d/"
grep -qi '^Allow:.*MOVE' "$T/o.h" || fail "OPTIONS Allow"

# An empty file.
: > "$T/empty"
expect_eq "$(code -T "$T/empty" "$URL/d/empty")" 201 "PUT empty"
curl -s -D "$T/e.h" -o "$T/got" "$URL/d/empty"
expect_eq "$(hdr Content-Length "$T/e.h")" 0 "empty Content-Length"
expect_eq "$(code -H 'Range: bytes=0-' "$URL/d/empty")" 416 "range of an empty file"

# A file deleted while it is being sent still arrives whole.
head -c 64000000 /dev/zero > "$T/big"
expect_eq "$(code -T "$T/big" "$URL/d/big")" 201 "PUT big"
curl -s --limit-rate 20M -o "$T/got" "$URL/d/big" &
getter=$!
sleep 0.5
expect_eq "$(code -X DELETE "$URL/d/big")" 204 "DELETE while sending"
wait $getter || fail "GET interrupted by the DELETE"
expect_eq "$(stat -c %s "$T/got")" 64000000 "size of the file sent while deleted"
expect_eq "$(code "$URL/d/big")" 404 "deleted file"
# A clean stop, and nothing from the sanitizers when built with them.
lf_stop || fail "the daemon did not exit cleanly"
if grep -Eq 'Sanitizer|runtime error' "$LOG"; then fail "sanitizer report in the log"; fi
echo ok
