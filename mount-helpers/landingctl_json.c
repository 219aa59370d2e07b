/*
 * landingctl_json.c - the little JSON landingctl needs: a reader for the
 * dump manifest and the daemon's /.landing/uploads answer, a string writer,
 * and base64 and hex helpers. It owns no state.
 *
 * The reader builds a tree (struct json) of one value. It follows RFC 8259
 * strictly enough for data we wrote ourselves or a daemon wrote: strings
 * with every escape (\u surrogate pairs included; \u0000 is refused because
 * the decoded text is NUL-terminated), numbers kept as text, nesting bounded.
 */
#include "landingctl.h"

#include "landingfs/hex.h"

#include <errno.h>
#include <nettle/base64.h>
#include <stdlib.h>
#include <string.h>

struct reader {
	const char *p;
	const char *end;
	const char *why;
	int depth;
};

static void skip_ws(struct reader *r)
{
	while (r->p < r->end &&
	       (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int fail(struct reader *r, const char *why)
{
	if (r->why == NULL)
		r->why = why;
	return -EINVAL;
}

static int hex4(struct reader *r, unsigned *out)
{
	unsigned v = 0;

	if (r->end - r->p < 4)
		return fail(r, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		int d = lf_hexval((unsigned char)*r->p++);

		if (d < 0)
			return fail(r, "bad \\u escape");
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* read_string() decodes a string starting at its opening quote. The decoded
 * text is never longer than the escaped one, so one allocation suffices. */
static int read_string(struct reader *r, char **out, size_t *outlen)
{
	const char *start = ++r->p;
	const char *q = start;
	char *buf, *o;
	int rc;

	while (q < r->end && *q != '"') {
		if (*q == '\\' && r->end - q > 1)
			q++;
		q++;
	}
	if (q >= r->end)
		return fail(r, "unterminated string");
	buf = malloc((size_t)(q - start) + 1);
	if (buf == NULL)
		return -ENOMEM;
	o = buf;
	while (*r->p != '"') {
		unsigned char c = (unsigned char)*r->p++;
		unsigned cp, lo;

		if (c < 0x20) {
			rc = fail(r, "control character in string");
			goto err;
		}
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		c = (unsigned char)*r->p++;
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			rc = hex4(r, &cp);
			if (rc < 0)
				goto err;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (r->end - r->p < 6 || r->p[0] != '\\' ||
				    r->p[1] != 'u') {
					rc = fail(r, "lone surrogate");
					goto err;
				}
				r->p += 2;
				rc = hex4(r, &lo);
				if (rc < 0)
					goto err;
				if (lo < 0xdc00 || lo >= 0xe000) {
					rc = fail(r, "bad surrogate pair");
					goto err;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				rc = fail(r, "lone surrogate");
				goto err;
			}
			if (cp == 0) {
				rc = fail(r, "\\u0000 in string");
				goto err;
			}
			o += put_utf8(o, cp);
			break;
		default:
			rc = fail(r, "bad escape");
			goto err;
		}
	}
	r->p++;
	*o = '\0';
	*out = buf;
	*outlen = (size_t)(o - buf);
	return 0;

err:
	free(buf);
	return rc;
}

static int read_value(struct reader *r, struct json **out);

static int read_number(struct reader *r, struct json *j)
{
	const char *s = r->p;

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p >= r->end || *r->p < '0' || *r->p > '9')
		return fail(r, "bad number");
	while (r->p < r->end &&
	       ((*r->p >= '0' && *r->p <= '9') || *r->p == '.' ||
		*r->p == 'e' || *r->p == 'E' || *r->p == '+' || *r->p == '-'))
		r->p++;
	j->type = JSON_NUMBER;
	j->len = (size_t)(r->p - s);
	j->str = strndup(s, j->len);
	return j->str != NULL ? 0 : -ENOMEM;
}

static int read_literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return fail(r, "unexpected character");
	r->p += n;
	return 0;
}

/* read_members() reads array elements or object members up to close. */
static int read_members(struct reader *r, struct json *j, char close)
{
	struct json **tail = &j->child;
	int rc;

	if (++r->depth > CTL_MAX_DEPTH)
		return fail(r, "nested too deeply");
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		r->depth--;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		size_t klen;
		struct json *v;

		skip_ws(r);
		if (close == '}') {
			if (r->p >= r->end || *r->p != '"')
				return fail(r, "expected a member name");
			rc = read_string(r, &key, &klen);
			if (rc < 0)
				return rc;
			skip_ws(r);
			if (r->p >= r->end || *r->p != ':') {
				free(key);
				return fail(r, "expected ':'");
			}
			r->p++;
		}
		rc = read_value(r, &v);
		if (rc < 0) {
			free(key);
			return rc;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			r->depth--;
			return 0;
		}
		return fail(r, close == '}' ? "expected ',' or '}'"
					    : "expected ',' or ']'");
	}
}

static int read_value(struct reader *r, struct json **out)
{
	struct json *j;
	int rc;

	skip_ws(r);
	if (r->p >= r->end)
		return fail(r, "unexpected end of text");
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return -ENOMEM;
	switch (*r->p) {
	case '{':
		j->type = JSON_OBJECT;
		rc = read_members(r, j, '}');
		break;
	case '[':
		j->type = JSON_ARRAY;
		rc = read_members(r, j, ']');
		break;
	case '"':
		j->type = JSON_STRING;
		rc = read_string(r, &j->str, &j->len);
		break;
	case 't':
		j->type = JSON_TRUE;
		rc = read_literal(r, "true");
		break;
	case 'f':
		j->type = JSON_FALSE;
		rc = read_literal(r, "false");
		break;
	case 'n':
		j->type = JSON_NULL;
		rc = read_literal(r, "null");
		break;
	default:
		rc = read_number(r, j);
		break;
	}
	if (rc < 0) {
		json_free(&j);
		return rc;
	}
	*out = j;
	return 0;
}

int json_parse(const char *text, size_t len, struct json **out,
	       const char **why)
{
	struct reader r = { .p = text, .end = text + len };
	struct json *j;
	int rc;

	rc = read_value(&r, &j);
	if (rc == 0) {
		skip_ws(&r);
		if (r.p != r.end) {
			json_free(&j);
			rc = fail(&r, "text after the value");
		}
	}
	if (rc < 0) {
		*why = r.why != NULL ? r.why : "out of memory";
		return rc;
	}
	*out = j;
	return 0;
}

void json_free(struct json **jp)
{
	struct json *j, *c, *next;

	if (jp == NULL || *jp == NULL)
		return;
	j = *jp;
	for (c = j->child; c != NULL; c = next) {
		next = c->next;
		json_free(&c);
	}
	free(j->key);
	free(j->str);
	free(j);
	*jp = NULL;
}

const struct json *json_get(const struct json *j, const char *key)
{
	if (j == NULL || j->type != JSON_OBJECT)
		return NULL;
	for (const struct json *c = j->child; c != NULL; c = c->next)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

int json_i64(const struct json *j, int64_t *out)
{
	char *end;
	long long v;

	if (j == NULL || j->type != JSON_NUMBER)
		return -EINVAL;
	errno = 0;
	v = strtoll(j->str, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

void json_put_str(FILE *f, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else {
			fputc(c, f);
		}
	}
	fputc('"', f);
}

bool utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp, min;

		if (c < 0x80) {
			if (c == 0)
				return false;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return false;
		i += n + 1;
	}
	return true;
}

char *b64_encode(const void *data, size_t len)
{
	char *out = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);

	if (out == NULL)
		return NULL;
	base64_encode_raw(out, len, data);
	out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
	return out;
}

int b64_decode(const char *text, size_t len, uint8_t **out, size_t *outlen)
{
	struct base64_decode_ctx ctx;
	size_t n = BASE64_DECODE_LENGTH(len);
	uint8_t *buf = malloc(n + 1);

	if (buf == NULL)
		return -ENOMEM;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, buf, len, text) ||
	    !base64_decode_final(&ctx)) {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

void hex_encode(const uint8_t *data, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[data[i] >> 4];
		out[2 * i + 1] = hex[data[i] & 15];
	}
	out[2 * len] = '\0';
}

int hex_decode(const char *text, uint8_t *out, size_t len)
{
	if (strlen(text) != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = lf_hexval((unsigned char)text[2 * i]);
		int lo = lf_hexval((unsigned char)text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
