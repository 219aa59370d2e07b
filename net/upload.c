/*
 * upload.c - what every PUT shares, whichever path carries its body: the
 * front door's splice path (ingest.c) or libmicrohttpd's copying path for
 * handed-over connections and TLS (mhd.c).
 *
 * An upload goes through four steps, each a function here:
 *
 *   upload_begin()     every check that needs no body: path, auth, limits,
 *                      conditionals, digests announced; then a staging
 *                      blob (O_TMPFILE: a crash leaves nothing). A refusal
 *                      is answered before the body is read.
 *   upload_received()  the caller appended bytes to upload_fd(); they are
 *                      hashed where they landed (digest.c) when a digest
 *                      is wanted, and counted for the progress view.
 *   upload_finish()    digests verified, then published: renamed through
 *                      the mount when there is one (inotify sees it), or
 *                      published in the store directly.
 *   upload_free()      whatever did not publish is aborted: the staging
 *                      blob goes, nothing is visible.
 *
 * Publishing through the mount. inotify only reports what passes through
 * the kernel's VFS, and the store's own publish does not. So the staged
 * blob is first published in the store under a private, unique name in
 * .landing/incoming/ (one transaction; /.landing/ is reserved and never
 * addressable over HTTP), then rename(2)d through the mount to its final
 * name: the kernel locks both directories, sends FUSE_RENAME to this same
 * daemon (served by a FUSE worker; the rename is made by a helper process,
 * see below) and, on success, raises IN_MOVED_TO in the target directory.
 * Conditionals map onto the rename: If-None-Match: * is RENAME_NOREPLACE
 * (atomic in the store); If-Match is checked and renamed under a per-path
 * lock that every network publish takes, so two uploads never interleave
 * there. A failed rename unlinks the incoming name through the mount.
 * Leftovers of a crash between the two steps are removed by
 * upload_incoming_open() at start.
 *
 * The calls on the mount (open, rename, mkdir, unlink) are made by helper
 * processes (mountop.c), never by a thread of the daemon: a daemon thread
 * waiting on its own mount would keep a killed daemon from ever exiting.
 * The store work (the incoming publish, the per-path lock, If-Match)
 * stays here.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define INCOMING_DIR NET_INCOMING_DIR
#define PUBLISH_STRIPES 64
#define DIGEST_STEP (8u << 20) /* hash every this many bytes received */
#define FREE_STEP (4u << 20)   /* check min_free every this many bytes */
#define RETRY_AFTER 1          /* seconds, with 503 */

struct publish_locks {
	pthread_mutex_t pl_m[PUBLISH_STRIPES];
};

struct upload {
	struct net *u_net;
	struct upload_reply u_reply;
	char u_path[LF_MAX_PATH + 1];
	char u_peer[STORE_MAX_PEER];
	bool u_refused;
	bool u_continue;             /* the client waits for 100 Continue */
	bool u_slot;                 /* counts in n->nuploads */
	bool u_spliced;
	bool u_published;
	bool u_noreplace;            /* If-None-Match: * */
	bool u_if_match;             /* If-Match: replace only u_if_blob */
	uint64_t u_if_blob;
	int64_t u_expected;          /* Content-Length, -1 when chunked */
	struct store_stage *u_stage;
	int u_fd;
	uint64_t u_size;             /* body bytes in the staging blob */
	uint64_t u_free_checked;     /* u_size at the last min_free check */
	uint64_t u_hashed;
	struct digest *u_digest;
	struct digest_sums u_cd;     /* Content-Digest / Content-MD5 sent */
	struct digest_sums u_rd;     /* Repr-Digest sent */
	struct upload_progress *u_prog;
	const char *u_label;         /* why it failed, for the metrics */
};

/* net_etag() writes the ETag of a blob: its id, quoted. Both HTTP paths
 * use it, so a PUT's ETag is the one a GET answers. */
void net_etag(uint64_t blob, char *buf, size_t size)
{
	snprintf(buf, size, "\"%016" PRIx64 "\"", blob);
}

static void reply(struct upload *u, int code, const char *reason,
		  const char *label)
{
	u->u_reply.code = code;
	u->u_reply.reason = reason;
	if (label != NULL)
		u->u_label = label;
	/* While draining (net_drain), no connection is kept for more. */
	if (code >= 400 ||
	    __atomic_load_n(&u->u_net->draining, __ATOMIC_SEQ_CST))
		u->u_reply.close = true;
}

