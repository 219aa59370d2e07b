/*
 * check_fs_inode.c - the FUSE layer's inode table (fs/inode.c): lookup
 * counts, open handles, attributes of files open for writing.
 */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../fs/fs_int.h"

Suite *fs_inode_suite(void);

static struct fs_itable it;

static void setup(void)
{
	ck_assert_int_eq(fs_itable_init(&it), 0);
}

static void teardown(void)
{
	fs_itable_destroy(&it, NULL);
}

START_TEST(lookup_counts)
{
	ck_assert_uint_eq(fs_inode_count(&it), 0);
	ck_assert_int_eq(fs_inode_ref(&it, 7, 1), 0);
	ck_assert_int_eq(fs_inode_ref(&it, 7, 2), 0);
	ck_assert_int_eq(fs_inode_ref(&it, 8, 1), 0);
	ck_assert_uint_eq(fs_inode_count(&it), 2);
	fs_inode_forget(&it, 7, 2);
	ck_assert_uint_eq(fs_inode_count(&it), 2);
	fs_inode_forget(&it, 7, 1);
	ck_assert_uint_eq(fs_inode_count(&it), 1);
	fs_inode_forget(&it, 8, 1);
	ck_assert_uint_eq(fs_inode_count(&it), 0);
	/* Forgetting more than was counted is logged and clamped. */
	ck_assert_int_eq(fs_inode_ref(&it, 9, 1), 0);
	fs_inode_forget(&it, 9, 5);
	ck_assert_uint_eq(fs_inode_count(&it), 0);
}
END_TEST

/* Enough inodes to make the hash grow several times. */
START_TEST(many_inodes)
{
	const uint64_t n = 50000;

	for (uint64_t i = 1; i <= n; i++)
		ck_assert_int_eq(fs_inode_ref(&it, i * 3, 1), 0);
	ck_assert_uint_eq(fs_inode_count(&it), n);
	for (uint64_t i = 1; i <= n; i += 2)
		fs_inode_forget(&it, i * 3, 1);
	ck_assert_uint_eq(fs_inode_count(&it), n / 2);
	for (uint64_t i = 2; i <= n; i += 2)
		fs_inode_forget(&it, i * 3, 1);
	ck_assert_uint_eq(fs_inode_count(&it), 0);
}
END_TEST

/* A handle keeps its inode after the kernel forgot it, until it goes. */
START_TEST(handle_outlives_forget)
{
	struct fs_handle h = { .h_ino = 42, .h_fd = -1, .h_flags = O_RDONLY };

	ck_assert_int_eq(fs_inode_ref(&it, 42, 1), 0);
	ck_assert_int_eq(fs_inode_add_handle(&it, &h), 0);
	fs_inode_forget(&it, 42, 1);
	ck_assert_uint_eq(fs_inode_count(&it), 1);
	ck_assert(!fs_inode_writing(&it, 42));
	fs_inode_del_handle(&it, &h);
	ck_assert_uint_eq(fs_inode_count(&it), 0);
}
END_TEST

/* Size and mtime of a file open for writing come from its blob. */
START_TEST(attr_of_open_writer)
{
	char path[] = "/tmp/check_fs_inode.XXXXXX";
	struct fs_handle w = { .h_ino = 5, .h_flags = O_WRONLY };
	struct fs_handle r = { .h_ino = 5, .h_flags = O_RDONLY };
	struct stat st;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(pwrite(fd, "abcdef", 6, 100), 6);
	w.h_fd = fd;
	r.h_fd = fd;

	memset(&st, 0, sizeof(st));
	st.st_ino = 5;
	st.st_mode = S_IFREG | 0644;
	st.st_size = 1;
	ck_assert_int_eq(fs_inode_add_handle(&it, &r), 0);
	fs_inode_fix_attr(&it, &st);
	ck_assert_int_eq(st.st_size, 1); /* readers only: the index's */

	ck_assert_int_eq(fs_inode_add_handle(&it, &w), 0);
	ck_assert(fs_inode_writing(&it, 5));
	fs_inode_fix_attr(&it, &st);
	ck_assert_int_eq(st.st_size, 106);

	st.st_mode = S_IFDIR | 0755; /* never for other types */
	st.st_size = 1;
	fs_inode_fix_attr(&it, &st);
	ck_assert_int_eq(st.st_size, 1);

	fs_inode_del_handle(&it, &w);
	ck_assert(!fs_inode_writing(&it, 5));
	fs_inode_del_handle(&it, &r);
	ck_assert_uint_eq(fs_inode_count(&it), 0);
	close(fd);
}
END_TEST

Suite *fs_inode_suite(void)
{
	Suite *s = suite_create("fs_inode");
	TCase *tc = tcase_create("itable");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lookup_counts);
	tcase_add_test(tc, many_inodes);
	tcase_add_test(tc, handle_outlives_forget);
	tcase_add_test(tc, attr_of_open_writer);
	suite_add_tcase(s, tc);
	return s;
}
