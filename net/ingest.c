/*
 * ingest.c - the splice workers: PUT bodies from the socket into staging
 * blobs, socket -> pipe -> file, with no user-space buffer.
 *
 * The front door (frontdoor.c) parses a request head, consumes exactly
 * its bytes and submits the connection here. A worker then owns it: it
 * runs the upload's checks (upload.c), answers 100 Continue or the
 * refusal, moves the body with splice(2), publishes and answers. A
 * keep-alive connection then goes back to the front door for its next
 * request; any other ends here.
 *
 * Threads. A handful of workers (-o workers) each run an epoll loop over
 * many nonblocking sockets, edge-triggered: an edge marks a connection
 * readable, and the worker moves up to WORK_BUDGET bytes of it before
 * turning to the next ready one, so one fast upload cannot starve others
 * and a thousand trickling ones cost nothing while they wait. Another
 * thread hands a connection in through one door: ingest_submit() queues
 * it under the worker's lock and writes the worker's eventfd.
 *
 * Pipes. Splicing needs a pipe between socket and file. Pipes are a
 * per-user kernel budget (fs.pipe-user-pages-soft), and a 64 KiB pipe
 * costs several times the CPU of a 1 MiB one, so a bounded pool of large
 * pipes (-o pipes, LF_NET_PIPE_SIZE each) is shared by the workers. A
 * worker holds one only while it moves a burst, and gives it back empty;
 * a pipe left holding bytes by a failed write into the file is replaced.
 *
 * Chunked bodies: the chunk-size lines are peeked (MSG_PEEK) and read with
 * small bounded reads; the framing is parsed by chunk_feed() (head.c).
 * Every payload byte is spliced.
 *
 * Timeouts: once a second each worker closes connections idle for
 * idle_timeout seconds, and bodies slower than min_rate bytes/s on
 * average once min_rate_grace seconds have passed (408).
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define WORK_BUDGET (16u << 20)   /* bytes moved per turn of one connection */
#define FRAMING_PEEK 32           /* bytes peeked for a chunk-size line */
#define LINGER_NS (2LL * 1000000000) /* draining after a refusal */
#define LINGER_MAX (1u << 20)     /* bytes drained after a refusal */
#define SEND_TIMEOUT_MS 5000
#define MAX_EVENTS 64

struct pipe_pool {
	pthread_mutex_t pp_lock;
	pthread_cond_t pp_cond;
	unsigned pp_n;
	int (*pp_fds)[2];             /* [i][0] read end, [i][1] write end */
	size_t *pp_size;              /* F_GETPIPE_SZ of each */
	unsigned *pp_free;            /* stack of free indexes */
	unsigned pp_nfree;            /* pp_lock */
};

struct worker {
	struct net *w_net;
	unsigned w_id;
	pthread_t w_thread;
	bool w_started;
	int w_epfd;
	int w_evfd;
	pthread_mutex_t w_lock;
	struct conn *w_queue;         /* submitted, w_lock */
	bool w_stop;                  /* w_lock */
	struct conn *w_conns;         /* owned; worker thread only */
	struct conn *w_ready;         /* readable, not drained */
	char w_scratch[16384];        /* framing and drained bytes */
};

struct ingest {
	struct pipe_pool i_pool;
	struct worker *i_workers;
	unsigned i_nworkers;
	unsigned i_next;              /* round robin; atomic */
};

/* net_now_ns() is CLOCK_MONOTONIC in nanoseconds. */
int64_t net_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the pipe pool ------------------------------------------------------ */

static int pipe_make(struct pipe_pool *pp, unsigned i)
{
	int fds[2];
	int sz;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(fds[1], F_SETPIPE_SZ, LF_NET_PIPE_SIZE) < 0) {
		static bool warned;

		if (!warned)
			lf_warn("F_SETPIPE_SZ %d (pipe budget:"
				" fs.pipe-max-size, fs.pipe-user-pages-soft)",
				LF_NET_PIPE_SIZE);
		warned = true;
	}
	sz = fcntl(fds[1], F_GETPIPE_SZ);
	pp->pp_fds[i][0] = fds[0];
	pp->pp_fds[i][1] = fds[1];
	pp->pp_size[i] = sz > 0 ? (size_t)sz : 65536;
	return 0;
}

