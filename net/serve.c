/*
 * serve.c - every request libmicrohttpd answers except PUT: GET and HEAD of
 * files (sendfile, one Range, conditionals, Repr-Digest), directories (the
 * listings live in listing.c), the /.landing/ endpoints, DELETE, MKCOL,
 * MOVE and OPTIONS.
 *
 * It runs on libmicrohttpd's threads, plain or TLS alike, and answers each
 * request with exactly one queued response (or MHD_NO to drop the
 * connection when even that fails). Paths are validated by policy_path(),
 * tokens checked by auth_check(), store errors mapped by
 * status_from_errno(); this file holds none of those rules. Every change
 * goes through the store with origin STORE_ORIGIN_NET, whose change hook
 * lets the FUSE layer drop what the kernel has cached.
 *
 * File bodies: store_blob_open() counts a handle on the blob, and
 * libmicrohttpd closes the descriptor of an fd response itself, at a time
 * this file is not told about. So the response gets a duplicate of the
 * descriptor and the store's handle is closed at once: the open file
 * description keeps the blob's data readable even if the file is deleted
 * or replaced while it is being sent (the kernel frees the space when
 * libmicrohttpd closes the duplicate), and the store's handle count never
 * depends on when a client finishes reading.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SERVE_ALLOW "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, MOVE"
#define SERVE_MAX_DEPTH (LF_MAX_PATH / 2) /* directory levels in a DELETE */
#define SERVE_DELETE_BATCH 64

static const char *req_header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/*
 * The body length of the response the calling thread queued last, for the
 * access-log line serve_request() writes once the handler has returned. A
 * request is handled from start to queue on one thread, in one call.
 */
static _Thread_local uint64_t queued_bytes;

/*
 * serve_queue() queues r with code, drops this file's reference to it and
 * notes its body length (len) for the access log. Returns what
 * MHD_queue_response() returns.
 */
enum MHD_Result serve_queue(struct MHD_Connection *conn, int code,
			    struct MHD_Response *r, uint64_t len)
{
	enum MHD_Result ret;

	queued_bytes = len;
	ret = MHD_queue_response(conn, (unsigned)code, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- small replies ---------------------------------------------------- */

/*
 * serve_reply() queues a response with a one-line plain-text body
 * ("reason\n") and, when hname is not NULL, one extra header. Returns what
 * MHD_queue_response() returns.
 */
enum MHD_Result serve_reply(struct MHD_Connection *conn, int code,
			    const char *reason, const char *hname,
			    const char *hvalue)
{
	char body[512];
	struct MHD_Response *r;
	int len;

	/* 204 and 304 carry no body; a NULL reason gives none. */
	len = reason == NULL ? 0 : snprintf(body, sizeof(body), "%s\n",
					    reason);
	if (len < 0 || (size_t)len >= sizeof(body))
		len = 0;
	r = MHD_create_response_from_buffer((size_t)len, body,
					    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (len > 0)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; charset=utf-8");
	if (hname != NULL)
		MHD_add_response_header(r, hname, hvalue);
	return serve_queue(conn, code, r, (uint64_t)len);
}

static enum MHD_Result reply_errno(struct MHD_Connection *conn, int rc)
{
	struct net_status s = status_from_errno(rc);

	return serve_reply(conn, s.code, s.reason, NULL, NULL);
}

/*
 * reply_denied() answers a refused auth_check(): 401 with a Bearer
 * challenge (RFC 6750; error="invalid_token" when a token was sent), or
 * 403.
 */
static enum MHD_Result reply_denied(struct MHD_Connection *conn, int rc)
{
	if (rc == -EACCES) {
		bool sent = req_header(conn, MHD_HTTP_HEADER_AUTHORIZATION) !=
			    NULL;

		return serve_reply(conn, 401, sent ? "invalid bearer token" :
				   "authorization required: send "
				   "Authorization: Bearer TOKEN",
				   MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				   sent ? "Bearer realm=\"landingfs\", "
					  "error=\"invalid_token\"" :
					  "Bearer realm=\"landingfs\"");
	}
	return serve_reply(conn, 403, "this token does not allow that here",
			   NULL, NULL);
}

/* authorize() runs auth_check() for path; 0 or the refusal. */
static int authorize(struct net *n, struct MHD_Connection *conn,
		     const char *path, enum auth_scope need)
{
	return auth_check(n->auth,
			  req_header(conn, MHD_HTTP_HEADER_AUTHORIZATION),
			  path, need);
}

/* queue_text() queues body (malloc'ed, taken) with a content type. */
static enum MHD_Result queue_text(struct MHD_Connection *conn, int code,
				  char *body, size_t len, const char *type,
				  bool no_store)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (no_store)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
					"no-store");
	return serve_queue(conn, code, r, len);
}

/* ---- validators: ETag, dates, conditionals ---------------------------- */

/* http_date() formats t as an IMF-fixdate (RFC 9110 5.6.7). */
void http_date(time_t t, char *buf, size_t size)
{
	static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
					 "Fri", "Sat" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May",
					   "Jun", "Jul", "Aug", "Sep", "Oct",
					   "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * parse_http_date() reads the three date forms HTTP/1.1 recipients accept
 * (IMF-fixdate, RFC 850, asctime). Returns false for anything else, which
 * makes the conditional header it came in be ignored (RFC 9110 13.1.3).
 */
static bool parse_http_date(const char *s, time_t *out)
{
	static const char *const fmts[] = {
		"%a, %d %b %Y %H:%M:%S GMT",
		"%A, %d-%b-%y %H:%M:%S GMT",
		"%a %b %e %H:%M:%S %Y",
	};
	struct tm tm;

	while (*s == ' ' || *s == '\t')
		s++;
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (end == NULL)
			continue;
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end == '\0') {
			*out = timegm(&tm);
			return true;
		}
	}
	return false;
}

