/*
 * store.c - the store's public calls: open and close, the lock, per-thread
 * read connections, argument checks, and the read-only calls.
 *
 * Changing calls check their arguments here, on the caller's thread, then
 * hand an op to the writer (writer.c), whose body is in ops.c. Read-only
 * calls run here on the calling thread's own read connection. Blob files
 * are blob.c's; recovery and fsck are recover.c's.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "landingfs/limits.h"
#include "landingfs/log.h"

/* store_now() returns the wall-clock time in nanoseconds since the epoch. */
int64_t store_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * store_name_check() validates one name: 0, -EINVAL (empty, ".", "..", or
 * containing '/'), or -ENAMETOOLONG (more than STORE_MAX_NAME bytes).
 */
int store_name_check(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, STORE_MAX_NAME + 1);
	if (len == 0)
		return -EINVAL;
	if (len > STORE_MAX_NAME)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len))
		return -EINVAL;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}

/* Validates a '/'-separated path; *ncomp gets its number of components. */
static int path_check(const char *path, size_t *ncomp)
{
	char comp[STORE_MAX_NAME + 2];
	const char *s = path, *e;
	size_t len;
	int rc;

	*ncomp = 0;
	if (!path)
		return -EINVAL;
	if (strnlen(path, LF_MAX_PATH + 1) > LF_MAX_PATH)
		return -ENAMETOOLONG;
	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		e = strchr(s, '/');
		len = e ? (size_t)(e - s) : strlen(s);
		if (len > STORE_MAX_NAME)
			return -ENAMETOOLONG;
		memcpy(comp, s, len);
		comp[len] = '\0';
		rc = store_name_check(comp);
		if (rc < 0)
			return rc;
		(*ncomp)++;
		s += len;
	}
	return 0;
}

/* ---- read connections -------------------------------------------------- */

static void rconn_unlink(struct store *st, struct rconn *r)
{
	if (r->rc_prev)
		r->rc_prev->rc_next = r->rc_next;
	else
		st->st_conns = r->rc_next;
	if (r->rc_next)
		r->rc_next->rc_prev = r->rc_prev;
}

/* Thread exit: close the thread's read connection. */
static void rconn_destroy(void *arg)
{
	struct rconn *r = arg;
	struct store *st = r->rc_st;

	pthread_mutex_lock(&st->st_conns_mu);
	rconn_unlink(st, r);
	pthread_mutex_unlock(&st->st_conns_mu);
	ix_close(r->rc_conn);
	free(r);
}

/*
 * store_rconn() returns the calling thread's read connection, opening it
 * on first use; NULL with *rc set on failure. The connection lives until
 * the thread exits or the store closes.
 */
struct ix_conn *store_rconn(struct store *st, int *rc)
{
	struct rconn *r = pthread_getspecific(st->st_rkey);

	if (r)
		return r->rc_conn;
	r = calloc(1, sizeof(*r));
	if (!r) {
		*rc = -ENOMEM;
		return NULL;
	}
	*rc = ix_open(st->st_index, false, st->st_durable, &r->rc_conn);
	if (*rc < 0) {
		free(r);
		return NULL;
	}
	r->rc_st = st;
	pthread_mutex_lock(&st->st_conns_mu);
	r->rc_next = st->st_conns;
	if (st->st_conns)
		st->st_conns->rc_prev = r;
	st->st_conns = r;
	pthread_mutex_unlock(&st->st_conns_mu);
	pthread_setspecific(st->st_rkey, r);
	return r->rc_conn;
}

static void rconn_close_all(struct store *st)
{
	struct rconn *r, *all;

	if (st->st_rkey_ok) {
		pthread_setspecific(st->st_rkey, NULL);
		pthread_key_delete(st->st_rkey);
		st->st_rkey_ok = false;
	}
	pthread_mutex_lock(&st->st_conns_mu);
	all = st->st_conns;
	st->st_conns = NULL;
	pthread_mutex_unlock(&st->st_conns_mu);
	while ((r = all)) {
		all = r->rc_next;
		ix_close(r->rc_conn);
		free(r);
	}
}

/* ---- open and close ---------------------------------------------------- */

