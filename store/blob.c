/*
 * blob.c - blob files: staging, linking into place, opening, freeing, and
 * the counts that keep open blobs alive.
 *
 * It owns STORE/blobs (and STORE/staging when O_TMPFILE is not available)
 * and knows nothing of names or SQL: which blob a file has is the index's
 * business (ops.c decides, index.c records).
 *
 * NOTES ON THE DESIGN OF BLOBS
 *
 * A blob is the contents of one regular file, in STORE/blobs/XX/ID: ID is a
 * 64-bit blob id in 16 hex digits, XX its low byte. Ids are not inode
 * numbers: a blob gets its id, and its name on disk, before the transaction
 * that makes a row point at it commits.
 *
 *                 store_stage_begin()            blob_link_stage()
 *    (nothing) ---------------------> STAGED ----------------------> LINKED
 *                                       |                              |
 *                 store_stage_abort()   |      op fails or commit      |
 *    (nothing) <------------------------+      fails: the publishing   |
 *                                               caller unlinks it      |
 *                                                                      |
 *                 commit of op_publish / op_create (writer.c)          v
 *                 ------------------------------------------------ PUBLISHED
 *                                                                      |
 *      unlinked or replaced, not open: after the commit (writer.c)     |
 *      unlinked or replaced while open: row kept as an orphan          |
 *      (parent NULL, nlink 0) until the last store_blob_close(),       |
 *      then op_reap frees it after its own commit                      v
 *                                                                  RECLAIMED
 *
 * STAGED is an O_TMPFILE in one of STORE/blobs/XX, taken in turn (no name:
 * a crash leaves nothing), or, where O_TMPFILE is missing, a file in
 * STORE/staging. Staging in turn across the subdirectories, which ext4
 * spreads over its block groups (spread_subdirs()), spreads new inodes
 * over those groups too: ext4 without a journal skips every inode of a
 * group deleted in the last minutes when it allocates one there, so a
 * replace-heavy load that creates and deletes all its inodes in the one
 * group of STORE/blobs pays a scan per upload that grows with the deletion
 * rate.
 *
 * LINKED is a name in STORE/blobs with no committed row; its id is in
 * st_pending until the op is done.
 *
 * Invariants:
 *  1. A committed row with a blob id has its blob file on disk: the file is
 *     linked (blob_link_stage, blob_create_empty) before the commit that
 *     references it, and unlinked only after the commit that drops the
 *     last reference (writer.c post-commit, op_reap).
 *  2. Every blob file on disk is referenced by a committed row, or is in
 *     st_pending (linked, its op queued or running), or was freed by a
 *     commit whose after-commit unlink has not run yet (the writer thread
 *     is between the two, so fsck, which runs there, never sees it), or is
 *     a leftover of a crash that store_recover() reclaims before anyone
 *     else runs.
 *  3. Ids are never reused while a store is open: st_next_blob starts above
 *     every id in the index and on disk (store_recover) and only grows; a
 *     name that exists anyway (EEXIST) makes the caller take the next id.
 *  4. A crash anywhere leaves one of: nothing (STAGED with O_TMPFILE), a
 *     file in STORE/staging, an unreferenced blob file (LINKED, or freed
 *     but not yet unlinked), or orphan rows (nlink 0). Opening the store
 *     removes all four (recover.c); no visible name ever points at a
 *     partial blob, because names are bound only by the commit.
 *  5. A blob whose inode is open (st_open count > 0) is not freed by
 *     unlink or replace; the inode becomes an orphan and the last close
 *     frees it (op_reap). The writer asks and marks in one step
 *     (blob_open_mark_orphan), so a close racing with an uncommitted
 *     unlink still sees the mark and has the orphan reaped; a mark left
 *     by an op that was rolled back only costs a reap that finds the
 *     inode linked and does nothing.
 *  6. Durable mode: the staged data is fdatasync'ed before the link, the
 *     blob's directory fsync'ed after it, and the commit uses
 *     synchronous=FULL, so an acknowledged publish survives power loss.
 *     Default mode keeps data in the page cache and commits with
 *     synchronous=NORMAL: it survives a crash of the process.
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "landingfs/log.h"

/* blob_name() writes the name of blob id relative to STORE/blobs. */
void blob_name(uint64_t id, char buf[BLOB_NAME_MAX])
{
	snprintf(buf, BLOB_NAME_MAX, "%02x/%016" PRIx64,
		 (unsigned)(id & 0xff), id);
}

