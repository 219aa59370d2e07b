/*
 * mountop.c - the VFS calls a publish makes on the daemon's own mount,
 * done by a small pool of helper processes (upload.c's publish_mount()).
 *
 * Why processes. A thread that calls into its own FUSE mount sleeps in the
 * kernel until a FUSE worker of the same daemon answers; once userspace has
 * read the request, the kernel waits the answer out, uninterruptibly, even
 * for SIGKILL. If the daemon is killed then, that thread can never exit, so
 * the process never exits, /dev/fuse is never closed, the connection is
 * never aborted and the mount hangs. A separate process holding no
 * /dev/fuse descriptor breaks the cycle: the daemon dies whatever its
 * helpers are doing, closing /dev/fuse aborts the connection, their
 * pending requests fail, and they die too (PR_SET_PDEATHSIG, or EOF on
 * their socket).
 *
 * Shape. mountop_open() forks NET_MOUNTOP_HELPERS helpers, each with one
 * end of a SOCK_SEQPACKET socketpair. A caller takes an idle helper from
 * the pool (waiting while all are busy), sends one fixed-size request,
 * reads one fixed-size reply, and gives the helper back. A helper whose
 * socket fails is handed to the respawn thread, which reaps it and forks a
 * replacement; a request it had taken fails with -EIO (whether the rename
 * happened is unknown), one it never got goes to another helper. Replacements
 * are forked by that one long-lived thread because PR_SET_PDEATHSIG fires
 * when the forking thread ends, not the process.
 *
 * The child. fork() copies a multithreaded process: any lock may be held
 * by a thread that does not exist in the child. So the child runs only
 * raw system calls and string functions on its stack (no malloc, stdio,
 * locks or logging) and ends with _exit() (no atexit handlers, no
 * sanitizer leak check). It keeps nothing but its socket: close_range()
 * drops every inherited descriptor, /dev/fuse above all. What it needs
 * from the daemon (the mount point, the mount's device) is read from its
 * copy of struct mountop, fixed before the first fork.
 *
 * Each request opens the mount root again and checks its device, so that
 * after an unmount nothing lands in the bare directory beneath.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MOP_FD 3                 /* the helper's socket, after dup2 */
#define MOP_MAX_NAME 64          /* incoming names are "%016x.%u" */
#define MOP_STOP_WAIT_MS 2000    /* net_stop: then SIGKILL */
#define MOP_RESPAWN_DELAY_MS 1000 /* after a failed fork */

enum mop_op {
	MOP_PUBLISH = 1,         /* rename incoming/name to path */
	MOP_UNLINK = 2,          /* unlink incoming/name */
};

#define MOP_NOREPLACE 0x1u       /* RENAME_NOREPLACE only, no retry */
#define MOP_REPLACED_HINT 0x2u   /* a file is at path now: plain rename */
#define MOP_MKDIRS 0x4u          /* create missing parents on ENOENT */

struct mop_req {
	uint32_t op;             /* enum mop_op */
	uint32_t flags;          /* MOP_* */
	char name[MOP_MAX_NAME]; /* in NET_INCOMING_DIR */
	char path[LF_MAX_PATH + 1]; /* relative, validated by policy_path() */
};

struct mop_rep {
	int32_t rc;              /* 0 or -errno */
	uint32_t replaced;       /* MOP_PUBLISH: a file was replaced */
};

enum mop_state {
	MOP_IDLE,                /* in the pool */
	MOP_BUSY,                /* a caller owns h_fd */
	MOP_DEAD,                /* to be reaped and replaced */
	MOP_SPAWNING,            /* the respawn thread is on it */
};

struct mop_helper {
	int h_fd;                /* our end of the socketpair; -1: none */
	pid_t h_pid;             /* 0: none (reaped) */
	enum mop_state h_state;
};

/*
 * The pool. Everything under mp_m but the fields fixed before the first
 * fork, which the children read from their copies.
 */