static void refuse(struct upload *u, int code, const char *reason)
{
	u->u_refused = true;
	reply(u, code, reason, "refused");
}

/* room_for() tells whether the store's file system has need bytes free
 * beyond min_free. A failing fstatvfs() says yes: the writes will tell. */
static bool room_for(const struct upload *u, uint64_t need)
{
	struct statvfs sv;

	if (fstatvfs(u->u_fd, &sv) < 0)
		return true;
	return (uint64_t)sv.f_bavail * sv.f_frsize >=
	       need + u->u_net->cfg->min_free;
}

static void refuse_errno(struct upload *u, int err)
{
	struct net_status st = status_from_errno(err);

	refuse(u, st.code, st.reason);
}

/* etag_listed() tells whether the If-Match / If-None-Match list names the
 * ETag of blob. Weak tags match only when weak is allowed. */
static bool etag_listed(const char *list, uint64_t blob, bool weak)
{
	char tag[24];
	size_t tlen;
	const char *p = list;

	net_etag(blob, tag, sizeof(tag));
	tlen = strlen(tag);
	while (*p != '\0') {
		bool is_weak = false;
		const char *q;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (p[0] == 'W' && p[1] == '/') {
			is_weak = true;
			p += 2;
		}
		if (*p != '"')
			return false;
		q = strchr(p + 1, '"');
		if (q == NULL)
			return false;
		if ((size_t)(q + 1 - p) == tlen && memcmp(p, tag, tlen) == 0 &&
		    (!is_weak || weak))
			return true;
		p = q + 1;
	}
	return false;
}

static bool is_star(const char *v)
{
	return v != NULL && strcmp(v, "*") == 0;
}

/* check_conditions() applies If-None-Match and If-Match against the file
 * now at the path (cur, exists). Returns false after refusing. */
static bool check_conditions(struct upload *u, const struct upload_req *rq,
			     const struct store_attr *cur, bool exists)
{
	const char *inm = rq->header(rq->arg, "If-None-Match");
	const char *im = rq->header(rq->arg, "If-Match");

	if (inm != NULL) {
		if (is_star(inm)) {
			if (exists) {
				refuse(u, 412, "precondition failed: the file exists (If-None-Match: *)");
				return false;
			}
			u->u_noreplace = true;
		} else if (exists && etag_listed(inm, cur->blob, true)) {
			refuse(u, 412, "precondition failed: the ETag matches If-None-Match");
			return false;
		}
	}
	if (im != NULL) {
		if (!exists) {
			refuse(u, 412, "precondition failed: no file to match If-Match");
			return false;
		}
		if (!is_star(im) && !etag_listed(im, cur->blob, false)) {
			refuse(u, 412, "precondition failed: the ETag does not match If-Match");
			return false;
		}
		u->u_if_match = true;
		u->u_if_blob = cur->blob;
	}
	return true;
}

/* target_ends_in_slash() tells whether the path part of the target ends
 * with '/': a PUT names a file. */
static bool target_ends_in_slash(const char *t, size_t len)
{
	const char *q = memchr(t, '?', len);

	if (q != NULL)
		len = (size_t)(q - t);
	return len > 1 && t[len - 1] == '/';
}

/*
 * upload_begin() runs every check a PUT needs before its body and, when
 * they pass, stages a blob for it. Returns 0 and *out (the caller's, freed
 * with upload_free()) or -ENOMEM. When upload_refused(*out), the reply is
 * the answer to send at once, before any body byte is read. Any thread.
 */
int upload_begin(struct net *n, const struct upload_req *rq,
		 struct upload **out)
{
	const struct net_config *cfg = n->cfg;
	struct upload *u = calloc(1, sizeof(*u));
	struct store_attr cur;
	struct digest_want want = { 0 };
	const char *why, *v;
	bool exists;
	int rc;

	if (u == NULL)
		return -ENOMEM;
	*out = u;
	u->u_net = n;
	u->u_fd = -1;
	u->u_spliced = rq->spliced;
	u->u_expected = rq->chunked ? -1 : rq->content_length;
	u->u_label = "error";
	snprintf(u->u_peer, sizeof(u->u_peer), "%s", rq->peer);

