/*
 * xattr.c - extended attributes of the landing directory.
 *
 *   user.landing.origin    "net", "local" or "none"
 *   user.landing.peer      the uploader's "addr:port" (net uploads only)
 *   user.landing.received  when the file arrived, UTC, RFC 3339 with ns
 *   user.landing.sha256    hex sha-256 of the contents; computed on first
 *                          read when the index has none, and recorded
 *   user.landing.digest    the client digest verified on upload, as
 *                          "ALG=HEX" (for example "sha-512=9b71...")
 * are read-only metadata from the index (set and remove: EPERM; other
 * user.landing.* names are reserved). On the root directory only, and not
 * listed:
 *   user.landing.splice_writes / splice_bytes   write_buf calls (and their
 *   user.landing.memory_writes / memory_bytes   bytes) whose buffer came as
 *                                               a pipe / in memory
 * Every other user.* attribute is stored in the index. Other namespaces
 * (security.*, system.* including POSIX ACLs, trusted.*) are not supported:
 * every call answers ENOTSUP, as a local file system mounted without them
 * does. ls -l and cp -a treat that as "none" and, unlike ENODATA, remember
 * it for the whole device: ls -l of a large directory then asks once, not
 * once per entry for security.selinux and system.posix_acl_access.
 */
#include "fs_int.h"

#include "landingfs/limits.h"
#include "landingfs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USER_PREFIX "user."
#define LANDING_PREFIX "user.landing."
#define LANDING_VALUE_MAX (2 * STORE_MAX_DIGEST + 32)
#define HASH_CHUNK (256 * 1024)

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Hashes the whole blob of ino. A FUSE worker reads the file once; later
 * reads come from the index. */
