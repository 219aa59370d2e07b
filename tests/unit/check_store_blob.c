/*
 * check_store_blob.c - file contents and metadata: blob open/close,
 * open-unlinked and open-replaced files, writes in place, staging abort,
 * xattrs, landing metadata, sha-256, statfs, stats, the change hook.
 */
#include "unit/check_store.h"

#include <linux/fs.h>
#include <pthread.h>
#include <sys/ioctl.h>

START_TEST(test_write_in_place)
{
	struct store_attr f, g;
	struct stat sb;
	int fd;

	ck_assert_int_eq(store_create(ts_st, &ts_ctx, 1, "f", 0644, &f), 0);
	ck_assert_int_eq(store_blob_open(ts_st, f.ino, O_RDWR, &fd), 0);
	ck_assert_int_eq(ts_write_all(fd, "abcdef", 6), 0);
	ck_assert_int_eq(store_blob_sync(ts_st, fd, true), 0);
	ck_assert_int_eq(store_blob_sync(ts_st, fd, false), 0);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_int_eq(store_note_write(ts_st, f.ino, (uint64_t)sb.st_size,
					  777),
			 0);
	store_blob_close(ts_st, f.ino, fd);
	ck_assert_int_eq(store_getattr(ts_st, f.ino, &g), 0);
	ck_assert_uint_eq(g.size, 6);
	ck_assert_int_eq(g.mtime_ns, 777);
	ck_assert_str_eq(ts_cat("f"), "abcdef");
	ck_assert_int_eq(store_note_write(ts_st, 4242, 1, 1), -ENOENT);

	/* O_TRUNC empties the blob. */
	ck_assert_int_eq(store_blob_open(ts_st, f.ino, O_WRONLY | O_TRUNC, &fd),
			 0);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);
	store_blob_close(ts_st, f.ino, fd);
	ck_assert_int_eq(store_blob_open(ts_st, 4242, O_RDONLY, &fd), -ENOENT);
}
END_TEST

START_TEST(test_open_unlinked)
{
	struct store_attr f, g;
	char buf[16];
	int fd;
	ssize_t n;

	ck_assert_int_eq(ts_publish("f", "keep me"), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "f", &f), 0);
	ck_assert_int_eq(store_blob_open(ts_st, f.ino, O_RDONLY, &fd), 0);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "f"), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "f", &g), -ENOENT);
	/* The inode lives on, unlinked, with its blob. */
	ck_assert_int_eq(store_getattr(ts_st, f.ino, &g), 0);
	ck_assert_uint_eq(g.nlink, 0);
	ck_assert_uint_eq(g.parent, 0);
	ck_assert_int_eq(ts_count_blobs(ts_dir), 1);
	n = pread(fd, buf, sizeof(buf), 0);
	ck_assert_int_eq(n, 7);
	ck_assert_int_eq(memcmp(buf, "keep me", 7), 0);
	/* fsck of a live store accepts an open orphan. */
	ck_assert_int_eq(ts_fsck_st(ts_st, false, NULL), 0);
	{
		struct store_stats s;

		ck_assert_int_eq(store_stats(ts_st, &s), 0);
		ck_assert_uint_eq(s.files, 0);
	}
	store_blob_close(ts_st, f.ino, fd);
	ck_assert_int_eq(store_getattr(ts_st, f.ino, &g), -ENOENT);
	ck_assert_int_eq(ts_count_blobs(ts_dir), 0);
}
END_TEST

START_TEST(test_open_replaced)
{
	struct store_attr f, g;
	char buf[16];
	int fd, fd2;

	ck_assert_int_eq(ts_publish("f", "old"), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "f", &f), 0);
	ck_assert_int_eq(store_blob_open(ts_st, f.ino, O_RDONLY, &fd), 0);
	ck_assert_int_eq(store_blob_open(ts_st, f.ino, O_RDONLY, &fd2), 0);
	ck_assert_int_eq(ts_publish("f", "new"), 0);
	ck_assert_str_eq(ts_cat("f"), "new");
	ck_assert_int_eq(ts_count_blobs(ts_dir), 2);
	store_blob_close(ts_st, f.ino, fd2);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), 3);
	ck_assert_int_eq(memcmp(buf, "old", 3), 0);
	ck_assert_int_eq(ts_count_blobs(ts_dir), 2);
	store_blob_close(ts_st, f.ino, fd);
	ck_assert_int_eq(store_getattr(ts_st, f.ino, &g), -ENOENT);
	ck_assert_int_eq(ts_count_blobs(ts_dir), 1);
}
END_TEST

