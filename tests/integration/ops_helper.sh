#!/usr/bin/env bash
# timeout: 120
# mount.landingfs: called the way mount(8) calls it (SOURCE MOUNTPOINT -o
# OPTIONS, with fstab's _netdev, nofail, x-systemd.* and friends), then
# through mount(8) itself ("mount -t fuse.landingfs" and an fstab line read
# with "mount -T FILE"), with the helper linked as /sbin/mount.fuse.landingfs
# for the test's duration only. The helper returns once the mount is up;
# errors are one line and exit 32 (mount failure) or 1 (usage).
. "$(dirname "$0")/lib.sh"
: "${LF_MOUNT_HELPER:?LF_MOUNT_HELPER must name mount.landingfs}"
HELPER=$LF_MOUNT_HELPER
export LANDINGFS

lf_setup
listen=127.0.0.1:$PORT
[ "${LF_NO_HTTP:-0}" = 1 ] && listen=none
mkdir -p "$STORE"
SBIN_LINK=""
MOUNTED=()

# Unmount what this test mounted and end the daemons it started (found by
# the test's own store paths, killed by pid), whatever happened.
ops_cleanup() {
	local m pid
	for m in "${MOUNTED[@]}"; do
		mountpoint -q "$m" && { umount "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || umount -l "$m"; }
	done
	for pid in $(pgrep -f -- "--store $T/" || true); do
		kill -TERM "$pid" 2>/dev/null
	done
	sleep 0.5
	for pid in $(pgrep -f -- "--store $T/" || true); do
		kill -KILL "$pid" 2>/dev/null
	done
	[ -n "$SBIN_LINK" ] && rm -f "$SBIN_LINK"
}
LF_EXTRA_CLEANUP=ops_cleanup

# daemon_of STORE: the pid of the daemon serving STORE.
daemon_of() {
	pgrep -o -f -- "--store $1 "
}

# unmount_and_wait MNT STORE: umount(8), then the daemon must exit.
unmount_and_wait() {
	local pid
	pid=$(daemon_of "$2")
	[ -n "$pid" ] || fail "no daemon for $2"
	umount "$1" || fail "umount $1"
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "daemon $pid did not exit after umount $1"
}

check_mount() { # MNT STORE
	local line
	mountpoint -q "$1" || fail "$1 is not mounted"
	line=$(findmnt -n -o FSTYPE,SOURCE,OPTIONS -M "$1") || fail "findmnt $1"
	note "mounted: $line"
	[ "$(findmnt -n -o FSTYPE -M "$1")" = fuse.landingfs ] || fail "type: $line"
	[ "$(findmnt -n -o SOURCE -M "$1")" = "$2" ] || fail "source: $line"
}

fstab_opts="rw,defaults,listen=$listen,_netdev,nofail,noauto,user,x-systemd.requires=network-online.target,x-systemd.automount,comment=lab,nosuid,nodev"

# 1. -f (fake): prints the daemon's command line; only landingfs options
# remain; nothing is mounted.
out=$("$HELPER" "$STORE" "$MNT" -f -o "$fstab_opts" 2>&1) || fail "helper -f failed: $out"
note "$out"
grep -qF -- "--store $STORE -o listen=$listen,nosuid,nodev $MNT" <<<"$out" ||
	fail "helper -f printed: $out"
! mountpoint -q "$MNT" || fail "helper -f mounted"

# 2. As mount(8) calls it: returns with the mount up.
MOUNTED+=("$MNT")
"$HELPER" "$STORE" "$MNT" -o "rw,listen=$listen,_netdev,nofail,nosuid,nodev,x-systemd.device-timeout=10" ||
	fail "helper failed"
check_mount "$MNT" "$STORE"
findmnt -n -o OPTIONS -M "$MNT" | grep -q nosuid || fail "nosuid not applied"
findmnt -n -o OPTIONS -M "$MNT" | grep -q nodev || fail "nodev not applied"
echo through-the-mount >"$MNT/hello.txt"
[ "$(cat "$MNT/hello.txt")" = through-the-mount ] || fail "read back"
if [ "$listen" != none ]; then
	curl -sf "$URL/.landing/health" >/dev/null || fail "HTTP not up when the helper returned"
	echo over-http >"$T/up.txt"
	curl -sf -T "$T/up.txt" "$URL/net/up.txt" >/dev/null || fail "PUT failed"
	[ "$(cat "$MNT/net/up.txt")" = over-http ] || fail "upload not in the mount"
fi

# A second mount on the same point fails cleanly.
rc=0
out=$("$HELPER" "$STORE" "$MNT" -o "listen=none" 2>&1) || rc=$?
expect_eq "$rc" 32 "second mount: exit status"
note "second mount: $out"
unmount_and_wait "$MNT" "$STORE"
[ ! -e "$MNT/hello.txt" ] || fail "still mounted after umount"

# ro reaches the daemon (grouped flags as some callers pass them).
"$HELPER" "$STORE" "$MNT" -nvo "ro,listen=none,_netdev,noauto" 2>"$T/ro.err" ||
	{ cat "$T/ro.err" >&2; fail "read-only mount failed"; }
check_mount "$MNT" "$STORE"
findmnt -n -o OPTIONS -M "$MNT" | grep -q '^ro' || fail "not mounted ro"
[ "$(cat "$MNT/hello.txt")" = through-the-mount ] || fail "ro: read"
! touch "$MNT/new" 2>/dev/null || fail "a read-only mount took a write"
grep -qF -- "-o ro,listen=none $MNT" "$T/ro.err" || fail "-v did not print the command: $(cat "$T/ro.err")"
unmount_and_wait "$MNT" "$STORE"

# 3. Errors: one line from the helper, mount(8)'s exit statuses.
rc=0
out=$("$HELPER" "$STORE" "$T/nosuchdir" -o listen=none 2>&1) || rc=$?
expect_eq "$rc" 32 "missing mount point: exit status"
grep -q "does not exist" <<<"$out" || fail "missing mount point said: $out"
expect_eq "$(wc -l <<<"$out")" 1 "missing mount point: lines"
rc=0
out=$("$HELPER" "$T/nostore" "$MNT" -o listen=none 2>&1) || rc=$?
expect_eq "$rc" 32 "missing store: exit status"
grep -q "not a directory" <<<"$out" || fail "missing store said: $out"
rc=0
out=$("$HELPER" "$STORE" "$MNT" -t ext4 2>&1) || rc=$?
expect_eq "$rc" 1 "wrong type: exit status"
rc=0
out=$("$HELPER" "$STORE" 2>&1) || rc=$?
expect_eq "$rc" 1 "missing operand: exit status"
rc=0
out=$("$HELPER" "$STORE" "$MNT" -o listen=none,no_such_option 2>&1) || rc=$?
expect_eq "$rc" 32 "unknown option: exit status"
note "unknown option: $out"
grep -q "no_such_option" <<<"$out" || fail "the daemon's reason is not shown: $out"
grep -q "is not mounted" <<<"$out" || fail "the helper's summary is missing: $out"
! mountpoint -q "$MNT" || fail "mounted despite an unknown option"

# 4. Through mount(8): it looks for /sbin/mount.fuse.landingfs (strace of
# util-linux 2.38 shows /sbin/mount.fuse.landingfs, then /sbin/mount.fuse).
if [ -e /sbin/mount.fuse.landingfs ] || [ -L /sbin/mount.fuse.landingfs ]; then
	note "SKIP mount(8) part: /sbin/mount.fuse.landingfs exists (an installed copy); not replacing it"
	echo "ok"
	exit 0
fi
[ -w /sbin/ ] || { note "SKIP mount(8) part: /sbin is not writable"; echo "ok"; exit 0; }
SBIN_LINK=/sbin/mount.fuse.landingfs
ln -s "$HELPER" "$SBIN_LINK"

mount -t fuse.landingfs "$STORE" "$MNT" -o "listen=$listen,_netdev,nofail" ||
	fail "mount -t fuse.landingfs failed"
check_mount "$MNT" "$STORE"
[ "$(cat "$MNT/hello.txt")" = through-the-mount ] || fail "old file not there"
unmount_and_wait "$MNT" "$STORE"

# An fstab line (paths with spaces escaped as \040), read by mount -T.
S2="$T/my store"
M2="$T/my mount"
mkdir -p "$S2" "$M2"
MOUNTED+=("$M2")
esc() { sed 's/ /\\040/g' <<<"$1"; }
printf '%s %s fuse.landingfs %s 0 0\n' "$(esc "$S2")" "$(esc "$M2")" \
	"listen=$listen,_netdev,nofail,x-systemd.requires=network-online.target,comment=lab,nosuid" \
	>"$T/fstab"
mount -T "$T/fstab" "$M2" || fail "mount -T fstab failed"
check_mount "$M2" "$S2"
echo fstab >"$M2/f.txt"
# mount -a with the same fstab: already mounted, nothing to do.
mount -a -T "$T/fstab" || fail "mount -a on a mounted fstab entry failed"
[ "$(findmnt -n -M "$M2" | wc -l)" = 1 ] || fail "mount -a mounted twice"
unmount_and_wait "$M2" "$S2"
mount -a -T "$T/fstab" || fail "mount -a -T fstab failed"
check_mount "$M2" "$S2"
[ "$(cat "$M2/f.txt")" = fstab ] || fail "f.txt lost across remount"
unmount_and_wait "$M2" "$S2"
rm -f "$SBIN_LINK"
SBIN_LINK=""
echo "ok"
