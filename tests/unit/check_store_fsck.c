/*
 * check_store_fsck.c - fsck and open-time recovery: damage made behind the
 * store's back (blob files deleted, truncated or added, rows edited with
 * SQLite directly) is found, reported and repaired.
 */
#include "unit/check_store.h"

#include <sqlite3.h>
#include <sys/wait.h>

static int lines;

static void count_line(void *arg, const char *line)
{
	(void)arg;
	(void)line;
	lines++;
}

static void blob_path(uint64_t blob, char *buf, size_t size)
{
	snprintf(buf, size, "%s/blobs/%02x/%016llx", ts_dir,
		 (unsigned)(blob & 0xff), (unsigned long long)blob);
}

/* Creates an empty file at path, and its directory when missing. */
static void touch(const char *path)
{
	char dir[256];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	ck_assert_ptr_nonnull(slash);
	*slash = '\0';
	mkdir(dir, 0700);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

/* Runs SQL on the index of the closed store. */
static void sql(const char *text)
{
	char path[256];
	sqlite3 *db;
	char *err = NULL;

	snprintf(path, sizeof(path), "%s/index.db", ts_dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, text, NULL, NULL, &err) == SQLITE_OK,
		      "%s: %s", text, err ? err : "?");
	sqlite3_close(db);
}

START_TEST(test_healthy)
{
	struct store_fsck_result r;

	ck_assert_int_eq(ts_publish("a/b/c", "1"), 0);
	ck_assert_int_eq(ts_publish("a/d", "2"), 0);
	lines = 0;
	ck_assert_int_eq(store_fsck(ts_st, false, count_line, NULL, &r), 0);
	ck_assert_int_eq(lines, 0);
	ck_assert_uint_eq(r.missing_blobs + r.orphan_blobs + r.staging_left +
				  r.bad_rows + r.repaired,
			  0);
}
END_TEST

START_TEST(test_missing_blob)
{
	struct store_fsck_result r;
	struct store_attr a;
	char path[256];

	ck_assert_int_eq(ts_publish("keep", "1"), 0);
	ck_assert_int_eq(ts_publish("lost", "2"), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "lost", &a), 0);
	blob_path(a.blob, path, sizeof(path));
	ck_assert_int_eq(unlink(path), 0);

	lines = 0;
	ck_assert_int_eq(store_fsck(ts_st, false, count_line, NULL, &r), 0);
	ck_assert_uint_eq(r.missing_blobs, 1);
	ck_assert_uint_eq(r.repaired, 0);
	ck_assert_int_eq(lines, 1);
	/* Reopening only reports it. */
	ts_reopen();
	ck_assert_int_eq(store_lookup(ts_st, 1, "lost", &a), 0);
	ck_assert_int_eq(store_fsck(ts_st, true, count_line, NULL, &r), 0);
	ck_assert_uint_eq(r.missing_blobs, 1);
	ck_assert_uint_eq(r.repaired, 1);
	ck_assert_int_eq(store_lookup(ts_st, 1, "lost", &a), -ENOENT);
	ck_assert_str_eq(ts_cat("keep"), "1");
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 0);
}
END_TEST

START_TEST(test_dangling_rows)
{
	struct store_fsck_result r;
	struct store_attr a;

	ck_assert_int_eq(ts_publish("d/f", "1"), 0);
	ck_assert_int_eq(store_lookup_path(ts_st, "d", &a), 0);
	store_close(&ts_st);
	/* A row whose parent does not exist, and a directory deleted under
	 * its entry (which then dangles too). */
	sql("INSERT INTO inode (parent, name, mode, nlink, uid, gid, size, "
	    "atime_ns, mtime_ns, ctime_ns) VALUES (9999, x'61', 16877, 2, "
	    "0, 0, 0, 0, 0, 0)");
	sql("DELETE FROM inode WHERE name = x'64'");
	ts_reopen();
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 2);
	ck_assert_uint_eq(r.bad_rows, 2);
	/* Repair removes both rows; the file's blob is then an orphan,
	 * reclaimed in the same run. */
	ck_assert_int_eq(ts_fsck_st(ts_st, true, &r), 3);
	ck_assert_uint_eq(r.bad_rows, 2);
	ck_assert_uint_eq(r.orphan_blobs, 1);
	ck_assert_uint_eq(r.repaired, 3);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 0);
	ck_assert_int_eq(ts_count_blobs(ts_dir), 0);
}
END_TEST