static int lock_store(struct store *st)
{
	int rc;

	st->st_lockfd = openat(st->st_dirfd, "lock",
			       O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->st_lockfd < 0) {
		rc = -errno;
		lf_warn("store: open %s/lock", st->st_dir);
		return rc;
	}
	if (flock(st->st_lockfd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (rc == -EBUSY)
			lf_log(LOG_ERR, "store: %s is in use by another "
			       "process", st->st_dir);
		else
			lf_warn("store: lock %s/lock", st->st_dir);
		close(st->st_lockfd);
		st->st_lockfd = -1;
		return rc;
	}
	return 0;
}

static void store_free(struct store *st)
{
	blob_open_free(st);
	pthread_mutex_destroy(&st->st_conns_mu);
	pthread_mutex_destroy(&st->st_q_mu);
	pthread_mutex_destroy(&st->st_open_mu);
	pthread_cond_destroy(&st->st_q_cv);
	free(st->st_index);
	free(st->st_dir);
	free(st);
}

/*
 * STORE/clean exists while the store is closed after a clean close. Open
 * (with recovery and the lock) removes it, so that after a crash its
 * absence tells recovery to check the sizes of files written in place.
 * clean_marker_take() removes it and returns true when it was missing
 * (the last close was not clean, or the store is new).
 */
static bool clean_marker_take(struct store *st)
{
	bool unclean = faccessat(st->st_dirfd, "clean", F_OK, 0) < 0;

	st->st_marker = true;
	if (!unclean && unlinkat(st->st_dirfd, "clean", 0) < 0) {
		lf_warn("store: unlink %s/clean", st->st_dir);
		return true;
	}
	/* Durable: a power loss must not bring the marker back. */
	if (!unclean && st->st_durable && fsync(st->st_dirfd) < 0)
		lf_warn("store: fsync %s", st->st_dir);
	return unclean;
}

/* clean_marker_put() records a clean close (everything committed). */
static void clean_marker_put(struct store *st)
{
	int fd;

	if (!st->st_marker)
		return;
	fd = openat(st->st_dirfd, "clean", O_WRONLY | O_CREAT | O_CLOEXEC,
		    0600);
	if (fd < 0)
		lf_warn("store: create %s/clean", st->st_dir);
	else
		close(fd);
}

/*
 * store_open() opens the store: see store.h. Start-up only; the calling
 * thread may use the store afterwards like any other.
 */
int store_open(const struct store_opts *opts, struct store **out)
{
	char path[PATH_MAX];
	struct store *st;
	uint64_t count;
	int rc;

	if (!opts || !opts->dir || !*opts->dir)
		return -EINVAL;
	rc = fault_env();
	if (rc < 0)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->st_dirfd = st->st_blobfd = st->st_stagefd = st->st_lockfd = -1;
	st->st_durable = opts->durable;
	st->st_readonly = opts->readonly;
	st->st_group_max = opts->group_max ? opts->group_max
					    : LF_STORE_GROUP_MAX;
	atomic_init(&st->st_next_blob, 1);
	atomic_init(&st->st_next_stage, 1);
	pthread_mutex_init(&st->st_conns_mu, NULL);
	pthread_mutex_init(&st->st_q_mu, NULL);
	pthread_mutex_init(&st->st_open_mu, NULL);
	pthread_cond_init(&st->st_q_cv, NULL);
	st->st_dir = strdup(opts->dir);
	if (!st->st_dir) {
		rc = -ENOMEM;
		goto err_free;
	}
	if (mkdir(st->st_dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		lf_warn("store: mkdir %s", st->st_dir);
		goto err_free;
	}
	if (!realpath(st->st_dir, path)) {
		rc = -errno;
		lf_warn("store: realpath %s", st->st_dir);
		goto err_free;
	}
	if (strlen(path) + sizeof("/index.db") > sizeof(path)) {
		rc = -ENAMETOOLONG;
		goto err_free;
	}
	strcat(path, "/index.db");
	st->st_index = strdup(path);
	if (!st->st_index) {
		rc = -ENOMEM;
		goto err_free;
	}
	st->st_dirfd = open(st->st_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->st_dirfd < 0) {
		rc = -errno;
		lf_warn("store: open %s", st->st_dir);
		goto err_free;
	}
	if (!opts->no_lock) {
		rc = lock_store(st);
		if (rc < 0)
			goto err_close_dir;
	}
	rc = blob_dirs_open(st);
	if (rc < 0)
		goto err_unlock;
	rc = ix_open(st->st_index, true, st->st_durable, &st->st_wconn);
	if (rc < 0)
		goto err_close_blobs;
	rc = ix_schema(st->st_wconn, store_now(), (uint32_t)getuid(),
		       (uint32_t)getgid());
	if (rc < 0)
		goto err_close_index;
	rc = ix_max_ino(st->st_wconn, &st->st_next_ino);
	if (rc == 0)
		rc = ix_count(st->st_wconn, &count);
	if (rc < 0)
		goto err_close_index;
	st->st_next_ino++;
	atomic_store(&st->st_ninodes, (int64_t)count);
	rc = -pthread_key_create(&st->st_rkey, rconn_destroy);
	if (rc < 0)
		goto err_close_index;
	st->st_rkey_ok = true;
	if (!opts->no_recover && !opts->readonly) {
		rc = store_recover(st, !opts->no_lock && clean_marker_take(st));
		if (rc < 0)
			goto err_close_conns;
	} else {
		uint64_t *ids;
		size_t n;

		/* Still start ids above every id the index knows. */
		rc = ix_blob_ids(st->st_wconn, &ids, &n);
		if (rc < 0)
			goto err_close_conns;
		if (n)
			atomic_store(&st->st_next_blob, ids[n - 1] + 1);
		free(ids);
	}
	if (st->st_marker)
		writer_reserve_make(st);
	rc = writer_start(st);
	if (rc < 0)
		goto err_close_conns;
	*out = st;
	return 0;

err_close_conns:
	rconn_close_all(st);
err_close_index:
	ix_close(st->st_wconn);
err_close_blobs:
	blob_dirs_close(st);
err_unlock:
	if (st->st_lockfd >= 0)
		close(st->st_lockfd);
err_close_dir:
	close(st->st_dirfd);
err_free:
	store_free(st);
	return rc;
}

/* store_close(): see store.h. */
void store_close(struct store **stp)
{
	struct store *st;

	if (!stp || !*stp)
		return;
	st = *stp;
	*stp = NULL;
	writer_stop(st);
	rconn_close_all(st);
	ix_close(st->st_wconn);
	clean_marker_put(st);
	blob_dirs_close(st);
	if (st->st_lockfd >= 0)
		close(st->st_lockfd);
	close(st->st_dirfd);
	store_free(st);
}

/* store_dir() returns the directory given to store_open(). */
const char *store_dir(const struct store *st)
{
	return st->st_dir;
}

/* store_set_change_hook(): see store.h. Call before changes start. */
void store_set_change_hook(struct store *st, store_change_fn fn, void *arg)
{
	pthread_mutex_lock(&st->st_q_mu);
	st->st_hook = fn;
	st->st_hook_arg = arg;
	pthread_mutex_unlock(&st->st_q_mu);
}

/* ---- read-only calls ---------------------------------------------------- */

#define RCONN(st, c, rc)                                                  \
	do {                                                              \
		(c) = store_rconn((st), &(rc));                           \
		if (!(c))                                                 \
			return (rc);                                      \
	} while (0)

/* store_lookup() finds name in directory parent: 0, -ENOENT, -ENOTDIR,
 * -EINVAL or -ENAMETOOLONG for a bad name. */
int store_lookup(struct store *st, uint64_t parent, const char *name,
		 struct store_attr *out)
{
	struct ix_conn *c;
	struct store_attr a;
	int rc = store_name_check(name);

	if (rc < 0)
		return rc;
	RCONN(st, c, rc);
	rc = ix_lookup(c, parent, name, out);
	if (rc == -ENOENT) {
		/* Tell a missing name from a missing or non-directory
		 * parent. */
		int prc = ix_get(c, parent, &a);

		if (prc < 0)
			return prc;
		if (!S_ISDIR(a.mode))
			return -ENOTDIR;
	}
	return rc;
}

/* store_lookup_path(): see store.h. */
int store_lookup_path(struct store *st, const char *path,
		      struct store_attr *out)
{
	char comp[STORE_MAX_NAME + 1];
	struct store_attr a;
	struct ix_conn *c;
	const char *s = path, *e;
	size_t n, len;
	int rc = 0;

	rc = path_check(path, &n);
	if (rc < 0)
		return rc;
	RCONN(st, c, rc);
	rc = ix_get(c, STORE_ROOT_INO, &a);
	while (rc == 0) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		if (!S_ISDIR(a.mode))
			return -ENOTDIR;
		e = strchr(s, '/');
		len = e ? (size_t)(e - s) : strlen(s);
		memcpy(comp, s, len);
		comp[len] = '\0';
		s += len;
		rc = ix_lookup(c, a.ino, comp, &a);
	}
	if (rc == 0)
		*out = a;
	return rc;
}

/* store_getattr() reads the attributes of ino (-ENOENT). */
int store_getattr(struct store *st, uint64_t ino, struct store_attr *out)
{
	struct ix_conn *c;
	int rc = 0;

	RCONN(st, c, rc);
	return ix_get(c, ino, out);
}

/* store_readlink(): see store.h. */
int store_readlink(struct store *st, uint64_t ino, char *buf, size_t size)
{
	struct ix_conn *c;
	int rc = 0;

	RCONN(st, c, rc);
	return ix_target(c, ino, buf, size);
}

/* store_readdir(): see store.h. -ENOTDIR, -ENOENT. */
int store_readdir(struct store *st, uint64_t dir, uint64_t cursor,
		  struct store_dirent *ents, size_t max, size_t *n)
{
	struct store_attr a;
	struct ix_conn *c;
	int rc = 0;

	*n = 0;
	RCONN(st, c, rc);
	rc = ix_get(c, dir, &a);
	if (rc < 0)
		return rc;
	if (!S_ISDIR(a.mode))
		return -ENOTDIR;
	if (max == 0)
		return 0;
	return ix_readdir(c, dir, cursor, ents, max, n);
}

/* store_landing_get() reads the landing metadata of ino. */
int store_landing_get(struct store *st, uint64_t ino,
		      struct store_landing *out)
{
	struct ix_conn *c;
	int rc = 0;

	RCONN(st, c, rc);
	return ix_landing(c, ino, out);
}

static int xattr_name_check(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, LF_MAX_XATTR_NAME + 1);
	if (len == 0)
		return -EINVAL;
	if (len > LF_MAX_XATTR_NAME)
		return -ERANGE;
	return 0;
}

