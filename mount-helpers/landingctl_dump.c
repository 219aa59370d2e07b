/*
 * landingctl_dump.c - dump and load: a portable export of a whole store,
 * independent of SQLite and of the blob layout, so that a store can be
 * backed up, moved, or fed to another metadata engine.
 *
 * A dump is a directory:
 *
 *   OUT/manifest.jsonl   one JSON object per line: a header, one line per
 *                        entry (the root first, every directory before its
 *                        contents), and a trailer with the counts
 *   OUT/data/XX/SHA256   the contents of regular files, each named by the
 *                        sha-256 of its bytes (XX = its first two hex
 *                        digits); equal contents are stored once
 *
 * The manifest is written as manifest.jsonl.part and renamed when the dump
 * is complete and synced, so a dump with a manifest.jsonl is whole. The
 * format is documented in landingctl(8), section DUMP FORMAT; keep the two
 * in step. Loading validates every name through the store and opens data
 * files only by their sha-256, so a hostile dump cannot write outside the
 * store.
 */
#include "landingctl.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DUMP_FORMAT "landingfs-dump"
#define DUMP_VERSION 1
#define COPY_BUF (1024 * 1024)

static const char *origin_name(enum store_origin o)
{
	switch (o) {
	case STORE_ORIGIN_LOCAL: return "local";
	case STORE_ORIGIN_NET: return "net";
	default: return "none";
	}
}

static int origin_parse(const char *s, enum store_origin *o)
{
	if (strcmp(s, "local") == 0)
		*o = STORE_ORIGIN_LOCAL;
	else if (strcmp(s, "net") == 0)
		*o = STORE_ORIGIN_NET;
	else if (strcmp(s, "none") == 0)
		*o = STORE_ORIGIN_NONE;
	else
		return -EINVAL;
	return 0;
}

static const char *type_name(uint32_t mode)
{
	if (S_ISDIR(mode))
		return "dir";
	if (S_ISLNK(mode))
		return "symlink";
	return "file";
}

/* put_bytes() writes "key":"text" for valid UTF-8, else "key_b64":"...". */
static int put_bytes(FILE *f, const char *key, const char *s, size_t len)
{
	char *b;

	if (utf8_valid(s, len)) {
		fprintf(f, "\"%s\":", key);
		json_put_str(f, s, len);
		return 0;
	}
	b = b64_encode(s, len);
	if (b == NULL)
		return -ENOMEM;
	fprintf(f, "\"%s_b64\":\"%s\"", key, b);
	free(b);
	return 0;
}

/* get_bytes() reads what put_bytes() wrote; *out is malloc'ed and
 * NUL-terminated. -ENOENT when neither key is present. */
static int get_bytes(const struct json *obj, const char *key, char **out,
		     size_t *len)
{
	char k[64];
	const struct json *v = json_get(obj, key);
	uint8_t *b;
	int rc;

	if (v != NULL && v->type == JSON_STRING) {
		*out = strdup(v->str);
		*len = v->len;
		return *out != NULL ? 0 : -ENOMEM;
	}
	snprintf(k, sizeof(k), "%s_b64", key);
	v = json_get(obj, k);
	if (v == NULL || v->type != JSON_STRING)
		return -ENOENT;
	rc = b64_decode(v->str, v->len, &b, len);
	if (rc < 0)
		return rc;
	if (memchr(b, '\0', *len) != NULL) {
		free(b);
		return -EINVAL;
	}
	b[*len] = '\0';
	*out = (char *)b;
	return 0;
}

/* dir_empty() tells whether directory dir holds no entry (1), some (0),
 * or cannot be read (-errno). */
