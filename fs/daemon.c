/*
 * daemon.c - landingfs's main: the one file that sees every layer.
 *
 * It parses the options (one table, which also prints --help), opens the
 * store, mounts the landing directory, starts the network side, tells
 * systemd and the starting shell that it is ready, and waits. On SIGINT,
 * SIGTERM or an unmount it shuts down in reverse: unmount (aborting any
 * request still waiting on the daemon), stop the network side (in-flight
 * uploads are discarded), free the FUSE layer, close the store. A signal
 * first lets the uploads in flight finish (net_drain(), bounded by
 * drain=), with the mount still served so that they publish as always; a
 * second signal stops at once. SIGHUP makes the network side re-read its
 * token file.
 *
 * Without -f the daemon forks before any thread exists and the parent
 * waits until the child is mounted and serving (exit 0) or has failed
 * (the child's one-line error is already on stderr; the parent exits with
 * the child's status). fuse_daemonize() is not used: it forks after the
 * point where the store's threads exist, and reports success before the
 * mount could fail.
 */
#include "landingfs/fs.h"
#include "landingfs/log.h"
#include "landingfs/net.h"
#include "landingfs/store.h"
#include "landingfs/version.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define DEFAULT_STORE "./.landing-store"

/* Every option, with its default set in daemon_opts_init(). */
struct daemon_opts {
	char *store_dir;        /* --store DIR */
	char *mountpoint;
	int foreground;         /* -f */
	int debug;              /* -d */
	int help;
	int version;
	int durable;            /* -o durable */
	int has_fsname;         /* the user gave fsname= */
	int has_subtype;        /* the user gave subtype= */
	int failed;             /* an option was refused (already said) */
	struct fs_opts fs;
	struct net_config *net;
	struct fuse_args fuse;  /* what goes to fuse_session_new() */
};

enum {
	KEY_KEEP = 1,  /* a libfuse option: passed on to fuse_session_new() */
};

/* One option: its fuse_opt entry and its line in --help (NULL: none). */
struct daemon_option {
	struct fuse_opt opt;
	const char *help;
};

#define OPT(t, m, v, h) {{t, offsetof(struct daemon_opts, m), v}, h}
#define KEEP(t, h) {FUSE_OPT_KEY(t, KEY_KEEP), h}

static const struct daemon_option daemon_options[] = {
	OPT("--store %s", store_dir, 0,
	    "--store DIR            store directory (default " DEFAULT_STORE
	    ")"),
	OPT("--store=%s", store_dir, 0, NULL),
	OPT("-f", foreground, 1,
	    "-f                     stay in the foreground"),
	OPT("-d", debug, 1,
	    "-d                     debug log (implies -f), splice counters"),
	OPT("--debug", debug, 1, NULL),
	OPT("-h", help, 1, "-h, --help             this help"),
	OPT("--help", help, 1, NULL),
	OPT("-V", version, 1, "-V, --version          version"),
	OPT("--version", version, 1, NULL),
	OPT("ro", fs.readonly, 1,
	    "-o ro                  read-only mount and store"),
	KEEP("ro", NULL),
	OPT("rw", fs.readonly, 0, NULL),
	KEEP("rw", NULL),
	OPT("durable", durable, 1,
	    "-o durable             fdatasync blobs and the index before "
	    "acknowledging"),
	OPT("entry_timeout=%lf", fs.entry_timeout, 0,
	    "-o entry_timeout=S     kernel name cache, seconds (default 1)"),
	OPT("attr_timeout=%lf", fs.attr_timeout, 0,
	    "-o attr_timeout=S      kernel attribute cache, seconds "
	    "(default 1)"),
	OPT("negative_timeout=%lf", fs.negative_timeout, 0,
	    "-o negative_timeout=S  cache of missing names, seconds "
	    "(default 0)"),
	OPT("max_threads=%d", fs.max_threads, 0,
	    "-o max_threads=N       FUSE worker threads (default 10)"),
	OPT("passthrough", fs.passthrough, 1,
	    "-o passthrough         kernel FUSE passthrough where offered (the "
	    "default)"),
	OPT("no_passthrough", fs.passthrough, 0,
	    "-o no_passthrough      reads and writes through the daemon "
	    "(splice)"),
	KEEP("allow_other",
	     "-o allow_other         let other users use the mount"),
	KEEP("allow_root", NULL),
	KEEP("default_permissions",
	     "-o default_permissions kernel permission checks (always on)"),
	KEEP("auto_unmount",
	     "-o auto_unmount        unmount if the daemon dies"),
	KEEP("fsname=",
	     "-o fsname=NAME         name shown by mount and df"),
	KEEP("subtype=", NULL),
	KEEP("debug",
	     "-o debug               libfuse's trace of every request"),
	KEEP("max_read=", NULL),
	KEEP("suid", NULL), KEEP("nosuid", NULL),
	KEEP("dev", NULL), KEEP("nodev", NULL),
	KEEP("exec", NULL), KEEP("noexec", NULL),
	KEEP("atime", NULL), KEEP("noatime", NULL),
	KEEP("relatime", NULL), KEEP("norelatime", NULL),
	KEEP("nodiratime", NULL), KEEP("strictatime", NULL),
	KEEP("sync", NULL), KEEP("async", NULL), KEEP("dirsync", NULL),
};

