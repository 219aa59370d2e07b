/*
 * check_store.h - helpers shared by the store's unit tests
 * (tests/unit/check_store_*.c): a temporary store per test, publishing a
 * buffer, reading a file back, removing a tree.
 *
 * Each TCase gets a parent directory from an unchecked fixture (created and
 * removed in check's parent process, so it goes even when a test fails);
 * each test opens its store in a fresh subdirectory of it.
 */
#ifndef LANDINGFS_CHECK_STORE_H
#define LANDINGFS_CHECK_STORE_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "landingfs/store.h"

/* The TCase's parent directory, and the current test's store. */
static char ts_parent[64];
static char ts_dir[128];
static struct store *ts_st;
static const struct store_ctx ts_ctx = {1000, 1000, STORE_ORIGIN_LOCAL};
static const struct store_ctx ts_net = {0, 0, STORE_ORIGIN_NET};

static inline int ts_rm_one(const char *path, const struct stat *sb, int flag,
			    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* ts_rm_rf() removes a tree. */
static inline void ts_rm_rf(const char *path)
{
	if (path[0])
		nftw(path, ts_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Unchecked fixture: the parent directory of a TCase. */
static inline void ts_parent_setup(void)
{
	snprintf(ts_parent, sizeof(ts_parent), "/tmp/lfstore-test-XXXXXX");
	if (!mkdtemp(ts_parent))
		abort();
}

static inline void ts_parent_teardown(void)
{
	ts_rm_rf(ts_parent);
}

/* ts_open_opts() opens the store in ts_dir with opts (dir filled in). */
static inline int ts_open_opts(struct store_opts *opts)
{
	opts->dir = ts_dir;
	return store_open(opts, &ts_st);
}

static inline void ts_reopen(void)
{
	struct store_opts o = {0};

	store_close(&ts_st);
	ck_assert_int_eq(ts_open_opts(&o), 0);
}

/* Checked fixture: a fresh store for each test. */
static inline void ts_setup(void)
{
	static unsigned seq;
	struct store_opts o = {0};

	snprintf(ts_dir, sizeof(ts_dir), "%s/s%u-%d", ts_parent, seq++,
		 (int)getpid());
	ck_assert_int_eq(ts_open_opts(&o), 0);
}

static inline void ts_teardown(void)
{
	store_close(&ts_st);
	ts_rm_rf(ts_dir);
}

/* ts_tcase() makes a TCase with both fixtures and a time bound. */
static inline TCase *ts_tcase(const char *name, double timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, ts_parent_setup, ts_parent_teardown);
	tcase_add_checked_fixture(tc, ts_setup, ts_teardown);
	tcase_set_timeout(tc, timeout);
	return tc;
}

static inline int ts_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ts_publish() stages len bytes of data and publishes them at path. */
static inline int ts_publish_st(struct store *st, const char *path,
				const void *data, size_t len, unsigned flags,
				struct store_attr *out, bool *replaced)
{
	struct store_publish pub = {0};
	struct store_stage *sg;
	int rc;

	rc = store_stage_begin(st, &sg);
	if (rc < 0)
		return rc;
	rc = ts_write_all(store_stage_fd(sg), data, len);
	if (rc < 0) {
		store_stage_abort(&sg);
		return rc;
	}
	pub.path = path;
	pub.flags = flags;
	pub.mode = 0644;
	rc = store_publish(st, &ts_net, &sg, &pub, out, replaced);
	if (sg)
		abort(); /* publish must consume the stage */
	return rc;
}

static inline int ts_publish(const char *path, const char *text)
{
	return ts_publish_st(ts_st, path, text, strlen(text),
			     STORE_PUBLISH_MKDIRS, NULL, NULL);
}

/* ts_read() reads up to size bytes of file ino; returns the count or
 * -errno. */
static inline ssize_t ts_read_st(struct store *st, uint64_t ino, void *buf,
				 size_t size)
{
	size_t got = 0;
	int fd, rc;

	rc = store_blob_open(st, ino, O_RDONLY, &fd);
	if (rc < 0)
		return rc;
	while (got < size) {
		ssize_t n = pread(fd, (char *)buf + got, size - got,
				  (off_t)got);

		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	store_blob_close(st, ino, fd);
	return rc < 0 ? rc : (ssize_t)got;
}

/* ts_cat() returns the contents of the file at path as a static string,
 * or NULL when it cannot be read. */
static inline const char *ts_cat(const char *path)
{
	static char buf[4096];
	struct store_attr a;
	ssize_t n;

	if (store_lookup_path(ts_st, path, &a) < 0)
		return NULL;
	n = ts_read_st(ts_st, a.ino, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* ts_fsck() runs fsck without printing; returns the number of problems
 * found (all counters but repaired), or a negative errno. */
static inline void ts_fsck_quiet(void *arg, const char *line)
{
	(void)arg;
	(void)line;
}

static inline long ts_fsck_st(struct store *st, bool repair,
			      struct store_fsck_result *res)
{
	struct store_fsck_result r;
	int rc;

	if (!res)
		res = &r;
	rc = store_fsck(st, repair, ts_fsck_quiet, NULL, res);
	if (rc < 0)
		return rc;
	return (long)(res->missing_blobs + res->orphan_blobs +
		      res->staging_left + res->bad_rows);
}

/* ts_count_blobs() counts the blob files on disk under dir/blobs. */
static inline long ts_count_blobs(const char *dir)
{
	char path[256];
	long n = 0;

	for (unsigned i = 0; i < 256; i++) {
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "%s/blobs/%02x", dir, i);
		d = opendir(path);
		if (!d && errno == ENOENT)
			continue; /* made on first use */
		if (!d)
			return -1;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
	}
	return n;
}

#endif /* LANDINGFS_CHECK_STORE_H */
