/*
 * recover.c - open-time recovery and fsck: the index checked against the
 * blob directory.
 *
 * Both walk the same way (see the design notes in blob.c for what a crash
 * can leave): list the blob files, walk the index rows, then compare.
 * Recovery (store_recover, at open, before the writer starts) removes what
 * a crash leaves behind: staging files, unlinked inodes, unreferenced blob
 * files; it only logs rows whose blob is missing. fsck (op_fsck, run alone
 * on the writer thread) reports every problem and, with repair, fixes what
 * it can: rows whose blob is missing or whose parent is gone are removed,
 * sizes are corrected, orphan blobs and staging files are unlinked.
 */
#include "store_int.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "landingfs/log.h"

/* Passes over the rows while repairs uncover more dangling entries. */
#define FSCK_MAX_PASSES 16

struct size_fix {
	uint64_t ino, size;
	int64_t mtime_ns;
};

struct fsck_run {
	struct store *st;
	bool repair;  /* fsck --repair: fix everything fixable */
	bool recover; /* open-time recovery */
	bool unclean; /* recovery after a crash: sizes may be stale */
	void (*report)(void *arg, const char *line);
	void *report_arg;
	struct store_fsck_result *res;
	uint64_t *files; /* blob ids on disk, sorted */
	size_t nfiles, capfiles;
	uint64_t *del; /* rows to delete */
	size_t ndel, capdel;
	struct size_fix *fix;
	size_t nfix, capfix;
	uint64_t unlinked; /* orphan rows dropped by recovery */
	uint64_t resized;  /* sizes corrected by recovery */
};

static void say(struct fsck_run *f, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct fsck_run *f, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (f->report)
		f->report(f->report_arg, line);
	else if (level >= LOG_INFO)
		lf_debug("store: %s: %s", f->st->st_dir, line);
	else
		lf_log(level, "store: %s: %s", f->st->st_dir, line);
}

static int push_id(uint64_t **v, size_t *n, size_t *cap, uint64_t id)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		uint64_t *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = id;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool has_id(const uint64_t *v, size_t n, uint64_t id)
{
	return n && bsearch(&id, v, n, sizeof(*v), cmp_id) != NULL;
}

/* Removes the entries of the staging directory (no O_TMPFILE). */
static int scan_staging(struct fsck_run *f)
{
	struct store *st = f->st;
	struct dirent *de;
	DIR *d;
	int fd;

	if (st->st_stagefd < 0)
		return 0;
	fd = openat(st->st_stagefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		char pid[24];

		if (de->d_name[0] == '.')
			continue;
		/* A live store (fsck of a running daemon) stages too: only
		 * files of no live process are leftovers. */
		if (!f->recover && sscanf(de->d_name, "%23[0-9]-", pid) == 1 &&
		    (kill((pid_t)atol(pid), 0) == 0 || errno == EPERM))
			continue;
		f->res->staging_left++;
		say(f, LOG_INFO, "staging leftover staging/%s", de->d_name);
		if ((f->repair || f->recover) &&
		    unlinkat(st->st_stagefd, de->d_name, 0) == 0)
			f->res->repaired++;
	}
	closedir(d);
	return 0;
}

/* Lists the blob files into f->files (sorted); strays are leftovers. */
static int scan_blobs(struct fsck_run *f)
{
	struct store *st = f->st;
	struct dirent *de;
	char sub[4];
	uint64_t id;
	int fd, rc = 0;
	DIR *d;

	for (unsigned i = 0; i < 256 && rc == 0; i++) {
		snprintf(sub, sizeof(sub), "%02x", i);
		fd = openat(st->st_blobfd, sub,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue; /* made on first use */
		if (fd < 0) {
			rc = -errno;
			lf_err(-rc, "store: open blobs/%s", sub);
			break;
		}
		d = fdopendir(fd);
		if (!d) {
			rc = -errno;
			close(fd);
			break;
		}
		while ((de = readdir(d)) && rc == 0) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (blob_parse_name(de->d_name, &id) &&
			    (id & 0xff) == i) {
				rc = push_id(&f->files, &f->nfiles,
					     &f->capfiles, id);
				continue;
			}
			f->res->staging_left++;
			say(f, LOG_WARNING, "stray file blobs/%s/%s", sub,
			    de->d_name);
			if ((f->repair || f->recover) &&
			    unlinkat(dirfd(d), de->d_name, 0) == 0)
				f->res->repaired++;
		}
		closedir(d);
	}
	if (rc == 0 && f->nfiles)
		qsort(f->files, f->nfiles, sizeof(*f->files), cmp_id);
	return rc;
}

static int mark_delete(struct fsck_run *f, uint64_t ino)
{
	return push_id(&f->del, &f->ndel, &f->capdel, ino);
}

