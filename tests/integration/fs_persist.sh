#!/usr/bin/env bash
# fs_persist.sh - a tree survives unmount and remount: contents, modes,
# owners, times, symlinks, xattrs, empty directories and files.
# timeout: 60
. "$(dirname "$0")/lib.sh"
export LF_NO_HTTP=1 TZ=UTC
lf_setup
lf_start
cd "$MNT"
mkdir -p a/b/c empty
head -c 200000 /dev/urandom > a/b/data
: > a/zero
ln -s ../a/b/data a/link
chmod 604 a/zero
chown 1234:5678 a/b/data
touch -d '1999-12-31 23:59:59.5' a/b/data
setfattr -n user.k -v v a/b
find . -printf '%p %y %m %U %G %s %T@ %l\n' | sort > "$T/before"
sha a/b/data > "$T/sum"
cd /
lf_stop || fail "daemon exit status"
lf_start
cd "$MNT"
find . -printf '%p %y %m %U %G %s %T@ %l\n' | sort > "$T/after"
diff "$T/before" "$T/after" >&2 || fail "tree differs after remount"
expect_eq "$(sha a/b/data)" "$(cat "$T/sum")" "contents after remount"
expect_eq "$(getfattr --only-values -n user.k a/b)" v "xattr after remount"
expect_eq "$(cat a/link | sha256sum | cut -d' ' -f1)" "$(cat "$T/sum")" "through the symlink"
cd /
lf_stop || fail "daemon exit status"
echo "fs_persist: ok"