	rc = policy_path(rq->target, rq->target_len, u->u_path,
			 sizeof(u->u_path), false, &why);
	if (rc < 0) {
		/* For the log: the target as sent, printable. */
		size_t i, len = rq->target_len < LF_MAX_PATH ? rq->target_len :
							      LF_MAX_PATH;

		for (i = 0; i < len; i++)
			u->u_path[i] = (rq->target[i] > 0x20 &&
					rq->target[i] < 0x7f) ? rq->target[i] : '?';
		u->u_path[i] = '\0';
		refuse(u, 400, why);
		return 0;
	}
	if (u->u_path[0] == '\0' ||
	    target_ends_in_slash(rq->target, rq->target_len)) {
		refuse(u, 409, "PUT onto a directory: the target must name a file");
		return 0;
	}
	v = rq->header(rq->arg, "Authorization");
	rc = auth_check(n->auth, v, u->u_path, AUTH_WRITE);
	if (rc == -EACCES) {
		/* The same words and challenge as serve.c's refusals. */
		refuse(u, 401, v != NULL ? "invalid bearer token" :
		       "authorization required: send Authorization: Bearer TOKEN");
		u->u_reply.auth_challenge = v != NULL ? 2 : 1;
		return 0;
	}
	if (rc < 0) {
		refuse(u, 403, "this token does not allow that here");
		return 0;
	}
	if (rq->header(rq->arg, "Content-Range") != NULL) {
		refuse(u, 400, "Content-Range is not allowed on PUT");
		return 0;
	}
	v = rq->header(rq->arg, "Expect");
	if (v != NULL) {
		if (strcasecmp(v, "100-continue") != 0) {
			refuse(u, 417, "only Expect: 100-continue is supported");
			return 0;
		}
		u->u_continue = true;
	}
	if (!rq->chunked && rq->content_length < 0) {
		refuse(u, 411, "length required: send Content-Length or chunked");
		return 0;
	}
	if (rq->content_length > 0 &&
	    (uint64_t)rq->content_length > cfg->max_upload) {
		refuse(u, 413, "the body is larger than the configured maximum (max_upload)");
		return 0;
	}
	v = rq->header(rq->arg, "Content-Digest");
	if (v != NULL && digest_parse(v, &u->u_cd) < 0) {
		refuse(u, 400, "malformed Content-Digest");
		return 0;
	}
	v = rq->header(rq->arg, "Content-MD5");
	if (v != NULL && digest_parse_md5(v, &u->u_cd) < 0) {
		refuse(u, 400, "malformed Content-MD5");
		return 0;
	}
	v = rq->header(rq->arg, "Repr-Digest");
	if (v != NULL && digest_parse(v, &u->u_rd) < 0) {
		refuse(u, 400, "malformed Repr-Digest");
		return 0;
	}

	rc = store_lookup_path(n->st, u->u_path, &cur);
	exists = rc == 0;
	if (rc < 0 && rc != -ENOENT) {
		refuse_errno(u, rc);
		return 0;
	}
	if (exists && (cur.mode & S_IFMT) == S_IFDIR) {
		refuse(u, 409, "PUT onto a directory: the target must name a file");
		return 0;
	}
	if (exists && (cur.mode & S_IFMT) != S_IFREG) {
		refuse(u, 409, "the path names a symbolic link, not a file");
		return 0;
	}
	if (!check_conditions(u, rq, &cur, exists))
		return 0;

	/* Counted before draining is checked, net_drain() sets draining
	 * before it counts: one of the two sees the other. */
	if ((unsigned)__atomic_add_fetch(&n->nuploads, 1, __ATOMIC_SEQ_CST) >
	    cfg->max_uploads) {
		__atomic_sub_fetch(&n->nuploads, 1, __ATOMIC_SEQ_CST);
		refuse(u, 503, "too many uploads in progress, try again");
		u->u_reply.retry_after = RETRY_AFTER;
		return 0;
	}
	if (__atomic_load_n(&n->draining, __ATOMIC_SEQ_CST)) {
		__atomic_sub_fetch(&n->nuploads, 1, __ATOMIC_SEQ_CST);
		refuse(u, 503, "the server is shutting down, try again");
		u->u_reply.retry_after = RETRY_AFTER;
		return 0;
	}
	u->u_slot = true;

