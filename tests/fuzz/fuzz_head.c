/*
 * fuzz_head.c - libFuzzer harness for the request-head parser (net/head.c:
 * head_init, head_feed, head_terminate, head_get) as the front door drives
 * it: bytes arrive in pieces, the buffer only grows, and head_feed() is
 * called with each new length.
 *
 * fuzz-sources: net/head.c
 *
 * Input: one byte that seeds the piece sizes, then the bytes on the wire.
 * The buffer is allocated at exactly the input's size, so that ASan sees
 * any read or write past the bytes that arrived. Checks beyond memory
 * safety: a complete head lies within the bytes fed; the url and every
 * field lie within the head; head_feed() keeps answering 1 once complete;
 * head_terminate() and head_get() work on a writable copy; Content-Length
 * and chunked are never both reported.
 */
#include "net_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"Host", "Content-Length", "Transfer-Encoding", "Expect",
	"Authorization", "Content-Digest", "If-Match", "If-None-Match",
	"Connection", "X-Missing",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct head *h;
	char *buf, *copy;
	size_t avail = 0, len;
	unsigned step;
	int rc = 0;

	if (size < 1)
		return 0;
	step = data[0];
	data++;
	size--;
	len = size;
	buf = malloc(len > 0 ? len : 1);
	h = malloc(sizeof(*h));
	if (buf == NULL || h == NULL)
		abort();
	memcpy(buf, data, len);
	head_init(h, buf);
	while (avail < len) {
		size_t piece = 1 + (step % 97);

		step = step * 1103515245u + 12345u;
		avail = avail + piece < len ? avail + piece : len;
		rc = head_feed(h, avail);
		if (rc != 0)
			break;
	}
	if (rc == 1) {
		if (h->h_len == 0 || h->h_len > avail)
			abort();
		if (head_feed(h, avail) != 1)
			abort();
		if ((uint64_t)h->h_url_off + h->h_url_len >= h->h_len)
			abort();
		if (h->h_nfields > NET_MAX_FIELDS)
			abort();
		for (unsigned i = 0; i < h->h_nfields; i++) {
			const struct head_field *f = &h->h_fields[i];

			if ((uint64_t)f->name_off + f->name_len >= h->h_len ||
			    (f->val_len > 0 &&
			     (uint64_t)f->val_off + f->val_len >= h->h_len))
				abort();
		}
		if (h->h_chunked && h->h_content_length >= 0)
			abort();
		/* A writable copy of exactly the head. */
		copy = malloc(h->h_len);
		if (copy == NULL)
			abort();
		memcpy(copy, buf, h->h_len);
		head_terminate(h, copy);
		if (strlen(copy + h->h_url_off) > h->h_url_len)
			abort();
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			const char *v = head_get(h, copy, names[i]);

			/* A value lies in the head ("" may be a literal). */
			if (v != NULL && v[0] != '\0' &&
			    (v < copy || v > copy + h->h_len))
				abort();
			if (v != NULL && strlen(v) >= h->h_len)
				abort();
		}
		free(copy);
	} else if (rc < 0 && rc != -EINVAL && rc != -EMSGSIZE &&
		   rc != -EOPNOTSUPP) {
		abort();
	}
	free(h);
	free(buf);
	return 0;
}