static int pool_open(struct pipe_pool *pp, unsigned n)
{
	pthread_mutex_init(&pp->pp_lock, NULL);
	pthread_cond_init(&pp->pp_cond, NULL);
	pp->pp_fds = calloc(n, sizeof(*pp->pp_fds));
	pp->pp_size = calloc(n, sizeof(*pp->pp_size));
	pp->pp_free = calloc(n, sizeof(*pp->pp_free));
	if (pp->pp_fds == NULL || pp->pp_size == NULL || pp->pp_free == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		int rc = pipe_make(pp, i);

		if (rc < 0)
			return rc;
		pp->pp_n++;
		pp->pp_free[pp->pp_nfree++] = i;
	}
	return 0;
}

static void pool_close(struct pipe_pool *pp)
{
	for (unsigned i = 0; i < pp->pp_n; i++) {
		close(pp->pp_fds[i][0]);
		close(pp->pp_fds[i][1]);
	}
	free(pp->pp_fds);
	free(pp->pp_size);
	free(pp->pp_free);
	pthread_mutex_destroy(&pp->pp_lock);
	pthread_cond_destroy(&pp->pp_cond);
}

/* pool_get() takes an empty pipe, waiting while all are in use. */
static unsigned pool_get(struct pipe_pool *pp)
{
	unsigned i;

	pthread_mutex_lock(&pp->pp_lock);
	while (pp->pp_nfree == 0)
		pthread_cond_wait(&pp->pp_cond, &pp->pp_lock);
	i = pp->pp_free[--pp->pp_nfree];
	pthread_mutex_unlock(&pp->pp_lock);
	return i;
}

/* pool_put() gives pipe i back; dirty says it may still hold bytes, so it
 * is replaced by a fresh one. */
static void pool_put(struct pipe_pool *pp, unsigned i, bool dirty)
{
	if (dirty) {
		close(pp->pp_fds[i][0]);
		close(pp->pp_fds[i][1]);
		if (pipe_make(pp, i) < 0) {
			lf_warn("%s: cannot replace a pipe", __func__);
			/* Keep the slot usable: a pipe that failed to be
			 * made again is retried on the next dirty put. */
			pp->pp_fds[i][0] = pp->pp_fds[i][1] = -1;
		}
	}
	pthread_mutex_lock(&pp->pp_lock);
	pp->pp_free[pp->pp_nfree++] = i;
	pthread_cond_signal(&pp->pp_cond);
	pthread_mutex_unlock(&pp->pp_lock);
}

/* ---- answers ------------------------------------------------------------ */

/* send_all() writes len bytes to the nonblocking socket, waiting up to
 * SEND_TIMEOUT_MS for room each time it is full. Answers are a few
 * hundred bytes, so the wait is for a client that stopped reading. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			if (poll(&p, 1, SEND_TIMEOUT_MS) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * conn_respond() sends the answer r on c (status line, headers, and the
 * reason as a one-line text/plain body except for 204), then logs it in
 * the access log and counts it. method is for the log. Returns 0 or
 * -errno when the client cannot be written to. The caller owns c.
 */