	rc = store_stage_begin(n->st, &u->u_stage);
	if (rc < 0) {
		refuse_errno(u, rc);
		return 0;
	}
	u->u_fd = store_stage_fd(u->u_stage);
	if ((rq->content_length > 0 || cfg->min_free > 0) &&
	    !room_for(u, rq->content_length > 0 ?
				 (uint64_t)rq->content_length : 0)) {
		refuse(u, 507, cfg->min_free > 0 ?
		       "insufficient storage: the store keeps min_free bytes free" :
		       "insufficient storage for this body");
		return 0;
	}
	want.sha256 = cfg->digest_sha256 || u->u_cd.has_sha256 ||
		      u->u_rd.has_sha256 ||
		      rq->header(rq->arg, "Want-Repr-Digest") != NULL ||
		      rq->header(rq->arg, "Want-Content-Digest") != NULL;
	want.sha512 = u->u_cd.has_sha512 || u->u_rd.has_sha512;
	want.md5 = u->u_cd.has_md5;
	if (want.sha256 || want.sha512 || want.md5) {
		u->u_digest = digest_new(&want);
		if (u->u_digest == NULL) {
			refuse_errno(u, -ENOMEM);
			return 0;
		}
	}
	u->u_prog = metrics_upload_begin(n, u->u_path, u->u_peer,
					 u->u_expected, u->u_spliced);
	return 0;
}

/* upload_refused() tells whether upload_begin() refused the request. */
bool upload_refused(const struct upload *u)
{
	return u->u_refused;
}

/* upload_expects_continue() tells whether the client sent Expect:
 * 100-continue (and waits for it before sending the body). */
bool upload_expects_continue(const struct upload *u)
{
	return u->u_continue;
}

/* upload_fd() is the staging blob's fd: append the body to it. */
int upload_fd(const struct upload *u)
{
	return u->u_fd;
}

/* upload_path() is the validated path ("dir/name"). */
const char *upload_path(const struct upload *u)
{
	return u->u_path;
}

/* upload_reply() is the answer decided so far (code 0: none yet). */
const struct upload_reply *upload_reply(const struct upload *u)
{
	return &u->u_reply;
}

/*
 * upload_received() notes nbytes more appended to upload_fd(). Returns 0,
 * -EFBIG past max_upload (a chunked body), -EDQUOT when the store's file
 * system has no more than min_free bytes left (checked every FREE_STEP:
 * uploads that each fit may not fit together), or -errno from hashing.
 */
int upload_received(struct upload *u, uint64_t nbytes)
{
	u->u_size += nbytes;
	if (u->u_size > u->u_net->cfg->max_upload)
		return -EFBIG;
	if (u->u_net->cfg->min_free > 0 &&
	    u->u_size - u->u_free_checked >= FREE_STEP) {
		u->u_free_checked = u->u_size;
		if (!room_for(u, 0))
			return -EDQUOT;
	}
	if (u->u_digest != NULL && u->u_size - u->u_hashed >= DIGEST_STEP) {
		int rc = digest_update_fd(u->u_digest, u->u_fd, u->u_size);

		if (rc < 0)
			return rc;
		u->u_hashed = u->u_size;
	}
	metrics_upload_bytes(u->u_prog, u->u_size);
	return 0;
}

/*
 * upload_fail() ends the upload without publishing: code and reason are
 * the answer (code 0 when none can be sent, e.g. the client is gone) and
 * label the metrics' failure reason.
 */
void upload_fail(struct upload *u, int code, const char *reason,
		 const char *label)
{
	reply(u, code, reason, label);
	u->u_reply.close = true;
	store_stage_abort(&u->u_stage);
}

static bool same(const uint8_t *a, const uint8_t *b, size_t len)
{
	return memcmp(a, b, len) == 0;
}

/* verify() compares what the client sent with what landed. */
static const char *verify(const struct digest_sums *sent,
			  const struct digest_sums *got)
{
	if (sent->has_sha256 && !same(sent->sha256, got->sha256, 32))
		return "digest mismatch: sha-256 of the body differs";
	if (sent->has_sha512 && !same(sent->sha512, got->sha512, 64))
		return "digest mismatch: sha-512 of the body differs";
	if (sent->has_md5 && !same(sent->md5, got->md5, 16))
		return "digest mismatch: Content-MD5 of the body differs";
	return NULL;
}

