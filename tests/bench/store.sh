#!/usr/bin/env bash
# store.sh - store publishes per second for 4 KiB files (one per
# transaction, and group-committed from many threads) beside the raw SQLite
# single-row commit rate, measured in the same run on the same filesystem,
# in both durability modes. LF_BENCH_QUICK=1 makes the runs short.
# LF_BENCH_DIR picks the filesystem (default: $TMPDIR or /var/tmp).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
progs=${LF_BENCH_PROGS:-$here/../../build/tests/bench}
bench=$progs/store_bench
if [ ! -x "$bench" ]; then
	echo "store.sh: $bench is missing; run make bench" >&2
	exit 1
fi
base=${LF_BENCH_DIR:-${TMPDIR:-/var/tmp}}
dir=$(mktemp -d "$base/lf-store-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
if [ "${LF_BENCH_QUICK:-0}" = 1 ]; then
	args=(-t 0.3 -r 1 -j 8)
else
	args=(-t 2 -r 3 -j 16)
fi
echo "filesystem: $(df -T "$base" | awk 'NR==2 {print $2 " on " $7}')"
"$bench" -d "$dir" "${args[@]}"
