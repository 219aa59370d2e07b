/*
 * metrics.c - counters, the registry of in-flight uploads, and the two
 * views of them: Prometheus text (/.landing/metrics) and JSON
 * (/.landing/uploads, which the status page polls).
 *
 * The counters are process-wide, like the daemon's one front end: they
 * need no set-up, so every path may count from its first request, and the
 * struct net argument only gives the store for the stored-bytes gauges.
 * Counters are C11 atomics (relaxed: each is read on its own); the upload
 * registry, the failure reasons and the list of recent arrivals are
 * guarded by reg.lock, which is never held while calling out of this file
 * except into the store for store_stats() (taken before the lock).
 *
 * Upload bytes are counted by the path that carried them: "splice" (the
 * front door's zero-copy path), "copy" (libmicrohttpd's buffers, for
 * connections handed over to it) and "tls" (libmicrohttpd over TLS: a copy
 * too, since there is no kTLS here). tls.c marks the threads running its
 * access handler (tls_serving()), which is how an upload begun there is
 * told apart without another argument.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum via { VIA_SPLICE, VIA_COPY, VIA_TLS, VIA_NR };
static const char *const via_names[VIA_NR] = { "splice", "copy", "tls" };

enum { M_GET, M_HEAD, M_PUT, M_DELETE, M_MKCOL, M_MOVE, M_OPTIONS, M_OTHER,
       M_NR };
static const char *const method_names[M_NR] = {
	"GET", "HEAD", "PUT", "DELETE", "MKCOL", "MOVE", "OPTIONS", "other",
};

#define CODE_MIN 100
#define CODE_NR 500                /* 100 to 599 */
#define MAX_REASONS 32             /* distinct failure labels kept */
#define MAX_REASON_LEN 32
#define RECENT_NR 20               /* latest arrivals kept for the page */

/* Request-duration histogram bounds, in seconds. */
static const double buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30, 60, 300,
};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct upload_progress {
	struct upload_progress *up_next, *up_prev; /* reg.list, under lock */
	uint64_t up_id;
	char *up_path;
	char up_peer[STORE_MAX_PEER];
	int64_t up_expected;                 /* -1: unknown */
	enum via up_via;
	_Atomic uint64_t up_bytes;
	int64_t up_started_ns;               /* CLOCK_REALTIME */
	int64_t up_mono_ns;                  /* CLOCK_MONOTONIC at begin */
	/* The last rate sample, for a rate over the last second or so rather
	 * than since the start; under reg.lock. */
	int64_t up_sample_ns;
	uint64_t up_sample_bytes;
	double up_rate;
};

struct recent {
	char path[LF_MAX_PATH + 2];
	char peer[STORE_MAX_PEER];
	uint64_t size;
	int status;
	enum via via;
	int64_t finished_ns;
	double seconds;
};

static struct {
	_Atomic uint64_t rx[VIA_NR];
	_Atomic uint64_t completed[VIA_NR];
	_Atomic uint64_t requests[M_NR][CODE_NR];
	_Atomic uint64_t hist[NBUCKETS + 1];  /* the last is +Inf */
	_Atomic uint64_t hist_sum_ns;
	_Atomic uint64_t next_id;

	pthread_mutex_t lock;
	struct upload_progress *list;        /* newest first */
	unsigned inflight;
	struct {
		char name[MAX_REASON_LEN + 1];
		uint64_t n;
	} failed[MAX_REASONS];
	unsigned nfailed;
	struct recent recent[RECENT_NR];     /* ring, newest at recent_at-1 */
	unsigned recent_at, nrecent;
} reg = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * metrics_upload_begin() registers an in-flight upload of path (as the
 * request named it) from peer; expected is the body length or -1 when
 * unknown (chunked); spliced says which path carries the body. Returns the
 * handle (the caller owns it until metrics_upload_end), or NULL when out
 * of memory: every other call accepts NULL. Any thread.
 */
struct upload_progress *metrics_upload_begin(struct net *n, const char *path,
					     const char *peer,
					     int64_t expected, bool spliced)
{
	struct upload_progress *p = calloc(1, sizeof(*p));

	(void)n;
	if (p == NULL)
		return NULL;
	p->up_path = strdup(path != NULL ? path : "");
	if (p->up_path == NULL) {
		free(p);
		return NULL;
	}
	if (peer != NULL)
		snprintf(p->up_peer, sizeof(p->up_peer), "%s", peer);
	p->up_expected = expected;
	p->up_via = spliced ? VIA_SPLICE : tls_serving() ? VIA_TLS : VIA_COPY;
	p->up_started_ns = now_ns(CLOCK_REALTIME);
	p->up_mono_ns = p->up_sample_ns = now_ns(CLOCK_MONOTONIC);
	p->up_id = atomic_fetch_add_explicit(&reg.next_id, 1,
					     memory_order_relaxed) + 1;

	pthread_mutex_lock(&reg.lock);
	p->up_next = reg.list;
	if (reg.list != NULL)
		reg.list->up_prev = p;
	reg.list = p;
	reg.inflight++;
	pthread_mutex_unlock(&reg.lock);
	return p;
}