START_TEST(test_orphan_after_crash)
{
	struct store_attr f, g;
	int fd;

	/* An orphan left open at "crash" (close without releasing) is
	 * dropped by recovery at the next open. */
	ck_assert_int_eq(ts_publish("f", "gone"), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "f", &f), 0);
	ck_assert_int_eq(store_blob_open(ts_st, f.ino, O_RDONLY, &fd), 0);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "f"), 0);
	close(fd);
	ts_reopen();
	ck_assert_int_eq(store_getattr(ts_st, f.ino, &g), -ENOENT);
	ck_assert_int_eq(ts_count_blobs(ts_dir), 0);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, NULL), 0);
}
END_TEST

START_TEST(test_stage_abort)
{
	struct store_stage *sg = NULL;

	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	ck_assert_int_ge(store_stage_fd(sg), 0);
	ck_assert_int_eq(ts_write_all(store_stage_fd(sg), "zzz", 3), 0);
	store_stage_abort(&sg);
	ck_assert_ptr_null(sg);
	store_stage_abort(&sg);
	store_stage_abort(NULL);
	ck_assert_int_eq(ts_count_blobs(ts_dir), 0);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, NULL), 0);
}
END_TEST

/* Where the file system takes FS_TOPDIR_FL (ext4), STORE/blobs carries it,
 * so that ext4 spreads its subdirectories over block groups; and staging
 * takes the subdirectories in turn, so new inodes follow (blob.c, STAGED):
 * consecutive staged blobs are not all made in one directory's group. */
START_TEST(test_stage_spread)
{
	char path[256];
	struct store_stage *sg[2] = {NULL, NULL};
	struct stat sb;
	int fd, flags = 0, probe;

	snprintf(path, sizeof(path), "%s/probe-topdir", ts_parent);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	probe = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(probe, 0);
	flags = FS_TOPDIR_FL;
	if (ioctl(probe, FS_IOC_SETFLAGS, &flags) == 0) {
		snprintf(path, sizeof(path), "%s/blobs", ts_dir);
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(ioctl(fd, FS_IOC_GETFLAGS, &flags), 0);
		ck_assert(flags & FS_TOPDIR_FL);
		close(fd);
	}
	close(probe);
	snprintf(path, sizeof(path), "%s/probe-topdir", ts_parent);
	rmdir(path);

	/* Two stages in a row go to two subdirectories: each makes its
	 * subdirectory, so two exist after them. */
	ck_assert_int_eq(store_stage_begin(ts_st, &sg[0]), 0);
	ck_assert_int_eq(store_stage_begin(ts_st, &sg[1]), 0);
	fd = 0;
	for (unsigned k = 0; k < 256; k++) {
		snprintf(path, sizeof(path), "%s/blobs/%02x", ts_dir, k);
		if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			fd++;
	}
	ck_assert_int_eq(fd, 2);
	store_stage_abort(&sg[0]);
	store_stage_abort(&sg[1]);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, NULL), 0);
}
END_TEST

