#!/usr/bin/env bash
# timeout: 90
# landingctl fsck, gc and stats on a real store filled through the mount:
# clean store -> 0; a store in use -> refused (fsck --live works); a blob
# deleted behind the store's back and a row whose parent is gone (made
# with the sqlite3 CLI) -> reported, exit 4; --repair -> exit 1, then
# clean; an unreferenced blob -> gc reclaims it; stats counts by origin and
# by day.
. "$(dirname "$0")/lib.sh"
: "${LANDINGCTL:?LANDINGCTL must name landingctl}"
command -v sqlite3 >/dev/null || fail "sqlite3 CLI missing (apt-get install sqlite3)"

lf_setup
LF_NO_HTTP=1 lf_start

mkdir -p "$MNT/run1/sub"
for i in 1 2 3 4 5; do
	head -c $((i * 1000)) /dev/urandom >"$MNT/run1/f$i"
done
echo hello >"$MNT/run1/sub/hello.txt"
ln -s f1 "$MNT/run1/link"

# A store in use is refused with one line; --live checks it read-only.
rc=0
out=$("$LANDINGCTL" fsck "$STORE" 2>&1) || rc=$?
expect_eq "$rc" 8 "fsck on a store in use: exit status"
grep -q "store is in use by a running daemon" <<<"$out" ||
	fail "fsck on a store in use said: $out"
expect_eq "$(wc -l <<<"$out")" 1 "lines of the in-use error"
"$LANDINGCTL" fsck --live "$STORE" >"$T/live.out" 2>&1 ||
	{ cat "$T/live.out" >&2; fail "fsck --live of a healthy store in use failed"; }
rc=0
"$LANDINGCTL" fsck --live --repair "$STORE" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 16 "fsck --live --repair: usage error"

lf_stop

# Healthy store.
"$LANDINGCTL" fsck "$STORE" >"$T/fsck0.out" 2>&1 ||
	{ cat "$T/fsck0.out" >&2; fail "fsck of a healthy store failed"; }
grep -q ": clean" "$T/fsck0.out" || fail "no 'clean' summary: $(cat "$T/fsck0.out")"

# stats: 6 files written locally, 3 directories (root, run1, sub), 1 link.
"$LANDINGCTL" stats --json "$STORE" >"$T/stats.json" || fail "stats failed"
python3 - "$T/stats.json" <<'EOF' || fail "stats --json: $(cat "$T/stats.json")"
import json, sys, datetime
s = json.load(open(sys.argv[1]))
assert s["files"] == 6, s
assert s["symlinks"] == 1, s
assert s["bytes"] == 15000 + 6, s
assert s["by_origin"]["local"]["files"] == 6, s
assert s["by_origin"]["network"]["files"] == 0, s
today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
days = {d["day"]: d for d in s["by_day"]}
assert days[today]["files"] == 6 and days[today]["bytes"] == 15006, s
EOF
"$LANDINGCTL" stats "$STORE" >"$T/stats.txt" || fail "stats failed"
grep -Eq '^files +6$' "$T/stats.txt" || fail "stats table: $(cat "$T/stats.txt")"

# A blob deleted behind the store's back.
blob=$(find "$STORE/blobs" -type f -size +0 | sort | head -n 1)
[ -n "$blob" ] || fail "no blob file under $STORE/blobs"
rm -f "$blob"
rc=0
"$LANDINGCTL" fsck "$STORE" >"$T/fsck1.out" 2>&1 || rc=$?
cat "$T/fsck1.out" >&2
expect_eq "$rc" 4 "fsck after a blob was deleted: exit status"
grep -q "1 missing blob" "$T/fsck1.out" || fail "missing blob not counted"
grep -q "${blob##*/}" "$T/fsck1.out" || fail "the missing blob is not named"

# A dangling row: a directory whose parent does not exist.
sqlite3 "$STORE/index.db" "INSERT INTO inode (parent, name, mode, nlink,
	uid, gid, size, atime_ns, mtime_ns, ctime_ns)
	VALUES (987654, CAST('ghost' AS BLOB), 16877, 2, 0, 0, 0, 0, 0, 0);" ||
	fail "could not add a dangling row with sqlite3"
