/*
 * landingctl_check.c - the subcommands that inspect a store in place:
 * fsck (check, and repair with --repair), gc (reclaim unreferenced blobs)
 * and stats (files, bytes, by origin, by day).
 *
 * The checking itself is the store's (store_fsck()); this file chooses how
 * to open the store, prints the store's report lines and a summary, and
 * turns the result into fsck(8)-style exit statuses.
 */
#include "landingctl.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- fsck ------------------------------------------------------------- */

static void fsck_usage(FILE *f)
{
	fprintf(f,
		"usage: landingctl fsck [--repair | --live] STORE\n"
		"\n"
		"Check the store in directory STORE: every index row against the\n"
		"blob files (rows whose blob is missing, blobs no row references,\n"
		"staging leftovers), parent links, types and sizes, and SQLite's\n"
		"own integrity check. One line per problem, then a summary.\n"
		"The store is opened without its usual start-up recovery, so\n"
		"fsck sees what a crash or an outside change left behind.\n"
		"\n"
		"  --repair  fix what can be fixed: drop rows whose blob is gone,\n"
		"            reclaim unreferenced blobs, correct sizes; then check\n"
		"            again\n"
		"  --live    check a store a running daemon holds, read-only and\n"
		"            without its lock; a file changing meanwhile may be\n"
		"            reported, so run it again before acting on a problem\n"
		"\n"
		"exit status: 0 clean, 1 problems found and all repaired, 4\n"
		"problems left, 8 operational error, 16 usage error.\n");
}

struct fsck_print {
	unsigned long lines;
	bool quiet;
};

static void fsck_report(void *arg, const char *line)
{
	struct fsck_print *p = arg;

	p->lines++;
	if (!p->quiet)
		printf("  %s\n", line);
}

static uint64_t fsck_problems(const struct store_fsck_result *r)
{
	return r->missing_blobs + r->orphan_blobs + r->staging_left +
	       r->bad_rows;
}

static void fsck_summary(const char *dir, const struct store_fsck_result *r)
{
	if (fsck_problems(r) == 0 && r->repaired == 0) {
		printf("%s: clean\n", dir);
		return;
	}
	printf("%s: %" PRIu64 " missing blob(s), %" PRIu64
	       " unreferenced blob(s), %" PRIu64 " staging leftover(s), %" PRIu64
	       " bad row(s)",
	       dir, r->missing_blobs, r->orphan_blobs, r->staging_left,
	       r->bad_rows);
	if (r->repaired > 0)
		printf(", %" PRIu64 " repaired", r->repaired);
	printf("\n");
}

/* fsck_run() opens dir for checking and runs one store_fsck(). */
static int fsck_run(const char *dir, bool repair, bool live, bool quiet,
		    struct store_fsck_result *res)
{
	struct fsck_print pr = { .quiet = quiet };
	struct store *st;
	int rc;

	rc = ctl_open("fsck", dir, true, !repair, live, false, &st);
	if (rc < 0)
		return rc;
	memset(res, 0, sizeof(*res));
	rc = store_fsck(st, repair, fsck_report, &pr, res);
	store_close(&st);
	if (rc < 0) {
		ctl_errno("fsck", rc, "%s: the check could not run", dir);
		return rc;
	}
	/* A store that counts a problem without a line still says which. */
	if (!quiet && pr.lines == 0 && fsck_problems(res) > 0)
		printf("  (the store reported no details)\n");
	return 0;
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ "live", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct store_fsck_result res, again;
	bool repair = false, live = false;
	const char *dir;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': repair = true; break;
		case 'l': live = true; break;
		case 'h': fsck_usage(stdout); return CTL_OK;
		default:
			ctl_err("fsck", "unknown option '%s' (try landingctl "
				"fsck --help)", argv[optind - 1]);
			return CTL_USAGE;
		}
	}
	if (argc - optind != 1) {
		ctl_err("fsck", "needs exactly one STORE (try landingctl fsck "
			"--help)");
		return CTL_USAGE;
	}
	if (repair && live) {
		ctl_err("fsck", "--repair needs the store to itself; stop the "
			"daemon and drop --live");
		return CTL_USAGE;
	}
	dir = argv[optind];
	if (fsck_run(dir, repair, live, false, &res) < 0)
		return CTL_ERROR;
	fsck_summary(dir, &res);
	if (fsck_problems(&res) == 0)
		return CTL_OK;
	if (!repair)
		return CTL_PROBLEMS;
	/* Trust the repair only as far as a fresh check confirms it. */
	if (fsck_run(dir, false, false, true, &again) < 0)
		return CTL_ERROR;
	if (fsck_problems(&again) > 0) {
		printf("%s: after repair: ", dir);
		fsck_summary("still", &again);
		return CTL_PROBLEMS;
	}
	printf("%s: repaired; a second check found it clean\n", dir);
	return CTL_FIXED;
}

