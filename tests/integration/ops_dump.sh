#!/usr/bin/env bash
# timeout: 120
# landingctl dump and load: a store filled through the mount (and over HTTP
# unless LF_NO_HTTP=1) is dumped, loaded into an empty store, and the new
# store mounted: the same listing (type, mode, owner, size, mtime, symlink
# targets), the same sha-256 of every file, the same xattrs (landing
# metadata included). A damaged or truncated dump and a non-empty target
# store are refused.
. "$(dirname "$0")/lib.sh"
: "${LANDINGCTL:?LANDINGCTL must name landingctl}"

lf_setup
lf_start

mkdir -p "$MNT/run42/deep/er/still" "$MNT/empty dir"
head -c 5000000 /dev/urandom >"$MNT/run42/big.bin"
: >"$MNT/run42/empty"
echo same >"$MNT/run42/a.txt"
echo same >"$MNT/run42/deep/a-copy.txt"
printf 'ünïcödé\n' >"$MNT/run42/ünïcödé name.txt"
printf 'raw\n' >"$MNT/run42/$(printf 'bad\xffutf8')"
printf 'nl\n' >"$MNT/run42/deep/er/still/line$(printf '\n')break"
ln -s ../a.txt "$MNT/run42/deep/link"
ln -s "/absolute/$(printf '\xfe')target" "$MNT/run42/odd-link"
setfattr -n user.project -v lab7 "$MNT/run42/a.txt"
setfattr -n user.bin -v 0x00ff10 "$MNT/run42/big.bin"
setfattr -n user.dirnote -v yes "$MNT/run42/deep"
chmod 0640 "$MNT/run42/a.txt"
chmod 2750 "$MNT/run42/deep"
chown 1234:5678 "$MNT/run42/big.bin"
touch -h -d '2021-03-04 05:06:07.123456789' "$MNT/run42/deep/link"
touch -d '2020-01-02 03:04:05.5' "$MNT/run42/a.txt"
touch -d '2019-06-07 08:09:10' "$MNT/run42/deep/er"
if [ "${LF_NO_HTTP:-0}" != 1 ]; then
	head -c 300000 /dev/urandom >"$T/up.bin"
	code=$(curl -s -o /dev/null -w '%{http_code}' -T "$T/up.bin" \
		"$URL/uploads/day1/up.bin") || fail "curl PUT failed"
	case $code in 2??) ;; *) fail "PUT answered $code" ;; esac
	cmp "$T/up.bin" "$MNT/uploads/day1/up.bin" || fail "uploaded file differs"
fi
touch -d '2018-01-01 00:00:00' "$MNT/run42"

# listing DIR: one line per entry, sorted, with what must survive.
listing() {
	(cd "$1" && find . -printf '%P|%y|%m|%U|%G|%s|%T@|%l\n' |
		LC_ALL=C sort)
}
# sums DIR: sha-256 of every regular file.
sums() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0 -r sha256sum)
}
# xattrs DIR: every xattr of every file and directory, values in hex.
xattrs() {
	(cd "$1" && find . -mindepth 1 ! -type l -print0 | LC_ALL=C sort -z |
		xargs -0 -r getfattr -h -d -m - -e hex --absolute-names 2>/dev/null)
}
listing "$MNT" >"$T/list.before"
sums "$MNT" >"$T/sums.before"
xattrs "$MNT" >"$T/xattr.before"
grep -q 'user.project=0x6c616237' "$T/xattr.before" || fail "xattr listing: $(head "$T/xattr.before")"
grep -q 'user.landing' "$T/xattr.before" ||
	note "the mount shows no user.landing.* xattrs; comparing user ones only"
[ "$(wc -l <"$T/list.before")" -ge 14 ] || fail "too few entries: $(cat "$T/list.before")"

# A store in use cannot be dumped, and the refusal leaves nothing behind.
rc=0
out=$("$LANDINGCTL" dump "$STORE" "$T/dump" 2>&1) || rc=$?
expect_eq "$rc" 8 "dump of a store in use: exit status"
grep -q "in use by a running daemon" <<<"$out" || fail "dump in use said: $out"
[ ! -e "$T/dump" ] || fail "a refused dump left $T/dump"
lf_stop

"$LANDINGCTL" dump "$STORE" "$T/dump" >"$T/dump.out" 2>&1 ||
	{ cat "$T/dump.out" >&2; fail "dump failed"; }
cat "$T/dump.out" >&2
[ -f "$T/dump/manifest.jsonl" ] || fail "no manifest.jsonl"
[ ! -e "$T/dump/manifest.jsonl.part" ] || fail "manifest.jsonl.part left"
# Equal contents are stored once, under their sha-256.
python3 - "$T/dump" <<'EOF' || fail "the dump's manifest is not as documented"
import base64, hashlib, json, os, sys
d = sys.argv[1]
lines = [json.loads(l) for l in open(os.path.join(d, "manifest.jsonl"))]
assert lines[0]["format"] == "landingfs-dump" and lines[0]["version"] == 1
assert lines[-1]["end"] is True and lines[-1]["entries"] == len(lines) - 2
ents = lines[1:-1]
assert ents[0]["path"] == "" and ents[0]["type"] == "dir"
seen = set()
for e in ents:
    p = e["path"].encode() if "path" in e else base64.b64decode(e["path_b64"])
    par = p.rsplit(b"/", 1)[0] if b"/" in p else b""
    assert p == b"" or par in seen, ("parent after child", p)
    seen.add(p)
    if e["type"] == "file":
        f = os.path.join(d, "data", e["sha256"][:2], e["sha256"])
        assert hashlib.sha256(open(f, "rb").read()).hexdigest() == e["sha256"]
        assert os.path.getsize(f) == e["size"]