#define NOPTIONS (sizeof(daemon_options) / sizeof(daemon_options[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: landingfs [options] MOUNTPOINT\n\noptions:\n");
	for (size_t i = 0; i < NOPTIONS; i++)
		if (daemon_options[i].help != NULL)
			fprintf(out, "    %s\n", daemon_options[i].help);
	fprintf(out, "    -o OTHER=VALUE         libfuse mount options "
		     "(nosuid, nodev, noatime, ...)\n\nnetwork options:\n");
	net_config_help(out);
}

/* Options no table entry claims: the network side's, or unknown. */
static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct daemon_opts *o = data;
	char kv[1024], *eq;
	int rc;

	(void)outargs;
	switch (key) {
	case KEY_KEEP:
		if (strncmp(arg, "fsname=", 7) == 0)
			o->has_fsname = 1;
		if (strncmp(arg, "subtype=", 8) == 0)
			o->has_subtype = 1;
		return 1;
	case FUSE_OPT_KEY_NONOPT:
		if (o->mountpoint == NULL) {
			o->mountpoint = strdup(arg);
			return o->mountpoint != NULL ? 0 : -1;
		}
		fprintf(stderr, "landingfs: unexpected argument '%s' (one "
				"mount point only)\n", arg);
		o->failed = 1;
		return -1;
	case FUSE_OPT_KEY_OPT:
		if (arg[0] == '-') {
			fprintf(stderr, "landingfs: unknown flag '%s' (see "
					"--help)\n", arg);
			o->failed = 1;
			return -1;
		}
		if (strlen(arg) >= sizeof(kv)) {
			fprintf(stderr, "landingfs: option too long\n");
			o->failed = 1;
			return -1;
		}
		strcpy(kv, arg);
		eq = strchr(kv, '=');
		if (eq != NULL)
			*eq++ = '\0';
		rc = net_config_set(o->net, kv, eq);
		if (rc == -ENOENT)
			fprintf(stderr, "landingfs: unknown option '%s' (see "
					"--help)\n", kv);
		if (rc < 0) {
			o->failed = 1;
			return -1;
		}
		return 0;
	}
	return 0;
}

/* Makes path absolute against the current directory (it may not exist
 * yet); the daemon changes to / once it runs in the background. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

/* The mount point must be a directory that is not already a mount point
 * (a second mount on top would hide the first). */
static int check_mountpoint(const char *mnt)
{
	char parent[PATH_MAX];
	struct stat st, pst;

	if (stat(mnt, &st) != 0) {
		if (errno == ENOTCONN)
			lf_warnx("mount point %s: a dead mount is still there "
				 "(fusermount3 -u %s)", mnt, mnt);
		else
			lf_warn("mount point %s", mnt);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		lf_warnx("mount point %s: not a directory", mnt);
		return -1;
	}
	if (snprintf(parent, sizeof(parent), "%s/..", mnt) >=
		    (int)sizeof(parent) ||
	    stat(parent, &pst) != 0) {
		lf_warn("mount point %s: its parent", mnt);
		return -1;
	}
	if (st.st_dev != pst.st_dev || st.st_ino == pst.st_ino) {
		lf_warnx("mount point %s is busy: something is mounted there",
			 mnt);
		return -1;
	}
	return 0;
}

/* ---- background start-up ---------------------------------------------- */

static int ready_fd = -1; /* the child's end of the parent's wait */

/*
 * Forks before any thread exists. The parent waits for one byte (ready)
 * or for the pipe to close (the child failed, having said why on the
 * shared stderr) and exits accordingly; only the child returns.
 */
