#!/usr/bin/env bash
# fs_options.sh - mount options: ro (reads work, every change is refused
# with EROFS), durable, timeouts, fsname/subtype as mount(8) shows them,
# -d (debug lines in the log), and systemd's readiness protocol (READY=1
# once mounted, STOPPING=1 at shutdown).
# timeout: 30
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
lf_start -o durable,entry_timeout=2.5,attr_timeout=0.5
grep -q "^$STORE $MNT fuse.landingfs " /proc/mounts ||
	fail "mount table: $(grep " $MNT " /proc/mounts)"
echo keep > "$MNT/f"
mkdir "$MNT/d"
sync "$MNT/f"
lf_stop || fail "daemon exit status"
lf_start -o ro
expect_eq "$(cat "$MNT/f")" keep "read on a read-only mount"
grep " $MNT " /proc/mounts | grep -q "[ ,]ro[ ,]" || fail "not mounted ro"
python3 - "$MNT" <<'PY' || fail "read-only checks"
import errno, os, sys
d = sys.argv[1]
def expect_erofs(fn, what):
    try:
        fn()
    except OSError as e:
        if e.errno != errno.EROFS:
            sys.exit(f"{what}: errno {e.errno}, expected EROFS")
        return
    sys.exit(f"{what}: succeeded on a read-only mount")
expect_erofs(lambda: open(os.path.join(d, "new"), "w"), "create")
expect_erofs(lambda: open(os.path.join(d, "f"), "a"), "open for append")
expect_erofs(lambda: os.unlink(os.path.join(d, "f")), "unlink")
expect_erofs(lambda: os.mkdir(os.path.join(d, "d2")), "mkdir")
expect_erofs(lambda: os.rename(os.path.join(d, "f"), os.path.join(d, "g")), "rename")
expect_erofs(lambda: os.chmod(os.path.join(d, "f"), 0o600), "chmod")
expect_erofs(lambda: os.setxattr(os.path.join(d, "f"), "user.x", b"1"), "setxattr")
PY
lf_stop || fail "daemon exit status"
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "w") as log:
    try:
        while True:
            log.write(s.recv(4096).decode() + "\n")
            log.flush()
    except socket.timeout:
        pass
PY
listener=$!
for _ in $(seq 1 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$T/notify.sock lf_start -d -o fsname=landing-test
grep -q "^landing-test $MNT fuse.landingfs " /proc/mounts || fail "fsname= not shown"
cat "$MNT/f" > /dev/null
grep -q "READY=1" "$T/notify.log" || fail "no READY=1 for systemd"
lf_stop || fail "daemon exit status"
grep -q "debug: fs_op_init" "$LOG" || fail "-d: no debug lines"
for _ in $(seq 1 20); do grep -q STOPPING=1 "$T/notify.log" && break; sleep 0.1; done
grep -q "STOPPING=1" "$T/notify.log" || fail "no STOPPING=1 for systemd"
kill "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
echo "fs_options: ok"
