#!/usr/bin/env bash
# abuse_framing.sh - malformed requests: each gets a clear 4xx/5xx (or the
# connection closed where that is the right answer), the daemon stays up,
# nothing is published.
# timeout: 150
#
# Request lines and headers, Content-Length and Transfer-Encoding in every
# bad combination, broken chunked framing, bodies cut short, a header
# section over the limit, unknown methods, HTTP/0.9 and HTTP/2 prefaces,
# garbage pipelined after a good request, and a thousand requests on one
# connection. Sent byte for byte by tests/progs/rawhttp.c.
. "$(dirname "$0")/lib.sh"

: "${LF_TEST_PROGS:?LF_TEST_PROGS must name the test programs}"
RAW=$LF_TEST_PROGS/rawhttp

lf_setup
lf_start

# expect NAME WANT PART...: send the parts, then the first response's status
# must match the regex WANT ("none": the server closed or said nothing).
ncases=0
wrong=()
expect() {
	local name=$1 want=$2 out s
	shift 2
	out=$("$RAW" -w 3000 127.0.0.1 "$PORT" "$@")
	s=$(http_status "$out")
	# Every mismatch is collected, so that one run shows them all.
	if ! [[ "$s" =~ ^($want)$ ]]; then
		wrong+=("$name: got $s, want $want: $(printf '%s' "$out" | head -n 1 | tr -d '\r')")
		note "WRONG: ${wrong[-1]}"
	fi
	# Every error carries a one-line reason in its body.
	if [[ "$s" =~ ^[45] ]]; then
		local body=${out#*$'\r\n\r\n'}
		[[ "$body" != $'\n#END'* ]] ||
			wrong+=("$name: $s without a reason in the body")
	fi
	LAST=$out
	ncases=$((ncases + 1))
	lf_alive "$name"
}

# Connection: close, so that each probe ends when its answer is sent.
H='Host: x\r\nConnection: close\r\n'
P='PUT /abuse/f HTTP/1.1\r\n'

# -- request line
expect "no version"            '400|411|505|none' 'PUT /abuse/f\r\n\r\n' @shut
# RFC 9112 lets a server parse the request line on whitespace boundaries.
expect "double spaces"         '400|201'      'PUT  /abuse/lenient1  HTTP/1.1\r\n'"$H"'Content-Length: 1\r\n\r\nx'
expect "extra token"           '400'          'PUT /abuse/f HTTP/1.1 x\r\n'"$H"'Content-Length: 1\r\n\r\nx'
expect "lower-case version"    '400|505'      'PUT /abuse/f http/1.1\r\n'"$H"'Content-Length: 1\r\n\r\nx'
# An unsupported major version: 505 (RFC 9110 15.6.6).
expect "HTTP/9.9"              '400|505'      'PUT /abuse/f HTTP/9.9\r\n'"$H"'Content-Length: 1\r\n\r\nx'
expect "binary request line"   '400|none'     '\x01\x02\x03\xff\xfe garbage\r\n\r\n' @shut
expect "method too long"       '400|405|501|none' "@fill=8000=A" ' /abuse/f HTTP/1.1\r\n'"$H"'\r\n' @shut
expect "unknown method"        '405|501'      'BREW /abuse/f HTTP/1.1\r\n'"$H"'\r\n'
if [[ "$(http_status "$LAST")" = 405 ]]; then
	printf '%s' "$LAST" | grep -aqi '^Allow:' || fail "405 without Allow"
fi
expect "lower-case method"     '400|405|501'  'put /abuse/f HTTP/1.1\r\n'"$H"'Content-Length: 1\r\n\r\nx'
expect "HTTP/0.9"              '400|505|none' 'GET /\r\n' @shut
expect "HTTP/2 preface"        '400|505|none' 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00' @shut
expect "TLS hello on plain"    '400|none'     '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' @shut

# -- headers
expect "no colon"              '400'          "$P$H"'Content-Length 1\r\n\r\nx'
# RFC 9112 5.1: MUST reject whitespace between a field name and the colon.
expect "space before colon"    '400'          "$P$H"'Content-Length : 1\r\n\r\nx'
# A server must reject obs-fold or replace it with a space (RFC 9112 5.2).
expect "obs-fold"              '400|201'      'PUT /abuse/lenient2 HTTP/1.1\r\n'"$H"'X-A: a\r\n b\r\nContent-Length: 1\r\n\r\nx'
expect "NUL in header"         '400'          "$P$H"'X-A: a\0b\r\nContent-Length: 1\r\n\r\nx'
# RFC 9112 3.2: MUST answer 400 to an HTTP/1.1 request without Host.
expect "no Host in 1.1"        '400'          "$P"'Content-Length: 1\r\n\r\nx'
expect "header over the limit" '431|400|none' "$P$H"'X-Big: ' "@fill=20000=a" '\r\nContent-Length: 1\r\n\r\nx' @shut
expect "many headers"          '431|400|none' "$P$H" "@rep=2000=X-Many: 0123456789\r\n" 'Content-Length: 1\r\n\r\nx' @shut
expect "target over the limit" '414|431|400|none' 'PUT /' "@fill=20000=a" ' HTTP/1.1\r\n'"$H"'Content-Length: 1\r\n\r\nx' @shut
expect "head without end"      '400|408|431|none' "$P$H"'Content-Length: 1\r\n' @shut

# -- Content-Length
expect "conflicting lengths"   '400'          "$P$H"'Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'
expect "list of lengths"       '400'          "$P$H"'Content-Length: 5, 6\r\n\r\nhello!'
expect "negative length"       '400'          "$P$H"'Content-Length: -1\r\n\r\nx'
expect "signed length"         '400'          "$P$H"'Content-Length: +1\r\n\r\nx'
expect "hex length"            '400'          "$P$H"'Content-Length: 0x10\r\n\r\nx'
expect "empty length"          '400|411'      "$P$H"'Content-Length: \r\n\r\nx'
expect "huge length"           '400|413'      "$P$H"'Content-Length: 99999999999999999999999999\r\n\r\nx'
expect "2^64 length"           '400|413'      "$P$H"'Content-Length: 18446744073709551616\r\n\r\nx'
expect "over max upload"       '413'          "$P$H"'Content-Length: 68719476737\r\n\r\nx'
expect "no length"             '411'          "$P$H"'\r\n'
expect "CL with TE"            '400'          "$P$H"'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
expect "TE with CL"            '400'          "$P$H"'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
# RFC 9112 6.3: chunked not last: MUST answer 400 and close; 6.1: a coding
# the server does not know: 501. Never 411 (that ignores the header).
expect "TE gzip"               '400|501'      "$P$H"'Transfer-Encoding: gzip\r\n\r\nxx'
expect "TE chunked, gzip"      '400|501'      "$P$H"'Transfer-Encoding: chunked, gzip\r\n\r\n1\r\nx\r\n0\r\n\r\n'
expect "TE identity"           '400|501'      "$P$H"'Transfer-Encoding: identity\r\n\r\nx'
# RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 MUST be treated as faulty
# framing.
expect "TE in HTTP/1.0"        '400|411|none' 'PUT /abuse/f HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n' @shut
expect "Content-Range"         '400'          "$P$H"'Content-Length: 1\r\nContent-Range: bytes 0-0/1\r\n\r\nx'

# -- chunked framing (the head was fine: a 400, or a close, never a 2xx)
C="$P$H"'Transfer-Encoding: chunked\r\n\r\n'
expect "bad chunk size"        '400|none'     "$C"'zz\r\nhello\r\n0\r\n\r\n' @shut
expect "negative chunk size"   '400|none'     "$C"'-5\r\nhello\r\n0\r\n\r\n' @shut
expect "huge chunk size"       '400|413|none' "$C"'FFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n' @shut
expect "chunk size overflow"   '400|413|none' "$C"'10000000000000005\r\nhello\r\n0\r\n\r\n' @shut
expect "chunk size line long"  '400|none'     "$C" "@fill=10000=0" '5\r\nhello\r\n0\r\n\r\n' @shut
expect "missing chunk CRLF"    '400|none'     "$C"'5\r\nhelloXX0\r\n\r\n' @shut
expect "chunk longer than size" '400|none'    "$C"'3\r\nhello\r\n0\r\n\r\n' @shut
expect "no last chunk"         '400|none'     "$C"'5\r\nhello\r\n' @shut
expect "last chunk no CRLF"    '400|none'     "$C"'5\r\nhello\r\n0\r\n' @shut
expect "chunk ext bomb"        '400|none'     "$C"'5;' "@fill=20000=e" '\r\nhello\r\n0\r\n\r\n' @shut

# -- bodies cut short, then the client goes away
expect "short body"            'none|400'     "$P$H"'Content-Length: 100\r\n\r\nonly ten b' @shut
expect "no body at all"        'none|400'     "$P$H"'Content-Length: 100\r\n\r\n' @shut
expect "short 1 MiB body"      'none|400'     "$P$H"'Content-Length: 2097152\r\n\r\n' "@fill=1048576=z" @shut

# Nothing above was published.
sleep 0.5
found=$(find "$MNT" -mindepth 1 -type f -not -name 'lenient*' | head -5)
[ -z "$found" ] || wrong+=("bad requests published files: $found")
rm -f "$MNT/abuse/f"

# -- a good request with garbage pipelined after it: the first is served,
# the garbage refused or the connection closed.
out=$("$RAW" -w 3000 127.0.0.1 "$PORT" \
	'PUT /abuse/pipelined HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' \
	'GARBAGE\x00\xff\r\n\r\nmore garbage\r\n\r\n' @shut)
codes=$(printf '%s' "$out" | grep -aoE '^HTTP/1\.[01] [0-9]{3}' | cut -d' ' -f2 | tr '\n' ' ')
[[ "$codes" =~ ^201\ (400\ )?$ ]] || fail "pipelined garbage: got '$codes', want '201' then '400' or a close"
[ "$(cat "$MNT/abuse/pipelined")" = abc ] || fail "pipelined: the good upload is not intact"
lf_alive "pipelined garbage"

# The same with the garbage after a GET (on libmicrohttpd's side).
out=$("$RAW" -w 3000 127.0.0.1 "$PORT" \
	'GET /abuse/pipelined HTTP/1.1\r\nHost: x\r\n\r\n' 'GARBAGE\r\n\r\n' @shut)
codes=$(printf '%s' "$out" | grep -aoE '^HTTP/1\.[01] [0-9]{3}' | cut -d' ' -f2 | tr '\n' ' ')
[[ "$codes" =~ ^200\ (400\ )?$ ]] || fail "GET then garbage: got '$codes'"
lf_alive "GET then garbage"

# -- a thousand requests on one connection: PUTs (spliced), then
# alternating GET and PUT (handed over to libmicrohttpd after the first GET).
out=$("$RAW" -q 1000 -w 10000 127.0.0.1 "$PORT" \
	'PUT /abuse/many HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nmany')
n=$(printf '%s\n' "$out" | awk '$1 == "#STATUS" && $2 ~ /^20[14]$/ {s += $3} END {print s + 0}')
stopped=$(printf '%s\n' "$out" | grep -c '^#STOPPED' || true)
if [ "$n" -ne 1000 ]; then
	[ "$stopped" = 1 ] && [ "$n" -ge 100 ] ||
		fail "1000 PUTs on one connection: $n succeeded: $out"
	note "the server closed the connection after $n PUTs"
fi
out=$("$RAW" -q 500 -w 10000 127.0.0.1 "$PORT" \
	'GET /abuse/many HTTP/1.1\r\nHost: x\r\n\r\n' \
	'PUT /abuse/many2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nmany2')
n=$(printf '%s\n' "$out" | awk '$1 == "#STATUS" && $2 ~ /^20[014]$/ {s += $3} END {print s + 0}')
bad=$(printf '%s\n' "$out" | awk '$1 == "#STATUS" && $2 !~ /^20[014]$/ {s += $3} END {print s + 0}')
[ "$bad" -eq 0 ] || fail "GET/PUT pairs on one connection: $bad errors: $out"
if [ "$n" -lt 200 ]; then
	# Acceptable only when the server ends the connection after a GET.
	[ "$n" -ge 1 ] && printf '%s\n' "$out" | grep -q '^#STOPPED.*server closed' ||
		fail "GET/PUT pairs on one connection: only $n answered: $out"
	note "GET/PUT pairs: the server closed the connection after the first GET"
else
	[ "$(cat "$MNT/abuse/many2")" = many2 ] || fail "many2: not intact"
fi
[ "$(cat "$MNT/abuse/many")" = many ] || fail "many: not intact"
lf_alive "a thousand requests"

[ "${#wrong[@]}" = 0 ] || {
	printf 'WRONG: %s\n' "${wrong[@]}" >&2
	fail "${#wrong[@]} of $ncases malformed requests got the wrong answer"
}

# Only the good uploads exist; after a clean stop fsck is clean.
extra=$(cd "$MNT" && find . -type f | sort | grep -vxE '\./abuse/(pipelined|many|many2|lenient[12])' || true)
[ -z "$extra" ] || fail "unexpected files: $extra"
lf_stop || fail "the daemon did not stop cleanly"
if [ -n "${LANDINGCTL:-}" ]; then
	"$LANDINGCTL" fsck "$STORE" >"$T/fsck.out" 2>&1 ||
		{ cat "$T/fsck.out" >&2; fail "fsck after the abuse"; }
fi
echo "abuse_framing: $ncases malformed requests refused, the daemon stayed up"
