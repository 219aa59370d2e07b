/*
 * check_store_ns.c - the namespace calls: lookup, getattr, setattr, mkdir,
 * rmdir, create, symlink, readlink, unlink, rename, readdir, with their
 * error paths.
 */
#include "unit/check_store.h"

#include <limits.h>

static char long_name[STORE_MAX_NAME + 2];

static void make_long_name(size_t len)
{
	memset(long_name, 'x', len);
	long_name[len] = '\0';
}

START_TEST(test_root)
{
	struct store_attr a;

	ck_assert_int_eq(store_getattr(ts_st, STORE_ROOT_INO, &a), 0);
	ck_assert(S_ISDIR(a.mode));
	ck_assert_uint_eq(a.ino, STORE_ROOT_INO);
	ck_assert_uint_eq(a.nlink, 2);
	ck_assert_int_eq(store_lookup_path(ts_st, "", &a), 0);
	ck_assert_uint_eq(a.ino, STORE_ROOT_INO);
	ck_assert_int_eq(store_lookup_path(ts_st, "/", &a), 0);
	ck_assert_uint_eq(a.ino, STORE_ROOT_INO);
	ck_assert_int_eq(store_getattr(ts_st, 999999, &a), -ENOENT);
}
END_TEST

START_TEST(test_names)
{
	struct store_attr a;

	ck_assert_int_eq(store_lookup(ts_st, 1, "", &a), -EINVAL);
	ck_assert_int_eq(store_lookup(ts_st, 1, ".", &a), -EINVAL);
	ck_assert_int_eq(store_lookup(ts_st, 1, "..", &a), -EINVAL);
	ck_assert_int_eq(store_lookup(ts_st, 1, "a/b", &a), -EINVAL);
	make_long_name(STORE_MAX_NAME + 1);
	ck_assert_int_eq(store_lookup(ts_st, 1, long_name, &a),
			 -ENAMETOOLONG);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, long_name, 0755, &a),
			 -ENAMETOOLONG);
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, 1, "..", 0644, &a),
			 -EINVAL);
	ck_assert_int_eq(store_lookup_path(ts_st, "a/../b", &a), -EINVAL);
	ck_assert_int_eq(ts_publish("a/./b", "x"), -EINVAL);
	ck_assert_int_eq(ts_publish("/", "x"), -EINVAL);

	/* The longest name works, any byte but '/' and NUL. */
	make_long_name(STORE_MAX_NAME);
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, 1, long_name, 0644, &a),
			 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, long_name, &a), 0);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "\xff\x01 \t", 0755,
				     &a),
			 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "\xff\x01 \t", &a), 0);
	ck_assert(S_ISDIR(a.mode));
}
END_TEST

START_TEST(test_mkdir_rmdir)
{
	struct store_attr d, e, f, root;

	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "d", 0750, &d), 0);
	ck_assert_uint_eq(d.mode, S_IFDIR | 0750);
	ck_assert_uint_eq(d.uid, 1000);
	ck_assert_uint_eq(d.parent, 1);
	ck_assert_uint_eq(d.nlink, 2);
	ck_assert_int_eq(store_getattr(ts_st, 1, &root), 0);
	ck_assert_uint_eq(root.nlink, 3);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "d", 0750, &e),
			 -EEXIST);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 424242, "x", 0750, &e),
			 -ENOENT);
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, d.ino, "f", 0600, &f),
			 0);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, f.ino, "x", 0750, &e),
			 -ENOTDIR);
	ck_assert_int_eq(store_lookup(ts_st, f.ino, "x", &e), -ENOTDIR);
	ck_assert_int_eq(store_lookup(ts_st, 424242, "x", &e), -ENOENT);
	ck_assert_int_eq(store_lookup(ts_st, d.ino, "nope", &e), -ENOENT);
	ck_assert_int_eq(store_lookup_path(ts_st, "d/f/x", &e), -ENOTDIR);
	ck_assert_int_eq(store_lookup_path(ts_st, "d/nope/x", &e), -ENOENT);

	ck_assert_int_eq(store_rmdir(ts_st, &ts_ctx, 1, "d"), -ENOTEMPTY);
	ck_assert_int_eq(store_rmdir(ts_st, &ts_ctx, d.ino, "f"), -ENOTDIR);
	ck_assert_int_eq(store_rmdir(ts_st, &ts_ctx, 1, "nope"), -ENOENT);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "d"), -EISDIR);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, d.ino, "f"), 0);
	ck_assert_int_eq(store_rmdir(ts_st, &ts_ctx, 1, "d"), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "d", &e), -ENOENT);
	ck_assert_int_eq(store_getattr(ts_st, d.ino, &e), -ENOENT);
	ck_assert_int_eq(store_getattr(ts_st, 1, &root), 0);
	ck_assert_uint_eq(root.nlink, 2);
	ck_assert_int_eq(store_rmdir(ts_st, &ts_ctx, 1, "d"), -ENOENT);
}
END_TEST

