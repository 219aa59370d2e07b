/*
 * head.c - the request head and the chunked framing, as pure functions over
 * bytes the caller holds: no sockets here, so the unit tests and fuzzers
 * drive them directly.
 *
 * The head is parsed by http_parser (Debian's libhttp-parser), fed
 * incrementally: the front door peeks at the socket (MSG_PEEK) into one
 * buffer that only grows, and head_feed() hands the parser the new bytes.
 * Fields are kept as offsets into that buffer, so a field split across two
 * feeds is simply longer. The parser is paused when the head is complete,
 * so it never looks at a body byte.
 *
 * The chunked framing (RFC 9112 section 7.1) is a small state machine of
 * its own: http_parser would want the payload bytes to pass through it,
 * and those are spliced instead.
 */
#include "net_int.h"

#include "landingfs/hex.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static struct head *head_of(http_parser *p)
{
	return p->data;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct head *h = head_of(p);

	if (h->h_url_len == 0)
		h->h_url_off = (uint32_t)(at - h->h_buf);
	h->h_url_len += (uint32_t)len;
	return 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
	struct head *h = head_of(p);
	struct head_field *f;

	if (h->h_nfields == 0 || h->h_in_value) {
		if (h->h_nfields == NET_MAX_FIELDS)
			return 1;
		f = &h->h_fields[h->h_nfields++];
		f->name_off = (uint32_t)(at - h->h_buf);
		f->name_len = 0;
		f->val_off = 0;
		f->val_len = 0;
		h->h_in_value = false;
	}
	f = &h->h_fields[h->h_nfields - 1];
	f->name_len += (uint32_t)len;
	return 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
	struct head *h = head_of(p);
	struct head_field *f;

	if (h->h_nfields == 0)
		return 1;
	f = &h->h_fields[h->h_nfields - 1];
	if (!h->h_in_value) {
		f->val_off = (uint32_t)(at - h->h_buf);
		f->val_len = 0;
		h->h_in_value = true;
	}
	f->val_len += (uint32_t)len;
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct head *h = head_of(p);

	h->h_complete = true;
	h->h_method = p->method;
	h->h_chunked = (p->flags & F_CHUNKED) != 0;
	h->h_te_other = p->uses_transfer_encoding && !h->h_chunked;
	h->h_content_length = (p->flags & F_CONTENTLENGTH) != 0 ?
		(int64_t)p->content_length : -1;
	h->h_keepalive = http_should_keep_alive(p) != 0;
	/* Stop here: the body is not the parser's business. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_url = on_url,
	.on_header_field = on_field,
	.on_header_value = on_value,
	.on_headers_complete = on_headers_complete,
};

/*
 * request_line_strict() holds the request line to RFC 9112's grammar where
 * http_parser is lenient: exactly "METHOD SP target SP HTTP-version", one
 * space each, with the version present (no HTTP/0.9 form).
 */
static bool request_line_strict(const struct head *h)
{
	size_t mlen = strlen(http_method_str((enum http_method)h->h_method));
	size_t end = (size_t)h->h_url_off + h->h_url_len;

	return h->h_url_len > 0 && h->h_url_off == mlen + 1 &&
	       h->h_buf[mlen] == ' ' && end + 1 < h->h_len &&
	       h->h_buf[end] == ' ' && h->h_buf[end + 1] == 'H';
}

/* names_strict() checks that every field name is a token (RFC 9110
 * 5.1): http_parser lets a space in, so "Content-Length : 5" would pass;
 * that no value is folded over several lines (obs-fold); and that Host is
 * there once (400 otherwise, as RFC 9112 requires). */
static bool names_strict(const struct head *h)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	unsigned hosts = 0;

	for (unsigned i = 0; i < h->h_nfields; i++) {
		const struct head_field *f = &h->h_fields[i];

		if (f->name_len == 0)
			return false;
		if (f->name_len == 4 &&
		    strncasecmp(h->h_buf + f->name_off, "host", 4) == 0)
			hosts++;
		/* RFC 9112 6.1: framing by Transfer-Encoding in HTTP/1.0
		 * is faulty. */
		if (f->name_len == 17 && h->h_parser.http_minor == 0 &&
		    strncasecmp(h->h_buf + f->name_off, "transfer-encoding",
				17) == 0)
			return false;
		/* A value spanning lines is an obs-fold: refused (400). */
		for (uint32_t k = 0; k < f->val_len; k++) {
			char c = h->h_buf[f->val_off + k];

			if (c == '\r' || c == '\n' || c == '\0')
				return false;
		}
		for (uint32_t k = 0; k < f->name_len; k++) {
			unsigned char c = (unsigned char)h->h_buf[f->name_off + k];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') ||
			      (c != '\0' && strchr(tchar, c) != NULL)))
				return false;
		}
	}
	/* RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one before. */
	if (hosts > 1 || (hosts == 0 && h->h_parser.http_major == 1 &&
			  h->h_parser.http_minor >= 1))
		return false;
	return true;
}

