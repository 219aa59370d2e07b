/*
 * rawhttp.c - a raw-socket HTTP client for the abuse tests: it sends exactly
 * the bytes it is told (malformed or not) and shows what came back.
 *
 *   rawhttp [-w MS] HOST PORT PART...
 *       Sends the parts in order on one connection, then reads until the
 *       server closes or is silent for MS milliseconds (default 3000), and
 *       prints what it received followed by a last line
 *       "#END eof|timeout|reset|error BYTES".
 *   rawhttp -q N [-w MS] HOST PORT PART...
 *       Sends the parts N times on one connection, reading one response
 *       after each; prints "#STATUS code count" lines, then "#END ...".
 *   rawhttp -n N -m idle|trickle|body -T SECONDS HOST PORT
 *       Opens N connections that send nothing (idle), the head of a PUT
 *       one byte a second (trickle), or a whole PUT head at once and then
 *       its body one byte a second (body), holds them for SECONDS and prints
 *       "#HOLD connected=N refused=N closed=N" with closed = connections the
 *       server ended during the hold. Bounded by SECONDS.
 *
 * A PART is text with C escapes (\r \n \t \\ \0 \xHH), or one of:
 *   @sleep=MS          pause
 *   @shut              shutdown(SHUT_WR): no more bytes from the client
 *   @rep=N=TEXT        TEXT (with escapes) N times
 *   @fill=N=C          N bytes of the character C
 *   @file=PATH         the contents of PATH
 * A send that fails (the server closed early) stops sending; reading goes on.
 */
#include "httpc.h"

#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>

#define MAX_CONNS 4096

static size_t unescape(const char *s, char *out)
{
	size_t n = 0;

	while (*s != '\0') {
		if (*s != '\\' || s[1] == '\0') {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r': out[n++] = '\r'; s++; break;
		case 'n': out[n++] = '\n'; s++; break;
		case 't': out[n++] = '\t'; s++; break;
		case '0': out[n++] = '\0'; s++; break;
		case '\\': out[n++] = '\\'; s++; break;
		case 'x': {
			char hex[3] = { 0 };

			s++;
			for (int i = 0; i < 2 && isxdigit((unsigned char)*s);
			     i++)
				hex[i] = *s++;
			out[n++] = (char)strtoul(hex, NULL, 16);
			break;
		}
		default: out[n++] = *s++; break;
		}
	}
	return n;
}

/* Sends one part; returns 0, or -errno once the connection refuses bytes. */
static int send_part(int fd, const char *part)
{
	char *buf;
	size_t n;
	int rc;

	if (strncmp(part, "@sleep=", 7) == 0) {
		usleep((useconds_t)atoi(part + 7) * 1000);
		return 0;
	}
	if (strcmp(part, "@shut") == 0) {
		shutdown(fd, SHUT_WR);
		return 0;
	}
	if (strncmp(part, "@rep=", 5) == 0) {
		char *eq;
		long count = strtol(part + 5, &eq, 10);

		if (*eq != '=')
			return -EINVAL;
		buf = malloc(strlen(eq) + 1);
		if (buf == NULL)
			return -ENOMEM;
		n = unescape(eq + 1, buf);
		rc = 0;
		for (long i = 0; i < count && rc == 0; i++)
			rc = hc_send_all(fd, buf, n);
		free(buf);
		return rc;
	}
	if (strncmp(part, "@fill=", 6) == 0) {
		char *eq;
		long count = strtol(part + 6, &eq, 10);

		if (*eq != '=' || count < 0)
			return -EINVAL;
		buf = malloc((size_t)count + 1);
		if (buf == NULL)
			return -ENOMEM;
		memset(buf, eq[1], (size_t)count);
		rc = hc_send_all(fd, buf, (size_t)count);
		free(buf);
		return rc;
	}
	if (strncmp(part, "@file=", 6) == 0) {
		char fb[65536];
		ssize_t r;
		int ffd = open(part + 6, O_RDONLY | O_CLOEXEC);

		if (ffd < 0)
			return -errno;
		rc = 0;
		while (rc == 0 && (r = read(ffd, fb, sizeof(fb))) > 0)
			rc = hc_send_all(fd, fb, (size_t)r);
		close(ffd);
		return rc;
	}
	buf = malloc(strlen(part) + 1);
	if (buf == NULL)
		return -ENOMEM;
	n = unescape(part, buf);
	rc = hc_send_all(fd, buf, n);
	free(buf);
	return rc;
}

