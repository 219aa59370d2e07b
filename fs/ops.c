/*
 * ops.c - the landing directory's FUSE low-level operations: the
 * fuse_lowlevel_ops table, every handler but the xattr ones (xattr.c), and
 * the session's life (fs_new() ... fs_free()).
 *
 * Each handler maps one request onto store calls and replies exactly once,
 * on every path. Inode numbers are the store's (inode.c explains the lookup
 * counts). Data moves without a user-space copy where libfuse allows it:
 * read replies are fd-backed buffers that libfuse splices from the blob
 * into /dev/fuse; write_buf gets pipe-backed buffers and splices them into
 * the blob. Where the kernel offers FUSE passthrough (passthrough.c), open
 * files are handed to the kernel as backing files and their reads and
 * writes never reach the daemon at all. Nothing here knows the network
 * side.
 */
#include "fs_int.h"
#include "passthrough.h"

#include "landingfs/limits.h"
#include "landingfs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* st_blksize: what cp, cat and stdio size their buffers by. Half a MiB
 * keeps each write(2) within one FUSE write of LF_FUSE_MAX_WRITE. */
#define FS_BLKSIZE (512 * 1024)
/* Directory entries fetched from the store per query. */
#define FS_DIR_BATCH 128

/*
 * An open directory: a batch of entries fetched from the store, served to
 * consecutive readdir calls. Offsets given to the kernel: 1 after ".", 2
 * after "..", and the store's cursor + 2 after an entry (cursors are > 0,
 * so they never collide with the first two).
 */
struct fs_dir {
	pthread_mutex_t d_lock;       /* everything below; before it_lock */
	uint64_t d_ino;
	uint64_t d_parent;            /* for ".." */
	struct store_dirent *d_ents;  /* FS_DIR_BATCH entries */
	size_t d_n;                   /* entries fetched */
	size_t d_pos;                 /* next entry to serve */
	uint64_t d_last;              /* cursor just before d_ents[d_pos] */
	bool d_eof;                   /* the last fetch reached the end */
	bool d_valid;                 /* a batch is loaded */
};

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/*
 * fs_ctx() fills ctx with the caller's uid and gid and the local origin.
 * Any FUSE worker.
 */
void fs_ctx(fuse_req_t req, struct store_ctx *ctx)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);

	ctx->uid = c->uid;
	ctx->gid = c->gid;
	ctx->origin = STORE_ORIGIN_LOCAL;
}

static void ns_to_ts(int64_t ns, struct timespec *ts)
{
	int64_t s = ns / 1000000000;
	int64_t r = ns % 1000000000;

	if (r < 0) {
		r += 1000000000;
		s--;
	}
	ts->tv_sec = (time_t)s;
	ts->tv_nsec = (long)r;
}

static int64_t ts_to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static void attr_to_stat(const struct store_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_blksize = FS_BLKSIZE;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	ns_to_ts(a->atime_ns, &st->st_atim);
	ns_to_ts(a->mtime_ns, &st->st_mtim);
	ns_to_ts(a->ctime_ns, &st->st_ctim);
}

static void fill_entry(struct fs *fs, const struct store_attr *a,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = 0;
	attr_to_stat(a, &e->attr);
	fs_inode_fix_attr(&fs->itable, &e->attr);
	e->attr_timeout = fs->opts.attr_timeout;
	e->entry_timeout = fs->opts.entry_timeout;
}

/* Replies with an entry, counting the lookup first (inode.c, note 2). */
static void reply_entry(fuse_req_t req, struct fs *fs,
			const struct store_attr *a)
{
	struct fuse_entry_param e;
	int rc;

	fill_entry(fs, a, &e);
	rc = fs_inode_ref(&fs->itable, a->ino, 1);
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	if (fuse_reply_entry(req, &e) != 0)
		fs_inode_forget(&fs->itable, a->ino, 1); /* never arrived */
}

static bool is_alias(const char *name)
{
	return strncmp(name, LF_INCOMING_ALIAS, LF_INCOMING_ALIAS_LEN) == 0;
}

/* check_name() vets the name of a new entry: not too long, and not an
 * incoming alias (reserved.h), which no entry may carry. */
static int check_name(const char *name)
{
	if (strlen(name) > STORE_MAX_NAME)
		return -ENAMETOOLONG;
	return is_alias(name) ? -EPERM : 0;
}

/*
 * resolve_alias() maps an incoming alias (reserved.h) to its entry in
 * LF_INCOMING_DIR: *parent and *name are replaced when name is one and the
 * request comes from the daemon's own user. Returns 0 (mapped, or not an
 * alias) or -ENOENT (an alias anyone else asked for, or no incoming
 * directory).
 */
