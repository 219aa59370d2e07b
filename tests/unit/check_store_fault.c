/*
 * check_store_fault.c - fault injection: every write, fsync and SQL step of
 * a changing call is failed in turn; after reopening, the store is exactly
 * as before the call (when it failed) or exactly as after it (when it
 * succeeded), never in between, with no leftover blob and a clean fsck.
 */
#include "unit/check_store.h"

/* The common starting point: d/f ("old", with an xattr), g, empty dir e. */
static void base(void)
{
	struct store_attr a;

	ck_assert_int_eq(ts_publish("d/f", "old"), 0);
	ck_assert_int_eq(ts_publish("g", "gee"), 0);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "e", 0755, &a), 0);
	ck_assert_int_eq(store_lookup_path(ts_st, "d/f", &a), 0);
	ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, a.ino, "user.k", "v",
					 1, 0),
			 0);
}

static bool is_file(const char *path, const char *text)
{
	const char *got = ts_cat(path);

	return got && strcmp(got, text) == 0;
}

static bool absent(const char *path)
{
	struct store_attr a;

	return store_lookup_path(ts_st, path, &a) == -ENOENT;
}

static bool base_intact(void)
{
	return is_file("d/f", "old") && is_file("g", "gee");
}

/* Each op: what it does, and which state the store is in afterwards: 0
 * before, 1 after, -1 neither. */
struct fop {
	const char *name;
	int (*run)(void);
	int (*state)(void);
	bool durable;
};

static int run_publish(void)
{
	return ts_publish("d/f", "new contents");
}

static int state_publish(void)
{
	if (is_file("d/f", "old"))
		return 0;
	return is_file("d/f", "new contents") ? 1 : -1;
}

static int run_publish_mkdirs(void)
{
	return ts_publish("x/y/z", "deep");
}

static int state_publish_mkdirs(void)
{
	if (!base_intact())
		return -1;
	if (absent("x"))
		return 0;
	return is_file("x/y/z", "deep") ? 1 : -1;
}

static int run_create(void)
{
	struct store_attr a;

	return store_create(ts_st, &ts_ctx, 1, "c", 0644, &a);
}

static int state_create(void)
{
	if (!base_intact())
		return -1;
	if (absent("c"))
		return 0;
	return is_file("c", "") ? 1 : -1;
}

static int run_mkdir(void)
{
	struct store_attr a;

	return store_mkdir(ts_st, &ts_ctx, 1, "m", 0755, &a);
}

static int state_mkdir(void)
{
	struct store_attr a, root;

	if (!base_intact() || store_getattr(ts_st, 1, &root) < 0)
		return -1;
	if (absent("m"))
		return root.nlink == 4 ? 0 : -1;
	if (store_lookup_path(ts_st, "m", &a) < 0 || !S_ISDIR(a.mode))
		return -1;
	return root.nlink == 5 ? 1 : -1;
}

static int run_rmdir(void)
{
	return store_rmdir(ts_st, &ts_ctx, 1, "e");
}

static int state_rmdir(void)
{
	if (!base_intact())
		return -1;
	return absent("e") ? 1 : 0;
}

static int run_unlink(void)
{
	struct store_attr d;

	if (store_lookup_path(ts_st, "d", &d) < 0)
		return -EIO;
	return store_unlink(ts_st, &ts_ctx, d.ino, "f");
}

static int state_unlink(void)
{
	if (!is_file("g", "gee"))
		return -1;
	if (is_file("d/f", "old"))
		return 0;
	return absent("d/f") ? 1 : -1;
}

static int run_rename(void)
{
	struct store_attr d;

	if (store_lookup_path(ts_st, "d", &d) < 0)
		return -EIO;
	return store_rename(ts_st, &ts_ctx, d.ino, "f", 1, "g", 0);
}

static int state_rename(void)
{
	if (base_intact())
		return 0;
	return absent("d/f") && is_file("g", "old") ? 1 : -1;
}

static int run_exchange(void)
{
	struct store_attr d;

	if (store_lookup_path(ts_st, "d", &d) < 0)
		return -EIO;
	return store_rename(ts_st, &ts_ctx, d.ino, "f", 1, "g",
			    STORE_RENAME_EXCHANGE);
}

