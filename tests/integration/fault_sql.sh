#!/usr/bin/env bash
# fault_sql.sh - SQLite errors at every step of a publish.
# timeout: 240
#
# The store's fault hook (LANDINGFS_FAULT=sql:N:ERR in the daemon's
# environment, include/landingfs/store.h) fails the Nth SQLite step on the
# write connection. For N = 1, 2, ... and ERR = EIO (an I/O error), ENOSPC
# (a full disk during the index commit) and EBUSY, on a fresh copy of the same
# store, the daemon starts and serves: a new upload, an upload replacing a
# file, a DELETE and a local write through the mount. Whichever step fails:
# the daemon does not crash (a failed start exits with an error); each
# request either succeeds or fails with a clear 5xx (507 for ENOSPC in an
# upload); a failed upload or replace is not visible and leaves the old
# file intact; a failed DELETE leaves the file; everything acknowledged is
# there, byte for byte; after a clean stop fsck is clean. The loop ends
# when twenty N in a row hit nothing the requests could see (bounded).
. "$(dirname "$0")/lib.sh"

: "${LANDINGCTL:?LANDINGCTL must name landingctl}"
MAXN=${LF_FAULT_MAXN:-80}

lf_setup
printf 'old version\n' >"$T/old"
printf 'the new file\n' >"$T/new"
printf 'replacement\n' >"$T/repl"
printf 'to be deleted\n' >"$T/del"

# The template store: keep and del exist.
lf_start
curl -sf -o /dev/null -T "$T/old" "$URL/d/keep" || fail "template: upload keep"
curl -sf -o /dev/null -T "$T/del" "$URL/d/del" || fail "template: upload del"
lf_stop || fail "template: stop"
cp -a "$STORE" "$T/template"

code() { curl -s -m 20 -o "$T/reply" -w '%{http_code}' "$@" || true; }

# run_one ERR N: one daemon run with the Nth step failing; prints
# "hit" when a request saw the fault, "start" when the start failed, or
# "clean".
run_one() {
	local err=$1 n=$2 put del rep loc hit=0 i
	rm -rf "$STORE"
	cp -a "$T/template" "$STORE"
	: >"$LOG"
	LANDINGFS_FAULT="sql:$n:$err" "$LANDINGFS" -f --store "$STORE" \
		-o "listen=127.0.0.1:$PORT" "$MNT" >>"$LOG" 2>&1 &
	LF_PID=$!
	for i in $(seq 1 100); do
		if ! kill -0 "$LF_PID" 2>/dev/null; then
			local rc=0
			wait "$LF_PID" || rc=$?
			LF_PID=""
			[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] ||
				fail "sql:$n:$err: the daemon ended with status $rc during start-up: $(tail -n 5 "$LOG")"
			mountpoint -q "$MNT" && fusermount3 -uz "$MNT"
			echo start
			return 0
		fi
		mountpoint -q "$MNT" && curl -s -o /dev/null "$URL/.landing/health" && break
		sleep 0.1
	done
	[ "$i" -lt 100 ] || fail "sql:$n:$err: the daemon neither started nor failed in 10 s"

	put=$(code -T "$T/new" "$URL/d/new")
	rep=$(code -T "$T/repl" "$URL/d/keep")
	del=$(code -X DELETE "$URL/d/del")
	if printf 'local\n' >"$MNT/d/loc" 2>/dev/null; then loc=ok; else loc=err; fi
	kill -0 "$LF_PID" 2>/dev/null || fail "sql:$n:$err: the daemon died (put $put, replace $rep, delete $del)"

	# Each answer is a success or a clear 5xx; ENOSPC in an upload is 507.
	for s in "$put" "$rep" "$del"; do
		[[ "$s" =~ ^(200|201|204|500|503|507)$ ]] ||
			fail "sql:$n:$err: status $s (put $put, replace $rep, delete $del)"
	done
	if [ "$err" = ENOSPC ]; then
		for s in "$put" "$rep"; do
			[[ "$s" =~ ^(2..|507)$ ]] ||
				fail "sql:$n:ENOSPC: an upload failing on a full disk got $s, want 507"
		done
	fi
	[[ "$put$rep$del" =~ ^(201|204|200)+$ ]] && [ "$loc" = ok ] || hit=1

	# What the clients were told is what the store holds.
	case "$put" in
	201) cmp -s "$T/new" "$MNT/d/new" || fail "sql:$n:$err: acknowledged new file missing or damaged" ;;
	*) [ ! -e "$MNT/d/new" ] || fail "sql:$n:$err: a failed upload ($put) is visible" ;;
	esac
	case "$rep" in
	204) cmp -s "$T/repl" "$MNT/d/keep" || fail "sql:$n:$err: acknowledged replacement missing" ;;
	*) cmp -s "$T/old" "$MNT/d/keep" || fail "sql:$n:$err: a failed replace ($rep) changed the file" ;;
	esac
	case "$del" in
	20?) [ ! -e "$MNT/d/del" ] || fail "sql:$n:$err: deleted file still visible" ;;
	*) cmp -s "$T/del" "$MNT/d/del" || fail "sql:$n:$err: a failed DELETE ($del) damaged the file" ;;
	esac
	curl -sf -o "$T/got" "$URL/d/keep" || fail "sql:$n:$err: GET keep after the fault"
	cmp -s "$T/got" "$MNT/d/keep" || fail "sql:$n:$err: HTTP and the mount disagree on keep"
	# The store works again after the fault (which may fall on this
	# upload when N is large: it fires once, so the second must pass).
	s=$(code -T "$T/new" "$URL/d/after")
	if [ "$s" != 201 ]; then
		hit=1
		[[ "$s" =~ ^(500|503|507)$ ]] || fail "sql:$n:$err: an upload after the fault got $s"
		s=$(code -T "$T/new" "$URL/d/after")
		[ "$s" = 201 ] || fail "sql:$n:$err: an upload after the fault got $s"
	fi

	lf_stop || fail "sql:$n:$err: the daemon did not stop cleanly"
	"$LANDINGCTL" fsck "$STORE" >"$T/fsck.out" 2>&1 ||
		{ cat "$T/fsck.out" >&2; fail "sql:$n:$err: fsck"; }
	[ "$hit" = 1 ] && echo "hit put=$put rep=$rep del=$del loc=$loc" || echo clean
}

# EBUSY every third N: the store may retry a busy step, so it need not
# reach a request at all; EIO and ENOSPC at every N.
for spec in EIO:1 ENOSPC:1 EBUSY:3; do
	err=${spec%:*}
	quiet=0 starts=0 hits=0
	for n in $(seq 1 "${spec#*:}" "$MAXN"); do
		# Not in $(...): the daemon's pid must stay in this shell.
		run_one "$err" "$n" >"$T/result"
		r=$(cat "$T/result")
		case "$r" in
		start) starts=$((starts + 1)); quiet=0 ;;
		hit*) hits=$((hits + 1)); quiet=0; note "sql:$n:$err: $r" ;;
		clean) quiet=$((quiet + 1)) ;;
		*) fail "sql:$n:$err: $r" ;;
		esac
		[ "$quiet" -ge 20 ] && break
	done
	[ "$hits" -ge 1 ] || [ "$err" = EBUSY ] ||
		fail "$err: no injected fault ever reached a request"
	note "$err: N = 1..$n: $starts failed starts, $hits runs where requests saw the fault"
done
echo "fault_sql: every SQLite step of a publish failed once, cleanly"
