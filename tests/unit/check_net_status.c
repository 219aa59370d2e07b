/*
 * check_net_status.c - status_from_errno(): the one errno to HTTP table.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "../../net/net_int.h"

Suite *net_status_suite(void);

START_TEST(mapping)
{
	static const struct {
		int err, code;
	} want[] = {
		{ -ENOENT, 404 }, { -EEXIST, 409 }, { -EISDIR, 409 },
		{ -ENOTDIR, 409 }, { -EINVAL, 400 }, { -ENAMETOOLONG, 400 },
		{ -EBADMSG, 400 }, { -EACCES, 500 }, { -EPERM, 500 },
		{ -ESTALE, 412 }, { -EFBIG, 413 }, { -EMSGSIZE, 431 },
		{ -ETIMEDOUT, 408 }, { -ENOSPC, 507 }, { -EDQUOT, 507 },
		{ -EBUSY, 503 }, { -EAGAIN, 503 }, { -EIO, 500 },
		{ -EOPNOTSUPP, 405 }, { -ENOSYS, 501 },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct net_status st = status_from_errno(want[i].err);

		ck_assert_msg(st.code == want[i].code, "%s: %d, want %d",
			      strerror(-want[i].err), st.code, want[i].code);
		ck_assert_ptr_nonnull(st.reason);
		ck_assert_uint_gt(strlen(st.reason), 0);
		ck_assert_ptr_null(strchr(st.reason, '\n'));
		ck_assert_ptr_null(strchr(st.reason, '\r'));
	}
}
END_TEST

START_TEST(unknown_is_500)
{
	ck_assert_int_eq(status_from_errno(-EXDEV).code, 500);
	ck_assert_int_eq(status_from_errno(0).code, 500);
	ck_assert_int_eq(status_from_errno(5).code, 500);
	ck_assert_ptr_nonnull(status_from_errno(-12345).reason);
}
END_TEST

Suite *net_status_suite(void)
{
	Suite *s = suite_create("net_status");
	TCase *tc = tcase_create("status_from_errno");

	tcase_add_test(tc, mapping);
	tcase_add_test(tc, unknown_is_500);
	suite_add_tcase(s, tc);
	return s;
}