START_TEST(test_parent_times)
{
	struct store_attr d, d2, f;

	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "d", 0755, &d), 0);
	usleep(2000);
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, d.ino, "f", 0644, &f),
			 0);
	ck_assert_int_eq(store_getattr(ts_st, d.ino, &d2), 0);
	ck_assert_int_gt(d2.mtime_ns, d.mtime_ns);
	ck_assert_int_eq(d2.mtime_ns, f.mtime_ns);
	ck_assert_int_eq(d2.ctime_ns, f.ctime_ns);
}
END_TEST

START_TEST(test_create_unlink)
{
	struct store_attr f, g;
	long before = ts_count_blobs(ts_dir);

	ck_assert_int_eq(store_create(ts_st, &ts_ctx, 1, "f", 0640, &f), 0);
	ck_assert_uint_eq(f.mode, S_IFREG | 0640);
	ck_assert_uint_eq(f.size, 0);
	ck_assert_uint_eq(f.nlink, 1);
	ck_assert_uint_ne(f.blob, 0);
	ck_assert_int_eq(ts_count_blobs(ts_dir), before + 1);
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, 1, "f", 0640, &g),
			 -EEXIST);
	/* The failed create left no blob behind. */
	ck_assert_int_eq(ts_count_blobs(ts_dir), before + 1);
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, 4242, "f", 0640, &g),
			 -ENOENT);
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, f.ino, "f", 0640, &g),
			 -ENOTDIR);
	ck_assert_int_eq(ts_count_blobs(ts_dir), before + 1);

	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "f"), 0);
	ck_assert_int_eq(store_getattr(ts_st, f.ino, &g), -ENOENT);
	ck_assert_int_eq(ts_count_blobs(ts_dir), before);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "f"), -ENOENT);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 4242, "f"), -ENOENT);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "."), -EINVAL);
}
END_TEST

