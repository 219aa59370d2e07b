/*
 * store.h - the store: an SQLite index plus a directory of blob files.
 *
 * The store is the only owner of on-disk state. It knows nothing of FUSE or
 * HTTP; fs/ and net/ call it. No SQLite type appears here.
 *
 * On disk, STORE is a directory holding:
 *   STORE/index.db      the index (SQLite, WAL), names and attributes
 *   STORE/blobs/XX/ID   file contents, one blob per regular file, named by
 *                       a 64-bit blob id (16 hex digits, XX = its low byte)
 *   STORE/lock          flock()ed by the process that has the store open
 *   STORE/clean         present while the store is closed after a clean
 *                       store_close() (its absence at open means a crash)
 *   STORE/reserve       1 MiB of allocated space, given up when the disk is
 *                       full so that unlink, rmdir, rename, truncate and
 *                       xattr removal can still commit (other changes get
 *                       -ENOSPC); made again once space has been freed
 *
 * Conventions:
 *   - Every int-returning call returns 0 or a negative errno value.
 *   - Inode numbers are index row ids; the root directory is STORE_ROOT_INO.
 *     A number is never reused while the store is open (after a restart,
 *     numbers of files deleted before it may come back).
 *   - Names are 1 to STORE_MAX_NAME bytes, any byte but '/' and NUL; "." and
 *     ".." are refused with -EINVAL (the FUSE layer answers them itself).
 *   - Calls that change the namespace or attributes are carried out by the
 *     store's single writer thread and return only after the transaction
 *     holding them has committed (group commit: several callers may share
 *     one transaction). Read-only calls run on a per-thread read connection.
 *   - Every call is thread-safe unless its comment says otherwise. The change
 *     hook runs on the writer thread and must not call back into the store's
 *     writing calls (it would wait for itself); queue the work instead.
 */
#ifndef LANDINGFS_STORE_H
#define LANDINGFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>

#define STORE_ROOT_INO 1
#define STORE_MAX_NAME 255
#define STORE_SHA256_LEN 32
#define STORE_MAX_DIGEST 64 /* sha-512 */
#define STORE_MAX_PEER 64   /* "[v6addr]:port" */

struct store;
struct store_stage;

/* Who made an entry, and where it came from. */
enum store_origin {
	STORE_ORIGIN_NONE = 0,
	STORE_ORIGIN_LOCAL = 1, /* written through the mount */
	STORE_ORIGIN_NET = 2,   /* uploaded over the network */
};

struct store_opts {
	const char *dir;  /* the store directory; created when missing */
	bool durable;     /* fdatasync blobs and directories, synchronous=FULL */
	bool readonly;    /* refuse every change with -EROFS */
	bool no_recover;  /* open without recovery (fsck uses this) */
	bool no_lock;     /* do not take STORE/lock (fsck of a live store) */
	unsigned group_max; /* most calls in one transaction; 0 = default */
};

/*
 * The caller of a changing call: owner for new entries, origin for the
 * change hook. Permission checks belong to the layer above (the kernel with
 * default_permissions, net/ with its tokens).
 */
struct store_ctx {
	uint32_t uid;
	uint32_t gid;
	enum store_origin origin;
};

/* Attributes of one inode. Times are nanoseconds since the epoch. */
struct store_attr {
	uint64_t ino;
	uint64_t parent;   /* 0 once unlinked (open-unlinked files) */
	uint32_t mode;     /* S_IFDIR, S_IFREG or S_IFLNK | permission bits */
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint64_t size;
	int64_t atime_ns;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t blob;     /* regular files: blob id; else 0 */
};

/* Landing metadata of a regular file: how and when it arrived. */
struct store_landing {
	enum store_origin origin;
	char peer[STORE_MAX_PEER];        /* "" when local */
	int64_t received_ns;              /* when published or created */
	bool has_sha256;
	uint8_t sha256[STORE_SHA256_LEN]; /* of the blob as published */
	char digest_alg[16];              /* a verified client digest, e.g. "sha-512" */
	size_t digest_len;                /* 0 when none */
	uint8_t digest[STORE_MAX_DIGEST];
};

