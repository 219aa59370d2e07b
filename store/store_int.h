/*
 * store_int.h - what the files of store/ share, and nothing else sees.
 *
 * struct store is defined here; its members carry the st_ prefix so that a
 * grep finds every use. Prototypes are grouped by the file that defines
 * them. The index (index.c) is reached only through the ix_* calls below,
 * so no other file says sqlite3_.
 *
 * Locks: st_q_mu (the queue), st_open_mu (open counts, pending blobs) and
 * st_conns_mu (the list of read connections) are each taken alone, never
 * nested, and never held across SQL, file system calls or the change
 * hook. The write connection needs no lock: one thread owns it.
 */
#ifndef LANDINGFS_STORE_INT_H
#define LANDINGFS_STORE_INT_H

#include "landingfs/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#define STORE_OPEN_BUCKETS 256
#define STORE_DEFAULT_GROUP_MAX 256
/* Space kept in STORE/reserve so that deletes commit on a full disk. */
#define STORE_RESERVE (1024 * 1024)
/* "XX/" + 16 hex digits + NUL */
#define BLOB_NAME_MAX 24

/* How staged blobs get their name (struct store st_link). */
#define BLOB_LINK_EMPTY_PATH 0 /* O_TMPFILE, linkat(fd, "", AT_EMPTY_PATH) */
#define BLOB_LINK_PROC 1       /* O_TMPFILE, linkat of /proc/self/fd/N */
#define BLOB_LINK_STAGING 2    /* a named file in STORE/staging, renamed */

struct ix_conn;

/*
 * The arguments of a changing call. The caller fills what its call needs
 * and keeps the struct alive until the op is done; the op's run function
 * reads it on the writer thread.
 */
struct op_req {
	uint64_t parent, newparent, ino, blob;
	const char *name, *newname, *target, *path;
	unsigned flags, mask;
	uint32_t mode, uid, gid;
	uint64_t size;
	int64_t mtime_ns;
	const struct store_attr *in;
	const struct store_publish *pub;
	const struct store_landing *landing;
	const uint8_t *sha256;
	const void *value;
	size_t value_size;
	struct store_attr *out;
	bool *replaced;
	bool repair;
	void (*report)(void *arg, const char *line);
	void *report_arg;
	struct store_fsck_result *fsck;
};

/*
 * One queued changing call. The writer thread runs op_run inside a
 * savepoint of the batch's transaction; op_solo ops run alone and manage
 * their own transactions (fsck). Changes and blobs to free are collected
 * while running and acted on only after the commit.
 */
struct store_op {
	struct store_op *op_next;
	int (*op_run)(struct store *st, struct store_op *op);
	struct op_req *op_req;
	enum store_origin op_origin;
	bool op_solo;
	bool op_frees;  /* may free space: runs on the reserve (writer.c) */
	bool op_skip;   /* not in this transaction (writer.c) */
	bool op_done;   /* protected by st_q_mu */
	pthread_cond_t *op_cv; /* the caller waits here for op_done */
	int op_rc;
	int64_t op_now; /* the time of the change, set by the writer */
	struct store_change *op_chg; /* names owned by the op */
	size_t op_nchg, op_chgcap;
	uint64_t *op_free;
	size_t op_nfree, op_freecap;
	int64_t op_dinodes; /* inodes added less inodes deleted */
};

/* Open-handle count of one inode (store_blob_open/close). */
struct open_ent {
	uint64_t oe_ino;
	unsigned oe_count;
	bool oe_orphan; /* unlinked while open: the last close reaps it */
	struct open_ent *oe_next;
};

/* A per-thread read connection, listed so that store_close closes all. */
struct rconn {
	struct store *rc_st;
	struct ix_conn *rc_conn;
	struct rconn *rc_prev, *rc_next;
};

struct store_stage {
	struct store *sg_st;
	int sg_fd;
	char sg_name[40]; /* name in STORE/staging, "" with O_TMPFILE */
};