static int resolve_alias(fuse_req_t req, struct fs *fs, uint64_t *parent,
			 const char **name)
{
	uint64_t dir;
	struct store_attr a;
	int rc;

	if (!is_alias(*name))
		return 0;
	if (fuse_req_ctx(req)->uid != fs->self_uid)
		return -ENOENT;
	dir = atomic_load_explicit(&fs->incoming, memory_order_relaxed);
	if (dir == 0) {
		rc = store_lookup_path(fs->st, LF_INCOMING_DIR, &a);
		if (rc < 0)
			return rc;
		dir = a.ino;
		atomic_store_explicit(&fs->incoming, dir,
				      memory_order_relaxed);
	}
	*parent = dir;
	*name += LF_INCOMING_ALIAS_LEN;
	return 0;
}

/*
 * Applies the creator's umask (the kernel leaves it to us under
 * FUSE_CAP_DONT_MASK and sends it along; applying it twice is harmless when
 * the kernel already did) and the set-group-ID directory rule: in a
 * directory with S_ISGID, new entries take its group, new directories its
 * S_ISGID bit.
 */
static int new_entry_ctx(fuse_req_t req, struct fs *fs, uint64_t parent,
			 mode_t *mode, struct store_ctx *ctx)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct store_attr pa;
	int rc;

	fs_ctx(req, ctx);
	*mode &= ~c->umask;
	rc = store_getattr(fs->st, parent, &pa);
	if (rc < 0)
		return rc;
	if (!S_ISDIR(pa.mode))
		return -ENOTDIR;
	if (pa.mode & S_ISGID) {
		ctx->gid = pa.gid;
		if (S_ISDIR(*mode))
			*mode |= S_ISGID;
	}
	return 0;
}

/*
 * Set-user-ID and set-group-ID bits. Under FUSE_HANDLE_KILLPRIV_V2
 * (negotiated with passthrough, see passthrough.c) the kernel leaves their
 * clearing to the daemon, and passthrough writes never reach the daemon.
 * So landingfs clears them when a regular file is opened for writing or
 * truncated (also for callers with CAP_FSETID, whom Linux exempts: stricter,
 * never looser), and on chown, as Linux does. Without killpriv the kernel
 * clears them itself with a setattr, as usual.
 */
static bool has_privs(uint32_t mode)
{
	return S_ISREG(mode) &&
	       ((mode & S_ISUID) ||
		(mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP));
}

static uint32_t without_privs(uint32_t mode)
{
	mode &= 07777 & ~S_ISUID;
	if (mode & S_IXGRP)
		mode &= ~S_ISGID;
	return mode;
}

/* Clears the bits of ino before a handle that may write is opened; the
 * notifier refreshes the kernel's cached mode. */
static int kill_privs(fuse_req_t req, struct fs *fs, uint64_t ino)
{
	struct store_attr a, out;
	struct store_change chg;
	struct store_ctx ctx;
	int rc;

	rc = store_getattr(fs->st, ino, &a);
	if (rc < 0 || !has_privs(a.mode))
		return rc;
	a.mode = without_privs(a.mode);
	fs_ctx(req, &ctx);
	rc = store_setattr(fs->st, &ctx, ino, &a, STORE_SET_MODE, &out);
	if (rc < 0)
		return rc;
	memset(&chg, 0, sizeof(chg));
	chg.kind = STORE_CHANGE_ATTR;
	chg.origin = STORE_ORIGIN_NONE; /* not what the kernel asked for */
	chg.ino = ino;
	fs_invalidate(fs, &chg, 1);
	return 0;
}

/* ---- session ---------------------------------------------------------- */

static void fs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;
	const unsigned splice = FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
				FUSE_CAP_SPLICE_MOVE;

	conn->want |= conn->capable & splice;
	if (conn->capable & FUSE_CAP_DONT_MASK)
		conn->want |= FUSE_CAP_DONT_MASK;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	/* ls -l wants every batch with attributes, not only the first. */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/* The kernel clears set-user-ID bits itself (by setattr). */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	/* Sizes and mtimes are the daemon's, not a write-back cache's. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* libfuse 3.14 splices only if its pipe of max_write + one page fits
	 * fs.pipe-max-size; limits.h keeps it so. */
	conn->max_write = LF_FUSE_MAX_WRITE;
	conn->time_gran = 1;
	if (fs->opts.passthrough)
		passthrough_on_init();
	if ((conn->want & splice) != splice)
		lf_log(LOG_NOTICE, "kernel offers no full splice support "
				   "(capable 0x%x); some data is copied",
		       conn->capable);
	lf_debug("%s: proto %u.%u want 0x%x capable 0x%x max_write %u "
		 "passthrough %d",
		 __func__, conn->proto_major, conn->proto_minor, conn->want,
		 conn->capable, conn->max_write, (int)passthrough_active());
}

/* ---- names and attributes --------------------------------------------- */

