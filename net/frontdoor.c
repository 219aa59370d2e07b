/*
 * frontdoor.c - the front door: accepts every plain-TCP connection and
 * looks at each request head before anything consumes it.
 *
 * One thread runs an epoll loop over the listeners and over connections
 * waiting for a request head (CONN_HEAD). The head is read with MSG_PEEK
 * into the connection's buffer (at most max_header bytes: past that, 431)
 * and parsed by http_parser (head.c). Then:
 *
 *   - a PUT: exactly the head's bytes are consumed and the connection is
 *     submitted to a splice worker (ingest.c), which answers it and, on a
 *     keep-alive connection, reads the next request head itself, with the
 *     same conn_read_head() (a PUT stays with the worker; anything else
 *     goes to libmicrohttpd from there): no thread hand-off per request;
 *   - anything else: the connection is handed, unconsumed, to
 *     libmicrohttpd (MHD_add_connection) at this request boundary, and
 *     stays there; libmicrohttpd carries a later PUT on it by its copying
 *     path (mhd.c), with the same checks and publish (upload.c).
 *
 * Sockets are edge-triggered here: a peek does not drain the socket, so a
 * level-triggered wait would spin on a half-arrived head; each new segment
 * raises a new edge instead. The eventfd only wakes the loop to stop.
 *
 * The front door also owns the connection count (max_connections: beyond
 * it a new connection gets 503 and is closed) and the idle timeout of
 * connections waiting for a head.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EV_WAKE 1000u             /* epoll data of the eventfd */
#define MAX_EVENTS 64
#define BACKLOG 1024

struct frontdoor {
	struct net *f_net;
	pthread_t f_thread;
	bool f_started;
	int f_epfd;
	int f_evfd;
	int f_listen[NET_MAX_LISTEN];
	int f_nlisten;
	pthread_mutex_t f_lock;
	bool f_stop;                  /* f_lock */
	struct conn *f_conns;         /* waiting for a head; loop thread */
};

/* ---- connections -------------------------------------------------------- */

/*
 * peer_format() writes a peer address as "1.2.3.4:port" or "[v6]:port",
 * or "-" when sa is NULL or neither family. Any thread.
 */
void peer_format(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	snprintf(buf, size, "-");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(a->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(a->sin_port));
	}
}

/*
 * conn_close() closes c's socket and frees it, and what it holds but its
 * upload (freed by its owner first). Any thread, by c's owner.
 */
void conn_close(struct net *n, struct conn *c)
{
	if (c->c_fd >= 0)
		close(c->c_fd);
	free(c->c_buf);
	free(c);
	__atomic_sub_fetch(&n->nconns, 1, __ATOMIC_SEQ_CST);
}

static void list_add(struct frontdoor *f, struct conn *c)
{
	c->c_prev = NULL;
	c->c_next = f->f_conns;
	if (f->f_conns != NULL)
		f->f_conns->c_prev = c;
	f->f_conns = c;
}

static void list_del(struct frontdoor *f, struct conn *c)
{
	if (c->c_prev != NULL)
		c->c_prev->c_next = c->c_next;
	else
		f->f_conns = c->c_next;
	if (c->c_next != NULL)
		c->c_next->c_prev = c->c_prev;
	c->c_prev = c->c_next = NULL;
}

/* wait_head() puts c in the loop, waiting for its next request head. */
static void wait_head(struct frontdoor *f, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET,
				  .data.ptr = c };

	c->c_state = CONN_HEAD;
	c->c_peeked = 0;
	c->c_got = 0;
	c->c_active_ns = net_now_ns();
	c->c_start_ns = 0;
	if (c->c_buf != NULL)
		head_init(&c->c_head, c->c_buf);
	list_add(f, c);
	if (epoll_ctl(f->f_epfd, EPOLL_CTL_ADD, c->c_fd, &ev) < 0) {
		lf_warn("%s: epoll_ctl", __func__);
		list_del(f, c);
		conn_close(f->f_net, c);
	}
}

/* leave() takes c out of the loop, for a worker or libmicrohttpd. */
static void leave(struct frontdoor *f, struct conn *c)
{
	list_del(f, c);
	epoll_ctl(f->f_epfd, EPOLL_CTL_DEL, c->c_fd, NULL);
}

