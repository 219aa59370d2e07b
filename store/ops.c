/*
 * ops.c - what each changing call does inside its transaction.
 *
 * Each op_* function runs on the writer thread, inside the savepoint that
 * writer.c opened for it, on the write connection. It checks its
 * conditions against the index as it is in this transaction, changes rows,
 * and records what to do after the commit (changes for the hook, blobs to
 * free) in the op. It returns 0 or -errno; on error writer.c rolls the
 * savepoint back, so an op may fail half-way without cleaning up rows.
 * Arguments were validated (names, flags) by the calling thread in store.c.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "landingfs/log.h"

/* Deepest directory chain rename will walk looking for a loop. */
#define OPS_MAX_DEPTH 4096

static int get_dir(struct ix_conn *w, uint64_t ino, struct store_attr *a)
{
	int rc = ix_get(w, ino, a);

	if (rc < 0)
		return rc;
	if (!S_ISDIR(a->mode))
		return -ENOTDIR;
	return 0;
}

static void new_attr(struct store_op *op, uint64_t parent, uint32_t mode,
		     struct store_attr *a)
{
	struct op_req *r = op->op_req;

	memset(a, 0, sizeof(*a));
	a->parent = parent;
	a->mode = mode;
	a->nlink = S_ISDIR(mode) ? 2 : 1;
	a->uid = r->uid;
	a->gid = r->gid;
	a->atime_ns = a->mtime_ns = a->ctime_ns = op->op_now;
}

/*
 * Removes the non-directory a from the namespace: its row and blob go (the
 * blob after commit), unless the blob is open, in which case the row stays
 * as an orphan (parent NULL, nlink 0) for the last close to free.
 */
static int drop_file(struct store *st, struct store_op *op,
		     const struct store_attr *a)
{
	struct ix_conn *w = st->st_wconn;
	int rc;

	if (S_ISREG(a->mode) && blob_open_mark_orphan(st, a->ino))
		return ix_move(w, a->ino, 0, NULL);
	rc = ix_delete(w, a->ino);
	if (rc == 0)
		op->op_dinodes--;
	if (rc == 0 && a->blob)
		rc = op_free_blob(op, a->blob);
	return rc;
}

/* Inserts a new entry named name in parent (checked to be a directory;
 * known to be free when name_free) and records the change. *a
 * holds the attributes; a->ino is set to a new number. */
static int insert_entry(struct store *st, struct store_op *op,
			struct store_attr *a, const char *name,
			const char *target, const struct store_landing *l,
			bool name_free)
{
	struct ix_conn *w = st->st_wconn;
	uint64_t ino;
	int rc;

	if (!name_free) {
		rc = ix_lookup(w, a->parent, name, NULL);
		if (rc == 0)
			return -EEXIST;
		if (rc != -ENOENT)
			return rc;
	}
	a->ino = st->st_next_ino;
	rc = ix_insert(w, a, name, target, l, &ino);
	if (rc < 0)
		return rc;
	/* A number is used up even if the op is rolled back later. */
	st->st_next_ino = ino + 1;
	op->op_dinodes++;
	a->ino = ino;
	rc = ix_touch_dir(w, a->parent, op->op_now, S_ISDIR(a->mode) ? 1 : 0);
	if (rc < 0)
		return rc;
	return op_note_change(op, STORE_CHANGE_ADD, a->parent, ino, name);
}

static int add_entry(struct store *st, struct store_op *op,
		     struct store_attr *a, const char *name,
		     const char *target, const struct store_landing *l)
{
	return insert_entry(st, op, a, name, target, l, false);
}

static void put_out(const struct op_req *r, const struct store_attr *a)
{
	if (r->out)
		*r->out = *a;
}

/* op_mkdir(): store_mkdir() on the writer thread. */
int op_mkdir(struct store *st, struct store_op *op)
{
	struct op_req *r = op->op_req;
	struct store_attr p, a;
	int rc;

	rc = get_dir(st->st_wconn, r->parent, &p);
	if (rc < 0)
		return rc;
	new_attr(op, r->parent, S_IFDIR | (r->mode & 07777), &a);
	rc = add_entry(st, op, &a, r->name, NULL, NULL);
	if (rc == 0)
		put_out(r, &a);
	return rc;
}

/* op_create(): store_create() on the writer thread; r->blob was created
 * empty by the caller. */
