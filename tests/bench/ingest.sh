#!/usr/bin/env bash
# ingest.sh - PUT ingest, side by side in one run, on loopback:
#   1. one large PUT (2 GiB) with curl: throughput and the receiver's CPU
#      seconds per GiB, for (a) recv_plain, a read()/write() receiver with
#      a 1 MiB buffer (the "current method" of the 2006 proposal),
#      (b) recv_splice, a bare socket -> pipe -> file receiver (the limit
#      of this path), landingfs (with and without sha-256 verification,
#      beside sha256sum over the same bytes from the page cache), and
#      (c) nginx-light with dav, default and client_body_buffer_size 1m;
#      every receiver writes to the same filesystem;
#   2. throughput against body size, 64 KiB to 2 GiB (landingfs beside
#      recv_splice; small bodies as many PUTs on one keep-alive connection);
#   3. 4 KiB PUTs per second over keep-alive, 1 and 8 connections, beside
#      nginx, with CPU per PUT; and the per-file cost of publishing through
#      the mount (so that inotify sees uploads) against publishing in the
#      store only (-o publish=store).
# Medians of interleaved repeats; a warm-up upload first.
# LF_BENCH_QUICK=1: 256 MiB, fewer repeats and shorter runs.
set -euo pipefail
: "${LANDINGFS:?LANDINGFS must name the daemon binary}"
. "$(dirname "$0")/lib.sh"
: "${LF_BENCH_PROGS:?LF_BENCH_PROGS must name the bench programs}"

if [ "${LF_BENCH_QUICK:-0}" = 1 ]; then
	size_mib=256 repeats=3 big_repeats=3 rate_secs=2
	sizes="65536 1048576 16777216 268435456"
else
	size_mib=2048 repeats=5 big_repeats=9 rate_secs=5
	sizes="65536 1048576 16777216 268435456 2147483648"
fi
dir=${LF_BENCH_DIR:-${TMPDIR:-/var/tmp}}
command -v nginx > /dev/null || { echo "ingest.sh: nginx is missing (make deps-bench)" >&2; exit 1; }
for p in recv_plain recv_splice putrate; do
	[ -x "$LF_BENCH_PROGS/$p" ] || { echo "ingest.sh: $LF_BENCH_PROGS/$p missing" >&2; exit 1; }
done

T=$(mktemp -d "$dir/lf-bench-ingest.XXXXXX")
mkdir -p "$T/mnt" "$T/mnt2" "$T/plain" "$T/splice" "$T/www1" "$T/www2" "$T/nginx"
LPORT=$(free_port); L2PORT=$(free_port); PPORT=$(free_port)
SPORT=$(free_port); N1PORT=$(free_port); N2PORT=$(free_port)
PIDS=() LF_PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for m in "$T/mnt" "$T/mnt2"; do fusermount3 -u "$m" 2>/dev/null; done
	for p in "${LF_PIDS[@]}" "${PIDS[@]}"; do
		for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for m in "$T/mnt" "$T/mnt2"; do mountpoint -q "$m" && fusermount3 -uz "$m"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$LANDINGFS" -f --store "$T/store" -o "listen=127.0.0.1:$LPORT" "$T/mnt" > "$T/daemon.log" 2>&1 &
LF_PIDS+=($!); LPID=$!
"$LANDINGFS" -f --store "$T/store2" -o "listen=127.0.0.1:$L2PORT,publish=store" "$T/mnt2" > "$T/daemon2.log" 2>&1 &
LF_PIDS+=($!); L2PID=$!
"$LF_BENCH_PROGS/recv_plain" "$PPORT" "$T/plain" & PIDS+=($!); PPID_=$!
"$LF_BENCH_PROGS/recv_splice" "$SPORT" "$T/splice" & PIDS+=($!); SPID=$!
nginx_conf <<EOF
	server {
		listen 127.0.0.1:$N1PORT;
		root $T/www1;
		location / { dav_methods PUT; create_full_put_path on; client_max_body_size 0; }
	}
	server {
		listen 127.0.0.1:$N2PORT;
		root $T/www2;
		client_body_buffer_size 1m;
		location / { dav_methods PUT; create_full_put_path on; client_max_body_size 0; }
	}
