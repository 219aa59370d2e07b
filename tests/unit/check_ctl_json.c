/*
 * check_ctl_json.c - landingctl's JSON reader and writer, base64, hex and
 * UTF-8 helpers (mount-helpers/landingctl_json.c), without a store: the
 * dump manifest and the daemon's /.landing/uploads answer go through them,
 * so hostile or damaged text must be refused, never misread.
 *
 * landingctl is a program, not a library, so its source file is compiled
 * into this suite directly.
 */
#include "../../mount-helpers/landingctl_json.c"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *ctl_json_suite(void);

static struct json *parse_ok(const char *text)
{
	const char *why = NULL;
	struct json *j = NULL;
	int rc = json_parse(text, strlen(text), &j, &why);

	ck_assert_msg(rc == 0, "'%s' refused: %s", text, why ? why : "?");
	return j;
}

static void parse_bad(const char *text)
{
	const char *why = NULL;
	struct json *j = NULL;
	int rc = json_parse(text, strlen(text), &j, &why);

	ck_assert_msg(rc == -EINVAL, "'%s' accepted (rc %d)", text, rc);
	ck_assert_ptr_null(j);
	ck_assert_ptr_nonnull(why);
}

START_TEST(parse_values)
{
	struct json *j = parse_ok(" {\"a\": [1, -2, 3.5e2, true, false, null],"
				  " \"b\": {\"c\": \"d\"}, \"e\": \"\"} \n");
	const struct json *a = json_get(j, "a"), *b = json_get(j, "b");
	int64_t v;

	ck_assert_int_eq(j->type, JSON_OBJECT);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->type, JSON_ARRAY);
	ck_assert_int_eq(json_i64(a->child, &v), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(json_i64(a->child->next, &v), 0);
	ck_assert_int_eq(v, -2);
	ck_assert_int_eq(json_i64(a->child->next->next, &v), -EINVAL);
	ck_assert_int_eq(a->child->next->next->next->type, JSON_TRUE);
	ck_assert_int_eq(a->child->next->next->next->next->type, JSON_FALSE);
	ck_assert_int_eq(a->child->next->next->next->next->next->type,
			 JSON_NULL);
	ck_assert_str_eq(json_get(b, "c")->str, "d");
	ck_assert_uint_eq(json_get(j, "e")->len, 0);
	ck_assert_ptr_null(json_get(j, "zz"));
	ck_assert_ptr_null(json_get(a, "a")); /* not an object */
	json_free(&j);
	ck_assert_ptr_null(j);
	json_free(&j); /* NULL is fine */
}
END_TEST

START_TEST(parse_large_int)
{
	struct json *j = parse_ok("[1795591500886176130, -1, 99999999999999999999]");
	int64_t v;

	ck_assert_int_eq(json_i64(j->child, &v), 0);
	ck_assert(v == 1795591500886176130LL);
	ck_assert_int_eq(json_i64(j->child->next->next, &v), -EINVAL);
	json_free(&j);
}
END_TEST

START_TEST(parse_escapes)
{
	struct json *j = parse_ok("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t "
				  "\\u00e9 \\u20ac \\ud83d\\ude00\"");
	const char want[] = "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac "
			    "\xf0\x9f\x98\x80";

	ck_assert_int_eq(j->type, JSON_STRING);
	ck_assert_uint_eq(j->len, sizeof(want) - 1);
	ck_assert_mem_eq(j->str, want, sizeof(want) - 1);
	json_free(&j);
}
END_TEST