int op_create(struct store *st, struct store_op *op)
{
	struct op_req *r = op->op_req;
	struct store_landing l;
	struct store_attr p, a;
	int rc;

	rc = get_dir(st->st_wconn, r->parent, &p);
	if (rc < 0)
		return rc;
	new_attr(op, r->parent, S_IFREG | (r->mode & 07777), &a);
	a.blob = r->blob;
	memset(&l, 0, sizeof(l));
	l.origin = op->op_origin;
	l.received_ns = op->op_now;
	rc = add_entry(st, op, &a, r->name, NULL, &l);
	if (rc == 0)
		put_out(r, &a);
	return rc;
}

/* op_symlink(): store_symlink() on the writer thread. */
int op_symlink(struct store *st, struct store_op *op)
{
	struct op_req *r = op->op_req;
	struct store_attr p, a;
	int rc;

	rc = get_dir(st->st_wconn, r->parent, &p);
	if (rc < 0)
		return rc;
	new_attr(op, r->parent, S_IFLNK | 0777, &a);
	a.size = strlen(r->target);
	rc = add_entry(st, op, &a, r->name, r->target, NULL);
	if (rc == 0)
		put_out(r, &a);
	return rc;
}

/* removal_target() finds the entry that an unlink (dir false) or an rmdir
 * (dir true) names: r->name in directory r->parent, of the right kind
 * (-EISDIR, -ENOTDIR). */
static int removal_target(struct ix_conn *w, const struct op_req *r,
			  bool dir, struct store_attr *a)
{
	struct store_attr p;
	int rc;

	rc = get_dir(w, r->parent, &p);
	if (rc == 0)
		rc = ix_lookup(w, r->parent, r->name, a);
	if (rc < 0)
		return rc;
	if (S_ISDIR(a->mode) != dir)
		return dir ? -ENOTDIR : -EISDIR;
	return 0;
}

/* op_unlink(): store_unlink() on the writer thread. */
int op_unlink(struct store *st, struct store_op *op)
{
	struct ix_conn *w = st->st_wconn;
	struct op_req *r = op->op_req;
	struct store_attr a;
	int rc;

	rc = removal_target(w, r, false, &a);
	if (rc < 0)
		return rc;
	rc = drop_file(st, op, &a);
	if (rc == 0)
		rc = ix_touch_dir(w, r->parent, op->op_now, 0);
	if (rc == 0)
		rc = op_note_change(op, STORE_CHANGE_REMOVE, r->parent, a.ino,
				    r->name);
	return rc;
}

/* op_rmdir(): store_rmdir() on the writer thread. */
int op_rmdir(struct store *st, struct store_op *op)
{
	struct ix_conn *w = st->st_wconn;
	struct op_req *r = op->op_req;
	struct store_attr a;
	bool full;
	int rc;

	rc = removal_target(w, r, true, &a);
	if (rc < 0)
		return rc;
	rc = ix_has_children(w, a.ino, &full);
	if (rc < 0)
		return rc;
	if (full)
		return -ENOTEMPTY;
	rc = ix_delete(w, a.ino);
	if (rc == 0) {
		op->op_dinodes--;
		rc = ix_touch_dir(w, r->parent, op->op_now, -1);
	}
	if (rc == 0)
		rc = op_note_change(op, STORE_CHANGE_REMOVE, r->parent, a.ino,
				    r->name);
	return rc;
}

/* Is directory anc the same as, or an ancestor of, directory ino? */
static int is_ancestor(struct ix_conn *w, uint64_t anc, uint64_t ino,
		       bool *yes)
{
	struct store_attr a;
	int rc;

	*yes = false;
	for (int depth = 0; depth < OPS_MAX_DEPTH; depth++) {
		if (ino == anc) {
			*yes = true;
			return 0;
		}
		if (ino == STORE_ROOT_INO)
			return 0;
		rc = ix_get(w, ino, &a);
		if (rc < 0)
			return rc;
		ino = a.parent;
		if (ino == 0)
			return 0;
	}
	return -ELOOP;
}

/* Moves a (named in parent) to newparent/newname, keeping link counts and
 * times of both directories right. */
static int move_entry(struct ix_conn *w, struct store_op *op,
		      struct store_attr *a, uint64_t newparent,
		      const char *newname)
{
	int dl = S_ISDIR(a->mode) ? 1 : 0;
	int rc;

	rc = ix_move(w, a->ino, newparent, newname);
	if (rc < 0)
		return rc;
	if (a->parent != newparent) {
		rc = ix_touch_dir(w, a->parent, op->op_now, -dl);
		if (rc == 0)
			rc = ix_touch_dir(w, newparent, op->op_now, dl);
	} else {
		rc = ix_touch_dir(w, newparent, op->op_now, 0);
	}
	if (rc < 0)
		return rc;
	a->ctime_ns = op->op_now;
	return ix_set_attr(w, a);
}

