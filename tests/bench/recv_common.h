/*
 * recv_common.h - what the two bare receivers of the ingest bench share
 * (recv_plain.c, recv_splice.c): a loopback listener, a minimal request
 * head reader (Content-Length and Expect only; these are yardsticks, not
 * servers) and the answer. Each request's body goes to a new file in DIR,
 * replacing the previous one, as an upload to one path would.
 */
#ifndef LANDINGFS_BENCH_RECV_COMMON_H
#define LANDINGFS_BENCH_RECV_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define RC_MAX_HEAD 16384

static inline int rc_listen(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 64) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * rc_head() reads one request head from fd, byte-exactly: it peeks, finds
 * the blank line, and consumes only the head. Sets *len (-1 when there is
 * no Content-Length) and *cont (Expect: 100-continue). Returns 1, 0 at a
 * clean end of the connection, -1 on error.
 */
static inline int rc_head(int fd, long long *len, int *cont)
{
	char buf[RC_MAX_HEAD + 1];
	char *end, *p;
	ssize_t n, hl;

	for (;;) {
		n = recv(fd, buf, RC_MAX_HEAD, MSG_PEEK);
		if (n <= 0)
			return n == 0 ? 0 : -1;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL)
			break;
		if (n == RC_MAX_HEAD)
			return -1;
		usleep(1000);
	}
	hl = end + 4 - buf;
	if (recv(fd, buf, (size_t)hl, 0) != hl)
		return -1;
	buf[hl] = '\0';
	*len = -1;
	*cont = 0;
	for (p = strstr(buf, "\r\n"); p != NULL; p = strstr(p, "\r\n")) {
		p += 2;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			*len = strtoll(p + 15, NULL, 10);
		else if (strncasecmp(p, "Expect:", 7) == 0)
			*cont = 1;
	}
	return 1;
}

static inline int rc_send(int fd, const char *s)
{
	size_t len = strlen(s);

	return send(fd, s, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/*
 * rc_open_out() makes a new file for the next request in dir; rc_publish()
 * then renames it over the previous one, as landingfs and nginx replace a
 * file only once its body has arrived. (Removing the old file before
 * writing the new one would let the writer reuse the pages just freed,
 * which a receiver that keeps the old version until the end cannot do; on
 * a VM that returns freed memory to its host, that alone changes the cost
 * of the copy into the page cache severalfold.)
 */
static inline int rc_open_out(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/recv.new", dir);
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

static inline int rc_publish(const char *dir)
{
	char from[4096], to[4096];

	snprintf(from, sizeof(from), "%s/recv.new", dir);
	snprintf(to, sizeof(to), "%s/recv", dir);
	return rename(from, to);
}

/* rc_serve() accepts connections one at a time and, for each request with
 * a Content-Length, answers 100 Continue when asked, moves the body with
 * body(), and answers 201. */
static inline int rc_serve(int argc, char **argv,
			   int (*body)(int sock, int out, long long len))
{
	int lfd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PORT DIR\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = rc_listen(atoi(argv[1]));
	if (lfd < 0) {
		perror("listen");
		return 1;
	}
	for (;;) {
		int one = 1, c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (;;) {
			long long len;
			int cont, out, rc = rc_head(c, &len, &cont);

			if (rc <= 0 || len < 0)
				break;
			if (cont && rc_send(c, "HTTP/1.1 100 Continue\r\n\r\n") < 0)
				break;
			out = rc_open_out(argv[2]);
			if (out < 0 || body(c, out, len) < 0) {
				if (out >= 0)
					close(out);
				break;
			}
			close(out);
			if (rc_publish(argv[2]) < 0)
				break;
			if (rc_send(c, "HTTP/1.1 201 Created\r\n"
				    "Content-Length: 0\r\n\r\n") < 0)
				break;
		}
		close(c);
	}
}

#endif /* LANDINGFS_BENCH_RECV_COMMON_H */