int conn_respond(struct net *n, struct conn *c, const struct upload_reply *r,
		 const char *method)
{
	char buf[NET_MAX_LOCATION + 1024], date[64];
	const char *path = c->c_up != NULL ? upload_path(c->c_up) : "-";
	size_t len = 0, cap = sizeof(buf);
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
#define ADD(...)                                                          \
	do {                                                              \
		if (len < cap)                                            \
			len += (size_t)snprintf(buf + len, cap - len,     \
						__VA_ARGS__);             \
	} while (0)
	ADD("HTTP/1.1 %d %s\r\nDate: %s\r\n", r->code,
	    http_status_str((enum http_status)r->code), date);
	if (r->etag[0] != '\0')
		ADD("ETag: %s\r\n", r->etag);
	if (r->location[0] != '\0' && r->code == 201)
		ADD("Location: %s\r\n", r->location);
	if (r->repr_digest[0] != '\0')
		ADD("Repr-Digest: %s\r\n", r->repr_digest);
	if (r->retry_after != 0)
		ADD("Retry-After: %u\r\n", r->retry_after);
	if (r->auth_challenge != 0)
		ADD("WWW-Authenticate: Bearer realm=\"landingfs\"%s\r\n",
		    r->auth_challenge == 2 ? ", error=\"invalid_token\"" : "");
	if (r->close || !c->c_keepalive)
		ADD("Connection: close\r\n");
	if (r->code == 204) {
		ADD("\r\n");
	} else {
		const char *reason = r->reason != NULL ? r->reason : "";

		ADD("Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Length: %zu\r\n\r\n%s\n", strlen(reason) + 1,
		    reason);
	}
#undef ADD
	if (len >= cap)
		len = cap - 1;
	rc = send_all(c->c_fd, buf, len);
	lf_access("%s %s %s %d %llu %.3f", c->c_peer, method, path, r->code,
		  (unsigned long long)c->c_got,
		  (double)(net_now_ns() - c->c_start_ns) / 1e9);
	metrics_request(n, method, r->code,
			(double)(net_now_ns() - c->c_start_ns) / 1e9);
	return rc;
}

/* ---- connection ownership ----------------------------------------------- */

static void list_add(struct worker *w, struct conn *c)
{
	c->c_prev = NULL;
	c->c_next = w->w_conns;
	if (w->w_conns != NULL)
		w->w_conns->c_prev = c;
	w->w_conns = c;
}

static void list_del(struct worker *w, struct conn *c)
{
	struct conn **pp;

	if (c->c_prev != NULL)
		c->c_prev->c_next = c->c_next;
	else
		w->w_conns = c->c_next;
	if (c->c_next != NULL)
		c->c_next->c_prev = c->c_prev;
	c->c_prev = c->c_next = NULL;
	if (c->c_ready) {
		for (pp = &w->w_ready; *pp != NULL; pp = &(*pp)->c_qnext) {
			if (*pp == c) {
				*pp = c->c_qnext;
				break;
			}
		}
		c->c_ready = false;
	}
}

static void mark_ready(struct worker *w, struct conn *c)
{
	if (c->c_ready)
		return;
	c->c_ready = true;
	c->c_qnext = w->w_ready;
	w->w_ready = c;
}

/* release() takes c away from the worker: its upload is freed (aborted
 * unless published) and the connection closed. */
static void release(struct worker *w, struct conn *c)
{
	list_del(w, c);
	epoll_ctl(w->w_epfd, EPOLL_CTL_DEL, c->c_fd, NULL);
	upload_free(&c->c_up);
	conn_close(w->w_net, c);
}

/* next_request() keeps a keep-alive connection after its answer: its next
 * request head is read here, as soon as it is there (maybe already). */
static void next_request(struct worker *w, struct conn *c)
{
	upload_free(&c->c_up);
	c->c_state = CONN_HEAD;
	c->c_peeked = 0;
	c->c_got = 0;
	c->c_left = 0;
	c->c_start_ns = 0;
	c->c_active_ns = net_now_ns();
	head_init(&c->c_head, c->c_buf);
	c->c_readable = true;
	mark_ready(w, c);
}

/* linger() stops reading the request: the answer has been sent, the
 * sending side is shut, and what the client still sends is drained for a
 * bounded time so that our answer is not lost to a reset. */