/* store_xattr_get(): see store.h. -ENOENT for a missing inode. */
int store_xattr_get(struct store *st, uint64_t ino, const char *name,
		    void *buf, size_t size, size_t *len)
{
	struct ix_conn *c;
	int rc = xattr_name_check(name);

	if (rc < 0)
		return rc;
	RCONN(st, c, rc);
	rc = ix_xattr_get(c, ino, name, buf, size, len);
	if (rc == -ENODATA && ix_get(c, ino, NULL) == -ENOENT)
		rc = -ENOENT;
	return rc;
}

/* store_xattr_list(): see store.h. */
int store_xattr_list(struct store *st, uint64_t ino, char *buf, size_t size,
		     size_t *len)
{
	struct ix_conn *c;
	int rc = 0;

	RCONN(st, c, rc);
	rc = ix_get(c, ino, NULL);
	if (rc < 0)
		return rc;
	return ix_xattr_list(c, ino, buf, size, len);
}

/* store_statfs(): see store.h. Any thread; no SQL. */
int store_statfs(struct store *st, struct statvfs *out)
{
	int64_t inodes = atomic_load(&st->st_ninodes);

	if (fstatvfs(st->st_dirfd, out) < 0)
		return -errno;
	/* Every file costs one backing inode (its blob), so the backing
	 * filesystem's free inodes bound ours. The count is kept by the
	 * writer: no table scan per statfs. */
	out->f_files = (uint64_t)(inodes > 0 ? inodes : 0) + out->f_ffree;
	out->f_namemax = STORE_MAX_NAME;
	return 0;
}