static int rename_exchange(struct store *st, struct store_op *op,
			   struct store_attr *src, struct store_attr *dst)
{
	struct ix_conn *w = st->st_wconn;
	struct op_req *r = op->op_req;
	uint64_t sp = src->parent, dp = dst->parent;
	bool loop;
	int rc;

	if (S_ISDIR(src->mode)) {
		rc = is_ancestor(w, src->ino, dp, &loop);
		if (rc < 0 || loop)
			return rc < 0 ? rc : -EINVAL;
	}
	if (S_ISDIR(dst->mode)) {
		rc = is_ancestor(w, dst->ino, sp, &loop);
		if (rc < 0 || loop)
			return rc < 0 ? rc : -EINVAL;
	}
	/* Park src outside the namespace so the unique name index never
	 * sees two entries with one name. */
	rc = ix_move(w, src->ino, 0, NULL);
	if (rc == 0)
		rc = move_entry(w, op, dst, sp, r->name);
	if (rc == 0) {
		src->parent = sp;
		rc = move_entry(w, op, src, dp, r->newname);
	}
	if (rc == 0)
		rc = op_note_change(op, STORE_CHANGE_ADD, sp, dst->ino,
				    r->name);
	if (rc == 0)
		rc = op_note_change(op, STORE_CHANGE_ADD, dp, src->ino,
				    r->newname);
	return rc;
}

/* op_rename(): store_rename() on the writer thread. */
int op_rename(struct store *st, struct store_op *op)
{
	struct ix_conn *w = st->st_wconn;
	struct op_req *r = op->op_req;
	struct store_attr p, np, src, dst;
	bool have_dst, loop, full;
	int rc;

	rc = get_dir(w, r->parent, &p);
	if (rc == 0)
		rc = get_dir(w, r->newparent, &np);
	if (rc < 0)
		return rc;
	rc = ix_lookup(w, r->parent, r->name, &src);
	if (rc < 0)
		return rc;
	rc = ix_lookup(w, r->newparent, r->newname, &dst);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	have_dst = rc == 0;
	if (r->flags & STORE_RENAME_EXCHANGE) {
		if (!have_dst)
			return -ENOENT;
		if (src.ino == dst.ino)
			return 0;
		return rename_exchange(st, op, &src, &dst);
	}
	if (have_dst && (r->flags & STORE_RENAME_NOREPLACE))
		return -EEXIST;
	if (have_dst && src.ino == dst.ino)
		return 0;
	if (S_ISDIR(src.mode)) {
		rc = is_ancestor(w, src.ino, r->newparent, &loop);
		if (rc < 0)
			return rc;
		if (loop)
			return -EINVAL;
	}
	if (have_dst) {
		if (S_ISDIR(src.mode) && !S_ISDIR(dst.mode))
			return -ENOTDIR;
		if (!S_ISDIR(src.mode) && S_ISDIR(dst.mode))
			return -EISDIR;
		if (S_ISDIR(dst.mode)) {
			rc = ix_has_children(w, dst.ino, &full);
			if (rc < 0)
				return rc;
			if (full)
				return -ENOTEMPTY;
			rc = ix_delete(w, dst.ino);
			if (rc == 0) {
				op->op_dinodes--;
				rc = ix_touch_dir(w, r->newparent, op->op_now,
						  -1);
			}
		} else {
			rc = drop_file(st, op, &dst);
		}
		if (rc < 0)
			return rc;
	}
	rc = move_entry(w, op, &src, r->newparent, r->newname);
	if (rc == 0)
		rc = op_note_change(op, STORE_CHANGE_REMOVE, r->parent,
				    src.ino, r->name);
	if (rc == 0)
		rc = op_note_change(op, STORE_CHANGE_ADD, r->newparent,
				    src.ino, r->newname);
	return rc;
}

/*
 * op_setattr(): store_setattr() on the writer thread. A size change
 * truncates the blob first; that cannot be undone if the commit then
 * fails (a write in place is not transactional either).
 */