START_TEST(test_xattr)
{
	struct store_attr f, g;
	char buf[64];
	size_t len;

	ck_assert_int_eq(ts_publish("f", "x"), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "f", &f), 0);
	ck_assert_int_eq(store_xattr_get(ts_st, f.ino, "user.a", buf,
					 sizeof(buf), &len),
			 -ENODATA);
	ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, f.ino, "user.a",
					 "12345", 5, 0),
			 0);
	ck_assert_int_eq(store_getattr(ts_st, f.ino, &g), 0);
	ck_assert_int_ge(g.ctime_ns, f.ctime_ns);
	ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, f.ino, "user.b", "",
					 0, STORE_XATTR_CREATE),
			 0);
	ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, f.ino, "user.b", "x",
					 1, STORE_XATTR_CREATE),
			 -EEXIST);
	ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, f.ino, "user.c", "x",
					 1, STORE_XATTR_REPLACE),
			 -ENODATA);
	ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, f.ino, "user.a",
					 "67", 2, STORE_XATTR_REPLACE),
			 0);
	ck_assert_int_eq(store_xattr_get(ts_st, f.ino, "user.a", buf, 0, &len),
			 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(store_xattr_get(ts_st, f.ino, "user.a", buf, 1, &len),
			 -ERANGE);
	ck_assert_int_eq(store_xattr_get(ts_st, f.ino, "user.a", buf,
					 sizeof(buf), &len),
			 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(memcmp(buf, "67", 2), 0);
	ck_assert_int_eq(store_xattr_get(ts_st, f.ino, "user.b", buf,
					 sizeof(buf), &len),
			 0);
	ck_assert_uint_eq(len, 0);

	ck_assert_int_eq(store_xattr_list(ts_st, f.ino, buf, 0, &len), 0);
	ck_assert_uint_eq(len, 14);
	ck_assert_int_eq(store_xattr_list(ts_st, f.ino, buf, 10, &len),
			 -ERANGE);
	ck_assert_int_eq(store_xattr_list(ts_st, f.ino, buf, sizeof(buf), &len),
			 0);
	ck_assert_uint_eq(len, 14);
	ck_assert_int_eq(memcmp(buf, "user.a\0user.b\0", 14), 0);

	ck_assert_int_eq(store_xattr_remove(ts_st, &ts_ctx, f.ino, "user.a"),
			 0);
	ck_assert_int_eq(store_xattr_remove(ts_st, &ts_ctx, f.ino, "user.a"),
			 -ENODATA);
	ck_assert_int_eq(store_xattr_list(ts_st, f.ino, buf, sizeof(buf), &len),
			 0);
	ck_assert_uint_eq(len, 7);

	/* Errors. */
	ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, 4242, "user.a", "x", 1,
					 0),
			 -ENOENT);
	ck_assert_int_eq(store_xattr_get(ts_st, 4242, "user.a", buf,
					 sizeof(buf), &len),
			 -ENOENT);
	ck_assert_int_eq(store_xattr_list(ts_st, 4242, buf, sizeof(buf), &len),
			 -ENOENT);
	ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, f.ino, "", "x", 1, 0),
			 -EINVAL);
	ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, f.ino, "user.a", "x",
					 1, 3),
			 -EINVAL);
	{
		static char big[65537];

		ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, f.ino,
						 "user.big", big, sizeof(big),
						 0),
				 -E2BIG);
	}
	/* Directories have xattrs too; they go with their inode. */
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "d", 0755, &g), 0);
	ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, g.ino, "user.d", "1",
					 1, 0),
			 0);
	ck_assert_int_eq(store_rmdir(ts_st, &ts_ctx, 1, "d"), 0);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "d", 0755, &g), 0);
	ck_assert_int_eq(store_xattr_list(ts_st, g.ino, buf, sizeof(buf), &len),
			 0);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_landing)
{
	struct store_publish pub = {0};
	struct store_landing l;
	struct store_stage *sg;
	struct store_attr a, c;
	uint8_t sha[STORE_SHA256_LEN];

	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	ck_assert_int_eq(ts_write_all(store_stage_fd(sg), "body", 4), 0);
	pub.path = "up/load";
	pub.flags = STORE_PUBLISH_MKDIRS;
	snprintf(pub.landing.peer, sizeof(pub.landing.peer),
		 "[::1]:54321");
	snprintf(pub.landing.digest_alg, sizeof(pub.landing.digest_alg),
		 "sha-512");
	pub.landing.digest_len = 64;
	memset(pub.landing.digest, 0xab, 64);
	pub.landing.has_sha256 = true;
	memset(pub.landing.sha256, 0x11, STORE_SHA256_LEN);
	ck_assert_int_eq(store_publish(ts_st, &ts_net, &sg, &pub, &a, NULL), 0);
	ck_assert_int_eq(store_landing_get(ts_st, a.ino, &l), 0);
	ck_assert_int_eq(l.origin, STORE_ORIGIN_NET);
	ck_assert_str_eq(l.peer, "[::1]:54321");
	ck_assert_int_gt(l.received_ns, 0);
	ck_assert(l.has_sha256);
	ck_assert_uint_eq(l.sha256[31], 0x11);
	ck_assert_str_eq(l.digest_alg, "sha-512");
	ck_assert_uint_eq(l.digest_len, 64);
	ck_assert_uint_eq(l.digest[63], 0xab);

	/* A write in place drops the sha-256; set_sha256 checks the blob. */
	ck_assert_int_eq(store_note_write(ts_st, a.ino, 4, 0), 0);
	ck_assert_int_eq(store_landing_get(ts_st, a.ino, &l), 0);
	ck_assert(!l.has_sha256);
	memset(sha, 0x22, sizeof(sha));
	ck_assert_int_eq(store_set_sha256(ts_st, a.ino, a.blob + 1, sha),
			 -ESTALE);
	ck_assert_int_eq(store_set_sha256(ts_st, 4242, a.blob, sha), -ENOENT);
	ck_assert_int_eq(store_set_sha256(ts_st, a.ino, a.blob, sha), 0);
	ck_assert_int_eq(store_landing_get(ts_st, a.ino, &l), 0);
	ck_assert(l.has_sha256);
	ck_assert_uint_eq(l.sha256[0], 0x22);

	/* Local files: origin local, no peer, no digest. */
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, 1, "loc", 0644, &c), 0);
	ck_assert_int_eq(store_landing_get(ts_st, c.ino, &l), 0);
	ck_assert_int_eq(l.origin, STORE_ORIGIN_LOCAL);
	ck_assert_str_eq(l.peer, "");
	ck_assert_uint_eq(l.digest_len, 0);
	ck_assert(!l.has_sha256);
	ck_assert_int_eq(store_landing_get(ts_st, 4242, &l), -ENOENT);

	/* A digest too long for the header is refused. */
	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	pub.landing.digest_len = STORE_MAX_DIGEST + 1;
	ck_assert_int_eq(store_publish(ts_st, &ts_net, &sg, &pub, &a, NULL),
			 -EINVAL);
}
END_TEST

