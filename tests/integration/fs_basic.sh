#!/usr/bin/env bash
# fs_basic.sh - names and attributes through the mount: create, write, read,
# rename (with RENAME_NOREPLACE and RENAME_EXCHANGE), unlink, mkdir, rmdir,
# readdir, symlink, refused hard links and device nodes, chmod, chown,
# utimens (explicit and now), umask, set-group-ID directories, the caller's
# uid/gid, default_permissions, and the size of a file still open.
# timeout: 60
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1 TZ=UTC
lf_setup
chmod 755 "$T" # another user must reach the mount point
lf_start -o allow_other
cd "$MNT"

echo hello > a
expect_eq "$(cat a)" hello "read back"
mkdir -p d/e
echo x > d/e/f
mv a d/b
[ ! -e a ] || fail "a still there after rename"
expect_eq "$(cat d/b)" hello "renamed file"
expect_eq "$(ls d | tr '\n' ' ')" "b e " "listing of d"
expect_eq "$(ls -a d/e | tr '\n' ' ')" ". .. f " "listing with dot entries"
rm d/b
[ ! -e d/b ] || fail "d/b still there after rm"
rm d/e/f
rmdir d/e d
# The network side's reserved .landing directory in the root is not
# listed (a find over the mount must not reach uploads in flight), yet it
# can be reached by name.
expect_eq "$(ls -A)" "" "empty root after removals"
expect_eq "$(find . | tr '\n' ' ')" ". " "find over the empty root"
[ -d .landing/incoming ] || fail ".landing/incoming not reachable by name"

ln -s some/target l
expect_eq "$(readlink l)" some/target "readlink"
expect_eq "$(stat -c %F l)" "symbolic link" "symlink type"

python3 - <<'PY' || fail "errno checks (see above)"
import ctypes, errno, os, stat, sys

libc = ctypes.CDLL(None, use_errno=True)

def renameat2(a, b, flags):
    if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

def expect_err(fn, err, what):
    try:
        fn()
    except OSError as e:
        if e.errno != err:
            sys.exit(f"{what}: errno {e.errno}, expected {err}")
        return
    sys.exit(f"{what}: succeeded, expected errno {err}")

def put(name, data):
    with open(name, "w") as f:
        f.write(data)

def get(name):
    with open(name) as f:
        return f.read()

put("f1", "one")
put("f2", "two")
expect_err(lambda: os.link("f1", "hard"), errno.EPERM, "link")
expect_err(lambda: os.mkfifo("fifo"), errno.EPERM, "mkfifo")
expect_err(lambda: os.mknod("chr", 0o600 | stat.S_IFCHR, os.makedev(1, 3)),
           errno.EPERM, "mknod chr")
os.mknod("reg", 0o600 | stat.S_IFREG)
assert stat.S_ISREG(os.stat("reg").st_mode), "mknod S_IFREG"
expect_err(lambda: renameat2("f1", "f2", 1), errno.EEXIST, "RENAME_NOREPLACE")
renameat2("f1", "f2", 2)  # RENAME_EXCHANGE
assert get("f1") == "two" and get("f2") == "one", "exchange swapped contents"
renameat2("f1", "f3", 1)
assert get("f3") == "two" and not os.path.exists("f1"), "noreplace rename"
os.rename("f3", "f2")  # replace
assert get("f2") == "two", "rename over a file"
os.mkdir("full")
put("full/x", "x")
expect_err(lambda: os.rmdir("full"), errno.ENOTEMPTY, "rmdir non-empty")
expect_err(lambda: os.mkdir("full"), errno.EEXIST, "mkdir existing")
expect_err(lambda: os.unlink("full"), errno.EISDIR, "unlink a directory")
expect_err(lambda: os.rmdir("f2"), errno.ENOTDIR, "rmdir a file")
expect_err(lambda: os.rename("full", "full/x/y"), errno.ENOTDIR, "rename under a file")
expect_err(lambda: os.rename("full", "full/sub"), errno.EINVAL, "rename into itself")
expect_err(lambda: open("n" * 256, "w"), errno.ENAMETOOLONG, "256-byte name")
expect_err(lambda: os.stat("missing"), errno.ENOENT, "stat missing")
put("n" * 255, "ok")
# A file open for writing shows its size before close.
with open("grow", "wb") as f:
    f.write(b"z" * 12345)
    f.flush()
    assert os.stat("grow").st_size == 12345, "size while open"
assert os.stat("grow").st_size == 12345, "size after close"
PY

touch -d '2001-02-03 04:05:06.123456789' t
expect_eq "$(stat -c %y t)" "2001-02-03 04:05:06.123456789 +0000" "utimens"
touch t
now=$(date +%s)
[ $(( now - $(stat -c %Y t) )) -le 5 ] || fail "touch (UTIME_NOW) left mtime $(stat -c %Y t), now $now"
chmod 640 t
expect_eq "$(stat -c %a t)" 640 "chmod"
chown 1000:1001 t
expect_eq "$(stat -c %u:%g t)" 1000:1001 "chown"

(umask 027 && touch um && mkdir umd)
expect_eq "$(stat -c %a um)" 640 "umask on create"
expect_eq "$(stat -c %a umd)" 750 "umask on mkdir"

mkdir sg
chown 0:1001 sg
chmod 2775 sg
touch sg/x
mkdir sg/y
expect_eq "$(stat -c %g sg/x)" 1001 "group inherited from a set-group-ID directory"
expect_eq "$(stat -c %g:%a sg/y)" 1001:2755 "set-group-ID directory inherited"

mkdir pub
chmod 777 pub
setpriv --reuid=1000 --regid=1000 --clear-groups touch pub/u ||
	fail "user 1000 could not create in a 0777 directory"
expect_eq "$(stat -c %u:%g pub/u)" 1000:1000 "owner of a file made by user 1000"
if setpriv --reuid=1000 --regid=1000 --clear-groups touch denied 2>/dev/null; then
	fail "user 1000 created a file in a root-owned 0755 directory"
fi
if setpriv --reuid=1000 --regid=1000 --clear-groups chmod 600 t 2>/dev/null; then
	expect_eq "$(stat -c %u t)" 1000 "chmod by the owner"
fi
if setpriv --reuid=1001 --regid=1001 --clear-groups cat t 2>/dev/null; then
	fail "user 1001 read a 0600 file of user 1000"
fi
cd /
lf_stop || fail "daemon exit status"
echo "fs_basic: ok"