START_TEST(test_symlink)
{
	struct store_attr l, f;
	char buf[64];
	char big[5000];

	ck_assert_int_eq(store_symlink(ts_st, &ts_ctx, 1, "l", "some/target",
				       &l),
			 0);
	ck_assert(S_ISLNK(l.mode));
	ck_assert_uint_eq(l.size, 11);
	ck_assert_uint_eq(l.blob, 0);
	ck_assert_int_eq(store_readlink(ts_st, l.ino, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "some/target");
	ck_assert_int_eq(store_readlink(ts_st, l.ino, buf, 11), -ENAMETOOLONG);
	ck_assert_int_eq(store_readlink(ts_st, l.ino, buf, 12), 0);
	ck_assert_int_eq(store_readlink(ts_st, 1, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(store_readlink(ts_st, 4242, buf, sizeof(buf)),
			 -ENOENT);
	ck_assert_int_eq(store_symlink(ts_st, &ts_ctx, 1, "l", "x", &f),
			 -EEXIST);
	ck_assert_int_eq(store_symlink(ts_st, &ts_ctx, 1, "e", "", &f),
			 -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(store_symlink(ts_st, &ts_ctx, 1, "big", big, &f),
			 -ENAMETOOLONG);
	/* A symlink cannot be opened as a blob nor replaced by a publish. */
	{
		int fd;

		ck_assert_int_eq(store_blob_open(ts_st, l.ino, O_RDONLY, &fd),
				 -EINVAL);
		ck_assert_int_eq(store_blob_open(ts_st, 1, O_RDONLY, &fd),
				 -EISDIR);
	}
	ck_assert_int_eq(ts_publish("l", "data"), -EEXIST);
	ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, 1, "l"), 0);
	ck_assert_int_eq(store_readlink(ts_st, l.ino, buf, sizeof(buf)),
			 -ENOENT);
}
END_TEST

START_TEST(test_setattr)
{
	struct store_attr f, in, out;

	ck_assert_int_eq(ts_publish("f", "0123456789"), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "f", &f), 0);
	memset(&in, 0, sizeof(in));
	in.mode = 0600 | S_IFDIR; /* the type bits are ignored */
	in.uid = 7;
	in.gid = 8;
	in.atime_ns = 1000000000;
	in.mtime_ns = 2000000000;
	ck_assert_int_eq(store_setattr(ts_st, &ts_ctx, f.ino, &in,
				       STORE_SET_MODE | STORE_SET_UID |
					       STORE_SET_GID | STORE_SET_ATIME |
					       STORE_SET_MTIME,
				       &out),
			 0);
	ck_assert_uint_eq(out.mode, S_IFREG | 0600);
	ck_assert_uint_eq(out.uid, 7);
	ck_assert_uint_eq(out.gid, 8);
	ck_assert_int_eq(out.atime_ns, 1000000000);
	ck_assert_int_eq(out.mtime_ns, 2000000000);
	ck_assert_int_gt(out.ctime_ns, f.ctime_ns - 1);
	ck_assert_int_eq(store_getattr(ts_st, f.ino, &f), 0);
	ck_assert_uint_eq(f.mode, S_IFREG | 0600);
	ck_assert_int_eq(f.mtime_ns, 2000000000);

	in.ctime_ns = 3;
	ck_assert_int_eq(store_setattr(ts_st, &ts_ctx, f.ino, &in,
				       STORE_SET_CTIME | STORE_SET_MTIME_NOW,
				       &out),
			 0);
	ck_assert_int_eq(out.ctime_ns, 3);
	ck_assert_int_gt(out.mtime_ns, 2000000000);

	/* Truncate, then extend. */
	in.size = 4;
	ck_assert_int_eq(store_setattr(ts_st, &ts_ctx, f.ino, &in,
				       STORE_SET_SIZE, &out),
			 0);
	ck_assert_uint_eq(out.size, 4);
	ck_assert_str_eq(ts_cat("f"), "0123");
	in.size = 6;
	ck_assert_int_eq(store_setattr(ts_st, &ts_ctx, f.ino, &in,
				       STORE_SET_SIZE, &out),
			 0);
	{
		char buf[16];

		ck_assert_int_eq(ts_read_st(ts_st, f.ino, buf, sizeof(buf)), 6);
		ck_assert_int_eq(memcmp(buf, "0123\0\0", 6), 0);
	}
	ck_assert_int_eq(store_setattr(ts_st, &ts_ctx, 1, &in, STORE_SET_SIZE,
				       &out),
			 -EISDIR);
	ck_assert_int_eq(store_setattr(ts_st, &ts_ctx, 4242, &in,
				       STORE_SET_MODE, &out),
			 -ENOENT);
	ck_assert_int_eq(store_setattr(ts_st, &ts_ctx, f.ino, &in, 1u << 20,
				       &out),
			 -EINVAL);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, NULL), 0);
}
END_TEST

