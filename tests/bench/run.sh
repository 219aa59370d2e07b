#!/usr/bin/env bash
# run.sh - make bench: runs every tests/bench/*.sh but itself and lib.sh
# in turn. Each prints its own table, figures beside a baseline measured in
# the same run.
# LF_BENCH_QUICK=1 shrinks sizes and durations (to check the scripts work).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo "landingfs bench on $(uname -n): $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB," \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), kernel $(uname -r)"
rc=0
for b in "$here"/*.sh; do
	case "$(basename "$b")" in run.sh | lib.sh) continue ;; esac
	[ -n "${LF_BENCH:-}" ] && [[ "$(basename "$b")" != *"$LF_BENCH"* ]] && continue
	echo
	echo "== $(basename "$b" .sh)"
	bash "$b" || { echo "bench $(basename "$b") failed" >&2; rc=1; }
done
exit $rc