/*
 * metrics_upload_bytes() records that so_far body bytes have arrived (a
 * running total, not an increment). Called by the one thread moving the
 * body; cheap (two atomics).
 */
void metrics_upload_bytes(struct upload_progress *p, uint64_t so_far)
{
	uint64_t old;

	if (p == NULL)
		return;
	old = atomic_exchange_explicit(&p->up_bytes, so_far,
				       memory_order_relaxed);
	if (so_far > old)
		atomic_fetch_add_explicit(&reg.rx[p->up_via], so_far - old,
					  memory_order_relaxed);
}

/* count_failure() adds one to reason's counter; under reg.lock. Labels
 * past MAX_REASONS distinct ones share "other". */
static void count_failure(const char *reason)
{
	char label[MAX_REASON_LEN + 1];
	size_t i, len = 0;

	for (i = 0; reason != NULL && reason[i] != '\0' &&
		    len < MAX_REASON_LEN; i++) {
		char c = reason[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_')
			label[len++] = c;
		else if (c >= 'A' && c <= 'Z')
			label[len++] = (char)(c - 'A' + 'a');
		else
			label[len++] = '_';
	}
	label[len] = '\0';
	if (len == 0)
		strcpy(label, "unknown");
	for (i = 0; i < reg.nfailed; i++) {
		if (strcmp(reg.failed[i].name, label) == 0) {
			reg.failed[i].n++;
			return;
		}
	}
	/* The last slot is kept for "other". */
	if (reg.nfailed >= MAX_REASONS - 1 && strcmp(label, "other") != 0) {
		count_failure("other");
		return;
	}
	assert(reg.nfailed < MAX_REASONS);
	strcpy(reg.failed[reg.nfailed].name, label);
	reg.failed[reg.nfailed].n = 1;
	reg.nfailed++;
}

/*
 * metrics_upload_end() unregisters the upload and counts it: completed
 * when status is 2xx (it then joins the latest arrivals), else failed
 * with reason, a short label such as "disconnect", "digest", "too_large".
 * Frees the handle. Accepts NULL; clears *p. Any thread.
 */
void metrics_upload_end(struct net *n, struct upload_progress **pp,
			int status, const char *reason)
{
	struct upload_progress *p;

	(void)n;
	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	*pp = NULL;

	pthread_mutex_lock(&reg.lock);
	if (p->up_prev != NULL)
		p->up_prev->up_next = p->up_next;
	else
		reg.list = p->up_next;
	if (p->up_next != NULL)
		p->up_next->up_prev = p->up_prev;
	reg.inflight--;
	if (status >= 200 && status < 300) {
		struct recent *r = &reg.recent[reg.recent_at];

		atomic_fetch_add_explicit(&reg.completed[p->up_via], 1,
					  memory_order_relaxed);
		snprintf(r->path, sizeof(r->path), "%s", p->up_path);
		memcpy(r->peer, p->up_peer, sizeof(r->peer));
		r->size = atomic_load_explicit(&p->up_bytes,
					       memory_order_relaxed);
		r->status = status;
		r->via = p->up_via;
		r->finished_ns = now_ns(CLOCK_REALTIME);
		r->seconds = (double)(now_ns(CLOCK_MONOTONIC) - p->up_mono_ns)
			     / 1e9;
		reg.recent_at = (reg.recent_at + 1) % RECENT_NR;
		if (reg.nrecent < RECENT_NR)
			reg.nrecent++;
	} else {
		count_failure(reason);
	}
	pthread_mutex_unlock(&reg.lock);
	free(p->up_path);
	free(p);
}

static int method_index(const char *m)
{
	for (int i = 0; i < M_OTHER; i++)
		if (m != NULL && strcmp(m, method_names[i]) == 0)
			return i;
	return M_OTHER;
}

/*
 * metrics_request() counts one finished request: its method, its status
 * and its duration in seconds (from the first byte of the request to the
 * last of the response). Any thread.
 */
void metrics_request(struct net *n, const char *method, int status,
		     double seconds)
{
	size_t b;

	(void)n;
	if (status >= CODE_MIN && status < CODE_MIN + CODE_NR)
		atomic_fetch_add_explicit(
			&reg.requests[method_index(method)][status - CODE_MIN],
			1, memory_order_relaxed);
	if (seconds < 0)
		seconds = 0;
	for (b = 0; b < NBUCKETS && seconds > buckets[b]; b++)
		;
	atomic_fetch_add_explicit(&reg.hist[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&reg.hist_sum_ns,
				  (uint64_t)(seconds * 1e9),
				  memory_order_relaxed);
}

static uint64_t load(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/*
 * metrics_prometheus() appends the Prometheus text exposition (format
 * 0.0.4) of every counter to b. Returns 0 or the buffer's error.
 */
int metrics_prometheus(struct net *n, struct textbuf *b)
{
	struct store_stats ss;
	uint64_t cum = 0;
	int have_stats = -1;

	if (n != NULL && n->st != NULL)
		have_stats = store_stats(n->st, &ss);

	textbuf_puts(b,
		"# HELP landingfs_upload_received_bytes_total Upload body "
		"bytes received, by the path that carried them (tls is a "
		"copying path).\n"
		"# TYPE landingfs_upload_received_bytes_total counter\n");
	for (int v = 0; v < VIA_NR; v++)
		textbuf_printf(b,
			"landingfs_upload_received_bytes_total{via=\"%s\"} "
			"%lu\n", via_names[v], (unsigned long)load(&reg.rx[v]));

	textbuf_puts(b,
		"# HELP landingfs_uploads_completed_total Uploads published.\n"
		"# TYPE landingfs_uploads_completed_total counter\n");
	for (int v = 0; v < VIA_NR; v++)
		textbuf_printf(b,
			"landingfs_uploads_completed_total{via=\"%s\"} %lu\n",
			via_names[v], (unsigned long)load(&reg.completed[v]));

	pthread_mutex_lock(&reg.lock);
	textbuf_puts(b,
		"# HELP landingfs_uploads_failed_total Uploads that did not "
		"publish, by reason.\n"
		"# TYPE landingfs_uploads_failed_total counter\n");
	for (unsigned i = 0; i < reg.nfailed; i++)
		textbuf_printf(b,
			"landingfs_uploads_failed_total{reason=\"%s\"} %lu\n",
			reg.failed[i].name, (unsigned long)reg.failed[i].n);
	textbuf_printf(b,
		"# HELP landingfs_uploads_in_flight Uploads receiving their "
		"body now.\n"
		"# TYPE landingfs_uploads_in_flight gauge\n"
		"landingfs_uploads_in_flight %u\n", reg.inflight);
	pthread_mutex_unlock(&reg.lock);

	textbuf_puts(b,
		"# HELP landingfs_http_requests_total HTTP requests answered, "
		"by method and status.\n"
		"# TYPE landingfs_http_requests_total counter\n");
	for (int m = 0; m < M_NR; m++)
		for (int c = 0; c < CODE_NR; c++) {
			uint64_t v = load(&reg.requests[m][c]);

			if (v != 0)
				textbuf_printf(b,
					"landingfs_http_requests_total{method="
					"\"%s\",code=\"%d\"} %lu\n",
					method_names[m], c + CODE_MIN,
					(unsigned long)v);
		}

	textbuf_puts(b,
		"# HELP landingfs_http_request_duration_seconds Time from "
		"request to the end of the response.\n"
		"# TYPE landingfs_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += load(&reg.hist[i]);
		textbuf_printf(b,
			"landingfs_http_request_duration_seconds_bucket"
			"{le=\"%g\"} %lu\n", buckets[i], (unsigned long)cum);
	}
	cum += load(&reg.hist[NBUCKETS]);
	textbuf_printf(b,
		"landingfs_http_request_duration_seconds_bucket{le=\"+Inf\"} "
		"%lu\n"
		"landingfs_http_request_duration_seconds_sum %.9f\n"
		"landingfs_http_request_duration_seconds_count %lu\n",
		(unsigned long)cum, (double)load(&reg.hist_sum_ns) / 1e9,
		(unsigned long)cum);

	if (have_stats == 0) {
		textbuf_printf(b,
			"# HELP landingfs_stored_files Regular files in the "
			"store, by origin.\n"
			"# TYPE landingfs_stored_files gauge\n"
			"landingfs_stored_files{origin=\"net\"} %lu\n"
			"landingfs_stored_files{origin=\"local\"} %lu\n"
			"# HELP landingfs_stored_bytes Bytes in regular "
			"files, by origin.\n"
			"# TYPE landingfs_stored_bytes gauge\n"
			"landingfs_stored_bytes{origin=\"net\"} %lu\n"
			"landingfs_stored_bytes{origin=\"local\"} %lu\n"
			"# HELP landingfs_stored_directories Directories in "
			"the store.\n"
			"# TYPE landingfs_stored_directories gauge\n"
			"landingfs_stored_directories %lu\n",
			(unsigned long)ss.net_files,
			(unsigned long)ss.local_files,
			(unsigned long)ss.net_bytes,
			(unsigned long)ss.local_bytes,
			(unsigned long)ss.dirs);
	} else if (have_stats < 0 && n != NULL && n->st != NULL) {
		lf_err(-have_stats, "metrics: store_stats");
	}
	return textbuf_error(b);
}

/* json_path() writes a path as the request named it, with one leading
 * '/'. */
static void json_path(struct textbuf *b, const char *path)
{
	char tmp[LF_MAX_PATH + 2];

	snprintf(tmp, sizeof(tmp), "/%s", path[0] == '/' ? path + 1 : path);
	textbuf_json_str(b, tmp);
}

/*
 * metrics_uploads_json() appends the progress view to b:
 *   {"now": S, "uploads": [{"id", "path", "peer", "bytes", "expected"
 *    (null when unknown), "rate" (bytes/s over about the last second),
 *    "started" (S), "via"}...], "recent": [{"path", "peer", "size",
 *    "status", "finished", "seconds", "via"}...] (newest first),
 *    "totals": {"files", "bytes", "dirs", "in_flight", "completed",
 *    "failed"}}
 * Times S are seconds since the epoch. Returns 0 or the buffer's error.
 */
int metrics_uploads_json(struct net *n, struct textbuf *b)
{
	struct store_stats ss;
	int64_t mono = now_ns(CLOCK_MONOTONIC);
	uint64_t completed = 0, failed = 0;
	bool first = true;
	int have_stats = -1;

	if (n != NULL && n->st != NULL)
		have_stats = store_stats(n->st, &ss);
	for (int v = 0; v < VIA_NR; v++)
		completed += load(&reg.completed[v]);

	textbuf_printf(b, "{\"now\":%.3f,\"uploads\":[",
		       (double)now_ns(CLOCK_REALTIME) / 1e9);
	pthread_mutex_lock(&reg.lock);
	for (struct upload_progress *p = reg.list; p != NULL;
	     p = p->up_next) {
		uint64_t bytes = atomic_load_explicit(&p->up_bytes,
						      memory_order_relaxed);
		int64_t dt = mono - p->up_sample_ns;

		/* A fresh sample at most once a second; until the first one
		 * the rate is the average since the start. */
		if (dt >= 1000000000 || p->up_sample_ns == p->up_mono_ns) {
			if (dt > 0)
				p->up_rate = (double)(bytes -
						      p->up_sample_bytes) *
					     1e9 / (double)dt;
			if (dt >= 1000000000) {
				p->up_sample_ns = mono;
				p->up_sample_bytes = bytes;
			}
		}
		textbuf_printf(b, "%s{\"id\":%lu,\"path\":", first ? "" : ",",
			       (unsigned long)p->up_id);
		json_path(b, p->up_path);
		textbuf_puts(b, ",\"peer\":");
		textbuf_json_str(b, p->up_peer);
		textbuf_printf(b, ",\"bytes\":%lu,\"expected\":",
			       (unsigned long)bytes);
		if (p->up_expected >= 0)
			textbuf_printf(b, "%ld", (long)p->up_expected);
		else
			textbuf_puts(b, "null");
		textbuf_printf(b, ",\"rate\":%.0f,\"started\":%.3f,"
			       "\"via\":\"%s\"}", p->up_rate,
			       (double)p->up_started_ns / 1e9,
			       via_names[p->up_via]);
		first = false;
	}
	textbuf_puts(b, "],\"recent\":[");
	for (unsigned i = 0; i < reg.nrecent; i++) {
		unsigned at = (reg.recent_at + RECENT_NR - 1 - i) % RECENT_NR;
		const struct recent *r = &reg.recent[at];

		textbuf_puts(b, i == 0 ? "{\"path\":" : ",{\"path\":");
		json_path(b, r->path);
		textbuf_puts(b, ",\"peer\":");
		textbuf_json_str(b, r->peer);
		textbuf_printf(b, ",\"size\":%lu,\"status\":%d,"
			       "\"finished\":%.3f,\"seconds\":%.3f,"
			       "\"via\":\"%s\"}", (unsigned long)r->size,
			       r->status, (double)r->finished_ns / 1e9,
			       r->seconds, via_names[r->via]);
	}
	for (unsigned i = 0; i < reg.nfailed; i++)
		failed += reg.failed[i].n;
	textbuf_printf(b, "],\"totals\":{\"in_flight\":%u,\"completed\":%lu,"
		       "\"failed\":%lu", reg.inflight,
		       (unsigned long)completed, (unsigned long)failed);
	pthread_mutex_unlock(&reg.lock);
	if (have_stats == 0)
		textbuf_printf(b, ",\"files\":%lu,\"bytes\":%lu,\"dirs\":%lu",
			       (unsigned long)ss.files,
			       (unsigned long)ss.bytes,
			       (unsigned long)ss.dirs);
	textbuf_puts(b, "}}\n");
	return textbuf_error(b);
}
