#!/usr/bin/env bash
# abuse_paths.sh - path traversal in every spelling: 400, nothing published,
# nothing written outside the store, the daemon stays up.
# timeout: 90
#
# The requests are sent byte for byte by tests/progs/rawhttp.c (curl would
# normalise them), as PUTs on a fresh connection (the splice path), as PUTs
# on a connection that already carried a GET (handed over to
# libmicrohttpd, the copying path), and as GETs.
. "$(dirname "$0")/lib.sh"

: "${LF_TEST_PROGS:?LF_TEST_PROGS must name the test programs}"
RAW=$LF_TEST_PROGS/rawhttp

lf_setup
lf_start

long=$(printf 'n%.0s' $(seq 1 256))          # one name of 256 bytes
longpath=$(for _ in $(seq 1 22); do printf '%s/' "$(printf 'p%.0s' $(seq 1 200))"; done)x

# Targets that must be refused with 400 (raw bytes, rawhttp escapes).
targets=(
	'/../escape'
	'/a/../../escape'
	'/a/b/../../../escape'
	'/..'
	'/%2e%2e/escape'
	'/%2E%2E/escape'
	'/.%2e/escape'
	'/%2e./escape'
	'/a/%2e%2e/%2e%2e/escape'
	'/a%2fb'
	'/a%2F..%2Fescape'
	'/%2f%2e%2e%2fescape'
	'/..\\escape'
	'/a\\..\\..\\escape'
	'/..%5cescape'
	'/..%5Cescape'
	'/.'
	'/./a'
	'/a/./b'
	'//a'
	'/a//b'
	'/a%00b'
	'/a\0b'
	'/a%0ab'
	'/a%'
	'/a%2'
	'/a%zz'
	"/$long"
	"/$longpath"
	'http://127.0.0.1/../escape'
	'http://127.0.0.1/escape'
	'escape'
	'*'
	'/.landing/escape'
	'/%2elanding/escape'
)

n=0
closed_after_get=0
for t in "${targets[@]}"; do
	n=$((n + 1))
	out=$("$RAW" -w 3000 127.0.0.1 "$PORT" \
		"PUT $t HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello")
	s=$(http_status "$out")
	[ "$s" = 400 ] || fail "PUT '${t:0:80}': got $s, want 400: $(printf '%s' "$out" | head -c 200)"
	# The same on a connection handed over to libmicrohttpd by a GET.
	out=$("$RAW" -w 3000 127.0.0.1 "$PORT" \
		"GET /.landing/health HTTP/1.1\r\nHost: x\r\n\r\n" @sleep=100 \
		"PUT $t HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello")
	codes=$(printf '%s' "$out" | grep -aoE '^HTTP/1\.[01] [0-9]{3}' | cut -d' ' -f2 | tr '\n' ' ')
	case "$codes" in
	"200 400 ") ;;
	"200 ")
		# The server may end the connection after the GET; then the
		# copying path is not reachable this way.
		printf '%s' "$out" | grep -aqi '^Connection: close' ||
			fail "GET then PUT '${t:0:80}' on one connection: the PUT got no answer"
		closed_after_get=1 ;;
	*) fail "GET then PUT '${t:0:80}' on one connection: got '$codes', want '200 400'" ;;
	esac
	out=$("$RAW" -w 3000 127.0.0.1 "$PORT" "GET $t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	s=$(http_status "$out")
	case "$t" in
	/.landing/escape | /%2elanding/escape) [[ "$s" =~ ^(400|404)$ ]] ||
		fail "GET '$t': got $s, want 400 or 404" ;;
	*) [ "$s" = 400 ] || fail "GET '${t:0:80}': got $s, want 400" ;;
	esac
	if printf '%s' "$out" | grep -aq 'root:x:0:0'; then
		fail "GET '${t:0:80}' served /etc/passwd"
	fi
done
lf_alive "after $n traversal targets"
[ "$closed_after_get" = 0 ] ||
	note "GET answers closed the connection: PUTs on a handed-over connection were not reached"

# Nothing was published, nothing escaped the store.
found=$(find "$MNT" -mindepth 1 -not -path "$MNT/.landing" -not -path "$MNT/.landing/incoming" | head -5)
[ -z "$found" ] || fail "refused uploads left entries on the mount: $found"
for f in "$T/escape" "$T/store/escape" "$(dirname "$T")/escape" /escape \
	"$MNT/../escape"; do
	[ ! -e "$f" ] || fail "an upload escaped the store: $f exists"
done

# A good path still works afterwards, and fsck is clean.
out=$(curl -s -o /dev/null -w '%{http_code}' -T /etc/hostname "$URL/ok/file")
[[ "$out" =~ ^20[14]$ ]] || fail "a good upload after the abuse got $out"
cmp -s /etc/hostname "$MNT/ok/file" || fail "the good upload is not on the mount"
lf_stop || fail "the daemon did not stop cleanly"
if [ -n "${LANDINGCTL:-}" ]; then
	"$LANDINGCTL" fsck "$STORE" >"$T/fsck.out" 2>&1 ||
		{ cat "$T/fsck.out" >&2; fail "fsck after the abuse"; }
fi
echo "abuse_paths: $n targets refused on both paths"