/* store_setattr() mask bits. */
#define STORE_SET_MODE      (1u << 0)
#define STORE_SET_UID       (1u << 1)
#define STORE_SET_GID       (1u << 2)
#define STORE_SET_SIZE      (1u << 3) /* truncates or extends the blob */
#define STORE_SET_ATIME     (1u << 4)
#define STORE_SET_MTIME     (1u << 5)
#define STORE_SET_ATIME_NOW (1u << 6)
#define STORE_SET_MTIME_NOW (1u << 7)
#define STORE_SET_CTIME     (1u << 8)

/* store_rename() flags: the values of RENAME_NOREPLACE and RENAME_EXCHANGE. */
#define STORE_RENAME_NOREPLACE (1u << 0)
#define STORE_RENAME_EXCHANGE  (1u << 1)

/* store_xattr_set() flags: the values of XATTR_CREATE and XATTR_REPLACE. */
#define STORE_XATTR_CREATE  1
#define STORE_XATTR_REPLACE 2

/* ---- open and close --------------------------------------------------- */

/*
 * store_open() opens (creating when missing) the store in opts->dir, takes
 * its lock and recovers it: staging leftovers are removed, unlinked inodes
 * left by a crash are dropped, blob files no row references are reclaimed,
 * and rows whose blob is missing are logged (fsck reports and repairs them).
 * After a crash (no STORE/clean), the recorded size and mtime of every file
 * are also checked against its blob and corrected: a file being written in
 * place keeps the bytes that reached the blob.
 * Returns 0 and *out, -EBUSY when another process holds the store, or another
 * -errno with a log line saying what failed. Start-up only.
 */
int store_open(const struct store_opts *opts, struct store **out);

/*
 * store_close() waits for queued changes, stops the writer thread, closes
 * every connection and releases the lock. Open blobs must have been closed.
 * Accepts NULL; clears *st.
 */
void store_close(struct store **st);

/* store_dir() returns the store directory path given to store_open(). */
const char *store_dir(const struct store *st);

/* ---- namespace -------------------------------------------------------- */

/* store_lookup(): -ENOENT (no such name, or no such parent), -ENOTDIR
 * (parent is not a directory), -EINVAL / -ENAMETOOLONG (bad name). */
int store_lookup(struct store *st, uint64_t parent, const char *name,
		 struct store_attr *out);
/* store_lookup_path() walks a '/'-separated path relative to the root
 * ("" or "/" is the root). Components are validated as names. */
int store_lookup_path(struct store *st, const char *path,
		      struct store_attr *out);
int store_getattr(struct store *st, uint64_t ino, struct store_attr *out);

/*
 * store_setattr() changes the attributes named in mask, taking values from
 * in; STORE_SET_SIZE truncates or extends the blob file first. ctime is set
 * to now unless STORE_SET_CTIME says otherwise. *out gets the result.
 * STORE_SET_SIZE: -EISDIR for a directory, -EINVAL for a symlink; it also
 * sets mtime to now unless a MTIME bit is given, and drops the cached
 * sha-256. Like a write in place, the truncation is not undone if the
 * transaction then fails.
 */
int store_setattr(struct store *st, const struct store_ctx *ctx, uint64_t ino,
		  const struct store_attr *in, unsigned mask,
		  struct store_attr *out);

int store_mkdir(struct store *st, const struct store_ctx *ctx, uint64_t parent,
		const char *name, uint32_t mode, struct store_attr *out);
/* -ENOTEMPTY, -ENOTDIR, -ENOENT, -EBUSY for the root. */
int store_rmdir(struct store *st, const struct store_ctx *ctx, uint64_t parent,
		const char *name);
/* Creates a regular file with a new empty blob; -EEXIST when name exists. */
int store_create(struct store *st, const struct store_ctx *ctx, uint64_t parent,
		 const char *name, uint32_t mode, struct store_attr *out);
