#!/usr/bin/env bash
# net_strace.sh - the body moves by splice: the daemon runs under
# strace -f (read, readv, recvfrom, recvmsg, splice on every thread, fds
# annotated), takes a 1 GiB Content-Length upload and a 256 MiB chunked
# one, and the trace shows the bodies spliced from the TCP socket while the
# read/recv calls on TCP sockets returned only request heads and chunk
# framing (no body byte for the Content-Length body).
# timeout: 150
. "$(dirname "$0")/lib.sh"

command -v strace > /dev/null || fail "strace is not installed"
lf_setup
REAL=$LANDINGFS
cat > "$T/traced" <<EOS
#!/bin/sh
# LeakSanitizer cannot run under ptrace (sanitizer builds).
ASAN_OPTIONS=\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}detect_leaks=0 exec strace -f -qq -yy -e signal=none -e trace=read,readv,recvfrom,recvmsg,splice -o "$T/trace" "$REAL" "\$@"
EOS
chmod +x "$T/traced"
LANDINGFS=$T/traced
lf_start

GIB=$((1 << 30))
head -c $((256 << 20)) /dev/urandom > "$T/part"
for i in 1 2 3 4; do cat "$T/part"; done > "$T/big"

l0=$(wc -l < "$T/trace")
expect_eq "$(curl -sS -o /dev/null -w '%{http_code}' -T "$T/big" "$URL/s/big")" 201 "1 GiB upload"
l1=$(wc -l < "$T/trace")
expect_eq "$(curl -sS -o /dev/null -w '%{http_code}' -T - "$URL/s/chunked" < "$T/part")" 201 "256 MiB chunked upload"
l2=$(wc -l < "$T/trace")

# sum FROM TO: per call kind, bytes returned on TCP sockets in trace lines
# FROM..TO: splice (from a socket), recv (read/recv that consumed), peek.
sum() {
	sed -n "$(($1 + 1)),$2p" "$T/trace" | python3 -c '
import re, sys
tot = {"splice": 0, "recv": 0, "peek": 0}
calls = {"splice": 0, "recv": 0, "peek": 0}
pending = {}
for l in sys.stdin:
    # Join calls that strace split across threads.
    u = re.match(r"(\d+)\s+(.*) <unfinished \.\.\.>$", l)
    if u:
        pending[u.group(1)] = u.group(1) + " " + u.group(2)
        continue
    r = re.match(r"(\d+)\s+<\.\.\. \w+ resumed>(.*)$", l)
    if r:
        l = pending.pop(r.group(1), r.group(1) + " ?(") + r.group(2)
    m = re.match(r"\d+\s+(\w+)\((\d+)<([^>]*)>(.*)\)\s+=\s+(-?\d+)", l)
    if not m or not m.group(3).startswith("TCP"):
        continue
    call, rest, ret = m.group(1), m.group(4), int(m.group(5))
    if ret <= 0:
        continue
    k = "splice" if call == "splice" else ("peek" if "MSG_PEEK" in rest else "recv")
    tot[k] += ret
    calls[k] += 1
print("%d %d %d %d %d %d" % (tot["splice"], tot["recv"], tot["peek"],
                             calls["splice"], calls["recv"], calls["peek"]))
'
}
read -r sp rv pk nsp nrv npk < <(sum "$l0" "$l1")
note "1 GiB Content-Length: spliced $sp bytes in $nsp calls; recv consumed $rv bytes in $nrv calls; peeked $pk bytes in $npk calls"
[ "$sp" -eq "$GIB" ] || fail "spliced $sp bytes from the socket, body is $GIB"
[ "$rv" -lt 4096 ] || fail "read/recv returned $rv bytes: more than the request head"
[ "$pk" -lt 4096 ] || fail "peeks returned $pk bytes: more than the request head"
read -r sp rv pk nsp nrv npk < <(sum "$l1" "$l2")
note "256 MiB chunked: spliced $sp bytes in $nsp calls; recv consumed $rv framing bytes in $nrv calls; peeked $pk bytes in $npk calls"
[ "$sp" -eq $((256 << 20)) ] || fail "chunked: spliced $sp bytes, body is $((256 << 20))"
# Framing is a few bytes per chunk; the payload is never read.
[ "$rv" -lt $(( (256 << 20) / 1000 )) ] || fail "chunked: read/recv returned $rv bytes"
# Every byte the file holds came by splice.
expect_eq "$(sha "$MNT/s/big")" "$(sha "$T/big")" "1 GiB body"
expect_eq "$(sha "$MNT/s/chunked")" "$(sha "$T/part")" "chunked body"
# The per-call summary, as strace -c would count it (all threads).
sed -n "$((l0 + 1)),${l2}p" "$T/trace" | awk '{ sub(/\(.*/, "", $2); n[$2]++ } END { for (k in n) printf "# %-9s %d calls\n", k, n[k] }' >&2
lf_stop || fail "daemon exit status"
