#!/usr/bin/env bash
# net_concurrent.sh - concurrent PUTs to one path end as exactly one
# client's complete body, whichever way they publish (renamed through the
# mount, or in the store directly with -o publish=store); and many paths at
# once all land.
# timeout: 90
. "$(dirname "$0")/lib.sh"

lf_setup
N=8
for i in $(seq 1 $N); do head -c $((4 << 20)) /dev/urandom > "$T/b$i"; sha "$T/b$i"; done > "$T/shas"

race() { # race PATH: N clients PUT N different bodies to PATH at once
	local pids=() i
	for i in $(seq 1 $N); do
		curl -sS -o /dev/null -w '%{http_code}\n' -T "$T/b$i" "$URL/$1" >> "$T/codes" &
		pids+=($!)
	done
	wait "${pids[@]}"
}

for mode in mount store; do
	lf_start -o publish=$mode
	: > "$T/codes"
	for round in 1 2 3; do
		race "race/$mode/same"
		got=$(sha "$MNT/race/$mode/same")
		grep -qx "$got" "$T/shas" || fail "$mode round $round: the file is no client's body"
	done
	expect_eq "$(grep -c '^20[14]$' "$T/codes")" $((3 * N)) "$mode: statuses ($(sort "$T/codes" | uniq -c | tr '\n' ' '))"
	expect_eq "$(grep -c '^201$' "$T/codes")" 1 "$mode: exactly one 201"
	# Many paths at once.
	pids=()
	for i in $(seq 1 $N); do
		curl -sS -o /dev/null -T "$T/b$i" "$URL/many/$mode/$i" & pids+=($!)
	done
	wait "${pids[@]}"
	for i in $(seq 1 $N); do
		expect_eq "$(sha "$MNT/many/$mode/$i")" "$(sed -n "${i}p" "$T/shas")" "$mode: many/$i"
	done
	[ -z "$(ls -A "$MNT/.landing/incoming" 2>/dev/null)" ] || fail "$mode: incoming leftovers"
	lf_stop || fail "daemon exit status"
done
