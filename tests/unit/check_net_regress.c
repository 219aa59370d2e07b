/*
 * check_net_regress.c - regressions found by the fuzzers (tests/fuzz/) and
 * the abuse tests (tests/integration/abuse_*.sh), each driven below the
 * wire: the request-head parser, the chunked framing, path validation and
 * the token file.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../net/net_int.h"

Suite *net_regress_suite(void);

/* feed_all() parses text as one head; returns head_feed()'s result. */
static int feed_all(struct head *h, const char *text)
{
	head_init(h, text);
	return head_feed(h, strlen(text));
}

/*
 * RFC 9112 section 5.1: a server MUST reject whitespace between a field
 * name and the colon with 400. http_parser accepts it, so that
 * "Content-Length : 5" could frame the body differently from another
 * parser on the way (request smuggling). Found by abuse_framing.sh.
 */
START_TEST(head_space_before_colon)
{
	static const char *const heads[] = {
		"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length : 1\r\n\r\n",
		"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length\t: 1\r\n\r\n",
		"PUT /a HTTP/1.1\r\nHost : x\r\nContent-Length: 1\r\n\r\n",
	};
	struct head *h = malloc(sizeof(*h));

	ck_assert_ptr_nonnull(h);
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		ck_assert_msg(feed_all(h, heads[i]) == -EINVAL,
			      "accepted: %s", heads[i]);
	free(h);
}
END_TEST

/* Content-Length with Transfer-Encoding, and two lengths: always 400. */
START_TEST(head_framing_conflicts)
{
	static const char *const heads[] = {
		"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
		"PUT /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
		"Content-Length: 5\r\n\r\n",
		"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
		"Content-Length: 6\r\n\r\n",
		"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
	};
	struct head *h = malloc(sizeof(*h));

	ck_assert_ptr_nonnull(h);
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		ck_assert_msg(feed_all(h, heads[i]) < 0, "accepted: %s",
			      heads[i]);
	free(h);
}
END_TEST

/* An empty value is "" and a complete head never reaches past its end
 * (the head fuzzer's seeds). */
START_TEST(head_empty_values)
{
	static const char text[] = "PUT /a HTTP/1.1\r\nHost:\r\nEmpty:\r\n"
				   "Content-Length:   7   \r\n\r\nbody...";
	struct head *h = malloc(sizeof(*h));
	char *copy = strdup(text);
	const char *v;

	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_nonnull(copy);
	ck_assert_int_eq(feed_all(h, text), 1);
	ck_assert_uint_eq(h->h_len, strlen(text) - strlen("body..."));
	ck_assert_int_eq(h->h_content_length, 7);
	head_terminate(h, copy);
	v = head_get(h, copy, "Empty");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "");
	v = head_get(h, copy, "content-length");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "7");
	free(copy);
	free(h);
}
END_TEST

/* Chunked framing: what the chunk fuzzer must keep true. */
START_TEST(chunk_bad_framing)
{
	static const char *const bodies[] = {
		"zz\r\n", "-5\r\n", "\r\n", "FFFFFFFFFFFFFFFFFFFF\r\n",
		"10000000000000005\r\n", "5\r\nhelloXX",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct chunk c;
		size_t used = 0, pos = 0, len = strlen(bodies[i]);
		int rc;

		chunk_init(&c, 1024);
		for (;;) {
			rc = chunk_feed(&c, bodies[i] + pos, len - pos, &used);
			ck_assert_uint_le(used, len - pos);
			pos += used;
			if (rc != CHUNK_DATA)
				break;
			ck_assert_uint_le(c.ck_size, len - pos);
			pos += c.ck_size;
			chunk_data_done(&c);
		}
		ck_assert_msg(rc == -EINVAL, "accepted: %s", bodies[i]);
	}
}
END_TEST

/* Every spelling of a traversal, as abuse_paths.sh sends them. */
START_TEST(policy_traversal)
{
	static const char *const bad[] = {
		"/../x", "/a/../../x", "/%2e%2e/x", "/%2E%2E/x", "/.%2e/x",
		"/%2e./x", "/a%2fb", "/a%2F..%2Fx", "/..\\x", "/..%5cx",
		"/.", "/./a", "//a", "/a//b", "/a%00b", "/a%0ab", "/a%",
		"/a%2", "/a%zz", "http://h/../x", "x", "*",
		"/.landing/x", "/%2elanding/x",
	};
	char out[LF_MAX_PATH + 1];
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = policy_path(bad[i], strlen(bad[i]), out, sizeof(out),
				     false, &why);

		ck_assert_msg(rc == -EINVAL || rc == -ENAMETOOLONG,
			      "accepted: %s -> %s", bad[i], out);
		ck_assert_ptr_nonnull(why);
	}
	/* A NUL inside the target, not only percent-encoded. */
	ck_assert_int_lt(policy_path("/a\0b", 4, out, sizeof(out), false,
				     &why), 0);
}
END_TEST

/*
 * A token file whose PREFIX field holds a control character (here a CR
 * before a trailing blank, as an editor can leave it) must be refused
 * like any other bad prefix: accepted, it grants a prefix no validated
 * path can ever match, so the token silently allows nothing. Found by the
 * token-file fuzzer.
 */
START_TEST(auth_prefix_control_char)
{
	static const char text[] =
		"abcdefghijklmnopqrstuvwxyz0123456789 all /\r \n";
	char path[] = "/tmp/check-net-regress-XXXXXX";
	struct auth *a = NULL;
	int fd = mkstemp(path);
	int rc;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1),
			 (ssize_t)(sizeof(text) - 1));
	close(fd);
	rc = auth_open(path, &a);
	unlink(path);
	if (rc == 0) {
		/* Accepted: then it must mean the whole tree. */
		int allowed = auth_check(a, "Bearer abcdefghijklmnopqrstuvwxyz"
					 "0123456789", "run42/x", AUTH_WRITE);

		auth_close(&a);
		ck_assert_msg(allowed == 0, "a prefix with a CR was accepted "
			      "and grants nothing (auth_check %d)", allowed);
	} else {
		ck_assert_int_eq(rc, -EINVAL);
	}
}
END_TEST

Suite *net_regress_suite(void)
{
	Suite *s = suite_create("net_regress");
	TCase *tc = tcase_create("regressions");

	tcase_add_test(tc, head_space_before_colon);
	tcase_add_test(tc, head_framing_conflicts);
	tcase_add_test(tc, head_empty_values);
	tcase_add_test(tc, chunk_bad_framing);
	tcase_add_test(tc, policy_traversal);
	tcase_add_test(tc, auth_prefix_control_char);
	suite_add_tcase(s, tc);
	return s;
}
