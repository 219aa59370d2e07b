/*
 * landingctl.c - the landingfs admin CLI: the subcommand table, the help
 * texts, and opening a store on behalf of a subcommand.
 *
 * Subcommands that work on a store directory (fsck, gc, stats, dump, load)
 * open it through include/landingfs/store.h like the daemon does, so they
 * need the daemon stopped: the store is locked by whoever has it open.
 * "uploads" asks a running daemon over HTTP instead. The subcommands live
 * in landingctl_*.c; see landingctl.h for the map.
 */
#include "landingctl.h"

#include "landingfs/log.h"
#include "landingfs/version.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "fsck", cmd_fsck, "check a store's index against its blobs [--repair]" },
	{ "gc", cmd_gc, "reclaim blobs and staging leftovers nothing references" },
	{ "stats", cmd_stats, "files, bytes, by origin and by day" },
	{ "uploads", cmd_uploads, "in-flight uploads of a running daemon" },
	{ "dump", cmd_dump, "export a whole store to a portable directory" },
	{ "load", cmd_load, "import a dump into an empty store" },
	{ "abort", cmd_abort, "cut the FUSE connection of a hung mount" },
};

#define NSUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"usage: landingctl COMMAND [OPTIONS] ARGS...\n"
		"\n"
		"Administer a landingfs store (a directory holding index.db and\n"
		"the blob files) or ask a running landingfs daemon.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < NSUBCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", subcommands[i].name,
			subcommands[i].summary);
	fprintf(f,
		"\n"
		"Commands that take STORE open it exclusively: stop the daemon\n"
		"that serves it first (fsck --live checks a store in use, read-only).\n"
		"'landingctl COMMAND --help' describes one command; see also\n"
		"landingctl(8).\n"
		"\n"
		"options:\n"
		"  -h, --help     this help\n"
		"  -V, --version  print the version\n");
}

void ctl_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "landingctl: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ctl_errno(const char *cmd, int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "landingctl: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err < 0 ? -err : err));
}

bool ctl_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

/*
 * The store explains itself through the daemon log (stderr here) while it
 * opens. To keep every error one line, those lines are held back: when the
 * open fails, the store's last line becomes the reason in our own error
 * line; when it succeeds, its warnings and errors are passed on and its
 * informational lines dropped. LANDINGCTL_DEBUG passes everything on.
 */
static int capture_saved = -1;
static FILE *capture_file;
static char captured_reason[512];

static void capture_begin(void)
{
	captured_reason[0] = '\0';
	if (getenv("LANDINGCTL_DEBUG") != NULL)
		return;
	fflush(stderr);
	capture_file = tmpfile();
	if (capture_file == NULL)
		return;
	capture_saved = dup(STDERR_FILENO);
	if (capture_saved < 0 ||
	    dup2(fileno(capture_file), STDERR_FILENO) < 0) {
		if (capture_saved >= 0)
			close(capture_saved);
		capture_saved = -1;
		fclose(capture_file);
		capture_file = NULL;
	}
}

static void capture_end(bool ok)
{
	char line[1024];

	if (capture_file == NULL)
		return;
	fflush(stderr);
	dup2(capture_saved, STDERR_FILENO);
	close(capture_saved);
	capture_saved = -1;
	rewind(capture_file);
	while (fgets(line, sizeof(line), capture_file) != NULL) {
		char *msg = strstr(line, ": ");
		bool info;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		info = strstr(line, ": info: ") != NULL ||
		       strstr(line, ": notice: ") != NULL ||
		       strstr(line, ": debug: ") != NULL;
		if (ok && !info)
			fprintf(stderr, "%s\n", line);
		/* Keep the text after "ident: level: " of the last problem. */
		if (!info && msg != NULL) {
			char *m2 = strstr(msg + 2, ": ");

			snprintf(captured_reason, sizeof(captured_reason), "%s",
				 m2 != NULL ? m2 + 2 : msg + 2);
		}
	}
	fclose(capture_file);
	capture_file = NULL;
}