START_TEST(test_stats_statfs)
{
	struct store_stats s;
	struct statvfs v;
	struct store_attr a;
	int fd;

	ck_assert_int_eq(ts_publish("n1", "12345"), 0);
	ck_assert_int_eq(ts_publish("d/n2", "123"), 0);
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, 1, "l1", 0644, &a), 0);
	ck_assert_int_eq(store_blob_open(ts_st, a.ino, O_WRONLY, &fd), 0);
	ck_assert_int_eq(ts_write_all(fd, "ab", 2), 0);
	store_blob_close(ts_st, a.ino, fd);
	ck_assert_int_eq(store_note_write(ts_st, a.ino, 2, 0), 0);
	ck_assert_int_eq(store_symlink(ts_st, &ts_ctx, 1, "s", "n1", &a), 0);
	ck_assert_int_eq(store_stats(ts_st, &s), 0);
	ck_assert_uint_eq(s.files, 3);
	ck_assert_uint_eq(s.dirs, 2); /* root and d */
	ck_assert_uint_eq(s.symlinks, 1);
	ck_assert_uint_eq(s.bytes, 10);
	ck_assert_uint_eq(s.net_files, 2);
	ck_assert_uint_eq(s.net_bytes, 8);
	ck_assert_uint_eq(s.local_files, 1);
	ck_assert_uint_eq(s.local_bytes, 2);

	ck_assert_int_eq(store_statfs(ts_st, &v), 0);
	ck_assert_uint_gt(v.f_blocks, 0);
	/* Root, d, three files and a symlink. */
	ck_assert_uint_eq(v.f_files - v.f_ffree, 6);
	ck_assert_uint_eq(v.f_namemax, STORE_MAX_NAME);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "s"), 0);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "d", 0755, &a),
			 -EEXIST);
	ck_assert_int_eq(store_statfs(ts_st, &v), 0);
	ck_assert_uint_eq(v.f_files - v.f_ffree, 5);
	ck_assert_int_eq(ts_publish("n1", "replaced"), 0);
	ck_assert_int_eq(store_statfs(ts_st, &v), 0);
	ck_assert_uint_eq(v.f_files - v.f_ffree, 5);
	ts_reopen();
	ck_assert_int_eq(store_statfs(ts_st, &v), 0);
	ck_assert_uint_eq(v.f_files - v.f_ffree, 5);
}
END_TEST

/* The change hook: collects what it is told. */
struct seen {
	pthread_t writer;
	int n;
	enum store_change_kind kind[16];
	enum store_origin origin[16];
	uint64_t parent[16], ino[16];
	char name[16][32];
};

static void hook(void *arg, const struct store_change *c, size_t n)
{
	struct seen *s = arg;

	for (size_t i = 0; i < n && s->n < 16; i++, s->n++) {
		s->kind[s->n] = c[i].kind;
		s->origin[s->n] = c[i].origin;
		s->parent[s->n] = c[i].parent;
		s->ino[s->n] = c[i].ino;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s",
			 c[i].name ? c[i].name : "");
	}
	s->writer = pthread_self();
}