/* refuse() answers c with code (Connection: close) and lets a worker
 * linger on it; c has left the loop. */
static void refuse(struct frontdoor *f, struct conn *c, int code,
		   const char *reason)
{
	struct upload_reply r = { .code = code, .reason = reason,
				  .close = true };

	c->c_keepalive = false;
	if (c->c_start_ns == 0)
		c->c_start_ns = net_now_ns();
	if (conn_respond(f->f_net, c, &r, "-") < 0) {
		conn_close(f->f_net, c);
		return;
	}
	shutdown(c->c_fd, SHUT_WR);
	c->c_state = CONN_LINGER;
	ingest_submit(f->f_net, c);
}

/*
 * conn_hand_over() gives c's socket, with its next request unconsumed, to
 * libmicrohttpd at this request boundary (it stays there), and frees c.
 * The caller has taken c out of its epoll set. Any thread.
 */
void conn_hand_over(struct net *n, struct conn *c)
{
	int fd = c->c_fd;

	/* libmicrohttpd owns the socket from here, even on failure. */
	c->c_fd = -1;
	if (MHD_add_connection(n->mhd, fd, (const struct sockaddr *)&c->c_addr,
			       c->c_addrlen) != MHD_YES)
		lf_warn("%s: MHD_add_connection", __func__);
	conn_close(n, c);
}

/*
 * conn_read_head() peeks at c's next request head (allocating c's buffer
 * on first use) and parses what arrived. hup says the client has shut its
 * side (a peek keeps returning the bytes already seen then, so the end
 * shows only in the epoll events). Returns:
 *   HEAD_WAIT      more bytes are needed (wait for the next edge);
 *   HEAD_GONE      the client left, or the head cannot complete: close;
 *   HEAD_HANDOVER  not a PUT: give the connection, unconsumed, to
 *                  libmicrohttpd (conn_hand_over());
 *   HEAD_PUT       a PUT whose head has been consumed, exactly, and
 *                  NUL-terminated in c_buf: its body follows;
 *   HEAD_REFUSE    answer *code with the one-line *why and close.
 * Used by the front door and by the splice workers (keep-alive
 * connections stay with their worker); the caller owns c.
 */
enum head_result conn_read_head(struct net *n, struct conn *c, bool hup,
				int *code, const char **why)
{
	size_t cap = n->cfg->max_header + 1;
	ssize_t got;
	int rc;

	if (c->c_buf == NULL) {
		c->c_buf = calloc(1, cap + 1);
		if (c->c_buf == NULL)
			return HEAD_GONE;
		head_init(&c->c_head, c->c_buf);
	}
	got = recv(c->c_fd, c->c_buf, cap, MSG_PEEK);
	if (got < 0 && (errno == EAGAIN || errno == EINTR) && !hup)
		return HEAD_WAIT;
	if (got <= 0 || ((size_t)got <= c->c_peeked && hup))
		return HEAD_GONE;
	if ((size_t)got <= c->c_peeked)
		return HEAD_WAIT;
	if (c->c_peeked == 0)
		c->c_start_ns = net_now_ns();
	c->c_peeked = (size_t)got;
	c->c_active_ns = net_now_ns();
	rc = head_feed(&c->c_head, c->c_peeked);
	if (rc == 0 && c->c_peeked >= cap)
		rc = -EMSGSIZE;
	if (rc == 0)
		return hup ? HEAD_GONE : HEAD_WAIT;
	if (rc == -EOPNOTSUPP || (rc == 1 && c->c_head.h_method != HTTP_PUT))
		return HEAD_HANDOVER;
	c->c_keepalive = false;
	if (rc < 0) {
		*code = rc == -EMSGSIZE ? 431 : 400;
		*why = rc == -EMSGSIZE ?
			"request header section too large (max_header)" :
			"malformed request head";
		return HEAD_REFUSE;
	}
	if (c->c_head.h_parser.http_major != 1) {
		*code = 505;
		*why = "HTTP version not supported (HTTP/1.x only)";
		return HEAD_REFUSE;
	}
	/* A PUT: consume exactly its head; the body is the worker's. */
	got = recv(c->c_fd, c->c_buf, c->c_head.h_len, 0);
	if (got != (ssize_t)c->c_head.h_len)
		return HEAD_GONE;
	head_terminate(&c->c_head, c->c_buf);
	if (c->c_head.h_te_other) {
		*code = 501;
		*why = "transfer coding not implemented (only chunked)";
		return HEAD_REFUSE;
	}
	c->c_keepalive = c->c_head.h_keepalive;
	return HEAD_PUT;
}