START_TEST(test_rename)
{
	struct store_attr a, b, d, e, x;

	ck_assert_int_eq(ts_publish("a", "A"), 0);
	ck_assert_int_eq(ts_publish("b", "B"), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "a", &a), 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "b", &b), 0);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "d", 0755, &d), 0);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, d.ino, "e", 0755, &e), 0);

	/* Plain move keeps the inode. */
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "a", d.ino, "a2", 0),
			 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "a", &x), -ENOENT);
	ck_assert_int_eq(store_lookup(ts_st, d.ino, "a2", &x), 0);
	ck_assert_uint_eq(x.ino, a.ino);
	ck_assert_uint_eq(x.parent, d.ino);
	ck_assert_str_eq(ts_cat("d/a2"), "A");

	/* NOREPLACE. */
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, d.ino, "a2", 1, "b",
				      STORE_RENAME_NOREPLACE),
			 -EEXIST);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, d.ino, "a2", 1, "c",
				      STORE_RENAME_NOREPLACE),
			 0);
	/* Replace a file: the old one and its blob go. */
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "c", 1, "b", 0), 0);
	ck_assert_int_eq(store_getattr(ts_st, b.ino, &x), -ENOENT);
	ck_assert_str_eq(ts_cat("b"), "A");
	ck_assert_int_eq(ts_count_blobs(ts_dir), 1);

	/* EXCHANGE. */
	ck_assert_int_eq(ts_publish("c", "C"), 0);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "b", 1, "c",
				      STORE_RENAME_EXCHANGE),
			 0);
	ck_assert_str_eq(ts_cat("b"), "C");
	ck_assert_str_eq(ts_cat("c"), "A");
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "b", 1, "zz",
				      STORE_RENAME_EXCHANGE),
			 -ENOENT);
	/* Exchange a file with a directory across parents. */
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "c", d.ino, "e",
				      STORE_RENAME_EXCHANGE),
			 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "c", &x), 0);
	ck_assert_uint_eq(x.ino, e.ino);
	ck_assert_str_eq(ts_cat("d/e"), "A");
	ck_assert_int_eq(store_getattr(ts_st, d.ino, &x), 0);
	ck_assert_uint_eq(x.nlink, 2);
	ck_assert_int_eq(store_getattr(ts_st, 1, &x), 0);
	ck_assert_uint_eq(x.nlink, 4); /* d and c are directories */
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "c", d.ino, "e",
				      STORE_RENAME_EXCHANGE),
			 0);

	/* Flags. */
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "b", 1, "c",
				      STORE_RENAME_EXCHANGE |
					      STORE_RENAME_NOREPLACE),
			 -EINVAL);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "b", 1, "c", 8),
			 -EINVAL);

	/* Type rules. */
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "b", 1, "d", 0),
			 -EISDIR);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "d", 1, "b", 0),
			 -ENOTDIR);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "empty", 0755, &x), 0);
	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "full", 0755, &x), 0);
	ck_assert_int_eq(store_create(ts_st, &ts_ctx, x.ino, "f", 0644, &x),
			 0);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "d", 1, "full", 0),
			 -ENOTEMPTY);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "d", 1, "empty", 0),
			 0);
	ck_assert_int_eq(store_lookup(ts_st, 1, "empty", &x), 0);
	ck_assert_uint_eq(x.ino, d.ino);
	ck_assert_int_eq(store_lookup(ts_st, 1, "d", &x), -ENOENT);

	/* A directory under itself. */
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "empty", d.ino, "x",
				      0),
			 -EINVAL);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "empty", e.ino, "x",
				      0),
			 -EINVAL);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "empty", e.ino, "x",
				      STORE_RENAME_NOREPLACE),
			 -EINVAL);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "b", e.ino, "b", 0),
			 0);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "empty", e.ino, "b",
				      STORE_RENAME_EXCHANGE),
			 -EINVAL);

	/* Missing source, bad parents. */
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 1, "nope", 1, "x", 0),
			 -ENOENT);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, 4242, "x", 1, "y", 0),
			 -ENOENT);
	ck_assert_int_eq(store_lookup_path(ts_st, "empty/e/b", &x), 0);
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, e.ino, "b", x.ino, "y",
				      0),
			 -ENOTDIR);
	/* Same file: nothing happens. */
	ck_assert_int_eq(store_rename(ts_st, &ts_ctx, e.ino, "b", e.ino, "b",
				      0),
			 0);
	ck_assert_str_eq(ts_cat("empty/e/b"), "C");
	ck_assert_int_eq(ts_fsck_st(ts_st, false, NULL), 0);
}
END_TEST