struct mountop {
	pthread_mutex_t mp_m;
	pthread_cond_t mp_idle;       /* a helper went idle, or mp_stop */
	pthread_cond_t mp_dead;       /* a helper died, or mp_stop */
	struct mop_helper mp_h[NET_MOUNTOP_HELPERS];
	unsigned mp_nlive;            /* helpers IDLE or BUSY */
	int mp_spawn_err;             /* last failed respawn; 0 after one works */
	bool mp_stop;
	bool mp_thread_started;
	pthread_t mp_thread;          /* respawn thread */
	/* Fixed before the first fork. */
	const char *mp_mountpoint;
	uint32_t mp_major, mp_minor;
	pid_t mp_daemon;
};

/* ---- the child: raw system calls only ------------------------------- */

static int child_open_beneath(int dirfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* child_mount_root() opens the mount point, if it is still the mount the
 * daemon serves (not, after an unmount, the directory beneath it). */
static int child_mount_root(const struct mountop *mp)
{
	struct statx stx;
	int fd = open(mp->mp_mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	/* DONT_SYNC: the device number is the superblock's, no round trip
	 * to the daemon is needed for it. */
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO,
		  &stx) < 0 || stx.stx_dev_major != mp->mp_major ||
	    stx.stx_dev_minor != mp->mp_minor) {
		close(fd);
		return -ESHUTDOWN;
	}
	return fd;
}

/* child_open_parent() opens the directory holding path's last component
 * under root, following no symlink, creating missing directories through
 * the mount (watchers see them too) when mkdirs. *base gets the last
 * component. */
static int child_open_parent(int root, const char *path, bool mkdirs,
			     const char **base)
{
	char buf[LF_MAX_PATH + 1];
	size_t len = strlen(path);
	char *slash, *comp, *next;
	int fd, nfd;

	if (len > LF_MAX_PATH)
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	slash = strrchr(buf, '/');
	*base = slash == NULL ? path : path + (slash - buf) + 1;
	if (slash == NULL)
		return child_open_beneath(root, ".");
	*slash = '\0';
	if (!mkdirs)
		return child_open_beneath(root, buf);
	fd = child_open_beneath(root, ".");
	for (comp = buf; fd >= 0 && comp != NULL; comp = next) {
		next = strchr(comp, '/');
		if (next != NULL)
			*next++ = '\0';
		if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
			nfd = -errno;
		else
			nfd = child_open_beneath(fd, comp);
		close(fd);
		fd = nfd;
	}
	return fd;
}

/*
 * child_publish() renames incoming/name to path through the mount. It names
 * the source by its alias in the destination directory (reserved.h), so
 * that the kernel sees a rename within one directory: no file-system-wide
 * rename lock held across the round trips to the daemon, and one walk
 * fewer.
 */
static void child_publish(const struct mountop *mp, const struct mop_req *rq,
			  struct mop_rep *rp)
{
	bool noreplace = rq->flags & MOP_NOREPLACE;
	bool replaced = !noreplace && (rq->flags & MOP_REPLACED_HINT);
	char alias[LF_INCOMING_ALIAS_LEN + MOP_MAX_NAME];
	const char *base = NULL;
	size_t len = strlen(rq->name);
	int root, pfd, rc;

	memcpy(alias, LF_INCOMING_ALIAS, LF_INCOMING_ALIAS_LEN);
	memcpy(alias + LF_INCOMING_ALIAS_LEN, rq->name, len + 1);
	root = child_mount_root(mp);
	if (root < 0) {
		rp->rc = root;
		return;
	}
	pfd = child_open_parent(root, rq->path, false, &base);
	if (pfd == -ENOENT && (rq->flags & MOP_MKDIRS))
		pfd = child_open_parent(root, rq->path, true, &base);
	if (pfd < 0) {
		rc = pfd;
		goto out_root;
	}
	/* A plain rename when a file is there now (one round trip to the
	 * daemon); RENAME_NOREPLACE otherwise, so that "created" is exact,
	 * and always with If-None-Match: *. */
	rc = renameat2(pfd, alias, pfd, base, replaced ? 0 : RENAME_NOREPLACE);
	if (rc < 0 && errno == EEXIST && !noreplace) {
		replaced = true;
		rc = renameat2(pfd, alias, pfd, base, 0);
	}
	rc = rc < 0 ? -errno : 0;
	rp->replaced = rc == 0 && replaced;
	close(pfd);
out_root:
	close(root);
	rp->rc = rc;
}