static int blob_sha256(struct fs *fs, uint64_t ino, uint8_t out[32])
{
	struct sha256_ctx ctx;
	uint8_t *buf;
	ssize_t n;
	int fd, rc = 0;

	buf = malloc(HASH_CHUNK);
	if (buf == NULL)
		return -ENOMEM;
	rc = store_blob_open(fs->st, ino, O_RDONLY, &fd);
	if (rc < 0)
		goto out_free;
	sha256_init(&ctx);
	while ((n = read(fd, buf, HASH_CHUNK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		sha256_update(&ctx, (size_t)n, buf);
	}
	if (rc == 0)
		sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
	store_blob_close(fs->st, ino, fd);
out_free:
	free(buf);
	return rc;
}

/* The sha-256 of a regular file, from the index or computed (and then
 * recorded, unless the file is open for writing and may still change). */
static int landing_sha256(struct fs *fs, uint64_t ino,
			  const struct store_landing *l, char *val)
{
	uint8_t sum[STORE_SHA256_LEN];
	struct store_attr a;
	int rc;

	if (l->has_sha256) {
		hex(l->sha256, STORE_SHA256_LEN, val);
		return 0;
	}
	rc = store_getattr(fs->st, ino, &a);
	if (rc < 0)
		return rc;
	rc = blob_sha256(fs, ino, sum);
	if (rc < 0)
		return rc;
	hex(sum, sizeof(sum), val);
	/* A file open for writing may still change: record nothing. */
	if (!fs_inode_writing(&fs->itable, ino)) {
		rc = store_set_sha256(fs->st, ino, a.blob, sum);
		if (rc < 0 && rc != -ESTALE)
			lf_debug("%s: recording sha256 of %llu: %s", __func__,
				 (unsigned long long)ino, strerror(-rc));
	}
	return 0;
}

static const char *origin_name(enum store_origin o)
{
	switch (o) {
	case STORE_ORIGIN_LOCAL:
		return "local";
	case STORE_ORIGIN_NET:
		return "net";
	case STORE_ORIGIN_NONE:
		break;
	}
	return "none";
}

static void rfc3339(int64_t ns, char *out, size_t size)
{
	time_t s = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;

	if (frac < 0) {
		frac += 1000000000;
		s--;
	}
	gmtime_r(&s, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, frac);
}

/* The root's counters (user.landing.splice_writes ...), or -ENODATA. */
static int counter_value(struct fs *fs, uint64_t ino, const char *key,
			 char *val, size_t size)
{
	struct fs_counters c;
	uint64_t v;

	if (ino != STORE_ROOT_INO)
		return -ENODATA;
	fs_counters(fs, &c);
	if (strcmp(key, "splice_writes") == 0)
		v = c.splice_writes;
	else if (strcmp(key, "splice_bytes") == 0)
		v = c.splice_bytes;
	else if (strcmp(key, "memory_writes") == 0)
		v = c.memory_writes;
	else if (strcmp(key, "memory_bytes") == 0)
		v = c.memory_bytes;
	else
		return -ENODATA;
	snprintf(val, size, "%" PRIu64, v);
	return 0;
}

/* Fills val (LANDING_VALUE_MAX bytes) with user.landing.KEY of ino. */
static int landing_value(struct fs *fs, uint64_t ino, const char *key,
			 char *val)
{
	struct store_landing l;
	int rc;

	if (counter_value(fs, ino, key, val, LANDING_VALUE_MAX) == 0)
		return 0;
	rc = store_landing_get(fs->st, ino, &l);
	if (rc == -ENOENT || rc == -EINVAL || rc == -EISDIR)
		return -ENODATA; /* not a regular file */
	if (rc < 0)
		return rc;
	if (strcmp(key, "origin") == 0) {
		snprintf(val, LANDING_VALUE_MAX, "%s", origin_name(l.origin));
	} else if (strcmp(key, "peer") == 0) {
		if (l.peer[0] == '\0')
			return -ENODATA;
		snprintf(val, LANDING_VALUE_MAX, "%.*s", STORE_MAX_PEER,
			 l.peer);
	} else if (strcmp(key, "received") == 0) {
		rfc3339(l.received_ns, val, LANDING_VALUE_MAX);
	} else if (strcmp(key, "sha256") == 0) {
		return landing_sha256(fs, ino, &l, val);
	} else if (strcmp(key, "digest") == 0) {
		size_t n;

		if (l.digest_len == 0 || l.digest_len > STORE_MAX_DIGEST)
			return -ENODATA;
		n = (size_t)snprintf(val, LANDING_VALUE_MAX, "%.*s=",
				     (int)sizeof(l.digest_alg), l.digest_alg);
		hex(l.digest, l.digest_len, val + n);
	} else {
		return -ENODATA;
	}
	return 0;
}

/* Replies with a value of len bytes to a getxattr asking for size. */
static void reply_value(fuse_req_t req, const void *val, size_t len,
			size_t size)
{
	if (size == 0)
		return (void)fuse_reply_xattr(req, len);
	if (len > size)
		return (void)fuse_reply_err(req, ERANGE);
	fuse_reply_buf(req, val, len);
}

/* getxattr: see the top of this file. */
void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    size_t size)
{
	struct fs *fs = fuse_req_userdata(req);
	size_t len = 0;
	char *buf;
	int rc;

	if (!has_prefix(name, USER_PREFIX))
		return (void)fuse_reply_err(req, ENOTSUP);
	if (has_prefix(name, LANDING_PREFIX)) {
		char val[LANDING_VALUE_MAX];

		rc = landing_value(fs, ino, name + strlen(LANDING_PREFIX), val);
		if (rc < 0)
			return (void)fuse_reply_err(req, -rc);
		return reply_value(req, val, strlen(val), size);
	}
	if (size == 0) {
		rc = store_xattr_get(fs->st, ino, name, NULL, 0, &len);
		if (rc < 0)
			return (void)fuse_reply_err(req, -rc);
		return (void)fuse_reply_xattr(req, len);
	}
	if (size > LF_MAX_XATTR_VALUE)
		size = LF_MAX_XATTR_VALUE;
	buf = malloc(size);
	if (buf == NULL)
		return (void)fuse_reply_err(req, ENOMEM);
	rc = store_xattr_get(fs->st, ino, name, buf, size, &len);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

/* Appends name and its NUL to list (pos bytes used) if it fits in cap. */
static size_t list_add(char *list, size_t pos, size_t cap, const char *name)
{
	size_t n = strlen(name) + 1;

	if (pos + n <= cap)
		memcpy(list + pos, name, n);
	return pos + n;
}

/* listxattr: the landing names that have a value, then the stored ones. */
void fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = fuse_req_userdata(req);
	struct store_landing l;
	size_t pos = 0, cap, stored = 0;
	char *list = NULL;
	int rc;

	rc = store_xattr_list(fs->st, ino, NULL, 0, &stored);
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	cap = stored + 256;
	list = malloc(cap);
	if (list == NULL)
		return (void)fuse_reply_err(req, ENOMEM);
	if (store_landing_get(fs->st, ino, &l) == 0) {
		pos = list_add(list, pos, cap, LANDING_PREFIX "origin");
		if (l.peer[0] != '\0')
			pos = list_add(list, pos, cap, LANDING_PREFIX "peer");
		pos = list_add(list, pos, cap, LANDING_PREFIX "received");
		pos = list_add(list, pos, cap, LANDING_PREFIX "sha256");
		if (l.digest_len > 0)
			pos = list_add(list, pos, cap, LANDING_PREFIX "digest");
	}
	if (stored > 0) {
		/* The list may have grown since it was measured: ERANGE from
		 * the store then reaches the caller, who retries. */
		rc = store_xattr_list(fs->st, ino, list + pos, cap - pos,
				      &stored);
		if (rc < 0)
			goto out_err;
		pos += stored;
	}
	if (size == 0)
		fuse_reply_xattr(req, pos);
	else if (pos > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, list, pos);
	free(list);
	return;

out_err:
	free(list);
	fuse_reply_err(req, -rc);
}

/* writable() says whether the mount's users may change the attribute
 * name: user.* only (ENOTSUP otherwise), user.landing.* read-only (EPERM).
 * Returns 0 or the errno to answer. */
static int writable(const char *name)
{
	if (!has_prefix(name, USER_PREFIX))
		return ENOTSUP;
	return has_prefix(name, LANDING_PREFIX) ? EPERM : 0;
}

/* setxattr: what writable() allows, within the size limits. */
void fs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    const char *value, size_t size, int flags)
{
	struct fs *fs = fuse_req_userdata(req);
	struct store_ctx ctx;
	int rc = writable(name);

	if (rc != 0)
		return (void)fuse_reply_err(req, rc);
	if (strlen(name) > LF_MAX_XATTR_NAME)
		return (void)fuse_reply_err(req, ERANGE);
	if (size > LF_MAX_XATTR_VALUE)
		return (void)fuse_reply_err(req, E2BIG);
	fs_ctx(req, &ctx);
	rc = store_xattr_set(fs->st, &ctx, ino, name, value, size, flags);
	fuse_reply_err(req, -rc);
}

/* removexattr: what writable() allows. */
void fs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fs *fs = fuse_req_userdata(req);
	struct store_ctx ctx;
	int rc = writable(name);

	if (rc != 0)
		return (void)fuse_reply_err(req, rc);
	fs_ctx(req, &ctx);
	rc = store_xattr_remove(fs->st, &ctx, ino, name);
	fuse_reply_err(req, -rc);
}
