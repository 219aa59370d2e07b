#!/usr/bin/env bash
# load.sh - load on one daemon (tests/bench/loadgen.c):
#   1. 64 concurrent keep-alive clients PUT mixed sizes for 60 s: requests,
#      bytes, errors (must be 0), p50/p99 latency, the daemon's peak RSS.
#   2. 1,000 concurrent slow uploads (2 KiB/s each, above the minimum rate)
#      with the upload limit raised to let them all in: the daemon's RSS
#      beside its idle RSS, per connection.
# LF_BENCH_QUICK=1: 10 s and 200 slow uploads (to check the script works).
set -euo pipefail
: "${LANDINGFS:?LANDINGFS must name the daemon}"
: "${LF_BENCH_PROGS:?LF_BENCH_PROGS must name the bench programs}"
src=$(cd "$(dirname "$0")/../.." && pwd)
LOADGEN=$LF_BENCH_PROGS/loadgen
QUICK=${LF_BENCH_QUICK:-0}
SECS=60 SLOW=1000 SLOW_SECS=30
[ "$QUICK" = 1 ] && SECS=10 SLOW=200 SLOW_SECS=10

. "$src/tests/integration/lib.sh"
lf_setup

kib() { awk -v k="$1" '$1 == k ":" {print $2}' "/proc/$LF_PID/status"; }

# -- 1. 64 clients
lf_start
sleep 1
base=$(kib VmRSS)
"$LOADGEN" -P "$PORT" -c 64 -d "$SECS" -M $((8 << 20)) -v >"$T/load.out" 2>"$T/load.err"
peak=$(kib VmHWM)
line=$(cat "$T/load.out")
errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
printf '%-34s %s\n' "64 clients, ${SECS} s, mixed sizes:" "$line"
printf '%-34s idle %d KiB, peak (VmHWM) %d KiB\n' "daemon RSS:" "$base" "$peak"
lf_stop

# -- 2. slow uploads
lf_start -o "max_uploads=$((SLOW + 64)),max_connections=$((SLOW + 64))"
sleep 1
base=$(kib VmRSS)
"$LOADGEN" -P "$PORT" -S "$SLOW" -d "$SLOW_SECS" -r 2048 >"$T/slow.out" 2>&1 &
lg=$!
max=0
while kill -0 "$lg" 2>/dev/null; do
	r=$(kib VmRSS)
	[ "$r" -gt "$max" ] && max=$r
	sleep 0.5
done
wait "$lg" || true
slowline=$(tail -n 1 "$T/slow.out")
held=$(sed -n 's/.* connected=\([0-9]*\).*/\1/p' <<<"$slowline")
per=$(( held > 0 ? (max - base) * 1024 / held : 0 ))
printf '%-34s %s\n' "$SLOW slow uploads, 2 KiB/s:" "$slowline"
printf '%-34s idle %d KiB, max %d KiB while held, %d bytes per connection\n' \
	"daemon RSS:" "$base" "$max" "$per"
lf_stop

[ "${errors:-1}" = 0 ] || { cat "$T/load.err" >&2; fail "64 clients: $errors errors"; }