struct store {
	char *st_dir;   /* as given to store_open() */
	char *st_index; /* absolute path of index.db (the cwd may change) */
	int st_dirfd;   /* STORE */
	int st_blobfd;  /* STORE/blobs */
	int st_stagefd; /* STORE/staging, -1 when O_TMPFILE works */
	int st_lockfd;  /* STORE/lock, -1 with no_lock */
	int st_link;    /* BLOB_LINK_*, found by blob_dirs_open() */
	bool st_marker; /* owns STORE/clean: made at close, see store_open */
	bool st_reserve_ok; /* STORE/reserve is there; writer thread */
	bool st_durable;
	bool st_readonly;
	unsigned st_group_max;
	atomic_uint_fast64_t st_next_blob;
	atomic_uint_fast64_t st_next_stage; /* stages begun: names them in
						STORE/staging, else picks
						the blobs/XX to stage in */

	/* The write connection: the opening thread until the writer starts,
	 * then the writer thread alone; the same for the next inode number
	 * (never reused while the store is open). */
	struct ix_conn *st_wconn;
	uint64_t st_next_ino;
	atomic_int_fast64_t st_ninodes; /* rows in the index, for statfs */

	pthread_key_t st_rkey;
	bool st_rkey_ok;
	pthread_mutex_t st_conns_mu;
	struct rconn *st_conns; /* protected by st_conns_mu */

	pthread_t st_writer;
	bool st_writer_started;
	pthread_mutex_t st_q_mu;
	pthread_cond_t st_q_cv;    /* the writer waits for ops */
	struct store_op *st_q_head, *st_q_tail; /* protected by st_q_mu */
	bool st_stopping;                       /* protected by st_q_mu */

	pthread_mutex_t st_open_mu;
	struct open_ent *st_open[STORE_OPEN_BUCKETS]; /* by st_open_mu */
	uint64_t *st_pending; /* linked, uncommitted blobs; by st_open_mu */
	size_t st_npending, st_pendcap;

	store_change_fn st_hook; /* protected by st_q_mu */
	void *st_hook_arg;       /* protected by st_q_mu */
};

/* blob.c */
void blob_name(uint64_t id, char buf[BLOB_NAME_MAX]);
bool blob_parse_name(const char *name, uint64_t *id);
int blob_dirs_open(struct store *st);
void blob_dirs_close(struct store *st);
uint64_t blob_new_id(struct store *st);
int blob_create_empty(struct store *st, uint64_t *id);
int blob_link_stage(struct store *st, struct store_stage *sg, uint64_t *id);
void blob_unlink(struct store *st, uint64_t id);
int blob_open_fd(struct store *st, uint64_t id, int flags, int *fd);
int blob_truncate(struct store *st, uint64_t id, uint64_t size);
int blob_sync_dir(struct store *st, uint64_t id);
void blob_pending_add(struct store *st, uint64_t id);
void blob_pending_del(struct store *st, uint64_t id);
bool blob_pending_has(struct store *st, uint64_t id);
int blob_open_ref(struct store *st, uint64_t ino);
unsigned blob_open_unref(struct store *st, uint64_t ino, bool *orphan);
bool blob_open_mark_orphan(struct store *st, uint64_t ino);
unsigned blob_open_count(struct store *st, uint64_t ino);
void blob_open_free(struct store *st);

/* fault.c */
int fault_check(enum store_fault kind);
int fault_env(void);

/* index.c */
int ix_open(const char *path, bool write, bool durable, struct ix_conn **out);
void ix_close(struct ix_conn *c);
int ix_schema(struct ix_conn *c, int64_t now, uint32_t uid, uint32_t gid);
int ix_begin(struct ix_conn *c, bool immediate);
int ix_commit(struct ix_conn *c);
void ix_rollback(struct ix_conn *c);
int ix_savepoint(struct ix_conn *c);
int ix_release(struct ix_conn *c);
int ix_rollback_to(struct ix_conn *c);
bool ix_in_txn(struct ix_conn *c);
int ix_get(struct ix_conn *c, uint64_t ino, struct store_attr *out);
int ix_lookup(struct ix_conn *c, uint64_t parent, const char *name,
	      struct store_attr *out);