/* ---- gc --------------------------------------------------------------- */

static void gc_usage(FILE *f)
{
	fprintf(f,
		"usage: landingctl gc STORE\n"
		"\n"
		"Reclaim the space of blob files no index row references and of\n"
		"staging leftovers (uploads a crash interrupted), and drop files\n"
		"that were unlinked while open when the daemon stopped. Rows whose\n"
		"blob is missing are left alone: that is fsck --repair's job.\n"
		"The daemon does the same when it opens a store; gc does it for a\n"
		"store no daemon serves, and says how much it freed.\n"
		"\n"
		"exit status: 0 done (also when there was nothing to reclaim), 4\n"
		"garbage left after the run, 8 operational error, 16 usage error.\n");
}

static uint64_t blob_bytes_total;

static int blob_bytes_add(const char *path, const struct stat *sb, int type,
			  struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F)
		blob_bytes_total += (uint64_t)sb->st_blocks * 512;
	return 0;
}

/* blob_bytes() is the disk space under STORE/blobs (the layout store.h
 * documents), read-only, for the report. */
static uint64_t blob_bytes(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/blobs", dir);
	blob_bytes_total = 0;
	if (nftw(path, blob_bytes_add, 16, FTW_PHYS) != 0)
		return 0;
	return blob_bytes_total;
}

int cmd_gc(int argc, char **argv)
{
	struct store_fsck_result before, after;
	uint64_t garbage, left, bytes0, bytes1;
	struct store *st;
	const char *dir;

	if (ctl_wants_help(argc, argv)) {
		gc_usage(stdout);
		return CTL_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		ctl_err("gc", "needs exactly one STORE (try landingctl gc "
			"--help)");
		return CTL_USAGE;
	}
	dir = argv[1];
	if (fsck_run(dir, false, false, true, &before) < 0)
		return CTL_ERROR;
	garbage = before.orphan_blobs + before.staging_left;
	bytes0 = blob_bytes(dir);
	/* Reclaiming is the store's start-up recovery (store_open() without
	 * no_recover); gc opens and closes the store to run it. */
	if (ctl_open("gc", dir, false, false, false, false, &st) < 0)
		return CTL_ERROR;
	store_close(&st);
	if (fsck_run(dir, false, false, true, &after) < 0)
		return CTL_ERROR;
	bytes1 = blob_bytes(dir);
	left = after.orphan_blobs + after.staging_left;
	printf("%s: reclaimed %" PRIu64 " unreferenced blob(s) and staging "
	       "leftover(s), %" PRIu64 " bytes of blob space freed\n",
	       dir, garbage > left ? garbage - left : 0,
	       bytes0 > bytes1 ? bytes0 - bytes1 : 0);
	if (after.missing_blobs + after.bad_rows > 0)
		fprintf(stderr, "landingctl: gc: %s: %" PRIu64 " other "
			"problem(s) remain; run landingctl fsck\n", dir,
			after.missing_blobs + after.bad_rows);
	if (left > 0) {
		ctl_err("gc", "%s: %" PRIu64 " unreferenced blob(s) could not "
			"be reclaimed", dir, left);
		return CTL_PROBLEMS;
	}
	return CTL_OK;
}

/* ---- stats ------------------------------------------------------------ */

static void stats_usage(FILE *f)
{
	fprintf(f,
		"usage: landingctl stats [--json] STORE\n"
		"\n"
		"Count what the store holds: files, directories, symlinks and\n"
		"bytes; files and bytes by origin (uploaded over the network or\n"
		"written through the mount); and files and bytes by the UTC day\n"
		"they were received. The store is opened read-only.\n"
		"\n"
		"  --json  one JSON object instead of the table\n");
}

struct day {
	int64_t day; /* days since the epoch, UTC */
	uint64_t files, bytes;
};

struct stats_walk {
	struct store *st;
	struct day *days;
	size_t ndays, cap;
	uint64_t files, bytes;
	int err;
};

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* day_add() counts one file on its day; days stay sorted, found by binary
 * search, so a million files over a thousand days cost little. */
static int day_add(struct stats_walk *w, int64_t day, uint64_t bytes)
{
	size_t lo = 0, hi = w->ndays;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->days[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == w->ndays || w->days[lo].day != day) {
		if (w->ndays == w->cap) {
			size_t ncap = w->cap ? 2 * w->cap : 64;
			struct day *nd = realloc(w->days, ncap * sizeof(*nd));

			if (nd == NULL)
				return -ENOMEM;
			w->days = nd;
			w->cap = ncap;
		}
		memmove(&w->days[lo + 1], &w->days[lo],
			(w->ndays - lo) * sizeof(*w->days));
		w->days[lo] = (struct day){ .day = day };
		w->ndays++;
	}
	w->days[lo].files++;
	w->days[lo].bytes += bytes;
	return 0;
}