static int state_exchange(void)
{
	if (base_intact())
		return 0;
	return is_file("d/f", "gee") && is_file("g", "old") ? 1 : -1;
}

static int run_symlink(void)
{
	struct store_attr a;

	return store_symlink(ts_st, &ts_ctx, 1, "s", "d/f", &a);
}

static int state_symlink(void)
{
	struct store_attr a;
	char buf[16];

	if (!base_intact())
		return -1;
	if (absent("s"))
		return 0;
	if (store_lookup_path(ts_st, "s", &a) < 0 ||
	    store_readlink(ts_st, a.ino, buf, sizeof(buf)) < 0)
		return -1;
	return strcmp(buf, "d/f") == 0 ? 1 : -1;
}

static int run_xattr(void)
{
	struct store_attr a;

	if (store_lookup_path(ts_st, "d/f", &a) < 0)
		return -EIO;
	return store_xattr_set(ts_st, &ts_ctx, a.ino, "user.k", "w", 1,
			       STORE_XATTR_REPLACE);
}

static int state_xattr(void)
{
	struct store_attr a;
	char buf[8];
	size_t len;

	if (!base_intact() || store_lookup_path(ts_st, "d/f", &a) < 0 ||
	    store_xattr_get(ts_st, a.ino, "user.k", buf, sizeof(buf), &len) < 0 ||
	    len != 1)
		return -1;
	return buf[0] == 'v' ? 0 : buf[0] == 'w' ? 1 : -1;
}

static int run_setattr(void)
{
	struct store_attr a, in = {.mode = 0600};

	if (store_lookup_path(ts_st, "g", &a) < 0)
		return -EIO;
	return store_setattr(ts_st, &ts_ctx, a.ino, &in, STORE_SET_MODE, &a);
}

static int state_setattr(void)
{
	struct store_attr a;

	if (!base_intact() || store_lookup_path(ts_st, "g", &a) < 0)
		return -1;
	return (a.mode & 07777) == 0644 ? 0 : (a.mode & 07777) == 0600 ? 1 : -1;
}

static const struct fop fops[] = {
	{"publish", run_publish, state_publish, false},
	{"publish durable", run_publish, state_publish, true},
	{"publish mkdirs", run_publish_mkdirs, state_publish_mkdirs, false},
	{"publish mkdirs durable", run_publish_mkdirs, state_publish_mkdirs,
	 true},
	{"create", run_create, state_create, false},
	{"create durable", run_create, state_create, true},
	{"mkdir", run_mkdir, state_mkdir, false},
	{"rmdir", run_rmdir, state_rmdir, false},
	{"unlink", run_unlink, state_unlink, false},
	{"rename", run_rename, state_rename, false},
	{"exchange", run_exchange, state_exchange, false},
	{"symlink", run_symlink, state_symlink, false},
	{"xattr", run_xattr, state_xattr, false},
	{"setattr", run_setattr, state_setattr, false},
};
#define NFOPS (sizeof(fops) / sizeof(fops[0]))

static const char *const kind_names[] = {"write", "fsync", "sql"};

/* A fresh store in a new directory, with the base state. */
static void fresh(bool durable)
{
	static unsigned seq;
	struct store_opts o = {.durable = durable};

	store_close(&ts_st);
	ts_rm_rf(ts_dir);
	snprintf(ts_dir, sizeof(ts_dir), "%s/f%u-%d", ts_parent, seq++,
		 (int)getpid());
	ck_assert_int_eq(ts_open_opts(&o), 0);
	base();
}

/* Regular files the store should hold blobs for. */
static long count_files(void)
{
	struct store_stats s;

	ck_assert_int_eq(store_stats(ts_st, &s), 0);
	return (long)s.files;
}

