/*
 * store_bench.c - store publishes per second for 4 KiB files, beside the
 * raw SQLite single-row commit rate measured in the same run on the same
 * filesystem, in both durability modes.
 *
 *   store_bench [-d DIR] [-t SECONDS] [-r REPEATS] [-j THREADS]
 *
 * For each mode (default: synchronous=NORMAL, page cache; durable:
 * fdatasync + synchronous=FULL) it measures, interleaved and repeated:
 *   sqlite    one INSERT of an inode-sized row per transaction, one thread
 *   serial    store_publish of a staged 4 KiB file, one thread (one
 *             publish per transaction)
 *   grouped   the same from THREADS threads at once (group commit)
 * and prints the median of each. Every measurement uses a fresh directory
 * under DIR; all of them are removed at the end.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "landingfs/log.h"
#include "landingfs/store.h"

#define FILE_SIZE 4096
#define MAX_REPEATS 9

static const char *bench_dir = "/var/tmp";
static double seconds = 2.0;
static int repeats = 3;
static int threads = 16;
static char run_dir[256];
static unsigned run_seq;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void next_dir(char *buf, size_t size, const char *what)
{
	snprintf(buf, size, "%s/%s-%u", run_dir, what, run_seq++);
}

/* ---- raw SQLite ---------------------------------------------------------- */

static int exec_or_die(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "store_bench: %s: %s\n", sql, err ? err : "?");
		exit(1);
	}
	return 0;
}

static double bench_sqlite(bool durable)
{
	char dir[300], path[320];
	sqlite3_stmt *s;
	sqlite3 *db;
	double t0, t1;
	long n = 0;

	next_dir(dir, sizeof(dir), "sqlite");
	if (mkdir(dir, 0700) < 0) {
		perror(dir);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/raw.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "store_bench: open %s\n", path);
		exit(1);
	}
	exec_or_die(db, "PRAGMA journal_mode=WAL");
	exec_or_die(db, durable ? "PRAGMA synchronous=FULL"
				: "PRAGMA synchronous=NORMAL");
	exec_or_die(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, "
			"parent INTEGER, name BLOB, mode INTEGER, "
			"size INTEGER, mtime INTEGER, blob INTEGER)");
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO t (parent, name, mode, size, "
			       "mtime, blob) VALUES (1, ?1, 33188, 4096, ?2, "
			       "?2)",
			       -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "store_bench: prepare\n");
		exit(1);
	}
	t0 = now_s();
	do {
		char name[32];
		int len = snprintf(name, sizeof(name), "f%ld", n);

		sqlite3_bind_blob(s, 1, name, len, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 2, n);
		if (sqlite3_step(s) != SQLITE_DONE) {
			fprintf(stderr, "store_bench: insert: %s\n",
				sqlite3_errmsg(db));
			exit(1);
		}
		sqlite3_reset(s);
		n++;
		t1 = now_s();
	} while (t1 - t0 < seconds);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return (double)n / (t1 - t0);
}

/* ---- the store ----------------------------------------------------------- */

struct pub_worker {
	struct store *st;
	unsigned id;
	double until;
	long done;
	int err;
};

static const struct store_ctx bench_ctx = {0, 0, STORE_ORIGIN_NET};
static char payload[FILE_SIZE];

static int publish_one(struct store *st, unsigned id, long i)
{
	struct store_publish pub = {0};
	struct store_stage *sg;
	char path[64];
	int rc;

	rc = store_stage_begin(st, &sg);
	if (rc < 0)
		return rc;
	if (write(store_stage_fd(sg), payload, sizeof(payload)) !=
	    (ssize_t)sizeof(payload)) {
		store_stage_abort(&sg);
		return -EIO;
	}
	snprintf(path, sizeof(path), "w%u/f%ld", id, i);
	pub.path = path;
	pub.flags = STORE_PUBLISH_MKDIRS;
	pub.mode = 0644;
	return store_publish(st, &bench_ctx, &sg, &pub, NULL, NULL);
}

static void *pub_main(void *arg)
{
	struct pub_worker *w = arg;

	while (now_s() < w->until) {
		w->err = publish_one(w->st, w->id, w->done);
		if (w->err < 0)
			break;
		w->done++;
	}
	return NULL;
}

static double bench_store(bool durable, int nthreads)
{
	struct pub_worker w[256];
	pthread_t t[256];
	struct store_opts o = {.durable = durable};
	struct store *st;
	char dir[300];
	double t0, t1;
	long total = 0;
	int rc;

	next_dir(dir, sizeof(dir), "store");
	o.dir = dir;
	rc = store_open(&o, &st);
	if (rc < 0) {
		fprintf(stderr, "store_bench: store_open %s: %s\n", dir,
			strerror(-rc));
		exit(1);
	}
	t0 = now_s();
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct pub_worker){st, (unsigned)i, t0 + seconds, 0, 0};
		pthread_create(&t[i], NULL, pub_main, &w[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		if (w[i].err < 0) {
			fprintf(stderr, "store_bench: publish: %s\n",
				strerror(-w[i].err));
			exit(1);
		}
		total += w[i].done;
	}
	t1 = now_s();
	store_close(&st);
	return (double)total / (t1 - t0);
}

/* ---- driver -------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: store_bench [-d DIR] [-t SECONDS] "
			"[-r REPEATS] [-j THREADS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = {"default", "durable"};
	double raw[2][MAX_REPEATS], ser[2][MAX_REPEATS], grp[2][MAX_REPEATS];
	int opt;

	while ((opt = getopt(argc, argv, "d:t:r:j:h")) != -1) {
		switch (opt) {
		case 'd':
			bench_dir = optarg;
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'r':
			repeats = atoi(optarg);
			break;
		case 'j':
			threads = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (seconds <= 0 || repeats < 1 || repeats > MAX_REPEATS ||
	    threads < 1 || threads > 256)
		usage();
	lf_log_open("store_bench", false, false);
	memset(payload, 'x', sizeof(payload));
	snprintf(run_dir, sizeof(run_dir), "%s/lf-store-bench-XXXXXX",
		 bench_dir);
	if (!mkdtemp(run_dir)) {
		perror(run_dir);
		return 1;
	}

	/* Warm up: wake the disk and the memory the host took back. */
	{
		double s = seconds;

		seconds = s / 4 < 0.25 ? s / 4 : 0.25;
		bench_sqlite(false);
		bench_store(false, threads);
		seconds = s;
	}
	for (int r = 0; r < repeats; r++) {
		for (int m = 0; m < 2; m++) {
			raw[m][r] = bench_sqlite(m == 1);
			ser[m][r] = bench_store(m == 1, 1);
			grp[m][r] = bench_store(m == 1, threads);
		}
	}
	printf("store publishes of %d-byte files per second, median of %d "
	       "runs of %.1f s, in %s\n",
	       FILE_SIZE, repeats, seconds, bench_dir);
	printf("%-8s  %14s  %14s  %14s  %9s\n", "mode", "sqlite 1-row/s",
	       "serial pub/s", "grouped pub/s", "grp/sqlite");
	for (int m = 0; m < 2; m++) {
		double a = median(raw[m], repeats);
		double b = median(ser[m], repeats);
		double c = median(grp[m], repeats);

		printf("%-8s  %14.0f  %14.0f  %14.0f  %8.2fx\n", modes[m], a,
		       b, c, c / a);
	}
	printf("(serial: 1 thread, one publish per transaction; grouped: %d "
	       "threads sharing commits; sqlite: one INSERT per commit, WAL, "
	       "synchronous=NORMAL / FULL)\n",
	       threads);
	nftw(run_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