int ix_target(struct ix_conn *c, uint64_t ino, char *buf, size_t size);
int ix_landing(struct ix_conn *c, uint64_t ino, struct store_landing *out);
int ix_insert(struct ix_conn *c, const struct store_attr *a, const char *name,
	      const char *target, const struct store_landing *l,
	      uint64_t *ino);
int ix_set_attr(struct ix_conn *c, const struct store_attr *a);
int ix_move(struct ix_conn *c, uint64_t ino, uint64_t parent,
	    const char *name);
int ix_touch_dir(struct ix_conn *c, uint64_t ino, int64_t now, int dlink);
int ix_delete(struct ix_conn *c, uint64_t ino);
int ix_has_children(struct ix_conn *c, uint64_t ino, bool *yes);
int ix_readdir(struct ix_conn *c, uint64_t dir, uint64_t cursor,
	       struct store_dirent *ents, size_t max, size_t *n);
int ix_note_write(struct ix_conn *c, uint64_t ino, uint64_t size,
		  int64_t mtime, int64_t ctime);
int ix_set_sha256(struct ix_conn *c, uint64_t ino, uint64_t blob,
		  const uint8_t *sha, bool *changed);
int ix_xattr_get(struct ix_conn *c, uint64_t ino, const char *name,
		 void *buf, size_t size, size_t *len);
int ix_xattr_set(struct ix_conn *c, uint64_t ino, const char *name,
		 const void *value, size_t size, int flags);
int ix_xattr_list(struct ix_conn *c, uint64_t ino, char *buf, size_t size,
		  size_t *len);
int ix_xattr_remove(struct ix_conn *c, uint64_t ino, const char *name);
int ix_stats(struct ix_conn *c, struct store_stats *out);
int ix_count(struct ix_conn *c, uint64_t *inodes);
int ix_max_ino(struct ix_conn *c, uint64_t *max);
int ix_blob_ids(struct ix_conn *c, uint64_t **ids, size_t *n);
int ix_unreachable(struct ix_conn *c, uint64_t **inos, size_t *n);
int ix_integrity(struct ix_conn *c,
		 void (*line)(void *arg, const char *text), void *arg,
		 uint64_t *problems);
/* One row as fsck sees it. */
struct ix_fsck_row {
	struct store_attr attr; /* attr.parent is 0 for NULL */
	bool parent_null;
	bool parent_found;
	uint32_t parent_mode;
	bool has_target;
};
int ix_fsck_rows(struct ix_conn *c,
		 int (*fn)(void *arg, const struct ix_fsck_row *row),
		 void *arg);
int ix_fix_size(struct ix_conn *c, uint64_t ino, uint64_t size,
		int64_t mtime_ns);

/* ops.c: the bodies of the changing calls, run on the writer thread. */
int op_mkdir(struct store *st, struct store_op *op);
int op_rmdir(struct store *st, struct store_op *op);
int op_create(struct store *st, struct store_op *op);
int op_symlink(struct store *st, struct store_op *op);
int op_unlink(struct store *st, struct store_op *op);
int op_rename(struct store *st, struct store_op *op);
int op_setattr(struct store *st, struct store_op *op);
int op_note_write(struct store *st, struct store_op *op);
int op_publish(struct store *st, struct store_op *op);
int op_set_sha256(struct store *st, struct store_op *op);
int op_xattr_set(struct store *st, struct store_op *op);
int op_xattr_remove(struct store *st, struct store_op *op);
int op_reap(struct store *st, struct store_op *op);

/* recover.c */
int store_recover(struct store *st, bool unclean);
int op_fsck(struct store *st, struct store_op *op);

/* store.c */
int store_name_check(const char *name);
int64_t store_now(void);
struct ix_conn *store_rconn(struct store *st, int *rc);

/* writer.c */
int writer_start(struct store *st);
void writer_stop(struct store *st);
int writer_run(struct store *st, struct store_op *op);
void writer_reserve_make(struct store *st);
int op_note_change(struct store_op *op, enum store_change_kind kind,
		   uint64_t parent, uint64_t ino, const char *name);
int op_free_blob(struct store_op *op, uint64_t blob);

#endif /* LANDINGFS_STORE_INT_H */
