/*
 * inode.c - the inodes the kernel knows: lookup counts, open handles, and
 * the attributes of files open for writing.
 *
 * It owns no on-disk state; the store does. This table only tracks what
 * the kernel holds, so that forget has something to count down and that
 * getattr can find the blob of a file being written.
 *
 * NOTES ON LOOKUP COUNTS AND OPEN-UNLINKED FILES
 *
 * 1. The inode number the kernel sees is the store's row id (nodeid ==
 *    store ino, STORE_ROOT_INO == FUSE_ROOT_ID == 1), generation 0. There is
 *    no translation table: any handler can pass the kernel's number to the
 *    store directly. Generation 0 is safe because the store never hands out
 *    a number twice while it is open (store/index.c), and the kernel's
 *    cache does not outlive the mount.
 *
 * 2. Every reply that hands the kernel an entry adds one to that inode's
 *    lookup count before the reply is sent: lookup, create, mknod, mkdir,
 *    symlink, and each readdirplus entry other than "." and ".." (those go
 *    out with nodeid 0, which the kernel does not count). forget and
 *    forget_multi take the kernel's count off again.
 *
 * 3. An entry lives while i_nlookup > 0 or it has open handles:
 *
 *        absent --fs_inode_ref()--> known --fs_inode_forget(all)--> absent
 *           |                       |  ^
 *           |            add_handle |  | del_handle (last, nlookup > 0)
 *           |                       v  |
 *           +--fs_inode_add_handle()--> open --del_handle (last,
 *                                              nlookup == 0)--> absent
 *
 *    The store needs none of this to stay consistent: a name removed from
 *    the index only matters to the kernel's dentry cache, which forgets on
 *    its own. The counts are what a debug run checks (every entry is gone
 *    after the kernel forgot everything).
 *
 * 4. A file unlinked or replaced while open stays readable: the handle
 *    holds store_blob_open()'s reference, so the store keeps the row (parent
 *    0, nlink 0) and the blob until fs_op_release() calls store_blob_close().
 *    getattr through the kernel keeps working on the row in the meantime.
 *
 * 5. A file open for writing gets size, blocks and mtime from fstat of its
 *    blob (fs_inode_fix_attr()), not from the index: the index learns them
 *    only at flush, fsync and release (store_note_write()), and the kernel
 *    may write without the daemon (passthrough). Any open handle's fd does:
 *    all handles of one inode open the same blob file. setattr times are
 *    applied to the blob too (fs_inode_futimens()) so both agree.
 *
 * 6. Passthrough: the kernel accepts one backing file per inode, so the
 *    first passthrough handle registers its blob fd and later handles share
 *    the id (i_backing, counted by i_nbacking); the last one closes it.
 *
 * 7. Lock: it_lock guards the table, every entry and the handle lists. It
 *    is a leaf lock apart from the notifier's (fs_int.h gives the order);
 *    only fstat, futimens and the backing ioctls run under it, never a
 *    store call.
 */
#include "fs_int.h"
#include "passthrough.h"

#include "landingfs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define ITABLE_MIN_BUCKETS 1024

static size_t bucket_of(const struct fs_itable *it, uint64_t ino)
{
	/* Fibonacci hashing: row ids are dense, so spread them. */
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 20) &
	       (it->it_nbuckets - 1);
}

/*
 * fs_itable_init() prepares an empty table. Returns 0 or -ENOMEM.
 */
int fs_itable_init(struct fs_itable *it)
{
	it->it_buckets = calloc(ITABLE_MIN_BUCKETS, sizeof(*it->it_buckets));
	if (it->it_buckets == NULL)
		return -ENOMEM;
	it->it_nbuckets = ITABLE_MIN_BUCKETS;
	it->it_count = 0;
	pthread_mutex_init(&it->it_lock, NULL);
	return 0;
}

static void note_blob(struct store *st, uint64_t ino, const struct stat *bs)
{
	int64_t mtime = (int64_t)bs->st_mtim.tv_sec * 1000000000 +
			bs->st_mtim.tv_nsec;

	(void)store_note_write(st, ino, (uint64_t)bs->st_size, mtime);
}

/*
 * fs_itable_destroy() frees every entry. Handles still open (the kernel
 * never released them, as after a lazy unmount) have their size recorded
 * and their blobs closed, so that store_close() finds none open. Called
 * once the session loop has ended, with no other thread using the table.
 */