#define NDIR 50

START_TEST(test_readdir)
{
	struct store_dirent ents[7];
	struct store_attr d, x;
	bool seen[NDIR + 10] = {0};
	uint64_t cursor = 0;
	size_t n, total = 0;
	char name[16];
	int round = 0;

	ck_assert_int_eq(store_mkdir(ts_st, &ts_ctx, 1, "d", 0755, &d), 0);
	for (int i = 0; i < NDIR; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		ck_assert_int_eq(store_create(ts_st, &ts_ctx, d.ino, name, 0644,
					      &x),
				 0);
	}
	/* Walk in pages; meanwhile remove entries not yet seen and add new
	 * ones. Nothing repeats; every entry present throughout is seen. */
	for (;;) {
		ck_assert_int_eq(store_readdir(ts_st, d.ino, cursor, ents, 7,
					       &n),
				 0);
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			int k;

			ck_assert_int_eq(sscanf(ents[i].name, "f%d", &k), 1);
			ck_assert(!seen[k]);
			seen[k] = true;
			ck_assert_uint_gt(ents[i].cursor, cursor);
			ck_assert_uint_eq(ents[i].attr.parent, d.ino);
			ck_assert(S_ISREG(ents[i].attr.mode));
			cursor = ents[i].cursor;
			total++;
		}
		if (round++ == 1) {
			/* f49 is not seen yet: remove it; add f50. */
			ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, d.ino,
						      "f49"),
					 0);
			ck_assert_int_eq(store_create(ts_st, &ts_ctx, d.ino,
						      "f50", 0644, &x),
					 0);
			/* Removing one already seen shifts nothing. */
			ck_assert_int_eq(store_unlink(ts_st, &ts_ctx, d.ino,
						      "f0"),
					 0);
		}
	}
	for (int i = 0; i < 49; i++)
		ck_assert_msg(seen[i], "f%d not seen", i);
	ck_assert(!seen[49]);
	ck_assert(seen[50]); /* new entries come after the cursor */
	ck_assert_uint_eq(total, 50);
	ck_assert_int_eq(store_readdir(ts_st, 1, 0, ents, 7, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ents[0].name, "d");
	ck_assert_int_eq(store_readdir(ts_st, x.ino, 0, ents, 7, &n), -ENOTDIR);
	ck_assert_int_eq(store_readdir(ts_st, 4242, 0, ents, 7, &n), -ENOENT);
}
END_TEST