/* store_stats(): see store.h. */
int store_stats(struct store *st, struct store_stats *out)
{
	struct ix_conn *c;
	int rc = 0;

	RCONN(st, c, rc);
	return ix_stats(c, out);
}

/* ---- changing calls ----------------------------------------------------- */

static int queue(struct store *st, const struct store_ctx *ctx,
		 int (*fn)(struct store *, struct store_op *),
		 struct op_req *r)
{
	struct store_op op;

	if (st->st_readonly)
		return -EROFS;
	memset(&op, 0, sizeof(op));
	op.op_run = fn;
	op.op_req = r;
	/* Calls that can free space may use the reserve on a full disk. */
	op.op_frees = fn == op_unlink || fn == op_rmdir || fn == op_rename ||
		      fn == op_reap || fn == op_xattr_remove ||
		      (fn == op_setattr && (r->mask & STORE_SET_SIZE));
	op.op_origin = ctx ? ctx->origin : STORE_ORIGIN_LOCAL;
	if (ctx) {
		r->uid = ctx->uid;
		r->gid = ctx->gid;
	}
	return writer_run(st, &op);
}

/* store_setattr(): see store.h. Writer; returns after the commit. */
int store_setattr(struct store *st, const struct store_ctx *ctx, uint64_t ino,
		  const struct store_attr *in, unsigned mask,
		  struct store_attr *out)
{
	struct op_req r = {.ino = ino, .in = in, .mask = mask, .out = out};

