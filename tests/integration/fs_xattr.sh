#!/usr/bin/env bash
# fs_xattr.sh - user.* attributes stored in the index (create/replace flags,
# list, remove, persistence); user.landing.* read-only metadata; other
# namespaces answered ENOTSUP as a file system without them (ls and cp -a
# quiet).
# timeout: 60
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1
lf_setup
lf_start
cd "$MNT"
printf 'abc' > f
setfattr -n user.color -v blue f
expect_eq "$(getfattr --only-values -n user.color f)" blue "user.color"
setfattr -n user.color -v red f
expect_eq "$(getfattr --only-values -n user.color f)" red "user.color replaced"
mkdir d
setfattr -n user.on-dir -v 1 d
expect_eq "$(getfattr --only-values -n user.on-dir d)" 1 "xattr on a directory"
python3 - <<'PY' || fail "xattr errno checks"
import errno, os, sys

def expect_err(fn, err, what):
    try:
        fn()
    except OSError as e:
        if e.errno != err:
            sys.exit(f"{what}: errno {e.errno}, expected {err}")
        return
    sys.exit(f"{what}: succeeded, expected errno {err}")

expect_err(lambda: os.setxattr("f", "user.color", b"x", os.XATTR_CREATE),
           errno.EEXIST, "XATTR_CREATE on an existing name")
expect_err(lambda: os.setxattr("f", "user.none", b"x", os.XATTR_REPLACE),
           errno.ENODATA, "XATTR_REPLACE on a missing name")
os.setxattr("f", "user.bin", bytes(range(256)) * 10, os.XATTR_CREATE)
assert os.getxattr("f", "user.bin") == bytes(range(256)) * 10, "binary value"
expect_err(lambda: os.getxattr("f", "user.none"), errno.ENODATA, "missing name")
for k in ("origin", "sha256", "received", "x"):
    expect_err(lambda: os.setxattr("f", "user.landing." + k, b"x"),
               errno.EPERM, "set user.landing." + k)
expect_err(lambda: os.removexattr("f", "user.landing.origin"), errno.EPERM,
           "remove user.landing.origin")
expect_err(lambda: os.getxattr("f", "security.selinux"), errno.ENOTSUP,
           "get security.selinux")
expect_err(lambda: os.getxattr("f", "system.posix_acl_access"), errno.ENOTSUP,
           "get system.posix_acl_access")
expect_err(lambda: os.setxattr("f", "trusted.x", b"1"), errno.ENOTSUP,
           "set trusted.x")
expect_err(lambda: os.setxattr("f", "security.x", b"1"), errno.ENOTSUP,
           "set security.x")
expect_err(lambda: os.getxattr("f", "user.landing.peer"), errno.ENODATA,
           "peer of a local file")
names = set(os.listxattr("f"))
want = {"user.color", "user.bin", "user.landing.origin",
        "user.landing.received", "user.landing.sha256"}
if names != want:
    sys.exit(f"listxattr: {sorted(names)}, expected {sorted(want)}")
os.removexattr("f", "user.bin")
expect_err(lambda: os.removexattr("f", "user.bin"), errno.ENODATA,
           "remove a removed name")
PY
expect_eq "$(getfattr --only-values -n user.landing.origin f)" local "origin"
expect_eq "$(getfattr --only-values -n user.landing.sha256 f)" "$(sha f)" "sha256"
printf 'abcd' >> f
expect_eq "$(getfattr --only-values -n user.landing.sha256 f)" "$(sha f)" "sha256 after a change"
received=$(getfattr --only-values -n user.landing.received f)
[[ $received =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$ ]] ||
	fail "received: '$received' is not RFC 3339 UTC"
[ $(( $(date +%s) - $(date -d "$received" +%s) )) -le 60 ] || fail "received: $received is not recent"
# ls and cp -a probe security.* and system.posix_acl_*: no complaints.
ls -l f > /dev/null 2> "$T/ls.err"
[ ! -s "$T/ls.err" ] || fail "ls -l: $(cat "$T/ls.err")"
mkdir "$T/out"
cp -a "$MNT/." "$T/out/" 2> "$T/cp.err" || fail "cp -a out of the mount: $(cat "$T/cp.err")"
[ ! -s "$T/cp.err" ] || fail "cp -a: $(cat "$T/cp.err")"
expect_eq "$(getfattr --absolute-names --only-values -n user.color "$T/out/f")" red "cp -a kept user.color"
cp -a "$T/out/." "$MNT/copy/" 2> "$T/cp2.err" || fail "cp -a into the mount: $(cat "$T/cp2.err")"
expect_eq "$(getfattr --only-values -n user.color copy/f)" red "cp -a into the mount kept user.color"
cd /
lf_stop || fail "daemon exit status"
lf_start
expect_eq "$(getfattr --absolute-names --only-values -n user.color "$MNT/f" 2>/dev/null)" red "user.color after remount"
lf_stop || fail "daemon exit status"
echo "fs_xattr: ok"
