#!/usr/bin/env bash
# net_inotify.sh - `inotifywait -m -e close_write,moved_to` on the mounted
# directory reports each completed upload (new and replacing, spliced and
# copied), and only completed ones; the new file is visible to ls at once.
# timeout: 60
. "$(dirname "$0")/lib.sh"

lf_setup
lf_start
mkdir -p "$MNT/watch"
inotifywait -m -q -e close_write,moved_to --format '%e %f' "$MNT/watch" > "$T/events" 2> "$T/ino.err" &
IW=$!
# The publish is a rename within the directory, from a reserved alias.
inotifywait -m -q -e moved_from --format '%e %f' "$MNT/watch" > "$T/from" 2> "$T/ino2.err" &
IW2=$!
LF_EXTRA_CLEANUP="kill $IW $IW2 2>/dev/null"
sleep 0.5

echo one > "$T/f"
head -c 2000000 /dev/urandom > "$T/g"
for name in a b c; do
	expect_eq "$(curl -sS -o /dev/null -w '%{http_code}' -T "$T/f" "$URL/watch/$name")" 201 "PUT $name"
	# Visible to ls as soon as the answer came.
	ls "$MNT/watch" | grep -qx "$name" || fail "$name not listed right after its 201"
done
expect_eq "$(curl -sS -o /dev/null -w '%{http_code}' -T "$T/g" "$URL/watch/a")" 204 "replace a"
expect_eq "$(curl -sS -o /dev/null -w '%{http_code}' -T - "$URL/watch/d" < "$T/g")" 201 "chunked d"
# The copying path (a PUT after a GET on one connection).
curl -sS -o /dev/null "$URL/watch/a" --next -o /dev/null -T "$T/f" "$URL/watch/e"
# A refused and a failed upload give no event.
curl -sS -o /dev/null -T "$T/f" -H 'If-None-Match: *' "$URL/watch/b" || true
curl -sS -o /dev/null -T "$T/f" -H "Content-Digest: sha-256=:$(echo x | openssl dgst -sha256 -binary | base64):" "$URL/watch/f" || true
sleep 1
kill "$IW" "$IW2" 2>/dev/null || true
wait "$IW" "$IW2" 2>/dev/null || true
expect_eq "$(grep -c '^MOVED_FROM \.landing-incoming\.' "$T/from")" 6 "same-directory renames ($(tr '\n' ',' < "$T/from"))"
# No entry can take such a name, and it lists nothing.
! touch "$MNT/watch/.landing-incoming.x" 2> "$T/touch.err" || fail "created a reserved alias name"
grep -q 'Operation not permitted' "$T/touch.err" || fail "alias create: $(cat "$T/touch.err")"
! ls -a "$MNT/watch" | grep -q '^\.landing-incoming' || fail "an alias is listed"
expect_eq "$(grep -c . "$T/events")" 6 "events ($(tr '\n' ',' < "$T/events"))"
for name in a b c d e; do
	grep -q "MOVED_TO $name\$" "$T/events" || fail "no MOVED_TO for $name: $(cat "$T/events")"
done
expect_eq "$(grep -c 'MOVED_TO a$' "$T/events")" 2 "events for a (new, then replaced)"
! grep -q ' f$' "$T/events" || fail "an event for a failed upload"
lf_stop || fail "daemon exit status"