static void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	uint64_t dir = parent;
	struct store_attr a;
	int rc;

	rc = strlen(name) > STORE_MAX_NAME ? -ENAMETOOLONG : 0;
	if (rc == 0)
		rc = resolve_alias(req, fs, &dir, &name);
	if (rc == 0)
		rc = store_lookup(fs->st, dir, name, &a);
	if (rc == -ENOENT && fs->opts.negative_timeout > 0) {
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->opts.negative_timeout;
		return (void)fuse_reply_entry(req, &e);
	}
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	reply_entry(req, fs, &a);
}

static void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fs_inode_forget(&fs_of(req)->itable, ino, nlookup);
	fuse_reply_none(req);
}

static void fs_op_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	struct fs *fs = fs_of(req);

	for (size_t i = 0; i < count; i++)
		fs_inode_forget(&fs->itable, forgets[i].ino,
				forgets[i].nlookup);
	fuse_reply_none(req);
}

static void fs_op_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct store_attr a;
	struct stat st;
	int rc;

	(void)fi;
	rc = store_getattr(fs->st, ino, &a);
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	attr_to_stat(&a, &st);
	fs_inode_fix_attr(&fs->itable, &st);
	fuse_reply_attr(req, &st, fs->opts.attr_timeout);
}

static void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct store_attr in, out;
	struct store_ctx ctx;
	struct stat st;
	unsigned mask = 0;
	int rc;

	(void)fi;
	memset(&in, 0, sizeof(in));
	if (to_set & FUSE_SET_ATTR_MODE) {
		mask |= STORE_SET_MODE;
		in.mode = attr->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		mask |= STORE_SET_UID;
		in.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		mask |= STORE_SET_GID;
		in.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (attr->st_size < 0)
			return (void)fuse_reply_err(req, EINVAL);
		mask |= STORE_SET_SIZE;
		in.size = (uint64_t)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		mask |= STORE_SET_ATIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		mask |= STORE_SET_ATIME;
		in.atime_ns = ts_to_ns(&attr->st_atim);
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		mask |= STORE_SET_MTIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		mask |= STORE_SET_MTIME;
		in.mtime_ns = ts_to_ns(&attr->st_mtim);
	}
	if (to_set & FUSE_SET_ATTR_CTIME) {
		mask |= STORE_SET_CTIME;
		in.ctime_ns = ts_to_ns(&attr->st_ctim);
	}
	if (passthrough_killpriv() &&
	    (to_set & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID |
		       FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_UID |
		       FUSE_SET_ATTR_GID))) {
		struct store_attr cur;

		rc = store_getattr(fs->st, ino, &cur);
		if (rc < 0)
			return (void)fuse_reply_err(req, -rc);
		if (mask & STORE_SET_MODE)
			cur.mode = (cur.mode & S_IFMT) | in.mode;
		if (has_privs(cur.mode)) {
			mask |= STORE_SET_MODE;
			in.mode = without_privs(cur.mode);
		}
	}
	fs_ctx(req, &ctx);
	rc = store_setattr(fs->st, &ctx, ino, &in, mask, &out);
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	if (S_ISREG(out.mode) &&
	    (mask & (STORE_SET_ATIME | STORE_SET_MTIME | STORE_SET_ATIME_NOW |
		     STORE_SET_MTIME_NOW))) {
		struct timespec ts[2];

		ns_to_ts(out.atime_ns, &ts[0]);
		ns_to_ts(out.mtime_ns, &ts[1]);
		fs_inode_futimens(&fs->itable, ino, ts);
	}
	attr_to_stat(&out, &st);
	fs_inode_fix_attr(&fs->itable, &st);
	fuse_reply_attr(req, &st, fs->opts.attr_timeout);
}

static void fs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[LF_MAX_SYMLINK + 1];
	int rc;

	rc = store_readlink(fs_of(req)->st, ino, buf, sizeof(buf));
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	fuse_reply_readlink(req, buf);
}

static void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode)
{
	struct fs *fs = fs_of(req);
	struct store_attr a;
	struct store_ctx ctx;
	int rc;

	mode = (mode & 07777) | S_IFDIR;
	rc = check_name(name);
	if (rc == 0)
		rc = new_entry_ctx(req, fs, parent, &mode, &ctx);
	if (rc == 0)
		rc = store_mkdir(fs->st, &ctx, parent, name, mode & 07777, &a);
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	reply_entry(req, fs, &a);
}

/* mknod makes regular files only (what the create path makes). */
static void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, dev_t rdev)
{
	struct fs *fs = fs_of(req);
	struct store_attr a;
	struct store_ctx ctx;
	int rc;

	(void)rdev;
	if (!S_ISREG(mode))
		return (void)fuse_reply_err(req, EPERM);
	rc = check_name(name);
	if (rc == 0)
		rc = new_entry_ctx(req, fs, parent, &mode, &ctx);
	if (rc == 0)
		rc = store_create(fs->st, &ctx, parent, name, mode & 07777, &a);
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	reply_entry(req, fs, &a);
}

