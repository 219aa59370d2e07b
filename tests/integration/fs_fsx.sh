#!/usr/bin/env bash
# fs_fsx.sh - random operations (tests/progs/fsx.c: fixed seeds, thousands
# of writes, reads, truncates, renames, unlinks while open, mkdirs, fsyncs)
# checked against an in-memory model, through both data paths, then the
# same files checked again after a remount.
# timeout: 120
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
: "${LF_TEST_PROGS:?LF_TEST_PROGS must name the test programs}"
lf_setup
seed=1
for mode in passthrough no_passthrough; do
	lf_start -o "$mode"
	for f in 4 8; do
		mkdir "$MNT/run$seed"
		"$LF_TEST_PROGS/fsx" -s "$seed" -n 6000 -f "$f" "$MNT/run$seed" ||
			fail "fsx seed $seed ($mode, $f files)"
		(cd "$MNT/run$seed" && find . -type f -exec sha256sum {} + | sort) > "$T/sums$seed"
		seed=$((seed + 1))
	done
	lf_stop || fail "daemon exit status"
done
lf_start
for s in $(seq 1 $((seed - 1))); do
	(cd "$MNT/run$s" && find . -type f -exec sha256sum {} + | sort) > "$T/after$s"
	cmp -s "$T/sums$s" "$T/after$s" || fail "run$s differs after remount"
done
lf_stop || fail "daemon exit status"
echo "fs_fsx: ok"