/* read_head() reads a head in the loop and acts on it. */
static void read_head(struct frontdoor *f, struct conn *c, uint32_t events)
{
	bool hup = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
	const char *why = NULL;
	int code = 0;

	switch (conn_read_head(f->f_net, c, hup, &code, &why)) {
	case HEAD_WAIT:
		return;
	case HEAD_GONE:
		leave(f, c);
		conn_close(f->f_net, c);
		return;
	case HEAD_HANDOVER:
		leave(f, c);
		conn_hand_over(f->f_net, c);
		return;
	case HEAD_REFUSE:
		leave(f, c);
		refuse(f, c, code, why);
		return;
	case HEAD_PUT:
		leave(f, c);
		c->c_state = CONN_BODY;
		ingest_submit(f->f_net, c);
		return;
	}
}

static void accept_all(struct frontdoor *f, int lfd)
{
	struct net *n = f->f_net;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int one = 1;
		struct conn *c;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				lf_warn("%s: accept4", __func__);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->c_fd = fd;
		memcpy(&c->c_addr, &ss, sl);
		c->c_addrlen = sl;
		peer_format((struct sockaddr *)&ss, c->c_peer, sizeof(c->c_peer));
		if ((unsigned)__atomic_add_fetch(&n->nconns, 1,
						 __ATOMIC_SEQ_CST) >
		    n->cfg->max_connections) {
			/* Over the limit: one short answer, then close. */
			static const char msg[] =
				"HTTP/1.1 503 Service Unavailable\r\n"
				"Retry-After: 1\r\nConnection: close\r\n"
				"Content-Type: text/plain; charset=utf-8\r\n"
				"Content-Length: 21\r\n\r\ntoo many connections\n";

			if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL) < 0)
				lf_debug("%s: send 503: %m", __func__);
			conn_close(n, c);
			continue;
		}
		wait_head(f, c);
	}
}

static void check_idle(struct frontdoor *f, int64_t now)
{
	int64_t limit = (int64_t)f->f_net->cfg->idle_timeout * 1000000000LL;
	struct conn *c, *next;

	for (c = f->f_conns; c != NULL; c = next) {
		next = c->c_next;
		if (now - c->c_active_ns <= limit)
			continue;
		leave(f, c);
		if (c->c_peeked > 0)
			refuse(f, c, 408, "request timed out: the head did not arrive");
		else
			conn_close(f->f_net, c);
	}
}

static void *frontdoor_main(void *arg)
{
	struct frontdoor *f = arg;
	struct epoll_event evs[MAX_EVENTS];
	int64_t last_scan = net_now_ns();

	for (;;) {
		int nev = epoll_wait(f->f_epfd, evs, MAX_EVENTS, 1000);
		int64_t now;
		bool stop;

		if (nev < 0 && errno != EINTR) {
			lf_warn("%s: epoll_wait", __func__);
			break;
		}
		pthread_mutex_lock(&f->f_lock);
		stop = f->f_stop;
		pthread_mutex_unlock(&f->f_lock);
		if (stop)
			break;
		for (int i = 0; i < nev; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag < NET_MAX_LISTEN)
				accept_all(f, f->f_listen[tag]);
			else if (tag == EV_WAKE)
				continue; /* frontdoor_stop() */
			else
				read_head(f, evs[i].data.ptr, evs[i].events);
		}
		now = net_now_ns();
		if (now - last_scan >= 1000000000LL) {
			check_idle(f, now);
			last_scan = now;
		}
	}
	return NULL;
}

/* ---- listeners ---------------------------------------------------------- */