void fs_itable_destroy(struct fs_itable *it, struct store *st)
{
	size_t left = 0;

	if (it->it_buckets == NULL)
		return;
	for (size_t b = 0; b < it->it_nbuckets; b++) {
		struct fs_inode *in = it->it_buckets[b];

		while (in != NULL) {
			struct fs_inode *next = in->i_hnext;
			struct fs_handle *h = in->i_handles;

			while (h != NULL) {
				struct fs_handle *hn = h->h_next;
				struct stat bs;

				/* Record what was written, as release would. */
				if ((h->h_flags & O_ACCMODE) != O_RDONLY &&
				    fstat(h->h_fd, &bs) == 0)
					note_blob(st, h->h_ino, &bs);
				store_blob_close(st, h->h_ino, h->h_fd);
				free(h);
				left++;
				h = hn;
			}
			free(in);
			in = next;
		}
	}
	if (left > 0)
		lf_log(LOG_NOTICE, "closed %zu file handle(s) left open", left);
	free(it->it_buckets);
	it->it_buckets = NULL;
	pthread_mutex_destroy(&it->it_lock);
}

/* Doubles the bucket array; on allocation failure the table just stays
 * denser. Called with it_lock held. */
static void grow(struct fs_itable *it)
{
	size_t oldn = it->it_nbuckets;
	struct fs_inode **old = it->it_buckets;
	struct fs_inode **nb = calloc(oldn * 2, sizeof(*nb));

	if (nb == NULL)
		return;
	it->it_buckets = nb;
	it->it_nbuckets = oldn * 2;
	for (size_t b = 0; b < oldn; b++) {
		struct fs_inode *in = old[b];

		while (in != NULL) {
			struct fs_inode *next = in->i_hnext;
			size_t nbk = bucket_of(it, in->i_ino);

			in->i_hnext = nb[nbk];
			nb[nbk] = in;
			in = next;
		}
	}
	free(old);
}

/* Finds ino's entry, or NULL. it_lock held. */
static struct fs_inode *find(struct fs_itable *it, uint64_t ino)
{
	struct fs_inode *in = it->it_buckets[bucket_of(it, ino)];

	while (in != NULL && in->i_ino != ino)
		in = in->i_hnext;
	return in;
}

/* Finds or creates ino's entry; NULL when out of memory. it_lock held. */
static struct fs_inode *get(struct fs_itable *it, uint64_t ino)
{
	struct fs_inode *in = find(it, ino);
	size_t b;

	if (in != NULL)
		return in;
	in = calloc(1, sizeof(*in));
	if (in == NULL)
		return NULL;
	in->i_ino = ino;
	if (it->it_count >= it->it_nbuckets)
		grow(it);
	b = bucket_of(it, ino);
	in->i_hnext = it->it_buckets[b];
	it->it_buckets[b] = in;
	it->it_count++;
	return in;
}

/* Frees in when nothing holds it any more. it_lock held. */
static void put(struct fs_itable *it, struct fs_inode *in)
{
	struct fs_inode **pp;

	if (in->i_nlookup > 0 || in->i_handles != NULL)
		return;
	pp = &it->it_buckets[bucket_of(it, in->i_ino)];
	while (*pp != in)
		pp = &(*pp)->i_hnext;
	*pp = in->i_hnext;
	it->it_count--;
	free(in);
}

/*
 * fs_inode_ref() adds n to ino's lookup count, creating the entry. Call it
 * before the reply that hands the entry to the kernel. Returns 0 or
 * -ENOMEM. Any thread.
 */
int fs_inode_ref(struct fs_itable *it, uint64_t ino, uint64_t n)
{
	struct fs_inode *in;
	int rc = 0;

	pthread_mutex_lock(&it->it_lock);
	in = get(it, ino);
	if (in == NULL)
		rc = -ENOMEM;
	else
		in->i_nlookup += n;
	pthread_mutex_unlock(&it->it_lock);
	return rc;
}

/*
 * fs_inode_forget() takes n off ino's lookup count (forget). A count that
 * would go below zero is a bug somewhere: it is logged and clamped.
 */
void fs_inode_forget(struct fs_itable *it, uint64_t ino, uint64_t n)
{
	struct fs_inode *in;

	pthread_mutex_lock(&it->it_lock);
	in = find(it, ino);
	if (in == NULL || in->i_nlookup < n) {
		lf_log(LOG_WARNING, "%s: inode %llu forgets %llu of %llu",
		       __func__, (unsigned long long)ino,
		       (unsigned long long)n,
		       in != NULL ? (unsigned long long)in->i_nlookup : 0ULL);
		if (in != NULL)
			in->i_nlookup = 0;
	} else {
		in->i_nlookup -= n;
	}
	if (in != NULL)
		put(it, in);
	pthread_mutex_unlock(&it->it_lock);
}

static bool may_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

/*
 * fs_inode_add_handle() links the open handle h into its inode's list.
 * Returns 0 or -ENOMEM. The table does not own h; fs_inode_del_handle()
 * unlinks it before its owner frees it.
 */
