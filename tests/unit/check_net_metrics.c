/*
 * check_net_metrics.c - the counters, the in-flight registry and their two
 * views (net/metrics.c), and the bounded text buffers they are written
 * into (net/textbuf.c). No sockets, no store: n->st is NULL.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net/net_int.h"

Suite *net_metrics_suite(void);

static struct net net0;

/* view() renders one of the views into a fresh string (caller frees). */
static char *view(bool prom)
{
	struct textbuf b;
	size_t len;
	char *s;

	textbuf_init(&b, 1 << 20);
	ck_assert_int_eq(prom ? metrics_prometheus(&net0, &b) :
				metrics_uploads_json(&net0, &b), 0);
	s = textbuf_take(&b, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), len);
	return s;
}

static void has(const char *text, const char *line)
{
	ck_assert_msg(strstr(text, line) != NULL, "missing \"%s\" in:\n%s",
		      line, text);
}

START_TEST(upload_lifecycle)
{
	struct upload_progress *a, *b;
	char *s;

	a = metrics_upload_begin(&net0, "run42/results.tar", "127.0.0.1:5000",
				 1000, true);
	b = metrics_upload_begin(&net0, "/chunked", "[::1]:6000", -1, false);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	metrics_upload_bytes(a, 100);
	metrics_upload_bytes(a, 600);
	metrics_upload_bytes(b, 42);

	s = view(false);
	has(s, "\"path\":\"/run42/results.tar\",\"peer\":\"127.0.0.1:5000\","
	       "\"bytes\":600,\"expected\":1000");
	has(s, "\"path\":\"/chunked\",\"peer\":\"[::1]:6000\",\"bytes\":42,"
	       "\"expected\":null");
	has(s, "\"via\":\"splice\"");
	has(s, "\"via\":\"copy\"");
	has(s, "\"in_flight\":2");
	free(s);
	s = view(true);
	has(s, "landingfs_uploads_in_flight 2\n");
	has(s, "landingfs_upload_received_bytes_total{via=\"splice\"} 600\n");
	has(s, "landingfs_upload_received_bytes_total{via=\"copy\"} 42\n");
	free(s);

	metrics_upload_bytes(a, 1000);
	metrics_upload_end(&net0, &a, 201, NULL);
	ck_assert_ptr_null(a);
	metrics_upload_end(&net0, &b, 0, "disconnect");
	ck_assert_ptr_null(b);
	metrics_upload_end(&net0, &b, 0, "disconnect"); /* NULL is fine */

	s = view(false);
	has(s, "\"uploads\":[]");
	has(s, "\"recent\":[{\"path\":\"/run42/results.tar\",\"peer\":"
	       "\"127.0.0.1:5000\",\"size\":1000,\"status\":201");
	has(s, "\"completed\":1,\"failed\":1");
	free(s);
	s = view(true);
	has(s, "landingfs_uploads_in_flight 0\n");
	has(s, "landingfs_uploads_completed_total{via=\"splice\"} 1\n");
	has(s, "landingfs_uploads_completed_total{via=\"copy\"} 0\n");
	has(s, "landingfs_uploads_failed_total{reason=\"disconnect\"} 1\n");
	has(s, "landingfs_upload_received_bytes_total{via=\"splice\"} 1000\n");
	free(s);
}
END_TEST

START_TEST(failure_labels_are_bounded)
{
	char label[32], *s;
	int lines = 0;

	for (int i = 0; i < 100; i++) {
		struct upload_progress *p =
			metrics_upload_begin(&net0, "x", "p", 1, true);

		snprintf(label, sizeof(label), "Reason-%d", i);
		metrics_upload_end(&net0, &p, 413, label);
	}
	s = view(true);
	for (char *q = s; (q = strstr(q, "landingfs_uploads_failed_total{")) !=
			  NULL; q++)
		lines++;
	ck_assert_int_eq(lines, 32);
	/* Labels are made safe: lower case, '_' for anything else. */
	has(s, "landingfs_uploads_failed_total{reason=\"reason_0\"} 1\n");
	has(s, "landingfs_uploads_failed_total{reason=\"other\"} 69\n");
	free(s);
}
END_TEST

START_TEST(requests_and_histogram)
{
	char *s;

	metrics_request(&net0, "GET", 200, 0.0001);
	metrics_request(&net0, "GET", 200, 0.2);
	metrics_request(&net0, "GET", 404, 0.003);
	metrics_request(&net0, "PROPFIND", 405, 1000);
	metrics_request(&net0, "PUT", 999, 0.001); /* no such code: timed only */
	s = view(true);
	has(s, "landingfs_http_requests_total{method=\"GET\",code=\"200\"} 2\n");
	has(s, "landingfs_http_requests_total{method=\"GET\",code=\"404\"} 1\n");
	has(s, "landingfs_http_requests_total{method=\"other\",code=\"405\"} 1\n");
	has(s, "landingfs_http_request_duration_seconds_bucket{le=\"0.0005\"} 1\n");
	has(s, "landingfs_http_request_duration_seconds_bucket{le=\"0.001\"} 2\n");
	has(s, "landingfs_http_request_duration_seconds_bucket{le=\"0.005\"} 3\n");
	has(s, "landingfs_http_request_duration_seconds_bucket{le=\"0.25\"} 4\n");
	has(s, "landingfs_http_request_duration_seconds_bucket{le=\"300\"} 4\n");
	has(s, "landingfs_http_request_duration_seconds_bucket{le=\"+Inf\"} 5\n");
	has(s, "landingfs_http_request_duration_seconds_count 5\n");
	free(s);
}
END_TEST

START_TEST(textbuf_escapes_and_ceiling)
{
	struct textbuf b;
	size_t len;
	char *s;

	textbuf_init(&b, 1024);
	textbuf_html(&b, "<a href=\"x\">&'</a>");
	textbuf_puts(&b, "|");
	textbuf_json_str(&b, "q\"\\\n\x01\xc3\xa9\xff/");
	textbuf_puts(&b, "|");
	textbuf_url(&b, "a b/%c?\xc3\xa9~", false);
	textbuf_puts(&b, "|");
	textbuf_url(&b, "a/b", true);
	s = textbuf_take(&b, &len);
	ck_assert_str_eq(s, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
			    "|\"q\\\"\\\\\\u000a\\u0001\xc3\xa9\\u00ff/\""
			    "|a%20b/%25c%3F%C3%A9~|a%2Fb");
	free(s);

	textbuf_init(&b, 8);
	ck_assert_int_eq(textbuf_puts(&b, "12345678"), 0);
	ck_assert_int_eq(textbuf_puts(&b, "9"), -E2BIG);
	ck_assert_int_eq(textbuf_puts(&b, ""), -E2BIG); /* sticky */
	ck_assert_int_eq(textbuf_error(&b), -E2BIG);
	ck_assert_ptr_null(textbuf_take(&b, &len));
	textbuf_free(&b);
}
END_TEST

Suite *net_metrics_suite(void)
{
	Suite *s = suite_create("net_metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, upload_lifecycle);
	tcase_add_test(tc, failure_labels_are_bounded);
	tcase_add_test(tc, requests_and_histogram);
	tcase_add_test(tc, textbuf_escapes_and_ceiling);
	suite_add_tcase(s, tc);
	return s;
}