static void linger(struct worker *w, struct conn *c)
{
	upload_free(&c->c_up);
	shutdown(c->c_fd, SHUT_WR);
	c->c_state = CONN_LINGER;
	c->c_left = LINGER_MAX;
	c->c_linger_ns = net_now_ns() + LINGER_NS;
	mark_ready(w, c);
}

/* fail() ends an upload that cannot complete: answers code (0: no answer,
 * the client is gone) and lingers or closes. */
static void fail(struct worker *w, struct conn *c, int code,
		 const char *reason, const char *label)
{
	if (c->c_up != NULL)
		upload_fail(c->c_up, code, reason, label);
	if (code != 0) {
		struct upload_reply r = { 0 };

		if (c->c_up != NULL)
			r = *upload_reply(c->c_up);
		r.code = code;
		r.reason = reason;
		r.close = true;
		if (conn_respond(w->w_net, c, &r, "PUT") == 0) {
			linger(w, c);
			return;
		}
	} else {
		lf_access("%s PUT %s 499 %llu %.3f", c->c_peer,
			  c->c_up != NULL ? upload_path(c->c_up) : "-",
			  (unsigned long long)c->c_got,
			  (double)(net_now_ns() - c->c_start_ns) / 1e9);
		metrics_request(w->w_net, "PUT", 499,
				(double)(net_now_ns() - c->c_start_ns) / 1e9);
	}
	release(w, c);
}

/* finish() publishes a body that arrived whole and answers. */
static void finish(struct worker *w, struct conn *c)
{
	const struct upload_reply *r;
	bool keep;

	upload_finish(c->c_up);
	r = upload_reply(c->c_up);
	keep = c->c_keepalive && !r->close;
	if (conn_respond(w->w_net, c, r, "PUT") < 0) {
		release(w, c);
		return;
	}
	if (keep)
		next_request(w, c);
	else if (r->code >= 400)
		linger(w, c);
	else
		release(w, c);
}

/* ---- moving bytes ------------------------------------------------------- */

enum step { STEP_WAIT, STEP_MORE, STEP_DONE, STEP_GONE };

/*
 * splice_in() moves up to c->c_left bytes (and at most *budget) from the
 * socket into the staging blob through one pooled pipe. Returns STEP_WAIT
 * when the socket is drained, STEP_MORE when the budget ran out,
 * STEP_DONE when c_left reached 0, or STEP_GONE after failing the upload.
 */
static enum step splice_in(struct worker *w, struct conn *c, size_t *budget)
{
	struct pipe_pool *pp = &w->w_net->ing->i_pool;
	int ofd = upload_fd(c->c_up);
	unsigned pi = pool_get(pp);
	enum step res = STEP_MORE;

	while (c->c_left > 0 && *budget > 0) {
		size_t want = pp->pp_size[pi];
		ssize_t got, moved = 0;
		int rc;

		if (want > c->c_left)
			want = (size_t)c->c_left;
		if (pp->pp_fds[pi][0] < 0) {
			pool_put(pp, pi, true);
			fail(w, c, 503, "out of pipes, try again", "error");
			return STEP_GONE;
		}
		got = splice(c->c_fd, NULL, pp->pp_fds[pi][1], NULL, want,
			     SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				c->c_readable = false;
				res = STEP_WAIT;
				break;
			}
			pool_put(pp, pi, false);
			fail(w, c, 0, NULL, "disconnect");
			return STEP_GONE;
		}
		if (got == 0) {
			pool_put(pp, pi, false);
			fail(w, c, 0, NULL, "disconnect");
			return STEP_GONE;
		}
		while (moved < got) {
			ssize_t m = splice(pp->pp_fds[pi][0], NULL, ofd, NULL,
					   (size_t)(got - moved), SPLICE_F_MOVE);

			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0) {
				struct net_status st =
					status_from_errno(m < 0 ? -errno : -EIO);

				pool_put(pp, pi, true);
				fail(w, c, st.code, st.reason,
				     st.code == 507 ? "disk_full" : "error");
				return STEP_GONE;
			}
			moved += m;
		}
		c->c_left -= (uint64_t)got;
		c->c_got += (uint64_t)got;
		*budget = *budget > (size_t)got ? *budget - (size_t)got : 0;
		c->c_active_ns = net_now_ns();
		rc = upload_received(c->c_up, (uint64_t)got);
		if (rc < 0) {
			struct net_status st = status_from_errno(rc);

			pool_put(pp, pi, false);
			fail(w, c, st.code, st.reason,
			     rc == -EFBIG ? "too_large" :
			     st.code == 507 ? "disk_full" : "error");
			return STEP_GONE;
		}
	}
	pool_put(pp, pi, false);
	if (c->c_left == 0)
		return STEP_DONE;
	return res;
}

