/*
 * httpc.h - a minimal HTTP/1.1 client for the test and bench programs
 * (tests/progs/, tests/bench/): connect to a loopback port, send bytes,
 * read one response (Content-Length, chunked or close-delimited body).
 *
 * Each program is a single .c file, so the helpers are static inline here
 * rather than a library. Not a general client: it trusts nothing it reads
 * and bounds every buffer, but it only has to talk to landingfs.
 */
#ifndef LANDINGFS_TESTS_HTTPC_H
#define LANDINGFS_TESTS_HTTPC_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HC_MAX_HEAD 65536

/* hc_now() returns a monotonic time in seconds. */
static inline double hc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * hc_connect() opens a TCP connection to host:port (numeric IPv4 or IPv6)
 * with send and receive timeouts of timeout_ms (0: none). Returns the fd or
 * -errno.
 */
static inline int hc_connect(const char *host, int port, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, rc;

	memset(&ss, 0, sizeof(ss));
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (timeout_ms > 0) {
		struct timeval tv = { .tv_sec = timeout_ms / 1000,
				      .tv_usec = (timeout_ms % 1000) * 1000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* hc_send_all() writes len bytes; returns 0 or -errno. */
static inline int hc_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* One response as hc_read_response() saw it. */
struct hc_resp {
	int status;            /* 0 when no status line arrived */
	long long length;      /* Content-Length, -1 when absent */
	bool chunked;
	bool close;            /* Connection: close, or HTTP/1.0 */
	uint64_t body_bytes;   /* body bytes read */
	char head[2048];       /* the start of the head, NUL-terminated */
};

/* Per-connection read buffer, so that pipelined responses are not lost. */
struct hc_conn {
	int fd;
	size_t len;            /* bytes buffered in buf[off..off+len) */
	size_t off;
	char buf[HC_MAX_HEAD];
};

static inline void hc_conn_init(struct hc_conn *c, int fd)
{
	c->fd = fd;
	c->len = 0;
	c->off = 0;
}

/* hc_fill() reads more bytes into the buffer; returns bytes read, 0 at EOF,
 * or -errno (-EAGAIN on a timeout). */
static inline ssize_t hc_fill(struct hc_conn *c)
{
	ssize_t r;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len);
		c->off = 0;
	}
	if (c->len == sizeof(c->buf))
		return -E2BIG;
	do
		r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	c->len += (size_t)r;
	return r;
}

typedef void (*hc_body_fn)(void *arg, const void *data, size_t len);

/* hc_take() passes up to max buffered bytes to fn; returns how many. */
static inline size_t hc_take(struct hc_conn *c, size_t max, hc_body_fn fn,
			     void *arg)
{
	size_t n = c->len < max ? c->len : max;

	if (n > 0 && fn != NULL)
		fn(arg, c->buf + c->off, n);
	c->off += n;
	c->len -= n;
	return n;
}

/* hc_line() finds a CRLF-terminated line in the buffer, reading more as
 * needed; returns its length (without CRLF) or -errno / -EPROTO at EOF. */
static inline ssize_t hc_line(struct hc_conn *c)
{
	for (;;) {
		char *e = memmem(c->buf + c->off, c->len, "\r\n", 2);
		ssize_t r;

		if (e != NULL)
			return e - (c->buf + c->off);
		r = hc_fill(c);
		if (r < 0)
			return r;
		if (r == 0)
			return -EPROTO;
	}
}

/*
 * hc_read_response() reads one response. head_only: the request was HEAD
 * (no body follows). Body bytes go to fn (may be NULL). Returns 0, or
 * -errno: -EPROTO for EOF before a complete response, -EAGAIN on a timeout.
 */
static inline int hc_read_response(struct hc_conn *c, bool head_only,
				   struct hc_resp *r, hc_body_fn fn, void *arg)
{
	char *h, *e, *line;
	size_t hl;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->length = -1;
	for (;;) {
		e = memmem(c->buf + c->off, c->len, "\r\n\r\n", 4);
		if (e != NULL)
			break;
		n = hc_fill(c);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EPROTO;
	}
	h = c->buf + c->off;
	hl = (size_t)(e - h) + 4;
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(hl - 4), h);
	if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
		return -EPROTO;
	if (strncmp(r->head, "HTTP/1.0", 8) == 0)
		r->close = true;
	/* Walk the header lines of the copy (it may be truncated at 2 KiB,
	 * long enough for the headers that matter here). */
	line = strstr(r->head, "\r\n");
	while (line != NULL) {
		line += 2;
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			r->length = strtoll(line + 15, NULL, 10);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
			 strcasestr(line, "chunked") != NULL)
			r->chunked = true;
		else if (strncasecmp(line, "Connection:", 11) == 0 &&
			 strcasestr(line, "close") != NULL)
			r->close = true;
		line = strstr(line, "\r\n");
	}
	c->off += hl;
	c->len -= hl;
	if (head_only || r->status == 204 || r->status == 304 ||
	    r->status / 100 == 1)
		return 0;
	if (r->chunked) {
		for (;;) {
			unsigned long long sz;

			n = hc_line(c);
			if (n < 0)
				return (int)n;
			sz = strtoull(c->buf + c->off, NULL, 16);
			c->off += (size_t)n + 2;
			c->len -= (size_t)n + 2;
			if (sz == 0) {
				/* Trailers up to the empty line. */
				while ((n = hc_line(c)) > 0) {
					c->off += (size_t)n + 2;
					c->len -= (size_t)n + 2;
				}
				if (n < 0)
					return (int)n;
				c->off += 2;
				c->len -= 2;
				return 0;
			}
			while (sz > 0) {
				size_t t;

				if (c->len == 0) {
					n = hc_fill(c);
					if (n <= 0)
						return n < 0 ? (int)n : -EPROTO;
				}
				t = hc_take(c, sz, fn, arg);
				sz -= t;
				r->body_bytes += t;
			}
			n = hc_line(c);
			if (n != 0)
				return n < 0 ? (int)n : -EPROTO;
			c->off += 2;
			c->len -= 2;
		}
	}
	if (r->length >= 0) {
		uint64_t left = (uint64_t)r->length;

		while (left > 0) {
			size_t t;

			if (c->len == 0) {
				n = hc_fill(c);
				if (n <= 0)
					return n < 0 ? (int)n : -EPROTO;
			}
			t = hc_take(c, left, fn, arg);
			left -= t;
			r->body_bytes += t;
		}
		return 0;
	}
	/* No length: the body runs to EOF. */
	r->close = true;
	for (;;) {
		if (c->len == 0) {
			n = hc_fill(c);
			if (n < 0)
				return (int)n;
			if (n == 0)
				return 0;
		}
		r->body_bytes += hc_take(c, c->len, fn, arg);
	}
}

#endif /* LANDINGFS_TESTS_HTTPC_H */
