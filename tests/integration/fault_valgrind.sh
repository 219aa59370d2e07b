#!/usr/bin/env bash
# fault_valgrind.sh - tests/valgrind.sh in the integration suite: the daemon
# under valgrind memcheck through uploads, downloads, listings, a local
# write, a delete and a shutdown; any memory error or leak fails.
# timeout: 170
#
# A daemon built with AddressSanitizer (make check-asan) cannot run under
# valgrind; there ASan and LSan do this job, and the script says so and
# passes.
set -euo pipefail
: "${LANDINGFS:?LANDINGFS must name the daemon binary}"
if grep -q __asan_init "$LANDINGFS" 2>/dev/null; then
	echo "fault_valgrind: the daemon is built with ASan; memcheck skipped (ASan checks this build)"
	exit 0
fi
exec bash "$(dirname "$0")/../valgrind.sh" "$LANDINGFS"