/* head_init() prepares h to parse the request head that buf will hold. */
void head_init(struct head *h, const char *buf)
{
	memset(h, 0, sizeof(*h));
	http_parser_init(&h->h_parser, HTTP_REQUEST);
	h->h_parser.data = h;
	h->h_buf = buf;
	h->h_content_length = -1;
}

/*
 * head_feed() parses the bytes buf[h_fed, avail). Returns 1 when the head
 * is complete (h_len is its length, the blank line included), 0 when it
 * needs more bytes, -EMSGSIZE when it has more than NET_MAX_FIELDS fields,
 * -EOPNOTSUPP when the method is not one http_parser knows (the caller
 * lets libmicrohttpd answer 405), or -EINVAL when the head is malformed.
 */
int head_feed(struct head *h, size_t avail)
{
	enum http_errno e;
	size_t n;

	if (h->h_complete)
		return 1;
	if (avail <= h->h_fed)
		return 0;
	n = http_parser_execute(&h->h_parser, &settings, h->h_buf + h->h_fed,
				avail - h->h_fed);
	e = HTTP_PARSER_ERRNO(&h->h_parser);
	if (h->h_complete) {
		/* Paused on the final LF of the head, which is counted. */
		h->h_len = h->h_fed + n + 1;
		h->h_fed = h->h_len;
		return request_line_strict(h) && names_strict(h) ? 1 : -EINVAL;
	}
	h->h_fed += n;
	switch (e) {
	case HPE_OK:
		return 0;
	case HPE_CB_header_field:
	case HPE_CB_header_value:
	case HPE_HEADER_OVERFLOW:
		return -EMSGSIZE;
	case HPE_INVALID_METHOD:
		return -EOPNOTSUPP;
	default:
		return -EINVAL;
	}
}

static void trim(char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	s[len] = '\0';
}

/*
 * head_terminate() writes a NUL after the url and after every field name
 * and value in buf, a writable buffer holding the same bytes as h_buf
 * (usually h_buf itself), and points h at it. Each of those is followed by
 * at least one byte of the head (':' or a line end), which the NUL
 * replaces. Trailing blanks of values are trimmed. h_te_other is set when
 * a Transfer-Encoding field names anything but chunked alone.
 */
void head_terminate(struct head *h, char *buf)
{
	h->h_buf = buf;
	buf[h->h_url_off + h->h_url_len] = '\0';
	for (unsigned i = 0; i < h->h_nfields; i++) {
		struct head_field *f = &h->h_fields[i];

		buf[f->name_off + f->name_len] = '\0';
		if (f->val_len == 0)
			f->val_off = f->name_off + f->name_len;
		else
			trim(buf + f->val_off, f->val_len);
		/* Only "chunked" alone is carried: a body in another coding
		 * would land still coded. */
		if (strcasecmp(buf + f->name_off, "Transfer-Encoding") == 0 &&
		    strcasecmp(buf + f->val_off, "chunked") != 0)
			h->h_te_other = true;
	}
}

/* head_get() returns the first value of the field called name (any case),
 * or NULL; valid after head_terminate(). */
const char *head_get(const struct head *h, const char *buf, const char *name)
{
	for (unsigned i = 0; i < h->h_nfields; i++) {
		const struct head_field *f = &h->h_fields[i];

		if (strcasecmp(buf + f->name_off, name) == 0)
			return f->val_len == 0 ? "" : buf + f->val_off;
	}
	return NULL;
}

/* ---- chunked framing ---------------------------------------------------- */

/* chunk_init() starts the framing of one chunked body. */
void chunk_init(struct chunk *c, size_t max_trailer)
{
	memset(c, 0, sizeof(*c));
	c->ck_state = CHUNK_SIZE_START;
	c->ck_max_trailer = max_trailer;
}