EOF
nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" 2> "$T/nginx/start.err" & PIDS+=($!); NPID=$!
for port in $LPORT $L2PORT $PPORT $SPORT $N1PORT $N2PORT; do
	for _ in $(seq 1 100); do
		ss -Htln "sport = :$port" | grep -q . && break
		sleep 0.1
	done
	ss -Htln "sport = :$port" | grep -q . || { echo "ingest.sh: nothing listens on $port" >&2; cat "$T"/*.log "$T/nginx/start.err" >&2; exit 1; }
done

hz=$(getconf CLK_TCK)

head -c $((size_mib << 20)) /dev/urandom > "$T/src"
cat "$T/src" > /dev/null
gib=$(echo "$size_mib / 1024" | bc -l)

# warm_memory: write and free as much memory as one body needs, just before
# a timed PUT. This VM gives freed memory back to its host within seconds,
# and the first writer to touch such memory pays for faulting it back in:
# without this, whichever receiver happens to follow a freeing step (its
# own replace, or the previous receiver's) looks several times cheaper.
warm_memory() {
	dd if=/dev/zero of=/dev/shm/lf-bench-warm bs=1M count="$size_mib" status=none
	rm -f /dev/shm/lf-bench-warm
}

# put_once NAME PID URL [CURL ARGS]: one PUT of $T/src; appends
# "GB/s CPU-s/GiB" to $T/r.NAME.
put_once() {
	local name=$1 pid=$2 url=$3 c0 c1 out code t
	shift 3
	sync
	warm_memory
	c0=$(cpu_ticks "$pid")
	out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$@" -T "$T/src" "$url")
	c1=$(cpu_ticks "$pid")
	code=${out% *} t=${out#* }
	[[ "$code" =~ ^20[14]$ ]] || { echo "ingest.sh: $name: PUT gave $code" >&2; exit 1; }
	echo "$(echo "$size_mib * 1048576 / $t / 1000000000" | bc -l) $(echo "($c1 - $c0) / $hz / $gib" | bc -l)" >> "$T/r.$name"
}

names=(plain splice landingfs landingfs_sha nginx nginx_1m)
declare -A pid_of url_of label_of
pid_of=([plain]=$PPID_ [splice]=$SPID [landingfs]=$LPID [landingfs_sha]=$LPID [nginx]=$NPID [nginx_1m]=$NPID)
url_of=([plain]="http://127.0.0.1:$PPORT/x" [splice]="http://127.0.0.1:$SPORT/x"
	[landingfs]="http://127.0.0.1:$LPORT/big" [landingfs_sha]="http://127.0.0.1:$LPORT/big"
	[nginx]="http://127.0.0.1:$N1PORT/big" [nginx_1m]="http://127.0.0.1:$N2PORT/big")
label_of=([plain]="recv_plain (read/write, 1 MiB buffer)" [splice]="recv_splice (bare splice)"
	[landingfs]="landingfs" [landingfs_sha]="landingfs + sha-256 (Content-Digest)"
	[nginx]="nginx dav, default" [nginx_1m]="nginx dav, client_body_buffer_size 1m")
sha_b64=$(openssl dgst -sha256 -binary "$T/src" | base64 -w0)

# Warm-up (the host gives memory back when idle), then interleaved repeats.
for n in "${names[@]}"; do
	args=()
	[ "$n" = landingfs_sha ] && args=(-H "Content-Digest: sha-256=:$sha_b64:")
	put_once "$n" "${pid_of[$n]}" "${url_of[$n]}" "${args[@]}"
	rm -f "$T/r.$n"
done
for r in $(seq 1 "$big_repeats"); do
	for n in "${names[@]}"; do
		args=()
		[ "$n" = landingfs_sha ] && args=(-H "Content-Digest: sha-256=:$sha_b64:")
		put_once "$n" "${pid_of[$n]}" "${url_of[$n]}" "${args[@]}"
	done
done
# sha256sum over the same bytes from the page cache.
for r in $(seq 1 "$repeats"); do
	/usr/bin/time -f '%U %S' sha256sum "$T/src" 2>&1 > /dev/null | awk -v g="$gib" '{ print ($1 + $2) / g }'
done > "$T/r.sha256sum"

# Single large PUTs swing severalfold on this kind of VM (see warm_memory),
# so each row also shows the range of its CPU figures.
printf '\n-- one %d MiB PUT with curl (median of %d, interleaved)\n' "$size_mib" "$big_repeats"
printf '%-42s %8s %11s %15s\n' receiver GB/s CPU-s/GiB "CPU range"
declare -A tput cpu
for n in "${names[@]}"; do
	tput[$n]=$(cut -d' ' -f1 "$T/r.$n" | median)
	cpu[$n]=$(cut -d' ' -f2 "$T/r.$n" | median)
	printf '%-42s %8.2f %11.3f %15s\n' "${label_of[$n]}" "${tput[$n]}" "${cpu[$n]}" \
		"$(cut -d' ' -f2 "$T/r.$n" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f-%.3f", lo, hi }')"
done
printf '%-42s %8s %11.3f\n' "sha256sum of the same bytes (page cache)" - "$(median < "$T/r.sha256sum")"
printf 'landingfs vs recv_splice: CPU %.2fx (target <= 1.15x), throughput %.0f%% (target >= 90%%)\n' \
	"$(echo "${cpu[landingfs]} / ${cpu[splice]}" | bc -l)" "$(echo "100 * ${tput[landingfs]} / ${tput[splice]}" | bc -l)"
printf 'landingfs vs nginx default: CPU %.2fx (target <= 0.5x); vs nginx 1m: CPU %.2fx (target <= 1x), throughput %.2fx (target > 1x)\n' \
	"$(echo "${cpu[landingfs]} / ${cpu[nginx]}" | bc -l)" "$(echo "${cpu[landingfs]} / ${cpu[nginx_1m]}" | bc -l)" \
	"$(echo "${tput[landingfs]} / ${tput[nginx_1m]}" | bc -l)"
printf 'sha-256 verification: +%.3f CPU-s/GiB (sha256sum needs %.3f)\n' \
	"$(echo "${cpu[landingfs_sha]} - ${cpu[landingfs]}" | bc -l)" "$(median < "$T/r.sha256sum")"
rm -f "$T/src"

# -- throughput against body size
# Bodies under 256 MiB go as a run of PUTs on one keep-alive connection
# (up to 256 of them, 256 MiB in all); the time is the sum of curl's
# per-transfer times (%{time_total}: request sent to answer read), so that
# curl's own start-up, a few ms, does not count against small bodies.
printf '\n-- throughput against body size (GB/s, median of %d; smaller bodies as a run of PUTs on one connection, summed per-transfer times)\n' "$repeats"
printf '%12s %10s %12s\n' size landingfs recv_splice
for s in $sizes; do
	head -c "$s" /dev/urandom > "$T/body"
	count=$(( (256 << 20) / s )); [ "$count" -lt 1 ] && count=1; [ "$count" -gt 256 ] && count=256
	for r in $(seq 1 "$repeats"); do
		for target in landingfs splice; do
			port=$LPORT; [ "$target" = splice ] && port=$SPORT
			args=()
			for i in $(seq 1 "$count"); do args+=(-o /dev/null -T "$T/body" "http://127.0.0.1:$port/sz/$i"); done
			sync
			[ "$s" -ge $((256 << 20)) ] && warm_memory
			t=$(curl -s -w '%{time_total}\n' "${args[@]}" | awk '{ t += $1 } END { print t }')
			echo "$count * $s / $t / 1000000000" | bc -l >> "$T/s.$target"
		done
	done
	for target in landingfs splice; do
		median < "$T/s.$target" > "$T/m.$target.$s"
		rm -f "$T/s.$target"
	done
	printf '%12s %10.2f %12.2f\n' "$(numfmt --to=iec "$s")" "$(cat "$T/m.landingfs.$s")" "$(cat "$T/m.splice.$s")"
	rm -f "$T/body"
done
flat=$(for s in $sizes; do [ "$s" -ge 1048576 ] && cat "$T/m.landingfs.$s"; done | sort -g | awk '{ v[NR] = $1 } END { printf "%.0f", 100 * v[1] / v[NR] }')
printf 'landingfs from 1 MiB up: slowest size at %s%% of the fastest (target: within 15%%, i.e. >= 85%%)\n' "$flat"

# -- small PUTs per second
printf '\n-- 4 KiB PUTs per second over keep-alive (%d s each, median of %d)\n' "$rate_secs" "$repeats"
printf '%-40s %6s %10s %12s\n' server conns PUTs/s CPU-us/PUT
# pin PID CPUS: sets the CPU affinity of a process, all its threads and
# its child processes (landingfs's helpers).
pin() {
	local p
	for p in "$1" $(pgrep -P "$1"); do taskset -a -p -c "$2" "$p" > /dev/null; done
}
rate_run() { # NAME PID PORT CONNS [CPUS]
	local c0 c1 out puts cpus=${5:-}
	c0=$(cpu_ticks "$2")
	out=$(${cpus:+taskset -c "$cpus"} "$LF_BENCH_PROGS/putrate" -P "$3" -c "$4" -d "$rate_secs" -p "/rate$4")
	c1=$(cpu_ticks "$2")
	puts=$(echo "$out" | sed -n 's/.* puts=\([0-9]*\).*/\1/p')
	echo "$out" | grep -q 'errors=0 ' || echo "ingest.sh: $1: $out" >&2
	echo "$(echo "$out" | sed -n 's/.*rate=\([0-9.]*\).*/\1/p') $(echo "($c1 - $c0) * 1000000 / $hz / $puts" | bc -l)"
}
# rate_table TAG [CPUS]: the 4 KiB rates of the three servers with 1 and 8
# connections (the client on CPUS when given), medians into $T/TAG.*.
rate_table() {
	local conns r n l
	for conns in 1 8; do
		for r in $(seq 1 "$repeats"); do
			rate_run landingfs "$LPID" "$LPORT" "$conns" "${2:-}" >> "$T/$1.landingfs.$conns"
			rate_run landingfs_store "$L2PID" "$L2PORT" "$conns" "${2:-}" >> "$T/$1.landingfs_store.$conns"
			rate_run nginx "$NPID" "$N2PORT" "$conns" "${2:-}" >> "$T/$1.nginx.$conns"
		done
		for n in landingfs landingfs_store nginx; do
			case $n in
			landingfs) l="landingfs (publish through the mount)" ;;
			landingfs_store) l="landingfs -o publish=store" ;;
			nginx) l="nginx dav" ;;
			esac
			printf '%-40s %6d %10.0f %12.1f\n' "$l" "$conns" \
				"$(cut -d' ' -f1 "$T/$1.$n.$conns" | median)" "$(cut -d' ' -f2 "$T/$1.$n.$conns" | median)"
		done
	done
}
rate_table q
m=$(cut -d' ' -f1 "$T/q.landingfs.1" | median)
s=$(cut -d' ' -f1 "$T/q.landingfs_store.1" | median)
printf 'publishing through the mount (rename, inotify-visible) costs %.0f us per file over publishing in the store (1 connection)\n' \
	"$(echo "1000000 / $m - 1000000 / $s" | bc -l)"
printf 'landingfs vs nginx, 8 connections: %.2fx the PUTs/s (target >= 1.5x)\n' \
	"$(echo "$(cut -d' ' -f1 "$T/q.landingfs.8" | median) / $(cut -d' ' -f1 "$T/q.nginx.8" | median)" | bc -l)"

# The same with every server process and thread and the client on one CPU:
# on this VM a wake-up across CPUs is costly (a pipe round trip between two
# threads, measured by hand: 1.8 us on one CPU, 40 us across two), and a
# publish through the mount is a chain of such wake-ups.
printf '\n-- 4 KiB PUTs per second, servers and client pinned to CPU 0 (%d s each, median of %d)\n' "$rate_secs" "$repeats"
printf '%-40s %6s %10s %12s\n' server conns PUTs/s CPU-us/PUT
pin "$LPID" 0; pin "$L2PID" 0; pin "$NPID" 0
rate_table p 0
pin "$LPID" 0-$(($(nproc) - 1)); pin "$L2PID" 0-$(($(nproc) - 1)); pin "$NPID" 0-$(($(nproc) - 1))
