#!/usr/bin/env bash
# fs_notify.sh - a change made behind the kernel's back (an HTTP upload,
# published by the network side) is visible through the mount at once,
# although the kernel was told to cache names, attributes and missing names
# for a minute: the notifier thread invalidates them, within milliseconds of
# the commit (asynchronously: the checks allow one second, against the
# minute a missing invalidation would show). With publish=store the
# network side publishes in the store alone (only the notifier tells the
# kernel); with publish=mount it renames through the mount.
# timeout: 60
. "$(dirname "$0")/lib.sh"
lf_setup
# soon WHAT CMD...: CMD must succeed within a second.
soon() {
	local what=$1
	shift
	for _ in $(seq 1 20); do
		"$@" && return 0
		sleep 0.05
	done
	fail "$what: not within a second"
}
is() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
size_is() { [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]; }
listing_is() { [ "$(ls "$1" | tr '\n' ' ')" = "$2" ]; }
gone() { [ ! -e "$1" ]; }
for publish in store mount; do
	lf_start -o entry_timeout=60,attr_timeout=60,negative_timeout=60,publish=$publish
	rm -rf "$MNT/dir"
	mkdir "$MNT/dir"
	# Cache a missing name, then upload it.
	[ ! -e "$MNT/dir/new" ] || fail "dir/new exists before the upload"
	printf 'first' > "$T/first"
	curl -sf -T "$T/first" "$URL/dir/new" -o /dev/null || fail "PUT dir/new"
	soon "a new upload" is "$MNT/dir/new" first
	# Cache the file's name, attributes and contents, then replace it.
	stat "$MNT/dir/new" > /dev/null
	printf 'second, longer' > "$T/second"
	curl -sf -T "$T/second" "$URL/dir/new" -o /dev/null || fail "PUT dir/new again"
	soon "a replacing upload" is "$MNT/dir/new" "second, longer"
	soon "size after the replacing upload" size_is "$MNT/dir/new" 14
	expect_eq "$(getfattr --absolute-names --only-values -n user.landing.origin "$MNT/dir/new")" net "origin"
	# Cached listing of the directory.
	expect_eq "$(ls "$MNT/dir" | tr '\n' ' ')" "new " "listing"
	curl -sf -T "$T/first" "$URL/dir/other" -o /dev/null || fail "PUT dir/other"
	soon "listing after an upload" listing_is "$MNT/dir" "new other "
	# A removal over HTTP.
	curl -sf -X DELETE "$URL/dir/other" -o /dev/null || fail "DELETE dir/other"
	soon "removal after DELETE" gone "$MNT/dir/other"
	lf_stop || fail "daemon exit status"
done
echo "fs_notify: ok"
