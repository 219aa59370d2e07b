/*
 * check_store_crash.c - a child process publishes in a loop (several
 * threads, so that group commits are in flight; now and then an unlink) and
 * is SIGKILLed at random points, with a fixed seed. The child reports each
 * call it starts and each it was told succeeded, through a pipe. After each
 * kill the store is reopened: every acknowledged publish (or unlink) is
 * there with intact contents (or gone), no other content is visible (except
 * from the one call per thread that may have committed just before the
 * kill), no staging or blob leftovers remain, and fsck is clean.
 */
#include "unit/check_store.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#define KILLS 20 /* LF_CRASH_KILLS overrides, for longer runs by hand */
#define THREADS 4
#define NAMES 8 /* per thread */
#define MAX_SIZE 20000

/* One pipe record: a call started ('I') or acknowledged ('A'); the call
 * is a publish ('P') or an unlink ('U'). */
struct rec {
	uint32_t seq;
	uint8_t type;
	uint8_t thread;
	uint8_t name;
	uint8_t op;
};

static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static size_t body_size(uint32_t seq)
{
	return 8 + mix(seq) % MAX_SIZE;
}

static void body_fill(uint32_t seq, uint8_t *buf, size_t len)
{
	memcpy(buf, &seq, 4);
	memcpy(buf + 4, &seq, 4);
	for (size_t i = 8; i < len; i++)
		buf[i] = (uint8_t)(seq * 31u + i * 7u);
}

/* The seq a body belongs to, or 0 when it is not a complete body. */
static uint32_t body_check(const uint8_t *buf, size_t len)
{
	static uint8_t want[MAX_SIZE + 8];
	uint32_t seq, seq2;

	if (len < 8)
		return 0;
	memcpy(&seq, buf, 4);
	memcpy(&seq2, buf + 4, 4);
	if (seq != seq2 || body_size(seq) != len)
		return 0;
	body_fill(seq, want, len);
	return memcmp(buf, want, len) == 0 ? seq : 0;
}

static void name_of(unsigned thread, unsigned name, char *buf, size_t size)
{
	snprintf(buf, size, "t%u/n%u", thread, name);
}

/* ---- the child ---------------------------------------------------------- */

struct child {
	struct store *st;
	int fd;
	unsigned thread;
	uint32_t seq0;
};

static void send_rec(int fd, const struct rec *r)
{
	if (write(fd, r, sizeof(*r)) != (ssize_t)sizeof(*r))
		_exit(3);
}

static void *child_thread(void *arg)
{
	struct child *c = arg;
	static _Thread_local uint8_t buf[MAX_SIZE + 8];
	char path[32];

	for (uint32_t i = 0;; i++) {
		uint32_t seq = c->seq0 + i * THREADS + c->thread;
		struct rec r = {seq, 'I', (uint8_t)c->thread,
				(uint8_t)(mix(seq * 3) % NAMES),
				mix(seq * 5) % 8 == 0 ? 'U' : 'P'};
		size_t len = body_size(seq);
		struct store_attr d;
		char dir[16], name[16];
		int rc;

		name_of(r.thread, r.name, path, sizeof(path));
		body_fill(seq, buf, len);
		send_rec(c->fd, &r);
		if (r.op == 'P') {
			rc = ts_publish_st(c->st, path, buf, len,
					   STORE_PUBLISH_MKDIRS, NULL, NULL);
		} else {
			snprintf(dir, sizeof(dir), "t%u", r.thread);
			snprintf(name, sizeof(name), "n%u", r.name);
			rc = store_lookup_path(c->st, dir, &d);
			if (rc == 0)
				rc = store_unlink(c->st, &ts_ctx, d.ino, name);
			/* Nothing to unlink is fine: nothing changes. */
			if (rc == -ENOENT)
				rc = 0;
		}
		if (rc < 0)
			_exit(4);
		r.type = 'A';
		send_rec(c->fd, &r);
	}
	return NULL;
}

static void child_main(int fd, uint32_t seq0, bool durable)
{
	struct store_opts o = {.dir = ts_dir, .durable = durable};
	struct child c[THREADS];
	pthread_t t[THREADS];
	struct store *st;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (store_open(&o, &st) < 0)
		_exit(2);
	for (unsigned i = 0; i < THREADS; i++) {
		c[i] = (struct child){st, fd, i, seq0};
		if (pthread_create(&t[i], NULL, child_thread, &c[i]) != 0)
			_exit(5);
	}
	pthread_join(t[0], NULL);
	_exit(6);
}

