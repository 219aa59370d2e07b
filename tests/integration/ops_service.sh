#!/usr/bin/env bash
# timeout: 90
# landingfs@.service without systemd: the unit's own ExecStart line (with
# the environment the unit sets) runs under a NOTIFY_SOCKET this test
# listens on. READY=1 must come only once the mount (and the HTTP listener
# unless LF_NO_HTTP=1) is up; SIGTERM (systemctl stop) must unmount and exit
# 0; after a crash (SIGKILL) the unit's ExecStopPost lines must clear the
# dead mount so that the restart (ExecStart again) mounts and serves the
# files.
. "$(dirname "$0")/lib.sh"

lf_setup
UNIT_IN=$LF_SRC/mount-helpers/landingfs@.service.in
[ -f "$UNIT_IN" ] || fail "no $UNIT_IN"
unit=$T/landingfs@test.service
sed "s|@SBINDIR@|$(dirname "$LANDINGFS")|g" "$UNIT_IN" >"$unit"
[ "$(basename "$LANDINGFS")" = landingfs ] || fail "LANDINGFS must be named landingfs"

# unit_cmd KEY [N]: the command line of the Nth (default first) KEY= with
# the unit's variables expanded as systemd does for ${VAR} (one word) and
# $VAR (split).
STORE_U=$STORE
listen=127.0.0.1:$PORT
[ "${LF_NO_HTTP:-0}" = 1 ] && listen=none
OPTIONS_U="-o listen=$listen"
unit_cmd() {
	local line
	line=$(sed -n "s/^$1=//p" "$unit" | sed -n "${2:-1}p")
	[ -n "$line" ] || fail "the unit has no $1="
	line=${line#-}
	line=${line//\$\{STORE\}/$STORE_U}
	line=${line//\$\{MOUNTPOINT\}/$MNT}
	line=${line//\$OPTIONS/$OPTIONS_U}
	[[ $line != *'$'* ]] || fail "unexpanded variable in $1: $line"
	echo "$line"
}
start_cmd=$(unit_cmd ExecStart)
note "ExecStart: $start_cmd"
# ExecStopPost: every line in order; fails when the last one does (the
# '-' prefix makes systemd ignore each failure).
stoppost() {
	local i cmd rc=0
	for i in $(seq 1 "$(grep -c '^ExecStopPost=' "$unit")"); do
		cmd=$(unit_cmd ExecStopPost "$i")
		rc=0
		# shellcheck disable=SC2086
		$cmd || rc=$?
	done
	return $rc
}
expect_eq "$(unit_cmd ExecStopPost 1)" "$(dirname "$LANDINGFS")/landingctl abort $MNT" "first ExecStopPost"

# The notify socket: records each datagram, and at READY=1 whether the
# mount and the listener were up at that moment.
NOTIFY=$T/notify.sock
python3 - "$NOTIFY" "$MNT" "$PORT" "$listen" >"$T/notify.log" 2>&1 <<'EOF' &
import os, socket, sys
path, mnt, port, listen = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(80)
while True:
    try:
        msg = s.recv(4096).decode()
    except socket.timeout:
        break
    line = msg.replace("\n", " ").strip()
    if "READY=1" in msg:
        up = os.path.ismount(mnt)
        http = "off"
        if listen != "none":
            c = socket.socket()
            http = "up" if c.connect_ex(("127.0.0.1", int(port))) == 0 else "down"
            c.close()
        line += " mounted=%s http=%s" % (up, http)
    print(line, flush=True)
EOF
LISTENER=$!
LF_EXTRA_CLEANUP='kill $LISTENER 2>/dev/null'
for _ in $(seq 1 50); do [ -S "$NOTIFY" ] && break; sleep 0.1; done
[ -S "$NOTIFY" ] || fail "notify listener did not start"

# run_unit: ExecStart in the background, as systemd runs it (foreground
# daemon, NOTIFY_SOCKET set); waits for READY=1.
run_unit() {
	local n0
	n0=$(grep -c READY=1 "$T/notify.log" || true)
	# shellcheck disable=SC2086
	NOTIFY_SOCKET=$NOTIFY $start_cmd >>"$LOG" 2>&1 &
	LF_PID=$!
	for _ in $(seq 1 100); do
		[ "$(grep -c READY=1 "$T/notify.log" || true)" -gt "$n0" ] && break
		kill -0 "$LF_PID" 2>/dev/null || { cat "$LOG" >&2; fail "daemon exited before READY=1"; }
		sleep 0.1
	done
	grep READY=1 "$T/notify.log" | tail -n 1 >"$T/ready"
	[ -s "$T/ready" ] || fail "no READY=1 within 10 s"
	note "notify: $(cat "$T/ready")"
	grep -q "mounted=True" "$T/ready" || fail "READY=1 before the mount was up"
	if [ "$listen" != none ]; then
		grep -q "http=up" "$T/ready" || fail "READY=1 before the HTTP listener was up"
	fi
}

# ExecStartPre makes the directories.
rmdir "$MNT"
pre=$(unit_cmd ExecStartPre)
# shellcheck disable=SC2086
$pre || fail "ExecStartPre failed"
[ -d "$MNT" ] && [ -d "$STORE" ] || fail "ExecStartPre did not make the directories"

run_unit
echo before-stop >"$MNT/a.txt"

# systemctl stop: SIGTERM to the main process.
kill -TERM "$LF_PID"
rc=0
for _ in $(seq 1 100); do kill -0 "$LF_PID" 2>/dev/null || break; sleep 0.1; done
wait "$LF_PID" || rc=$?
LF_PID=""
expect_eq "$rc" 0 "exit status after SIGTERM"
! mountpoint -q "$MNT" || fail "still mounted after SIGTERM"
grep -q STOPPING=1 "$T/notify.log" || note "the daemon sent no STOPPING=1"
# ExecStopPost after a clean stop fails quietly (its '-' prefix).
stoppost >/dev/null 2>&1 && fail "ExecStopPost found a mount after a clean stop"

# A crash: the dead mount stays until ExecStopPost clears it; then the
# restart mounts again and the file is there.
run_unit
kill -KILL "$LF_PID"
wait "$LF_PID" 2>/dev/null || true
LF_PID=""
if stat "$MNT" >/dev/null 2>&1 && ! mountpoint -q "$MNT"; then
	fail "no mount left after SIGKILL: nothing to test"
fi
stoppost || fail "ExecStopPost could not clear the dead mount"
run_unit
[ "$(cat "$MNT/a.txt")" = before-stop ] || fail "a.txt lost across the restart"
lf_stop || fail "clean stop"
echo "ok"