int fs_inode_add_handle(struct fs_itable *it, struct fs_handle *h)
{
	struct fs_inode *in;
	int rc = 0;

	pthread_mutex_lock(&it->it_lock);
	in = get(it, h->h_ino);
	if (in == NULL) {
		rc = -ENOMEM;
	} else {
		h->h_prev = NULL;
		h->h_next = in->i_handles;
		if (in->i_handles != NULL)
			in->i_handles->h_prev = h;
		in->i_handles = h;
		if (may_write(h->h_flags))
			in->i_nwriters++;
	}
	pthread_mutex_unlock(&it->it_lock);
	return rc;
}

/* fs_inode_del_handle() unlinks h from its inode (release). */
void fs_inode_del_handle(struct fs_itable *it, struct fs_handle *h)
{
	struct fs_inode *in;

	pthread_mutex_lock(&it->it_lock);
	in = find(it, h->h_ino);
	if (in != NULL) {
		if (h->h_prev != NULL)
			h->h_prev->h_next = h->h_next;
		else
			in->i_handles = h->h_next;
		if (h->h_next != NULL)
			h->h_next->h_prev = h->h_prev;
		if (may_write(h->h_flags))
			in->i_nwriters--;
		h->h_next = h->h_prev = NULL;
		put(it, in);
	}
	pthread_mutex_unlock(&it->it_lock);
}

/*
 * fs_inode_backing_get() shares or registers the inode's backing id for
 * the open handle h (already added with fs_inode_add_handle()). An
 * existing id is shared even after passthrough was switched off;
 * passthrough_open() refuses new ones then (-ENOTSUP).
 */
int fs_inode_backing_get(struct fs_itable *it, struct fs_handle *h)
{
	struct fs_inode *in;
	int id;

	pthread_mutex_lock(&it->it_lock);
	in = find(it, h->h_ino);
	if (in == NULL) {
		id = -ENOENT;
	} else if (in->i_backing > 0) {
		id = in->i_backing;
		in->i_nbacking++;
		h->h_backing = id;
	} else {
		id = passthrough_open(h->h_fd);
		if (id > 0) {
			in->i_backing = id;
			in->i_nbacking = 1;
			h->h_backing = id;
		}
	}
	pthread_mutex_unlock(&it->it_lock);
	return id;
}

/* fs_inode_backing_put() releases h's share of the backing id. */
void fs_inode_backing_put(struct fs_itable *it, struct fs_handle *h)
{
	struct fs_inode *in;

	pthread_mutex_lock(&it->it_lock);
	in = find(it, h->h_ino);
	if (in != NULL && h->h_backing > 0 && in->i_backing == h->h_backing &&
	    --in->i_nbacking == 0) {
		passthrough_close(in->i_backing);
		in->i_backing = 0;
	}
	h->h_backing = 0;
	pthread_mutex_unlock(&it->it_lock);
}

/*
 * fs_inode_fix_attr() overrides size, blocks and mtime in st (a regular
 * file's attributes from the index) with fstat of its blob when the file is
 * open for writing. Any thread.
 */
void fs_inode_fix_attr(struct fs_itable *it, struct stat *st)
{
	struct fs_inode *in;
	struct stat bs;

	if (!S_ISREG(st->st_mode))
		return;
	pthread_mutex_lock(&it->it_lock);
	in = find(it, st->st_ino);
	if (in != NULL && in->i_nwriters > 0 &&
	    fstat(in->i_handles->h_fd, &bs) == 0) {
		st->st_size = bs.st_size;
		st->st_blocks = bs.st_blocks;
		st->st_mtim = bs.st_mtim;
	}
	pthread_mutex_unlock(&it->it_lock);
}

/*
 * fs_inode_futimens() sets the blob's atime/mtime (ts as for futimens(2))
 * when ino has an open handle, so that fstat agrees with the index.
 */
void fs_inode_futimens(struct fs_itable *it, uint64_t ino,
		       const struct timespec ts[2])
{
	struct fs_inode *in;

	pthread_mutex_lock(&it->it_lock);
	in = find(it, ino);
	if (in != NULL && in->i_handles != NULL &&
	    futimens(in->i_handles->h_fd, ts) != 0)
		lf_debug("%s: futimens of inode %llu: %m", __func__,
			 (unsigned long long)ino);
	pthread_mutex_unlock(&it->it_lock);
}

/* fs_inode_writing() tells whether ino has a handle open for writing. */
bool fs_inode_writing(struct fs_itable *it, uint64_t ino)
{
	struct fs_inode *in;
	bool w;

	pthread_mutex_lock(&it->it_lock);
	in = find(it, ino);
	w = in != NULL && in->i_nwriters > 0;
	pthread_mutex_unlock(&it->it_lock);
	return w;
}

/* fs_inode_count() returns how many inodes the table holds. */
size_t fs_inode_count(struct fs_itable *it)
{
	size_t n;

	pthread_mutex_lock(&it->it_lock);
	n = it->it_count;
	pthread_mutex_unlock(&it->it_lock);
	return n;
}
