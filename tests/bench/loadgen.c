/*
 * loadgen.c - load for the bench (tests/bench/load.sh).
 *
 *   loadgen -P PORT [-H HOST] -c CONNS -d SECONDS [-s SEED] [-M MAXSIZE]
 *       CONNS threads, each with one keep-alive connection, PUT bodies of
 *       mixed sizes (mostly 4 KiB to 64 KiB, some up to MAXSIZE, default
 *       8 MiB) for SECONDS, each thread cycling over 16 paths of its own.
 *   loadgen -P PORT [-H HOST] -S CONNS -d SECONDS [-r BYTES_PER_S]
 *       Slow mode: CONNS connections each trickle one upload of
 *       SECONDS * BYTES_PER_S bytes (default 2048 per second), all from one
 *       poll loop, then wait for the answers.
 *
 * Prints one line of key=value figures:
 *   loadgen: requests=N bytes=N errors=N p50_ms=X p99_ms=X rps=X mibps=X
 *   loadgen-slow: conns=N connected=N completed=N errors=N statuses=...
 * and, with -v, the first errors seen. Exit status 0 when it ran (errors are
 * reported, not judged), 2 on usage.
 */
#include "progs/httpc.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#define MAX_CONNS 4096
#define MAX_SAMPLES (1u << 20)

static const char *host = "127.0.0.1";
static int port;
static int nconns = 64;
static int nslow;
static double seconds = 10;
static uint64_t seed = 1;
static uint64_t maxsize = 8u << 20;
static uint64_t slow_rate = 2048;
static bool verbose;
static unsigned char *payload;
static double deadline;

struct worker {
	pthread_t th;
	int id;
	uint64_t requests, bytes, errors;
	float *lat;       /* seconds per request */
	size_t nlat;
	size_t caplat;
	int statuses[600];
};

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Mixed sizes: 60% 1-4 KiB, 30% 4-64 KiB, 9% 64 KiB-1 MiB, 1% 1 MiB-max. */
static uint64_t pick_size(uint64_t r)
{
	unsigned k = (unsigned)(r % 100);
	uint64_t x = splitmix(r);

	if (k < 60)
		return 1 + x % 4096;
	if (k < 90)
		return 4096 + x % (60u << 10);
	if (k < 99)
		return (64u << 10) + x % (960u << 10);
	return (1u << 20) + x % (maxsize > (1u << 20) ? maxsize - (1u << 20)
						     : 1);
}

static void record(struct worker *w, double t)
{
	if (w->nlat == w->caplat) {
		size_t cap = w->caplat ? 2 * w->caplat : 4096;
		float *n;

		if (cap > MAX_SAMPLES)
			return;
		n = realloc(w->lat, cap * sizeof(*n));
		if (n == NULL)
			return;
		w->lat = n;
		w->caplat = cap;
	}
	w->lat[w->nlat++] = (float)t;
}