static int dir_empty(const char *dir)
{
	struct dirent *de;
	int empty = 1;
	DIR *d = opendir(dir);

	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* ---- dump ------------------------------------------------------------- */

static void dump_usage(FILE *f)
{
	fprintf(f,
		"usage: landingctl dump STORE OUT\n"
		"\n"
		"Export the whole store in directory STORE to the new directory\n"
		"OUT (it must not exist, or be empty): OUT/manifest.jsonl lists\n"
		"every directory, file and symlink with its mode, owner, times,\n"
		"landing metadata (origin, peer, time received, digests), user\n"
		"xattrs and sha-256; OUT/data/ holds the file contents, named by\n"
		"their sha-256. The format is described in landingctl(8).\n"
		"'landingctl load OUT NEWSTORE' brings it back. The store is\n"
		"opened read-only; stop the daemon that serves it first.\n");
}

struct dump {
	struct store *st;
	const char *out;
	int datafd;
	FILE *mf;
	uint8_t *buf;
	uint64_t entries, files, bytes, unique;
	const char *failed; /* what failed, for the error line */
	char failpath[256];
};

static void dump_failed(struct dump *d, const char *what, const char *path)
{
	d->failed = what;
	snprintf(d->failpath, sizeof(d->failpath), "%s", path);
}

/*
 * dump_copy() copies the blob of file ino into OUT/data under its sha-256
 * (kept once when the same contents were seen before). *size gets the bytes
 * copied, hex the sha-256.
 */
static int dump_copy(struct dump *d, uint64_t ino, uint64_t *size, char *hex)
{
	char tmp[64], sub[8], name[80];
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	int fd, out = -1, rc = 0;
	uint64_t total = 0;
	ssize_t n;

	rc = store_blob_open(d->st, ino, O_RDONLY, &fd);
	if (rc < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "tmp.%d", getpid());
	out = openat(d->datafd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		     0644);
	if (out < 0) {
		rc = -errno;
		goto out_blob;
	}
	sha256_init(&ctx);
	while ((n = read(fd, d->buf, COPY_BUF)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out_tmp;
		}
		sha256_update(&ctx, (size_t)n, d->buf);
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, d->buf + off, (size_t)(n - off));

			if (w < 0) {
				if (errno == EINTR)
					continue;
				rc = -errno;
				goto out_tmp;
			}
			off += w;
		}
		total += (uint64_t)n;
	}
	sha256_digest(&ctx, sizeof(digest), digest);
	hex_encode(digest, sizeof(digest), hex);
	if (close(out) < 0) {
		out = -1;
		rc = -errno;
		goto out_tmp;
	}
	out = -1;
	snprintf(sub, sizeof(sub), "%.2s", hex);
	if (mkdirat(d->datafd, sub, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		goto out_tmp;
	}
	snprintf(name, sizeof(name), "%s/%s", sub, hex);
	if (faccessat(d->datafd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		unlinkat(d->datafd, tmp, 0);
	} else if (renameat(d->datafd, tmp, d->datafd, name) < 0) {
		rc = -errno;
		goto out_tmp;
	} else {
		d->unique++;
	}
	*size = total;
	goto out_blob;

out_tmp:
	if (out >= 0)
		close(out);
	unlinkat(d->datafd, tmp, 0);
out_blob:
	store_blob_close(d->st, ino, fd);
	return rc;
}

static int dump_xattrs(struct dump *d, uint64_t ino)
{
	char *names = NULL, *value = NULL;
	size_t len, vlen;
	bool first = true;
	int rc;

	rc = store_xattr_list(d->st, ino, NULL, 0, &len);
	if (rc < 0 || len == 0)
		return rc == -ENOTSUP || rc == -ENODATA ? 0 : rc;
	names = malloc(len);
	if (names == NULL)
		return -ENOMEM;
	rc = store_xattr_list(d->st, ino, names, len, &len);
	if (rc < 0)
		goto out;
	fputs(",\"xattrs\":[", d->mf);
	for (char *p = names; p < names + len; p += strlen(p) + 1) {
		char *b;

		if (*p == '\0')
			continue;
		rc = store_xattr_get(d->st, ino, p, NULL, 0, &vlen);
		if (rc < 0)
			goto out;
		free(value);
		value = malloc(vlen + 1);
		if (value == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		rc = store_xattr_get(d->st, ino, p, value, vlen, &vlen);
		if (rc < 0)
			goto out;
		b = b64_encode(value, vlen);
		if (b == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		fputs(first ? "{" : ",{", d->mf);
		first = false;
		rc = put_bytes(d->mf, "name", p, strlen(p));
		fprintf(d->mf, ",\"value_b64\":\"%s\"}", b);
		free(b);
		if (rc < 0)
			goto out;
	}
	fputs("]", d->mf);
out:
	free(value);
	free(names);
	return rc;
}

static int dump_landing(struct dump *d, uint64_t ino)
{
	char hex[2 * STORE_MAX_DIGEST + 1];
	struct store_landing l;
	int rc;

	rc = store_landing_get(d->st, ino, &l);
	if (rc < 0)
		return rc;
	fprintf(d->mf, ",\"landing\":{\"origin\":\"%s\",", origin_name(l.origin));
	rc = put_bytes(d->mf, "peer", l.peer, strnlen(l.peer, sizeof(l.peer)));
	if (rc < 0)
		return rc;
	fprintf(d->mf, ",\"received_ns\":%" PRId64, l.received_ns);
	if (l.has_sha256) {
		hex_encode(l.sha256, STORE_SHA256_LEN, hex);
		fprintf(d->mf, ",\"sha256\":\"%s\"", hex);
	}
	if (l.digest_len > 0 && l.digest_len <= STORE_MAX_DIGEST) {
		hex_encode(l.digest, l.digest_len, hex);
		fputs(",\"digest_alg\":", d->mf);
		json_put_str(d->mf, l.digest_alg,
			     strnlen(l.digest_alg, sizeof(l.digest_alg)));
		fprintf(d->mf, ",\"digest\":\"%s\"", hex);
	}
	fputs("}", d->mf);
	return 0;
}

static int dump_visit(void *arg, const char *path, const struct store_attr *a)
{
	struct dump *d = arg;
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	char target[4097];
	uint64_t size = a->size;
	int rc;

	if (S_ISREG(a->mode)) {
		rc = dump_copy(d, a->ino, &size, hex);
		if (rc < 0) {
			dump_failed(d, "copying the contents of", path);
			return rc;
		}
		if (size != a->size)
			fprintf(stderr, "landingctl: dump: %s: the index says "
				"%" PRIu64 " bytes, the blob has %" PRIu64
				"; dumped the blob (run landingctl fsck)\n",
				path, a->size, size);
		d->files++;
		d->bytes += size;
	}
	fputs("{", d->mf);
	rc = put_bytes(d->mf, "path", path, strlen(path));
	if (rc < 0)
		return rc;
	fprintf(d->mf,
		",\"type\":\"%s\",\"mode\":\"%04o\",\"uid\":%" PRIu32
		",\"gid\":%" PRIu32 ",\"atime_ns\":%" PRId64
		",\"mtime_ns\":%" PRId64 ",\"ctime_ns\":%" PRId64,
		type_name(a->mode), a->mode & 07777, a->uid, a->gid,
		a->atime_ns, a->mtime_ns, a->ctime_ns);
	if (S_ISREG(a->mode)) {
		fprintf(d->mf, ",\"size\":%" PRIu64 ",\"sha256\":\"%s\"", size,
			hex);
		rc = dump_landing(d, a->ino);
		if (rc < 0) {
			dump_failed(d, "reading the landing metadata of", path);
			return rc;
		}
	} else if (S_ISLNK(a->mode)) {
		rc = store_readlink(d->st, a->ino, target, sizeof(target));
		if (rc < 0) {
			dump_failed(d, "reading the symlink", path);
			return rc;
		}
		fputs(",", d->mf);
		rc = put_bytes(d->mf, "target", target, strlen(target));
		if (rc < 0)
			return rc;
	}
	if (!S_ISLNK(a->mode)) {
		rc = dump_xattrs(d, a->ino);
		if (rc < 0) {
			dump_failed(d, "reading the xattrs of", path);
			return rc;
		}
	}
	fputs("}\n", d->mf);
	d->entries++;
	return ferror(d->mf) ? -EIO : 0;
}

static int remove_one(const char *path, const struct stat *sb, int type,
		      struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* dump_undo() removes what a failed dump wrote: OUT/data, and OUT itself
 * when the dump made it. */
static void dump_undo(const char *out, bool made_out)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/data", out);
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	if (made_out)
		rmdir(out);
}

/* dump_prepare() makes OUT (or accepts it empty) and OUT/data; *made_out
 * tells whether OUT was made here. */
static int dump_prepare(const char *out, bool *made_out)
{
	char path[4096];
	struct stat sb;

	*made_out = false;
	if (mkdir(out, 0755) == 0) {
		*made_out = true;
	} else {
		if (errno != EEXIST)
			return -errno;
		if (stat(out, &sb) < 0)
			return -errno;
		if (!S_ISDIR(sb.st_mode))
			return -ENOTDIR;
		if (dir_empty(out) != 1)
			return -EEXIST;
	}
	snprintf(path, sizeof(path), "%s/data", out);
	if (mkdir(path, 0755) < 0)
		return -errno;
	return 0;
}

int cmd_dump(int argc, char **argv)
{
	char part[4096], final[4096], now[32];
	struct dump d = { .datafd = -1 };
	struct timespec ts;
	bool made_out = false;
	int rc, ret = CTL_ERROR, dirfd;
	const char *dir;

	if (ctl_wants_help(argc, argv)) {
		dump_usage(stdout);
		return CTL_OK;
	}
	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
		ctl_err("dump", "needs STORE and OUT (try landingctl dump "
			"--help)");
		return CTL_USAGE;
	}
	dir = argv[1];
	d.out = argv[2];
	if (ctl_open("dump", dir, true, true, false, false, &d.st) < 0)
		return CTL_ERROR;
	rc = dump_prepare(d.out, &made_out);
	if (rc == -EEXIST) {
		ctl_err("dump", "%s: exists and is not empty; give a new or "
			"empty directory", d.out);
		goto out_store;
	}
	if (rc < 0) {
		ctl_errno("dump", rc, "%s", d.out);
		goto out_store;
	}
	snprintf(part, sizeof(part), "%s/data", d.out);
	d.datafd = open(part, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d.buf = malloc(COPY_BUF);
	snprintf(part, sizeof(part), "%s/manifest.jsonl.part", d.out);
	snprintf(final, sizeof(final), "%s/manifest.jsonl", d.out);
	d.mf = fopen(part, "we");
	if (d.datafd < 0 || d.buf == NULL || d.mf == NULL) {
		ctl_errno("dump", errno, "%s", d.out);
		goto out_files;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&ts.tv_sec));
	fprintf(d.mf, "{\"format\":\"%s\",\"version\":%d,\"created\":\"%s\","
		"\"created_ns\":%" PRId64 "}\n",
		DUMP_FORMAT, DUMP_VERSION, now,
		(int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
	rc = ctl_walk(d.st, dump_visit, &d);
	if (rc < 0) {
		if (d.failed != NULL)
			ctl_errno("dump", rc, "%s %s", d.failed, d.failpath);
		else
			ctl_errno("dump", rc, "%s: walking the index", dir);
		goto out_files;
	}
	fprintf(d.mf, "{\"end\":true,\"entries\":%" PRIu64 ",\"files\":%" PRIu64
		",\"bytes\":%" PRIu64 "}\n", d.entries, d.files, d.bytes);
	/* Data and manifest reach the disk before the manifest gets the name
	 * that says the dump is complete. */
	if (fflush(d.mf) != 0 || ferror(d.mf) || fsync(fileno(d.mf)) < 0 ||
	    syncfs(d.datafd) < 0) {
		ctl_errno("dump", errno, "%s: writing the dump", d.out);
		goto out_files;
	}
	if (rename(part, final) < 0) {
		ctl_errno("dump", errno, "%s", final);
		goto out_files;
	}
	dirfd = open(d.out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd >= 0) {
		fsync(dirfd);
		close(dirfd);
	}
	printf("%s: dumped %" PRIu64 " entries, %" PRIu64 " files, %" PRIu64
	       " bytes (%" PRIu64 " distinct contents) to %s\n",
	       dir, d.entries, d.files, d.bytes, d.unique, d.out);
	ret = CTL_OK;
out_files:
	if (d.mf != NULL)
		fclose(d.mf);
	if (d.datafd >= 0)
		close(d.datafd);
	if (ret != CTL_OK) {
		unlink(part);
		dump_undo(d.out, made_out);
	}
	free(d.buf);
out_store:
	store_close(&d.st);
	return ret;
}

/* ---- load ------------------------------------------------------------- */

static void load_usage(FILE *f)
{
	fprintf(f,
		"usage: landingctl load IN STORE\n"
		"\n"
		"Import the dump in directory IN (made by landingctl dump) into\n"
		"STORE, which must be empty or not exist yet. Every entry gets\n"
		"back its mode, owner, times, landing metadata and xattrs; every\n"
		"file's contents are checked against the sha-256 in the dump.\n"
		"If it fails half-way, remove STORE and run it again.\n");
}

/* A directory whose attributes are set once all its entries exist (adding
 * an entry changes a directory's times). */
struct pending_dir {
	uint64_t ino;
	struct store_attr attr;
};

struct load {
	struct store *st;
	const char *in;
	int datafd;
	uint8_t *buf;
	struct pending_dir *dirs;
	size_t ndirs, cap;
	char *lastdir;     /* parent path of the previous entry, cached */
	uint64_t lastino;
	uint64_t entries, files, bytes;
};

static int load_parent(struct load *l, const char *path, uint64_t *parent,
		       const char **name)
{
	const char *slash = strrchr(path, '/');
	struct store_attr a;
	size_t plen = slash != NULL ? (size_t)(slash - path) : 0;
	char *pp;
	int rc;

	*name = slash != NULL ? slash + 1 : path;
	if (l->lastdir != NULL && strlen(l->lastdir) == plen &&
	    strncmp(l->lastdir, path, plen) == 0) {
		*parent = l->lastino;
		return 0;
	}
	pp = strndup(path, plen);
	if (pp == NULL)
		return -ENOMEM;
	rc = store_lookup_path(l->st, pp, &a);
	if (rc < 0) {
		free(pp);
		return rc;
	}
	if (!S_ISDIR(a.mode)) {
		free(pp);
		return -ENOTDIR;
	}
	free(l->lastdir);
	l->lastdir = pp;
	l->lastino = a.ino;
	*parent = a.ino;
	return 0;
}

/* load_attr() reads the attributes every entry carries. */
static int load_attr(const struct json *e, struct store_attr *a)
{
	const struct json *mode = json_get(e, "mode");
	int64_t uid, gid;
	char *end;

	memset(a, 0, sizeof(*a));
	if (mode == NULL || mode->type != JSON_STRING)
		return -EINVAL;
	a->mode = (uint32_t)strtoul(mode->str, &end, 8);
	if (*end != '\0' || end == mode->str || a->mode > 07777)
		return -EINVAL;
	if (json_i64(json_get(e, "uid"), &uid) < 0 ||
	    json_i64(json_get(e, "gid"), &gid) < 0 ||
	    json_i64(json_get(e, "atime_ns"), &a->atime_ns) < 0 ||
	    json_i64(json_get(e, "mtime_ns"), &a->mtime_ns) < 0 ||
	    json_i64(json_get(e, "ctime_ns"), &a->ctime_ns) < 0 ||
	    uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
		return -EINVAL;
	a->uid = (uint32_t)uid;
	a->gid = (uint32_t)gid;
	return 0;
}

static int load_set_attr(struct load *l, uint64_t ino,
			 const struct store_attr *a, bool with_mode)
{
	struct store_ctx ctx = { a->uid, a->gid, STORE_ORIGIN_LOCAL };
	struct store_attr out;
	unsigned mask = STORE_SET_UID | STORE_SET_GID | STORE_SET_ATIME |
			STORE_SET_MTIME | STORE_SET_CTIME;

	if (with_mode)
		mask |= STORE_SET_MODE;
	return store_setattr(l->st, &ctx, ino, a, mask, &out);
}

static int load_xattrs(struct load *l, const struct json *e, uint64_t ino,
		       const struct store_ctx *ctx)
{
	const struct json *xs = json_get(e, "xattrs");
	int rc = 0;

	if (xs == NULL)
		return 0;
	if (xs->type != JSON_ARRAY)
		return -EINVAL;
	for (const struct json *x = xs->child; x != NULL && rc == 0;
	     x = x->next) {
		const struct json *v = json_get(x, "value_b64");
		uint8_t *val = NULL;
		char *name = NULL;
		size_t nlen, vlen;

		if (v == NULL || v->type != JSON_STRING)
			return -EINVAL;
		rc = get_bytes(x, "name", &name, &nlen);
		if (rc == 0)
			rc = b64_decode(v->str, v->len, &val, &vlen);
		if (rc == 0)
			rc = store_xattr_set(l->st, ctx, ino, name, val, vlen,
					     STORE_XATTR_CREATE);
		free(val);
		free(name);
	}
	return rc;
}

/* load_contents() copies data/XX/SHA256 into the stage, checking the
 * sha-256 on the way. */
static int load_contents(struct load *l, const char *hex, int outfd,
			 uint64_t *size)
{
	uint8_t want[SHA256_DIGEST_SIZE], got[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	char name[80];
	uint64_t total = 0;
	ssize_t n;
	int fd, rc = 0;

	if (hex_decode(hex, want, sizeof(want)) < 0)
		return -EINVAL;
	snprintf(name, sizeof(name), "%.2s/%s", hex, hex);
	fd = openat(l->datafd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	sha256_init(&ctx);
	while ((n = read(fd, l->buf, COPY_BUF)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		sha256_update(&ctx, (size_t)n, l->buf);
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(outfd, l->buf + off, (size_t)(n - off));

			if (w < 0) {
				if (errno == EINTR)
					continue;
				rc = -errno;
				goto out;
			}
			off += w;
		}
		total += (uint64_t)n;
	}
	sha256_digest(&ctx, sizeof(got), got);
	if (memcmp(got, want, sizeof(got)) != 0)
		rc = -EBADMSG;
	*size = total;
out:
	close(fd);
	return rc;
}

static int load_landing(const struct json *e, struct store_landing *land)
{
	const struct json *lj = json_get(e, "landing"), *v;
	char *peer = NULL;
	size_t len;
	int rc;

	memset(land, 0, sizeof(*land));
	land->origin = STORE_ORIGIN_LOCAL;
	if (lj == NULL)
		return 0;
	v = json_get(lj, "origin");
	if (v == NULL || v->type != JSON_STRING ||
	    origin_parse(v->str, &land->origin) < 0)
		return -EINVAL;
	rc = get_bytes(lj, "peer", &peer, &len);
	if (rc == 0) {
		if (len >= sizeof(land->peer)) {
			free(peer);
			return -EINVAL;
		}
		memcpy(land->peer, peer, len + 1);
		free(peer);
	} else if (rc != -ENOENT) {
		return rc;
	}
	if (json_i64(json_get(lj, "received_ns"), &land->received_ns) < 0)
		return -EINVAL;
	v = json_get(lj, "sha256");
	if (v != NULL) {
		if (v->type != JSON_STRING ||
		    hex_decode(v->str, land->sha256, STORE_SHA256_LEN) < 0)
			return -EINVAL;
		land->has_sha256 = true;
	}
	v = json_get(lj, "digest");
	if (v != NULL) {
		const struct json *alg = json_get(lj, "digest_alg");

		if (v->type != JSON_STRING || alg == NULL ||
		    alg->type != JSON_STRING ||
		    alg->len >= sizeof(land->digest_alg) ||
		    v->len % 2 != 0 || v->len / 2 > STORE_MAX_DIGEST ||
		    hex_decode(v->str, land->digest, v->len / 2) < 0)
			return -EINVAL;
		land->digest_len = v->len / 2;
		memcpy(land->digest_alg, alg->str, alg->len + 1);
	}
	return 0;
}

static int load_file(struct load *l, const struct json *e, uint64_t parent,
		     const char *name, const struct store_attr *a)
{
	const struct json *sha = json_get(e, "sha256");
	struct store_publish pub = { 0 };
	struct store_stage *sg = NULL;
	struct store_ctx ctx;
	struct store_attr out;
	uint64_t size = 0;
	int64_t want;
	bool replaced;
	int rc;

	if (sha == NULL || sha->type != JSON_STRING ||
	    json_i64(json_get(e, "size"), &want) < 0)
		return -EINVAL;
	rc = load_landing(e, &pub.landing);
	if (rc < 0)
		return rc;
	rc = store_stage_begin(l->st, &sg);
	if (rc < 0)
		return rc;
	rc = load_contents(l, sha->str, store_stage_fd(sg), &size);
	if (rc == 0 && size != (uint64_t)want)
		rc = -EBADMSG;
	if (rc < 0) {
		store_stage_abort(&sg);
		return rc;
	}
	ctx = (struct store_ctx){ a->uid, a->gid, pub.landing.origin };
	pub.parent = parent;
	pub.name = name;
	pub.flags = STORE_PUBLISH_NOREPLACE;
	pub.mode = a->mode;
	pub.mtime_ns = a->mtime_ns;
	rc = store_publish(l->st, &ctx, &sg, &pub, &out, &replaced);
	if (rc < 0)
		return rc;
	rc = load_xattrs(l, e, out.ino, &ctx);
	if (rc < 0)
		return rc;
	l->files++;
	l->bytes += size;
	return load_set_attr(l, out.ino, a, true);
}

static int load_pending_dir(struct load *l, uint64_t ino,
			    const struct store_attr *a)
{
	if (l->ndirs == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 64;
		struct pending_dir *nd = realloc(l->dirs, ncap * sizeof(*nd));

		if (nd == NULL)
			return -ENOMEM;
		l->dirs = nd;
		l->cap = ncap;
	}
	l->dirs[l->ndirs++] = (struct pending_dir){ ino, *a };
	return 0;
}

/* load_entry() creates one manifest entry in the store. */
static int load_entry(struct load *l, const struct json *e, const char *path)
{
	const struct json *type = json_get(e, "type");
	struct store_attr a, out;
	struct store_ctx ctx;
	uint64_t parent;
	const char *name;
	char *target;
	size_t len;
	int rc;

	if (type == NULL || type->type != JSON_STRING ||
	    load_attr(e, &a) < 0)
		return -EINVAL;
	if (path[0] == '\0') {
		if (strcmp(type->str, "dir") != 0)
			return -EINVAL;
		rc = load_xattrs(l, e, STORE_ROOT_INO,
				 &(struct store_ctx){ a.uid, a.gid,
						      STORE_ORIGIN_LOCAL });
		return rc < 0 ? rc : load_pending_dir(l, STORE_ROOT_INO, &a);
	}
	rc = load_parent(l, path, &parent, &name);
	if (rc < 0)
		return rc;
	ctx = (struct store_ctx){ a.uid, a.gid, STORE_ORIGIN_LOCAL };
	if (strcmp(type->str, "dir") == 0) {
		rc = store_mkdir(l->st, &ctx, parent, name, a.mode, &out);
		if (rc == 0)
			rc = load_xattrs(l, e, out.ino, &ctx);
		return rc < 0 ? rc : load_pending_dir(l, out.ino, &a);
	}
	if (strcmp(type->str, "symlink") == 0) {
		rc = get_bytes(e, "target", &target, &len);
		if (rc < 0)
			return rc == -ENOENT ? -EINVAL : rc;
		rc = store_symlink(l->st, &ctx, parent, name, target, &out);
		free(target);
		return rc < 0 ? rc : load_set_attr(l, out.ino, &a, false);
	}
	if (strcmp(type->str, "file") == 0)
		return load_file(l, e, parent, name, &a);
	return -EINVAL;
}

static int load_check_empty(struct store *st)
{
	struct store_dirent ent;
	size_t n;
	int rc;

	rc = store_readdir(st, STORE_ROOT_INO, 0, &ent, 1, &n);
	if (rc < 0)
		return rc;
	return n == 0 ? 0 : -ENOTEMPTY;
}

/* dir_is_store_or_empty() tells whether load may open dir: a store (it
 * has index.db), an empty directory, or nothing yet. */
static bool dir_is_store_or_empty(const char *dir)
{
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/index.db", dir);
	if (access(path, F_OK) == 0)
		return true;
	rc = dir_empty(dir);
	return rc == 1 || rc == -ENOENT;
}

/* load_header() checks the manifest's first line. */
static int load_header(const char *line, size_t len, const char **why)
{
	const struct json *f, *v;
	struct json *h;
	int64_t version;
	int rc;

	rc = json_parse(line, len, &h, why);
	if (rc < 0)
		return rc;
	f = json_get(h, "format");
	v = json_get(h, "version");
	rc = -EINVAL;
	*why = "not a landingfs dump (bad header line)";
	if (f != NULL && f->type == JSON_STRING &&
	    strcmp(f->str, DUMP_FORMAT) == 0 && json_i64(v, &version) == 0) {
		if (version == DUMP_VERSION)
			rc = 0;
		else
			*why = "dump format version not supported";
	}
	json_free(&h);
	return rc;
}

int cmd_load(int argc, char **argv)
{
	struct load l = { .datafd = -1 };
	char path[4096], *line = NULL, *epath = NULL;
	size_t cap = 0, plen;
	uint64_t lineno = 0;
	bool ended = false;
	const char *why, *dir;
	int64_t want;
	ssize_t len;
	FILE *mf;
	int rc, ret = CTL_ERROR;

	if (ctl_wants_help(argc, argv)) {
		load_usage(stdout);
		return CTL_OK;
	}
	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
		ctl_err("load", "needs IN and STORE (try landingctl load "
			"--help)");
		return CTL_USAGE;
	}
	l.in = argv[1];
	dir = argv[2];
	snprintf(path, sizeof(path), "%s/manifest.jsonl", l.in);
	mf = fopen(path, "re");
	if (mf == NULL) {
		if (errno == ENOENT)
			ctl_err("load", "%s: not a complete dump (no "
				"manifest.jsonl)", l.in);
		else
			ctl_errno("load", errno, "%s", path);
		return CTL_ERROR;
	}
	snprintf(path, sizeof(path), "%s/data", l.in);
	l.datafd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	l.buf = malloc(COPY_BUF);
	if (l.datafd < 0 || l.buf == NULL) {
		ctl_errno("load", errno, "%s", path);
		goto out_files;
	}
	len = getline(&line, &cap, mf);
	lineno++;
	if (len <= 0 || load_header(line, (size_t)len, &why) < 0) {
		ctl_err("load", "%s: %s", l.in,
			len <= 0 ? "empty manifest" : why);
		goto out_files;
	}
	if (!dir_is_store_or_empty(dir)) {
		ctl_err("load", "%s: not empty and not a landingfs store; load "
			"needs an empty or new store", dir);
		goto out_files;
	}
	if (ctl_open("load", dir, false, false, false, true, &l.st) < 0)
		goto out_files;
	rc = load_check_empty(l.st);
	if (rc < 0) {
		if (rc == -ENOTEMPTY)
			ctl_err("load", "%s: the store is not empty; load needs "
				"an empty or new store", dir);
		else
			ctl_errno("load", rc, "%s", dir);
		goto out_store;
	}
	while ((len = getline(&line, &cap, mf)) > 0) {
		struct json *e;

		lineno++;
		if ((size_t)len > CTL_MAX_LINE) {
			ctl_err("load", "%s: manifest line %" PRIu64 " is too "
				"long", l.in, lineno);
			goto out_store;
		}
		if (ended) {
			ctl_err("load", "%s: manifest line %" PRIu64 ": text "
				"after the end line", l.in, lineno);
			goto out_store;
		}
		rc = json_parse(line, (size_t)len, &e, &why);
		if (rc < 0) {
			ctl_err("load", "%s: manifest line %" PRIu64 ": %s",
				l.in, lineno, why);
			goto out_store;
		}
		if (json_get(e, "end") != NULL) {
			ended = true;
			rc = json_i64(json_get(e, "entries"), &want);
			json_free(&e);
			if (rc < 0 || (uint64_t)want != l.entries) {
				ctl_err("load", "%s: the manifest's end line "
					"counts %" PRId64 " entries, it holds "
					"%" PRIu64, l.in, want, l.entries);
				goto out_store;
			}
			continue;
		}
		rc = get_bytes(e, "path", &epath, &plen);
		if (rc == 0)
			rc = load_entry(&l, e, epath);
		json_free(&e);
		if (rc == -EBADMSG) {
			ctl_err("load", "%s: manifest line %" PRIu64 " (%s): "
				"the contents in data/ do not match the size "
				"and sha-256 in the manifest", l.in, lineno,
				epath);
			goto out_store;
		}
		if (rc < 0) {
			ctl_errno("load", rc, "%s: manifest line %" PRIu64
				  " (%s)", l.in, lineno,
				  epath != NULL ? epath : "no path");
			goto out_store;
		}
		free(epath);
		epath = NULL;
		l.entries++;
	}
	if (!ended) {
		ctl_err("load", "%s: the manifest has no end line (a truncated "
			"dump?)", l.in);
		goto out_store;
	}
	/* Directory times last, deepest first: creating entries moved them. */
	for (size_t i = l.ndirs; i-- > 0;) {
		rc = load_set_attr(&l, l.dirs[i].ino, &l.dirs[i].attr, true);
		if (rc < 0) {
			ctl_errno("load", rc, "%s: setting directory "
				  "attributes", dir);
			goto out_store;
		}
	}
	printf("%s: loaded %" PRIu64 " entries, %" PRIu64 " files, %" PRIu64
	       " bytes from %s\n", dir, l.entries, l.files, l.bytes, l.in);
	ret = CTL_OK;
out_store:
	store_close(&l.st);
out_files:
	free(epath);
	free(line);
	free(l.lastdir);
	free(l.dirs);
	free(l.buf);
	if (l.datafd >= 0)
		close(l.datafd);
	fclose(mf);
	return ret;
}