/* frame() reads chunk framing: peeks, parses, consumes exactly the
 * framing bytes. Returns STEP_MORE with c_left set to the next payload,
 * STEP_DONE at the end of the body, STEP_WAIT, or STEP_GONE. */
static enum step frame(struct worker *w, struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->c_fd, w->w_scratch, FRAMING_PEEK,
				 MSG_PEEK);
		size_t used = 0;
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				c->c_readable = false;
				return STEP_WAIT;
			}
			fail(w, c, 0, NULL, "disconnect");
			return STEP_GONE;
		}
		if (n == 0) {
			fail(w, c, 0, NULL, "disconnect");
			return STEP_GONE;
		}
		r = chunk_feed(&c->c_chunk, w->w_scratch, (size_t)n, &used);
		/* Consume the framing bytes just parsed, no more. */
		if (used > 0 && recv(c->c_fd, w->w_scratch, used, 0) !=
					(ssize_t)used) {
			fail(w, c, 0, NULL, "disconnect");
			return STEP_GONE;
		}
		c->c_active_ns = net_now_ns();
		if (r < 0) {
			fail(w, c, 400, "malformed chunked framing", "framing");
			return STEP_GONE;
		}
		if (r == CHUNK_DONE)
			return STEP_DONE;
		if (r == CHUNK_DATA) {
			if (c->c_got + c->c_chunk.ck_size >
			    w->w_net->cfg->max_upload) {
				fail(w, c, 413, "the body is larger than the configured maximum (max_upload)", "too_large");
				return STEP_GONE;
			}
			c->c_left = c->c_chunk.ck_size;
			return STEP_MORE;
		}
	}
}

/* drain() discards what a client sends after a refusal, until it closes,
 * LINGER_MAX bytes or the linger time. */
static void drain(struct worker *w, struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->c_fd, w->w_scratch, sizeof(w->w_scratch),
				 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			c->c_readable = false;
			return;
		}
		if (n <= 0 || (uint64_t)n >= c->c_left) {
			release(w, c);
			return;
		}
		c->c_left -= (uint64_t)n;
	}
}

static void worker_head(struct worker *w, struct conn *c);

/* step() gives connection c one turn. */
static void step(struct worker *w, struct conn *c)
{
	size_t budget = WORK_BUDGET;
	enum step s;

	if (c->c_state == CONN_LINGER) {
		drain(w, c);
		return;
	}
	if (c->c_state == CONN_HEAD) {
		worker_head(w, c);
		return;
	}
	while (budget > 0) {
		if (c->c_state == CONN_CHUNK && c->c_left == 0) {
			s = frame(w, c);
			if (s == STEP_GONE || s == STEP_WAIT)
				return;
			if (s == STEP_DONE) {
				finish(w, c);
				return;
			}
		}
		s = splice_in(w, c, &budget);
		if (s == STEP_GONE || s == STEP_WAIT)
			return;
		if (s == STEP_DONE) {
			if (c->c_state == CONN_CHUNK) {
				chunk_data_done(&c->c_chunk);
				continue;
			}
			finish(w, c);
			return;
		}
	}
	/* Budget spent with bytes still waiting: another turn later. */
	mark_ready(w, c);
}