START_TEST(test_directory_loop)
{
	struct store_fsck_result r;
	struct store_attr a, b;
	char text[256];

	ck_assert_int_eq(ts_publish("a/b/f", "1"), 0);
	ck_assert_int_eq(ts_publish("keep", "2"), 0);
	ck_assert_int_eq(store_lookup_path(ts_st, "a", &a), 0);
	ck_assert_int_eq(store_lookup_path(ts_st, "a/b", &b), 0);
	store_close(&ts_st);
	/* a's parent becomes b: a and b loop, f hangs below. */
	snprintf(text, sizeof(text), "UPDATE inode SET parent = %llu "
		 "WHERE ino = %llu", (unsigned long long)b.ino,
		 (unsigned long long)a.ino);
	sql(text);
	ts_reopen();
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 3);
	ck_assert_uint_eq(r.bad_rows, 3);
	ck_assert_int_eq(ts_fsck_st(ts_st, true, &r), 4); /* and f's blob */
	ck_assert_uint_eq(r.orphan_blobs, 1);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 0);
	ck_assert_str_eq(ts_cat("keep"), "2");
	ck_assert_int_eq(ts_count_blobs(ts_dir), 1);
}
END_TEST

START_TEST(test_orphan_and_stray)
{
	struct store_fsck_result r;
	char path[256];

	ck_assert_int_eq(ts_publish("f", "1"), 0);
	/* A blob file no row references, and a stray name. */
	blob_path(0xabcdef01, path, sizeof(path));
	touch(path);
	snprintf(path, sizeof(path), "%s/blobs/07/junk", ts_dir);
	touch(path);

	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 2);
	ck_assert_uint_eq(r.orphan_blobs, 1);
	ck_assert_uint_eq(r.staging_left, 1);
	ck_assert_int_eq(ts_count_blobs(ts_dir), 3);
	ck_assert_int_eq(ts_fsck_st(ts_st, true, &r), 2);
	ck_assert_uint_eq(r.repaired, 2);
	ck_assert_int_eq(ts_count_blobs(ts_dir), 1);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 0);
	/* New ids start above the orphan's. */
	{
		struct store_attr a;

		ck_assert_int_eq(ts_publish_st(ts_st, "g", "2", 1, 0, &a,
					       NULL),
				 0);
		ck_assert_uint_gt(a.blob, 0xabcdef01);
	}
}
END_TEST

START_TEST(test_size_mismatch)
{
	struct store_fsck_result r;
	struct store_attr a;
	char path[256];

	ck_assert_int_eq(ts_publish("f", "123456"), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "f", &a), 0);
	blob_path(a.blob, path, sizeof(path));
	ck_assert_int_eq(truncate(path, 2), 0);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 1);
	ck_assert_uint_eq(r.bad_rows, 1);
	ck_assert_int_eq(ts_fsck_st(ts_st, true, &r), 1);
	ck_assert_int_eq(store_lookup(ts_st, 1, "f", &a), 0);
	ck_assert_uint_eq(a.size, 2);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 0);
}
END_TEST

START_TEST(test_unclean_sizes)
{
	struct store_fsck_result r;
	struct store_attr a;
	char buf[2000];
	int status;
	pid_t pid;

	ck_assert_int_eq(ts_publish("pub", "published"), 0);
	store_close(&ts_st);
	/* A process writes in place, notes only part of it, and dies. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct store_opts o = {.dir = ts_dir};
		struct store *st;
		int fd;

		memset(buf, 'w', sizeof(buf));
		if (store_open(&o, &st) < 0 ||
		    store_create(st, &ts_ctx, 1, "local", 0644, &a) < 0 ||
		    store_blob_open(st, a.ino, O_WRONLY, &fd) < 0 ||
		    write(fd, buf, 1000) != 1000 ||
		    store_note_write(st, a.ino, 10, 0) < 0 ||
		    write(fd, buf, 500) != 500)
			_exit(1);
		_exit(0); /* no close: as if killed */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Recovery after the unclean stop makes the row follow the blob. */
	ts_reopen();
	ck_assert_int_eq(store_lookup(ts_st, 1, "local", &a), 0);
	ck_assert_uint_eq(a.size, 1500);
	ck_assert_int_eq(ts_read_st(ts_st, a.ino, buf, sizeof(buf)), 1500);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 0);
	ck_assert_str_eq(ts_cat("pub"), "published");

	/* After a clean close, a blob changed behind the store's back is
	 * not silently accepted: fsck reports it. */
	{
		char path[256];

		ck_assert_int_eq(store_lookup(ts_st, 1, "pub", &a), 0);
		blob_path(a.blob, path, sizeof(path));
		ck_assert_int_eq(truncate(path, 3), 0);
	}
	ts_reopen();
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 1);
	ck_assert_uint_eq(r.bad_rows, 1);
}
END_TEST

