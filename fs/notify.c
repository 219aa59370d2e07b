/*
 * notify.c - the notifier thread: tells the kernel about changes made to
 * the store behind its back.
 *
 * The store's change hook runs on the store's writer thread after each
 * commit; the daemon forwards it to fs_invalidate(), which only queues
 * here. This thread then calls fuse_lowlevel_notify_inval_entry(),
 * _delete() and _inval_inode(). Those calls may wait for locks the kernel
 * holds while a FUSE request is in flight, so they never run inside a FUSE
 * handler, nor on the writer thread (whose commit a handler may be waiting
 * for).
 *
 * Changes made through the mount (origin STORE_ORIGIN_LOCAL) are dropped:
 * the kernel made them itself and its cache is already right.
 *
 * The queue is bounded (NT_MAX_QUEUED). When it is full, further changes
 * are dropped and counted; the kernel then catches up when its entry and
 * attribute timeouts expire, as it would without notification.
 */
#include "fs_int.h"

#include "landingfs/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NT_MAX_QUEUED 8192

struct nt_item {
	enum store_change_kind kind;
	uint64_t parent;
	uint64_t ino;
	struct nt_item *next;
	size_t namelen;
	char name[]; /* NUL-terminated, namelen bytes */
};

/*
 * The notifier. Lock order: nt_lock is taken last (fs_int.h); the change
 * hook takes it on the store's writer thread.
 */
struct fs_notifier {
	struct fuse_session *se;
	pthread_t thread;
	pthread_mutex_t nt_lock;  /* guards everything below */
	pthread_cond_t nt_cond;   /* signalled on queue and on stop */
	struct nt_item *head;     /* nt_lock */
	struct nt_item **tailp;   /* nt_lock */
	size_t queued;            /* nt_lock */
	uint64_t dropped;         /* nt_lock */
	bool stop;                /* nt_lock */
};

static void notify_one(struct fuse_session *se, const struct nt_item *it)
{
	int rc = 0;

	switch (it->kind) {
	case STORE_CHANGE_ADD:
		rc = fuse_lowlevel_notify_inval_entry(se, it->parent, it->name,
						      it->namelen);
		break;
	case STORE_CHANGE_REMOVE:
		/* notify_delete also tells inotify watchers of the removal;
		 * it fails when the cached dentry is not that inode. */
		if (it->ino != 0)
			rc = fuse_lowlevel_notify_delete(se, it->parent,
							 it->ino, it->name,
							 it->namelen);
		if (it->ino == 0 || rc < 0)
			rc = fuse_lowlevel_notify_inval_entry(
				se, it->parent, it->name, it->namelen);
		break;
	case STORE_CHANGE_ATTR:
		rc = fuse_lowlevel_notify_inval_inode(se, it->ino, 0, 0);
		break;
	}
	/* -ENOENT: the kernel had nothing cached, which is fine. */
	if (rc < 0 && rc != -ENOENT)
		lf_debug("%s: kind %d parent %llu ino %llu: %s", __func__,
			 (int)it->kind, (unsigned long long)it->parent,
			 (unsigned long long)it->ino, strerror(-rc));
}

static void *notifier_main(void *arg)
{
	struct fs_notifier *nt = arg;

	pthread_mutex_lock(&nt->nt_lock);
	for (;;) {
		struct nt_item *it;

		while (nt->head == NULL && !nt->stop)
			pthread_cond_wait(&nt->nt_cond, &nt->nt_lock);
		if (nt->stop)
			break;
		it = nt->head;
		nt->head = it->next;
		if (nt->head == NULL)
			nt->tailp = &nt->head;
		nt->queued--;
		/* Never hold nt_lock across a call into the kernel. */
		pthread_mutex_unlock(&nt->nt_lock);
		notify_one(nt->se, it);
		free(it);
		pthread_mutex_lock(&nt->nt_lock);
	}
	pthread_mutex_unlock(&nt->nt_lock);
	return NULL;
}

/*
 * fs_notifier_start() starts the notifier thread for fs->se. Returns 0 and
 * *out, or -errno. Start-up only.
 */
int fs_notifier_start(struct fs *fs, struct fs_notifier **out)
{
	struct fs_notifier *nt = calloc(1, sizeof(*nt));
	int rc;

	if (nt == NULL)
		return -ENOMEM;
	nt->se = fs->se;
	nt->tailp = &nt->head;
	pthread_mutex_init(&nt->nt_lock, NULL);
	pthread_cond_init(&nt->nt_cond, NULL);
	rc = pthread_create(&nt->thread, NULL, notifier_main, nt);
	if (rc != 0) {
		lf_err(rc, "notifier thread");
		goto err_free;
	}
	pthread_setname_np(nt->thread, "lf-notify");
	*out = nt;
	return 0;

err_free:
	pthread_cond_destroy(&nt->nt_cond);
	pthread_mutex_destroy(&nt->nt_lock);
	free(nt);
	return -rc;
}

/*
 * fs_notifier_stop() stops the thread and frees what is still queued.
 * Accepts NULL; clears *ntp.
 */
void fs_notifier_stop(struct fs_notifier **ntp)
{
	struct fs_notifier *nt;
	struct nt_item *it;

	if (ntp == NULL || *ntp == NULL)
		return;
	nt = *ntp;
	pthread_mutex_lock(&nt->nt_lock);
	nt->stop = true;
	pthread_cond_signal(&nt->nt_cond);
	pthread_mutex_unlock(&nt->nt_lock);
	pthread_join(nt->thread, NULL);
	while ((it = nt->head) != NULL) {
		nt->head = it->next;
		free(it);
	}
	if (nt->dropped > 0)
		lf_log(LOG_NOTICE,
		       "notifier: %llu change(s) dropped (queue full)",
		       (unsigned long long)nt->dropped);
	pthread_cond_destroy(&nt->nt_cond);
	pthread_mutex_destroy(&nt->nt_lock);
	free(nt);
	*ntp = NULL;
}

/*
 * fs_notifier_queue() queues the changes not made through the mount.
 * Allocates one item per change, outside the lock; never blocks on the
 * kernel. Any thread (the store's writer thread, in practice).
 */
void fs_notifier_queue(struct fs_notifier *nt, const struct store_change *chg,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct store_change *c = &chg[i];
		size_t len = c->name != NULL ? strlen(c->name) : 0;
		struct nt_item *it;

		if (c->origin == STORE_ORIGIN_LOCAL)
			continue;
		if (c->kind != STORE_CHANGE_ATTR && len == 0)
			continue;
		it = malloc(sizeof(*it) + len + 1);
		if (it == NULL) {
			pthread_mutex_lock(&nt->nt_lock);
			nt->dropped++;
			pthread_mutex_unlock(&nt->nt_lock);
			continue;
		}
		it->kind = c->kind;
		it->parent = c->parent;
		it->ino = c->ino;
		it->next = NULL;
		it->namelen = len;
		if (len > 0)
			memcpy(it->name, c->name, len);
		it->name[len] = '\0';
		pthread_mutex_lock(&nt->nt_lock);
		if (nt->stop || nt->queued >= NT_MAX_QUEUED) {
			nt->dropped++;
			pthread_mutex_unlock(&nt->nt_lock);
			free(it);
			continue;
		}
		*nt->tailp = it;
		nt->tailp = &it->next;
		nt->queued++;
		pthread_cond_signal(&nt->nt_cond);
		pthread_mutex_unlock(&nt->nt_lock);
	}
}