int op_setattr(struct store *st, struct store_op *op)
{
	struct ix_conn *w = st->st_wconn;
	struct op_req *r = op->op_req;
	const struct store_attr *in = r->in;
	unsigned m = r->mask;
	struct store_attr a;
	bool changed;
	int rc;

	rc = ix_get(w, r->ino, &a);
	if (rc < 0)
		return rc;
	if (m & STORE_SET_SIZE) {
		if (S_ISDIR(a.mode))
			return -EISDIR;
		if (!S_ISREG(a.mode))
			return -EINVAL;
		rc = blob_truncate(st, a.blob, in->size);
		if (rc < 0)
			return rc;
		rc = ix_set_sha256(w, a.ino, a.blob, NULL, &changed);
		if (rc < 0)
			return rc;
		a.size = in->size;
		if (!(m & (STORE_SET_MTIME | STORE_SET_MTIME_NOW)))
			a.mtime_ns = op->op_now;
	}
	if (m & STORE_SET_MODE)
		a.mode = (a.mode & S_IFMT) | (in->mode & 07777);
	if (m & STORE_SET_UID)
		a.uid = in->uid;
	if (m & STORE_SET_GID)
		a.gid = in->gid;
	if (m & STORE_SET_ATIME)
		a.atime_ns = in->atime_ns;
	if (m & STORE_SET_ATIME_NOW)
		a.atime_ns = op->op_now;
	if (m & STORE_SET_MTIME)
		a.mtime_ns = in->mtime_ns;
	if (m & STORE_SET_MTIME_NOW)
		a.mtime_ns = op->op_now;
	a.ctime_ns = (m & STORE_SET_CTIME) ? in->ctime_ns : op->op_now;
	rc = ix_set_attr(w, &a);
	if (rc == 0)
		rc = op_note_change(op, STORE_CHANGE_ATTR, a.parent, a.ino,
				    NULL);
	if (rc == 0)
		put_out(r, &a);
	return rc;
}

/* op_note_write(): store_note_write() on the writer thread. */
int op_note_write(struct store *st, struct store_op *op)
{
	struct op_req *r = op->op_req;
	int rc;

	rc = ix_note_write(st->st_wconn, r->ino, r->size, r->mtime_ns,
			   op->op_now);
	if (rc == 0)
		rc = op_note_change(op, STORE_CHANGE_ATTR, 0, r->ino, NULL);
	return rc;
}

/* Copies the next component of *p into buf and advances *p; false at the
 * end. The path was validated by the caller. */
static bool next_comp(const char **p, char buf[STORE_MAX_NAME + 1])
{
	const char *s = *p, *e;
	size_t len;

	while (*s == '/')
		s++;
	if (!*s)
		return false;
	e = strchr(s, '/');
	len = e ? (size_t)(e - s) : strlen(s);
	memcpy(buf, s, len);
	buf[len] = '\0';
	*p = s + len;
	return true;
}

/* Finds (creating with MKDIRS) the directory that pub names, and the last
 * component's name. */
static int publish_parent(struct store *st, struct store_op *op,
			  uint64_t *parent, char name[STORE_MAX_NAME + 1])
{
	struct ix_conn *w = st->st_wconn;
	const struct store_publish *pub = op->op_req->pub;
	char comp[STORE_MAX_NAME + 1];
	const char *p = pub->path;
	struct store_attr a;
	uint64_t dir = STORE_ROOT_INO;
	bool have;
	int rc;

	if (pub->parent) {
		*parent = pub->parent;
		snprintf(name, STORE_MAX_NAME + 1, "%s", pub->name);
		return get_dir(w, pub->parent, &a);
	}
	have = next_comp(&p, comp);
	while (have) {
		memcpy(name, comp, sizeof(comp));
		have = next_comp(&p, comp);
		if (!have)
			break;
		/* name is an intermediate directory. */
		rc = ix_lookup(w, dir, name, &a);
		if (rc == -ENOENT && (pub->flags & STORE_PUBLISH_MKDIRS)) {
			uint32_t m = pub->dir_mode ? pub->dir_mode : 0755;

			new_attr(op, dir, S_IFDIR | (m & 07777), &a);
			rc = add_entry(st, op, &a, name, NULL, NULL);
		} else if (rc == 0 && !S_ISDIR(a.mode)) {
			rc = -ENOTDIR;
		}
		if (rc < 0)
			return rc;
		dir = a.ino;
	}
	*parent = dir;
	return 0;
}

/*
 * op_publish(): store_publish() on the writer thread. r->blob is the
 * linked blob, r->size its length.
 */