/* store_symlink(): target is 1 to LF_MAX_SYMLINK bytes (-EINVAL when
 * empty, -ENAMETOOLONG when longer). */
int store_symlink(struct store *st, const struct store_ctx *ctx,
		  uint64_t parent, const char *name, const char *target,
		  struct store_attr *out);
/* Copies the target, NUL-terminated, into buf; -ENAMETOOLONG when it does
 * not fit, -EINVAL when ino is not a symlink. */
int store_readlink(struct store *st, uint64_t ino, char *buf, size_t size);
/*
 * store_unlink() removes a non-directory (-EISDIR for a directory). If the
 * file's blob is open (store_blob_open), the inode stays with parent 0 and
 * nlink 0 until the last store_blob_close(); otherwise row and blob go now.
 */
int store_unlink(struct store *st, const struct store_ctx *ctx, uint64_t parent,
		 const char *name);
/*
 * store_rename() moves parent/name to newparent/newname atomically, replacing
 * a target of a compatible type (a directory only when it is empty) like
 * rename(2). Flags: STORE_RENAME_NOREPLACE (-EEXIST when the target exists),
 * STORE_RENAME_EXCHANGE (both must exist). Moving a directory under itself
 * is -EINVAL.
 */
int store_rename(struct store *st, const struct store_ctx *ctx,
		 uint64_t parent, const char *name, uint64_t newparent,
		 const char *newname, unsigned flags);

/* One directory entry with its attributes (for readdirplus). */
struct store_dirent {
	struct store_attr attr;
	uint64_t cursor; /* pass back to continue after this entry */
	char name[STORE_MAX_NAME + 1];
};

/*
 * store_readdir() fills up to max entries of directory dir that follow
 * cursor (0 = from the start), in a stable order: entries added or removed
 * meanwhile neither shift nor repeat the others. *n is the number filled;
 * 0 means the end. Cursors are always > 0 (an entry's cursor is its inode
 * number: entries come in inode order, and new entries after old ones).
 * "." and ".." are not listed. -ENOTDIR, -ENOENT.
 */
int store_readdir(struct store *st, uint64_t dir, uint64_t cursor,
		  struct store_dirent *ents, size_t max, size_t *n);

/* ---- file contents ---------------------------------------------------- */

/*
 * store_blob_open() opens the blob of regular file ino with open(2) flags
 * (O_RDONLY, O_WRONLY or O_RDWR, optionally O_TRUNC; O_CLOEXEC is added) and
 * counts the handle, so that an unlinked or replaced file keeps its blob
 * until store_blob_close(). *fd is the caller's to use and is closed by
 * store_blob_close(). -EISDIR, -EINVAL for a symlink, -EROFS for writing
 * on a read-only store, -ENOENT when the inode is gone, which can also
 * happen when a concurrent publish or unlink just replaced it: look the
 * name up again.
 */
int store_blob_open(struct store *st, uint64_t ino, int flags, int *fd);
/* store_blob_close() closes fd and drops the handle; the last close of an
 * unlinked file frees its row and blob. */
void store_blob_close(struct store *st, uint64_t ino, int fd);

/*
 * store_note_write() records the size and mtime of a file written in place
 * through an open blob (called on flush, fsync and release). Its cached
 * sha-256 is dropped.
 */
int store_note_write(struct store *st, uint64_t ino, uint64_t size,
		     int64_t mtime_ns);

/* store_blob_sync() makes the blob of ino durable (fdatasync), for fsync. */
int store_blob_sync(struct store *st, int fd, bool datasync);

/* ---- uploads: stage, then publish ------------------------------------- */

/*
 * store_stage_begin() creates an anonymous staging blob (O_TMPFILE in the
 * blob directory, so that a crash leaves nothing behind). Write the body
 * into store_stage_fd(), then publish it or abort it.
 */
int store_stage_begin(struct store *st, struct store_stage **out);
int store_stage_fd(const struct store_stage *sg);
/* store_stage_abort() discards the staged blob. Accepts NULL; clears *sg. */
void store_stage_abort(struct store_stage **sg);

