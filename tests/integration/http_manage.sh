#!/usr/bin/env bash
# timeout: 60
# DELETE (file, empty directory, non-empty only with Depth: infinity),
# MKCOL and MOVE (201/204, Overwrite: F gives 412), seen on the mount at once.
. "$(dirname "$0")/lib.sh"
lf_setup
lf_start

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
echo one > "$T/one"
echo two > "$T/two"

# MKCOL
expect_eq "$(code -X MKCOL "$URL/col")" 201 "MKCOL"
[ -d "$MNT/col" ] || fail "MKCOL not on the mount"
expect_eq "$(code -X MKCOL "$URL/col")" 405 "MKCOL existing"
expect_eq "$(code -X MKCOL "$URL/no/such/parent")" 409 "MKCOL without parent"
expect_eq "$(code -X MKCOL "$URL/")" 405 "MKCOL root"
expect_eq "$(code -X MKCOL --data-binary x "$URL/withbody")" 415 "MKCOL with a body"
expect_eq "$(code -X MKCOL "$URL/col/sub")" 201 "MKCOL nested"
expect_eq "$(code -X MKCOL "$URL/.landing/x")" 405 "MKCOL reserved"

# DELETE of files.
expect_eq "$(code -T "$T/one" "$URL/col/f")" 201 "PUT col/f"
[ -f "$MNT/col/f" ] || fail "file not on the mount"
expect_eq "$(code -X DELETE "$URL/col/f")" 204 "DELETE file"
[ ! -e "$MNT/col/f" ] || fail "deleted file still on the mount"
expect_eq "$(code -X DELETE "$URL/col/f")" 404 "DELETE again"
expect_eq "$(code "$URL/col/f")" 404 "GET deleted"
expect_eq "$(code -T "$T/one" "$URL/col/g")" 201 "PUT col/g"
expect_eq "$(code -X DELETE -H 'If-Match: "0000000000000000"' "$URL/col/g")" 412 "DELETE If-Match stale"
[ -f "$MNT/col/g" ] || fail "conditional DELETE deleted"

# DELETE of directories.
expect_eq "$(code -X DELETE "$URL/col/sub")" 204 "DELETE empty dir"
[ ! -e "$MNT/col/sub" ] || fail "deleted dir on the mount"
expect_eq "$(code -T "$T/one" "$URL/tree/a/b/c/f1")" 201 "PUT deep"
expect_eq "$(code -T "$T/two" "$URL/tree/a/f2")" 201 "PUT tree/a/f2"
expect_eq "$(code -T "$T/two" "$URL/tree/f3")" 201 "PUT tree/f3"
for i in $(seq 1 70); do echo "x" > "$MNT/tree/a/b/n$i" || fail "write through mount"; done
expect_eq "$(code -X DELETE "$URL/tree")" 409 "DELETE non-empty without Depth"
[ -f "$MNT/tree/a/b/c/f1" ] || fail "refused DELETE removed something"
expect_eq "$(code -X DELETE -H 'Depth: 1' "$URL/tree")" 409 "DELETE non-empty Depth: 1"
expect_eq "$(code -X DELETE -H 'Depth: infinity' "$URL/tree")" 204 "DELETE Depth: infinity"
[ ! -e "$MNT/tree" ] || fail "tree still on the mount"
expect_eq "$(code "$URL/tree/a/f2")" 404 "tree content gone"
expect_eq "$(code -X DELETE -H 'Depth: infinity' "$URL/")" 403 "DELETE root"

# MOVE a file: 201 to a new name (with Location), 204 over an existing one.
expect_eq "$(code -T "$T/one" "$URL/m/src")" 201 "PUT m/src"
curl -s -D "$T/h" -o /dev/null -X MOVE -H "Destination: $URL/m/dst" "$URL/m/src"
grep -q '^HTTP/1.1 201' "$T/h" || fail "MOVE to a new name: $(head -n1 "$T/h")"
grep -qi '^Location: /m/dst' "$T/h" || fail "MOVE Location"
expect_eq "$(cat "$MNT/m/dst")" one "moved content on the mount"
[ ! -e "$MNT/m/src" ] || fail "source still on the mount"
expect_eq "$(code "$URL/m/src")" 404 "source gone"
expect_eq "$(curl -s "$URL/m/dst")" one "moved content"
expect_eq "$(code -T "$T/two" "$URL/m/other")" 201 "PUT m/other"
expect_eq "$(code -X MOVE -H 'Destination: /m/dst' -H 'Overwrite: F' "$URL/m/other")" 412 "MOVE Overwrite F onto existing"
expect_eq "$(curl -s "$URL/m/dst")" one "Overwrite F left the target"
expect_eq "$(code -X MOVE -H 'Destination: /m/dst' "$URL/m/other")" 204 "MOVE over existing"
expect_eq "$(curl -s "$URL/m/dst")" two "replaced content"
expect_eq "$(cat "$MNT/m/dst")" two "replaced content on the mount"
expect_eq "$(code -X MOVE "$URL/m/dst")" 400 "MOVE without Destination"
expect_eq "$(code -X MOVE -H 'Destination: /m/../x' "$URL/m/dst")" 400 "MOVE to a bad path"
expect_eq "$(code -X MOVE -H 'Destination: /.landing/x' "$URL/m/dst")" 400 "MOVE into /.landing"
expect_eq "$(code -X MOVE -H 'Destination: /nodir/x' "$URL/m/dst")" 409 "MOVE into a missing dir"
expect_eq "$(code -X MOVE -H 'Destination: /m/x' "$URL/m/none")" 404 "MOVE a missing file"
expect_eq "$(code -X MOVE -H 'Destination: /m/dst' "$URL/m/dst")" 403 "MOVE onto itself"

# MOVE a directory, with its contents.
expect_eq "$(code -T "$T/one" "$URL/d1/inner/f")" 201 "PUT d1/inner/f"
expect_eq "$(code -X MOVE -H "Destination: $URL/m/d2" "$URL/d1")" 201 "MOVE dir"
expect_eq "$(curl -s "$URL/m/d2/inner/f")" one "content of moved dir"
expect_eq "$(cat "$MNT/m/d2/inner/f")" one "moved dir on the mount"
expect_eq "$(code -X MOVE -H "Destination: $URL/m/d2/inner/x" "$URL/m/d2")" 403 "MOVE dir into itself"
# A clean stop, and nothing from the sanitizers when built with them.
lf_stop || fail "the daemon did not exit cleanly"
if grep -Eq 'Sanitizer|runtime error' "$LOG"; then fail "sanitizer report in the log"; fi
echo ok