/* ---- adopting a request ------------------------------------------------- */

static const char *conn_header(void *arg, const char *name)
{
	struct conn *c = arg;

	return head_get(&c->c_head, c->c_buf, name);
}

/*
 * start_upload() begins the PUT whose head c holds (consumed): the checks,
 * then the refusal or 100 Continue, then the body. c is registered here.
 */
static void start_upload(struct worker *w, struct conn *c)
{
	struct net *n = w->w_net;
	struct upload_req rq = { 0 };
	int rc;

	rq.target = c->c_buf + c->c_head.h_url_off;
	rq.target_len = c->c_head.h_url_len;
	rq.content_length = c->c_head.h_content_length;
	rq.chunked = c->c_head.h_chunked;
	rq.spliced = true;
	rq.peer = c->c_peer;
	rq.header = conn_header;
	rq.arg = c;
	c->c_got = 0;
	c->c_state = CONN_BODY;
	rc = upload_begin(n, &rq, &c->c_up);
	if (rc < 0) {
		struct upload_reply r = { .code = 503, .close = true,
					  .reason = "out of memory" };

		conn_respond(n, c, &r, "PUT");
		linger(w, c);
		return;
	}
	if (upload_refused(c->c_up)) {
		if (conn_respond(n, c, upload_reply(c->c_up), "PUT") < 0)
			release(w, c);
		else
			linger(w, c);
		return;
	}
	/* No 100 to an HTTP/1.0 client (RFC 9110 10.1.1). */
	if (upload_expects_continue(c->c_up) &&
	    c->c_head.h_parser.http_minor >= 1 &&
	    send_all(c->c_fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0) {
		fail(w, c, 0, NULL, "disconnect");
		return;
	}
	c->c_body_ns = c->c_active_ns = net_now_ns();
	if (c->c_head.h_chunked) {
		c->c_state = CONN_CHUNK;
		c->c_left = 0;
		chunk_init(&c->c_chunk, n->cfg->max_header);
	} else {
		c->c_left = (uint64_t)c->c_head.h_content_length;
		if (c->c_left == 0) {
			finish(w, c);
			return;
		}
	}
	c->c_readable = true;
	mark_ready(w, c);
}

/* worker_head() reads the next request head of a keep-alive connection
 * that stayed with this worker. */
static void worker_head(struct worker *w, struct conn *c)
{
	const char *why = NULL;
	int code = 0;

	switch (conn_read_head(w->w_net, c, c->c_hup, &code, &why)) {
	case HEAD_WAIT:
		/* The peeked bytes stay in the socket: only new ones raise
		 * an edge, so wait for it. */
		c->c_readable = false;
		return;
	case HEAD_GONE:
		release(w, c);
		return;
	case HEAD_HANDOVER:
		list_del(w, c);
		epoll_ctl(w->w_epfd, EPOLL_CTL_DEL, c->c_fd, NULL);
		conn_hand_over(w->w_net, c);
		return;
	case HEAD_REFUSE: {
		struct upload_reply r = { .code = code, .reason = why,
					  .close = true };

		if (conn_respond(w->w_net, c, &r, "-") < 0)
			release(w, c);
		else
			linger(w, c);
		return;
	}
	case HEAD_PUT:
		start_upload(w, c);
		return;
	}
}

/*
 * adopt() takes a connection the front door submitted: a PUT whose head is
 * parsed and consumed (CONN_BODY), or one that only needs lingering
 * (CONN_LINGER). From here the connection stays with this worker.
 */
static void adopt(struct worker *w, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET,
				  .data.ptr = c };

	c->c_worker = w->w_id;
	list_add(w, c);
	if (epoll_ctl(w->w_epfd, EPOLL_CTL_ADD, c->c_fd, &ev) < 0) {
		lf_warn("%s: epoll_ctl", __func__);
		release(w, c);
		return;
	}
	c->c_readable = true;
	if (c->c_state == CONN_LINGER) {
		mark_ready(w, c);
		return;
	}
	start_upload(w, c);
}

