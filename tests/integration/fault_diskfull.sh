#!/usr/bin/env bash
# fault_diskfull.sh - the store on a 32 MiB tmpfs, filled up.
# timeout: 120
#
# Uploads past capacity get 507 (Content-Length and chunked alike) and are
# not visible; a local write through the mount gets ENOSPC; everything
# stored before is intact over HTTP and through the mount; after deleting
# files (over HTTP and through the mount) uploads work again; after a clean
# stop fsck is clean and no space is lost.
. "$(dirname "$0")/lib.sh"

lf_setup
lf_small_store 32m
lf_start

put() { # put FILE PATH -> status
	curl -s -m 30 -o "$T/reply" -w '%{http_code}' -T "$1" "$URL/$2" || true
}

for i in $(seq 1 12); do
	head -c $((4 << 20)) /dev/urandom >"$T/src$i"
done

# Fill: 4 MiB files until the disk is full; at most 12 tries (48 MiB).
lf_fill_until_507 full "$T"/src{1..12}
ok=$LF_FILLED full=$LF_REFUSED
[ "$ok" -ge 3 ] || fail "only $ok uploads fit in 32 MiB"
note "$ok files fit; upload $full got 507: $(head -c 200 "$T/reply")"
[ ! -e "$MNT/full/f$full" ] || fail "the refused upload is visible on the mount"
s=$(curl -s -o /dev/null -w '%{http_code}' "$URL/full/f$full")
[ "$s" = 404 ] || fail "the refused upload: GET gave $s, want 404"

# Chunked (no length announced) fails the same way, mid-body.
s=$(curl -s -m 30 -o "$T/reply" -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
	-T - "$URL/full/chunked" <"$T/src12" || true)
[ "$s" = 507 ] || fail "chunked upload on a full disk: got $s"
[ ! -e "$MNT/full/chunked" ] || fail "the refused chunked upload is visible"

# A local write through the mount: ENOSPC, at write or at close/fsync.
if dd if="$T/src12" of="$MNT/full/local" bs=1M conv=fsync 2>"$T/dd.err"; then
	fail "a 4 MiB local write on a full disk succeeded"
fi
grep -qi 'no space' "$T/dd.err" || fail "local write: $(cat "$T/dd.err")"
# The disk is now full to the last block: deleting must still work, or
# there is no way to free space through landingfs.
rm -f "$MNT/full/local" 2>"$T/rm.err" ||
	fail "deleting a file on a full disk failed: $(cat "$T/rm.err")"

# Everything stored before is intact.
for i in $(seq 1 "$ok"); do
	cmp -s "$T/src$i" "$MNT/full/f$i" || fail "f$i damaged on the mount after the disk filled"
	curl -sf -o "$T/got" "$URL/full/f$i" || fail "f$i: GET failed"
	cmp -s "$T/src$i" "$T/got" || fail "f$i damaged over HTTP after the disk filled"
done
alive_pid() { kill -0 "$LF_PID" 2>/dev/null || fail "the daemon died"; }
alive_pid

# Free space: one file over HTTP, one through the mount; uploads work again.
s=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/full/f1")
[[ "$s" =~ ^20[04]$ ]] || fail "DELETE on a full disk: got $s"
rm "$MNT/full/f2" || fail "rm through the mount on a full disk"
sleep 0.5
s=$(put "$T/src$full" "full/again")
[ "$s" = 201 ] || fail "upload after freeing space: got $s ($(head -c 200 "$T/reply"))"
cmp -s "$T/src$full" "$MNT/full/again" || fail "the upload after freeing space is not intact"
dd if="$T/src12" of="$MNT/full/local2" bs=64k count=16 conv=fsync 2>/dev/null ||
	fail "a 1 MiB local write after freeing space failed"

lf_stop || fail "the daemon did not stop cleanly"
if [ -n "${LANDINGCTL:-}" ]; then
	"$LANDINGCTL" fsck "$STORE" >"$T/fsck.out" 2>&1 ||
		{ cat "$T/fsck.out" >&2; fail "fsck after the disk filled"; }
fi
# No space lost: the blobs hold the live files and nothing else.
used=$(du -sk "$STORE/blobs" | cut -f1)
want=$(( (ok - 2 + 1) * 4096 + 1024 + 64 ))
[ "$used" -le "$want" ] || fail "blobs use ${used} KiB for $((ok - 1)) files of 4 MiB and 1 MiB"
echo "fault_diskfull: disk full handled: $ok files fit, 507 after, space reclaimed"
