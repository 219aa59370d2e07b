/*
 * digest.c - sha-256, sha-512 and md5 of an upload, and the RFC 9530 field
 * syntax (Content-Digest, Repr-Digest) and Content-MD5.
 *
 * The bytes are hashed where they landed: the staging blob is mapped
 * read-only, window by window, and nettle reads the page-cache pages in
 * place. No body byte is ever read from the socket into a buffer for this.
 */
#include "net_int.h"

#include <errno.h>
#include <nettle/base64.h>
#include <nettle/md5.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DIGEST_WINDOW (64u << 20) /* bytes mapped at once */

struct digest {
	struct digest_want d_want;
	struct sha256_ctx d_sha256;
	struct sha512_ctx d_sha512;
	struct md5_ctx d_md5;
	uint64_t d_done; /* bytes of the file hashed so far */
};

/* digest_new() starts the sums named in w. Returns NULL when out of
 * memory. The caller frees it with digest_free(). */
struct digest *digest_new(const struct digest_want *w)
{
	struct digest *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->d_want = *w;
	sha256_init(&d->d_sha256);
	sha512_init(&d->d_sha512);
	md5_init(&d->d_md5);
	return d;
}

/* digest_free() accepts NULL and clears *d. */
void digest_free(struct digest **d)
{
	if (d == NULL)
		return;
	free(*d);
	*d = NULL;
}

/*
 * digest_update_fd() hashes fd's bytes from the end of the previous call up
 * to offset end through read-only mappings of at most DIGEST_WINDOW bytes.
 * The bytes must be in the file (written before the call). Returns 0 or
 * -errno from mmap. Runs on the thread that owns the upload.
 */
int digest_update_fd(struct digest *d, int fd, uint64_t end)
{
	static long page;

	if (page == 0)
		page = sysconf(_SC_PAGESIZE);
	while (d->d_done < end) {
		uint64_t start = d->d_done & ~(uint64_t)(page - 1);
		uint64_t len = end - start;
		size_t skip = (size_t)(d->d_done - start);
		const uint8_t *p;

		if (len > DIGEST_WINDOW)
			len = DIGEST_WINDOW;
		p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)start);
		if (p == MAP_FAILED)
			return -errno;
		madvise((void *)p, len, MADV_SEQUENTIAL);
		if (d->d_want.sha256)
			sha256_update(&d->d_sha256, len - skip, p + skip);
		if (d->d_want.sha512)
			sha512_update(&d->d_sha512, len - skip, p + skip);
		if (d->d_want.md5)
			md5_update(&d->d_md5, len - skip, p + skip);
		munmap((void *)p, len);
		d->d_done = start + len;
	}
	return 0;
}

/* digest_final() finishes the wanted sums into out. */
void digest_final(struct digest *d, struct digest_sums *out)
{
	memset(out, 0, sizeof(*out));
	if (d->d_want.sha256) {
		sha256_digest(&d->d_sha256, sizeof(out->sha256), out->sha256);
		out->has_sha256 = true;
	}
	if (d->d_want.sha512) {
		sha512_digest(&d->d_sha512, sizeof(out->sha512), out->sha512);
		out->has_sha512 = true;
	}
	if (d->d_want.md5) {
		md5_digest(&d->d_md5, sizeof(out->md5), out->md5);
		out->has_md5 = true;
	}
}

/* b64_decode() decodes exactly want bytes from s[0, len). */
static int b64_decode(const char *s, size_t len, uint8_t *out, size_t want)
{
	struct base64_decode_ctx ctx;
	uint8_t buf[BASE64_DECODE_LENGTH(128)];
	size_t n = sizeof(buf);

	if (len > 128)
		return -EINVAL;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, buf, len, s) ||
	    !base64_decode_final(&ctx) || n != want)
		return -EINVAL;
	memcpy(out, buf, want);
	return 0;
}

static bool is_key_char(char c)
{
	/* RFC 8941 keys are lower case; upper case is tolerated. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.' || c == '*';
}

/*
 * digest_parse() reads an RFC 9530 dictionary ("sha-256=:B64:, sha-512=:B64:",
 * members may carry ";params") and stores the sha-256 and sha-512 values
 * in out. Members of other algorithms are skipped; a member whose value is
 * not a byte sequence, or a known algorithm of the wrong length, is -EINVAL.
 */
int digest_parse(const char *value, struct digest_sums *out)
{
	const char *p = value;

	for (;;) {
		const char *key, *v;
		size_t klen;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		key = p;
		while (is_key_char(*p))
			p++;
		klen = (size_t)(p - key);
		if (klen == 0 || *p != '=' || p[1] != ':')
			return -EINVAL;
		p += 2;
		v = p;
		while (*p != ':' && *p != '\0')
			p++;
		if (*p != ':')
			return -EINVAL;
		if (klen == 7 && strncasecmp(key, "sha-256", 7) == 0) {
			if (b64_decode(v, (size_t)(p - v), out->sha256, 32) < 0)
				return -EINVAL;
			out->has_sha256 = true;
		} else if (klen == 7 && strncasecmp(key, "sha-512", 7) == 0) {
			if (b64_decode(v, (size_t)(p - v), out->sha512, 64) < 0)
				return -EINVAL;
			out->has_sha512 = true;
		}
		p++;
		/* Parameters, then a comma or the end. */
		while (*p != ',' && *p != '\0') {
			if (*p != ';' && *p != ' ' && *p != '\t' && *p != '=' &&
			    !is_key_char(*p) && *p != '"' && *p != '?')
				return -EINVAL;
			p++;
		}
		if (*p == ',')
			p++;
	}
}

/* digest_parse_md5() reads a Content-MD5 value (base64 of 16 bytes). */
int digest_parse_md5(const char *value, struct digest_sums *out)
{
	size_t len = strlen(value);

	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	if (b64_decode(value, len, out->md5, 16) < 0)
		return -EINVAL;
	out->has_md5 = true;
	return 0;
}

/* digest_format() writes "sha-256=:BASE64:" into buf (size >= 56). */
void digest_format(const uint8_t sha256[32], char *buf, size_t size)
{
	char b64[BASE64_ENCODE_RAW_LENGTH(32) + 1];

	base64_encode_raw(b64, 32, sha256);
	b64[BASE64_ENCODE_RAW_LENGTH(32)] = '\0';
	snprintf(buf, size, "sha-256=:%s:", b64);
}
