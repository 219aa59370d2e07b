/*
 * guardian.c - a process that aborts the daemon's FUSE connection when the
 * daemon dies without closing it.
 *
 * A daemon killed by SIGKILL normally takes its connection with it: the
 * kernel closes /dev/fuse and fails every request still waiting. But a
 * thread of the daemon can be stuck in the kernel where no signal reaches
 * it, holding /dev/fuse open: the notifier, say, invalidating an entry in
 * a directory whose lock a rename through the mount holds while it waits
 * for this very daemon's reply (a request already read is waited out
 * uninterruptibly). Then neither ever ends, the daemon cannot exit and the
 * mount hangs every process that touches it. Only aborting the connection
 * (/sys/fs/fuse/connections/N/abort) breaks the circle.
 *
 * So the daemon forks one guardian right after mounting, from its main
 * thread. The guardian holds nothing but the read end of a pipe and asks
 * for SIGUSR1 when the thread that forked it dies (PR_SET_PDEATHSIG).
 * A clean stop closes the pipe first: the guardian sees EOF and exits. A
 * main thread that dies first (SIGKILL, a crash) sends it SIGUSR1: it
 * writes to the connection's abort file and exits. Like the mount helpers
 * (net/mountop.c), the child of a multithreaded fork runs only raw system
 * calls on its stack.
 *
 * A clean stop can meet the same circle (a rename left waiting when the
 * workers stopped), so fs_unmount() also aborts the connection once it has
 * unmounted: a connection already gone has no abort file, and nothing
 * happens.
 */
#include "fs_int.h"

#include "landingfs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define GD_PIPE_FD 3
#define GD_FUSECTL "/sys/fs/fuse/connections"

/* abort_conn() writes to a connection's abort file (path); with may_mount,
 * mounts fusectl first when it is not. */
static void abort_conn(const char *path, bool may_mount)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && may_mount &&
	    mount("fusectl", GD_FUSECTL, "fusectl", 0, NULL) == 0)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) < 0) {
		/* nothing more to try */
	}
	close(fd);
}

static __attribute__((noreturn)) void guardian_main(int rfd, pid_t daemon,
						    const char *abort_path)
{
	struct pollfd p[2];
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGUSR1) < 0)
		_exit(1);
	/* The daemon died before the line above: act now. */
	if (getppid() != daemon) {
		abort_conn(abort_path, true);
		_exit(0);
	}
	if (rfd != GD_PIPE_FD && dup2(rfd, GD_PIPE_FD) < 0)
		_exit(1);
	/* Above all, not /dev/fuse: holding it would keep the connection
	 * alive as much as the stuck thread does. */
	if (close_range(0, GD_PIPE_FD - 1, 0) < 0 ||
	    close_range(GD_PIPE_FD + 1, ~0u, 0) < 0)
		_exit(1);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		_exit(1);
	prctl(PR_SET_NAME, "landingfs-guard");
	/* Ignore what a terminal or service manager sends the whole group:
	 * the guardian ends with the daemon, one way or the other. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	p[0].fd = GD_PIPE_FD;
	p[0].events = POLLIN;
	p[1].fd = sfd;
	p[1].events = POLLIN;
	for (;;) {
		char c;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (p[0].revents && read(GD_PIPE_FD, &c, 1) <= 0)
			_exit(0); /* EOF: a clean stop */
		if (p[1].revents) {
			abort_conn(abort_path, true);
			_exit(0);
		}
	}
}

/*
 * fs_guardian_start() notes the abort file of the connection mounted on
 * mountpoint and forks the guardian. Call from the main thread (the
 * guardian acts when the thread that forked it dies), once mounted.
 * Returns 0 or -errno (logged); the daemon runs on without a guardian.
 */
int fs_guardian_start(struct fs *fs, const char *mountpoint)
{
	struct statx stx;
	pid_t self = getpid(), pid;
	int pfd[2];

	/* Not a plain stat: nobody serves the mount yet, and a GETATTR would
	 * wait for this very thread. */
	if (statx(AT_FDCWD, mountpoint, AT_STATX_DONT_SYNC, STATX_INO,
		  &stx) < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		lf_err(errno, "starting the connection guardian");
		return -errno;
	}
	/* fusectl names a connection by its device number, major 0. */
	snprintf(fs->abort_path, sizeof(fs->abort_path), GD_FUSECTL "/%u/abort",
		 stx.stx_dev_minor);
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(pfd[0]);
		close(pfd[1]);
		lf_err(-rc, "forking the connection guardian");
		return rc;
	}
	if (pid == 0)
		guardian_main(pfd[0], self, fs->abort_path);
	close(pfd[0]);
	fs->guard_fd = pfd[1];
	fs->guard_pid = pid;
	return 0;
}

/* fs_conn_abort() aborts the connection, if it still exists (and fusectl
 * is mounted: a clean stop mounts nothing). */
void fs_conn_abort(struct fs *fs)
{
	if (fs->abort_path[0] != '\0')
		abort_conn(fs->abort_path, false);
}

/* fs_guardian_stop() lets the guardian go (EOF on its pipe) and reaps it,
 * killing it after 2 s (a process that inherited the pipe's other end
 * would keep it waiting). Accepts an fs without a guardian. */
void fs_guardian_stop(struct fs *fs)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	if (fs->guard_pid <= 0)
		return;
	close(fs->guard_fd);
	fs->guard_fd = -1;
	for (int i = 0; i < 200; i++) {
		pid_t r = waitpid(fs->guard_pid, NULL, WNOHANG);

		if (r == fs->guard_pid || (r < 0 && errno != EINTR))
			goto out;
		nanosleep(&ts, NULL);
	}
	lf_warnx("the connection guardian did not exit; killing it");
	kill(fs->guard_pid, SIGKILL);
	while (waitpid(fs->guard_pid, NULL, 0) < 0 && errno == EINTR)
		;
out:
	fs->guard_pid = 0;
}
