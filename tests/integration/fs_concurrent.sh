#!/usr/bin/env bash
# fs_concurrent.sh - eight writers at once, each to its own file, through
# both data paths (passthrough and splice); every file reads back intact.
# timeout: 90
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
for i in 1 2 3 4 5 6 7 8; do
	head -c $((3 * 1024 * 1024 + i * 4099)) /dev/urandom > "$T/src$i"
done
for mode in passthrough no_passthrough; do
	lf_start -o "$mode"
	mkdir "$MNT/$mode"
	pids=()
	for i in 1 2 3 4 5 6 7 8; do
		# Small and odd-sized writes interleave the requests.
		dd if="$T/src$i" of="$MNT/$mode/f$i" bs=$((61 * 1024 + i)) \
			status=none &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || fail "$mode: a writer failed"
	done
	for i in 1 2 3 4 5 6 7 8; do
		expect_eq "$(sha "$MNT/$mode/f$i")" "$(sha "$T/src$i")" "$mode: f$i"
		expect_eq "$(stat -c %s "$MNT/$mode/f$i")" "$(stat -c %s "$T/src$i")" "$mode: size of f$i"
	done
	lf_stop || fail "$mode: daemon exit status"
done
echo "fs_concurrent: ok"
