#!/usr/bin/env bash
# timeout: 60
# HTTPS on its own listener with a certificate made here: upload, download,
# a range, and the metrics counting TLS bytes apart from the plain paths.
. "$(dirname "$0")/lib.sh"
lf_setup

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T/key.pem" -out "$T/cert.pem" -days 1 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" 2>/dev/null || fail "openssl req"
chmod 600 "$T/key.pem"
TPORT=$(free_port)
[ "$TPORT" != "$PORT" ] || TPORT=$(free_port)
TURL=https://127.0.0.1:$TPORT
lf_start -o "tls_listen=127.0.0.1:$TPORT,tls_cert=$T/cert.pem,tls_key=$T/key.pem"
S=(--cacert "$T/cert.pem")

head -c 3000000 /dev/urandom > "$T/f"
expect_eq "$(code "${S[@]}" "$TURL/.landing/health")" 200 "health over TLS"
expect_eq "$(code "$TURL/.landing/health")" 000 "untrusted certificate accepted"
expect_eq "$(code "${S[@]}" -T "$T/f" "$TURL/tls/f")" 201 "PUT over TLS"
expect_eq "$(code "${S[@]}" -T "$T/f" "$TURL/tls/f")" 204 "PUT over TLS again"
curl -s "${S[@]}" -o "$T/got" "$TURL/tls/f"
expect_eq "$(sha "$T/got")" "$(sha "$T/f")" "GET over TLS"
expect_eq "$(sha "$MNT/tls/f")" "$(sha "$T/f")" "TLS upload on the mount"
curl -s "${S[@]}" -o "$T/got" "$URL/tls/f"
expect_eq "$(sha "$T/got")" "$(sha "$T/f")" "GET over plain HTTP"
curl -s "${S[@]}" -o "$T/r" -H 'Range: bytes=100-199' "$TURL/tls/f"
dd if="$T/f" iflag=skip_bytes,count_bytes skip=100 count=100 status=none |
	cmp -s - "$T/r" || fail "range over TLS"
# Chunked upload over TLS.
curl -s "${S[@]}" -o /dev/null -T - "$TURL/tls/chunked" < "$T/f" || fail "chunked PUT over TLS"
expect_eq "$(sha "$MNT/tls/chunked")" "$(sha "$T/f")" "chunked TLS upload"
# The plain port does not speak TLS, and the TLS port does not speak plain.
expect_eq "$(code "$URL/tls/f")" 200 "plain port"
expect_eq "$(code --max-time 5 "http://127.0.0.1:$TPORT/tls/f")" 000 "plain HTTP to the TLS port"

# One plain upload, to tell the counters apart.
expect_eq "$(code -T "$T/f" "$URL/plain/f")" 201 "plain PUT"
curl -s "${S[@]}" -o "$T/m" "$TURL/.landing/metrics"
tls_bytes=$(awk '/^landingfs_upload_received_bytes_total\{via="tls"\}/ {print $2}' "$T/m")
tls_done=$(awk '/^landingfs_uploads_completed_total\{via="tls"\}/ {print $2}' "$T/m")
splice_bytes=$(awk '/^landingfs_upload_received_bytes_total\{via="splice"\}/ {print $2}' "$T/m")
expect_eq "$tls_bytes" 9000000 "TLS bytes received"
expect_eq "$tls_done" 3 "TLS uploads completed"
expect_eq "$splice_bytes" 3000000 "spliced bytes (the plain PUT only)"
# A clean stop, and nothing from the sanitizers when built with them.
lf_stop || fail "the daemon did not exit cleanly"
if grep -Eq 'Sanitizer|runtime error' "$LOG"; then fail "sanitizer report in the log"; fi
echo ok
