#!/usr/bin/env bash
# fs.sh - the landing directory against its backing filesystem:
#   - sequential write, dd bs=1M of 2 GiB (page cache, no fsync), each
#     right after an untimed one of the same size;
#   - sequential read of a warm 2 GiB file (read once before timing);
#   - ls -l of a 100,000-entry directory (second listing of each);
# through the mount with passthrough (the default), through the mount on the
# splice paths (-o no_passthrough), and directly on the filesystem holding
# the store. Each figure is the median of LF_BENCH_REPS runs (default 3),
# the configurations interleaved. For the mount, the daemon's CPU seconds
# per GiB come from /proc/PID/stat (utime + stime).
# LF_BENCH_QUICK=1: 128 MiB files, 5,000 entries, one run.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
export LF_NO_HTTP=1

if [ "${LF_BENCH_QUICK:-0}" = 1 ]; then
	MIB=128 ENTRIES=5000 REPS=1
else
	MIB=2048 ENTRIES=100000 REPS=${LF_BENCH_REPS:-3}
fi
TICK=$(getconf CLK_TCK)

lf_setup
DIRECT=$T/direct
mkdir -p "$DIRECT"

now() { date +%s.%N; }
# cpu PID: the process's user + system time, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# run_dd IF OF PID: copies with dd bs=1M; prints "seconds cpu_ticks" (cpu 0
# without a daemon PID).
run_dd() {
	local t0 t1 c0=0 c1=0
	[ -n "$3" ] && c0=$(cpu "$3")
	t0=$(now)
	dd if="$1" of="$2" bs=1M count="$MIB" status=none
	t1=$(now)
	[ -n "$3" ] && c1=$(cpu "$3")
	echo "$(echo "$t1 - $t0" | bc -l) $((c1 - c0))"
}

# run_ls DIR PID: times ls -l of DIR (after one untimed listing).
run_ls() {
	local t0 t1 c0=0 c1=0
	ls -l "$1" > /dev/null
	[ -n "$2" ] && c0=$(cpu "$2")
	t0=$(now)
	ls -l "$1" > /dev/null
	t1=$(now)
	[ -n "$2" ] && c1=$(cpu "$2")
	echo "$(echo "$t1 - $t0" | bc -l) $((c1 - c0))"
}

# The configurations: "direct", and the mount with each data path.
CONFIGS="direct passthrough no_passthrough"
declare -A DIR PIDOF
DIR[direct]=$DIRECT
declare -A W WC R RC L LC
bench_round() {
	local c=$1 pid=${PIDOF[$1]:-} res
	# Memory freed by the last round may have gone back to the host:
	# fault it in again with an untimed write of the same size.
	dd if=/dev/zero of="${DIR[$c]}/w" bs=1M count="$MIB" status=none
	rm -f "${DIR[$c]}/w"
	res=$(run_dd /dev/zero "${DIR[$c]}/w" "$pid")
	W[$c]+="${res% *} "
	WC[$c]+="${res#* } "
	cat "${DIR[$c]}/r" > /dev/null # warm
	res=$(run_dd "${DIR[$c]}/r" /dev/null "$pid")
	R[$c]+="${res% *} "
	RC[$c]+="${res#* } "
	res=$(run_ls "${DIR[$c]}/many" "$pid")
	L[$c]+="${res% *} "
	LC[$c]+="${res#* } "
}

make_tree() {
	python3 - "$1" "$ENTRIES" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(n):
    with open(os.path.join(d, "entry-%06d" % i), "w") as f:
        f.write("x")
PY
}

note "preparing: ${MIB} MiB files and ${ENTRIES}-entry directories"
dd if=/dev/urandom of="$DIRECT/r" bs=1M count="$MIB" status=none
# The machine hands freed memory back to its host: the first large write
# after idling is slow. Warm up before timing anything.
dd if=/dev/zero of="$DIRECT/warmup" bs=1M count="$MIB" status=none
rm -f "$DIRECT/warmup"
make_tree "$DIRECT/many"
lf_start
mkdir -p "$MNT/shared"
dd if="$DIRECT/r" of="$MNT/shared/r" bs=1M status=none
make_tree "$MNT/shared/many"
lf_stop
# Switching the data path needs a remount: each mount round starts a daemon
# on the same store.
for rep in $(seq 1 "$REPS"); do
	for c in $CONFIGS; do
		if [ "$c" = direct ]; then
			bench_round direct
		else
			lf_start -o "$c"
			PIDOF[$c]=$LF_PID
			DIR[$c]=$MNT/shared
			bench_round "$c"
			rm -f "$MNT/shared/w"
			lf_stop
		fi
	done
	rm -f "$DIRECT/w"
done

gib=$(echo "$MIB / 1024" | bc -l)
rate() { echo "$MIB / $(echo "$1" | tr ' ' '\n' | grep . | median)" | bc -l; }
perg() { echo "$(echo "$1" | tr ' ' '\n' | grep . | median) / $TICK / $gib" | bc -l; }
msec() { echo "$(echo "$1" | tr ' ' '\n' | grep . | median) * 1000" | bc -l; }

printf '%-16s %12s %10s %12s %10s %12s\n' "" "write MB/s" "cpu s/GiB" \
	"read MB/s" "cpu s/GiB" "ls -l ms"
for c in $CONFIGS; do
	wr=$(rate "${W[$c]}")
	rr=$(rate "${R[$c]}")
	if [ "$c" = direct ]; then
		wc="-" rc="-"
	else
		wc=$(printf '%.2f' "$(perg "${WC[$c]}")")
		rc=$(printf '%.2f' "$(perg "${RC[$c]}")")
	fi
	printf '%-16s %12.0f %10s %12.0f %10s %12.0f\n' "$c" \
		"$(echo "$wr * 1.048576" | bc -l)" "$wc" \
		"$(echo "$rr * 1.048576" | bc -l)" "$rc" "$(msec "${L[$c]}")"
done
printf '(%s MiB files, %s entries, median of %s; mount rows: landingfs, '\
'daemon CPU from /proc; ratios vs direct: write %.0f%%/%.0f%%, read '\
'%.0f%%/%.0f%%, ls -l %.1fx/%.1fx)\n' "$MIB" "$ENTRIES" "$REPS" \
	"$(echo "100 * $(rate "${W[passthrough]}") / $(rate "${W[direct]}")" | bc -l)" \
	"$(echo "100 * $(rate "${W[no_passthrough]}") / $(rate "${W[direct]}")" | bc -l)" \
	"$(echo "100 * $(rate "${R[passthrough]}") / $(rate "${R[direct]}")" | bc -l)" \
	"$(echo "100 * $(rate "${R[no_passthrough]}") / $(rate "${R[direct]}")" | bc -l)" \
	"$(echo "$(msec "${L[passthrough]}") / $(msec "${L[direct]}")" | bc -l)" \
	"$(echo "$(msec "${L[no_passthrough]}") / $(msec "${L[direct]}")" | bc -l)"