assert any("path_b64" in e for e in ents), "no non-UTF-8 name as path_b64"
assert any("target_b64" in e for e in ents), "no non-UTF-8 target"
files = [e for e in ents if e["type"] == "file"]
if os.environ.get("LF_NO_HTTP", "0") != "1":
    net = [e for e in files if e["landing"]["origin"] == "net"]
    assert net and net[0]["landing"]["peer"].startswith("127.0.0.1:"), \
        "the upload's landing record is missing"
assert any(e["landing"]["origin"] == "local" for e in files)
data = sum(len(fs) for _, _, fs in os.walk(os.path.join(d, "data")))
assert data == len({e["sha256"] for e in files}), "equal contents not shared"
EOF

# A dump directory cannot be reused.
rc=0
"$LANDINGCTL" dump "$STORE" "$T/dump" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "dump over an existing dump succeeded"

# Load into a new store, then mount it: everything must match.
"$LANDINGCTL" load "$T/dump" "$T/store2" >"$T/load.out" 2>&1 ||
	{ cat "$T/load.out" >&2; fail "load failed"; }
cat "$T/load.out" >&2
"$LANDINGCTL" fsck "$T/store2" >/dev/null || fail "the loaded store is not clean"
STORE=$T/store2
lf_start
listing "$MNT" >"$T/list.after"
sums "$MNT" >"$T/sums.after"
xattrs "$MNT" >"$T/xattr.after"
lf_stop
diff "$T/list.before" "$T/list.after" >&2 || fail "listings differ"
diff "$T/sums.before" "$T/sums.after" >&2 || fail "sha-256s differ"
diff "$T/xattr.before" "$T/xattr.after" >&2 || fail "xattrs differ"

# A dump into a directory that holds something else is refused, untouched.
mkdir "$T/busy"
echo keep >"$T/busy/other"
rc=0
out=$("$LANDINGCTL" dump "$T/store2" "$T/busy" 2>&1) || rc=$?
expect_eq "$rc" 8 "dump into a non-empty directory: exit status"
expect_eq "$(ls "$T/busy")" other "the non-empty directory after a refused dump"
# So is a load into a directory that is neither empty nor a store.
rc=0
out=$("$LANDINGCTL" load "$T/dump" "$T/busy" 2>&1) || rc=$?
expect_eq "$rc" 8 "load into a non-store directory: exit status"
[ ! -e "$T/busy/index.db" ] || fail "load made a store in a non-empty directory"

# A dump that fails half-way (a blob gone behind the store's back) says
# which file, and leaves no partial dump.
cp -a "$T/store" "$T/storeX"
rm -f "$(find "$T/storeX/blobs" -type f -size +1000k | head -n 1)"
rc=0
out=$("$LANDINGCTL" dump "$T/storeX" "$T/dumpX" 2>&1) || rc=$?
expect_eq "$rc" 8 "dump with a missing blob: exit status"
grep -q "big.bin" <<<"$out" || fail "dump with a missing blob said: $out"
expect_eq "$(wc -l <<<"$out")" 1 "lines of the failed dump's error"
[ ! -e "$T/dumpX" ] || fail "a failed dump left $(find "$T/dumpX" | head)"

# Loading again into the now non-empty store is refused.
rc=0
out=$("$LANDINGCTL" load "$T/dump" "$T/store2" 2>&1) || rc=$?
expect_eq "$rc" 8 "load into a non-empty store: exit status"
grep -q "not empty" <<<"$out" || fail "load into a non-empty store said: $out"

# Damaged contents: refused, naming the entry.
cp -a "$T/dump" "$T/bad"
victim=$(find "$T/bad/data" -type f -size +1000k | head -n 1)
printf 'X' | dd of="$victim" bs=1 seek=100 conv=notrunc status=none
rc=0
out=$("$LANDINGCTL" load "$T/bad" "$T/store3" 2>&1) || rc=$?
expect_eq "$rc" 8 "load of damaged contents: exit status"
grep -q "do not match" <<<"$out" || fail "damaged contents not reported: $out"
expect_eq "$(wc -l <<<"$out")" 1 "lines of the damaged-contents error"

# A truncated manifest (no end line): refused.
rm -rf "$T/bad" "$T/store3"
cp -a "$T/dump" "$T/bad"
head -n 5 "$T/dump/manifest.jsonl" >"$T/bad/manifest.jsonl"
rc=0
out=$("$LANDINGCTL" load "$T/bad" "$T/store3" 2>&1) || rc=$?
expect_eq "$rc" 8 "load of a truncated manifest: exit status"
grep -q "no end line" <<<"$out" || fail "truncated manifest not reported: $out"

# A hostile path cannot escape the store.
rm -rf "$T/bad" "$T/store3"
mkdir -p "$T/bad/data"
printf '%s\n' '{"format":"landingfs-dump","version":1}' \
	'{"path":"","type":"dir","mode":"0755","uid":0,"gid":0,"atime_ns":0,"mtime_ns":0,"ctime_ns":0}' \
	'{"path":"../escape","type":"dir","mode":"0755","uid":0,"gid":0,"atime_ns":0,"mtime_ns":0,"ctime_ns":0}' \
	'{"end":true,"entries":2}' >"$T/bad/manifest.jsonl"
rc=0
"$LANDINGCTL" load "$T/bad" "$T/store3" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 8 "load of a '..' path: exit status"
[ ! -e "$T/escape" ] && [ ! -e "$T/store3/../escape" ] || fail "'..' escaped"
echo "ok"
