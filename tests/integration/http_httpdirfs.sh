#!/usr/bin/env bash
# timeout: 40
# The HTML listing is usable by httpdirfs: mounted over HTTP, the tree shows
# every entry (a hidden name, a space, an encoded '?', a subdirectory) with
# its size, and reads back each file's contents.
. "$(dirname "$0")/lib.sh"
command -v httpdirfs >/dev/null || fail "httpdirfs is not installed (make deps)"
lf_setup
lf_start
H=$T/httpdirfs
mkdir -p "$H"
LF_EXTRA_CLEANUP='fusermount3 -uz "$H" 2>/dev/null'

put() { # NAME-ENCODED CONTENT
	printf '%s' "$2" > "$T/f"
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -T "$T/f" "$URL/share/$1")" 201 "PUT $1"
}
put a.txt "first"
put "sp%20ace.txt" "second file"
put .hidden "third"
put "q%3Fx" "fourth!"
put sub/inner.bin "fifth, inside"

timeout 30 httpdirfs -f --cache-location "$T/cache" "$URL/share/" "$H" \
	> "$T/httpdirfs.log" 2>&1 &
for _ in $(seq 1 50); do mountpoint -q "$H" && break; sleep 0.1; done
mountpoint -q "$H" || fail "httpdirfs did not mount: $(cat "$T/httpdirfs.log")"

expect_eq "$(ls -A "$H" | sort | tr '\n' '|')" ".hidden|a.txt|q?x|sp ace.txt|sub|" "names"
expect_eq "$(cat "$H/a.txt")" first "a.txt"
expect_eq "$(cat "$H/sp ace.txt")" "second file" "sp ace.txt"
expect_eq "$(cat "$H/.hidden")" third ".hidden"
expect_eq "$(cat "$H/q?x")" "fourth!" "q?x"
expect_eq "$(stat -c %s "$H/sub/inner.bin")" 13 "size in sub/"
expect_eq "$(cat "$H/sub/inner.bin")" "fifth, inside" "sub/inner.bin"
fusermount3 -u "$H"
LF_EXTRA_CLEANUP=""
# A clean stop, and nothing from the sanitizers when built with them.
lf_stop || fail "the daemon did not exit cleanly"
if grep -Eq 'Sanitizer|runtime error' "$LOG"; then fail "sanitizer report in the log"; fi
echo ok