/* open_listener() binds spec ("ADDR:PORT", "[V6]:PORT") and listens. */
static int open_listener(const char *spec, int *out)
{
	char host[256];
	const char *port, *colon = strrchr(spec, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai;
	size_t hlen;
	int fd, rc, one = 1;

	if (colon == NULL || colon[1] == '\0') {
		lf_warnx("listen=%s: needs ADDR:PORT", spec);
		return -EINVAL;
	}
	port = colon + 1;
	hlen = (size_t)(colon - spec);
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		spec++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		lf_warnx("listen=%s: address too long", spec);
		return -EINVAL;
	}
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	rc = getaddrinfo(hlen > 0 ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		lf_warnx("listen=%s: %s", spec, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, BACKLOG) < 0) {
		rc = -errno;
		lf_warn("listen on %s", spec);
		close(fd);
		goto out;
	}
	*out = fd;
	rc = 0;
out:
	freeaddrinfo(ai);
	return rc;
}

/*
 * frontdoor_start() opens the listeners of n->cfg (the default one when
 * none is given, none with listen=none) and starts the loop. Returns 0 or
 * -errno after a log line (-EADDRINUSE, ...). Start-up only;
 * frontdoor_stop() undoes it, also after a failed start.
 */
int frontdoor_start(struct net *n)
{
	const struct net_config *cfg = n->cfg;
	struct frontdoor *f = calloc(1, sizeof(*f));
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (f == NULL)
		return -ENOMEM;
	n->door = f;
	f->f_net = n;
	f->f_evfd = -1;
	pthread_mutex_init(&f->f_lock, NULL);
	f->f_epfd = epoll_create1(EPOLL_CLOEXEC);
	f->f_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->f_epfd < 0 || f->f_evfd < 0)
		return -errno;
	ev.data.u64 = EV_WAKE;
	if (epoll_ctl(f->f_epfd, EPOLL_CTL_ADD, f->f_evfd, &ev) < 0)
		return -errno;
	if (!cfg->no_listen) {
		int nl = cfg->nlisten;

		for (int i = 0; i < (nl > 0 ? nl : 1); i++) {
			const char *spec = nl > 0 ? cfg->listen[i] :
						    NET_DEFAULT_LISTEN;

			rc = open_listener(spec, &f->f_listen[f->f_nlisten]);
			if (rc < 0)
				return rc;
			ev.data.u64 = (uint64_t)f->f_nlisten;
			f->f_nlisten++;
			if (epoll_ctl(f->f_epfd, EPOLL_CTL_ADD,
				      f->f_listen[f->f_nlisten - 1], &ev) < 0)
				return -errno;
		}
	}
	rc = pthread_create(&f->f_thread, NULL, frontdoor_main, f);
	if (rc != 0)
		return -rc;
	pthread_setname_np(f->f_thread, "lf-frontdoor");
	f->f_started = true;
	return 0;
}

/* frontdoor_stop() stops accepting and closes the connections waiting for
 * a head. Connections with workers or libmicrohttpd are theirs to end;
 * a worker giving one back from now on closes it. */
void frontdoor_stop(struct net *n)
{
	struct frontdoor *f = n->door;
	uint64_t one = 1;
	struct conn *c;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->f_lock);
	f->f_stop = true;
	pthread_mutex_unlock(&f->f_lock);
	if (f->f_started) {
		if (write(f->f_evfd, &one, sizeof(one)) < 0)
			lf_warn("%s: eventfd", __func__);
		pthread_join(f->f_thread, NULL);
	}
	while ((c = f->f_conns) != NULL) {
		list_del(f, c);
		conn_close(n, c);
	}
	for (int i = 0; i < f->f_nlisten; i++)
		close(f->f_listen[i]);
	f->f_nlisten = 0;
}

/* frontdoor_free() frees the front door once no worker can give a
 * connection back (after ingest_stop()). Accepts a net without one. */
void frontdoor_free(struct net *n)
{
	struct frontdoor *f = n->door;

	if (f == NULL)
		return;
	if (f->f_epfd >= 0)
		close(f->f_epfd);
	if (f->f_evfd >= 0)
		close(f->f_evfd);
	pthread_mutex_destroy(&f->f_lock);
	free(f);
	n->door = NULL;
}
