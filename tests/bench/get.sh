#!/usr/bin/env bash
# get.sh - one large GET (2 GiB) from landingfs beside nginx serving the
# very same blob file, in the same run, on loopback: throughput and the
# server's CPU seconds per GiB, medians of interleaved repeats. Both send
# with sendfile(2); curl writes to /dev/null. The last line counts the
# daemon's system calls during one GET (strace -f -c), to show the body
# going out by sendfile and not by read/write.
# LF_BENCH_QUICK=1: 256 MiB and fewer repeats, to check the script works.
set -euo pipefail
: "${LANDINGFS:?LANDINGFS must name the daemon binary}"
. "$(dirname "$0")/lib.sh"

if [ "${LF_BENCH_QUICK:-0}" = 1 ]; then
	size_mib=256 repeats=3
else
	size_mib=2048 repeats=7
fi
dir=${LF_BENCH_DIR:-${TMPDIR:-/var/tmp}}
command -v nginx >/dev/null || { echo "get.sh: nginx is missing (make deps-bench)" >&2; exit 1; }

T=$(mktemp -d "$dir/lf-bench-get.XXXXXX")
MNT=$T/mnt STORE=$T/store
mkdir -p "$MNT" "$T/www" "$T/nginx"
LPORT=$(free_port)
NPORT=$(free_port)
LF_PID="" NGINX_PID=""
cleanup() {
	set +e
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
	if [ -n "$LF_PID" ]; then
		fusermount3 -u "$MNT" 2>/dev/null || kill "$LF_PID" 2>/dev/null
		for _ in $(seq 1 100); do kill -0 "$LF_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$LF_PID" 2>/dev/null
		wait "$LF_PID" 2>/dev/null
	fi
	mountpoint -q "$MNT" && fusermount3 -uz "$MNT"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$LANDINGFS" -f --store "$STORE" -o "listen=127.0.0.1:$LPORT" "$MNT" \
	> "$T/daemon.log" 2>&1 &
LF_PID=$!
for _ in $(seq 1 100); do
	curl -s -o /dev/null "http://127.0.0.1:$LPORT/.landing/health" && break
	sleep 0.1
done

# The file, uploaded once; nginx serves the blob it landed in.
head -c $((size_mib << 20)) /dev/urandom > "$T/src"
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$T/src" "http://127.0.0.1:$LPORT/big")
[ "$code" = 201 ] || { echo "get.sh: PUT gave $code" >&2; exit 1; }
rm -f "$T/src"
blob=$(find "$STORE" -type f -size +$((size_mib - 1))M | head -n1)
[ -n "$blob" ] || { echo "get.sh: blob not found" >&2; exit 1; }
ln -s "$blob" "$T/www/big"

nginx_conf <<EOF
	sendfile on;
	tcp_nopush on;
	server {
		listen 127.0.0.1:$NPORT;
		root $T/www;
	}
EOF
nginx -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" -p "$T/nginx" &
NGINX_PID=$!
for _ in $(seq 1 100); do
	curl -s -o /dev/null "http://127.0.0.1:$NPORT/big" -r 0-0 && break
	sleep 0.1
done

hz=$(getconf CLK_TCK)

# get NAME PORT PID: one GET; prints "bytes_per_s cpu_s_per_gib".
get() {
	local c0 c1 speed size
	c0=$(cpu_ticks "$3")
	read -r speed size < <(curl -s -o /dev/null \
		-w '%{speed_download} %{size_download}\n' "http://127.0.0.1:$2/big")
	c1=$(cpu_ticks "$3")
	[ "$size" = $((size_mib << 20)) ] || { echo "get.sh: $1 sent $size bytes" >&2; exit 1; }
	echo "$speed $(( c1 - c0 ))"
}

# Warm up both (page cache, and the host handing memory back).
get landingfs "$LPORT" "$LF_PID" > /dev/null
get nginx "$NPORT" "$NGINX_PID" > /dev/null

: > "$T/lf" ; : > "$T/ng"
for _ in $(seq 1 "$repeats"); do
	get landingfs "$LPORT" "$LF_PID" >> "$T/lf"
	get nginx "$NPORT" "$NGINX_PID" >> "$T/ng"
done

summary() { # FILE NAME
	python3 - "$1" "$2" "$size_mib" "$hz" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
name, mib, hz = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
gbs = statistics.median(float(r[0]) for r in rows) / 1e9
cpu = statistics.median(int(r[1]) / hz / (mib / 1024) for r in rows)
print(f"{name:<10} {gbs:8.2f} GB/s   {cpu:6.3f} CPU-s/GiB   ({len(rows)} runs)")
PY
}
echo "GET of a $size_mib MiB file over loopback, median of $repeats interleaved runs"
echo "server     throughput     server CPU"
summary "$T/lf" landingfs
summary "$T/ng" nginx

if command -v strace >/dev/null; then
	timeout 120 strace -f -c -o "$T/strace" -p "$LF_PID" 2>/dev/null &
	st=$!
	sleep 0.5
	curl -s -o /dev/null "http://127.0.0.1:$LPORT/big"
	sleep 0.2
	kill -INT "$st" 2>/dev/null
	wait "$st" 2>/dev/null || true
	echo "landingfs system calls during one GET (strace -f -c):"
	awk '$NF ~ /^(sendfile|read|pread64|write|writev|mmap|poll|epoll_wait)$/ {
		printf "  %-10s %s calls\n", $NF, $4}' "$T/strace"
fi