	if (mask & ~0x1ffu)
		return -EINVAL;
	if (!in && mask)
		return -EINVAL;
	return queue(st, ctx, op_setattr, &r);
}

/* store_mkdir(): -EEXIST, -ENOENT, -ENOTDIR and name errors. */
int store_mkdir(struct store *st, const struct store_ctx *ctx, uint64_t parent,
		const char *name, uint32_t mode, struct store_attr *out)
{
	struct op_req r = {.parent = parent, .name = name, .mode = mode,
			   .out = out};
	int rc = store_name_check(name);

	return rc < 0 ? rc : queue(st, ctx, op_mkdir, &r);
}

/* store_rmdir(): see store.h. */
int store_rmdir(struct store *st, const struct store_ctx *ctx, uint64_t parent,
		const char *name)
{
	struct op_req r = {.parent = parent, .name = name};
	int rc = store_name_check(name);

	return rc < 0 ? rc : queue(st, ctx, op_rmdir, &r);
}

/* store_create(): see store.h. The empty blob is made first and removed
 * again if the op fails. */
int store_create(struct store *st, const struct store_ctx *ctx, uint64_t parent,
		 const char *name, uint32_t mode, struct store_attr *out)
{
	struct op_req r = {.parent = parent, .name = name, .mode = mode,
			   .out = out};
	int rc = store_name_check(name);

	if (rc < 0)
		return rc;
	if (st->st_readonly)
		return -EROFS;
	rc = blob_create_empty(st, &r.blob);
	if (rc < 0)
		return rc;
	rc = queue(st, ctx, op_create, &r);
	if (rc < 0)
		blob_unlink(st, r.blob);
	blob_pending_del(st, r.blob);
	return rc;
}

/* store_symlink(): target is 1 to LF_MAX_SYMLINK bytes. */
int store_symlink(struct store *st, const struct store_ctx *ctx,
		  uint64_t parent, const char *name, const char *target,
		  struct store_attr *out)
{
	struct op_req r = {.parent = parent, .name = name, .target = target,
			   .out = out};
	int rc = store_name_check(name);

	if (rc < 0)
		return rc;
	if (!target || !*target)
		return -EINVAL;
	if (strnlen(target, LF_MAX_SYMLINK + 1) > LF_MAX_SYMLINK)
		return -ENAMETOOLONG;
	return queue(st, ctx, op_symlink, &r);
}