/*
 * chunk_feed() consumes framing bytes of buf[0, len) up to the first
 * payload byte; *used gets how many. Returns CHUNK_DATA when c->ck_size
 * payload bytes follow (move them, then chunk_data_done()), CHUNK_DONE
 * after the last chunk and the trailer section, another (non-negative)
 * state when every byte was framing and more are needed, or -EINVAL for
 * bad framing: a non-hex size, a size over 2^60, a line over
 * NET_MAX_CHUNK_LINE, a trailer section over the limit, a missing CRLF.
 * Bare LF line ends are accepted, as http_parser accepts them.
 */
int chunk_feed(struct chunk *c, const char *buf, size_t len, size_t *used)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];
		int d;

		if (c->ck_state != CHUNK_DATA && ++c->ck_line > NET_MAX_CHUNK_LINE)
			goto bad;
		switch (c->ck_state) {
		case CHUNK_SIZE_START:
		case CHUNK_SIZE:
			d = lf_hexval(ch);
			if (d >= 0) {
				if (++c->ck_digits > 15)
					goto bad;
				c->ck_size = c->ck_size * 16 + (uint64_t)d;
				c->ck_state = CHUNK_SIZE;
				break;
			}
			if (c->ck_state == CHUNK_SIZE_START)
				goto bad;
			if (ch == ';' || ch == ' ' || ch == '\t')
				c->ck_state = CHUNK_EXT;
			else if (ch == '\r')
				c->ck_state = CHUNK_SIZE_LF;
			else if (ch == '\n')
				goto size_done;
			else
				goto bad;
			break;
		case CHUNK_EXT:
			/* Extensions are ignored, as RFC 9112 allows. */
			if (ch == '\r')
				c->ck_state = CHUNK_SIZE_LF;
			else if (ch == '\n')
				goto size_done;
			else if (ch < 0x20 && ch != '\t')
				goto bad;
			break;
		case CHUNK_SIZE_LF:
			if (ch != '\n')
				goto bad;
		size_done:
			c->ck_line = 0;
			c->ck_digits = 0;
			if (c->ck_size == 0) {
				c->ck_state = CHUNK_TRAILER_START;
				break;
			}
			c->ck_state = CHUNK_DATA;
			*used = i + 1;
			return CHUNK_DATA;
		case CHUNK_DATA:
			/* Payload is never framing: chunk_data_done() first. */
			goto bad;
		case CHUNK_DATA_CR:
			if (ch == '\r') {
				c->ck_state = CHUNK_DATA_LF;
				break;
			}
			if (ch != '\n')
				goto bad;
			/* FALLTHROUGH */
		case CHUNK_DATA_LF:
			if (ch != '\n')
				goto bad;
			c->ck_line = 0;
			c->ck_size = 0;
			c->ck_state = CHUNK_SIZE_START;
			break;
		case CHUNK_TRAILER_START:
			if (ch == '\r') {
				c->ck_state = CHUNK_END_LF;
				break;
			}
			if (ch == '\n')
				goto end;
			c->ck_state = CHUNK_TRAILER;
			/* FALLTHROUGH */
		case CHUNK_TRAILER:
			if (++c->ck_trailer > c->ck_max_trailer)
				goto bad;
			if (ch == '\r')
				c->ck_state = CHUNK_TRAILER_LF;
			else if (ch == '\n') {
				c->ck_line = 0;
				c->ck_state = CHUNK_TRAILER_START;
			}
			break;
		case CHUNK_TRAILER_LF:
			if (ch != '\n')
				goto bad;
			c->ck_line = 0;
			c->ck_state = CHUNK_TRAILER_START;
			break;
		case CHUNK_END_LF:
			if (ch != '\n')
				goto bad;
		end:
			c->ck_state = CHUNK_DONE;
			*used = i + 1;
			return CHUNK_DONE;
		case CHUNK_DONE:
			*used = i;
			return CHUNK_DONE;
		}
	}
	*used = len;
	return (int)c->ck_state;

bad:
	*used = i;
	return -EINVAL;
}

/* chunk_data_done() moves past the payload of the current chunk: its CRLF
 * comes next. */
void chunk_data_done(struct chunk *c)
{
	c->ck_state = CHUNK_DATA_CR;
	c->ck_line = 0;
}