/* ---- the worker loop ---------------------------------------------------- */

static void check_timeouts(struct worker *w, int64_t now)
{
	const struct net_config *cfg = w->w_net->cfg;
	struct conn *c, *next;

	for (c = w->w_conns; c != NULL; c = next) {
		int64_t idle = now - c->c_active_ns;
		int64_t body = now - c->c_body_ns;

		next = c->c_next;
		if (c->c_state == CONN_LINGER) {
			if (now >= c->c_linger_ns)
				release(w, c);
			continue;
		}
		if (c->c_state == CONN_HEAD) {
			struct upload_reply r = {
				.code = 408, .close = true,
				.reason = "request timed out: the head did not arrive",
			};

			if (idle <= (int64_t)cfg->idle_timeout * 1000000000LL)
				continue;
			/* Idle between requests: just close. */
			if (c->c_peeked == 0 ||
			    conn_respond(w->w_net, c, &r, "-") < 0)
				release(w, c);
			else
				linger(w, c);
			continue;
		}
		if (idle > (int64_t)cfg->idle_timeout * 1000000000LL) {
			fail(w, c, 408, "request timed out: the body stopped arriving", "timeout");
			continue;
		}
		if (cfg->min_rate != 0 &&
		    body > (int64_t)cfg->min_rate_grace * 1000000000LL &&
		    (double)c->c_got < (double)cfg->min_rate * (double)body / 1e9)
			fail(w, c, 408, "request timed out: the body arrives slower than min_rate", "too_slow");
	}
}

