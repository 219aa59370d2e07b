/*
 * fuzz_chunk.c - libFuzzer harness for the chunked framing (net/head.c:
 * chunk_init, chunk_feed, chunk_data_done), driven as the splice worker
 * drives it: framing bytes are fed in pieces, payload bytes are skipped
 * (the worker splices them) and then chunk_data_done() is called.
 *
 * fuzz-sources: net/head.c
 *
 * Input: one byte that seeds the piece sizes, then the body. Checks: *used
 * never exceeds the bytes given; a state that asks for more bytes has
 * consumed all of them (or the caller would spin); a chunk announces 1 to
 * 2^60 bytes; after CHUNK_DONE or an error nothing more is consumed; and the
 * payload skipped plus the framing consumed never exceed the input.
 */
#include "net_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunk c;
	const char *body;
	size_t pos = 0, len;
	unsigned step;
	char *buf;
	int rc = 0;

	if (size < 1)
		return 0;
	step = data[0];
	len = size - 1;
	buf = malloc(len > 0 ? len : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data + 1, len);
	body = buf;
	chunk_init(&c, 1024);
	while (pos < len) {
		size_t piece = 1 + (step % 61), used = 0, n;

		step = step * 1103515245u + 12345u;
		n = len - pos < piece ? len - pos : piece;
		rc = chunk_feed(&c, body + pos, n, &used);
		if (used > n)
			abort();
		pos += used;
		if (rc < 0) {
			if (rc != -EINVAL)
				abort();
			break;
		}
		if (rc == CHUNK_DONE)
			break;
		if (rc == CHUNK_DATA) {
			if (c.ck_size == 0 || c.ck_size > (1ULL << 60))
				abort();
			/* Skip the payload, as a splice would move it. */
			if (c.ck_size > len - pos)
				break; /* the body ends inside the chunk */
			pos += c.ck_size;
			chunk_data_done(&c);
			continue;
		}
		if (used != n)
			abort(); /* asks for more without taking what it has */
	}
	if (pos > len)
		abort();
	if (rc == CHUNK_DONE) {
		size_t used = 99;

		/* Fed again after the end: consumes nothing, stays done. */
		if (chunk_feed(&c, "X", 1, &used) != CHUNK_DONE || used != 0)
			abort();
	}
	free(buf);
	return 0;
}