static void reopen_and_check(const struct fop *op, const char *what,
			     int expect)
{
	struct store_opts o = {.durable = op->durable};
	int state;

	store_close(&ts_st);
	ck_assert_int_eq(ts_open_opts(&o), 0);
	state = op->state();
	ck_assert_msg(state == expect, "%s: state %d, want %d", what, state,
		      expect);
	ck_assert_msg(ts_fsck_st(ts_st, false, NULL) == 0, "%s: fsck", what);
	ck_assert_msg(ts_count_blobs(ts_dir) == count_files(),
		      "%s: %ld blob files for %ld files", what,
		      ts_count_blobs(ts_dir), count_files());
}

START_TEST(test_fault_every_point)
{
	const struct fop *op = &fops[_i];
	static const int sql_errs[] = {EIO, ENOSPC, EBUSY};
	unsigned long total = 0;
	char what[96];

	for (int k = 0; k < STORE_FAULT_NR; k++) {
		enum store_fault kind = (enum store_fault)k;
		unsigned long points;
		int rc;

		/* Count the points with nothing armed. */
		fresh(op->durable);
		store_fault_set(kind, 0, 0);
		rc = op->run();
		points = store_fault_count(kind);
		snprintf(what, sizeof(what), "%s, %s, unarmed", op->name,
			 kind_names[k]);
		ck_assert_msg(rc == 0, "%s: %d", what, rc);
		reopen_and_check(op, what, 1);
		if (kind == STORE_FAULT_SQL)
			ck_assert_msg(points > 0, "%s: no SQL step", what);

		for (unsigned long n = 1; n <= points; n++) {
			int err = kind == STORE_FAULT_SQL ? sql_errs[n % 3]
							  : (n % 2 ? EIO
								   : ENOSPC);

			fresh(op->durable);
			store_fault_set(kind, n, err);
			rc = op->run();
			snprintf(what, sizeof(what), "%s, %s %lu/%lu (%s)",
				 op->name, kind_names[k], n, points,
				 strerror(err));
			ck_assert_msg(store_fault_count(kind) >= n,
				      "%s: fault did not fire", what);
			store_fault_set(kind, 0, 0);
			ck_assert_msg(rc == 0 || rc == -err, "%s: rc %d", what,
				      rc);
			reopen_and_check(op, what, rc == 0 ? 1 : 0);
			total++;
		}
	}
	/* A durable publish has fsync points; a plain one has none. */
	if (op->durable)
		ck_assert_uint_gt(total, 3);
	store_fault_set(STORE_FAULT_WRITE, 0, 0);
}
END_TEST

/* What a crash leaves: an unlinked inode with its blob, an unreferenced
 * blob file. Made with the store's own calls, then the store is closed. */
static void leave_crash_state(void)
{
	struct store_attr a;
	int fd;

	ck_assert_int_eq(ts_publish("doomed", "x"), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "doomed", &a), 0);
	ck_assert_int_eq(store_blob_open(ts_st, a.ino, O_RDONLY, &fd), 0);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "doomed"), 0);
	close(fd); /* no store_blob_close: as if the process died */
	{
		char path[256];

		/* A linked blob whose publish never committed. */
		snprintf(path, sizeof(path), "%s/blobs/ff", ts_dir);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/blobs/ff/00000000000fffff",
			 ts_dir);
		fd = open(path, O_CREAT | O_WRONLY, 0600);
		ck_assert_int_ge(fd, 0);
		close(fd);
	}
	store_close(&ts_st);
}

START_TEST(test_fault_recovery)
{
	struct store_opts o = {0};
	unsigned long points;
	int failed = 0;

	/* Count the SQL steps of an open that recovers. */
	fresh(false);
	leave_crash_state();
	store_fault_set(STORE_FAULT_SQL, 0, 0);
	ck_assert_int_eq(ts_open_opts(&o), 0);
	points = store_fault_count(STORE_FAULT_SQL);
	ck_assert_uint_gt(points, 3);
	ck_assert_int_eq(ts_count_blobs(ts_dir), 2);

	/* Fail each in turn: that open may fail, the next one finishes. */
	for (unsigned long n = 1; n <= points; n++) {
		int rc;

		fresh(false);
		leave_crash_state();
		store_fault_set(STORE_FAULT_SQL, n, EIO);
		rc = ts_open_opts(&o);
		store_fault_set(STORE_FAULT_SQL, 0, 0);
		ck_assert_msg(rc == 0 || rc == -EIO, "step %lu: %d", n, rc);
		failed += rc < 0;
		if (rc == 0)
			store_close(&ts_st);
		ck_assert_int_eq(ts_open_opts(&o), 0);
		ck_assert_msg(ts_fsck_st(ts_st, false, NULL) == 0, "step %lu", n);
		ck_assert_int_eq(ts_count_blobs(ts_dir), 2);
		ck_assert(base_intact());
		ck_assert(absent("doomed"));
	}
	ck_assert_int_gt(failed, 0);
}
END_TEST