static void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			  const char *name)
{
	struct fs *fs = fs_of(req);
	struct store_attr a;
	struct store_ctx ctx;
	mode_t mode = S_IFLNK | 0777;
	int rc;

	rc = check_name(name);
	if (rc == 0 && strlen(link) > LF_MAX_SYMLINK)
		rc = -ENAMETOOLONG;
	if (rc == 0)
		rc = new_entry_ctx(req, fs, parent, &mode, &ctx);
	if (rc == 0)
		rc = store_symlink(fs->st, &ctx, parent, name, link, &a);
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	reply_entry(req, fs, &a);
}

static void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct store_ctx ctx;
	int rc;

	fs_ctx(req, &ctx);
	rc = store_unlink(fs_of(req)->st, &ctx, parent, name);
	fuse_reply_err(req, -rc);
}

static void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct store_ctx ctx;
	int rc;

	fs_ctx(req, &ctx);
	rc = store_rmdir(fs_of(req)->st, &ctx, parent, name);
	fuse_reply_err(req, -rc);
}

static void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname,
			 unsigned int flags)
{
	struct store_ctx ctx;
	uint64_t from = parent;
	unsigned sflags = 0;
	int rc;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return (void)fuse_reply_err(req, EINVAL); /* RENAME_WHITEOUT */
	if (flags & RENAME_NOREPLACE)
		sflags |= STORE_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		sflags |= STORE_RENAME_EXCHANGE;
	rc = check_name(newname);
	/* Tests only: a rename to a name beginning with "stall-" waits, so
	 * that a test can kill the daemon while one is in flight. */
	if (fs_of(req)->stall_ms > 0 && strncmp(newname, "stall-", 6) == 0) {
		struct timespec ts = { fs_of(req)->stall_ms / 1000,
				       fs_of(req)->stall_ms % 1000 * 1000000L };

		nanosleep(&ts, NULL);
	}
	/* A publish through the mount: the source is an incoming alias. */
	if (rc == 0 && !(flags & RENAME_EXCHANGE))
		rc = resolve_alias(req, fs_of(req), &from, &name);
	if (rc == 0) {
		fs_ctx(req, &ctx);
		rc = store_rename(fs_of(req)->st, &ctx, from, name, newparent,
				  newname, sflags);
	}
	fuse_reply_err(req, -rc);
}

/* Hard links would give one blob two names; the index has one parent per
 * inode. */
static void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		       const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EPERM);
}

static void fs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	int rc;

	(void)ino;
	rc = store_statfs(fs_of(req)->st, &sv);
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	sv.f_namemax = STORE_MAX_NAME;
	fuse_reply_statfs(req, &sv);
}

/* ---- files ------------------------------------------------------------ */

/*
 * Opens ino's blob for a new handle. The blob is opened read-write for any
 * writing mode (the kernel may read pages of a write-only file), and for
 * every mode under passthrough (the inode's one backing file serves all its
 * handles); never with O_APPEND (writes come with their offsets). O_TRUNC
 * is recorded in the index at once. Under passthrough the handle gets the
 * inode's backing id (h_backing), or none if the kernel refuses.
 */
static int handle_open(struct fs *fs, uint64_t ino, int flags,
		       struct fs_handle **out)
{
	struct fs_handle *h = calloc(1, sizeof(*h));
	bool pt = fs->opts.passthrough;
	bool rw = (flags & O_ACCMODE) != O_RDONLY || (pt && !fs->opts.readonly);
	int bflags = rw ? O_RDWR : O_RDONLY;
	struct stat bs;
	int rc;

	if (h == NULL)
		return -ENOMEM;
	h->h_ino = ino;
	h->h_flags = flags;
	h->h_fd = -1;
	atomic_init(&h->h_dirty, false);
	rc = store_blob_open(fs->st, ino, bflags | (flags & O_TRUNC), &h->h_fd);
	if (rc < 0)
		goto err_free;
	if (fstat(h->h_fd, &bs) != 0) {
		rc = -errno;
		goto err_close;
	}
	h->h_noted_size = bs.st_size;
	h->h_noted_mtime = ts_to_ns(&bs.st_mtim);
	if (flags & O_TRUNC) {
		rc = store_note_write(fs->st, ino, (uint64_t)bs.st_size,
				      h->h_noted_mtime);
		if (rc < 0)
			goto err_close;
	}
	rc = fs_inode_add_handle(&fs->itable, h);
	if (rc < 0)
		goto err_close;
	/* Even once passthrough is off (a refused ioctl), a handle must
	 * share its inode's backing id: the kernel fails an open that does
	 * not use passthrough while the inode has a backing file. */
	if (pt)
		(void)fs_inode_backing_get(&fs->itable, h);
	*out = h;
	return 0;

err_close:
	store_blob_close(fs->st, ino, h->h_fd);
err_free:
	free(h);
	return rc;
}