static void *put_worker(void *arg)
{
	struct worker *w = arg;
	struct hc_conn *c = malloc(sizeof(*c));
	uint64_t r = splitmix(seed ^ (uint64_t)w->id);
	unsigned n = 0;
	int fd = -1;

	if (c == NULL)
		return NULL;
	while (hc_now() < deadline) {
		char head[256];
		struct hc_resp resp;
		uint64_t size;
		double t0;
		int hl, rc;

		if (fd < 0) {
			fd = hc_connect(host, port, 30000);
			if (fd < 0) {
				if (verbose && w->errors < 3)
					fprintf(stderr, "loadgen: connect: %s\n",
						strerror(-fd));
				w->errors++;
				usleep(100000);
				continue;
			}
			hc_conn_init(c, fd);
		}
		r = splitmix(r);
		size = pick_size(r);
		hl = snprintf(head, sizeof(head),
			      "PUT /load/t%02d/f%02u HTTP/1.1\r\nHost: %s\r\n"
			      "Content-Length: %" PRIu64 "\r\n\r\n", w->id,
			      n++ % 16, host, size);
		t0 = hc_now();
		rc = hc_send_all(fd, head, (size_t)hl);
		if (rc == 0)
			rc = hc_send_all(fd, payload + (r % 4096), size);
		if (rc == 0)
			rc = hc_read_response(c, false, &resp, NULL, NULL);
		if (rc < 0) {
			if (verbose && w->errors < 3)
				fprintf(stderr, "loadgen: request: %s\n",
					strerror(-rc));
			w->errors++;
			close(fd);
			fd = -1;
			continue;
		}
		record(w, hc_now() - t0);
		w->requests++;
		if (resp.status > 0 && resp.status < 600)
			w->statuses[resp.status]++;
		if (resp.status / 100 == 2) {
			w->bytes += size;
		} else {
			if (verbose && w->errors < 3)
				fprintf(stderr, "loadgen: status %d\n",
					resp.status);
			w->errors++;
		}
		if (resp.close) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(c);
	return NULL;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

static int run_load(void)
{
	struct worker *ws = calloc((size_t)nconns, sizeof(*ws));
	uint64_t req = 0, bytes = 0, errs = 0;
	size_t nall = 0, k = 0;
	float *all;
	double t0, el, p50 = 0, p99 = 0;
	int statuses[600] = { 0 };

	if (ws == NULL)
		return 2;
	t0 = hc_now();
	deadline = t0 + seconds;
	for (int i = 0; i < nconns; i++) {
		ws[i].id = i;
		pthread_create(&ws[i].th, NULL, put_worker, &ws[i]);
	}
	for (int i = 0; i < nconns; i++) {
		pthread_join(ws[i].th, NULL);
		req += ws[i].requests;
		bytes += ws[i].bytes;
		errs += ws[i].errors;
		nall += ws[i].nlat;
		for (int s = 0; s < 600; s++)
			statuses[s] += ws[i].statuses[s];
	}
	el = hc_now() - t0;
	all = malloc((nall + 1) * sizeof(*all));
	if (all == NULL)
		return 2;
	for (int i = 0; i < nconns; i++) {
		memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof(*all));
		k += ws[i].nlat;
		free(ws[i].lat);
	}
	if (nall > 0) {
		qsort(all, nall, sizeof(*all), cmp_float);
		p50 = all[nall / 2];
		p99 = all[(size_t)((double)nall * 0.99)];
	}
	printf("loadgen: conns=%d seconds=%.1f requests=%" PRIu64
	       " bytes=%" PRIu64 " errors=%" PRIu64
	       " p50_ms=%.2f p99_ms=%.2f rps=%.0f mibps=%.1f statuses=",
	       nconns, el, req, bytes, errs, p50 * 1e3, p99 * 1e3,
	       (double)req / el, (double)bytes / el / 1048576.0);
	for (int s = 0, first = 1; s < 600; s++) {
		if (statuses[s] == 0)
			continue;
		printf("%s%d:%d", first ? "" : ",", s, statuses[s]);
		first = 0;
	}
	printf("\n");
	free(all);
	free(ws);
	return 0;
}

/* Slow mode: one poll loop trickling CONNS uploads. */
static int run_slow(void)
{
	static int fds[MAX_CONNS];
	static uint64_t sent[MAX_CONNS], total[MAX_CONNS];
	static int status[MAX_CONNS];
	static char rbuf[MAX_CONNS][256];
	static size_t rlen[MAX_CONNS];
	uint64_t body = (uint64_t)(seconds * (double)slow_rate);
	int connected = 0, completed = 0, errs = 0, statuses[600] = { 0 };
	double start, end_by;
	struct rlimit rl;

	if (nslow > MAX_CONNS)
		nslow = MAX_CONNS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)nslow + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	start = hc_now();
	for (int i = 0; i < nslow; i++) {
		char head[256];
		int hl;

		fds[i] = hc_connect(host, port, 5000);
		if (fds[i] < 0) {
			fds[i] = -1;
			errs++;
			continue;
		}
		hl = snprintf(head, sizeof(head),
			      "PUT /slow/c%04d HTTP/1.1\r\nHost: %s\r\n"
			      "Content-Length: %" PRIu64 "\r\n\r\n", i, host,
			      body);
		if (hc_send_all(fds[i], head, (size_t)hl) < 0) {
			close(fds[i]);
			fds[i] = -1;
			errs++;
			continue;
		}
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
		total[i] = body;
		connected++;
	}
	/* Sending ends after SECONDS (from the first connection); answers are
	 * awaited for 30 s more at most. */
	end_by = start + seconds + 30;
	printf("loadgen-slow: holding conns=%d connected=%d\n", nslow,
	       connected);
	fflush(stdout);
	while (hc_now() < end_by) {
		double el = hc_now() - start;
		int open_ = 0;

		for (int i = 0; i < nslow; i++) {
			ssize_t r;

			if (fds[i] < 0)
				continue;
			open_++;
			/* Keep each upload on schedule: bytes due by now. */
			if (sent[i] < total[i]) {
				uint64_t due = (uint64_t)(el * (double)slow_rate);
				uint64_t k;

				if (due > total[i])
					due = total[i];
				k = due > sent[i] ? due - sent[i] : 0;
				if (k > 65536)
					k = 65536;
				if (k > 0) {
					r = send(fds[i], payload, k,
						 MSG_NOSIGNAL);
					if (r > 0)
						sent[i] += (uint64_t)r;
				}
			}
			r = recv(fds[i], rbuf[i] + rlen[i],
				 sizeof(rbuf[i]) - 1 - rlen[i], 0);
			if (r > 0) {
				rlen[i] += (size_t)r;
				rbuf[i][rlen[i]] = '\0';
				if (status[i] == 0)
					sscanf(rbuf[i], "HTTP/1.%*d %d",
					       &status[i]);
				if (status[i] != 0 && strstr(rbuf[i], "\r\n\r\n")) {
					if (status[i] / 100 == 2)
						completed++;
					else
						errs++;
					if (status[i] < 600)
						statuses[status[i]]++;
					close(fds[i]);
					fds[i] = -1;
				}
			} else if (r == 0 || (errno != EAGAIN)) {
				errs++;
				close(fds[i]);
				fds[i] = -1;
			}
		}
		if (open_ == 0)
			break;
		usleep(100000);
	}
	for (int i = 0; i < nslow; i++)
		if (fds[i] >= 0) {
			errs++;
			close(fds[i]);
		}
	printf("loadgen-slow: conns=%d connected=%d completed=%d errors=%d "
	       "body=%" PRIu64 " statuses=", nslow, connected, completed, errs,
	       body);
	for (int s = 0, first = 1; s < 600; s++) {
		if (statuses[s] == 0)
			continue;
		printf("%s%d:%d", first ? "" : ",", s, statuses[s]);
		first = 0;
	}
	printf("\n");
	return 0;
}

