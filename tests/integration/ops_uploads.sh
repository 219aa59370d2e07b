#!/usr/bin/env bash
# timeout: 90
# landingctl uploads against a real daemon: no daemon -> one-line error;
# idle -> "0 upload(s)"; during a slow curl upload -> a row with its path,
# peer and expected size; after the client gives up -> gone again (and the
# half upload is not a file). With a token file: 401 without a token, the
# list with --token-file. Needs the HTTP side (skipped with LF_NO_HTTP=1).
. "$(dirname "$0")/lib.sh"
: "${LANDINGCTL:?LANDINGCTL must name landingctl}"

lf_setup
if [ "${LF_NO_HTTP:-0}" = 1 ]; then
	echo "SKIP: LF_NO_HTTP=1 (the uploads command needs the HTTP side)"
	exit 0
fi

# No daemon listening: one line, exit 8.
rc=0
out=$("$LANDINGCTL" uploads --url "$URL" 2>&1) || rc=$?
expect_eq "$rc" 8 "uploads with no daemon: exit status"
expect_eq "$(wc -l <<<"$out")" 1 "uploads with no daemon: lines"
grep -q "daemon running" <<<"$out" || fail "uploads with no daemon said: $out"
rc=0
"$LANDINGCTL" uploads --url "https://127.0.0.1:$PORT" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 16 "uploads with an https URL: exit status"

lf_start
out=$("$LANDINGCTL" uploads --url "$URL") || fail "uploads on an idle daemon failed"
grep -q "^0 upload(s) in flight" <<<"$out" || fail "idle daemon: $out"
LANDINGFS_URL=$URL "$LANDINGCTL" uploads --json >"$T/idle.json" ||
	fail "uploads --json via LANDINGFS_URL failed"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["uploads"] == [], d' \
	"$T/idle.json" || fail "uploads --json: $(cat "$T/idle.json")"

# A slow upload (3 MB at 100 KB/s: about 30 s) shows up while it runs.
head -c 3000000 /dev/urandom >"$T/big.bin"
curl -s -o /dev/null --limit-rate 100k -T "$T/big.bin" "$URL/slow/big.bin" &
CURL=$!
LF_EXTRA_CLEANUP='kill $CURL 2>/dev/null'
seen=""
for _ in $(seq 1 100); do
	out=$("$LANDINGCTL" uploads --url "$URL") || fail "uploads during an upload failed"
	if grep -q "slow/big.bin" <<<"$out"; then
		seen=$out
		break
	fi
	sleep 0.1
done
[ -n "$seen" ] || fail "the slow upload never showed: $out"
note "$seen"
row=$(grep "slow/big.bin" <<<"$seen")
grep -q "127.0.0.1" <<<"$row" || fail "no peer in: $row"
grep -q "2.9 MiB" <<<"$row" || fail "expected size not shown in: $row"
grep -q "^1 upload(s) in flight" <<<"$seen" || fail "count: $seen"

# The client gives up: the upload leaves the list, and no file appears.
kill "$CURL"
wait "$CURL" 2>/dev/null || true
gone=""
for _ in $(seq 1 100); do
	out=$("$LANDINGCTL" uploads --url "$URL") || fail "uploads after the abort failed"
	if grep -q "^0 upload(s) in flight" <<<"$out"; then gone=1; break; fi
	sleep 0.1
done
[ -n "$gone" ] || fail "the aborted upload stayed in the list: $out"
[ ! -e "$MNT/slow/big.bin" ] || fail "the aborted upload became a file"
lf_stop

# With tokens: 401 and a hint without one; the list with --token-file.
tok=monitor-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '# test tokens\n%s read /.landing\n' "$tok" >"$T/tokens"
lf_start -o "token_file=$T/tokens"
rc=0
out=$("$LANDINGCTL" uploads --url "$URL" 2>&1) || rc=$?
expect_eq "$rc" 8 "uploads without a token: exit status"
grep -q "401" <<<"$out" || fail "uploads without a token said: $out"
grep -q "token" <<<"$out" || fail "no hint about the token: $out"
"$LANDINGCTL" uploads --url "$URL" --token-file "$T/tokens" >"$T/tok.out" 2>&1 ||
	{ cat "$T/tok.out" >&2; fail "uploads with --token-file failed"; }
LANDINGFS_TOKEN=$tok "$LANDINGCTL" uploads --url "$URL" >/dev/null ||
	fail "uploads with LANDINGFS_TOKEN failed"
echo "ok"