/* child_unlink() removes incoming/name through the mount. */
static void child_unlink(const struct mountop *mp, const struct mop_req *rq,
			 struct mop_rep *rp)
{
	int root, sfd;

	root = child_mount_root(mp);
	if (root < 0) {
		rp->rc = root;
		return;
	}
	sfd = child_open_beneath(root, NET_INCOMING_DIR);
	if (sfd < 0) {
		rp->rc = sfd;
	} else {
		rp->rc = unlinkat(sfd, rq->name, 0) < 0 ? -errno : 0;
		close(sfd);
	}
	close(root);
}

/* child_close_fds() closes every descriptor but MOP_FD. */
static void child_close_fds(void)
{
	struct rlimit rl;

	if (close_range(0, MOP_FD - 1, 0) == 0 &&
	    close_range(MOP_FD + 1, ~0u, 0) == 0)
		return;
	/* A kernel before 5.9. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > (1u << 20))
		rl.rlim_cur = 1u << 20;
	for (unsigned fd = 0; fd < rl.rlim_cur; fd++)
		if (fd != MOP_FD)
			close((int)fd);
}

/*
 * child_main() is the helper process: sock is its end of the socketpair.
 * It never returns.
 */
static __attribute__((noreturn)) void child_main(const struct mountop *mp,
						  int sock)
{
	struct sigaction sa;
	sigset_t none;

	/* Die with the thread that forked us (the daemon's main thread or
	 * its respawn thread); if the daemon is already gone, go now. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != mp->mp_daemon)
		_exit(1);
	if (sock != MOP_FD && dup2(sock, MOP_FD) < 0)
		_exit(1);
	child_close_fds();
	prctl(PR_SET_NAME, "landingfs-mop");
	/* An inherited handler would run the daemon's code here. The signals
	 * a terminal or a service manager sends to the whole group are
	 * ignored: the helper ends when the daemon closes its socket, after
	 * in-flight publishes are done. */
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP ||
		    sigaction(sig, NULL, &sa) < 0 ||
		    sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(sig, &sa, NULL);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	for (;;) {
		struct mop_req rq;
		struct mop_rep rp = { 0, 0 };
		ssize_t r = recv(MOP_FD, &rq, sizeof(rq), 0);

		if (r == 0)
			_exit(0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		rq.name[MOP_MAX_NAME - 1] = '\0';
		rq.path[LF_MAX_PATH] = '\0';
		if ((size_t)r != sizeof(rq))
			rp.rc = -EPROTO;
		else if (rq.op == MOP_PUBLISH)
			child_publish(mp, &rq, &rp);
		else if (rq.op == MOP_UNLINK)
			child_unlink(mp, &rq, &rp);
		else
			rp.rc = -EINVAL;
		do {
			r = send(MOP_FD, &rp, sizeof(rp), MSG_NOSIGNAL);
		} while (r < 0 && errno == EINTR);
		if (r != sizeof(rp))
			_exit(1);
	}
}

/* ---- the daemon side --------------------------------------------------- */

/* spawn() forks one helper into h (which is the caller's: no lock held).
 * Returns 0 or -errno. */
static int spawn(struct mountop *mp, struct mop_helper *h)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (pid == 0)
		child_main(mp, sv[1]);
	close(sv[1]);
	h->h_fd = sv[0];
	h->h_pid = pid;
	return 0;
}

/* reap() waits for the helpers in pids (0: none) to end, at most ms
 * milliseconds; those left are killed (SIGKILL) and waited for as long
 * again. Reaped entries are set to 0. A helper stuck in a request to this
 * daemon's mount can only end once the connection is gone: it is left to
 * init then, with a log line. */
static void reap(pid_t *pids, unsigned cnt, int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (int pass = 0; pass < 2; pass++) {
		for (int t = 0; t <= ms; t += 10) {
			unsigned left = 0;

			for (unsigned i = 0; i < cnt; i++) {
				pid_t r;

				if (pids[i] <= 0)
					continue;
				r = waitpid(pids[i], NULL, WNOHANG);
				if (r == pids[i] || (r < 0 && errno == ECHILD))
					pids[i] = 0;
				else
					left++;
			}
			if (left == 0)
				return;
			nanosleep(&ts, NULL);
		}
		for (unsigned i = 0; i < cnt; i++)
			if (pids[i] > 0)
				kill(pids[i], SIGKILL);
	}
	for (unsigned i = 0; i < cnt; i++)
		if (pids[i] > 0)
			lf_warnx("mount helper %d did not exit", (int)pids[i]);
}

static void *respawn_main(void *arg)
{
	struct mountop *mp = arg;

	pthread_mutex_lock(&mp->mp_m);
	while (!mp->mp_stop) {
		struct mop_helper *h = NULL;
		struct mop_helper fresh;
		pid_t old;
		int rc;

		for (unsigned i = 0; i < NET_MOUNTOP_HELPERS && h == NULL; i++)
			if (mp->mp_h[i].h_state == MOP_DEAD)
				h = &mp->mp_h[i];
		if (h == NULL) {
			pthread_cond_wait(&mp->mp_dead, &mp->mp_m);
			continue;
		}
		h->h_state = MOP_SPAWNING;
		old = h->h_pid;
		pthread_mutex_unlock(&mp->mp_m);

		/* Its socket failed, so it is gone or going: kill it for
		 * certain and reap it, then fork the replacement. */
		if (old > 0) {
			kill(old, SIGKILL);
			reap(&old, 1, MOP_STOP_WAIT_MS);
		}
		rc = spawn(mp, &fresh);

		pthread_mutex_lock(&mp->mp_m);
		h->h_pid = 0;
		if (rc == 0) {
			h->h_fd = fresh.h_fd;
			h->h_pid = fresh.h_pid;
			h->h_state = MOP_IDLE;
			mp->mp_nlive++;
			mp->mp_spawn_err = 0;
			pthread_cond_signal(&mp->mp_idle);
			continue;
		}
		h->h_state = MOP_DEAD;
		mp->mp_spawn_err = rc;
		/* Callers waiting with no helper left fail now. */
		pthread_cond_broadcast(&mp->mp_idle);
		pthread_mutex_unlock(&mp->mp_m);
		lf_err(-rc, "forking a mount helper; retrying");
		{
			struct timespec ts = {
				MOP_RESPAWN_DELAY_MS / 1000,
				(MOP_RESPAWN_DELAY_MS % 1000) * 1000000L,
			};

			nanosleep(&ts, NULL);
		}
		pthread_mutex_lock(&mp->mp_m);
	}
	pthread_mutex_unlock(&mp->mp_m);
	return NULL;
}

/* acquire() takes an idle helper, waiting while all are busy. Returns its
 * index, or -ESHUTDOWN when stopping, or the fork error when no helper is
 * left and none could be forked. */
static int acquire(struct mountop *mp)
{
	int rc;

	pthread_mutex_lock(&mp->mp_m);
	for (;;) {
		if (mp->mp_stop) {
			rc = -ESHUTDOWN;
			break;
		}
		for (unsigned i = 0; i < NET_MOUNTOP_HELPERS; i++) {
			if (mp->mp_h[i].h_state == MOP_IDLE) {
				mp->mp_h[i].h_state = MOP_BUSY;
				pthread_mutex_unlock(&mp->mp_m);
				return (int)i;
			}
		}
		if (mp->mp_nlive == 0 && mp->mp_spawn_err < 0) {
			rc = mp->mp_spawn_err;
			break;
		}
		pthread_cond_wait(&mp->mp_idle, &mp->mp_m);
	}
	pthread_mutex_unlock(&mp->mp_m);
	return rc;
}

/* call_one() sends rq to helper i (the caller's, from acquire()), reads
 * its reply into rp and gives the helper back. Returns 0 (the operation's
 * own result is rp->rc), -EPIPE when the helper was found dead before it
 * got the request, or -EIO when it died after: it is replaced either
 * way. */
static int call_one(struct mountop *mp, int i, const struct mop_req *rq,
		    struct mop_rep *rp)
{
	struct mop_helper *h = &mp->mp_h[i];
	int rc = 0, err = 0;
	ssize_t r;

	do {
		r = send(h->h_fd, rq, sizeof(*rq), MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(*rq)) {
		err = r < 0 ? errno : EPROTO;
		rc = -EPIPE;
	} else {
		do {
			r = recv(h->h_fd, rp, sizeof(*rp), 0);
		} while (r < 0 && errno == EINTR);
		if (r != (ssize_t)sizeof(*rp)) {
			err = r < 0 ? errno : r == 0 ? EPIPE : EPROTO;
			rc = -EIO;
		}
	}
	if (rc < 0) {
		lf_log(LOG_WARNING, "mount helper %d stopped answering (%s); "
		       "replacing it", (int)h->h_pid, strerror(err));
		close(h->h_fd);
		h->h_fd = -1;
	}
	pthread_mutex_lock(&mp->mp_m);
	if (rc < 0) {
		h->h_state = MOP_DEAD;
		mp->mp_nlive--;
		pthread_cond_signal(&mp->mp_dead);
	} else {
		h->h_state = MOP_IDLE;
		pthread_cond_signal(&mp->mp_idle);
	}
	pthread_mutex_unlock(&mp->mp_m);
	return rc;
}

/* call() has an idle helper do rq and reads its reply into rp. Returns 0
 * (the operation's own result is rp->rc) or -errno: -EIO when the helper
 * died with the request. A helper found dead before it got the request
 * (killed while idle) is replaced and the request goes to another. */
static int call(struct mountop *mp, const struct mop_req *rq,
		struct mop_rep *rp)
{
	int rc = -EIO;

	for (int tries = 0; tries <= NET_MOUNTOP_HELPERS; tries++) {
		int i = acquire(mp);

		if (i < 0)
			return i;
		rc = call_one(mp, i, rq, rp);
		if (rc != -EPIPE)
			return rc;
	}
	return -EIO;
}

static int fill_name(struct mop_req *rq, const char *incoming_name)
{
	size_t len = strlen(incoming_name);

	if (len >= sizeof(rq->name))
		return -ENAMETOOLONG;
	memcpy(rq->name, incoming_name, len + 1);
	return 0;
}

/*
 * mountop_publish() renames NET_INCOMING_DIR/incoming_name to path (relative,
 * validated) through the mount, in a helper process, creating missing
 * parent directories through the mount. noreplace: RENAME_NOREPLACE only
 * (-EEXIST when a file is there). replaced_hint: a file is at path now, so
 * a plain rename is tried first; otherwise RENAME_NOREPLACE first, then a
 * plain rename on -EEXIST. *replaced tells whether a file was replaced.
 * Returns 0 or -errno: the rename's error, -ESHUTDOWN once the mount is
 * gone, -EIO when the helper died. The caller holds the path's publish
 * lock. Any thread; blocks while every helper is busy.
 */
int mountop_publish(struct net *n, const char *incoming_name, const char *path,
		    bool noreplace, bool replaced_hint, bool *replaced)
{
	struct mop_req rq;
	struct mop_rep rp = { 0, 0 };
	size_t len = strlen(path);
	int rc;

	*replaced = false;
	if (n->mop == NULL)
		return -ESHUTDOWN;
	if (len > LF_MAX_PATH)
		return -ENAMETOOLONG;
	memset(&rq, 0, offsetof(struct mop_req, path));
	rc = fill_name(&rq, incoming_name);
	if (rc < 0)
		return rc;
	memcpy(rq.path, path, len + 1);
	rq.op = MOP_PUBLISH;
	rq.flags = MOP_MKDIRS | (noreplace ? MOP_NOREPLACE : 0) |
		   (replaced_hint ? MOP_REPLACED_HINT : 0);
	rc = call(n->mop, &rq, &rp);
	if (rc < 0)
		return rc;
	*replaced = rp.rc == 0 && rp.replaced != 0;
	return rp.rc;
}

/*
 * mountop_unlink() removes NET_INCOMING_DIR/incoming_name through the
 * mount, in a helper process (so that the kernel's cache agrees). Returns
 * 0 or -errno; the caller falls back to store_unlink(). Any thread.
 */
int mountop_unlink(struct net *n, const char *incoming_name)
{
	struct mop_req rq;
	struct mop_rep rp = { 0, 0 };
	int rc;

	if (n->mop == NULL)
		return -ESHUTDOWN;
	memset(&rq, 0, offsetof(struct mop_req, path));
	rc = fill_name(&rq, incoming_name);
	if (rc < 0)
		return rc;
	rq.path[0] = '\0';
	rq.op = MOP_UNLINK;
	rc = call(n->mop, &rq, &rp);
	return rc < 0 ? rc : rp.rc;
}

/*
 * mountop_open() starts the helper processes when uploads publish through
 * the mount (a mount point, not publish=store, and a listener), after
 * upload_incoming_open() recorded the mount's device. Otherwise n->mop
 * stays NULL. Returns 0 or -errno. Start-up only, from the thread that
 * lives as long as the daemon (helpers die with the thread that forked
 * them).
 */
int mountop_open(struct net *n)
{
	struct mountop *mp;
	int rc;

	if (n->mountpoint == NULL || n->cfg->publish_direct ||
	    (n->cfg->no_listen && n->cfg->tls_listen == NULL))
		return 0;
	mp = calloc(1, sizeof(*mp));
	if (mp == NULL)
		return -ENOMEM;
	pthread_mutex_init(&mp->mp_m, NULL);
	pthread_cond_init(&mp->mp_idle, NULL);
	pthread_cond_init(&mp->mp_dead, NULL);
	mp->mp_mountpoint = n->mountpoint;
	mp->mp_major = n->mnt_dev_major;
	mp->mp_minor = n->mnt_dev_minor;
	mp->mp_daemon = getpid();
	for (unsigned i = 0; i < NET_MOUNTOP_HELPERS; i++) {
		mp->mp_h[i].h_fd = -1;
		mp->mp_h[i].h_state = MOP_DEAD;
	}
	n->mop = mp;
	for (unsigned i = 0; i < NET_MOUNTOP_HELPERS; i++) {
		rc = spawn(mp, &mp->mp_h[i]);
		if (rc < 0)
			goto err;
		mp->mp_h[i].h_state = MOP_IDLE;
		mp->mp_nlive++;
	}
	rc = -pthread_create(&mp->mp_thread, NULL, respawn_main, mp);
	if (rc < 0)
		goto err;
	pthread_setname_np(mp->mp_thread, "lf-mop-respawn");
	mp->mp_thread_started = true;
	return 0;

err:
	lf_err(-rc, "starting the mount helpers");
	mountop_close(n);
	return rc;
}

/*
 * mountop_close() stops the helpers: their sockets are closed (they exit
 * on EOF) and they are reaped, killed after MOP_STOP_WAIT_MS. Call once no
 * thread publishes any more. Accepts a net without helpers; clears n->mop.
 */
void mountop_close(struct net *n)
{
	struct mountop *mp = n->mop;
	pid_t pids[NET_MOUNTOP_HELPERS];

	if (mp == NULL)
		return;
	pthread_mutex_lock(&mp->mp_m);
	mp->mp_stop = true;
	pthread_cond_broadcast(&mp->mp_idle);
	pthread_cond_broadcast(&mp->mp_dead);
	pthread_mutex_unlock(&mp->mp_m);
	if (mp->mp_thread_started)
		pthread_join(mp->mp_thread, NULL);
	for (unsigned i = 0; i < NET_MOUNTOP_HELPERS; i++) {
		struct mop_helper *h = &mp->mp_h[i];

		assert(h->h_state != MOP_BUSY);
		if (h->h_fd >= 0)
			close(h->h_fd);
		h->h_fd = -1;
		pids[i] = h->h_pid;
		h->h_pid = 0;
	}
	reap(pids, NET_MOUNTOP_HELPERS, MOP_STOP_WAIT_MS);
	pthread_cond_destroy(&mp->mp_dead);
	pthread_cond_destroy(&mp->mp_idle);
	pthread_mutex_destroy(&mp->mp_m);
	free(mp);
	n->mop = NULL;
}
