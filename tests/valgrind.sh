#!/usr/bin/env bash
# valgrind.sh - the daemon under valgrind memcheck through an upload (spliced
# and chunked), a download, listings (HTTP and the mount), a local write, a
# delete and a clean shutdown. Fails on any memory error or definite or
# indirect leak. Library noise is suppressed only where tests/valgrind.supp
# says why.
#
#   tests/valgrind.sh [DAEMON]     (default: $LANDINGFS, else build/landingfs)
#
# Also run by the integration suite as tests/integration/fault_valgrind.sh.
# timeout: 150
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
REAL=${1:-${LANDINGFS:-$src/build/landingfs}}
[ -x "$REAL" ] || { echo "valgrind.sh: no daemon at $REAL" >&2; exit 1; }
if ! command -v valgrind >/dev/null; then
	SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
	{ $SUDO apt-get update -q >/dev/null &&
	  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
		--no-install-recommends valgrind >/dev/null; } ||
		{ echo "valgrind.sh: valgrind is missing and could not be installed" >&2; exit 1; }
fi

# lib.sh starts "$LANDINGFS": point it at a wrapper that runs the real
# daemon under memcheck.
LANDINGFS=/bin/true
. "$src/tests/integration/lib.sh"
lf_setup
# On a failure, a daemon stuck on its own mount would hang the cleanup's
# unmount: kill it first and abort its FUSE connection (fusectl).
vg_cleanup() {
	local rc=$? dev
	set +e
	if [ "$rc" -ne 0 ] && [ -n "$LF_PID" ]; then
		kill -KILL "$LF_PID" 2>/dev/null || true
		sleep 1
		dev=$(awk -v m="$MNT" '$5 == m {print $3}' /proc/self/mountinfo | head -n 1)
		if [ -n "$dev" ]; then
			[ -e "/sys/fs/fuse/connections/${dev#*:}" ] ||
				mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null || true
			echo 1 >"/sys/fs/fuse/connections/${dev#*:}/abort" 2>/dev/null || true
		fi
	fi
	(exit $rc)
	lf_cleanup
}
trap vg_cleanup EXIT
VGLOG=$T/valgrind.log
cat >"$T/vg-landingfs" <<WRAP
#!/bin/sh
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \\
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \\
	--track-origins=yes --num-callers=30 --sim-hints=fuse-compatible \\
	--suppressions="$src/tests/valgrind.supp" --log-file="$VGLOG" \\
	"$REAL" "\$@"
WRAP
chmod +x "$T/vg-landingfs"
LANDINGFS=$T/vg-landingfs

# Valgrind starts slowly: allow 60 s for the mount and the port.
lf_start_slow() {
	local i
	# publish=store: under valgrind, the daemon's rename on its own mount
	# (publish=mount) deadlocks, as valgrind holds its one big lock through
	# that syscall and no FUSE worker can run to answer it.
	"$LANDINGFS" -f --store "$STORE" -o "listen=127.0.0.1:$PORT,publish=store" \
		"$MNT" >>"$LOG" 2>&1 &
	LF_PID=$!
	for i in $(seq 1 600); do
		kill -0 "$LF_PID" 2>/dev/null || { cat "$LOG" "$VGLOG" >&2; fail "the daemon exited during start-up"; }
		if mountpoint -q "$MNT" && curl -s -m 5 -o /dev/null "$URL/.landing/health"; then
			return 0
		fi
		sleep 0.1
	done
	fail "the daemon under valgrind was not up after 60 s"
}
lf_start_slow

head -c $((1 << 20)) /dev/urandom >"$T/one"
code=$(curl -s -m 60 -o /dev/null -w '%{http_code}' -T "$T/one" "$URL/vg/one")
[ "$code" = 201 ] || fail "upload: $code"
code=$(curl -s -m 60 -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
	-T - "$URL/vg/chunked" <"$T/one")
[ "$code" = 201 ] || fail "chunked upload: $code"
code=$(curl -s -m 60 -o /dev/null -w '%{http_code}' -T "$T/one" \
	-H "Content-Digest: sha-256=:$(openssl dgst -sha256 -binary "$T/one" | base64):" \
	"$URL/vg/one")
[[ "$code" =~ ^20[14]$ ]] || fail "replace with a digest: $code"
curl -sf -m 60 -o "$T/got" "$URL/vg/one" || fail "download"
cmp -s "$T/one" "$T/got" || fail "download differs"
curl -sf -m 60 -o /dev/null "$URL/vg/" || fail "HTML listing"
curl -sf -m 60 -o /dev/null -H 'Accept: application/json' "$URL/vg/" || fail "JSON listing"
curl -s -m 60 -o /dev/null "$URL/vg/../x" || true
ls -la "$MNT/vg" >/dev/null
cmp -s "$T/one" "$MNT/vg/chunked" || fail "the chunked upload differs on the mount"
echo local >"$MNT/vg/local"
getfattr -d "$MNT/vg/one" >/dev/null 2>&1 || true
code=$(curl -s -m 60 -o /dev/null -w '%{http_code}' -X DELETE "$URL/vg/chunked")
[[ "$code" =~ ^20[04]$ ]] || fail "delete: $code"

rc=0
lf_stop || rc=$?
if [ "$rc" -ne 0 ] || grep -q 'ERROR SUMMARY: [1-9]' "$VGLOG"; then
	cat "$VGLOG" >&2
	fail "valgrind: the daemon exited with $rc (99: memory errors or leaks)"
fi
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost' "$VGLOG" >&2 || true
echo "valgrind: no memory errors, no leaks"
