/*
 * fs_int.h - what the files of fs/ share. Prototypes are grouped by the
 * file that defines them.
 *
 *   ops.c     the fuse_lowlevel_ops table and every handler, the session
 *   inode.c   the table of inodes the kernel knows: lookup counts, open
 *             handles, attributes of files open for writing
 *   xattr.c   extended attributes: user.landing.* and stored user.*
 *   notify.c  the notifier thread: kernel-cache invalidation
 *
 * Lock order (acquire left before right; never the other way):
 *   fs_dir.d_lock  ->  fs_itable.it_lock  ->  fs_notifier.nt_lock
 * No lock is held across a store call that changes the store (those wait
 * for the writer thread, whose change hook takes nt_lock), nor across a
 * fuse_reply_*() or fuse_lowlevel_notify_*() call.
 */
#ifndef LANDINGFS_FS_INT_H
#define LANDINGFS_FS_INT_H

#include "landingfs/fs.h"
#include "landingfs/reserved.h"
#include "landingfs/store.h"

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

struct fs_notifier;

/* One open file: the blob fd behind a FUSE file handle (fi->fh). */
struct fs_handle {
	uint64_t h_ino;
	int h_fd;                  /* the blob, from store_blob_open() */
	int h_flags;               /* open(2) access mode and flags */
	atomic_bool h_dirty;       /* written since the last store_note_write */
	int h_backing;             /* passthrough backing id or 0; it_lock */
	/* Under passthrough the kernel writes without the daemon: the blob's
	 * size and mtime when last recorded tell flush whether it changed. */
	int64_t h_noted_size;      /* owner thread of each request on h */
	int64_t h_noted_mtime;
	struct fs_handle *h_next;  /* in the inode's list; it_lock */
	struct fs_handle *h_prev;  /* it_lock */
};

/* An inode the kernel holds (lookup count) or that has open handles. */
struct fs_inode {
	uint64_t i_ino;
	uint64_t i_nlookup;          /* it_lock */
	unsigned i_nwriters;         /* open handles that may write; it_lock */
	int i_backing;               /* passthrough backing id or 0; it_lock */
	unsigned i_nbacking;         /* handles using i_backing; it_lock */
	struct fs_handle *i_handles; /* it_lock */
	struct fs_inode *i_hnext;    /* hash chain; it_lock */
};

/* The inode table: a hash of struct fs_inode by inode number. */
struct fs_itable {
	pthread_mutex_t it_lock;   /* everything below and in the entries */
	struct fs_inode **it_buckets;
	size_t it_nbuckets;        /* a power of two */
	size_t it_count;
};

struct fs {
	struct fuse_session *se;
	struct store *st;
	struct fs_opts opts;
	struct fs_itable itable;
	struct fs_notifier *nt;
	bool mounted;
	char abort_path[64];  /* fusectl abort file of the connection, or "" */
	int guard_fd;         /* the guardian's pipe (guardian.c) */
	pid_t guard_pid;      /* 0: no guardian */
	uid_t self_uid;                /* the daemon's user (reserved.h) */
	long stall_ms; /* tests: LANDINGFS_TEST_STALL_RENAME (fs_op_rename) */
	atomic_uint_fast64_t incoming; /* LF_INCOMING_DIR's inode, 0: unknown */
	/* write_buf counters: relaxed atomics, read by fs_counters(). */
	atomic_uint_fast64_t splice_writes;
	atomic_uint_fast64_t splice_bytes;
	atomic_uint_fast64_t memory_writes;
	atomic_uint_fast64_t memory_bytes;
};

/* ops.c */
/* fs_ctx() fills a store context (uid, gid, origin local) from req. */
void fs_ctx(fuse_req_t req, struct store_ctx *ctx);

/* guardian.c: the process that aborts the connection when the daemon dies
 * with a thread stuck in the kernel. */
int fs_guardian_start(struct fs *fs, const char *mountpoint);
void fs_guardian_stop(struct fs *fs);
void fs_conn_abort(struct fs *fs);

/* inode.c */
int fs_itable_init(struct fs_itable *it);
/* fs_itable_destroy() closes handles left open (lazy unmount) and frees
 * the table. */
void fs_itable_destroy(struct fs_itable *it, struct store *st);
/* fs_inode_ref() adds n to ino's lookup count (a reply that hands the
 * kernel an entry). Returns 0 or -ENOMEM. */
int fs_inode_ref(struct fs_itable *it, uint64_t ino, uint64_t n);
/* fs_inode_forget() drops n from ino's lookup count. */
void fs_inode_forget(struct fs_itable *it, uint64_t ino, uint64_t n);
/* fs_inode_add_handle() links h into its inode (creating the entry). */
int fs_inode_add_handle(struct fs_itable *it, struct fs_handle *h);
/* fs_inode_del_handle() unlinks h from its inode. */
void fs_inode_del_handle(struct fs_itable *it, struct fs_handle *h);
/*
 * fs_inode_backing_get() gives h its inode's passthrough backing id,
 * registering h's blob fd (passthrough_open()) when the inode has none: the
 * kernel refuses two backing files for one inode. Returns the id (> 0) or
 * -errno (passthrough unavailable: the handle takes the splice paths).
 */
int fs_inode_backing_get(struct fs_itable *it, struct fs_handle *h);
/* fs_inode_backing_put() drops h's use of the backing id, closing it with
 * the inode's last passthrough handle. */
void fs_inode_backing_put(struct fs_itable *it, struct fs_handle *h);
/*
 * fs_inode_fix_attr() replaces size, blocks and mtime in st with those of
 * the blob (fstat) when ino has a handle open for writing: the kernel may
 * write through other paths than the daemon's, and the index learns the
 * size only at flush and release.
 */
void fs_inode_fix_attr(struct fs_itable *it, struct stat *st);
/* fs_inode_futimens() applies times to the blob of ino when it is open, so
 * that the fstat times of fs_inode_fix_attr() agree with a setattr. */
void fs_inode_futimens(struct fs_itable *it, uint64_t ino,
		       const struct timespec ts[2]);
/* fs_inode_writing() tells whether ino has a handle open for writing. */
bool fs_inode_writing(struct fs_itable *it, uint64_t ino);
/* fs_inode_count() returns the number of entries (tests, debug). */
size_t fs_inode_count(struct fs_itable *it);

/* xattr.c */
void fs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    const char *value, size_t size, int flags);
void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    size_t size);
void fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* notify.c */
/* fs_notifier_start() starts the notifier thread for fs->se. */
int fs_notifier_start(struct fs *fs, struct fs_notifier **out);
/* fs_notifier_stop() stops and joins it, dropping what is queued. Accepts
 * NULL; clears *nt. */
void fs_notifier_stop(struct fs_notifier **nt);
/* fs_notifier_queue() queues changes (copies names); see fs_invalidate(). */
void fs_notifier_queue(struct fs_notifier *nt, const struct store_change *chg,
		       size_t n);

#endif /* LANDINGFS_FS_INT_H */