/* store_unlink(): see store.h. */
int store_unlink(struct store *st, const struct store_ctx *ctx, uint64_t parent,
		 const char *name)
{
	struct op_req r = {.parent = parent, .name = name};
	int rc = store_name_check(name);

	return rc < 0 ? rc : queue(st, ctx, op_unlink, &r);
}

/* store_rename(): see store.h. Unknown flags, or both, are -EINVAL. */
int store_rename(struct store *st, const struct store_ctx *ctx,
		 uint64_t parent, const char *name, uint64_t newparent,
		 const char *newname, unsigned flags)
{
	struct op_req r = {.parent = parent, .name = name,
			   .newparent = newparent, .newname = newname,
			   .flags = flags};
	int rc;

	if (flags & ~(STORE_RENAME_NOREPLACE | STORE_RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & STORE_RENAME_NOREPLACE) && (flags & STORE_RENAME_EXCHANGE))
		return -EINVAL;
	rc = store_name_check(name);
	if (rc == 0)
		rc = store_name_check(newname);
	return rc < 0 ? rc : queue(st, ctx, op_rename, &r);
}

/* Frees the orphan ino whose last handle was closed. A failure leaves it
 * for recovery at the next open. */
static void reap(struct store *st, uint64_t ino)
{
	struct op_req r = {.ino = ino};
	int rc = queue(st, NULL, op_reap, &r);

	if (rc < 0)
		lf_err(-rc, "store: free unlinked inode %llu",
		       (unsigned long long)ino);
}

/* store_blob_open(): see store.h. */
int store_blob_open(struct store *st, uint64_t ino, int flags, int *fd)
{
	struct store_attr a;
	struct ix_conn *c;
	bool orphan;
	int rc;

	if ((flags & O_ACCMODE) != O_RDONLY && st->st_readonly)
		return -EROFS;
	/* Count the handle before reading the row, so that an unlink
	 * committing meanwhile either sees the count or came before. */
	rc = blob_open_ref(st, ino);
	if (rc < 0)
		return rc;
	c = store_rconn(st, &rc);
	if (c)
		rc = ix_get(c, ino, &a);
	if (rc == 0 && S_ISDIR(a.mode))
		rc = -EISDIR;
	else if (rc == 0 && !S_ISREG(a.mode))
		rc = -EINVAL;
	if (rc == 0)
		rc = blob_open_fd(st, a.blob, flags, fd);
	if (rc < 0 && blob_open_unref(st, ino, &orphan) == 0 && orphan)
		reap(st, ino);
	return rc;
}

/* store_blob_close(): see store.h. The last close of an orphan frees it
 * through the writer, so this may wait for a commit. */
void store_blob_close(struct store *st, uint64_t ino, int fd)
{
	bool orphan;

	if (fd >= 0)
		close(fd);
	if (blob_open_unref(st, ino, &orphan) == 0 && orphan)
		reap(st, ino);
}

/* store_note_write(): see store.h. */
int store_note_write(struct store *st, uint64_t ino, uint64_t size,
		     int64_t mtime_ns)
{
	struct op_req r = {.ino = ino, .size = size,
			   .mtime_ns = mtime_ns ? mtime_ns : store_now()};

	return queue(st, NULL, op_note_write, &r);
}

/* store_blob_sync(): fsync or fdatasync of an open blob. A fault injection
 * point (fsync). */
int store_blob_sync(struct store *st, int fd, bool datasync)
{
	int rc;

	(void)st;
	rc = fault_check(STORE_FAULT_FSYNC);
	if (rc < 0)
		return rc;
	if ((datasync ? fdatasync(fd) : fsync(fd)) < 0)
		return -errno;
	return 0;
}

/* store_publish(): see store.h. The blob is linked into place on the
 * caller's thread (so durable syncs run in parallel), then bound by the
 * writer; if that fails, the link is undone. */
int store_publish(struct store *st, const struct store_ctx *ctx,
		  struct store_stage **sgp, const struct store_publish *pub,
		  struct store_attr *out, bool *replaced)
{
	struct op_req r = {.pub = pub, .out = out, .replaced = replaced};
	struct store_stage *sg;
	struct stat sb;
	size_t ncomp;
	int rc;