static int check_row(void *arg, const struct ix_fsck_row *r)
{
	struct fsck_run *f = arg;
	const struct store_attr *a = &r->attr;
	unsigned long long ino = (unsigned long long)a->ino;
	uint32_t type = a->mode & S_IFMT;
	char name[BLOB_NAME_MAX];
	struct stat sb;
	bool fix = f->repair;

	if (a->ino == STORE_ROOT_INO) {
		if (type != S_IFDIR) {
			f->res->bad_rows++;
			say(f, LOG_ERR, "root inode is not a directory");
		}
		return 0;
	}
	if (r->parent_null && a->nlink == 0) {
		/* Unlinked while open. */
		if (blob_open_count(f->st, a->ino) > 0)
			return 0;
		if (f->recover) {
			f->unlinked++;
			return mark_delete(f, a->ino);
		}
		f->res->bad_rows++;
		say(f, LOG_WARNING, "inode %llu: unlinked, not open", ino);
		return fix ? mark_delete(f, a->ino) : 0;
	}
	if (r->parent_null || !r->parent_found ||
	    !S_ISDIR(r->parent_mode)) {
		f->res->bad_rows++;
		say(f, LOG_ERR, "inode %llu: parent %llu %s", ino,
		    (unsigned long long)a->parent,
		    r->parent_null || !r->parent_found ? "missing"
						       : "not a directory");
		return fix ? mark_delete(f, a->ino) : 0;
	}
	if (type != S_IFDIR && type != S_IFREG && type != S_IFLNK) {
		f->res->bad_rows++;
		say(f, LOG_ERR, "inode %llu: bad mode %o", ino,
		    (unsigned)a->mode);
		return fix ? mark_delete(f, a->ino) : 0;
	}
	if (type != S_IFREG) {
		if (a->blob || (type == S_IFLNK && !r->has_target)) {
			f->res->bad_rows++;
			say(f, LOG_ERR, "inode %llu: %s", ino,
			    a->blob ? "blob on a non-file"
				    : "symlink without target");
			return fix ? mark_delete(f, a->ino) : 0;
		}
		return 0;
	}
	if (!a->blob) {
		f->res->bad_rows++;
		say(f, LOG_ERR, "inode %llu: file without blob", ino);
		return fix ? mark_delete(f, a->ino) : 0;
	}
	blob_name(a->blob, name);
	if (!has_id(f->files, f->nfiles, a->blob)) {
		f->res->missing_blobs++;
		say(f, LOG_ERR, "inode %llu: blob %s missing", ino, name);
		return fix ? mark_delete(f, a->ino) : 0;
	}
	/* Sizes cost a stat per file: fsck checks them (not for files open
	 * in this process), and so does recovery after a crash, when files
	 * written in place may have more (or fewer) bytes than last noted:
	 * the blob holds what was written, so the row follows it. */
	if (f->recover && !f->unclean)
		return 0;
	if (blob_open_count(f->st, a->ino) > 0)
		return 0;
	if (fstatat(f->st->st_blobfd, name, &sb, 0) < 0)
		return 0;
	if ((uint64_t)sb.st_size != a->size) {
		if (f->recover) {
			f->resized++;
			say(f, LOG_INFO, "inode %llu: size %llu, blob %s has "
			    "%lld: corrected", ino,
			    (unsigned long long)a->size, name,
			    (long long)sb.st_size);
		} else {
			f->res->bad_rows++;
			say(f, LOG_WARNING,
			    "inode %llu: size %llu, blob %s has %lld", ino,
			    (unsigned long long)a->size, name,
			    (long long)sb.st_size);
		}
		if (fix || f->recover) {
			if (f->nfix == f->capfix) {
				size_t c = f->capfix ? f->capfix * 2 : 16;
				struct size_fix *v =
					realloc(f->fix, c * sizeof(*v));

				if (!v)
					return -ENOMEM;
				f->fix = v;
				f->capfix = c;
			}
			f->fix[f->nfix].ino = a->ino;
			f->fix[f->nfix].size = (uint64_t)sb.st_size;
			f->fix[f->nfix].mtime_ns =
				(int64_t)sb.st_mtim.tv_sec * 1000000000 +
				sb.st_mtim.tv_nsec;
			f->nfix++;
		}
	}
	return 0;
}

/* Finds rows whose parent links loop instead of leading to the root. */
static int check_reachable(struct fsck_run *f)
{
	uint64_t *ids = NULL;
	size_t n = 0;
	int rc;

	rc = ix_unreachable(f->st->st_wconn, &ids, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		f->res->bad_rows++;
		say(f, LOG_ERR, "inode %llu: not reachable from the root "
		    "(a directory loop)", (unsigned long long)ids[i]);
		if (f->repair)
			rc = mark_delete(f, ids[i]);
	}
	free(ids);
	return rc;
}

static void integrity_line(void *arg, const char *text)
{
	say(arg, LOG_ERR, "index: %s", text);
}