static void handle_close(struct fs *fs, struct fs_handle *h)
{
	fs_inode_backing_put(&fs->itable, h);
	fs_inode_del_handle(&fs->itable, h);
	store_blob_close(fs->st, h->h_ino, h->h_fd);
	free(h);
}

static bool handle_writes(const struct fs_handle *h)
{
	return (h->h_flags & O_ACCMODE) != O_RDONLY;
}

/*
 * Records the blob's size and mtime in the index if h wrote since the last
 * time. A passthrough handle's writes never reach the daemon, so for those
 * the blob's fstat is compared with what was recorded last.
 */
static int handle_note(struct fs *fs, struct fs_handle *h)
{
	bool dirty = atomic_exchange(&h->h_dirty, false);
	struct stat bs;
	int rc;

	if (!dirty && !(h->h_backing > 0 && handle_writes(h)))
		return 0;
	if (fstat(h->h_fd, &bs) != 0) {
		rc = -errno;
		goto err;
	}
	if (!dirty && bs.st_size == h->h_noted_size &&
	    ts_to_ns(&bs.st_mtim) == h->h_noted_mtime)
		return 0;
	rc = store_note_write(fs->st, h->h_ino, (uint64_t)bs.st_size,
			      ts_to_ns(&bs.st_mtim));
	if (rc < 0)
		goto err;
	h->h_noted_size = bs.st_size;
	h->h_noted_mtime = ts_to_ns(&bs.st_mtim);
	return 0;

err:
	if (dirty)
		atomic_store(&h->h_dirty, true);
	return rc;
}

static void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct fs_handle *h = NULL;
	struct store_attr a;
	struct store_ctx ctx;
	bool created = true;
	int rc;

	mode = (mode & 07777) | S_IFREG;
	rc = check_name(name);
	if (rc == 0)
		rc = new_entry_ctx(req, fs, parent, &mode, &ctx);
	if (rc == 0)
		rc = store_create(fs->st, &ctx, parent, name, mode & 07777, &a);
	if (rc == -EEXIST && !(fi->flags & O_EXCL)) {
		/* Created by someone else since the kernel's lookup. */
		created = false;
		rc = store_lookup(fs->st, parent, name, &a);
		if (rc == 0 && S_ISDIR(a.mode))
			rc = -EISDIR;
		if (rc == 0 && passthrough_killpriv() &&
		    (fi->flags & O_ACCMODE) != O_RDONLY) {
			rc = kill_privs(req, fs, a.ino);
			if (rc == 0)
				rc = store_getattr(fs->st, a.ino, &a);
		}
	}
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	rc = handle_open(fs, a.ino, created ? fi->flags & ~O_TRUNC : fi->flags,
			 &h);
	if (rc < 0) {
		if (created)
			(void)store_unlink(fs->st, &ctx, parent, name);
		return (void)fuse_reply_err(req, -rc);
	}
	fi->fh = (uintptr_t)h;
	fi->keep_cache = h->h_backing == 0;
	fill_entry(fs, &a, &e);
	rc = fs_inode_ref(&fs->itable, a.ino, 1);
	if (rc < 0) {
		handle_close(fs, h);
		return (void)fuse_reply_err(req, -rc);
	}
	if (h->h_backing > 0)
		passthrough_arm(h->h_backing);
	if (fuse_reply_create(req, &e, fi) != 0) {
		/* Interrupted: the kernel has neither entry nor file. */
		fs_inode_forget(&fs->itable, a.ino, 1);
		handle_close(fs, h);
	}
}

static void fs_op_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h;
	int rc;

	if (passthrough_killpriv() && (fi->flags & O_ACCMODE) != O_RDONLY) {
		rc = kill_privs(req, fs, ino);
		if (rc < 0)
			return (void)fuse_reply_err(req, -rc);
	}
	rc = handle_open(fs, ino, fi->flags, &h);
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	fi->fh = (uintptr_t)h;
	/* An inode's contents change only through this mount (the network
	 * side publishes new inodes), and changes made another way are
	 * invalidated by the notifier: the page cache may stay. The kernel
	 * refuses FOPEN_KEEP_CACHE with FOPEN_PASSTHROUGH (it has no cache
	 * of its own for such a file then). */
	fi->keep_cache = h->h_backing == 0;
	if (h->h_backing > 0)
		passthrough_arm(h->h_backing);
	if (fuse_reply_open(req, fi) != 0)
		handle_close(fs, h);
}

