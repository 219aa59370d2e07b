/*
 * check_net_head.c - the request head parser (http_parser, fed
 * incrementally as the front door peeks) and the chunked framing, on
 * bytes in memory.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../net/net_int.h"

Suite *net_head_suite(void);

/* parse_all() parses text fed step bytes at a time, as a trickling client
 * would deliver it. Returns the last head_feed() result. */
static int parse_all(struct head *h, char *buf, const char *text,
		     size_t step)
{
	size_t len = strlen(text), avail = 0;
	int rc = 0;

	memcpy(buf, text, len + 1);
	head_init(h, buf);
	while (avail < len) {
		avail += step;
		if (avail > len)
			avail = len;
		rc = head_feed(h, avail);
		if (rc != 0)
			break;
	}
	return rc;
}

static const char put_head[] =
	"PUT /run42/results.tar?x=1 HTTP/1.1\r\n"
	"Host: 127.0.0.1:8080\r\n"
	"User-Agent: curl/7.88.1\r\n"
	"Content-Length: 11\r\n"
	"Expect:    100-continue   \r\n"
	"X-Empty:\r\n"
	"\r\n";

START_TEST(put_head_whole_and_trickled)
{
	static const size_t steps[] = { 4096, 1, 2, 7 };
	char text[1024], buf[1024];
	struct head h;

	snprintf(text, sizeof(text), "%shello world", put_head);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		ck_assert_int_eq(parse_all(&h, buf, text, steps[i]), 1);
		ck_assert_uint_eq(h.h_len, strlen(put_head));
		ck_assert_uint_eq(h.h_method, HTTP_PUT);
		ck_assert_int_eq(h.h_content_length, 11);
		ck_assert(!h.h_chunked);
		ck_assert(h.h_keepalive);
		head_terminate(&h, buf);
		ck_assert_str_eq(buf + h.h_url_off, "/run42/results.tar?x=1");
		ck_assert_str_eq(head_get(&h, buf, "expect"), "100-continue");
		ck_assert_str_eq(head_get(&h, buf, "HOST"), "127.0.0.1:8080");
		ck_assert_str_eq(head_get(&h, buf, "x-empty"), "");
		ck_assert_ptr_null(head_get(&h, buf, "If-Match"));
		/* The body is untouched. */
		ck_assert_int_eq(memcmp(buf + h.h_len, "hello world", 11), 0);
	}
}
END_TEST

START_TEST(incomplete_needs_more)
{
	char buf[256];
	struct head h;
	const char *t = "PUT /a HTTP/1.1\r\nContent-Length: 3\r\n";

	memcpy(buf, t, strlen(t) + 1);
	head_init(&h, buf);
	ck_assert_int_eq(head_feed(&h, strlen(t)), 0);
	ck_assert(!h.h_complete);
	/* Feeding the same bytes again is a no-op. */
	ck_assert_int_eq(head_feed(&h, strlen(t)), 0);
}
END_TEST

START_TEST(chunked_and_keepalive)
{
	char buf[512];
	struct head h;

	ck_assert_int_eq(parse_all(&h, buf,
				   "PUT /c HTTP/1.1\r\nHost: x\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n5\r\n",
				   4096), 1);
	ck_assert(h.h_chunked);
	ck_assert_int_eq(h.h_content_length, -1);
	ck_assert(h.h_keepalive);
	ck_assert_int_eq(parse_all(&h, buf,
				   "PUT /c HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
				   4096), 1);
	ck_assert(!h.h_keepalive);
	ck_assert_int_eq(h.h_content_length, 0);
	ck_assert_int_eq(parse_all(&h, buf,
				   "PUT /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
				   4096), 1);
	ck_assert(!h.h_keepalive);
	ck_assert_int_eq(h.h_content_length, -1);
	/* Bare LF line ends, as http_parser accepts them. */
	ck_assert_int_eq(parse_all(&h, buf,
				   "GET /x HTTP/1.1\nHost: y\n\nGET", 4096), 1);
	ck_assert_uint_eq(h.h_method, HTTP_GET);
	ck_assert_uint_eq(h.h_len, strlen("GET /x HTTP/1.1\nHost: y\n\n"));
}
END_TEST