/*
 * etag_match() tells whether the list in value ("*" or comma-separated
 * entity tags) matches etag. weak selects the weak comparison (If-None-
 * Match); the strong one (If-Match, If-Range) never matches a W/ tag.
 */
static bool etag_match(const char *value, const char *etag, bool weak)
{
	size_t elen = strlen(etag);
	const char *p = value;

	while (*p != '\0') {
		bool is_weak = false;
		const char *q;

		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0) {
			is_weak = true;
			p += 2;
		}
		if (*p != '"')
			return false; /* malformed: treat as no match */
		q = strchr(p + 1, '"');
		if (q == NULL)
			return false;
		if ((weak || !is_weak) && (size_t)(q + 1 - p) == elen &&
		    memcmp(p, etag, elen) == 0)
			return true;
		p = q + 1;
	}
	return false;
}

enum cond { COND_GO, COND_NOT_MODIFIED, COND_FAILED };

/*
 * preconditions() evaluates If-Match, If-Unmodified-Since, If-None-Match
 * and If-Modified-Since in the order of RFC 9110 13.2.2. safe is true for
 * GET and HEAD (304 instead of 412 for If-None-Match).
 */
static enum cond preconditions(struct MHD_Connection *conn, const char *etag,
			       time_t mtime, bool safe)
{
	const char *im = req_header(conn, MHD_HTTP_HEADER_IF_MATCH);
	const char *ius = req_header(conn, MHD_HTTP_HEADER_IF_UNMODIFIED_SINCE);
	const char *inm = req_header(conn, MHD_HTTP_HEADER_IF_NONE_MATCH);
	const char *ims = req_header(conn, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	time_t t;

	if (im != NULL) {
		if (!etag_match(im, etag, false))
			return COND_FAILED;
	} else if (ius != NULL && parse_http_date(ius, &t) && mtime > t) {
		return COND_FAILED;
	}
	if (inm != NULL) {
		if (etag_match(inm, etag, true))
			return safe ? COND_NOT_MODIFIED : COND_FAILED;
	} else if (safe && ims != NULL && parse_http_date(ims, &t) &&
		   mtime <= t) {
		return COND_NOT_MODIFIED;
	}
	return COND_GO;
}

/* ---- Range ------------------------------------------------------------ */

enum range { RANGE_NONE, RANGE_ONE, RANGE_UNSATISFIABLE };

static bool parse_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return true;
}

/*
 * parse_range() reads a Range value for a representation of size bytes.
 * One range of bytes gives RANGE_ONE with *off and *len; a range that
 * starts past the end (or any range of an empty file) gives
 * RANGE_UNSATISFIABLE; a malformed value, another unit or several ranges
 * give RANGE_NONE (the whole file with 200, which RFC 9110 14.2 allows).
 */
