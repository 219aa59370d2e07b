#!/usr/bin/env bash
# fault_minfree.sh - min_free keeps part of the store's disk free.
# timeout: 120
#
# The store on a 64 MiB tmpfs with min_free=24M: uploads whose announced
# length would eat into the reserve get 507 before their body, with the
# reason; a chunked body is cut with 507 once the reserve is reached, and
# nothing of it stays; the free space never drops below the reserve (give
# or take the last check's step); what was stored is intact, and after a
# DELETE uploads fit again.
. "$(dirname "$0")/lib.sh"

lf_setup
lf_small_store 64m
lf_start -o min_free=24M

put() { # put FILE PATH [CURL ARGS] -> status
	local f=$1 p=$2
	shift 2
	curl -s -m 30 -o "$T/reply" -w '%{http_code}' "$@" -T "$f" "$URL/$p" || true
}
free_mib() { df -B1M --output=avail "$T/fs" | tail -n 1 | tr -d ' '; }

head -c $((8 << 20)) /dev/urandom >"$T/src"
head -c $((16 << 20)) /dev/urandom >"$T/big"

lf_fill_until_507 d "$T/src"
ok=$LF_FILLED refused=$LF_REFUSED
[ "$ok" -ge 2 ] || fail "only $ok uploads before the reserve"
grep -q 'min_free' "$T/reply" || fail "507 reason: $(cat "$T/reply")"
note "$ok uploads of 8 MiB fit; then 507 with $(free_mib) MiB free"
[ "$(free_mib)" -ge 24 ] || fail "only $(free_mib) MiB left free, below min_free"
[ ! -e "$MNT/d/f$refused" ] || fail "the refused upload is visible"

# Chunked: no length to check up front; cut once the reserve is reached.
before=$(free_mib)
s=$(put - d/chunked -H 'Transfer-Encoding: chunked' <"$T/big")
expect_eq "$s" 507 "a chunked upload into the reserve"
grep -q 'min_free' "$T/reply" || fail "chunked 507 reason: $(cat "$T/reply")"
[ ! -e "$MNT/d/chunked" ] || fail "the cut chunked upload is visible"
for _ in $(seq 1 50); do [ "$(free_mib)" -ge "$before" ] && break; sleep 0.1; done
[ "$(free_mib)" -ge "$before" ] || fail "the cut upload's space was not reclaimed: $(free_mib) MiB free, $before before"

cmp -s "$T/src" "$MNT/d/f1" || fail "d/f1 changed"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/d/f1")" 204 "DELETE d/f1"
expect_eq "$(put "$T/src" d/again)" 201 "an upload after a DELETE"
lf_stop || fail "daemon exit status"
echo ok