START_TEST(test_recover_on_open)
{
	struct store_fsck_result r;
	char path[256];

	ck_assert_int_eq(ts_publish("f", "1"), 0);
	store_close(&ts_st);
	/* What a crash can leave: an unreferenced blob, an unlinked inode
	 * with its blob. */
	blob_path(0x1234, path, sizeof(path));
	touch(path);
	blob_path(0x1235, path, sizeof(path));
	touch(path);
	sql("INSERT INTO inode (parent, name, mode, nlink, uid, gid, size, "
	    "atime_ns, mtime_ns, ctime_ns, blob) VALUES (NULL, NULL, 33188, "
	    "0, 0, 0, 0, 0, 0, 0, 4661)");
	ck_assert_int_eq(ts_count_blobs(ts_dir), 3);
	ts_reopen();
	ck_assert_int_eq(ts_count_blobs(ts_dir), 1);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 0);
	ck_assert_str_eq(ts_cat("f"), "1");
}
END_TEST

START_TEST(test_staging_dir)
{
	struct store_opts o = {0};
	struct store_fsck_result r;
	struct store_stage *sg;
	char path[256];

	/* Without O_TMPFILE, staging happens in STORE/staging. */
	store_close(&ts_st);
	setenv("LANDINGFS_NO_TMPFILE", "1", 1);
	ck_assert_int_eq(ts_open_opts(&o), 0);
	ck_assert_int_eq(ts_publish("a/f", "fallback"), 0);
	ck_assert_str_eq(ts_cat("a/f"), "fallback");
	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	store_stage_abort(&sg);
	/* A staging file of a live process (this one) is not a leftover
	 * for fsck; one of a dead process is. */
	snprintf(path, sizeof(path), "%s/staging/%d-77", ts_dir, (int)getpid());
	touch(path);
	snprintf(path, sizeof(path), "%s/staging/999999999-1", ts_dir);
	touch(path);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 1);
	ck_assert_uint_eq(r.staging_left, 1);
	/* At open, every staging file goes: no stage survives a close. */
	store_close(&ts_st);
	ck_assert_int_eq(ts_open_opts(&o), 0);
	snprintf(path, sizeof(path), "%s/staging", ts_dir);
	{
		DIR *d = opendir(path);
		struct dirent *de;
		int n = 0;

		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d)))
			n += de->d_name[0] != '.';
		closedir(d);
		ck_assert_int_eq(n, 0);
	}
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &r), 0);
	ck_assert_str_eq(ts_cat("a/f"), "fallback");
	unsetenv("LANDINGFS_NO_TMPFILE");
}
END_TEST

START_TEST(test_schema_newer)
{
	struct store_opts o = {0};

	store_close(&ts_st);
	sql("PRAGMA user_version = 99");
	ck_assert_int_eq(ts_open_opts(&o), -EPROTO);
	ck_assert_ptr_null(ts_st);
}
END_TEST

Suite *store_fsck_suite(void);
Suite *store_fsck_suite(void)
{
	Suite *s = suite_create("store_fsck");
	TCase *tc = ts_tcase("fsck", 30);

	tcase_add_test(tc, test_healthy);
	tcase_add_test(tc, test_missing_blob);
	tcase_add_test(tc, test_dangling_rows);
	tcase_add_test(tc, test_directory_loop);
	tcase_add_test(tc, test_orphan_and_stray);
	tcase_add_test(tc, test_size_mismatch);
	tcase_add_test(tc, test_unclean_sizes);
	tcase_add_test(tc, test_recover_on_open);
	tcase_add_test(tc, test_staging_dir);
	tcase_add_test(tc, test_schema_newer);
	suite_add_tcase(s, tc);
	return s;
}
