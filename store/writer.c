/*
 * writer.c - the writer thread: the queue of changing calls and group
 * commit.
 *
 * Every call that changes the index becomes a struct store_op, queued here
 * by writer_run(). The writer thread owns the write connection. It takes up
 * to st_group_max ops, opens one transaction (BEGIN IMMEDIATE), runs each op
 * inside its own savepoint so that a failing op (EEXIST, ENOTEMPTY, ...)
 * undoes only itself, and commits. Only after the commit does it unlink the
 * blobs the ops freed, call the change hook, and wake each caller with its
 * own result. When the commit fails, every op of the batch fails with the
 * commit's error and nothing after-commit happens: the store is exactly as
 * before the batch. (One exception, on a full disk: see retry_freeing.)
 */
#include "store_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "landingfs/log.h"

/*
 * op_note_change() records a change the op made, for the hook after
 * commit. name is copied (NULL for attribute changes). Returns 0 or
 * -ENOMEM. Writer thread.
 */
int op_note_change(struct store_op *op, enum store_change_kind kind,
		   uint64_t parent, uint64_t ino, const char *name)
{
	struct store_change *c;

	if (op->op_nchg == op->op_chgcap) {
		size_t cap = op->op_chgcap ? op->op_chgcap * 2 : 4;

		c = realloc(op->op_chg, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		op->op_chg = c;
		op->op_chgcap = cap;
	}
	c = &op->op_chg[op->op_nchg];
	c->kind = kind;
	c->origin = op->op_origin;
	c->parent = parent;
	c->ino = ino;
	c->name = NULL;
	if (name) {
		c->name = strdup(name);
		if (!c->name)
			return -ENOMEM;
	}
	op->op_nchg++;
	return 0;
}

/* op_free_blob() records a blob to unlink once the op's transaction has
 * committed. Returns 0 or -ENOMEM. Writer thread. */
int op_free_blob(struct store_op *op, uint64_t blob)
{
	if (op->op_nfree == op->op_freecap) {
		size_t cap = op->op_freecap ? op->op_freecap * 2 : 4;
		uint64_t *v = realloc(op->op_free, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		op->op_free = v;
		op->op_freecap = cap;
	}
	op->op_free[op->op_nfree++] = blob;
	return 0;
}

/* Forgets what the op collected (it was rolled back, or is done). */
static void op_reset(struct store_op *op)
{
	for (size_t i = 0; i < op->op_nchg; i++)
		free((char *)op->op_chg[i].name);
	free(op->op_chg);
	free(op->op_free);
	op->op_chg = NULL;
	op->op_free = NULL;
	op->op_nchg = op->op_chgcap = 0;
	op->op_nfree = op->op_freecap = 0;
	op->op_dinodes = 0;
}

/* The change hook, as it was when the batch was taken. */
struct hook {
	store_change_fn fn;
	void *arg;
};

/* After the commit: free the op's blobs, then tell the layers above. */
static void op_after_commit(struct store *st, struct store_op *op,
			    const struct hook *h)
{
	atomic_fetch_add(&st->st_ninodes, op->op_dinodes);
	for (size_t i = 0; i < op->op_nfree; i++)
		blob_unlink(st, op->op_free[i]);
	if (h->fn && op->op_nchg)
		h->fn(h->arg, op->op_chg, op->op_nchg);
}

/* Runs one op inside its savepoint; 0 or the op's -errno. */
static int run_one(struct store *st, struct store_op *op)
{
	struct ix_conn *w = st->st_wconn;
	int rc;

	rc = ix_savepoint(w);
	if (rc < 0)
		return rc;
	rc = op->op_run(st, op);
	if (rc == 0)
		rc = ix_release(w);
	if (rc < 0 && ix_in_txn(w) && ix_rollback_to(w) < 0)
		ix_rollback(w);
	/* A good op leaves the batch's transaction open. */
	assert(rc < 0 || ix_in_txn(w));
	return rc;
}

/*
 * Runs the ops of batch not marked op_skip in one transaction. On success
 * the after-commit work of each good op is done; on failure every op that
 * had succeeded gets the batch's error. Returns 0 or that error.
 */
static int run_txn(struct store *st, struct store_op *batch,
		   const struct hook *h, int64_t now)
{
	struct ix_conn *w = st->st_wconn;
	struct store_op *op;
	bool freed = false;
	int rc;

	rc = ix_begin(w, true);
	for (op = batch; op && rc == 0; op = op->op_next) {
		if (op->op_skip)
			continue;
		op->op_now = now;
		op->op_rc = run_one(st, op);
		if (op->op_rc < 0)
			op_reset(op);
		/* Some errors make SQLite roll the whole transaction back:
		 * then the ops before this one are lost too. */
		if (!ix_in_txn(w))
			rc = op->op_rc < 0 ? op->op_rc : -EIO;
	}
	if (rc == 0)
		rc = ix_commit(w);
	if (rc < 0) {
		ix_rollback(w);
		assert(!ix_in_txn(w));
		for (op = batch; op; op = op->op_next) {
			if (op->op_skip)
				continue;
			if (op->op_rc == 0)
				op->op_rc = rc;
			op_reset(op);
		}
		return rc;
	}
	assert(!ix_in_txn(w));
	for (op = batch; op; op = op->op_next) {
		if (op->op_skip)
			continue;
		if (op->op_rc == 0) {
			freed |= op->op_nfree > 0;
			op_after_commit(st, op, h);
		}
		op_reset(op);
	}
	/* Space came back: make the reserve again if it was used. */
	if (freed && !st->st_reserve_ok)
		writer_reserve_make(st);
	return 0;
}

/*
 * When the disk is full, the index cannot commit even the deletes that
 * would free space. The writer keeps STORE/reserve (STORE_RESERVE bytes)
 * for that moment: a batch that failed with ENOSPC and holds ops that free
 * space gives the reserve up and runs those ops again; the others keep
 * their ENOSPC. Returns true when it retried.
 */
static bool retry_freeing(struct store *st, struct store_op *batch,
			  const struct hook *h, int64_t now)
{
	struct store_op *op;
	bool retry = false;

	/* Only ops that failed for want of space, never one that has
	 * committed (the batch's commit may have worked for the others). */
	for (op = batch; op; op = op->op_next) {
		op->op_skip = !(op->op_frees && op->op_rc == -ENOSPC);
		retry |= !op->op_skip;
	}
	if (!retry || !st->st_reserve_ok)
		return false;
	if (unlinkat(st->st_dirfd, "reserve", 0) < 0)
		return false;
	st->st_reserve_ok = false;
	lf_log(LOG_WARNING, "store: %s: disk full; the space reserve lets "
	       "deletes through", st->st_dir);
	for (op = batch; op; op = op->op_next)
		if (!op->op_skip)
			op->op_rc = 0;
	run_txn(st, batch, h, now);
	return true;
}

static void run_batch(struct store *st, struct store_op *batch,
		      const struct hook *h)
{
	int64_t now = store_now();

	if (batch->op_solo) {
		batch->op_now = now;
		batch->op_rc = batch->op_run(st, batch);
		if (batch->op_rc == 0)
			op_after_commit(st, batch, h);
		op_reset(batch);
		return;
	}
	run_txn(st, batch, h, now);
	retry_freeing(st, batch, h, now);
}

/*
 * writer_reserve_make() creates STORE/reserve, STORE_RESERVE bytes of
 * allocated space the writer gives up when the disk is full (see
 * retry_freeing). Best effort: without space it stays missing and is tried
 * again after space is freed. Opening thread, then the writer thread.
 */
void writer_reserve_make(struct store *st)
{
	int fd, err;

	fd = openat(st->st_dirfd, "reserve", O_WRONLY | O_CREAT | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return;
	err = posix_fallocate(fd, 0, STORE_RESERVE);
	close(fd);
	if (err != 0) {
		unlinkat(st->st_dirfd, "reserve", 0);
		return;
	}
	st->st_reserve_ok = true;
}

static void *writer_main(void *arg)
{
	struct store *st = arg;
	struct store_op *batch, *last, *op, *next;
	struct hook h;
	unsigned count;

	pthread_mutex_lock(&st->st_q_mu);
	for (;;) {
		while (!st->st_q_head && !st->st_stopping)
			pthread_cond_wait(&st->st_q_cv, &st->st_q_mu);
		if (!st->st_q_head)
			break;
		/* Take a batch: one solo op alone, else up to group_max
		 * ops up to the next solo one. */
		batch = last = st->st_q_head;
		count = 1;
		if (!batch->op_solo)
			while (last->op_next && !last->op_next->op_solo &&
			       count < st->st_group_max) {
				last = last->op_next;
				count++;
			}
		st->st_q_head = last->op_next;
		if (!st->st_q_head)
			st->st_q_tail = NULL;
		last->op_next = NULL;
		h.fn = st->st_hook;
		h.arg = st->st_hook_arg;
		pthread_mutex_unlock(&st->st_q_mu);

		run_batch(st, batch, &h);

		pthread_mutex_lock(&st->st_q_mu);
		for (op = batch; op; op = next) {
			next = op->op_next;
			op->op_done = true;
			/* Each caller waits on its own condition: waking
			 * one batch wakes no other caller. */
			pthread_cond_signal(op->op_cv);
		}
	}
	pthread_mutex_unlock(&st->st_q_mu);
	return NULL;
}

/* writer_start() starts the writer thread, which from now on owns the
 * write connection. Start-up only. */
int writer_start(struct store *st)
{
	int rc = pthread_create(&st->st_writer, NULL, writer_main, st);

	if (rc != 0) {
		lf_err(rc, "store: writer thread");
		return -rc;
	}
	pthread_setname_np(st->st_writer, "lf-store-writer");
	st->st_writer_started = true;
	return 0;
}

/* writer_stop() lets the writer finish the queued ops and joins it. */
void writer_stop(struct store *st)
{
	if (!st->st_writer_started)
		return;
	pthread_mutex_lock(&st->st_q_mu);
	st->st_stopping = true;
	pthread_cond_signal(&st->st_q_cv);
	pthread_mutex_unlock(&st->st_q_mu);
	pthread_join(st->st_writer, NULL);
	st->st_writer_started = false;
}

/*
 * writer_run() queues op and waits until its transaction has committed (or
 * failed). Returns the op's result. Any thread but the writer's (the change
 * hook must not call it).
 */
int writer_run(struct store *st, struct store_op *op)
{
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

	op->op_cv = &cv;
	op->op_next = NULL;
	op->op_done = false;
	op->op_rc = 0;
	op->op_now = 0;
	pthread_mutex_lock(&st->st_q_mu);
	if (st->st_stopping) {
		pthread_mutex_unlock(&st->st_q_mu);
		return -ESHUTDOWN;
	}
	if (st->st_q_tail)
		st->st_q_tail->op_next = op;
	else
		st->st_q_head = op;
	st->st_q_tail = op;
	pthread_cond_signal(&st->st_q_cv);
	while (!op->op_done)
		pthread_cond_wait(&cv, &st->st_q_mu);
	pthread_mutex_unlock(&st->st_q_mu);
	pthread_cond_destroy(&cv);
	return op->op_rc;
}