static enum range parse_range(const char *v, uint64_t size, uint64_t *off,
			      uint64_t *len)
{
	uint64_t a, b;
	const char *p = v;

	p += strspn(p, " \t");
	if (strncasecmp(p, "bytes", 5) != 0)
		return RANGE_NONE;
	p += 5;
	p += strspn(p, " \t");
	if (*p++ != '=')
		return RANGE_NONE;
	p += strspn(p, " \t");
	if (strchr(p, ',') != NULL)
		return RANGE_NONE;
	if (*p == '-') {
		p++;
		if (!parse_u64(&p, &b))
			return RANGE_NONE;
		p += strspn(p, " \t");
		if (*p != '\0')
			return RANGE_NONE;
		if (b == 0 || size == 0)
			return RANGE_UNSATISFIABLE;
		if (b > size)
			b = size;
		*off = size - b;
		*len = b;
		return RANGE_ONE;
	}
	if (!parse_u64(&p, &a) || *p++ != '-')
		return RANGE_NONE;
	if (isdigit((unsigned char)*p)) {
		if (!parse_u64(&p, &b) || b < a)
			return RANGE_NONE;
	} else {
		b = UINT64_MAX;
	}
	p += strspn(p, " \t");
	if (*p != '\0')
		return RANGE_NONE;
	if (a >= size)
		return RANGE_UNSATISFIABLE;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return RANGE_ONE;
}

/* if_range_holds() evaluates If-Range: the Range applies only when the
 * validator names the current representation. */
static bool if_range_holds(const char *v, const char *etag, time_t mtime)
{
	time_t t;

	v += strspn(v, " \t");
	if (v[0] == '"' || strncmp(v, "W/", 2) == 0)
		return etag_match(v, etag, false);
	return parse_http_date(v, &t) && t == mtime;
}

/* ---- files ------------------------------------------------------------ */

/* wants_sha256() reads Want-Repr-Digest (RFC 9530): any preference but an
 * explicit sha-256=0 asks for it (sha-256 is the one this server keeps). */
static bool wants_sha256(struct MHD_Connection *conn)
{
	const char *v = req_header(conn, "Want-Repr-Digest");
	const char *p;

	if (v == NULL)
		return false;
	p = strstr(v, "sha-256");
	if (p == NULL)
		return true;
	p += 7;
	p += strspn(p, " \t");
	if (*p != '=')
		return true;
	p++;
	p += strspn(p, " \t");
	return *p != '0';
}

/*
 * lazy_sha256() hashes the blob through a read-only mapping (digest.c) and
 * records the result in the index, unless the file changed meanwhile
 * (store_set_sha256 then says -ESTALE, and the value is still right for
 * the blob being sent).
 */
static int lazy_sha256(struct net *n, const struct store_attr *a, int fd,
		       uint64_t size, uint8_t out[STORE_SHA256_LEN])
{
	struct digest_want w = { .sha256 = true };
	struct digest_sums sums;
	struct digest *d = digest_new(&w);
	int rc;

	if (d == NULL)
		return -ENOMEM;
	rc = digest_update_fd(d, fd, size);
	if (rc == 0)
		digest_final(d, &sums);
	digest_free(&d);
	if (rc < 0)
		return rc;
	memcpy(out, sums.sha256, STORE_SHA256_LEN);
	rc = store_set_sha256(n->st, a->ino, a->blob, out);
	if (rc < 0 && rc != -ESTALE)
		lf_err(-rc, "store_set_sha256 ino %" PRIu64, a->ino);
	return 0;
}

/* add_validators() sets ETag and Last-Modified on r. */
static void add_validators(struct MHD_Response *r, const char *etag,
			   time_t mtime)
{
	char date[64];

	http_date(mtime, date, sizeof(date));
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, date);
}

static enum MHD_Result reply_not_modified(struct MHD_Connection *conn,
					  const char *etag, time_t mtime)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(0, (void *)"",
					    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	add_validators(r, etag, mtime);
	return serve_queue(conn, MHD_HTTP_NOT_MODIFIED, r, 0);
}

/*
 * serve_file() answers GET or HEAD of the regular file a (at path): 200,
 * 206 for one satisfiable Range, 304, 412 or 416.
 */