static int stats_visit(void *arg, const char *path, const struct store_attr *a)
{
	struct stats_walk *w = arg;
	struct store_landing l;
	int64_t day;
	int rc;

	(void)path;
	if (!S_ISREG(a->mode))
		return 0;
	rc = store_landing_get(w->st, a->ino, &l);
	if (rc < 0)
		return rc;
	day = floor_div(l.received_ns, 86400LL * 1000000000LL);
	w->files++;
	w->bytes += a->size;
	return day_add(w, day, a->size);
}

static void day_name(int64_t day, char *buf, size_t size)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d", &tm);
}

static void human(uint64_t n, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%" PRIu64 " B", n);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
}

static void stats_print(const struct store_stats *s, const struct stats_walk *w)
{
	char h[32], d[16];

	human(s->bytes, h, sizeof(h));
	printf("files     %" PRIu64 "\n", s->files);
	printf("dirs      %" PRIu64 "\n", s->dirs);
	printf("symlinks  %" PRIu64 "\n", s->symlinks);
	printf("bytes     %" PRIu64 " (%s)\n", s->bytes, h);
	printf("\n%-24s %12s %16s\n", "by origin", "files", "bytes");
	printf("  %-22s %12" PRIu64 " %16" PRIu64 "\n", "network",
	       s->net_files, s->net_bytes);
	printf("  %-22s %12" PRIu64 " %16" PRIu64 "\n", "local",
	       s->local_files, s->local_bytes);
	printf("\n%-24s %12s %16s\n", "by day received (UTC)", "files",
	       "bytes");
	for (size_t i = 0; i < w->ndays; i++) {
		day_name(w->days[i].day, d, sizeof(d));
		printf("  %-22s %12" PRIu64 " %16" PRIu64 "\n", d,
		       w->days[i].files, w->days[i].bytes);
	}
}

static void stats_print_json(const struct store_stats *s,
			     const struct stats_walk *w)
{
	char d[16];

	printf("{\"files\":%" PRIu64 ",\"dirs\":%" PRIu64
	       ",\"symlinks\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"by_origin\":{\"network\":{\"files\":%" PRIu64
	       ",\"bytes\":%" PRIu64 "},\"local\":{\"files\":%" PRIu64
	       ",\"bytes\":%" PRIu64 "}},\"by_day\":[",
	       s->files, s->dirs, s->symlinks, s->bytes, s->net_files,
	       s->net_bytes, s->local_files, s->local_bytes);
	for (size_t i = 0; i < w->ndays; i++) {
		day_name(w->days[i].day, d, sizeof(d));
		printf("%s{\"day\":\"%s\",\"files\":%" PRIu64
		       ",\"bytes\":%" PRIu64 "}",
		       i ? "," : "", d, w->days[i].files, w->days[i].bytes);
	}
	printf("]}\n");
}

int cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stats_walk w = { 0 };
	struct store_stats s;
	bool json = false;
	const char *dir;
	int c, rc, ret = CTL_ERROR;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': stats_usage(stdout); return CTL_OK;
		default:
			ctl_err("stats", "unknown option '%s' (try landingctl "
				"stats --help)", argv[optind - 1]);
			return CTL_USAGE;
		}
	}
	if (argc - optind != 1) {
		ctl_err("stats", "needs exactly one STORE (try landingctl "
			"stats --help)");
		return CTL_USAGE;
	}
	dir = argv[optind];
	if (ctl_open("stats", dir, true, true, false, false, &w.st) < 0)
		return CTL_ERROR;
	rc = store_stats(w.st, &s);
	if (rc < 0) {
		ctl_errno("stats", rc, "%s: store_stats", dir);
		goto out;
	}
	rc = ctl_walk(w.st, stats_visit, &w);
	if (rc < 0) {
		ctl_errno("stats", rc, "%s: walking the index", dir);
		goto out;
	}
	if (w.files != s.files)
		fprintf(stderr, "landingctl: stats: %s: the index counts %" PRIu64
			" files but %" PRIu64 " are reachable from the root "
			"(run landingctl fsck)\n", dir, s.files, w.files);
	if (json)
		stats_print_json(&s, &w);
	else
		stats_print(&s, &w);
	ret = CTL_OK;
out:
	free(w.days);
	store_close(&w.st);
	return ret;
}