/* store_publish() flags */
#define STORE_PUBLISH_MKDIRS    (1u << 0) /* create missing parents (mkdir -p) */
#define STORE_PUBLISH_NOREPLACE (1u << 1) /* -EEXIST if the name exists */
#define STORE_PUBLISH_IF_BLOB   (1u << 2) /* replace only if the current blob
					     is if_blob, else -ESTALE */

struct store_publish {
	uint64_t parent;       /* directory to publish in, or 0 to use path */
	const char *name;      /* with parent */
	const char *path;      /* with parent == 0: '/'-separated, from the root */
	unsigned flags;
	uint64_t if_blob;      /* with STORE_PUBLISH_IF_BLOB */
	uint32_t mode;         /* permission bits of the new file; 0 = 0644 */
	uint32_t dir_mode;     /* bits of created parents; 0 = 0755 */
	int64_t mtime_ns;      /* 0 = now */
	struct store_landing landing; /* origin, peer, digests; received 0 = now;
					 origin NONE = the ctx's origin */
};

/*
 * store_publish() binds the staged blob to a name in one transaction: the
 * new file gets a new inode; an existing file of that name is replaced
 * atomically (its inode unlinked, its blob freed after commit or at its last
 * close). Replacing a directory or symlink is -EISDIR / -EEXIST; a
 * non-directory parent -ENOTDIR. The stage is consumed whatever the result
 * (*sg cleared). *out gets the new file's attributes; *replaced tells whether
 * a file was replaced. In durable mode the blob and its directory are
 * fdatasync'ed before the commit. With STORE_PUBLISH_IF_BLOB, a missing
 * file counts as blob 0 (if_blob 0: publish only if there is no file).
 * Errors: -ENOENT (missing parent without MKDIRS), -ENOTDIR, -EISDIR,
 * -EEXIST, -ESTALE, -EINVAL (bad path or name, unknown flags, digest_len
 * over STORE_MAX_DIGEST), -ENAMETOOLONG, -EROFS, and I/O errors (-EIO,
 * -ENOSPC). On any error nothing is visible and the blob is gone.
 */
int store_publish(struct store *st, const struct store_ctx *ctx,
		  struct store_stage **sg, const struct store_publish *pub,
		  struct store_attr *out, bool *replaced);

/* ---- landing metadata and extended attributes ------------------------- */

int store_landing_get(struct store *st, uint64_t ino,
		      struct store_landing *out);
/* store_set_sha256() records a sha-256 computed lazily, only if ino still
 * holds blob (-ESTALE otherwise). */
int store_set_sha256(struct store *st, uint64_t ino, uint64_t blob,
		     const uint8_t sha256[STORE_SHA256_LEN]);

/* With size 0, *len gets the value's length only. -ENODATA, -ERANGE. */
int store_xattr_get(struct store *st, uint64_t ino, const char *name,
		    void *buf, size_t size, size_t *len);
/* store_xattr_set(): -EEXIST (CREATE), -ENODATA (REPLACE), -ENOENT, -E2BIG
 * for a value over LF_MAX_XATTR_VALUE, -ERANGE for a name over
 * LF_MAX_XATTR_NAME, -EINVAL for an empty name or bad flags. Names are
 * stored as given: the namespace policy ("user.") is the caller's. */
int store_xattr_set(struct store *st, const struct store_ctx *ctx,
		    uint64_t ino, const char *name, const void *value,
		    size_t size, int flags);
/* NUL-separated names; with size 0, *len gets the length needed. */
int store_xattr_list(struct store *st, uint64_t ino, char *buf, size_t size,
		     size_t *len);
int store_xattr_remove(struct store *st, const struct store_ctx *ctx,
		       uint64_t ino, const char *name);

/* ---- whole-store calls ------------------------------------------------ */

/* statvfs of the blob filesystem, with f_files/f_ffree from the index. */
int store_statfs(struct store *st, struct statvfs *out);