START_TEST(bad_heads)
{
	char buf[512];
	struct head h;

	ck_assert_int_eq(parse_all(&h, buf, "FOO /x HTTP/1.1\r\n\r\n", 4096),
			 -EOPNOTSUPP);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.1\r\nHost: h\r\n"
				   "Content-Length: 5\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n", 4096),
			 -EINVAL);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.1\r\nHost: h\r\n"
				   "Content-Length: 5\r\n"
				   "Content-Length: 6\r\n\r\n", 4096),
			 -EINVAL);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.1\r\nHost: h\r\n"
				   "Content-Length: -5\r\n\r\n", 4096),
			 -EINVAL);
	/* A coding other than chunked: parsed, flagged (501). */
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.1\r\nHost: h\r\n"
				   "Transfer-Encoding: gzip\r\n\r\n", 4096),
			 1);
	ck_assert(h.h_te_other);
	ck_assert(!h.h_chunked);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.1\r\nHost: h\r\n"
				   "Transfer-Encoding: gzip, chunked\r\n\r\n",
				   4096), 1);
	ck_assert(h.h_chunked);
	head_terminate(&h, buf);
	ck_assert(h.h_te_other);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.1\r\nHost: h\r\n"
				   "Transfer-Encoding: Chunked \r\n\r\n",
				   4096), 1);
	head_terminate(&h, buf);
	ck_assert(!h.h_te_other);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/9\r\n\r\n", 4096),
			 -EINVAL);
	/* Stricter than http_parser: one space, a version. */
	ck_assert_int_eq(parse_all(&h, buf, "PUT  /x  HTTP/1.1\r\n\r\n", 4096),
			 -EINVAL);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x\r\n\r\n", 4096),
			 -EINVAL);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.1\r\nHost: h\r\n"
				   "Content-Length : 1\r\n\r\nx", 4096),
			 -EINVAL);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.1\r\nHost: h\r\n"
				   "X-Folded: a\r\n b\r\n\r\n", 4096),
			 -EINVAL);
	/* Host: exactly once in HTTP/1.1. */
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.1\r\n\r\n", 4096),
			 -EINVAL);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.1\r\nHost: a\r\n"
				   "host: b\r\n\r\n", 4096), -EINVAL);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.0\r\n\r\n", 4096),
			 1);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.0\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n", 4096),
			 -EINVAL);
	ck_assert_int_eq(parse_all(&h, buf, "PUT /x HTTP/1.1\r\nBad@Name: v\r\n\r\n",
				   4096), -EINVAL);
}
END_TEST

START_TEST(too_many_fields)
{
	char *text = malloc(64 * (NET_MAX_FIELDS + 2)), *buf;
	size_t len;
	struct head h;

	len = (size_t)sprintf(text, "PUT /x HTTP/1.1\r\n");
	for (int i = 0; i < NET_MAX_FIELDS + 1; i++)
		len += (size_t)sprintf(text + len, "X-F%d: v\r\n", i);
	sprintf(text + len, "\r\n");
	buf = malloc(strlen(text) + 1);
	ck_assert_int_eq(parse_all(&h, buf, text, 4096), -EMSGSIZE);
	free(buf);
	free(text);
}
END_TEST

/* feed_chunks() runs the framing over a whole chunked body fed step bytes
 * at a time and returns the payload it found (payload bytes are skipped
 * as a splice would move them), or NULL on a framing error. */
static char *feed_chunks(const char *body, size_t step, int *err)
{
	static char payload[4096];
	size_t len = strlen(body), at = 0, plen = 0;
	struct chunk c;

	chunk_init(&c, 1024);
	*err = 0;
	while (at < len) {
		size_t n = len - at < step ? len - at : step, used = 0;
		int r = chunk_feed(&c, body + at, n, &used);

		if (r < 0) {
			*err = r;
			return NULL;
		}
		at += used;
		if (r == CHUNK_DONE) {
			payload[plen] = '\0';
			return at == len ? payload : NULL;
		}
		if (r == CHUNK_DATA) {
			if (at + c.ck_size > len) {
				*err = -EPIPE;
				return NULL;
			}
			memcpy(payload + plen, body + at, c.ck_size);
			plen += c.ck_size;
			at += c.ck_size;
			chunk_data_done(&c);
		}
	}
	*err = -EAGAIN;
	return NULL;
}

