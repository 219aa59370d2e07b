/*
 * check_net_digest.c - digest.c: the RFC 9530 field syntax, Content-MD5,
 * and hashing a file's landed bytes through mappings, in steps.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../net/net_int.h"

Suite *net_digest_suite(void);

/* sha-256, sha-512 and md5 of "abc" (FIPS 180-2, RFC 1321). */
static const char abc256[] = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
static const char abc512[] = "3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==";
static const char abcmd5[] = "kAFQmDzST7DWlj99KOF/cg==";

START_TEST(parse_fields)
{
	struct digest_sums s = { 0 };
	char v[512];

	snprintf(v, sizeof(v), "sha-256=:%s:", abc256);
	ck_assert_int_eq(digest_parse(v, &s), 0);
	ck_assert(s.has_sha256);
	ck_assert(!s.has_sha512);
	ck_assert_uint_eq(s.sha256[0], 0xba);
	ck_assert_uint_eq(s.sha256[31], 0xad);

	memset(&s, 0, sizeof(s));
	snprintf(v, sizeof(v), "crc32c=:AAAAAA==:, SHA-512=:%s:;x=1 , sha-256=:%s:",
		 abc512, abc256);
	ck_assert_int_eq(digest_parse(v, &s), 0);
	ck_assert(s.has_sha256 && s.has_sha512);
	ck_assert_uint_eq(s.sha512[0], 0xdd);

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(digest_parse("md5=:AAAA:", &s), 0);
	ck_assert(!s.has_sha256 && !s.has_sha512);

	ck_assert_int_eq(digest_parse_md5(abcmd5, &s), 0);
	ck_assert(s.has_md5);
	ck_assert_uint_eq(s.md5[0], 0x90);
}
END_TEST

START_TEST(parse_bad)
{
	static const char *const bad[] = {
		"sha-256=nope", "sha-256=:abc", "sha-256=:AAAA:", /* wrong length */
		"=:AAAA:", "sha-256 :AAAA:", "sha-256=:!!!!:",
	};
	struct digest_sums s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, 0, sizeof(s));
		ck_assert_msg(digest_parse(bad[i], &s) == -EINVAL, "%s", bad[i]);
	}
	ck_assert_int_eq(digest_parse_md5("AAAA", &s), -EINVAL);
	ck_assert_int_eq(digest_parse_md5("not base64!", &s), -EINVAL);
}
END_TEST

/* Hashing a file in uneven steps gives the one-shot sums. */
START_TEST(hash_file_in_steps)
{
	char path[] = "/tmp/check_net_digest.XXXXXX";
	struct digest_want w = { true, true, true };
	struct digest_sums one, steps, ref = { 0 };
	struct digest *d;
	size_t len = (5u << 20) + 12345;
	unsigned char *buf = malloc(len);
	char v[512];
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);

	d = digest_new(&w);
	ck_assert_int_eq(digest_update_fd(d, fd, len), 0);
	digest_final(d, &one);
	digest_free(&d);
	ck_assert_ptr_null(d);

	d = digest_new(&w);
	ck_assert_int_eq(digest_update_fd(d, fd, 1), 0);
	ck_assert_int_eq(digest_update_fd(d, fd, 4097), 0);
	ck_assert_int_eq(digest_update_fd(d, fd, 4097), 0);
	ck_assert_int_eq(digest_update_fd(d, fd, (3u << 20) + 5), 0);
	ck_assert_int_eq(digest_update_fd(d, fd, len), 0);
	digest_final(d, &steps);
	digest_free(&d);
	ck_assert(one.has_sha256 && one.has_sha512 && one.has_md5);
	ck_assert_int_eq(memcmp(&one, &steps, sizeof(one)), 0);

	/* And "abc" against the published values. */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(pwrite(fd, "abc", 3, 0), 3);
	d = digest_new(&w);
	ck_assert_int_eq(digest_update_fd(d, fd, 3), 0);
	digest_final(d, &one);
	digest_free(&d);
	snprintf(v, sizeof(v), "sha-256=:%s:, sha-512=:%s:", abc256, abc512);
	ck_assert_int_eq(digest_parse(v, &ref), 0);
	ck_assert_int_eq(digest_parse_md5(abcmd5, &ref), 0);
	ck_assert_int_eq(memcmp(one.sha256, ref.sha256, 32), 0);
	ck_assert_int_eq(memcmp(one.sha512, ref.sha512, 64), 0);
	ck_assert_int_eq(memcmp(one.md5, ref.md5, 16), 0);
	digest_format(one.sha256, v, sizeof(v));
	ck_assert_str_eq(v, "sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=:");
	close(fd);
	free(buf);
}
END_TEST

Suite *net_digest_suite(void)
{
	Suite *s = suite_create("net_digest");
	TCase *tc = tcase_create("digest");

	tcase_add_test(tc, parse_fields);
	tcase_add_test(tc, parse_bad);
	tcase_add_test(tc, hash_file_in_steps);
	suite_add_tcase(s, tc);
	return s;
}
