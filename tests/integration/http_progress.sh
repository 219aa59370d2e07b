#!/usr/bin/env bash
# timeout: 60
# /.landing/uploads and /.landing/metrics during a slow upload, and after
# it: the upload in flight with its bytes, expected size and rate; then
# counted as completed and listed among the latest arrivals. Also a failed
# upload counted by reason, the request histogram, the stored totals, and
# the reserved prefix refused for PUT.
. "$(dirname "$0")/lib.sh"
lf_setup
lf_start

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
metric() { curl -s "$URL/.landing/metrics" | awk -v k="$1" '$1 == k {print $2}'; }

head -c 2000000 /dev/urandom > "$T/slow.bin"
curl -s -o /dev/null --limit-rate 400k -T "$T/slow.bin" "$URL/slow/file.bin" &
up=$!
LF_EXTRA_CLEANUP="kill $up 2>/dev/null"

# In flight: the path, a growing byte count, the expected size, a rate.
seen=""
for _ in $(seq 1 50); do
	curl -s "$URL/.landing/uploads" > "$T/u.json"
	if python3 - "$T/u.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
u = [x for x in d["uploads"] if x["path"] == "/slow/file.bin"]
sys.exit(0 if u and u[0]["bytes"] > 0 else 1)
PY
	then seen=1; break; fi
	sleep 0.1
done
[ -n "$seen" ] || fail "upload not listed in flight: $(cat "$T/u.json")"
sleep 1.2
curl -s "$URL/.landing/uploads" > "$T/u.json"
python3 - "$T/u.json" <<'PY' || fail "in-flight entry: $(cat "$T/u.json")"
import json, sys
d = json.load(open(sys.argv[1]))
u = [x for x in d["uploads"] if x["path"] == "/slow/file.bin"][0]
assert u["expected"] == 2000000, u
assert 0 < u["bytes"] < 2000000, u
assert 100000 < u["rate"] < 2000000, u          # about 400 KiB/s
assert u["peer"].startswith("127.0.0.1:"), u
assert u["via"] == "splice", u
assert d["totals"]["in_flight"] >= 1, d["totals"]
assert abs(d["now"] - u["started"]) < 30, (d["now"], u["started"])
PY
expect_eq "$(metric landingfs_uploads_in_flight)" 1 "in-flight gauge"
[ ! -e "$MNT/slow/file.bin" ] || fail "file visible before its body is complete"
wait $up || fail "slow upload failed"
LF_EXTRA_CLEANUP=""

# After: completed, a recent arrival, bytes counted.
curl -s "$URL/.landing/uploads" > "$T/u.json"
python3 - "$T/u.json" <<'PY' || fail "after: $(cat "$T/u.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert not [x for x in d["uploads"] if x["path"] == "/slow/file.bin"], d["uploads"]
r = d["recent"][0]
assert r["path"] == "/slow/file.bin" and r["size"] == 2000000 and r["status"] == 201, r
assert d["totals"]["completed"] >= 1 and d["totals"]["files"] >= 1, d["totals"]
assert d["totals"]["bytes"] >= 2000000, d["totals"]
PY
expect_eq "$(metric landingfs_uploads_in_flight)" 0 "in-flight gauge after"
expect_eq "$(metric 'landingfs_uploads_completed_total{via="splice"}')" 1 "completed"
expect_eq "$(metric 'landingfs_upload_received_bytes_total{via="splice"}')" 2000000 "bytes by splice"
expect_eq "$(metric 'landingfs_stored_files{origin="net"}')" 1 "stored files"
expect_eq "$(metric 'landingfs_stored_bytes{origin="net"}')" 2000000 "stored bytes"

# A failed upload (the client gives up mid-body) is counted by reason.
curl -s -o /dev/null --limit-rate 100k --max-time 1 -T "$T/slow.bin" "$URL/slow/cut.bin" || true
for _ in $(seq 1 50); do
	[ "$(metric landingfs_uploads_in_flight)" = 0 ] && break
	sleep 0.1
done
curl -s "$URL/.landing/metrics" > "$T/m"
grep -q '^landingfs_uploads_failed_total{reason="[a-z_0-9]*"} 1$' "$T/m" ||
	fail "no failure counted: $(grep failed "$T/m")"
[ ! -e "$MNT/slow/cut.bin" ] || fail "cut upload visible"

# The histogram counts requests, and its buckets add up.
python3 - "$T/m" <<'PY' || fail "histogram"
import sys
v = {}
for l in open(sys.argv[1]):
    if l.startswith("#") or not l.strip(): continue
    k, n = l.rsplit(" ", 1); v[k] = float(n)
b = [(k, n) for k, n in v.items() if k.startswith("landingfs_http_request_duration_seconds_bucket")]
inf = v['landingfs_http_request_duration_seconds_bucket{le="+Inf"}']
assert inf == v["landingfs_http_request_duration_seconds_count"] and inf >= 5, inf
ns = [n for k, n in b]
assert ns == sorted(ns), "buckets not cumulative"
assert v['landingfs_http_requests_total{method="PUT",code="201"}'] == 1
assert v['landingfs_http_requests_total{method="GET",code="200"}'] >= 3
PY
grep -q '^# TYPE landingfs_http_request_duration_seconds histogram' "$T/m" || fail "histogram TYPE"

# The reserved prefix is never stored.
echo x > "$T/x"
expect_eq "$(code -T "$T/x" "$URL/.landing/x")" 400 "PUT under /.landing/"
expect_eq "$(code -T "$T/x" "$URL/.landing")" 400 "PUT /.landing"
expect_eq "$(code -X DELETE "$URL/.landing/metrics")" 405 "DELETE /.landing/metrics"
[ ! -e "$MNT/.landing/x" ] || fail "/.landing/x stored"
curl -s "$URL/?format=json" | grep -q '"name":".landing"' && fail "/.landing listed"
# JSON and text types.
curl -s -D "$T/h" -o /dev/null "$URL/.landing/uploads"
grep -qi '^Content-Type: application/json' "$T/h" || fail "uploads type"
curl -s -D "$T/h" -o /dev/null "$URL/.landing/metrics"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/h" || fail "metrics type"
# A clean stop, and nothing from the sanitizers when built with them.
lf_stop || fail "the daemon did not exit cleanly"
if grep -Eq 'Sanitizer|runtime error' "$LOG"; then fail "sanitizer report in the log"; fi
echo ok