static void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	(void)ino;
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = h->h_fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void fs_op_write_buf(fuse_req_t req, fuse_ino_t ino,
			    struct fuse_bufvec *in_buf, off_t off,
			    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	size_t size = fuse_buf_size(in_buf);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(size);
	ssize_t res;

	(void)ino;
	if (in_buf->count > 0 && (in_buf->buf[0].flags & FUSE_BUF_IS_FD)) {
		atomic_fetch_add_explicit(&fs->splice_writes, 1,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&fs->splice_bytes, size,
					  memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&fs->memory_writes, 1,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&fs->memory_bytes, size,
					  memory_order_relaxed);
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = h->h_fd;
	out.buf[0].pos = off;
	res = fuse_buf_copy(&out, in_buf, FUSE_BUF_SPLICE_MOVE);
	if (res < 0)
		return (void)fuse_reply_err(req, (int)-res);
	atomic_store(&h->h_dirty, true);
	fuse_reply_write(req, (size_t)res);
}

static void fs_op_flush(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;

	(void)ino;
	fuse_reply_err(req, -handle_note(fs_of(req), h));
}

static void fs_op_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	int rc;

	rc = handle_note(fs, h);
	if (rc < 0)
		lf_err(-rc, "release of inode %llu: recording its size",
		       (unsigned long long)ino);
	if (lf_log_debug() && handle_writes(h)) {
		struct fs_counters c;

		fs_counters(fs, &c);
		lf_debug("%s: inode %llu; write_buf so far: %llu pipe "
			 "(%llu bytes), %llu memory (%llu bytes)",
			 __func__, (unsigned long long)ino,
			 (unsigned long long)c.splice_writes,
			 (unsigned long long)c.splice_bytes,
			 (unsigned long long)c.memory_writes,
			 (unsigned long long)c.memory_bytes);
	}
	handle_close(fs, h);
	fuse_reply_err(req, 0);
}

static void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	int rc;

	(void)ino;
	rc = store_blob_sync(fs->st, h->h_fd, datasync != 0);
	if (rc == 0)
		rc = handle_note(fs, h);
	fuse_reply_err(req, -rc);
}

static void fs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			    off_t offset, off_t length,
			    struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	int rc = 0;

	(void)ino;
	if (fallocate(h->h_fd, mode, offset, length) != 0)
		rc = -errno;
	else
		atomic_store(&h->h_dirty, true);
	fuse_reply_err(req, -rc);
}

static void fs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
			struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	off_t res;

	(void)ino;
	res = lseek(h->h_fd, off, whence);
	if (res == (off_t)-1)
		return (void)fuse_reply_err(req, errno);
	fuse_reply_lseek(req, res);
}

/* ---- directories ------------------------------------------------------ */

static void fs_op_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct store_attr a;
	struct fs_dir *d;
	int rc;

	rc = store_getattr(fs->st, ino, &a);
	if (rc == 0 && !S_ISDIR(a.mode))
		rc = -ENOTDIR;
	if (rc < 0)
		return (void)fuse_reply_err(req, -rc);
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return (void)fuse_reply_err(req, ENOMEM);
	d->d_ents = malloc(FS_DIR_BATCH * sizeof(*d->d_ents));
	if (d->d_ents == NULL) {
		free(d);
		return (void)fuse_reply_err(req, ENOMEM);
	}
	pthread_mutex_init(&d->d_lock, NULL);
	d->d_ino = ino;
	d->d_parent = a.parent != 0 && ino != STORE_ROOT_INO ? a.parent : ino;
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0) {
		pthread_mutex_destroy(&d->d_lock);
		free(d->d_ents);
		free(d);
	}
}

/*
 * Adds one entry to buf (rem bytes left); returns the size it needs, which
 * is more than rem when it did not fit (and nothing was written).
 */