static enum MHD_Result serve_file(struct net *n, struct MHD_Connection *conn,
				  const char *path, const struct store_attr *a)
{
	struct store_landing land;
	struct MHD_Response *r;
	char etag[24], crange[96], digest[128];
	const char *name = strrchr(path, '/');
	const char *rv, *ir;
	uint64_t size, off = 0, len;
	uint8_t sha[STORE_SHA256_LEN];
	bool have_sha = false;
	time_t mtime = (time_t)(a->mtime_ns / 1000000000);
	enum range range = RANGE_NONE;
	struct stat sb;
	int fd, mfd, rc, code = MHD_HTTP_OK;

	name = name != NULL ? name + 1 : path;
	net_etag(a->blob, etag, sizeof(etag));
	switch (preconditions(conn, etag, mtime, true)) {
	case COND_NOT_MODIFIED:
		return reply_not_modified(conn, etag, mtime);
	case COND_FAILED:
		return serve_reply(conn, MHD_HTTP_PRECONDITION_FAILED,
				   "precondition failed", NULL, NULL);
	case COND_GO:
		break;
	}

	rc = store_blob_open(n->st, a->ino, O_RDONLY, &fd);
	if (rc < 0)
		return reply_errno(conn, rc);
	mfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	rc = mfd < 0 ? -errno : 0;
	store_blob_close(n->st, a->ino, fd);
	if (rc < 0) {
		lf_err(-rc, "dup of blob %" PRIu64, a->blob);
		return reply_errno(conn, rc);
	}
	/* The blob file's own size is what sendfile will find, even if a
	 * local writer has not yet told the index about its last write. */
	if (fstat(mfd, &sb) < 0) {
		rc = -errno;
		close(mfd);
		return reply_errno(conn, rc);
	}
	size = (uint64_t)sb.st_size;
	len = size;

	if (store_landing_get(n->st, a->ino, &land) == 0 && land.has_sha256 &&
	    size == a->size) {
		memcpy(sha, land.sha256, sizeof(sha));
		have_sha = true;
	}
	if (!have_sha && wants_sha256(conn) &&
	    lazy_sha256(n, a, mfd, size, sha) == 0)
		have_sha = true;

	rv = req_header(conn, MHD_HTTP_HEADER_RANGE);
	ir = req_header(conn, MHD_HTTP_HEADER_IF_RANGE);
	if (rv != NULL && (ir == NULL || if_range_holds(ir, etag, mtime)))
		range = parse_range(rv, size, &off, &len);
	if (range == RANGE_UNSATISFIABLE) {
		close(mfd);
		snprintf(crange, sizeof(crange), "bytes */%" PRIu64, size);
		return serve_reply(conn, MHD_HTTP_RANGE_NOT_SATISFIABLE,
				   "range not satisfiable",
				   MHD_HTTP_HEADER_CONTENT_RANGE, crange);
	}
	if (range == RANGE_ONE) {
		code = MHD_HTTP_PARTIAL_CONTENT;
		snprintf(crange, sizeof(crange),
			 "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off,
			 off + len - 1, size);
	}

	if (len == 0) {
		close(mfd);
		r = MHD_create_response_from_buffer(0, (void *)"",
						    MHD_RESPMEM_PERSISTENT);
	} else {
		/* Once the response exists, libmicrohttpd owns mfd and
		 * closes it when the response is destroyed. */
		r = MHD_create_response_from_fd_at_offset64(len, mfd, off);
		if (r == NULL)
			close(mfd);
	}
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				mime_type(name));
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	add_validators(r, etag, mtime);
	if (code == MHD_HTTP_PARTIAL_CONTENT)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE,
					crange);
	if (have_sha) {
		digest_format(sha, digest, sizeof(digest));
		MHD_add_response_header(r, "Repr-Digest", digest);
	}
	return serve_queue(conn, code, r, len);
}

/*
 * serve_symlink() answers GET or HEAD of a symbolic link: a relative
 * target is a 302 redirect resolved by the client against the link's URL
 * (the target is then validated like any request); an absolute one means
 * nothing over HTTP and is 404.
 */
