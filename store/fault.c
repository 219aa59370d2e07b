/*
 * fault.c - fault injection for tests: fail the nth write, fsync or SQL
 * step the store performs.
 *
 * The store calls fault_check() at each injection point (blob.c for writes
 * and syncs, index.c for steps on the write connection). Counters are
 * process-wide atomics, so the check costs one atomic add when disarmed.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "landingfs/log.h"

static atomic_ulong fault_at[STORE_FAULT_NR];
static atomic_ulong fault_seen[STORE_FAULT_NR];
static atomic_int fault_err[STORE_FAULT_NR];

/*
 * store_fault_set() arms (n > 0) or disarms (n == 0) the fault of kind and
 * restarts its counter. Thread-safe, but meant to be called between
 * operations.
 */
void store_fault_set(enum store_fault kind, unsigned long n, int err)
{
	if ((unsigned)kind >= STORE_FAULT_NR)
		return;
	atomic_store(&fault_at[kind], 0);
	atomic_store(&fault_err[kind], err > 0 ? err : EIO);
	atomic_store(&fault_seen[kind], 0);
	atomic_store(&fault_at[kind], n);
}

/*
 * store_fault_count() returns how many operations of kind the store has
 * performed since the last store_fault_set() of that kind (armed or not).
 */
unsigned long store_fault_count(enum store_fault kind)
{
	if ((unsigned)kind >= STORE_FAULT_NR)
		return 0;
	return atomic_load(&fault_seen[kind]);
}

/*
 * fault_check() counts one operation of kind and returns -err when it is
 * the armed nth one, else 0. Any thread.
 */
int fault_check(enum store_fault kind)
{
	unsigned long seen = atomic_fetch_add(&fault_seen[kind], 1) + 1;
	unsigned long at = atomic_load(&fault_at[kind]);

	if (at == 0 || seen != at)
		return 0;
	return -atomic_load(&fault_err[kind]);
}

static int parse_errno(const char *s)
{
	static const struct {
		const char *name;
		int err;
	} names[] = {
		{"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EBUSY", EBUSY},
		{"EDQUOT", EDQUOT}, {"EROFS", EROFS}, {"ENOMEM", ENOMEM},
	};
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].err;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v <= 0 || v > 4095)
		return -1;
	return (int)v;
}

/*
 * fault_env() arms a fault from LANDINGFS_FAULT="kind:n:errno" (kind write,
 * fsync or sql; errno a number or EIO, ENOSPC, ...). Returns 0, or -EINVAL
 * after logging when the variable is malformed.
 */
int fault_env(void)
{
	const char *v = getenv("LANDINGFS_FAULT");
	char kind[16], err[16];
	unsigned long n;
	enum store_fault k;
	int e;

	if (!v || !*v)
		return 0;
	if (sscanf(v, "%15[a-z]:%lu:%15s", kind, &n, err) != 3)
		goto bad;
	if (strcmp(kind, "write") == 0)
		k = STORE_FAULT_WRITE;
	else if (strcmp(kind, "fsync") == 0)
		k = STORE_FAULT_FSYNC;
	else if (strcmp(kind, "sql") == 0)
		k = STORE_FAULT_SQL;
	else
		goto bad;
	e = parse_errno(err);
	if (e < 0)
		goto bad;
	store_fault_set(k, n, e);
	lf_log(LOG_NOTICE, "store: fault armed: %s", v);
	return 0;

bad:
	lf_log(LOG_ERR, "store: LANDINGFS_FAULT=\"%s\": want kind:n:errno", v);
	return -EINVAL;
}