static void background(void)
{
	int p[2], status;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) != 0)
		lf_fatal("pipe");
	pid = fork();
	if (pid < 0)
		lf_fatal("fork");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1)
			_exit(0);
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) != 0)
			_exit(WEXITSTATUS(status));
		_exit(1);
	}
	close(p[0]);
	ready_fd = p[1];
	if (setsid() < 0)
		lf_fatal("setsid");
	if (chdir("/") != 0)
		lf_fatal("chdir /");
}

/* The child is serving: log to syslog, let go of the terminal, release
 * the parent. */
static void background_ready(bool debug)
{
	int fd;

	if (ready_fd < 0)
		return;
	lf_log_open("landingfs", true, debug);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	if (write(ready_fd, "", 1) != 1)
		lf_warn("telling the parent");
	close(ready_fd);
	ready_fd = -1;
}

/* ---- signals and the change hook ------------------------------------- */

static struct fs *signal_fs;   /* set while fs_loop() runs */
static int reload_pipe[2] = {-1, -1};
static volatile sig_atomic_t draining; /* a stop signal came: draining */
static pthread_t main_thread;

/* on_signal() runs in the main thread only (the others block these). */
static void on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP) {
		if (write(reload_pipe[1], "r", 1) < 0) {
			/* Full pipe: a reload is already pending. */
		}
	} else if (signal_fs != NULL) {
		/* The first stop signal drains (reload thread); the next, or
		 * one the pipe cannot take, stops at once. */
		if (draining || write(reload_pipe[1], "d", 1) != 1)
			fs_exit(signal_fs);
		draining = 1;
	}
	errno = saved;
}

/* The reload thread: SIGHUP -> net_reload(), and the drain of a stop,
 * outside the handler. Ends on 'q'. */
static void *reload_main(void *arg)
{
	struct net *n = arg;
	char c;

	while (read(reload_pipe[0], &c, 1) == 1 && c != 'q') {
		if (c == 'r') {
			lf_log(LOG_INFO, "SIGHUP: reloading");
			net_reload(n);
		} else if (c == 'd') {
			net_drain(n);
			/* Drained: the signal again, now to stop. */
			pthread_kill(main_thread, SIGTERM);
		}
	}
	return NULL;
}

/*
 * The store's change hook (writer thread) forwards to the FUSE layer while
 * it exists; hook_lock makes fs_free() wait for a hook call in progress.
 */
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fs *hook_fs; /* hook_lock */

static void on_store_change(void *arg, const struct store_change *chg,
			    size_t n)
{
	(void)arg;
	pthread_mutex_lock(&hook_lock);
	if (hook_fs != NULL)
		fs_invalidate(hook_fs, chg, n);
	pthread_mutex_unlock(&hook_lock);
}

static void set_hook_fs(struct fs *fs)
{
	pthread_mutex_lock(&hook_lock);
	hook_fs = fs;
	pthread_mutex_unlock(&hook_lock);
}

static void daemon_opts_init(struct daemon_opts *o)
{
	memset(o, 0, sizeof(*o));
	fs_opts_init(&o->fs);
	o->fuse = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	if (net_config_new(&o->net) < 0)
		lf_fatalx("out of memory");
}

/* Parses argv into o; exits on --help, --version and on any error. */
static void parse_args(int argc, char *argv[], struct daemon_opts *o)
{
	struct fuse_opt table[NOPTIONS + 1];
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	char *abs;

	for (size_t i = 0; i < NOPTIONS; i++)
		table[i] = daemon_options[i].opt;
	table[NOPTIONS] = (struct fuse_opt)FUSE_OPT_END;
	if (fuse_opt_parse(&args, o, table, opt_proc) != 0) {
		if (!o->failed)
			fprintf(stderr, "landingfs: bad arguments (see "
					"--help)\n");
		exit(1);
	}
	o->fuse = args; /* argv[0] and the kept libfuse options */
	if (o->help) {
		usage(stdout);
		exit(0);
	}
	if (o->version) {
		printf("landingfs %s (libfuse %s)\n", LANDINGFS_VERSION,
		       fuse_pkgversion());
		exit(0);
	}
	if (o->mountpoint == NULL) {
		fprintf(stderr, "landingfs: no mount point (see --help)\n");
		exit(1);
	}
	if (o->debug)
		o->foreground = 1;
	o->fs.debug = o->debug;
	if (o->fs.entry_timeout < 0 || o->fs.attr_timeout < 0 ||
	    o->fs.negative_timeout < 0 || o->fs.max_threads < 1) {
		fprintf(stderr, "landingfs: timeouts must be >= 0 and "
				"max_threads >= 1\n");
		exit(1);
	}
	abs = absolute(o->store_dir != NULL ? o->store_dir : DEFAULT_STORE);
	if (abs == NULL)
		lf_fatal("store directory");
	free(o->store_dir);
	o->store_dir = abs;
	abs = absolute(o->mountpoint);
	if (abs == NULL)
		lf_fatal("mount point");
	free(o->mountpoint);
	o->mountpoint = abs;
	/* The daemon makes no permission checks of its own: the kernel must. */
	if (fuse_opt_add_arg(&o->fuse, "-odefault_permissions") != 0 ||
	    (!o->has_subtype &&
	     fuse_opt_add_arg(&o->fuse, "-osubtype=landingfs") != 0))
		lf_fatalx("out of memory");
	if (!o->has_fsname) {
		char *fsname;

		if (asprintf(&fsname, "-ofsname=%s", o->store_dir) < 0 ||
		    fuse_opt_add_arg(&o->fuse, fsname) != 0)
			lf_fatalx("out of memory");
		free(fsname);
	}
}