START_TEST(chunk_framing)
{
	static const size_t steps[] = { 4096, 1, 3 };
	int err;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char *p = feed_chunks("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
				      steps[i], &err);

		ck_assert_ptr_nonnull(p);
		ck_assert_str_eq(p, "hello world");
		p = feed_chunks("A;name=val;x\r\n0123456789\r\n"
				"0;last\r\nX-Trailer: 1\r\nY: 2\r\n\r\n",
				steps[i], &err);
		ck_assert_ptr_nonnull(p);
		ck_assert_str_eq(p, "0123456789");
		p = feed_chunks("3\nabc\n0\n\n", steps[i], &err);
		ck_assert_ptr_nonnull(p);
		ck_assert_str_eq(p, "abc");
	}
}
END_TEST

START_TEST(chunk_framing_bad)
{
	static const char *const bad[] = {
		"zz\r\nab\r\n0\r\n\r\n",        /* not hex */
		"\r\n",                         /* no size */
		"5\rXhello\r\n0\r\n\r\n",       /* CR without LF */
		"5\r\nhelloX0\r\n\r\n",         /* payload not followed by CRLF */
		"1000000000000000\r\n",         /* size over 2^60 */
		"-5\r\n",
	};
	int err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_ptr_null(feed_chunks(bad[i], 4096, &err));
		ck_assert_msg(err == -EINVAL, "case %zu: %d", i, err);
	}
}
END_TEST

START_TEST(chunk_limits)
{
	char *body = malloc(NET_MAX_CHUNK_LINE + 64);
	size_t used;
	struct chunk c;
	int r;

	/* A chunk-size line longer than NET_MAX_CHUNK_LINE. */
	memset(body, ' ', NET_MAX_CHUNK_LINE + 10);
	body[0] = '5';
	body[1] = ';';
	chunk_init(&c, 1024);
	r = chunk_feed(&c, body, NET_MAX_CHUNK_LINE + 10, &used);
	ck_assert_int_eq(r, -EINVAL);
	/* A trailer section over its limit. */
	chunk_init(&c, 16);
	r = chunk_feed(&c, "0\r\nX-Long-Trailer: 0123456789\r\n\r\n", 33,
		       &used);
	ck_assert_int_eq(r, -EINVAL);
	/* A partial line asks for more and consumes what it parsed. */
	chunk_init(&c, 16);
	r = chunk_feed(&c, "1f", 2, &used);
	ck_assert_int_ge(r, 0);
	ck_assert_int_ne(r, CHUNK_DATA);
	ck_assert_uint_eq(used, 2);
	r = chunk_feed(&c, "\r\nxyz", 5, &used);
	ck_assert_int_eq(r, CHUNK_DATA);
	ck_assert_uint_eq(used, 2);
	ck_assert_uint_eq(c.ck_size, 31);
	free(body);
}
END_TEST

Suite *net_head_suite(void)
{
	Suite *s = suite_create("net_head");
	TCase *tc = tcase_create("head");
	TCase *tk = tcase_create("chunk");

	tcase_add_test(tc, put_head_whole_and_trickled);
	tcase_add_test(tc, incomplete_needs_more);
	tcase_add_test(tc, chunked_and_keepalive);
	tcase_add_test(tc, bad_heads);
	tcase_add_test(tc, too_many_fields);
	suite_add_tcase(s, tc);
	tcase_add_test(tk, chunk_framing);
	tcase_add_test(tk, chunk_framing_bad);
	tcase_add_test(tk, chunk_limits);
	suite_add_tcase(s, tk);
	return s;
}
