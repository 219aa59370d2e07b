#!/usr/bin/env bash
# net_disconnect.sh - an upload that does not complete leaves nothing: a
# client gone mid-body (Content-Length and chunked), an idle body, a body
# slower than min_rate (408), a daemon killed mid-body. No file appears, no
# blob is added, and no staging file stays open (its space is reclaimed).
# timeout: 90
. "$(dirname "$0")/lib.sh"

CLIENT="python3 $(dirname "$0")/net_client.py"
lf_setup
lf_start -o idle_timeout=2,min_rate=200K,min_rate_grace=1

blobs() { find "$STORE/blobs" -type f | wc -l; }
# staged: staging blobs the daemon holds open (O_TMPFILE shows as deleted).
staged() { ls -l "/proc/$LF_PID/fd" 2>/dev/null | grep "$STORE" | grep -c '(deleted)' || true; }

echo seed > "$T/seed"
curl -sS -o /dev/null -T "$T/seed" "$URL/d/seed"
b0=$(blobs)

# Gone after 3 of 10 MiB.
$CLIENT "$PORT" partial /d/cut 10485760 3145728
sleep 0.5
[ ! -e "$MNT/d/cut" ] || fail "a cut upload was published"

# Gone in the middle of a chunk.
$CLIENT "$PORT" send 'PUT /d/cut-chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\nabcdef' --wait 0.5 > /dev/null
sleep 0.5
[ ! -e "$MNT/d/cut-chunked" ] || fail "a cut chunked upload was published"
expect_eq "$(blobs)" "$b0" "blobs after disconnects"
expect_eq "$(staged)" 0 "staging files still open after disconnects"

# Idle: the head and some body, then silence: 408 after idle_timeout.
start=$(date +%s)
out=$($CLIENT "$PORT" send 'PUT /d/idle HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nsome bytes' --wait 6)
[[ "$out" == "HTTP/1.1 408 "* ]] || fail "idle body: $(printf '%s' "$out" | head -c 200)"
[ $(( $(date +%s) - start )) -le 5 ] || fail "idle timeout too late"

# Too slow: 1 KiB/s against min_rate=200K after a 1 s grace.
line=$($CLIENT "$PORT" trickle /d/slow 10000000 1024 8)
[[ "$line" == "HTTP/1.1 408 "* ]] || fail "slow body: $line"
sleep 0.5
for f in idle slow; do [ ! -e "$MNT/d/$f" ] || fail "$f was published"; done
expect_eq "$(blobs)" "$b0" "blobs after timeouts"
expect_eq "$(staged)" 0 "staging files still open after timeouts"

# A fast upload still works afterwards on the same daemon.
head -c 5000000 /dev/urandom > "$T/ok"
expect_eq "$(curl -sS -o /dev/null -w '%{http_code}' -T "$T/ok" "$URL/d/ok")" 201 "upload after failures"
expect_eq "$(sha "$MNT/d/ok")" "$(sha "$T/ok")" "upload after failures"
b0=$(blobs)

# Killed in the middle of a body: after a restart nothing is visible, the
# private incoming directory is empty and no blob was added.
$CLIENT "$PORT" trickle /d/crash 10000000 300000 10 > /dev/null &
cp=$!
sleep 1.5
# (The check above sees a staging blob while one is open.)
expect_eq "$(staged)" 1 "staging files open during an upload"
lf_kill
wait $cp || true
lf_start
[ ! -e "$MNT/d/crash" ] || fail "an upload cut by a crash was published"
expect_eq "$(ls -A "$MNT/.landing/incoming" | wc -l)" 0 "incoming after a crash"
expect_eq "$(blobs)" "$b0" "blobs after a crash"
expect_eq "$(sha "$MNT/d/ok")" "$(sha "$T/ok")" "earlier upload after a crash"
lf_stop || fail "daemon exit status"