int op_publish(struct store *st, struct store_op *op)
{
	struct ix_conn *w = st->st_wconn;
	struct op_req *r = op->op_req;
	const struct store_publish *pub = r->pub;
	char name[STORE_MAX_NAME + 1];
	struct store_landing l;
	struct store_attr old, a;
	uint64_t parent;
	bool replaced = false;
	int rc;

	rc = publish_parent(st, op, &parent, name);
	if (rc < 0)
		return rc;
	rc = ix_lookup(w, parent, name, &old);
	if (rc == 0) {
		if (S_ISDIR(old.mode))
			return -EISDIR;
		if (!S_ISREG(old.mode))
			return -EEXIST;
		if (pub->flags & STORE_PUBLISH_NOREPLACE)
			return -EEXIST;
		if ((pub->flags & STORE_PUBLISH_IF_BLOB) &&
		    old.blob != pub->if_blob)
			return -ESTALE;
		rc = drop_file(st, op, &old);
		if (rc < 0)
			return rc;
		replaced = true;
	} else if (rc == -ENOENT) {
		if ((pub->flags & STORE_PUBLISH_IF_BLOB) && pub->if_blob != 0)
			return -ESTALE;
	} else {
		return rc;
	}
	new_attr(op, parent, S_IFREG | ((pub->mode ? pub->mode : 0644) & 07777),
		 &a);
	a.blob = r->blob;
	a.size = r->size;
	if (pub->mtime_ns)
		a.mtime_ns = pub->mtime_ns;
	l = pub->landing;
	if (l.origin == STORE_ORIGIN_NONE)
		l.origin = op->op_origin;
	if (!l.received_ns)
		l.received_ns = op->op_now;
	if (l.digest_len > STORE_MAX_DIGEST)
		return -EINVAL;
	l.digest_alg[sizeof(l.digest_alg) - 1] = '\0';
	l.peer[sizeof(l.peer) - 1] = '\0';
	rc = insert_entry(st, op, &a, name, NULL, &l, true);
	if (rc < 0)
		return rc;
	put_out(r, &a);
	if (r->replaced)
		*r->replaced = replaced;
	return 0;
}

/* op_set_sha256(): store_set_sha256() on the writer thread. */
int op_set_sha256(struct store *st, struct store_op *op)
{
	struct op_req *r = op->op_req;
	bool changed;
	int rc;

	rc = ix_set_sha256(st->st_wconn, r->ino, r->blob, r->sha256, &changed);
	if (rc < 0)
		return rc;
	if (changed)
		return 0;
	rc = ix_get(st->st_wconn, r->ino, NULL);
	return rc < 0 ? rc : -ESTALE;
}

/* Sets the ctime of ino to the op's time (an xattr changed). */
static int touch_ctime(struct store *st, struct store_op *op, uint64_t ino)
{
	struct store_attr a;
	int rc;

	rc = ix_get(st->st_wconn, ino, &a);
	if (rc < 0)
		return rc;
	a.ctime_ns = op->op_now;
	rc = ix_set_attr(st->st_wconn, &a);
	if (rc == 0)
		rc = op_note_change(op, STORE_CHANGE_ATTR, a.parent, ino, NULL);
	return rc;
}

/* op_xattr_set(): store_xattr_set() on the writer thread. */
int op_xattr_set(struct store *st, struct store_op *op)
{
	struct op_req *r = op->op_req;
	int rc;

	rc = ix_get(st->st_wconn, r->ino, NULL);
	if (rc == 0)
		rc = ix_xattr_set(st->st_wconn, r->ino, r->name, r->value,
				  r->value_size, (int)r->flags);
	if (rc == 0)
		rc = touch_ctime(st, op, r->ino);
	return rc;
}

/* op_xattr_remove(): store_xattr_remove() on the writer thread. */
int op_xattr_remove(struct store *st, struct store_op *op)
{
	struct op_req *r = op->op_req;
	int rc;

	rc = ix_get(st->st_wconn, r->ino, NULL);
	if (rc == 0)
		rc = ix_xattr_remove(st->st_wconn, r->ino, r->name);
	if (rc == 0)
		rc = touch_ctime(st, op, r->ino);
	return rc;
}

/*
 * op_reap() frees an orphan (unlinked while open) whose last handle was
 * closed: row now, blob after commit. Nothing when the inode is linked
 * again, gone, or open again.
 */
int op_reap(struct store *st, struct store_op *op)
{
	struct op_req *r = op->op_req;
	struct store_attr a;
	int rc;

	rc = ix_get(st->st_wconn, r->ino, &a);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	/* Open again (by inode number): its last close comes back here. */
	if (a.nlink > 0 || a.parent != 0 || blob_open_mark_orphan(st, a.ino))
		return 0;
	rc = ix_delete(st->st_wconn, a.ino);
	if (rc == 0)
		op->op_dinodes--;
	if (rc == 0 && a.blob)
		rc = op_free_blob(op, a.blob);
	return rc;
}
