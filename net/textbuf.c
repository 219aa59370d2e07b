/*
 * textbuf.c - bounded text buffers for the bodies net/ generates itself:
 * directory listings, JSON and Prometheus text, error pages.
 *
 * Every buffer is born with a ceiling; appending past it fails with
 * -E2BIG and leaves the buffer marked, so that a builder can append freely
 * and check once at the end (textbuf_error()). It owns no file descriptor
 * and knows nothing of HTTP beyond the escaping rules of the formats it
 * writes (HTML text and attributes, JSON strings, URL path segments).
 */
#include "net_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* textbuf_init() makes an empty buffer that may grow to max bytes. */
void textbuf_init(struct textbuf *b, size_t max)
{
	b->tb_data = NULL;
	b->tb_len = 0;
	b->tb_cap = 0;
	b->tb_max = max;
	b->tb_err = 0;
}

/* textbuf_free() releases the buffer's memory; the buffer stays usable
 * (empty). */
void textbuf_free(struct textbuf *b)
{
	free(b->tb_data);
	textbuf_init(b, b->tb_max);
}

/*
 * textbuf_take() hands the contents (NUL-terminated, malloc'ed; an empty
 * buffer gives "") to the caller, who frees them, and leaves b empty.
 * Returns NULL after an earlier error or when out of memory.
 */
char *textbuf_take(struct textbuf *b, size_t *len)
{
	char *p;

	if (b->tb_err != 0)
		return NULL;
	if (b->tb_data == NULL && textbuf_append(b, "", 0) < 0)
		return NULL;
	p = b->tb_data;
	*len = b->tb_len;
	b->tb_data = NULL;
	b->tb_len = b->tb_cap = 0;
	return p;
}

/* textbuf_error() returns 0, or the first error met while appending. */
int textbuf_error(const struct textbuf *b)
{
	return b->tb_err;
}

static int reserve(struct textbuf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (b->tb_err != 0)
		return b->tb_err;
	if (more > b->tb_max || b->tb_len + more > b->tb_max) {
		b->tb_err = -E2BIG;
		return b->tb_err;
	}
	need = b->tb_len + more + 1;
	if (need <= b->tb_cap)
		return 0;
	cap = b->tb_cap != 0 ? b->tb_cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > b->tb_max + 1)
		cap = b->tb_max + 1;
	p = realloc(b->tb_data, cap);
	if (p == NULL) {
		b->tb_err = -ENOMEM;
		return b->tb_err;
	}
	b->tb_data = p;
	b->tb_cap = cap;
	return 0;
}

/* textbuf_append() appends len bytes of s. Returns 0 or -E2BIG/-ENOMEM. */
int textbuf_append(struct textbuf *b, const char *s, size_t len)
{
	int rc = reserve(b, len);

	if (rc < 0)
		return rc;
	memcpy(b->tb_data + b->tb_len, s, len);
	b->tb_len += len;
	b->tb_data[b->tb_len] = '\0';
	return 0;
}

int textbuf_puts(struct textbuf *b, const char *s)
{
	return textbuf_append(b, s, strlen(s));
}

int textbuf_printf(struct textbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->tb_err = -EINVAL;
		return b->tb_err;
	}
	rc = reserve(b, (size_t)n);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->tb_data + b->tb_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->tb_len += (size_t)n;
	return 0;
}

/* textbuf_html() appends s escaped for HTML text and quoted attributes. */
int textbuf_html(struct textbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			textbuf_puts(b, "&lt;");
			break;
		case '>':
			textbuf_puts(b, "&gt;");
			break;
		case '&':
			textbuf_puts(b, "&amp;");
			break;
		case '"':
			textbuf_puts(b, "&quot;");
			break;
		case '\'':
			textbuf_puts(b, "&#39;");
			break;
		default:
			textbuf_append(b, s, 1);
		}
	}
	return b->tb_err;
}

/* utf8_len() returns the length of the valid UTF-8 sequence at s (1-4),
 * or 0 when s does not start one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n, i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 ||
						  cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * textbuf_json_str() appends s as a quoted JSON string. Names in the store
 * are bytes, not necessarily UTF-8: a byte that does not start a valid
 * UTF-8 sequence is written as the code point of the same value (\u00XX),
 * so the output is always valid JSON; the exact bytes travel in the
 * percent-encoded "href" of listings.
 */
int textbuf_json_str(struct textbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	textbuf_append(b, "\"", 1);
	while (*p != '\0') {
		size_t n = utf8_len(p);

		if (*p == '"' || *p == '\\') {
			textbuf_printf(b, "\\%c", *p);
			p++;
		} else if (*p < 0x20 || n == 0) {
			textbuf_printf(b, "\\u%04x", *p);
			p++;
		} else {
			textbuf_append(b, (const char *)p, n);
			p += n;
		}
	}
	return textbuf_append(b, "\"", 1);
}

/*
 * textbuf_url() appends s percent-encoded for use in a URL path: unreserved
 * characters (RFC 3986) and, unless encode_slash, '/' stay as they are;
 * every other byte becomes %XX.
 */
int textbuf_url(struct textbuf *b, const char *s, bool encode_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (c == '/' && !encode_slash)) {
			textbuf_append(b, s, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			textbuf_append(b, e, 3);
		}
	}
	return b->tb_err;
}
