#!/usr/bin/env bash
# timeout: 120
# make install DESTDIR=... PREFIX=/usr lays out the programs, the mount
# helper (and the /sbin/mount.fuse.landingfs link mount(8) looks for), the
# man pages and the systemd unit with the installed daemon's path; the man
# pages render without warnings; systemd-analyze verify accepts the unit;
# make uninstall with the same variables removes every file again.
. "$(dirname "$0")/lib.sh"
: "${LANDINGCTL:?LANDINGCTL must name landingctl}"

lf_setup
R=$T/root
# Install the programs the suite was given, never a fresh build: -o marks
# them up to date (B is where they were built).
B=$(dirname "$LANDINGFS")
[ "$(dirname "$LANDINGCTL")" = "$B" ] || fail "LANDINGFS and LANDINGCTL in different build dirs"
mk() {
	# A fresh make: not the jobserver or variables of a make running the suite.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$LF_SRC" B="$B" -o "$B/landingfs" \
		-o "$B/landingctl" DESTDIR="$R" PREFIX=/usr "$@"
}
mk install >"$T/install.log" 2>&1 || { cat "$T/install.log" >&2; fail "make install failed"; }

expected=(
	usr/sbin/landingfs
	usr/sbin/landingctl
	usr/sbin/mount.landingfs
	sbin/mount.fuse.landingfs
	usr/share/man/man8/landingfs.8
	usr/share/man/man8/landingctl.8
	usr/share/man/man8/mount.landingfs.8
	usr/lib/systemd/system/landingfs@.service
)
for f in "${expected[@]}"; do
	[ -e "$R/$f" ] || [ -L "$R/$f" ] || fail "make install did not install /$f"
done
for f in usr/sbin/landingfs usr/sbin/landingctl usr/sbin/mount.landingfs; do
	[ -x "$R/$f" ] || fail "/$f is not executable"
done
cmp "$LANDINGCTL" "$R/usr/sbin/landingctl" || fail "installed landingctl differs"
expect_eq "$(readlink "$R/sbin/mount.fuse.landingfs")" /usr/sbin/mount.landingfs \
	"the mount(8) helper link"
unexpected=$(cd "$R" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort |
	grep -vxF -f <(printf '%s\n' "${expected[@]}") || true)
[ -z "$unexpected" ] || fail "unexpected files installed: $unexpected"

# The unit names the installed daemon; no template marker is left.
unit=$R/usr/lib/systemd/system/landingfs@.service
grep -q '^ExecStart=/usr/sbin/landingfs -f ' "$unit" || fail "ExecStart: $(grep ExecStart "$unit")"
! grep -q '@SBINDIR@' "$unit" || fail "@SBINDIR@ left in the unit"
grep -q '^Type=notify' "$unit" || fail "the unit is not Type=notify"
grep -q '^Restart=on-failure' "$unit" || fail "the unit does not restart on failure"

# systemd-analyze verify needs the binaries at the unit's paths: check a
# copy that points into the DESTDIR tree, as an instance.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/units"
	sed "s|/usr/sbin/landingfs|$R/usr/sbin/landingfs|" "$unit" >"$T/units/landingfs@test.service"
	if ! (cd "$T/units" && timeout 60 systemd-analyze verify --man=no \
		./landingfs@test.service) >"$T/verify.log" 2>&1; then
		cat "$T/verify.log" >&2
		fail "systemd-analyze verify rejected the unit"
	fi
	if grep -q . "$T/verify.log"; then
		cat "$T/verify.log" >&2
		fail "systemd-analyze verify warned about the unit"
	fi
	note "systemd-analyze verify: unit accepted without warnings"
else
	note "SKIP systemd-analyze verify: systemd-analyze is not installed"
fi

# Man pages: roff without warnings, each with a NAME section.
command -v groff >/dev/null || fail "groff missing (apt-get install groff-base)"
command -v man >/dev/null || fail "man missing (apt-get install man-db)"
for m in landingfs landingctl mount.landingfs; do
	page=$R/usr/share/man/man8/$m.8
	warn=$(LC_ALL=C.UTF-8 groff -man -ww -z "$page" 2>&1) || fail "groff $m.8 failed"
	[ -z "$warn" ] || fail "$m.8: $warn"
	LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q '^NAME' ||
		fail "$m.8 has no NAME section"
done

# The installed helper finds the installed daemon next to itself.
mkdir -p "$STORE"
out=$(env -u LANDINGFS "$R/usr/sbin/mount.landingfs" "$STORE" "$MNT" -f \
	-o listen=none 2>&1) || fail "installed helper -f: $out"
grep -qF "$R/usr/sbin/landingfs --store $STORE" <<<"$out" ||
	fail "the installed helper did not pick the installed daemon: $out"

mk uninstall >"$T/uninstall.log" 2>&1 || { cat "$T/uninstall.log" >&2; fail "make uninstall failed"; }
left=$(find "$R" \( -type f -o -type l \) | sed "s|^$R||")
[ -z "$left" ] || fail "make uninstall left: $left"
echo "ok"