static size_t add_dirent(fuse_req_t req, char *buf, size_t rem, bool plus,
			 const char *name, struct fuse_entry_param *e,
			 off_t next)
{
	if (plus)
		return fuse_add_direntry_plus(req, buf, rem, name, e, next);
	return fuse_add_direntry(req, buf, rem, name, &e->attr, next);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct fs *fs = fs_of(req);
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;
	struct fuse_entry_param e;
	uint64_t cursor;
	size_t used = 0, sz;
	char *buf;
	int rc = 0;

	(void)ino;
	buf = malloc(size);
	if (buf == NULL)
		return (void)fuse_reply_err(req, ENOMEM);
	pthread_mutex_lock(&d->d_lock);
	/* "." and ".." carry nodeid 0 in readdirplus: no lookup is counted. */
	if (off < 2) {
		memset(&e, 0, sizeof(e));
		e.attr.st_mode = S_IFDIR;
		if (off < 1) {
			e.attr.st_ino = d->d_ino;
			sz = add_dirent(req, buf, size, plus, ".", &e, 1);
			if (sz > size)
				goto out_reply;
			used += sz;
		}
		e.attr.st_ino = d->d_parent;
		sz = add_dirent(req, buf + used, size - used, plus, "..", &e,
				2);
		if (sz > size - used)
			goto out_reply;
		used += sz;
	}
	cursor = off >= 2 ? (uint64_t)off - 2 : 0;
	if (cursor == 0)
		d->d_valid = false; /* a rewind lists afresh */
	for (;;) {
		const struct store_dirent *de;

		if (!d->d_valid || d->d_last != cursor || d->d_pos >= d->d_n) {
			size_t n = 0;

			if (d->d_valid && d->d_last == cursor && d->d_eof)
				break;
			rc = store_readdir(fs->st, d->d_ino, cursor, d->d_ents,
					   FS_DIR_BATCH, &n);
			if (rc < 0) {
				d->d_valid = false;
				break;
			}
			d->d_valid = true;
			d->d_n = n;
			d->d_pos = 0;
			d->d_last = cursor;
			d->d_eof = n < FS_DIR_BATCH;
			if (n == 0)
				break;
		}
		de = &d->d_ents[d->d_pos];
		if (d->d_ino == STORE_ROOT_INO &&
		    strcmp(de->name, LF_PRIVATE_DIR) == 0) {
			/* Not listed (reserved.h); reachable by name. */
			d->d_pos++;
			d->d_last = de->cursor;
			cursor = de->cursor;
			continue;
		}
		fill_entry(fs, &de->attr, &e);
		sz = add_dirent(req, buf + used, size - used, plus, de->name,
				&e, (off_t)(de->cursor + 2));
		if (sz > size - used)
			break;
		if (plus && fs_inode_ref(&fs->itable, de->attr.ino, 1) < 0) {
			rc = -ENOMEM;
			break;
		}
		used += sz;
		d->d_pos++;
		d->d_last = de->cursor;
		cursor = de->cursor;
	}
out_reply:
	pthread_mutex_unlock(&d->d_lock);
	/* An error after some entries: send those; the next call retries. */
	if (rc < 0 && used == 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			      off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;

	(void)ino;
	pthread_mutex_destroy(&d->d_lock);
	free(d->d_ents);
	free(d);
	fuse_reply_err(req, 0);
}

/* Every namespace change is committed before its reply; with durable the
 * store has synced it too. */
static void fs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			   struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_op_init,
	.lookup = fs_op_lookup,
	.forget = fs_op_forget,
	.forget_multi = fs_op_forget_multi,
	.getattr = fs_op_getattr,
	.setattr = fs_op_setattr,
	.readlink = fs_op_readlink,
	.mknod = fs_op_mknod,
	.mkdir = fs_op_mkdir,
	.unlink = fs_op_unlink,
	.rmdir = fs_op_rmdir,
	.symlink = fs_op_symlink,
	.rename = fs_op_rename,
	.link = fs_op_link,
	.open = fs_op_open,
	.read = fs_op_read,
	.write_buf = fs_op_write_buf,
	.flush = fs_op_flush,
	.release = fs_op_release,
	.fsync = fs_op_fsync,
	.opendir = fs_op_opendir,
	.readdir = fs_op_readdir,
	.readdirplus = fs_op_readdirplus,
	.releasedir = fs_op_releasedir,
	.fsyncdir = fs_op_fsyncdir,
	.statfs = fs_op_statfs,
	.setxattr = fs_op_setxattr,
	.getxattr = fs_op_getxattr,
	.listxattr = fs_op_listxattr,
	.removexattr = fs_op_removexattr,
	.create = fs_op_create,
	.fallocate = fs_op_fallocate,
	.lseek = fs_op_lseek,
};

/* ---- the session ------------------------------------------------------ */

/* libfuse's messages end in a newline; the log adds its own. */
static void fuse_log_to_lf(enum fuse_log_level level, const char *fmt,
			   va_list ap)
{
	char msg[900];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';
	lf_log((int)level, "%s", msg);
}

/* fs_opts_init() sets every default of struct fs_opts in one place. */
void fs_opts_init(struct fs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->entry_timeout = 1.0;
	o->attr_timeout = 1.0;
	o->negative_timeout = 0.0;
	o->max_threads = 10;
	o->passthrough = 1;
}

/*
 * fs_new() creates the session and starts the notifier thread. libfuse's
 * own messages (unknown options, for one) go to the daemon log. Start-up
 * only.
 */
int fs_new(struct store *st, const struct fs_opts *opts, struct fuse_args *args,
	   struct fs **out)
{
	struct fs *fs = calloc(1, sizeof(*fs));
	int rc;

