/*
 * fuzz_policy.c - libFuzzer harness for policy_path() (net/policy.c), the
 * one validation of request paths both HTTP paths call.
 *
 * fuzz-sources: net/policy.c
 *
 * Input: one flags byte (bit 0: allow_reserved; bits 1-3 pick the output
 * buffer size, from 1 byte to a full path), then the request target. The
 * output buffer is allocated at exactly its size so that ASan sees any
 * write past it. Beyond memory safety, an accepted path must hold the
 * promises of policy_path()'s contract; a broken promise aborts.
 */
#include "net_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t out_sizes[8] = { 1, 2, 8, 64, 256, 300,
				     LF_MAX_PATH, LF_MAX_PATH + 1 };

static void check_accepted(const char *out, size_t size, bool reserved)
{
	size_t len = strlen(out);
	const char *p = out, *c;

	if (len >= size || len > LF_MAX_PATH)
		abort();
	if (len == 0)
		return; /* the root */
	if (out[0] == '/' || out[len - 1] == '/')
		abort();
	for (;;) {
		size_t n;

		c = strchr(p, '/');
		n = c != NULL ? (size_t)(c - p) : strlen(p);
		if (n == 0 || n > LF_MAX_NAME)
			abort();
		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			abort();
		if (p == out && !reserved && n == 8 &&
		    memcmp(p, ".landing", 8) == 0)
			abort();
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)p[i];

			if (ch < 0x20 || ch == 0x7f || ch == '\\')
				abort();
		}
		if (c == NULL)
			break;
		p = c + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	size_t osize;
	bool reserved;
	char *target, *out;
	int rc;

	if (size < 1)
		return 0;
	reserved = data[0] & 1;
	osize = out_sizes[(data[0] >> 1) & 7];
	/* An exact-size copy, so that reading past the target is caught. */
	target = malloc(size - 1 > 0 ? size - 1 : 1);
	out = malloc(osize);
	if (target == NULL || out == NULL)
		abort();
	memcpy(target, data + 1, size - 1);
	rc = policy_path(target, size - 1, out, osize, reserved, &why);
	if (rc == 0) {
		if (why != NULL)
			abort();
		check_accepted(out, osize, reserved);
	} else if ((rc != -EINVAL && rc != -ENAMETOOLONG) || why == NULL ||
		   strlen(why) == 0) {
		abort();
	}
	free(out);
	free(target);
	return 0;
}