int ctl_open(const char *cmd, const char *dir, bool no_recover, bool readonly,
	     bool no_lock, bool create, struct store **out)
{
	struct store_opts opts = {
		.dir = dir,
		.readonly = readonly,
		.no_recover = no_recover,
		.no_lock = no_lock,
	};
	char path[4096];
	struct stat sb;
	int rc;

	if (stat(dir, &sb) < 0) {
		if (!(create && errno == ENOENT)) {
			ctl_errno(cmd, errno, "%s", dir);
			return -errno;
		}
	} else if (!S_ISDIR(sb.st_mode)) {
		ctl_err(cmd, "%s: not a directory", dir);
		return -ENOTDIR;
	} else if (!create) {
		/* store_open() would create a fresh store in any directory;
		 * a command that inspects one must not. */
		snprintf(path, sizeof(path), "%s/index.db", dir);
		if (access(path, F_OK) < 0) {
			ctl_err(cmd, "%s: not a landingfs store (no index.db)",
				dir);
			return -ENOENT;
		}
	}
	capture_begin();
	rc = store_open(&opts, out);
	capture_end(rc == 0);
	if (rc == -EBUSY) {
		ctl_err(cmd, "%s: store is in use by a running daemon (stop it "
			"first)", dir);
		return rc;
	}
	if (rc < 0) {
		if (captured_reason[0] != '\0')
			ctl_err(cmd, "%s: cannot open the store: %s", dir,
				captured_reason);
		else
			ctl_errno(cmd, rc, "%s: cannot open the store", dir);
		return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *name;

	/* The store logs through lf_log: to stderr, like our own errors. */
	lf_log_open("landingctl", false, getenv("LANDINGCTL_DEBUG") != NULL);
	if (argc < 2) {
		usage(stderr);
		return CTL_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 ||
	    strcmp(name, "help") == 0) {
		if (argc > 2) {
			char *args[] = { argv[2], (char *)"--help", NULL };

			for (size_t i = 0; i < NSUBCOMMANDS; i++)
				if (strcmp(argv[2], subcommands[i].name) == 0)
					return subcommands[i].run(2, args);
		}
		usage(stdout);
		return CTL_OK;
	}
	if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
		printf("landingctl %s\n", LANDINGFS_VERSION);
		return CTL_OK;
	}
	for (size_t i = 0; i < NSUBCOMMANDS; i++)
		if (strcmp(name, subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "landingctl: unknown command '%s' (try landingctl "
		"--help)\n", name);
	return CTL_USAGE;
}

/* A directory still to list during ctl_walk(). */
struct walk_dir {
	uint64_t ino;
	char *path;
};

#define WALK_BATCH 256

int ctl_walk(struct store *st, ctl_walk_fn fn, void *arg)
{
	struct store_dirent *ents;
	struct walk_dir *stack = NULL;
	size_t depth = 0, cap = 0;
	struct store_attr root;
	int rc;

	rc = store_getattr(st, STORE_ROOT_INO, &root);
	if (rc < 0)
		return rc;
	rc = fn(arg, "", &root);
	if (rc != 0)
		return rc;
	ents = calloc(WALK_BATCH, sizeof(*ents));
	stack = malloc(sizeof(*stack));
	if (ents == NULL || stack == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	cap = 1;
	stack[depth++] = (struct walk_dir){ STORE_ROOT_INO, strdup("") };
	if (stack[0].path == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* Depth-first with an explicit stack, so that deep trees cost heap,
	 * not C stack: every entry of a directory is reported, then its
	 * subdirectories are listed in turn. */
	while (depth > 0 && rc == 0) {
		struct walk_dir d = stack[--depth];
		uint64_t cursor = 0;
		size_t n;

		for (;;) {
			rc = store_readdir(st, d.ino, cursor, ents, WALK_BATCH,
					   &n);
			if (rc < 0 || n == 0)
				break;
			for (size_t i = 0; i < n && rc == 0; i++) {
				size_t plen = strlen(d.path);
				char *p = malloc(plen + strlen(ents[i].name) + 2);

				if (p == NULL) {
					rc = -ENOMEM;
					break;
				}
				sprintf(p, "%s%s%s", d.path, plen ? "/" : "",
					ents[i].name);
				rc = fn(arg, p, &ents[i].attr);
				if (rc != 0 || !S_ISDIR(ents[i].attr.mode)) {
					free(p);
					continue;
				}
				if (depth == cap) {
					struct walk_dir *ns = realloc(
						stack, 2 * cap * sizeof(*stack));

					if (ns == NULL) {
						free(p);
						rc = -ENOMEM;
						break;
					}
					stack = ns;
					cap *= 2;
				}
				stack[depth++] =
					(struct walk_dir){ ents[i].attr.ino, p };
			}
			if (rc != 0)
				break;
			cursor = ents[n - 1].cursor;
		}
		free(d.path);
	}
out:
	while (depth > 0)
		free(stack[--depth].path);
	free(stack);
	free(ents);
	return rc;
}