static void usage(void)
{
	fputs("usage: loadgen -P PORT [-H HOST] -c CONNS -d SECONDS "
	      "[-s SEED] [-M MAXSIZE] [-v]\n"
	      "       loadgen -P PORT [-H HOST] -S CONNS -d SECONDS "
	      "[-r BYTES_PER_S]\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t x = 12345;
	size_t psize;
	int opt;

	while ((opt = getopt(argc, argv, "H:P:c:d:s:M:S:r:v")) != -1) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'P': port = atoi(optarg); break;
		case 'c': nconns = atoi(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'M': maxsize = strtoull(optarg, NULL, 10); break;
		case 'S': nslow = atoi(optarg); break;
		case 'r': slow_rate = strtoull(optarg, NULL, 10); break;
		case 'v': verbose = true; break;
		default: usage();
		}
	}
	if (port <= 0 || nconns < 1 || nconns > MAX_CONNS || seconds <= 0 ||
	    maxsize < 1 || slow_rate < 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	/* One payload buffer, sent from offsets below 4 KiB. */
	psize = (size_t)maxsize + 4096;
	if (psize < (size_t)slow_rate * 2 + 4096)
		psize = (size_t)slow_rate * 2 + 4096;
	payload = malloc(psize);
	if (payload == NULL)
		return 2;
	for (size_t i = 0; i < psize; i++) {
		x = splitmix(x);
		payload[i] = (unsigned char)x;
	}
	return nslow > 0 ? run_slow() : run_load();
}