	if (fs == NULL)
		return -ENOMEM;
	fuse_set_log_func(fuse_log_to_lf);
	fs->st = st;
	fs->opts = *opts;
	fs->self_uid = geteuid();
	if (getenv("LANDINGFS_TEST_STALL_RENAME"))
		fs->stall_ms = atol(getenv("LANDINGFS_TEST_STALL_RENAME"));
	rc = fs_itable_init(&fs->itable);
	if (rc < 0)
		goto err_free;
	fs->se = fuse_session_new(args, &fs_ops, sizeof(fs_ops), fs);
	if (fs->se == NULL) {
		rc = -EINVAL;
		goto err_itable;
	}
	rc = fs_notifier_start(fs, &fs->nt);
	if (rc < 0)
		goto err_session;
	*out = fs;
	return 0;

err_session:
	fuse_session_destroy(fs->se);
err_itable:
	fs_itable_destroy(&fs->itable, st);
err_free:
	free(fs);
	return rc;
}

/* fs_mount() mounts the session, starts the connection guardian
 * (guardian.c) and, with passthrough wanted, takes over its /dev/fuse I/O
 * (passthrough.c); libfuse logs why a mount fails. */
int fs_mount(struct fs *fs, const char *mountpoint)
{
	if (fuse_session_mount(fs->se, mountpoint) != 0)
		return -EIO;
	fs->mounted = true;
	fs_guardian_start(fs, mountpoint);
	if (passthrough_setup(fs->se, fs->opts.passthrough) < 0)
		lf_log(LOG_NOTICE, "passthrough: cannot take over the "
				   "/dev/fuse I/O; reads and writes take the "
				   "splice paths");
	return 0;
}

/*
 * fs_loop() runs the multithreaded session loop. libfuse's workers block
 * SIGINT, SIGTERM and SIGHUP, so those reach the calling thread, whose
 * handler calls fs_exit().
 */
int fs_loop(struct fs *fs)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int rc;

	if (cfg == NULL)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, (unsigned)fs->opts.max_threads);
	rc = fuse_session_loop_mt(fs->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	if (rc > 0)
		rc = 0; /* ended by a signal: not an error */
	return rc;
}

/* fs_exit() only sets libfuse's exit flag: async-signal-safe. */
void fs_exit(struct fs *fs)
{
	fuse_session_exit(fs->se);
}

/*
 * fs_unmount() unmounts and closes /dev/fuse, which aborts the kernel
 * connection: a request still waiting (say a rename through the mount by
 * the network side) fails instead of waiting for a reply forever. Should
 * a thread stuck in the kernel keep /dev/fuse open, the connection is
 * aborted through fusectl (guardian.c).
 */
void fs_unmount(struct fs *fs)
{
	if (!fs->mounted)
		return;
	fuse_session_unmount(fs->se);
	fs->mounted = false;
	fs_conn_abort(fs);
}

/*
 * fs_counters() reads the write_buf counters (relaxed; each value is
 * exact, the four are not one snapshot). Any thread.
 */
void fs_counters(const struct fs *fs, struct fs_counters *out)
{
	struct fs *f = (struct fs *)fs; /* atomics are read through non-const */

	out->splice_writes = atomic_load_explicit(&f->splice_writes,
						  memory_order_relaxed);
	out->splice_bytes = atomic_load_explicit(&f->splice_bytes,
						 memory_order_relaxed);
	out->memory_writes = atomic_load_explicit(&f->memory_writes,
						  memory_order_relaxed);
	out->memory_bytes = atomic_load_explicit(&f->memory_bytes,
						 memory_order_relaxed);
}

/*
 * fs_invalidate() hands store changes to the notifier thread; see fs.h.
 */
void fs_invalidate(struct fs *fs, const struct store_change *chg, size_t n)
{
	if (fs != NULL && fs->nt != NULL)
		fs_notifier_queue(fs->nt, chg, n);
}

/*
 * fs_free() tears down in the reverse order of fs_new(): the notifier
 * (it uses the session), the mount, the guardian, the session (its destroy
 * callback runs), then handles left open, whose blobs must be closed
 * before store_close().
 */
void fs_free(struct fs **fsp)
{
	struct fs *fs;
	struct fs_counters c;

	if (fsp == NULL || *fsp == NULL)
		return;
	fs = *fsp;
	fs_notifier_stop(&fs->nt);
	fs_unmount(fs);
	fs_guardian_stop(fs);
	fs_counters(fs, &c);
	lf_debug("write_buf: %llu pipe-backed (%llu bytes), %llu in memory "
		 "(%llu bytes)",
		 (unsigned long long)c.splice_writes,
		 (unsigned long long)c.splice_bytes,
		 (unsigned long long)c.memory_writes,
		 (unsigned long long)c.memory_bytes);
	lf_debug("inode table: %zu entries at unmount",
		 fs_inode_count(&fs->itable));
	fuse_session_destroy(fs->se);
	fs_itable_destroy(&fs->itable, fs->st);
	free(fs);
	*fsp = NULL;
}