START_TEST(parse_refuses)
{
	static const char *const bad[] = {
		"", "   ", "{", "[", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":}",
		"{a:1}", "\"open", "\"bad \\x escape\"", "\"\\u12\"",
		"\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"",
		"\"\\ud800\\u0041\"", "\"tab\there\"", "[1] x", "tru", "nul",
		"-", "+1", "\"\\", "{\"a\":1,}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i]);
}
END_TEST

START_TEST(parse_depth_bounded)
{
	char deep[CTL_MAX_DEPTH * 2 + 8];
	struct json *j;
	int n;

	/* CTL_MAX_DEPTH levels parse; one more does not. */
	for (n = 0; n < CTL_MAX_DEPTH; n++)
		deep[n] = '[';
	for (int i = 0; i < CTL_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	j = parse_ok(deep);
	json_free(&j);
	memmove(deep + 1, deep, (size_t)n + 1);
	deep[0] = '[';
	deep[n + 1] = ']';
	deep[n + 2] = '\0';
	parse_bad(deep);
}
END_TEST

START_TEST(writer_round_trip)
{
	char in[256], *out = NULL;
	size_t len = 0, n = 0;
	struct json *j;
	const char *why;
	FILE *f;

	/* Every byte but NUL, as valid UTF-8: ASCII 1..127 then U+0080..U+00FF
	 * encoded. */
	for (int c = 1; c < 128; c++)
		in[n++] = (char)c;
	for (int c = 0x80; c < 0xc0 && n + 2 < sizeof(in); c++) {
		in[n++] = (char)0xc2;
		in[n++] = (char)c;
	}
	ck_assert(utf8_valid(in, n));
	f = open_memstream(&out, &len);
	ck_assert_ptr_nonnull(f);
	json_put_str(f, in, n);
	fclose(f);
	ck_assert_int_eq(json_parse(out, len, &j, &why), 0);
	ck_assert_uint_eq(j->len, n);
	ck_assert_mem_eq(j->str, in, n);
	json_free(&j);
	free(out);
}
END_TEST

START_TEST(utf8_checks)
{
	ck_assert(utf8_valid("plain", 5));
	ck_assert(utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	ck_assert(utf8_valid("", 0));
	ck_assert(!utf8_valid("\xff", 1));
	ck_assert(!utf8_valid("a\0b", 3));
	ck_assert(!utf8_valid("\xc0\x80", 2));         /* overlong NUL */
	ck_assert(!utf8_valid("\xe0\x80\xaf", 3));     /* overlong '/' */
	ck_assert(!utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	ck_assert(!utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	ck_assert(!utf8_valid("\xe2\x82", 2));         /* truncated */
	ck_assert(!utf8_valid("\x80", 1));             /* lone continuation */
}
END_TEST

START_TEST(base64_and_hex)
{
	const uint8_t bin[] = { 0, 0xff, 0x10, 'a', 0x80, 0 };
	uint8_t back[8], *dec;
	char hex[2 * sizeof(bin) + 1];
	char *enc = b64_encode(bin, sizeof(bin));
	size_t len;

	ck_assert_ptr_nonnull(enc);
	ck_assert_str_eq(enc, "AP8QYYAA");
	ck_assert_int_eq(b64_decode(enc, strlen(enc), &dec, &len), 0);
	ck_assert_uint_eq(len, sizeof(bin));
	ck_assert_mem_eq(dec, bin, sizeof(bin));
	free(dec);
	free(enc);
	ck_assert_int_eq(b64_decode("a*b=", 4, &dec, &len), -EINVAL);
	ck_assert_int_eq(b64_decode("", 0, &dec, &len), 0);
	ck_assert_uint_eq(len, 0);
	free(dec);

	hex_encode(bin, sizeof(bin), hex);
	ck_assert_str_eq(hex, "00ff10618000");
	ck_assert_int_eq(hex_decode(hex, back, sizeof(bin)), 0);
	ck_assert_mem_eq(back, bin, sizeof(bin));
	ck_assert_int_eq(hex_decode("00FF10618000", back, sizeof(bin)), 0);
	ck_assert_int_eq(hex_decode("00ff1061800", back, sizeof(bin)), -EINVAL);
	ck_assert_int_eq(hex_decode("00ff106180zz", back, sizeof(bin)), -EINVAL);
}
END_TEST

Suite *ctl_json_suite(void)
{
	Suite *s = suite_create("ctl_json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, parse_values);
	tcase_add_test(tc, parse_large_int);
	tcase_add_test(tc, parse_escapes);
	tcase_add_test(tc, parse_refuses);
	tcase_add_test(tc, parse_depth_bounded);
	tcase_add_test(tc, writer_round_trip);
	tcase_add_test(tc, utf8_checks);
	tcase_add_test(tc, base64_and_hex);
	suite_add_tcase(s, tc);
	return s;
}
