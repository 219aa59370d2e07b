#!/usr/bin/env bash
# fs_privs.sh - set-user-ID and set-group-ID bits are cleared as on a local
# filesystem when another user writes or truncates the file, and on chown;
# set-group-ID without group execute stays. Both data paths: with
# passthrough the kernel leaves this to the daemon (FUSE_HANDLE_KILLPRIV_V2,
# which also spares a security.capability round trip per write(2): checked
# in the request trace).
# timeout: 60
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
chmod 755 "$T"
as_user() { setpriv --reuid=1000 --regid=1000 --clear-groups "$@"; }
# mode_soon FILE MODE WHAT: the mode shows within a second (the kernel's
# cached attributes are refreshed by the notifier).
mode_soon() {
	for _ in $(seq 1 20); do
		[ "$(stat -c %a "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	fail "$3: mode $(stat -c %a "$1"), expected $2"
}
for mode in passthrough no_passthrough; do
	lf_start -o "allow_other,$mode"
	d=$MNT/$mode
	mkdir "$d"
	chmod 777 "$d"
	for f in suid sgid sgid-noexec trunc chown; do echo data > "$d/$f"; done
	chmod 4777 "$d/suid" "$d/trunc" "$d/chown"
	chmod 2777 "$d/sgid"
	chmod 2767 "$d/sgid-noexec"
	as_user sh -c "echo more >> '$d/suid'" || fail "$mode: user write to suid"
	mode_soon "$d/suid" 777 "$mode: set-user-ID after another user's write"
	as_user sh -c "echo more >> '$d/sgid'" || fail "$mode: user write to sgid"
	mode_soon "$d/sgid" 777 "$mode: set-group-ID after another user's write"
	as_user sh -c "echo more >> '$d/sgid-noexec'" || fail "$mode: user write to sgid-noexec"
	sleep 0.2
	expect_eq "$(stat -c %a "$d/sgid-noexec")" 2767 "$mode: set-group-ID without group execute"
	as_user truncate -s 2 "$d/trunc" || fail "$mode: user truncate"
	mode_soon "$d/trunc" 777 "$mode: set-user-ID after another user's truncate"
	chown 1000 "$d/chown"
	mode_soon "$d/chown" 777 "$mode: set-user-ID after chown"
	expect_eq "$(cat "$d/suid")" "data
more" "$mode: contents"
	lf_stop || fail "$mode: daemon exit status"
done
# With passthrough, writes do not ask the daemon for security.capability.
lf_start -d -o debug
dd if=/dev/zero of="$MNT/nosec" bs=1M count=32 status=none
lf_stop || fail "daemon exit status"
n=$(grep -c "opcode: GETXATTR" "$LOG" || true)
[ "$n" -le 2 ] || fail "$n GETXATTR requests for 32 writes under passthrough"
echo "fs_privs: ok"