START_TEST(test_change_hook)
{
	static struct seen s;
	struct store_attr a, b;

	store_set_change_hook(ts_st, hook, &s);
	ck_assert_int_eq(ts_publish_st(ts_st, "d/f", "x", 1,
				       STORE_PUBLISH_MKDIRS, &a, NULL),
			 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(s.kind[0], STORE_CHANGE_ADD);
	ck_assert_uint_eq(s.parent[0], 1);
	ck_assert_str_eq(s.name[0], "d");
	ck_assert_int_eq(s.kind[1], STORE_CHANGE_ADD);
	ck_assert_uint_eq(s.parent[1], a.parent);
	ck_assert_uint_eq(s.ino[1], a.ino);
	ck_assert_str_eq(s.name[1], "f");
	ck_assert_int_eq(s.origin[1], STORE_ORIGIN_NET);
	ck_assert(!pthread_equal(s.writer, pthread_self()));

	/* A failing call reports nothing. */
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "d", 0755, &b),
			 -EEXIST);
	ck_assert_int_eq(s.n, 2);

	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, a.parent, "f", 1, "g", 0),
			 0);
	ck_assert_int_eq(s.n, 4);
	ck_assert_int_eq(s.kind[2], STORE_CHANGE_REMOVE);
	ck_assert_str_eq(s.name[2], "f");
	ck_assert_int_eq(s.kind[3], STORE_CHANGE_ADD);
	ck_assert_str_eq(s.name[3], "g");
	ck_assert_int_eq(s.origin[3], STORE_ORIGIN_LOCAL);

	ck_assert_int_eq(store_xattr_set(ts_st, &ts_ctx, a.ino, "user.x", "1",
					 1, 0),
			 0);
	ck_assert_int_eq(s.n, 5);
	ck_assert_int_eq(s.kind[4], STORE_CHANGE_ATTR);
	ck_assert_uint_eq(s.ino[4], a.ino);

	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "g"), 0);
	ck_assert_int_eq(s.n, 6);
	ck_assert_int_eq(s.kind[5], STORE_CHANGE_REMOVE);
	ck_assert_uint_eq(s.ino[5], a.ino);
	ck_assert_str_eq(s.name[5], "g");
}
END_TEST

START_TEST(test_readonly)
{
	struct store_opts o = {.readonly = true};
	struct store_stage *sg;
	struct store_attr a;

	ck_assert_int_eq(ts_publish("f", "data"), 0);
	store_close(&ts_st);
	ck_assert_int_eq(ts_open_opts(&o), 0);
	ck_assert_str_eq(ts_cat("f"), "data");
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "d", 0755, &a),
			 -EROFS);
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, 1, "g", 0644, &a),
			 -EROFS);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "f"), -EROFS);
	ck_assert_int_eq(store_stage_begin(ts_st, &sg), -EROFS);
	ck_assert_int_eq(store_lookup(ts_st, 1, "f", &a), 0);
	{
		int fd;

		ck_assert_int_eq(store_blob_open(ts_st, a.ino, O_RDWR, &fd),
				 -EROFS);
	}
	ck_assert_int_eq(ts_fsck_st(ts_st, false, NULL), 0);
	{
		struct store_fsck_result r;

		ck_assert_int_eq(store_fsck(ts_st, true, ts_fsck_quiet, NULL,
					    &r),
				 -EROFS);
	}
}
END_TEST

Suite *store_blob_suite(void);
Suite *store_blob_suite(void)
{
	Suite *s = suite_create("store_blob");
	TCase *tc = ts_tcase("blob", 30);

	tcase_add_test(tc, test_write_in_place);
	tcase_add_test(tc, test_open_unlinked);
	tcase_add_test(tc, test_open_replaced);
	tcase_add_test(tc, test_orphan_after_crash);
	tcase_add_test(tc, test_stage_abort);
	tcase_add_test(tc, test_stage_spread);
	tcase_add_test(tc, test_xattr);
	tcase_add_test(tc, test_landing);
	tcase_add_test(tc, test_stats_statfs);
	tcase_add_test(tc, test_change_hook);
	tcase_add_test(tc, test_readonly);
	suite_add_tcase(s, tc);
	return s;
}
