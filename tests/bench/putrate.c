/*
 * putrate.c - small PUTs per second over keep-alive, for the ingest bench.
 *
 *   putrate -P PORT -c CONNS -d SECONDS [-s SIZE] [-p PREFIX]
 *
 * CONNS threads each keep one connection and PUT SIZE-byte bodies (default
 * 4096) to PREFIX/t<thread>/<n % 64> for SECONDS, each waiting for its
 * answer before the next. Prints "putrate: puts=N errors=N rate=X" (rate
 * in PUTs per second). Exit status 0 when it ran.
 */
#include "progs/httpc.h"

#include <getopt.h>
#include <pthread.h>

static int port, nconns = 1;
static double seconds = 5;
static size_t size = 4096;
static const char *prefix = "/rate";

struct th {
	pthread_t t;
	int id;
	unsigned long puts, errors;
};

static void *run(void *arg)
{
	struct th *t = arg;
	char *req = malloc(size + 512);
	double end = hc_now() + seconds;
	struct hc_conn *c = malloc(sizeof(*c));
	unsigned long n = 0;
	int fd = -1;

	while (hc_now() < end) {
		struct hc_resp r;
		int hl;

		if (fd < 0) {
			fd = hc_connect("127.0.0.1", port, 10000);
			if (fd < 0) {
				t->errors++;
				continue;
			}
			hc_conn_init(c, fd);
		}
		hl = snprintf(req, 512, "PUT %s/t%d/%lu HTTP/1.1\r\nHost: b\r\n"
			      "Content-Length: %zu\r\n\r\n", prefix, t->id,
			      n++ % 64, size);
		memset(req + hl, 'a' + t->id % 26, size);
		if (hc_send_all(fd, req, (size_t)hl + size) < 0 ||
		    hc_read_response(c, false, &r, NULL, NULL) < 0 ||
		    r.status / 100 != 2) {
			t->errors++;
			close(fd);
			fd = -1;
			continue;
		}
		t->puts++;
		if (r.close) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(c);
	free(req);
	return NULL;
}

int main(int argc, char **argv)
{
	struct th *ths;
	unsigned long puts = 0, errors = 0;
	double t0;
	int o;

	while ((o = getopt(argc, argv, "P:c:d:s:p:")) != -1) {
		switch (o) {
		case 'P': port = atoi(optarg); break;
		case 'c': nconns = atoi(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 's': size = (size_t)atol(optarg); break;
		case 'p': prefix = optarg; break;
		default: return 2;
		}
	}
	if (port <= 0 || nconns <= 0)
		return 2;
	ths = calloc((size_t)nconns, sizeof(*ths));
	t0 = hc_now();
	for (int i = 0; i < nconns; i++) {
		ths[i].id = i;
		pthread_create(&ths[i].t, NULL, run, &ths[i]);
	}
	for (int i = 0; i < nconns; i++) {
		pthread_join(ths[i].t, NULL);
		puts += ths[i].puts;
		errors += ths[i].errors;
	}
	printf("putrate: puts=%lu errors=%lu rate=%.0f\n", puts, errors,
	       (double)puts / (hc_now() - t0));
	free(ths);
	return 0;
}