static void landing_fill(struct upload *u, const struct digest_sums *got,
			 struct store_landing *l)
{
	memset(l, 0, sizeof(*l));
	l->origin = STORE_ORIGIN_NET;
	snprintf(l->peer, sizeof(l->peer), "%s", u->u_peer);
	if (got->has_sha256) {
		l->has_sha256 = true;
		memcpy(l->sha256, got->sha256, 32);
	}
	/* The strongest digest the client sent and we verified. */
	if (u->u_cd.has_sha512 || u->u_rd.has_sha512) {
		snprintf(l->digest_alg, sizeof(l->digest_alg), "sha-512");
		memcpy(l->digest, got->sha512, 64);
		l->digest_len = 64;
	} else if (u->u_cd.has_sha256 || u->u_rd.has_sha256) {
		snprintf(l->digest_alg, sizeof(l->digest_alg), "sha-256");
		memcpy(l->digest, got->sha256, 32);
		l->digest_len = 32;
	} else if (u->u_cd.has_md5) {
		snprintf(l->digest_alg, sizeof(l->digest_alg), "md5");
		memcpy(l->digest, got->md5, 16);
		l->digest_len = 16;
	}
}

static unsigned stripe_of(const char *path)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % PUBLISH_STRIPES;
}

/*
 * publish_mount() publishes the staged blob under a unique incoming name,
 * then has a helper process rename it through the mount to u_path (see
 * the top of the file, and mountop.c for why not this thread). *replaced
 * tells whether a file was replaced.
 */
static int publish_mount(struct upload *u, const struct store_publish *tmpl,
			 struct store_attr *attr, bool *replaced)
{
	struct net *n = u->u_net;
	struct store_ctx ctx = { getuid(), getgid(), STORE_ORIGIN_NET };
	/* The incoming publish is reported to the change hook as made
	 * through the mount, so the kernel is not told about it: it cannot
	 * have this fresh name cached, and invalidating it would wait for
	 * the lock on .landing/incoming that every rename in flight from it
	 * holds. A daemon thread waiting there would keep a killed daemon
	 * alive, as a thread calling into the mount would. The file's own
	 * landing record still says NET (landing_fill()). */
	struct store_ctx ictx = { getuid(), getgid(), STORE_ORIGIN_LOCAL };
	struct store_publish pub = *tmpl;
	struct store_attr cur;
	char name[48];
	pthread_mutex_t *m;
	bool dummy, hint;
	int rc, urc;

	snprintf(name, sizeof(name), "%016" PRIx64 ".%" PRIu64,
		 (uint64_t)n->start_ns,
		 __atomic_add_fetch(&n->incoming_seq, 1, __ATOMIC_RELAXED));
	pub.parent = n->incoming_ino;
	pub.name = name;
	pub.path = NULL;
	pub.flags = 0;
	rc = store_publish(n->st, &ictx, &u->u_stage, &pub, attr, &dummy);
	if (rc < 0)
		return rc;

	m = &n->plocks->pl_m[stripe_of(u->u_path)];
	pthread_mutex_lock(m);
	if (u->u_if_match) {
		rc = store_lookup_path(n->st, u->u_path, &cur);
		if (rc == -ENOENT || (rc == 0 && cur.blob != u->u_if_blob))
			rc = -ESTALE;
		if (rc < 0)
			goto err_unlock;
	}
	/* The helper tries a plain rename first when a file is there now
	 * (one round trip to the daemon), RENAME_NOREPLACE otherwise, so
	 * that "created" is exact; always RENAME_NOREPLACE with
	 * If-None-Match: *. */
	hint = !u->u_noreplace &&
	       store_lookup_path(n->st, u->u_path, &cur) == 0;
	rc = mountop_publish(n, name, u->u_path, u->u_noreplace, hint,
			     replaced);
	if (rc < 0)
		goto err_unlock;
	pthread_mutex_unlock(m);
	return 0;

err_unlock:
	pthread_mutex_unlock(m);
	/* Through the mount when possible, so the kernel's cache agrees. */
	if (mountop_unlink(n, name) < 0) {
		urc = store_unlink(n->st, &ctx, n->incoming_ino, name);
		if (urc < 0)
			lf_err(-urc, "%s: removing %s/%s", __func__,
			       INCOMING_DIR, name);
	}
	return rc;
}

