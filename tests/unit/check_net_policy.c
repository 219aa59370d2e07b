/*
 * check_net_policy.c - policy_path(): request targets to store paths,
 * without sockets.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "../../net/net_int.h"

Suite *net_policy_suite(void);

static int pp(const char *target, char *out, size_t size, bool reserved,
	      const char **why)
{
	return policy_path(target, strlen(target), out, size, reserved, why);
}

START_TEST(plain_paths)
{
	char out[LF_MAX_PATH + 1];
	const char *why;

	ck_assert_int_eq(pp("/a/b/c.txt", out, sizeof(out), false, &why), 0);
	ck_assert_str_eq(out, "a/b/c.txt");
	ck_assert_int_eq(pp("/", out, sizeof(out), false, &why), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(pp("/dir/", out, sizeof(out), false, &why), 0);
	ck_assert_str_eq(out, "dir");
	ck_assert_int_eq(pp("/f?x=1#y", out, sizeof(out), false, &why), 0);
	ck_assert_str_eq(out, "f");
	ck_assert_int_eq(pp("/sp%20ace/%C3%A9", out, sizeof(out), false,
			    &why), 0);
	ck_assert_str_eq(out, "sp ace/\xc3\xa9");
	ck_assert_int_eq(pp("/.hidden/..x/x..", out, sizeof(out), false,
			    &why), 0);
	ck_assert_str_eq(out, ".hidden/..x/x..");
}
END_TEST

START_TEST(traversal_refused)
{
	static const char *const bad[] = {
		"/../etc/passwd", "/a/../../b", "/a/..", "/..", "/./a",
		"/a/./b", "/%2e%2e/x", "/a/%2E%2e", "/%2e/a", "/a%2fb",
		"/a%2F..%2Fb", "/a//b", "//a", "/a\\b", "/a%5c..", "/a%00b",
		"/a%0ab", "/a%zzb", "/a%2", "/a%", "a/b", "",
		"http://host/a", "*",
	};
	char out[LF_MAX_PATH + 1];
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(pp(bad[i], out, sizeof(out), false, &why) ==
				      -EINVAL,
			      "%s accepted", bad[i]);
		ck_assert_ptr_nonnull(why);
		ck_assert_ptr_null(strchr(why, '\n'));
	}
}
END_TEST

START_TEST(reserved_prefix)
{
	char out[LF_MAX_PATH + 1];
	const char *why;

	ck_assert_int_eq(pp("/.landing/metrics", out, sizeof(out), false,
			    &why), -EINVAL);
	ck_assert_int_eq(pp("/.landing", out, sizeof(out), false, &why),
			 -EINVAL);
	ck_assert_int_eq(pp("/%2elanding/x", out, sizeof(out), false, &why),
			 -EINVAL);
	ck_assert_int_eq(pp("/.landing/metrics", out, sizeof(out), true,
			    &why), 0);
	ck_assert_str_eq(out, ".landing/metrics");
	/* Only the first component is reserved. */
	ck_assert_int_eq(pp("/a/.landing", out, sizeof(out), false, &why), 0);
	ck_assert_int_eq(pp("/.landingx", out, sizeof(out), false, &why), 0);
	/* Incoming aliases (reserved.h) are refused at any depth, even
	 * percent-encoded, and even where /.landing/ is allowed. */
	ck_assert_int_eq(pp("/a/.landing-incoming.1", out, sizeof(out), false,
			    &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "reserved"));
	ck_assert_int_eq(pp("/.landing-incoming.x/y", out, sizeof(out), true,
			    &why), -EINVAL);
	ck_assert_int_eq(pp("/a/%2elanding-incoming.1", out, sizeof(out),
			    false, &why), -EINVAL);
	ck_assert_int_eq(pp("/a/.landing-incoming", out, sizeof(out), false,
			    &why), 0);
}
END_TEST

START_TEST(lengths)
{
	char target[3 * LF_MAX_PATH], out[LF_MAX_PATH + 1];
	const char *why;
	size_t i;

	/* A name of LF_MAX_NAME bytes passes, one more does not. */
	target[0] = '/';
	memset(target + 1, 'n', LF_MAX_NAME);
	target[1 + LF_MAX_NAME] = '\0';
	ck_assert_int_eq(pp(target, out, sizeof(out), false, &why), 0);
	ck_assert_uint_eq(strlen(out), LF_MAX_NAME);
	target[1 + LF_MAX_NAME] = 'n';
	target[2 + LF_MAX_NAME] = '\0';
	ck_assert_int_eq(pp(target, out, sizeof(out), false, &why),
			 -ENAMETOOLONG);
	/* Encoded bytes count once decoded. */
	for (i = 0; i < LF_MAX_NAME; i++)
		memcpy(target + 1 + 3 * i, "%41", 3);
	target[1 + 3 * LF_MAX_NAME] = '\0';
	ck_assert_int_eq(pp(target, out, sizeof(out), false, &why), 0);
	/* A path over LF_MAX_PATH bytes. */
	for (i = 0; i < 20; i++) {
		target[i * 251] = '/';
		memset(target + i * 251 + 1, 'p', 250);
	}
	target[20 * 251] = '\0';
	ck_assert_int_eq(pp(target, out, sizeof(out), false, &why),
			 -ENAMETOOLONG);
	/* A small output buffer is a length error, never an overflow. */
	ck_assert_int_eq(pp("/abcdef", out, 4, false, &why), -ENAMETOOLONG);
}
END_TEST

Suite *net_policy_suite(void)
{
	Suite *s = suite_create("net_policy");
	TCase *tc = tcase_create("policy_path");

	tcase_add_test(tc, plain_paths);
	tcase_add_test(tc, traversal_refused);
	tcase_add_test(tc, reserved_prefix);
	tcase_add_test(tc, lengths);
	suite_add_tcase(s, tc);
	return s;
}