static enum MHD_Result serve_symlink(struct net *n,
				     struct MHD_Connection *conn,
				     const struct store_attr *a)
{
	char target[LF_MAX_SYMLINK + 1];
	struct textbuf b;
	struct MHD_Response *r;
	size_t len;
	char *loc;
	int rc;

	rc = store_readlink(n->st, a->ino, target, sizeof(target));
	if (rc < 0)
		return reply_errno(conn, rc);
	if (target[0] == '/' || target[0] == '\0')
		return serve_reply(conn, MHD_HTTP_NOT_FOUND,
				   "symbolic link to an absolute path", NULL,
				   NULL);
	textbuf_init(&b, 3 * LF_MAX_SYMLINK + 1);
	textbuf_url(&b, target, false);
	loc = textbuf_take(&b, &len);
	if (loc == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer(0, (void *)"",
					    MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(loc);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, loc);
	free(loc);
	return serve_queue(conn, MHD_HTTP_FOUND, r, 0);
}

/* raw_path_has_slash() tells whether the request target's path ends in
 * '/' (url holds no query: libmicrohttpd has split it off). */
static bool raw_path_has_slash(const char *url)
{
	size_t len = strlen(url);

	return len > 0 && url[len - 1] == '/';
}

static enum MHD_Result serve_get(struct net *n, struct MHD_Connection *conn,
				 const char *url, const char *path)
{
	struct store_attr a;
	int rc;

	rc = authorize(n, conn, path, AUTH_READ);
	if (rc < 0)
		return reply_denied(conn, rc);
	rc = store_lookup_path(n->st, path, &a);
	if (rc == -ENOTDIR)
		rc = -ENOENT;
	if (rc < 0)
		return reply_errno(conn, rc);
	if ((a.mode & S_IFMT) == S_IFDIR) {
		bool json = listing_wants_json(conn);

		/* Relative links in an HTML listing need the '/'. */
		if (!json && !raw_path_has_slash(url)) {
			char loc[LF_MAX_PATH * 3 + 4];
			size_t ulen = strlen(url);

			if (ulen + 2 > sizeof(loc))
				return reply_errno(conn, -ENAMETOOLONG);
			memcpy(loc, url, ulen);
			memcpy(loc + ulen, "/", 2);
			return serve_reply(conn, MHD_HTTP_MOVED_PERMANENTLY,
					   loc, MHD_HTTP_HEADER_LOCATION, loc);
		}
		return listing_serve(n, conn, path, &a, json);
	}
	if ((a.mode & S_IFMT) == S_IFLNK)
		return serve_symlink(n, conn, &a);
	if ((a.mode & S_IFMT) != S_IFREG)
		return reply_errno(conn, -ENOENT);
	return serve_file(n, conn, path, &a);
}

/* ---- changes: DELETE, MKCOL, MOVE ------------------------------------- */

static struct store_ctx net_ctx(void)
{
	struct store_ctx c = {
		.uid = (uint32_t)getuid(),
		.gid = (uint32_t)getgid(),
		.origin = STORE_ORIGIN_NET,
	};

	return c;
}

/* split_parent() looks up the parent directory of path; *name points at
 * its last component. path is not the root. */
static int split_parent(struct net *n, const char *path, uint64_t *parent,
			const char **name)
{
	char dir[LF_MAX_PATH + 1];
	const char *slash = strrchr(path, '/');
	struct store_attr a;
	int rc;

	if (slash == NULL) {
		*parent = STORE_ROOT_INO;
		*name = path;
		return 0;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	rc = store_lookup_path(n->st, dir, &a);
	if (rc < 0)
		return rc;
	if ((a.mode & S_IFMT) != S_IFDIR)
		return -ENOTDIR;
	*parent = a.ino;
	*name = slash + 1;
	return 0;
}

/* lookup_entry() looks up the existing entry path (not the root) and its
 * parent directory; a path through a file is -ENOENT, as a missing one. */
static int lookup_entry(struct net *n, const char *path, struct store_attr *a,
			uint64_t *parent, const char **name)
{
	int rc = store_lookup_path(n->st, path, a);

	if (rc == -ENOTDIR)
		rc = -ENOENT;
	if (rc == 0)
		rc = split_parent(n, path, parent, name);
	return rc;
}

/*
 * delete_tree() removes everything inside directory dir, depth first.
 * Entries are taken in store_readdir()'s stable order, so the cursor stays
 * valid while entries before it go.
 */
static int delete_tree(struct net *n, const struct store_ctx *ctx,
		       uint64_t dir, unsigned depth)
{
	struct store_dirent *ents;
	uint64_t cursor = 0;
	size_t got, i;
	int rc = 0;

	if (depth > SERVE_MAX_DEPTH)
		return -ELOOP;
	ents = calloc(SERVE_DELETE_BATCH, sizeof(*ents));
	if (ents == NULL)
		return -ENOMEM;
	for (;;) {
		rc = store_readdir(n->st, dir, cursor, ents,
				   SERVE_DELETE_BATCH, &got);
		if (rc < 0 || got == 0)
			break;
		for (i = 0; i < got && rc == 0; i++) {
			if ((ents[i].attr.mode & S_IFMT) == S_IFDIR) {
				rc = delete_tree(n, ctx, ents[i].attr.ino,
						 depth + 1);
				if (rc == 0)
					rc = store_rmdir(n->st, ctx, dir,
							 ents[i].name);
			} else {
				rc = store_unlink(n->st, ctx, dir,
						  ents[i].name);
			}
			if (rc == -ENOENT) /* gone meanwhile */
				rc = 0;
		}
		if (rc < 0)
			break;
		cursor = ents[got - 1].cursor;
	}
	free(ents);
	return rc;
}

static enum MHD_Result serve_delete(struct net *n,
				    struct MHD_Connection *conn,
				    const char *path)
{
	struct store_ctx ctx = net_ctx();
	struct store_attr a;
	const char *name, *depth;
	uint64_t parent;
	int rc;

	rc = authorize(n, conn, path, AUTH_DELETE);
	if (rc < 0)
		return reply_denied(conn, rc);
	if (path[0] == '\0')
		return serve_reply(conn, MHD_HTTP_FORBIDDEN,
				   "the root directory cannot be deleted",
				   NULL, NULL);
	rc = lookup_entry(n, path, &a, &parent, &name);
	if (rc < 0)
		return reply_errno(conn, rc);
	if ((a.mode & S_IFMT) != S_IFDIR) {
		char etag[24];

		net_etag(a.blob, etag, sizeof(etag));
		if (preconditions(conn, etag,
				  (time_t)(a.mtime_ns / 1000000000), false) !=
		    COND_GO)
			return serve_reply(conn, MHD_HTTP_PRECONDITION_FAILED,
					   "precondition failed", NULL, NULL);
		rc = store_unlink(n->st, &ctx, parent, name);
		if (rc < 0)
			return reply_errno(conn, rc);
		return serve_reply(conn, MHD_HTTP_NO_CONTENT, NULL, NULL,
				   NULL);
	}
	depth = req_header(conn, "Depth");
	rc = store_rmdir(n->st, &ctx, parent, name);
	if (rc == -ENOTEMPTY && depth != NULL &&
	    strcasecmp(depth, "infinity") == 0) {
		rc = delete_tree(n, &ctx, a.ino, 0);
		if (rc == 0)
			rc = store_rmdir(n->st, &ctx, parent, name);
	} else if (rc == -ENOTEMPTY) {
		return serve_reply(conn, MHD_HTTP_CONFLICT,
				   "the directory is not empty; send "
				   "Depth: infinity to delete it with its "
				   "contents", NULL, NULL);
	}
	if (rc < 0)
		return reply_errno(conn, rc);
	return serve_reply(conn, MHD_HTTP_NO_CONTENT, NULL, NULL, NULL);
}

/* location_of() writes the percent-encoded URL path of path into buf. */
static void location_of(const char *path, bool dir, char *buf, size_t size)
{
	struct textbuf b;
	size_t len;
	char *s;

	textbuf_init(&b, size - 1);
	textbuf_puts(&b, "/");
	textbuf_url(&b, path, false);
	if (dir && path[0] != '\0')
		textbuf_puts(&b, "/");
	s = textbuf_take(&b, &len);
	snprintf(buf, size, "%s", s != NULL ? s : "/");
	free(s);
}

static bool has_body(struct MHD_Connection *conn)
{
	const char *cl = req_header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return req_header(conn, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL ||
	       (cl != NULL && strspn(cl, " \t0") != strlen(cl));
}

static enum MHD_Result serve_mkcol(struct net *n, struct MHD_Connection *conn,
				   const char *path)
{
	struct store_ctx ctx = net_ctx();
	struct store_attr a;
	char loc[NET_MAX_LOCATION];
	const char *name;
	uint64_t parent;
	int rc;

	rc = authorize(n, conn, path, AUTH_WRITE);
	if (rc < 0)
		return reply_denied(conn, rc);
	if (has_body(conn))
		return serve_reply(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
				   "MKCOL takes no body", NULL, NULL);
	if (path[0] == '\0')
		return serve_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "the root exists", MHD_HTTP_HEADER_ALLOW,
				   SERVE_ALLOW);
	rc = split_parent(n, path, &parent, &name);
	if (rc == -ENOENT || rc == -ENOTDIR)
		return serve_reply(conn, MHD_HTTP_CONFLICT,
				   "the parent directory does not exist",
				   NULL, NULL);
	if (rc < 0)
		return reply_errno(conn, rc);
	rc = store_mkdir(n->st, &ctx, parent, name, 0755, &a);
	if (rc == -EEXIST)
		return serve_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "the name already exists",
				   MHD_HTTP_HEADER_ALLOW, SERVE_ALLOW);
	if (rc < 0)
		return reply_errno(conn, rc);
	location_of(path, true, loc, sizeof(loc));
	return serve_reply(conn, MHD_HTTP_CREATED, "created",
			   MHD_HTTP_HEADER_LOCATION, loc);
}

/*
 * destination_path() takes the path of a Destination header (an absolute
 * URI, whose scheme and authority are dropped, or an absolute path) and
 * validates it like a request target.
 */
static int destination_path(const char *dest, char *out, size_t size,
			    const char **why)
{
	const char *p = dest;

	if (strncasecmp(p, "http://", 7) == 0 ||
	    strncasecmp(p, "https://", 8) == 0) {
		p = strstr(p, "//") + 2;
		p = strchr(p, '/');
		if (p == NULL)
			p = "/";
	}
	return policy_path(p, strlen(p), out, size, false, why);
}

static enum MHD_Result serve_move(struct net *n, struct MHD_Connection *conn,
				  const char *path)
{
	struct store_ctx ctx = net_ctx();
	struct store_attr a, t;
	char dpath[LF_MAX_PATH + 1], loc[NET_MAX_LOCATION];
	const char *dest, *ow, *why, *name, *dname;
	uint64_t parent, dparent;
	bool overwrite = true, existed;
	int rc;

	dest = req_header(conn, "Destination");
	if (dest == NULL)
		return serve_reply(conn, MHD_HTTP_BAD_REQUEST,
				   "MOVE needs a Destination header", NULL,
				   NULL);
	rc = destination_path(dest, dpath, sizeof(dpath), &why);
	if (rc < 0)
		return serve_reply(conn, MHD_HTTP_BAD_REQUEST, why, NULL,
				   NULL);
	ow = req_header(conn, "Overwrite");
	if (ow != NULL) {
		if (strcasecmp(ow, "F") == 0)
			overwrite = false;
		else if (strcasecmp(ow, "T") != 0)
			return serve_reply(conn, MHD_HTTP_BAD_REQUEST,
					   "Overwrite is T or F", NULL, NULL);
	}
	rc = authorize(n, conn, path, AUTH_DELETE);
	if (rc == 0)
		rc = authorize(n, conn, dpath, AUTH_WRITE);
	if (rc < 0)
		return reply_denied(conn, rc);
	if (path[0] == '\0' || dpath[0] == '\0')
		return serve_reply(conn, MHD_HTTP_FORBIDDEN,
				   "the root directory cannot be moved",
				   NULL, NULL);
	if (strcmp(path, dpath) == 0)
		return serve_reply(conn, MHD_HTTP_FORBIDDEN,
				   "source and destination are the same",
				   NULL, NULL);
	rc = lookup_entry(n, path, &a, &parent, &name);
	if (rc < 0)
		return reply_errno(conn, rc);
	rc = split_parent(n, dpath, &dparent, &dname);
	if (rc == -ENOENT || rc == -ENOTDIR)
		return serve_reply(conn, MHD_HTTP_CONFLICT,
				   "the destination's parent directory does "
				   "not exist", NULL, NULL);
	if (rc < 0)
		return reply_errno(conn, rc);
	existed = store_lookup(n->st, dparent, dname, &t) == 0;
	if (existed && !overwrite)
		return serve_reply(conn, MHD_HTTP_PRECONDITION_FAILED,
				   "the destination exists and Overwrite is F",
				   NULL, NULL);
	rc = store_rename(n->st, &ctx, parent, name, dparent, dname,
			  overwrite ? 0 : STORE_RENAME_NOREPLACE);
	if (rc == -EEXIST && !overwrite)
		return serve_reply(conn, MHD_HTTP_PRECONDITION_FAILED,
				   "the destination exists and Overwrite is F",
				   NULL, NULL);
	if (rc == -EINVAL)
		return serve_reply(conn, MHD_HTTP_FORBIDDEN,
				   "a directory cannot move into itself", NULL,
				   NULL);
	if (rc < 0)
		return reply_errno(conn, rc);
	if (existed)
		return serve_reply(conn, MHD_HTTP_NO_CONTENT, NULL, NULL,
				   NULL);
	location_of(dpath, (a.mode & S_IFMT) == S_IFDIR, loc, sizeof(loc));
	return serve_reply(conn, MHD_HTTP_CREATED, "moved",
			   MHD_HTTP_HEADER_LOCATION, loc);
}

/* ---- /.landing/ ------------------------------------------------------- */

static enum MHD_Result serve_landing(struct net *n,
				     struct MHD_Connection *conn,
				     const char *path, const char *method)
{
	const char *what = path[8] == '/' ? path + 9 : path + 8;
	struct textbuf b;
	size_t len;
	char *body;
	int rc;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return serve_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "/.landing/ is read-only",
				   MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (strcmp(what, "health") == 0) {
		struct statvfs sv;

		rc = n->st != NULL ? store_statfs(n->st, &sv) : 0;
		if (rc < 0)
			return serve_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					   "store unavailable", NULL, NULL);
		return serve_reply(conn, MHD_HTTP_OK, "ok",
				   MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	}
	if (what[0] == '\0') {
		/* The page is static; the data it shows comes from the JSON
		 * endpoint, which checks the token the page sends. */
		struct MHD_Response *r;

		r = MHD_create_response_from_buffer(strlen(statuspage_html),
						    (void *)statuspage_html,
						    MHD_RESPMEM_PERSISTENT);
		if (r == NULL)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/html; charset=utf-8");
		MHD_add_response_header(r, "Content-Security-Policy",
					"default-src 'self'; "
					"script-src 'unsafe-inline'; "
					"style-src 'unsafe-inline'");
		return serve_queue(conn, MHD_HTTP_OK, r,
				   strlen(statuspage_html));
	}
	if (strcmp(what, "metrics") != 0 && strcmp(what, "uploads") != 0)
		return serve_reply(conn, MHD_HTTP_NOT_FOUND,
				   "no such endpoint under /.landing/", NULL,
				   NULL);
	rc = authorize(n, conn, path, AUTH_READ);
	if (rc < 0)
		return reply_denied(conn, rc);
	textbuf_init(&b, 4 << 20);
	if (what[0] == 'm')
		rc = metrics_prometheus(n, &b);
	else
		rc = metrics_uploads_json(n, &b);
	body = rc == 0 ? textbuf_take(&b, &len) : NULL;
	textbuf_free(&b);
	if (body == NULL)
		return reply_errno(conn, rc < 0 ? rc : -ENOMEM);
	return queue_text(conn, MHD_HTTP_OK, body, len,
			  what[0] == 'm' ? "text/plain; version=0.0.4; "
					   "charset=utf-8" :
					   "application/json",
			  true);
}

/* ---- the entry point -------------------------------------------------- */

static enum MHD_Result dispatch(struct net *n, struct MHD_Connection *conn,
				const char *url, const char *method)
{
	char path[LF_MAX_PATH + 1];
	const char *why;
	int rc;

	if (strcmp(method, "OPTIONS") == 0 && strcmp(url, "*") == 0)
		return serve_reply(conn, MHD_HTTP_OK, NULL,
				   MHD_HTTP_HEADER_ALLOW, SERVE_ALLOW);
	rc = policy_path(url, strlen(url), path, sizeof(path), true, &why);
	if (rc < 0)
		return serve_reply(conn, MHD_HTTP_BAD_REQUEST, why, NULL,
				   NULL);
	if (strncmp(path, LF_PRIVATE_DIR, LF_PRIVATE_DIR_LEN) == 0 &&
	    (path[LF_PRIVATE_DIR_LEN] == '\0' ||
	     path[LF_PRIVATE_DIR_LEN] == '/'))
		return serve_landing(n, conn, path, method);

	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return serve_get(n, conn, url, path);
	if (strcmp(method, "DELETE") == 0)
		return serve_delete(n, conn, path);
	if (strcmp(method, "MKCOL") == 0)
		return serve_mkcol(n, conn, path);
	if (strcmp(method, "MOVE") == 0)
		return serve_move(n, conn, path);
	if (strcmp(method, "OPTIONS") == 0)
		return serve_reply(conn, MHD_HTTP_OK, NULL,
				   MHD_HTTP_HEADER_ALLOW, SERVE_ALLOW);
	return serve_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
			   "method not allowed", MHD_HTTP_HEADER_ALLOW,
			   SERVE_ALLOW);
}

/*
 * serve_request() answers every request libmicrohttpd serves except PUT
 * (see net_int.h). url is the request target's path as received (percent-
 * encoded; libmicrohttpd has split off the query). Runs on libmicrohttpd's
 * threads; queues exactly one response, or returns MHD_NO. It writes the
 * request's access-log line and counts it in the metrics; the duration is
 * the time to the queued response (a file body is then sent by the
 * kernel, with sendfile, after this returns).
 */
enum MHD_Result serve_request(struct net *n, struct MHD_Connection *conn,
			      const char *url, const char *method)
{
	const union MHD_ConnectionInfo *ci;
	char peer[STORE_MAX_PEER];
	struct timespec t0, t1;
	enum MHD_Result ret;
	double secs;
	int code = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	queued_bytes = 0;
	ret = dispatch(n, conn, url, method);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
	if (ci != NULL)
		code = (int)ci->http_status;
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	mhd_peer(conn, peer, sizeof(peer));
	lf_access("%s %s %s %d %llu %.3f", peer, method, url, code,
		  strcmp(method, "HEAD") == 0 ? 0ULL :
						(unsigned long long)queued_bytes,
		  secs);
	metrics_request(n, method, code, secs);
	return ret;
}