static int send_parts(int fd, int nparts, char **parts)
{
	for (int i = 0; i < nparts; i++) {
		int rc = send_part(fd, parts[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Prints what arrives until EOF or wait_ms of silence. */
static void drain(int fd, int wait_ms)
{
	char buf[65536];
	const char *end = "eof";
	uint64_t total = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, wait_ms);
		ssize_t r;

		if (pr == 0) {
			end = "timeout";
			break;
		}
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			end = "error";
			break;
		}
		r = recv(fd, buf, sizeof(buf), 0);
		if (r == 0)
			break;
		if (r < 0) {
			end = errno == ECONNRESET ? "reset" : "error";
			break;
		}
		fwrite(buf, 1, (size_t)r, stdout);
		total += (uint64_t)r;
	}
	printf("\n#END %s %llu\n", end, (unsigned long long)total);
}

static int run_sequential(const char *host, int port, int count, int wait_ms,
			  int nparts, char **parts)
{
	static struct hc_conn c;
	int codes[600] = { 0 };
	const char *end = "eof";
	int fd = hc_connect(host, port, wait_ms);

	if (fd < 0) {
		printf("#END error 0 connect: %s\n", strerror(-fd));
		return 1;
	}
	hc_conn_init(&c, fd);
	for (int i = 0; i < count; i++) {
		struct hc_resp r;
		int rc = send_parts(fd, nparts, parts);

		if (rc == 0)
			rc = hc_read_response(&c, false, &r, NULL, NULL);
		if (rc < 0) {
			end = rc == -EAGAIN ? "timeout" : rc == -EPROTO ?
				"eof" : "error";
			printf("#STOPPED after %d requests: %s\n", i,
			       strerror(-rc));
			break;
		}
		if (r.status > 0 && r.status < 600)
			codes[r.status]++;
		if (r.close) {
			printf("#STOPPED after %d requests: server closed\n",
			       i + 1);
			break;
		}
	}
	for (int s = 0; s < 600; s++)
		if (codes[s] > 0)
			printf("#STATUS %d %d\n", s, codes[s]);
	printf("#END %s 0\n", end);
	close(fd);
	return 0;
}

static int run_hold(const char *host, int port, int n, const char *mode,
		    double secs)
{
	static int fds[MAX_CONNS];
	static size_t sent[MAX_CONNS];
	static const char head[] = "PUT /trickle/slow HTTP/1.1\r\nHost: x\r\n"
				   "Content-Length: 1000000\r\n\r\n";
	bool body = strcmp(mode, "body") == 0;
	bool trickle = body || strcmp(mode, "trickle") == 0;
	int connected = 0, refused = 0, closed = 0;
	double start, next_tick;
	struct rlimit rl;

	if (n > MAX_CONNS)
		n = MAX_CONNS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (int i = 0; i < n; i++)
		fds[i] = -1;
	start = hc_now();
	for (int i = 0; i < n; i++) {
		fds[i] = hc_connect(host, port, 2000);
		if (fds[i] < 0) {
			refused++;
			fds[i] = -1;
			continue;
		}
		if (body && hc_send_all(fds[i], head, sizeof(head) - 1) == 0)
			sent[i] = sizeof(head) - 1;
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
		connected++;
		if (hc_now() - start > secs / 2)
			break; /* bound the connect phase */
	}
	next_tick = hc_now();
	while (hc_now() - start < secs) {
		/* Notice connections the server closed. */
		for (int i = 0; i < n; i++) {
			char b[4096];
			ssize_t r;

			if (fds[i] < 0)
				continue;
			r = recv(fds[i], b, sizeof(b), 0);
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				close(fds[i]);
				fds[i] = -1;
				closed++;
			}
		}
		if (trickle && hc_now() >= next_tick) {
			for (int i = 0; i < n; i++) {
				const char *p;

				if (fds[i] < 0)
					continue;
				p = sent[i] < sizeof(head) - 1 ? head + sent[i]
							       : "x";
				if (send(fds[i], p, 1, MSG_NOSIGNAL) == 1)
					sent[i]++;
			}
			next_tick += 1.0;
		}
		usleep(100000);
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	printf("#HOLD connected=%d refused=%d closed=%d\n", connected,
	       refused, closed);
	return 0;
}

static void usage(void)
{
	fputs("usage: rawhttp [-w MS] [-q N] HOST PORT PART...\n"
	      "       rawhttp -n N -m idle|trickle|body -T SECONDS HOST PORT\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	int wait_ms = 3000, count = 0, nconn = 0, opt, port, fd, rc;
	const char *mode = NULL, *host;
	double secs = 5;

	while ((opt = getopt(argc, argv, "w:q:n:m:T:")) != -1) {
		switch (opt) {
		case 'w': wait_ms = atoi(optarg); break;
		case 'q': count = atoi(optarg); break;
		case 'n': nconn = atoi(optarg); break;
		case 'm': mode = optarg; break;
		case 'T': secs = atof(optarg); break;
		default: usage();
		}
	}
	if (argc - optind < 2)
		usage();
	signal(SIGPIPE, SIG_IGN);
	host = argv[optind];
	port = atoi(argv[optind + 1]);
	if (nconn > 0)
		return run_hold(host, port, nconn, mode ? mode : "idle", secs);
	if (count > 0)
		return run_sequential(host, port, count, wait_ms,
				      argc - optind - 2, argv + optind + 2);
	fd = hc_connect(host, port, wait_ms);
	if (fd < 0) {
		printf("#END error 0 connect: %s\n", strerror(-fd));
		return 1;
	}
	rc = send_parts(fd, argc - optind - 2, argv + optind + 2);
	if (rc < 0)
		printf("#SEND %s\n", strerror(-rc));
	fflush(stdout);
	drain(fd, wait_ms);
	close(fd);
	return 0;
}