rc=0
"$LANDINGCTL" fsck "$STORE" >"$T/fsck2.out" 2>&1 || rc=$?
cat "$T/fsck2.out" >&2
expect_eq "$rc" 4 "fsck with a dangling row: exit status"
grep -q "1 bad row" "$T/fsck2.out" || fail "dangling row not counted"
grep -q "987654" "$T/fsck2.out" || fail "the dangling row's parent is not named"

# Repair: exit 1 (problems found and fixed), then a clean check.
rc=0
"$LANDINGCTL" fsck --repair "$STORE" >"$T/fsck3.out" 2>&1 || rc=$?
cat "$T/fsck3.out" >&2
expect_eq "$rc" 1 "fsck --repair: exit status"
"$LANDINGCTL" fsck "$STORE" >"$T/fsck4.out" 2>&1 ||
	{ cat "$T/fsck4.out" >&2; fail "fsck after --repair is not clean"; }
"$LANDINGCTL" stats --json "$STORE" >"$T/stats2.json" || fail "stats failed"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["files"] == 5, s' \
	"$T/stats2.json" || fail "after repair: $(cat "$T/stats2.json")"

# An unreferenced blob: fsck reports it, gc reclaims it, fsck is clean.
# (store.h: STORE/blobs/XX/ID, XX the id's low byte.)
dir=$STORE/blobs/ef
mkdir -p "$dir"
head -c 100000 /dev/urandom >"$dir/00000000deadbeef"
rc=0
"$LANDINGCTL" fsck "$STORE" >"$T/fsck5.out" 2>&1 || rc=$?
expect_eq "$rc" 4 "fsck with an unreferenced blob: exit status"
grep -q "1 unreferenced blob" "$T/fsck5.out" || fail "orphan not counted: $(cat "$T/fsck5.out")"
"$LANDINGCTL" gc "$STORE" >"$T/gc.out" 2>&1 || { cat "$T/gc.out" >&2; fail "gc failed"; }
cat "$T/gc.out" >&2
grep -q "reclaimed 1 " "$T/gc.out" || fail "gc did not report the reclaimed blob"
[ ! -e "$dir/00000000deadbeef" ] || fail "gc left the unreferenced blob"
"$LANDINGCTL" fsck "$STORE" >/dev/null 2>&1 || fail "fsck after gc is not clean"
"$LANDINGCTL" gc "$STORE" | grep -q "reclaimed 0 " || fail "second gc reclaimed something"

# The store still mounts and holds the surviving files.
LF_NO_HTTP=1 lf_start
[ "$(cat "$MNT/run1/sub/hello.txt")" = hello ] || fail "hello.txt lost"
[ ! -e "$MNT/ghost" ] || fail "the dangling row became visible"
lf_stop

# Usage errors: one line, exit 16; not a store: exit 8.
for args in "fsck" "fsck a b" "fsck --bogus $STORE" "stats" "gc" "nosuch"; do
	rc=0
	# shellcheck disable=SC2086
	out=$("$LANDINGCTL" $args 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 16 "landingctl $args: exit status"
	expect_eq "$(wc -l <<<"$out")" 1 "landingctl $args: error lines"
done
# Help: the overview names every command; each command's help is its own.
"$LANDINGCTL" --help >"$T/help.out" || fail "landingctl --help failed"
for c in fsck gc stats uploads dump load; do
	grep -q "^  $c " "$T/help.out" || fail "--help does not list $c"
	"$LANDINGCTL" "$c" --help >"$T/help.$c" || fail "landingctl $c --help failed"
	grep -q "^usage: landingctl $c" "$T/help.$c" || fail "$c --help: $(head -n 1 "$T/help.$c")"
	"$LANDINGCTL" help "$c" | cmp -s - "$T/help.$c" || fail "landingctl help $c differs"
done
"$LANDINGCTL" --version | grep -q '^landingctl [0-9]' || fail "--version"
mkdir "$T/empty"
rc=0
out=$("$LANDINGCTL" fsck "$T/empty" 2>&1) || rc=$?
expect_eq "$rc" 8 "fsck of a directory that is no store"
grep -q "not a landingfs store" <<<"$out" || fail "fsck of no store said: $out"
[ ! -e "$T/empty/index.db" ] || fail "fsck created a store"
echo "ok"