/* publish_store() publishes in the store only (no mount, or publish=store):
 * conditionals are the store's, in the same transaction. */
static int publish_store(struct upload *u, const struct store_publish *tmpl,
			 struct store_attr *attr, bool *replaced)
{
	struct net *n = u->u_net;
	struct store_ctx ctx = { getuid(), getgid(), STORE_ORIGIN_NET };
	struct store_publish pub = *tmpl;

	pub.parent = 0;
	pub.path = u->u_path;
	pub.flags = STORE_PUBLISH_MKDIRS;
	if (u->u_noreplace)
		pub.flags |= STORE_PUBLISH_NOREPLACE;
	if (u->u_if_match) {
		pub.flags |= STORE_PUBLISH_IF_BLOB;
		pub.if_blob = u->u_if_blob;
	}
	return store_publish(n->st, &ctx, &u->u_stage, &pub, attr, replaced);
}

static void location(struct upload *u)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = u->u_reply.location;
	size_t k = 0;

	o[k++] = '/';
	for (const unsigned char *p = (const unsigned char *)u->u_path;
	     *p != '\0' && k + 4 < sizeof(u->u_reply.location); p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p) != NULL) {
			o[k++] = (char)*p;
		} else {
			o[k++] = '%';
			o[k++] = hex[*p >> 4];
			o[k++] = hex[*p & 15];
		}
	}
	o[k] = '\0';
}

/*
 * upload_finish() is called once the whole body is in upload_fd(): it
 * verifies the digests sent and publishes. The reply is then 201 (new) or
 * 204 (replaced) with ETag and Location, or the error. Returns 0 when
 * published, else the negative errno (the reply says why). Blocks for the
 * store's commit and, with a mount, for the rename through it.
 */
int upload_finish(struct upload *u)
{
	struct net *n = u->u_net;
	struct digest_sums got = { 0 };
	struct store_publish pub = { 0 };
	struct store_attr attr;
	struct net_status st;
	const char *bad;
	bool replaced = false;
	int rc;

	if (u->u_expected >= 0 && u->u_size != (uint64_t)u->u_expected) {
		upload_fail(u, 400, "the body is shorter than Content-Length",
			    "short");
		return -EPROTO;
	}
	if (u->u_digest != NULL) {
		rc = digest_update_fd(u->u_digest, u->u_fd, u->u_size);
		if (rc < 0) {
			st = status_from_errno(rc);
			upload_fail(u, st.code, st.reason, "error");
			return rc;
		}
		digest_final(u->u_digest, &got);
		bad = verify(&u->u_cd, &got);
		if (bad == NULL)
			bad = verify(&u->u_rd, &got);
		if (bad != NULL) {
			upload_fail(u, 400, bad, "digest");
			return -EBADMSG;
		}
	}
	pub.mode = 0644;
	pub.dir_mode = 0755;
	landing_fill(u, &got, &pub.landing);
	if (n->mountpoint != NULL && !n->cfg->publish_direct &&
	    n->incoming_ino != 0)
		rc = publish_mount(u, &pub, &attr, &replaced);
	else
		rc = publish_store(u, &pub, &attr, &replaced);
	store_stage_abort(&u->u_stage);
	if (rc < 0) {
		if (rc == -EEXIST && u->u_noreplace) {
			upload_fail(u, 412, "precondition failed: the file exists (If-None-Match: *)", "precondition");
		} else if (rc == -ESTALE) {
			upload_fail(u, 412, "precondition failed: the ETag does not match If-Match", "precondition");
		} else {
			st = status_from_errno(rc);
			upload_fail(u, st.code, st.reason, "publish");
		}
		return rc;
	}
	u->u_published = true;
	reply(u, replaced ? 204 : 201, replaced ? "replaced" : "created",
	      NULL);
	net_etag(attr.blob, u->u_reply.etag, sizeof(u->u_reply.etag));
	location(u);
	if (got.has_sha256)
		digest_format(got.sha256, u->u_reply.repr_digest,
			      sizeof(u->u_reply.repr_digest));
	return 0;
}