START_TEST(test_publish_rules)
{
	struct store_publish pub = {0};
	struct store_attr a, b;
	struct store_stage *sg;
	bool replaced;

	/* Without MKDIRS a missing parent is ENOENT. */
	ck_assert_int_eq(ts_publish_st(ts_st, "x/y", "1", 1, 0, &a, NULL),
			 -ENOENT);
	ck_assert_int_eq(ts_publish_st(ts_st, "x/y/z", "1", 1,
				       STORE_PUBLISH_MKDIRS, &a, NULL),
			 0);
	ck_assert_int_eq(store_lookup_path(ts_st, "x/y", &b), 0);
	ck_assert(S_ISDIR(b.mode));
	ck_assert_uint_eq(a.parent, b.ino);
	/* A file in the way of a parent: ENOTDIR. */
	ck_assert_int_eq(ts_publish_st(ts_st, "x/y/z/w", "1", 1,
				       STORE_PUBLISH_MKDIRS, &b, NULL),
			 -ENOTDIR);
	/* A directory in the way of the file: EISDIR. */
	ck_assert_int_eq(ts_publish_st(ts_st, "x/y", "1", 1, 0, &b, NULL),
			 -EISDIR);
	/* NOREPLACE. */
	ck_assert_int_eq(ts_publish_st(ts_st, "x/y/z", "2", 1,
				       STORE_PUBLISH_NOREPLACE, &b, NULL),
			 -EEXIST);
	ck_assert_str_eq(ts_cat("x/y/z"), "1");

	/* IF_BLOB: replace only the blob we saw. */
	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	ck_assert_int_eq(ts_write_all(store_stage_fd(sg), "3", 1), 0);
	pub.path = "x/y/z";
	pub.flags = STORE_PUBLISH_IF_BLOB;
	pub.if_blob = a.blob + 1000;
	ck_assert_int_eq(store_publish(ts_st, &ts_net, &sg, &pub, &b,
				       &replaced),
			 -ESTALE);
	ck_assert_ptr_null(sg);
	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	ck_assert_int_eq(ts_write_all(store_stage_fd(sg), "3", 1), 0);
	pub.if_blob = a.blob;
	ck_assert_int_eq(store_publish(ts_st, &ts_net, &sg, &pub, &b,
				       &replaced),
			 0);
	ck_assert(replaced);
	ck_assert_str_eq(ts_cat("x/y/z"), "3");
	/* IF_BLOB with 0: only when there is no file yet. */
	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	pub.if_blob = 0;
	ck_assert_int_eq(store_publish(ts_st, &ts_net, &sg, &pub, &b,
				       &replaced),
			 -ESTALE);
	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	pub.path = "x/new";
	ck_assert_int_eq(store_publish(ts_st, &ts_net, &sg, &pub, &b,
				       &replaced),
			 0);
	ck_assert(!replaced);
	ck_assert_uint_eq(b.size, 0);

	/* By parent and name. */
	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	memset(&pub, 0, sizeof(pub));
	pub.parent = 1;
	pub.name = "top";
	pub.mode = 0600;
	pub.mtime_ns = 12345;
	ck_assert_int_eq(store_publish(ts_st, &ts_net, &sg, &pub, &b, NULL),
			 0);
	ck_assert_uint_eq(b.mode, S_IFREG | 0600);
	ck_assert_int_eq(b.mtime_ns, 12345);
	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	pub.name = "a/b";
	ck_assert_int_eq(store_publish(ts_st, &ts_net, &sg, &pub, &b, NULL),
			 -EINVAL);
	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	pub.name = "z";
	pub.parent = b.ino;
	ck_assert_int_eq(store_publish(ts_st, &ts_net, &sg, &pub, &b, NULL),
			 -ENOTDIR);
	ck_assert_int_eq(store_stage_begin(ts_st, &sg), 0);
	pub.flags = 1u << 7;
	ck_assert_int_eq(store_publish(ts_st, &ts_net, &sg, &pub, &b, NULL),
			 -EINVAL);
	ck_assert_ptr_null(sg);
	ck_assert_int_eq(store_publish(ts_st, &ts_net, &sg, &pub, &b, NULL),
			 -EINVAL);

	/* Failed publishes left no blob: x/y/z, x/new, top. */
	ck_assert_int_eq(ts_count_blobs(ts_dir), 3);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, NULL), 0);
}
END_TEST

Suite *store_ns_suite(void);
Suite *store_ns_suite(void)
{
	Suite *s = suite_create("store_ns");
	TCase *tc = ts_tcase("namespace", 30);

	tcase_add_test(tc, test_root);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_mkdir_rmdir);
	tcase_add_test(tc, test_parent_times);
	tcase_add_test(tc, test_create_unlink);
	tcase_add_test(tc, test_symlink);
	tcase_add_test(tc, test_setattr);
	tcase_add_test(tc, test_rename);
	tcase_add_test(tc, test_readdir);
	tcase_add_test(tc, test_publish_rules);
	suite_add_tcase(s, tc);
	return s;
}
