#!/usr/bin/env bash
# ops_threads.sh - the daemon's threads and helper processes carry their
# role in their names (top -H, ps -L, perf): eight splice workers by
# default and three with workers=3, eight publish helpers, one guardian.
# timeout: 60
. "$(dirname "$0")/lib.sh"

# count_threads NAME: threads of the daemon named NAME.
count_threads() {
	grep -lxF -- "$1" /proc/"$LF_PID"/task/*/comm 2>/dev/null | wc -l
}

# count_children NAME: child processes of the daemon named NAME.
count_children() {
	pgrep -c -x -P "$LF_PID" -- "$1" || true
}

lf_setup
lf_start
expect_eq "$(count_threads lf-ingest)" 8 "splice workers by default"
for t in lf-frontdoor lf-store-writer lf-notify lf-signals lf-mop-respawn; do
	expect_eq "$(count_threads "$t")" 1 "threads named $t"
done
expect_eq "$(count_children landingfs-mop)" 8 "publish helpers"
expect_eq "$(count_children landingfs-guard)" 1 "connection guardian"
lf_stop

lf_start -o workers=3
expect_eq "$(count_threads lf-ingest)" 3 "splice workers with workers=3"
echo hello > "$T/h"
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$T/h" "$URL/t/h")
expect_eq "$code" 201 "an upload with three workers"
echo "ops_threads: ok"
