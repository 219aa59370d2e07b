#!/usr/bin/env bash
# net_idle.sh - 500 idle connections and 100 trickling uploads do not keep
# other clients from uploading: a 64 MiB upload and small ones succeed
# meanwhile, at speed, and the idle connections are still served.
# timeout: 90
. "$(dirname "$0")/lib.sh"

CLIENT="python3 $(dirname "$0")/net_client.py"
lf_setup
ulimit -n 8192 2>/dev/null || true
lf_start -o min_rate=0,max_uploads=200
head -c $((64 << 20)) /dev/urandom > "$T/big"

$CLIENT "$PORT" hold 500 100 14 "$T/ready" > "$T/hold" &
H=$!
LF_EXTRA_CLEANUP="kill $H 2>/dev/null"
for _ in $(seq 1 100); do [ -e "$T/ready" ] && break; sleep 0.1; done
[ -e "$T/ready" ] || fail "the idle connections did not connect"
sleep 1
n=$(ss -Htn state established "( sport = :$PORT )" | wc -l)
[ "$n" -ge 600 ] || fail "only $n connections established"

start=$(date +%s.%N)
expect_eq "$(curl -sS -m 20 -o /dev/null -w '%{http_code}' -T "$T/big" "$URL/idle/big")" 201 "upload among idle connections"
end=$(date +%s.%N)
note "64 MiB among 600 idle or trickling connections: $(echo "$end - $start" | bc) s"
expect_eq "$(sha "$MNT/idle/big")" "$(sha "$T/big")" "upload among idle connections"
for i in 1 2 3 4 5; do
	echo "$i" | curl -sS -m 5 -o /dev/null -w '%{http_code}\n' -T - "$URL/idle/small$i"
done > "$T/codes"
expect_eq "$(grep -c 201 "$T/codes")" 5 "small uploads among idle connections"
wait "$H"
grep -qx 'open=600' "$T/hold" || fail "idle or trickling connections dropped early: $(cat "$T/hold")"
lf_stop || fail "daemon exit status"