/* Walks the rows in one transaction, applying the repairs it decided. */
static int check_rows(struct fsck_run *f, bool first)
{
	struct ix_conn *w = f->st->st_wconn;
	bool writes = f->repair || f->recover;
	uint64_t problems;
	int rc;

	f->ndel = f->nfix = 0;
	rc = ix_begin(w, writes);
	if (rc < 0)
		return rc;
	if (first && !f->recover) {
		rc = ix_integrity(w, integrity_line, f, &problems);
		if (rc < 0)
			goto out_rollback;
		f->res->bad_rows += problems;
	}
	rc = ix_fsck_rows(w, check_row, f);
	if (rc == 0 && !f->recover)
		rc = check_reachable(f);
	for (size_t i = 0; rc == 0 && i < f->ndel; i++)
		rc = ix_delete(w, f->del[i]);
	for (size_t i = 0; rc == 0 && i < f->nfix; i++)
		rc = ix_fix_size(w, f->fix[i].ino, f->fix[i].size,
				 f->fix[i].mtime_ns);
	if (rc < 0)
		goto out_rollback;
	rc = ix_commit(w);
	if (rc < 0)
		goto out_rollback;
	atomic_fetch_sub(&f->st->st_ninodes, (int64_t)f->ndel);
	if (!f->recover)
		f->res->repaired += f->ndel + f->nfix;
	return 0;

out_rollback:
	ix_rollback(w);
	return rc;
}

/* Unlinks (repair, recover) or reports blob files no row references. */
static int reclaim_orphans(struct fsck_run *f)
{
	struct store *st = f->st;
	char name[BLOB_NAME_MAX];
	uint64_t *refs = NULL;
	size_t nrefs = 0;
	int rc;

	rc = ix_blob_ids(st->st_wconn, &refs, &nrefs);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < f->nfiles; i++) {
		uint64_t id = f->files[i];

		if (has_id(refs, nrefs, id) || blob_pending_has(st, id))
			continue;
		f->res->orphan_blobs++;
		blob_name(id, name);
		say(f, LOG_INFO, "blob %s: no row references it", name);
		if (f->repair || f->recover) {
			blob_unlink(st, id);
			f->res->repaired++;
		}
	}
	/* Ids start above everything on disk or in the index. */
	if (f->nfiles && f->files[f->nfiles - 1] >= st->st_next_blob)
		atomic_store(&st->st_next_blob, f->files[f->nfiles - 1] + 1);
	if (nrefs && refs[nrefs - 1] >= st->st_next_blob)
		atomic_store(&st->st_next_blob, refs[nrefs - 1] + 1);
	free(refs);
	return 0;
}

static int run_check(struct fsck_run *f)
{
	int rc;

	rc = scan_staging(f);
	if (rc == 0)
		rc = scan_blobs(f);
	for (int pass = 0; rc == 0 && pass < FSCK_MAX_PASSES; pass++) {
		rc = check_rows(f, pass == 0);
		/* Deleting a directory can leave its entries dangling:
		 * look again. */
		if (rc < 0 || !f->repair || f->ndel == 0)
			break;
	}
	if (rc == 0)
		rc = reclaim_orphans(f);
	free(f->files);
	free(f->del);
	free(f->fix);
	return rc;
}

/*
 * store_recover() cleans up after a crash at open (see blob.c, invariant
 * 4) and starts blob ids above every id in use. unclean says that the
 * store was not closed cleanly last time: then the recorded size of every
 * file is checked against its blob and corrected (files being written in
 * place when the process died). Runs on the opening thread before the
 * writer starts. Returns 0 or -errno.
 */
int store_recover(struct store *st, bool unclean)
{
	struct store_fsck_result res;
	struct fsck_run f;
	int rc;

	memset(&res, 0, sizeof(res));
	memset(&f, 0, sizeof(f));
	f.st = st;
	f.recover = true;
	f.unclean = unclean;
	f.res = &res;
	rc = run_check(&f);
	if (rc < 0) {
		lf_err(-rc, "store: %s: recovery failed", st->st_dir);
		return rc;
	}
	if (f.unlinked || res.orphan_blobs || res.staging_left)
		lf_log(LOG_NOTICE,
		       "store: %s: recovered: %" PRIu64 " unlinked inodes, %"
		       PRIu64 " unreferenced blobs, %" PRIu64
		       " staging leftovers removed",
		       st->st_dir, f.unlinked, res.orphan_blobs,
		       res.staging_left);
	if (f.resized)
		lf_log(LOG_NOTICE,
		       "store: %s: sizes of %" PRIu64 " files written in place "
		       "corrected after an unclean shutdown",
		       st->st_dir, f.resized);
	if (res.missing_blobs)
		lf_log(LOG_ERR,
		       "store: %s: %" PRIu64 " files have lost their blob; "
		       "run fsck",
		       st->st_dir, res.missing_blobs);
	return 0;
}

/* op_fsck(): store_fsck() alone on the writer thread. */
int op_fsck(struct store *st, struct store_op *op)
{
	struct op_req *r = op->op_req;
	struct fsck_run f;

	memset(&f, 0, sizeof(f));
	f.st = st;
	f.repair = r->repair;
	f.report = r->report;
	f.report_arg = r->report_arg;
	f.res = r->fsck;
	return run_check(&f);
}