	if (!sgp || !*sgp)
		return -EINVAL;
	sg = *sgp;
	if (replaced)
		*replaced = false;
	if (!pub) {
		rc = -EINVAL;
		goto out_abort;
	}
	if (pub->flags & ~(STORE_PUBLISH_MKDIRS | STORE_PUBLISH_NOREPLACE |
			   STORE_PUBLISH_IF_BLOB)) {
		rc = -EINVAL;
		goto out_abort;
	}
	if (pub->parent) {
		rc = store_name_check(pub->name);
	} else {
		rc = path_check(pub->path, &ncomp);
		if (rc == 0 && ncomp == 0)
			rc = -EINVAL;
	}
	if (rc == 0 && pub->landing.digest_len > STORE_MAX_DIGEST)
		rc = -EINVAL;
	if (rc == 0 && st->st_readonly)
		rc = -EROFS;
	if (rc < 0)
		goto out_abort;
	if (fstat(sg->sg_fd, &sb) < 0) {
		rc = -errno;
		goto out_abort;
	}
	r.size = (uint64_t)sb.st_size;
	rc = blob_link_stage(st, sg, &r.blob);
	if (rc < 0)
		goto out_abort;
	rc = queue(st, ctx, op_publish, &r);
	if (rc < 0)
		blob_unlink(st, r.blob);
	blob_pending_del(st, r.blob);

out_abort:
	store_stage_abort(sgp);
	return rc;
}

/* store_set_sha256(): see store.h. */
int store_set_sha256(struct store *st, uint64_t ino, uint64_t blob,
		     const uint8_t sha256[STORE_SHA256_LEN])
{
	struct op_req r = {.ino = ino, .blob = blob, .sha256 = sha256};

	if (!sha256)
		return -EINVAL;
	return queue(st, NULL, op_set_sha256, &r);
}

/* store_xattr_set(): -EEXIST (CREATE), -ENODATA (REPLACE), -E2BIG for a
 * value over LF_MAX_XATTR_VALUE, -ERANGE for a name over
 * LF_MAX_XATTR_NAME. */
int store_xattr_set(struct store *st, const struct store_ctx *ctx,
		    uint64_t ino, const char *name, const void *value,
		    size_t size, int flags)
{
	struct op_req r = {.ino = ino, .name = name, .value = value,
			   .value_size = size, .flags = (unsigned)flags};
	int rc = xattr_name_check(name);

	if (rc < 0)
		return rc;
	if (flags & ~(STORE_XATTR_CREATE | STORE_XATTR_REPLACE) ||
	    flags == (STORE_XATTR_CREATE | STORE_XATTR_REPLACE))
		return -EINVAL;
	if (size > LF_MAX_XATTR_VALUE)
		return -E2BIG;
	if (size && !value)
		return -EINVAL;
	return queue(st, ctx, op_xattr_set, &r);
}

/* store_xattr_remove(): -ENODATA when not set. */
int store_xattr_remove(struct store *st, const struct store_ctx *ctx,
		       uint64_t ino, const char *name)
{
	struct op_req r = {.ino = ino, .name = name};
	int rc = xattr_name_check(name);

	return rc < 0 ? rc : queue(st, ctx, op_xattr_remove, &r);
}

/* store_fsck(): see store.h. Runs alone on the writer thread, so that no
 * change interleaves with the check. */
int store_fsck(struct store *st, bool repair,
	       void (*report)(void *arg, const char *line), void *arg,
	       struct store_fsck_result *res)
{
	struct op_req r = {.repair = repair, .report = report,
			   .report_arg = arg, .fsck = res};
	struct store_op op;

	if (!res)
		return -EINVAL;
	if (repair && st->st_readonly)
		return -EROFS;
	/* Without the lock another process may be publishing: its linked,
	 * uncommitted blobs would look like orphans. */
	if (repair && st->st_lockfd < 0)
		return -EBUSY;
	memset(res, 0, sizeof(*res));
	memset(&op, 0, sizeof(op));
	op.op_run = op_fsck;
	op.op_req = &r;
	op.op_solo = true;
	op.op_origin = STORE_ORIGIN_LOCAL;
	return writer_run(st, &op);
}