struct store_stats {
	uint64_t files, dirs, symlinks;
	uint64_t bytes;
	uint64_t net_files, net_bytes, local_files, local_bytes;
};
int store_stats(struct store *st, struct store_stats *out);

struct store_fsck_result {
	uint64_t missing_blobs;  /* rows whose blob file is gone */
	uint64_t orphan_blobs;   /* blob files no row references */
	uint64_t staging_left;   /* staging leftovers */
	uint64_t bad_rows;       /* dangling parents, bad types, size mismatch */
	uint64_t repaired;
};
/*
 * store_fsck() checks the index against the blob directory and the index's
 * own integrity (PRAGMA integrity_check, parent links), reporting one line
 * per problem through report(arg, line). With repair, it fixes what it can:
 * removes rows whose blob is missing, reclaims orphan blobs, fixes sizes.
 * Returns 0 when it ran (check res for problems) or -errno (-EROFS for a
 * repair on a read-only store, -EBUSY for a repair without the lock). It runs alone on the writer thread, so
 * changes made through this store wait for it; report is called there.
 * On a store another process has open (no_lock), a publish in flight
 * there shows as an orphan blob and its staging file is skipped: such a
 * store can be checked, not repaired.
 */
int store_fsck(struct store *st, bool repair,
	       void (*report)(void *arg, const char *line), void *arg,
	       struct store_fsck_result *res);

/* ---- change hook ------------------------------------------------------ */

enum store_change_kind {
	STORE_CHANGE_ADD,     /* name bound in parent (new or replacing) */
	STORE_CHANGE_REMOVE,  /* name removed from parent */
	STORE_CHANGE_ATTR,    /* attributes or contents of ino changed */
};

struct store_change {
	enum store_change_kind kind;
	enum store_origin origin; /* of the call that made the change */
	uint64_t parent;
	uint64_t ino;
	const char *name;         /* valid during the hook call only */
};

typedef void (*store_change_fn)(void *arg, const struct store_change *chg,
				size_t n);

/*
 * store_set_change_hook() registers fn, called on the writer thread after
 * each commit with the changes it made, with no store lock held. Set it
 * before the layers above start changing the store.
 */
void store_set_change_hook(struct store *st, store_change_fn fn, void *arg);

/* ---- fault injection (tests) ------------------------------------------ */

enum store_fault {
	STORE_FAULT_WRITE,  /* blob writes and truncates done by the store */
	STORE_FAULT_FSYNC,  /* fdatasync / fsync */
	STORE_FAULT_SQL,    /* sqlite3_step on the write connection */
	STORE_FAULT_NR
};

/*
 * store_fault_set() makes the nth (1-based) future operation of kind fail
 * with err (a positive errno; for STORE_FAULT_SQL, EIO, ENOSPC or EBUSY map
 * to SQLITE_IOERR, SQLITE_FULL, SQLITE_BUSY). n == 0 disarms. Process-wide;
 * for tests. The environment variable LANDINGFS_FAULT="kind:n:errno" (kind
 * write, fsync or sql; errno a number or EIO, ENOSPC, EBUSY, EDQUOT, EROFS,
 * ENOMEM) arms it at store_open(); counting starts there, so a small n can
 * hit store_open() itself. A malformed value makes store_open() fail with
 * -EINVAL. Write points: linking a staged blob into place, creating an
 * empty blob (store_create), truncating (STORE_SET_SIZE, O_TRUNC). Fsync
 * points: durable-mode syncs and store_blob_sync(). An SQL fault makes the
 * step fail without running. LANDINGFS_NO_TMPFILE (any value) makes
 * store_open() stage in STORE/staging as if O_TMPFILE were missing.
 */
void store_fault_set(enum store_fault kind, unsigned long n, int err);

/*
 * store_fault_count() returns how many operations of kind the store has
 * performed since the last store_fault_set() of that kind, armed or not:
 * a test runs a call once with n == 0 to learn how many points it has, then
 * fails each in turn. An armed fault has fired once the count reaches n.
 */
unsigned long store_fault_count(enum store_fault kind);

#endif /* LANDINGFS_STORE_H */