static void take_queue(struct worker *w)
{
	struct conn *q, *c;
	uint64_t v;

	if (read(w->w_evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		lf_warn("%s: eventfd", __func__);
	pthread_mutex_lock(&w->w_lock);
	q = w->w_queue;
	w->w_queue = NULL;
	pthread_mutex_unlock(&w->w_lock);
	while ((c = q) != NULL) {
		q = c->c_qnext;
		c->c_qnext = NULL;
		adopt(w, c);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[MAX_EVENTS];
	int64_t last_scan = net_now_ns();
	struct conn *ready;

	for (;;) {
		int nev, timeout = w->w_ready != NULL ? 0 : 1000;
		int64_t now;
		bool stop;

		nev = epoll_wait(w->w_epfd, evs, MAX_EVENTS, timeout);
		if (nev < 0 && errno != EINTR) {
			lf_warn("%s: epoll_wait", __func__);
			break;
		}
		pthread_mutex_lock(&w->w_lock);
		stop = w->w_stop;
		pthread_mutex_unlock(&w->w_lock);
		if (stop)
			break;
		for (int i = 0; i < nev; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				take_queue(w);
				continue;
			}
			c->c_readable = true;
			if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				c->c_hup = true;
			mark_ready(w, c);
		}
		/* One turn for each connection ready now; those that need
		 * another put themselves back on the list. A turn only ever
		 * releases its own connection, so the rest of this list
		 * stays valid. */
		ready = w->w_ready;
		w->w_ready = NULL;
		while (ready != NULL) {
			struct conn *c = ready;

			ready = c->c_qnext;
			c->c_qnext = NULL;
			c->c_ready = false;
			if (c->c_readable)
				step(w, c);
		}
		now = net_now_ns();
		if (now - last_scan >= 1000000000LL) {
			check_timeouts(w, now);
			last_scan = now;
		}
	}
	/* Stopping: every upload still here is aborted, nothing published. */
	pthread_mutex_lock(&w->w_lock);
	ready = w->w_queue;
	w->w_queue = NULL;
	pthread_mutex_unlock(&w->w_lock);
	while (ready != NULL) {
		struct conn *c = ready;

		ready = c->c_qnext;
		conn_close(w->w_net, c);
	}
	while (w->w_conns != NULL)
		release(w, w->w_conns);
	return NULL;
}

/*
 * ingest_submit() hands c to a splice worker (round robin): either a PUT
 * whose head has been consumed (c_state CONN_BODY), or a connection that
 * was answered and must linger (CONN_LINGER). Takes ownership of c. Any
 * thread.
 */
void ingest_submit(struct net *n, struct conn *c)
{
	struct ingest *ing = n->ing;
	unsigned i = __atomic_fetch_add(&ing->i_next, 1, __ATOMIC_RELAXED) %
		     ing->i_nworkers;
	struct worker *w = &ing->i_workers[i];
	uint64_t one = 1;
	bool stop;

	pthread_mutex_lock(&w->w_lock);
	stop = w->w_stop;
	if (!stop) {
		c->c_qnext = w->w_queue;
		w->w_queue = c;
	}
	pthread_mutex_unlock(&w->w_lock);
	if (stop) {
		conn_close(n, c);
		return;
	}
	if (write(w->w_evfd, &one, sizeof(one)) < 0)
		lf_warn("%s: eventfd", __func__);
}

/*
 * ingest_start() makes the pipe pool and starts the workers. Returns 0 or
 * -errno after a log line. Start-up only; ingest_stop() undoes it, also
 * after a failed start.
 */
int ingest_start(struct net *n)
{
	struct ingest *ing = calloc(1, sizeof(*ing));
	unsigned npipes = n->cfg->pipes;
	int rc;

	if (ing == NULL)
		return -ENOMEM;
	n->ing = ing;
	if (npipes < n->cfg->workers)
		npipes = n->cfg->workers;
	rc = pool_open(&ing->i_pool, npipes);
	if (rc < 0) {
		lf_err(-rc, "splice pipes");
		return rc;
	}
	ing->i_workers = calloc(n->cfg->workers, sizeof(*ing->i_workers));
	if (ing->i_workers == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < n->cfg->workers; i++) {
		struct worker *w = &ing->i_workers[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

		w->w_net = n;
		w->w_id = i;
		w->w_epfd = epoll_create1(EPOLL_CLOEXEC);
		w->w_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		pthread_mutex_init(&w->w_lock, NULL);
		ing->i_nworkers++;
		if (w->w_epfd < 0 || w->w_evfd < 0 ||
		    epoll_ctl(w->w_epfd, EPOLL_CTL_ADD, w->w_evfd, &ev) < 0) {
			rc = -errno;
			lf_warn("splice worker set-up");
			return rc;
		}
		rc = pthread_create(&w->w_thread, NULL, worker_main, w);
		if (rc != 0) {
			lf_err(rc, "splice worker thread");
			return -rc;
		}
		pthread_setname_np(w->w_thread, "lf-ingest");
		w->w_started = true;
	}
	return 0;
}

/* ingest_stop() stops the workers, aborting every upload in progress, and
 * frees the pool. Accepts a net without workers. */
void ingest_stop(struct net *n)
{
	struct ingest *ing = n->ing;
	uint64_t one = 1;

	if (ing == NULL)
		return;
	for (unsigned i = 0; i < ing->i_nworkers; i++) {
		struct worker *w = &ing->i_workers[i];

		pthread_mutex_lock(&w->w_lock);
		w->w_stop = true;
		pthread_mutex_unlock(&w->w_lock);
		if (w->w_evfd >= 0 && write(w->w_evfd, &one, sizeof(one)) < 0)
			lf_warn("%s: eventfd", __func__);
	}
	for (unsigned i = 0; i < ing->i_nworkers; i++) {
		struct worker *w = &ing->i_workers[i];

		if (w->w_started)
			pthread_join(w->w_thread, NULL);
		if (w->w_epfd >= 0)
			close(w->w_epfd);
		if (w->w_evfd >= 0)
			close(w->w_evfd);
		pthread_mutex_destroy(&w->w_lock);
	}
	free(ing->i_workers);
	pool_close(&ing->i_pool);
	free(ing);
	n->ing = NULL;
}