static bool reserve_present(void)
{
	char path[256];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/reserve", ts_dir);
	return stat(path, &sb) == 0 && sb.st_size >= 1024 * 1024;
}

/* On a full disk (ENOSPC at the commit), deletes still go through, on the
 * reserve; other calls fail; the reserve comes back once space is freed. */
START_TEST(test_full_disk_reserve)
{
	struct store_attr a;
	unsigned long k_pub, k_unl;

	ck_assert(reserve_present());
	ck_assert_int_eq(ts_publish("c", "file"), 0);
	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "s%d", i);
		ck_assert_int_eq(store_symlink(ts_st, &ts_ctx, 1, name, "c",
					       &a),
				 0);
	}
	/* The steps of each call; the last one is its COMMIT. */
	store_fault_set(STORE_FAULT_SQL, 0, 0);
	ck_assert_int_eq(ts_publish("p0", "x"), 0);
	k_pub = store_fault_count(STORE_FAULT_SQL);
	store_fault_set(STORE_FAULT_SQL, 0, 0);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "s0"), 0);
	k_unl = store_fault_count(STORE_FAULT_SQL);

	store_fault_set(STORE_FAULT_SQL, k_pub, ENOSPC);
	ck_assert_int_eq(ts_publish("p1", "x"), -ENOSPC);
	ck_assert(absent("p1"));
	ck_assert(reserve_present());

	store_fault_set(STORE_FAULT_SQL, k_unl, ENOSPC);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "s1"), 0);
	ck_assert(absent("s1"));
	ck_assert(!reserve_present()); /* used up; a symlink frees nothing */

	store_fault_set(STORE_FAULT_SQL, k_unl, ENOSPC);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "s2"), -ENOSPC);
	ck_assert(!absent("s2"));

	store_fault_set(STORE_FAULT_SQL, 0, 0);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "c"), 0);
	ck_assert(reserve_present());
	ck_assert_int_eq(ts_fsck_st(ts_st, false, NULL), 0);
}
END_TEST

START_TEST(test_fault_env)
{
	struct store_opts o = {0};
	struct store_attr a;

	store_close(&ts_st);
	setenv("LANDINGFS_FAULT", "write:1:ENOSPC", 1);
	ck_assert_int_eq(ts_open_opts(&o), 0);
	unsetenv("LANDINGFS_FAULT");
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, 1, "c", 0644, &a),
			 -ENOSPC);
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, 1, "c", 0644, &a), 0);
	store_close(&ts_st);
	setenv("LANDINGFS_FAULT", "bogus", 1);
	ck_assert_int_eq(ts_open_opts(&o), -EINVAL);
	/* Armed at open, a fault can hit open itself. */
	setenv("LANDINGFS_FAULT", "sql:1:EBUSY", 1);
	ck_assert_int_eq(ts_open_opts(&o), -EBUSY);
	ck_assert_ptr_null(ts_st);
	unsetenv("LANDINGFS_FAULT");
	ck_assert_int_eq(ts_open_opts(&o), 0);
	store_fault_set(STORE_FAULT_SQL, 0, 0);
}
END_TEST

Suite *store_fault_suite(void);
Suite *store_fault_suite(void)
{
	Suite *s = suite_create("store_fault");
	TCase *tc = ts_tcase("fault", 60);

	tcase_add_loop_test(tc, test_fault_every_point, 0, (int)NFOPS);
	tcase_add_test(tc, test_fault_recovery);
	tcase_add_test(tc, test_full_disk_reserve);
	tcase_add_test(tc, test_fault_env);
	suite_add_tcase(s, tc);
	return s;
}