/* blob_parse_name() parses a file name in a blob directory (16 lowercase
 * hex digits) into *id; false when it is not a blob name. */
bool blob_parse_name(const char *name, uint64_t *id)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 16; i++) {
		char ch = name[i];

		if (ch >= '0' && ch <= '9')
			v = v << 4 | (uint64_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v = v << 4 | (uint64_t)(ch - 'a' + 10);
		else
			return false;
	}
	if (name[16] != '\0' || v == 0)
		return false;
	*id = v;
	return true;
}

/* Links the O_TMPFILE fd to name in dirfd, the way st_link says. */
static int link_tmpfile(int how, int fd, int dirfd, const char *name)
{
	char proc[32];

	if (how == BLOB_LINK_EMPTY_PATH)
		return linkat(fd, "", dirfd, name, AT_EMPTY_PATH);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW);
}

/* open_tmpfile() makes an unnamed file in directory dir of dirfd. Returns
 * the fd, or -1 with errno set. */
static int open_tmpfile(int dirfd, const char *dir)
{
	return openat(dirfd, dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

/*
 * Finds how to stage here: an O_TMPFILE linked with AT_EMPTY_PATH (Linux
 * 6.10 and later allow it for the file's opener; before, only with
 * CAP_DAC_READ_SEARCH), or through /proc/self/fd (needs /proc), or, when
 * neither works, a named file in STORE/staging (BLOB_LINK_STAGING).
 */
static int probe_link(int dirfd)
{
	static const int ways[] = {BLOB_LINK_EMPTY_PATH, BLOB_LINK_PROC};
	char name[32];
	int fd, how = BLOB_LINK_STAGING;

	if (getenv("LANDINGFS_NO_TMPFILE"))
		return BLOB_LINK_STAGING;
	fd = open_tmpfile(dirfd, ".");
	if (fd < 0)
		return BLOB_LINK_STAGING;
	snprintf(name, sizeof(name), ".probe-%ld", (long)getpid());
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		unlinkat(dirfd, name, 0);
		if (link_tmpfile(ways[i], fd, dirfd, name) == 0) {
			unlinkat(dirfd, name, 0);
			how = ways[i];
			break;
		}
	}
	close(fd);
	return how;
}

/*
 * spread_subdirs() asks ext4 to place the subdirectories of STORE/blobs
 * made from now on in block groups of their own, as it does for top-level
 * directories (FS_TOPDIR_FL, chattr +T): see STAGED above. Best effort:
 * other file systems refuse the flag, or have no block groups.
 */
static void spread_subdirs(int blobfd)
{
	int flags;

	if (ioctl(blobfd, FS_IOC_GETFLAGS, &flags) < 0 ||
	    (flags & FS_TOPDIR_FL))
		return;
	flags |= FS_TOPDIR_FL;
	(void)ioctl(blobfd, FS_IOC_SETFLAGS, &flags);
}

/*
 * blob_dirs_open() creates (when missing) and opens STORE/blobs, and
 * STORE/staging when an O_TMPFILE cannot be made and linked there (or
 * LANDINGFS_NO_TMPFILE is set, for tests). The 256 subdirectories are
 * made on first use (blob_subdir). Start-up only.
 */
int blob_dirs_open(struct store *st)
{
	int rc;

	st->st_blobfd = -1;
	st->st_stagefd = -1;
	if (mkdirat(st->st_dirfd, "blobs", 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		lf_warn("store: mkdir %s/blobs", st->st_dir);
		return rc;
	}
	st->st_blobfd = openat(st->st_dirfd, "blobs",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->st_blobfd < 0) {
		rc = -errno;
		lf_warn("store: open %s/blobs", st->st_dir);
		return rc;
	}
	if (!st->st_readonly)
		spread_subdirs(st->st_blobfd);
	st->st_link = probe_link(st->st_blobfd);
	if (st->st_link == BLOB_LINK_STAGING) {
		if (mkdirat(st->st_dirfd, "staging", 0700) < 0 &&
		    errno != EEXIST) {
			rc = -errno;
			lf_warn("store: mkdir %s/staging", st->st_dir);
			goto err_close;
		}
		st->st_stagefd = openat(st->st_dirfd, "staging",
					O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (st->st_stagefd < 0) {
			rc = -errno;
			lf_warn("store: open %s/staging", st->st_dir);
			goto err_close;
		}
		lf_log(LOG_INFO, "store: no linkable O_TMPFILE, staging in "
		       "%s/staging", st->st_dir);
	}
	return 0;

err_close:
	close(st->st_blobfd);
	st->st_blobfd = -1;
	return rc;
}

/* blob_dirs_close() closes what blob_dirs_open() opened. */
void blob_dirs_close(struct store *st)
{
	if (st->st_stagefd >= 0)
		close(st->st_stagefd);
	if (st->st_blobfd >= 0)
		close(st->st_blobfd);
	st->st_stagefd = -1;
	st->st_blobfd = -1;
}

/* Makes the subdirectory of blob id (it was missing); durable mode syncs
 * STORE/blobs so that the new directory survives power loss. */
static int blob_subdir(struct store *st, uint64_t id)
{
	char sub[4];

	snprintf(sub, sizeof(sub), "%02x", (unsigned)(id & 0xff));
	if (mkdirat(st->st_blobfd, sub, 0700) < 0) {
		if (errno == EEXIST)
			return 0;
		return -errno;
	}
	if (st->st_durable && fsync(st->st_blobfd) < 0)
		return -errno;
	return 0;
}

/* blob_new_id() hands out the next blob id. Any thread. */
uint64_t blob_new_id(struct store *st)
{
	return atomic_fetch_add(&st->st_next_blob, 1);
}

/* blob_sync_dir() fsyncs the directory holding blob id (durable mode). A
 * fault injection point (fsync). */
int blob_sync_dir(struct store *st, uint64_t id)
{
	char sub[4];
	int fd, rc;

	rc = fault_check(STORE_FAULT_FSYNC);
	if (rc < 0)
		return rc;
	snprintf(sub, sizeof(sub), "%02x", (unsigned)(id & 0xff));
	fd = openat(st->st_blobfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/*
 * blob_create_empty() creates a new empty blob file, records its id as
 * pending (the caller removes it once its op is done) and returns it in
 * *id. A fault injection point (write). Any thread.
 */
int blob_create_empty(struct store *st, uint64_t *id)
{
	char name[BLOB_NAME_MAX];
	uint64_t bid;
	int fd, rc;

	rc = fault_check(STORE_FAULT_WRITE);
	if (rc < 0)
		return rc;
	for (;;) {
		bid = blob_new_id(st);
		blob_name(bid, name);
		blob_pending_add(st, bid);
		fd = openat(st->st_blobfd, name,
			    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0 && errno == ENOENT && blob_subdir(st, bid) == 0)
			fd = openat(st->st_blobfd, name,
				    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
				    0600);
		if (fd >= 0)
			break;
		rc = -errno;
		blob_pending_del(st, bid);
		if (rc != -EEXIST)
			return rc;
	}
	close(fd);
	if (st->st_durable) {
		rc = blob_sync_dir(st, bid);
		if (rc < 0) {
			unlinkat(st->st_blobfd, name, 0);
			blob_pending_del(st, bid);
			return rc;
		}
	}
	*id = bid;
	return 0;
}

/*
 * blob_link_stage() gives the staged blob sg its name in STORE/blobs: with
 * O_TMPFILE a linkat() (AT_EMPTY_PATH or /proc/self/fd/N, whichever
 * probe_link() found to work), else a rename out of STORE/staging.
 * Durable mode syncs the data first and the directory after.
 * The id is recorded as pending (the caller removes it once its op is done)
 * and returned in *id. The caller unlinks the blob if the op then fails.
 * Fault injection points: fsync (twice when durable), write (the link).
 */
int blob_link_stage(struct store *st, struct store_stage *sg, uint64_t *id)
{
	char name[BLOB_NAME_MAX];
	uint64_t bid;
	int rc;

	if (st->st_durable) {
		rc = fault_check(STORE_FAULT_FSYNC);
		if (rc == 0 && fdatasync(sg->sg_fd) < 0)
			rc = -errno;
		if (rc < 0)
			return rc;
	}
	rc = fault_check(STORE_FAULT_WRITE);
	if (rc < 0)
		return rc;
	for (;;) {
		bid = blob_new_id(st);
		blob_name(bid, name);
		blob_pending_add(st, bid);
		for (int tries = 0; tries < 2; tries++) {
			if (sg->sg_name[0])
				rc = renameat2(st->st_stagefd, sg->sg_name,
					       st->st_blobfd, name,
					       RENAME_NOREPLACE);
			else
				rc = link_tmpfile(st->st_link, sg->sg_fd,
						  st->st_blobfd, name);
			if (rc == 0 || errno != ENOENT || tries > 0)
				break;
			rc = blob_subdir(st, bid);
			if (rc < 0) {
				errno = -rc;
				break;
			}
		}
		if (rc == 0)
			break;
		rc = -errno;
		blob_pending_del(st, bid);
		if (rc != -EEXIST) {
			lf_err(-rc, "store: link blob %s", name);
			return rc;
		}
	}
	sg->sg_name[0] = '\0';
	if (st->st_durable) {
		rc = blob_sync_dir(st, bid);
		if (rc < 0) {
			unlinkat(st->st_blobfd, name, 0);
			blob_pending_del(st, bid);
			return rc;
		}
	}
	*id = bid;
	return 0;
}

/* blob_unlink() removes the file of blob id; a missing file is fine. */
void blob_unlink(struct store *st, uint64_t id)
{
	char name[BLOB_NAME_MAX];

	blob_name(id, name);
	if (unlinkat(st->st_blobfd, name, 0) < 0 && errno != ENOENT)
		lf_warn("store: unlink blob %s", name);
}

/*
 * blob_open_fd() opens blob id with flags (O_CLOEXEC added). O_TRUNC is
 * done by the store, as a fault injection point (write). *fd is the
 * caller's.
 */
int blob_open_fd(struct store *st, uint64_t id, int flags, int *fd)
{
	char name[BLOB_NAME_MAX];
	int f, rc;

	blob_name(id, name);
	f = openat(st->st_blobfd, name,
		   (flags & ~(O_TRUNC | O_CREAT | O_EXCL)) | O_CLOEXEC);
	if (f < 0)
		return -errno;
	if (flags & O_TRUNC) {
		rc = fault_check(STORE_FAULT_WRITE);
		if (rc == 0 && ftruncate(f, 0) < 0)
			rc = -errno;
		if (rc < 0) {
			close(f);
			return rc;
		}
	}
	*fd = f;
	return 0;
}

/* blob_truncate() sets the length of blob id. A fault injection point
 * (write). */
int blob_truncate(struct store *st, uint64_t id, uint64_t size)
{
	int fd = -1, rc;

	rc = fault_check(STORE_FAULT_WRITE);
	if (rc < 0)
		return rc;
	rc = blob_open_fd(st, id, O_WRONLY, &fd);
	if (rc < 0)
		return rc;
	if (ftruncate(fd, (off_t)size) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* ---- the pending set: linked blobs whose op is not done yet ---------- */

/* blob_pending_add() records id as linked but not committed. */
void blob_pending_add(struct store *st, uint64_t id)
{
	pthread_mutex_lock(&st->st_open_mu);
	if (st->st_npending == st->st_pendcap) {
		size_t cap = st->st_pendcap ? st->st_pendcap * 2 : 64;
		uint64_t *v = realloc(st->st_pending, cap * sizeof(*v));

		if (!v) {
			/* Without the entry an in-process fsck could take
			 * the file for an orphan; say so and go on. */
			pthread_mutex_unlock(&st->st_open_mu);
			lf_warnx("store: pending set full");
			return;
		}
		st->st_pending = v;
		st->st_pendcap = cap;
	}
	st->st_pending[st->st_npending++] = id;
	pthread_mutex_unlock(&st->st_open_mu);
}

/* blob_pending_del() forgets id (its op is done, or it was unlinked). */
void blob_pending_del(struct store *st, uint64_t id)
{
	pthread_mutex_lock(&st->st_open_mu);
	for (size_t i = 0; i < st->st_npending; i++) {
		if (st->st_pending[i] == id) {
			st->st_pending[i] = st->st_pending[--st->st_npending];
			break;
		}
	}
	pthread_mutex_unlock(&st->st_open_mu);
}

/* blob_pending_has() tells whether id is linked but not yet committed. */
bool blob_pending_has(struct store *st, uint64_t id)
{
	bool found = false;

	pthread_mutex_lock(&st->st_open_mu);
	for (size_t i = 0; i < st->st_npending && !found; i++)
		found = st->st_pending[i] == id;
	pthread_mutex_unlock(&st->st_open_mu);
	return found;
}

/* ---- open counts ------------------------------------------------------ */

static struct open_ent **open_slot(struct store *st, uint64_t ino)
{
	struct open_ent **p = &st->st_open[ino % STORE_OPEN_BUCKETS];

	while (*p && (*p)->oe_ino != ino)
		p = &(*p)->oe_next;
	return p;
}

/* blob_open_ref() counts one more open handle of ino. */
int blob_open_ref(struct store *st, uint64_t ino)
{
	struct open_ent **p, *e;

	pthread_mutex_lock(&st->st_open_mu);
	p = open_slot(st, ino);
	if (!*p) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			pthread_mutex_unlock(&st->st_open_mu);
			return -ENOMEM;
		}
		e->oe_ino = ino;
		*p = e;
	}
	(*p)->oe_count++;
	pthread_mutex_unlock(&st->st_open_mu);
	return 0;
}

/* blob_open_unref() drops one handle of ino; returns how many are left.
 * When none is, *orphan tells whether the inode was unlinked meanwhile
 * (blob_open_mark_orphan): the caller then has it reaped. */
unsigned blob_open_unref(struct store *st, uint64_t ino, bool *orphan)
{
	struct open_ent **p, *e;
	unsigned left = 0;

	*orphan = false;
	pthread_mutex_lock(&st->st_open_mu);
	p = open_slot(st, ino);
	e = *p;
	if (e) {
		left = --e->oe_count;
		if (left == 0) {
			*orphan = e->oe_orphan;
			*p = e->oe_next;
			free(e);
		}
	}
	pthread_mutex_unlock(&st->st_open_mu);
	return left;
}

/*
 * blob_open_mark_orphan() is the writer's question before it frees the
 * inode ino: if a handle is open, it marks the inode so that the last
 * close reaps it, and returns true (keep the row as an orphan); else false
 * (free it now). Asking and marking under one lock leaves no gap for a
 * close to slip through unseen (invariant 5 in the notes above).
 */
bool blob_open_mark_orphan(struct store *st, uint64_t ino)
{
	struct open_ent **p;
	bool open;

	pthread_mutex_lock(&st->st_open_mu);
	p = open_slot(st, ino);
	open = *p && (*p)->oe_count > 0;
	if (open)
		(*p)->oe_orphan = true;
	pthread_mutex_unlock(&st->st_open_mu);
	return open;
}

/* blob_open_count() returns the number of open handles of ino. */
unsigned blob_open_count(struct store *st, uint64_t ino)
{
	struct open_ent **p;
	unsigned n;

	pthread_mutex_lock(&st->st_open_mu);
	p = open_slot(st, ino);
	n = *p ? (*p)->oe_count : 0;
	pthread_mutex_unlock(&st->st_open_mu);
	return n;
}

/* blob_open_free() frees every count (store_close). */
void blob_open_free(struct store *st)
{
	for (unsigned i = 0; i < STORE_OPEN_BUCKETS; i++) {
		while (st->st_open[i]) {
			struct open_ent *e = st->st_open[i];

			st->st_open[i] = e->oe_next;
			free(e);
		}
	}
	free(st->st_pending);
	st->st_pending = NULL;
}

/* ---- staging ---------------------------------------------------------- */

/* stage_tmpfile() makes an O_TMPFILE in the next subdirectory of
 * STORE/blobs in turn, creating it when missing; in STORE/blobs itself if
 * that fails. Returns the fd, or -1 with errno set. */
static int stage_tmpfile(struct store *st)
{
	unsigned k = atomic_fetch_add(&st->st_next_stage, 1) & 0xff;
	char sub[4];
	int fd;

	snprintf(sub, sizeof(sub), "%02x", k);
	fd = open_tmpfile(st->st_blobfd, sub);
	if (fd < 0 && errno == ENOENT && blob_subdir(st, k) == 0)
		fd = open_tmpfile(st->st_blobfd, sub);
	if (fd < 0)
		fd = open_tmpfile(st->st_blobfd, ".");
	return fd;
}

/*
 * store_stage_begin() creates an anonymous staging blob. Returns 0 and *out
 * (freed by store_publish or store_stage_abort), -EROFS on a read-only
 * store, or -errno. Any thread.
 */
int store_stage_begin(struct store *st, struct store_stage **out)
{
	struct store_stage *sg;
	int rc;

	if (st->st_readonly)
		return -EROFS;
	sg = calloc(1, sizeof(*sg));
	if (!sg)
		return -ENOMEM;
	sg->sg_st = st;
	if (st->st_stagefd < 0) {
		sg->sg_fd = stage_tmpfile(st);
	} else {
		snprintf(sg->sg_name, sizeof(sg->sg_name), "%ld-%" PRIu64,
			 (long)getpid(),
			 (uint64_t)atomic_fetch_add(&st->st_next_stage, 1));
		sg->sg_fd = openat(st->st_stagefd, sg->sg_name,
				   O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
				   0600);
	}
	if (sg->sg_fd < 0) {
		rc = -errno;
		lf_err(-rc, "store: staging blob");
		free(sg);
		return rc;
	}
	*out = sg;
	return 0;
}

/* store_stage_fd() returns the staged blob's fd, to write the body into. It
 * stays the stage's: do not close it. */
int store_stage_fd(const struct store_stage *sg)
{
	return sg->sg_fd;
}

/* store_stage_abort() discards the staged blob and frees the stage.
 * Accepts NULL; clears *sg. */
void store_stage_abort(struct store_stage **sg)
{
	struct store_stage *s;

	if (!sg || !*sg)
		return;
	s = *sg;
	*sg = NULL;
	if (s->sg_name[0])
		unlinkat(s->sg_st->st_stagefd, s->sg_name, 0);
	close(s->sg_fd);
	free(s);
}
