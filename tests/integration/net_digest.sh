#!/usr/bin/env bash
# net_digest.sh - integrity: Content-Digest and Repr-Digest (RFC 9530,
# sha-256 and sha-512) and Content-MD5 are verified; a mismatch is 400 and
# publishes nothing (not even over an existing file); the sha-256 is
# computed while the body lands when asked (Want-Repr-Digest, or
# -o digest=sha256), answered in Repr-Digest and kept in the index.
# timeout: 60
. "$(dirname "$0")/lib.sh"

lf_setup
lf_start

head -c 3000000 /dev/urandom > "$T/f"
b64() { openssl dgst "-$1" -binary "$T/f" | base64 -w0; }
S256=$(b64 sha256); S512=$(b64 sha512); MD5=$(b64 md5)
BAD=$(echo other | openssl dgst -sha256 -binary | base64 -w0)
BAD512=$(echo other | openssl dgst -sha512 -binary | base64 -w0)

put() { # put WANT PATH CURL_ARGS...
	local want=$1 path=$2 code
	shift 2
	code=$(curl -sS -D "$T/h" -o "$T/body" -w '%{http_code}' -T "$T/f" "$@" "$URL/$path") || true
	expect_eq "$code" "$want" "$path $*"
}

put 201 dg/cd256 -H "Content-Digest: sha-256=:$S256:"
grep -qi "^Repr-Digest: sha-256=:$S256:" "$T/h" || fail "no Repr-Digest after a verified upload"
put 201 dg/cd512 -H "Content-Digest: sha-512=:$S512:"
put 201 dg/both -H "Content-Digest: sha-256=:$S256:, sha-512=:$S512:"
put 201 dg/repr -H "Repr-Digest: sha-256=:$S256:"
put 201 dg/md5 -H "Content-MD5: $MD5"
put 201 dg/unknown-alg -H "Content-Digest: crc32c=:AAAAAA==:, sha-256=:$S256:"

put 400 dg/bad256 -H "Content-Digest: sha-256=:$BAD:"
grep -q 'digest mismatch' "$T/body" || fail "mismatch reason: $(cat "$T/body")"
put 400 dg/bad512 -H "Content-Digest: sha-512=:$BAD512:"
put 400 dg/badrepr -H "Repr-Digest: sha-256=:$BAD:"
put 400 dg/badmd5 -H "Content-MD5: $(echo x | openssl dgst -md5 -binary | base64)"
put 400 dg/half -H "Content-Digest: sha-256=:$S256:, sha-512=:$BAD512:"
for f in bad256 bad512 badrepr badmd5 half; do
	[ ! -e "$MNT/dg/$f" ] || fail "$f published despite a mismatch"
done
# A mismatch over an existing file leaves the old file.
put 400 dg/cd256 -H "Content-Digest: sha-256=:$BAD:"
expect_eq "$(sha "$MNT/dg/cd256")" "$(sha "$T/f")" "old file after a mismatch"
# Chunked bodies are verified too.
code=$(curl -sS -o /dev/null -w '%{http_code}' -T - -H "Content-Digest: sha-256=:$BAD:" "$URL/dg/chunked-bad" < "$T/f") || true
expect_eq "$code" 400 "chunked mismatch"
code=$(curl -sS -o /dev/null -w '%{http_code}' -T - -H "Content-Digest: sha-256=:$S256:" "$URL/dg/chunked-ok" < "$T/f")
expect_eq "$code" 201 "chunked match"

# Want-Repr-Digest: computed during the upload and answered.
put 201 dg/want -H "Want-Repr-Digest: sha-256=10"
grep -qi "^Repr-Digest: sha-256=:$S256:" "$T/h" || fail "Want-Repr-Digest not answered"
# No digest asked: none computed now (it is computed lazily later).
put 201 dg/plain
! grep -qi '^Repr-Digest' "$T/h" || fail "Repr-Digest without being asked"

# The index keeps it: the xattr shows the verified sha-256.
hex=$(sha "$T/f")
getfattr -n user.landing.sha256 --only-values "$MNT/dg/cd256" 2>/dev/null | grep -q "$hex" ||
	fail "user.landing.sha256 of dg/cd256"

# -o digest=sha256: every upload hashed while it lands.
lf_stop
lf_start -o digest=sha256
put 201 dg/always
grep -qi "^Repr-Digest: sha-256=:$S256:" "$T/h" || fail "digest=sha256: no Repr-Digest"
lf_stop || fail "daemon exit status"