int main(int argc, char *argv[])
{
	struct store_opts sopts;
	struct daemon_opts o;
	struct store *st = NULL;
	struct net *net = NULL;
	struct fs *fs = NULL;
	struct sigaction sa;
	pthread_t reload_thread;
	sigset_t sigs;
	int rc;

	lf_log_open("landingfs", false, false);
	daemon_opts_init(&o);
	parse_args(argc, argv, &o);
	lf_log_open("landingfs", false, o.debug);
	if (net_config_check(o.net) < 0)
		exit(1);
	if (check_mountpoint(o.mountpoint) < 0)
		exit(1);
	if (!o.foreground)
		background();

	/* Every thread started from here on blocks these; only the main
	 * thread takes them, while it waits in fs_loop(). */
	main_thread = pthread_self();
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&sopts, 0, sizeof(sopts));
	sopts.dir = o.store_dir;
	sopts.durable = o.durable;
	sopts.readonly = o.fs.readonly;
	/* The store logs one line saying what failed (-EBUSY: another
	 * process holds it); a second line would only repeat it. */
	rc = store_open(&sopts, &st);
	if (rc < 0)
		exit(1);
	rc = fs_new(st, &o.fs, &o.fuse, &fs);
	if (rc < 0) {
		lf_warnx("cannot start the FUSE session");
		goto out_store;
	}
	set_hook_fs(fs);
	store_set_change_hook(st, on_store_change, NULL);
	rc = fs_mount(fs, o.mountpoint);
	if (rc < 0) {
		lf_warnx("cannot mount on %s", o.mountpoint);
		goto out_fs;
	}
	rc = net_start(o.net, st, o.mountpoint, &net);
	if (rc < 0)
		goto out_fs;
	if (pipe2(reload_pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    fcntl(reload_pipe[0], F_SETFL, 0) != 0 ||
	    pthread_create(&reload_thread, NULL, reload_main, net) != 0) {
		rc = -errno;
		lf_warn("reload thread");
		goto out_net;
	}
	pthread_setname_np(reload_thread, "lf-signals");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the loop's wait must see EINTR */
	signal_fs = fs;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	lf_log(LOG_INFO, "serving %s from store %s", o.mountpoint, o.store_dir);
	sd_notify(0, "READY=1");
	background_ready(o.debug);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	rc = fs_loop(fs);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sd_notify(0, "STOPPING=1");
	lf_log(LOG_INFO, "unmounting %s", o.mountpoint);
	signal_fs = NULL;
	net_drain_abort(net); /* unmounted, or a second signal, meanwhile */

	if (write(reload_pipe[1], "q", 1) != 1)
		lf_warn("stopping the reload thread");
	pthread_join(reload_thread, NULL);
out_net:
	fs_unmount(fs); /* requests still waiting on us fail now */
	net_stop(&net);
out_fs:
	set_hook_fs(NULL);
	fs_free(&fs);
out_store:
	store_close(&st);
	net_config_free(&o.net);
	fuse_opt_free_args(&o.fuse);
	free(o.store_dir);
	free(o.mountpoint);
	if (reload_pipe[0] >= 0) {
		close(reload_pipe[0]);
		close(reload_pipe[1]);
	}
	return rc < 0 ? 1 : 0;
}