/*
 * upload_free() ends an upload: an unpublished staging blob is discarded,
 * the upload slot released and the metrics told how it ended. Accepts NULL;
 * clears *up.
 */
void upload_free(struct upload **up)
{
	struct upload *u;

	if (up == NULL || *up == NULL)
		return;
	u = *up;
	store_stage_abort(&u->u_stage);
	digest_free(&u->u_digest);
	if (u->u_prog != NULL)
		metrics_upload_end(u->u_net, &u->u_prog,
				   u->u_published ? u->u_reply.code : 
				   (u->u_reply.code != 0 ? u->u_reply.code : 499),
				   u->u_published ? NULL : u->u_label);
	if (u->u_slot)
		__atomic_sub_fetch(&u->u_net->nuploads, 1, __ATOMIC_SEQ_CST);
	free(u);
	*up = NULL;
}

/*
 * upload_incoming_open() prepares .landing/incoming in the store for
 * publishing through the mount, removing what a crash left in it, and
 * sets up the per-path locks. Returns 0 or -errno. Start-up only.
 */
int upload_incoming_open(struct net *n)
{
	struct store_ctx ctx = { getuid(), getgid(), STORE_ORIGIN_NET };
	struct store_attr a;
	struct store_dirent *ents;
	size_t cnt;
	int rc;

	n->plocks = calloc(1, sizeof(*n->plocks));
	if (n->plocks == NULL)
		return -ENOMEM;
	for (int i = 0; i < PUBLISH_STRIPES; i++)
		pthread_mutex_init(&n->plocks->pl_m[i], NULL);
	if (n->mountpoint == NULL || n->cfg->publish_direct)
		return 0;
	{
		struct statx stx;

		if (statx(AT_FDCWD, n->mountpoint, AT_STATX_DONT_SYNC,
			  STATX_INO, &stx) < 0)
			return -errno;
		n->mnt_dev_major = stx.stx_dev_major;
		n->mnt_dev_minor = stx.stx_dev_minor;
	}
	rc = store_lookup(n->st, STORE_ROOT_INO, LF_PRIVATE_DIR, &a);
	if (rc == -ENOENT)
		rc = store_mkdir(n->st, &ctx, STORE_ROOT_INO, LF_PRIVATE_DIR,
				 0700, &a);
	if (rc == 0) {
		rc = store_lookup(n->st, a.ino, "incoming", &a);
		if (rc == -ENOENT)
			rc = store_mkdir(n->st, &ctx, a.ino, "incoming", 0700,
					 &a);
	}
	/* A read-only store takes no upload (each PUT is refused with the
	 * store's -EROFS), so it needs no incoming directory: publish_store()
	 * answers for it. */
	if (rc == -EROFS)
		return 0;
	if (rc < 0)
		return rc;
	n->incoming_ino = a.ino;
	ents = calloc(64, sizeof(*ents));
	if (ents == NULL)
		return -ENOMEM;
	/* Remove leftovers: uploads published here but never renamed. */
	for (;;) {
		rc = store_readdir(n->st, n->incoming_ino, 0, ents, 64, &cnt);
		if (rc < 0 || cnt == 0)
			break;
		for (size_t i = 0; i < cnt; i++) {
			lf_log(LOG_NOTICE, "removing unfinished upload %s/%s",
			       INCOMING_DIR, ents[i].name);
			rc = store_unlink(n->st, &ctx, n->incoming_ino,
					  ents[i].name);
			if (rc < 0)
				break;
		}
		if (rc < 0)
			break;
	}
	free(ents);
	/* On a read-only store the leftovers stay until a writable start. */
	return rc == -EROFS ? 0 : rc;
}

/* upload_incoming_close() frees the per-path locks. Accepts a net whose
 * upload_incoming_open() failed. */
void upload_incoming_close(struct net *n)
{
	if (n->plocks == NULL)
		return;
	for (int i = 0; i < PUBLISH_STRIPES; i++)
		pthread_mutex_destroy(&n->plocks->pl_m[i]);
	free(n->plocks);
	n->plocks = NULL;
}