/* ---- the parent --------------------------------------------------------- */

static uint32_t acked[THREADS][NAMES];  /* the visible seq, 0 = none */
static struct rec pending[THREADS];     /* started, not acknowledged */
static bool has_pending[THREADS];

static void take(const struct rec *r)
{
	if (r->type == 'I') {
		pending[r->thread] = *r;
		has_pending[r->thread] = true;
	} else {
		acked[r->thread][r->name] = r->op == 'P' ? r->seq : 0;
		has_pending[r->thread] = false;
	}
}

static void verify(int round)
{
	static uint8_t buf[MAX_SIZE + 16];
	struct store_fsck_result res;
	struct store_stats stats;
	unsigned files = 0;

	ts_reopen();
	for (unsigned t = 0; t < THREADS; t++) {
		for (unsigned n = 0; n < NAMES; n++) {
			struct store_attr a;
			char path[32];
			uint32_t seq;
			ssize_t len;
			int rc;
			bool maybe = has_pending[t] && pending[t].name == n;
			bool maybe_gone = maybe && pending[t].op == 'U';

			name_of(t, n, path, sizeof(path));
			rc = store_lookup_path(ts_st, path, &a);
			if (rc == -ENOENT) {
				ck_assert_msg(acked[t][n] == 0 || maybe_gone,
					      "round %d: %s acked %u, missing",
					      round, path, acked[t][n]);
				acked[t][n] = 0;
				continue;
			}
			ck_assert_int_eq(rc, 0);
			files++;
			len = ts_read_st(ts_st, a.ino, buf, sizeof(buf));
			ck_assert_int_ge(len, 0);
			ck_assert_uint_eq((uint64_t)len, a.size);
			seq = body_check(buf, (size_t)len);
			ck_assert_msg(seq != 0, "round %d: %s: torn body", round,
				      path);
			if (seq == acked[t][n])
				continue;
			/* Committed, killed before the acknowledgement. */
			ck_assert_msg(maybe && pending[t].op == 'P' &&
					      seq == pending[t].seq,
				      "round %d: %s holds %u, acked %u",
				      round, path, seq, acked[t][n]);
			acked[t][n] = seq;
		}
	}
	ck_assert_int_eq(store_stats(ts_st, &stats), 0);
	ck_assert_uint_eq(stats.files, files);
	ck_assert_int_eq(ts_fsck_st(ts_st, false, &res), 0);
	ck_assert_int_eq(ts_count_blobs(ts_dir), (long)files);
	store_close(&ts_st);
}

START_TEST(test_crash_publish)
{
	uint32_t rng = 0x5eed1234;
	unsigned total_acks = 0;
	int kills = getenv("LF_CRASH_KILLS") ? atoi(getenv("LF_CRASH_KILLS"))
					     : KILLS;

	store_close(&ts_st);
	for (int round = 0; round < kills; round++) {
		struct timespec ts;
		struct rec r;
		int p[2], status;
		bool acked_one = false;
		pid_t pid;

		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(p[0]);
			child_main(p[1], (uint32_t)round * 1000000u + 1,
				   round % 4 == 3);
		}
		close(p[1]);
		/* Let the child publish at least once, then kill it at a
		 * random point within the next 30 ms. */
		while (!acked_one && read(p[0], &r, sizeof(r)) == sizeof(r)) {
			take(&r);
			acked_one = r.type == 'A';
		}
		ck_assert_msg(acked_one, "round %d: child made no progress",
			      round);
		rng = mix(rng + (uint32_t)round);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(rng % 30000) * 1000;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status) &&
				      WTERMSIG(status) == SIGKILL,
			      "round %d: child ended on its own (%d)", round,
			      status);
		while (read(p[0], &r, sizeof(r)) == sizeof(r)) {
			take(&r);
			total_acks += r.type == 'A';
		}
		close(p[0]);
		verify(round);
	}
	ck_assert_uint_gt(total_acks, (unsigned)kills);
	ts_reopen();
}
END_TEST

Suite *store_crash_suite(void);
Suite *store_crash_suite(void)
{
	Suite *s = suite_create("store_crash");
	TCase *tc = ts_tcase("crash", 60);

	tcase_add_test(tc, test_crash_publish);
	suite_add_tcase(s, tc);
	return s;
}
