/*
 * check_store_basic.c - the store's basic life cycle: open, publish, look
 * up, read back, close, reopen, lock.
 */
#include "unit/check_store.h"

#include <pthread.h>

START_TEST(test_publish_roundtrip)
{
	struct store_attr a, b;
	bool replaced = true;

	ck_assert_int_eq(ts_publish_st(ts_st, "run42/results.tar", "hello", 5,
				       STORE_PUBLISH_MKDIRS, &a, &replaced),
			 0);
	ck_assert(!replaced);
	ck_assert(S_ISREG(a.mode));
	ck_assert_uint_eq(a.size, 5);
	ck_assert_uint_ne(a.blob, 0);
	ck_assert_int_eq(store_lookup_path(ts_st, "run42/results.tar", &b), 0);
	ck_assert_uint_eq(a.ino, b.ino);
	ck_assert_str_eq(ts_cat("/run42/results.tar"), "hello");

	ck_assert_int_eq(ts_publish_st(ts_st, "run42/results.tar", "world!", 6,
				       0, &b, &replaced),
			 0);
	ck_assert(replaced);
	ck_assert_uint_ne(a.ino, b.ino);
	ck_assert_str_eq(ts_cat("run42/results.tar"), "world!");

	ts_reopen();
	ck_assert_str_eq(ts_cat("run42/results.tar"), "world!");
	ck_assert_int_eq(ts_fsck_st(ts_st, false, NULL), 0);
	ck_assert_int_eq(ts_count_blobs(ts_dir), 1);
}
END_TEST

START_TEST(test_lock_busy)
{
	struct store_opts o = {.dir = ts_dir};
	struct store *other = NULL;

	ck_assert_int_eq(store_open(&o, &other), -EBUSY);
	ck_assert_ptr_null(other);
	o.no_lock = true;
	o.no_recover = true;
	ck_assert_int_eq(store_open(&o, &other), 0);
	ck_assert_str_eq(store_dir(other), ts_dir);
	{
		struct store_fsck_result r;

		/* A live store can be checked, not repaired. */
		ck_assert_int_eq(store_fsck(other, false, NULL, NULL, &r), 0);
		ck_assert_int_eq(store_fsck(other, true, NULL, NULL, &r),
				 -EBUSY);
	}
	store_close(&other);
	ck_assert_ptr_null(other);
	store_close(&other); /* accepts NULL */
}
END_TEST

static void *lookup_thread(void *arg)
{
	struct store_attr a;

	(void)arg;
	return (void *)(intptr_t)store_lookup_path(ts_st, "d/f", &a);
}

START_TEST(test_relative_dir_and_threads)
{
	struct store_opts o = {.dir = "rel-store"};
	char cwd[256];
	void *ret;

	/* A relative store path keeps working after a chdir (a daemon
	 * does one), from threads that open their read connection late. */
	store_close(&ts_st);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(ts_parent), 0);
	ck_assert_int_eq(store_open(&o, &ts_st), 0);
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_str_eq(store_dir(ts_st), "rel-store");
	ck_assert_int_eq(ts_publish("d/f", "x"), 0);
	for (int i = 0; i < 20; i++) {
		pthread_t t;

		ck_assert_int_eq(pthread_create(&t, NULL, lookup_thread, NULL),
				 0);
		ck_assert_int_eq(pthread_join(t, &ret), 0);
		ck_assert_int_eq((int)(intptr_t)ret, 0);
	}
	store_close(&ts_st);
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(test_reopen_many)
{
	/* Open and close repeatedly: ids and inode numbers keep growing,
	 * nothing leaks (run under ASan). */
	struct store_attr a;
	uint64_t last_ino = 0, last_blob = 0;

	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(ts_publish_st(ts_st, "f", "x", 1, 0, &a, NULL),
				 0);
		ck_assert_uint_gt(a.ino, last_ino);
		ck_assert_uint_gt(a.blob, last_blob);
		last_ino = a.ino;
		last_blob = a.blob;
		ts_reopen();
	}
	ck_assert_int_eq(ts_count_blobs(ts_dir), 1);
}
END_TEST

Suite *store_basic_suite(void);
Suite *store_basic_suite(void)
{
	Suite *s = suite_create("store_basic");
	TCase *tc = ts_tcase("basic", 20);

	tcase_add_test(tc, test_publish_roundtrip);
	tcase_add_test(tc, test_lock_busy);
	tcase_add_test(tc, test_relative_dir_and_threads);
	tcase_add_test(tc, test_reopen_many);
	suite_add_tcase(s, tc);
	return s;
}
