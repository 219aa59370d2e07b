/*
 * landingctl_http.c - "landingctl uploads": ask a running daemon for its
 * in-flight uploads (GET /.landing/uploads) and print them as a table.
 *
 * One plain HTTP/1.1 GET with "Connection: close" over a TCP socket, the
 * answer read whole (bounded by CTL_MAX_RESPONSE), Content-Length and
 * chunked bodies both understood. HTTPS is not spoken here: point --url at
 * the daemon's plain listener, or use curl against the TLS one.
 */
#include "landingctl.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define DEFAULT_URL "http://127.0.0.1:8080"
#define HTTP_TIMEOUT_S 10

static void uploads_usage(FILE *f)
{
	fprintf(f,
		"usage: landingctl uploads [--url URL] [--token-file FILE] [--json]\n"
		"\n"
		"List the uploads a running landingfs daemon is receiving right\n"
		"now: path, peer, bytes so far, expected size, progress and rate\n"
		"(from its /.landing/uploads endpoint).\n"
		"\n"
		"  --url URL          the daemon's plain HTTP listener (default\n"
		"                     $LANDINGFS_URL, else %s)\n"
		"  --token-file FILE  send the token in FILE (its first word) as\n"
		"                     'Authorization: Bearer'; default\n"
		"                     $LANDINGFS_TOKEN when set\n"
		"  --json             print the daemon's JSON as it came\n",
		DEFAULT_URL);
}

struct url {
	char host[256];
	char port[16];
	char prefix[1024]; /* path before /.landing/, without trailing '/' */
};

static int url_parse(const char *s, struct url *u)
{
	const char *p, *hend, *slash;
	size_t n;

	if (strncmp(s, "http://", 7) != 0)
		return -EINVAL;
	p = s + 7;
	slash = strchr(p, '/');
	hend = slash != NULL ? slash : p + strlen(p);
	snprintf(u->port, sizeof(u->port), "80");
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(hend - p));

		if (rb == NULL || (size_t)(rb - p - 1) >= sizeof(u->host))
			return -EINVAL;
		memcpy(u->host, p + 1, (size_t)(rb - p - 1));
		u->host[rb - p - 1] = '\0';
		p = rb + 1;
		if (p < hend && *p != ':')
			return -EINVAL;
	} else {
		const char *colon = memchr(p, ':', (size_t)(hend - p));
		const char *e = colon != NULL ? colon : hend;

		if (e == p || (size_t)(e - p) >= sizeof(u->host))
			return -EINVAL;
		memcpy(u->host, p, (size_t)(e - p));
		u->host[e - p] = '\0';
		p = e;
	}
	if (p < hend) { /* ":PORT" */
		n = (size_t)(hend - p - 1);
		if (n == 0 || n >= sizeof(u->port))
			return -EINVAL;
		memcpy(u->port, p + 1, n);
		u->port[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (!isdigit((unsigned char)u->port[i]))
				return -EINVAL;
	}
	n = slash != NULL ? strlen(slash) : 0;
	while (n > 0 && slash[n - 1] == '/')
		n--;
	if (n >= sizeof(u->prefix))
		return -EINVAL;
	if (n > 0)
		memcpy(u->prefix, slash, n);
	u->prefix[n] = '\0';
	return 0;
}

static int read_token(const char *file, char *tok, size_t size)
{
	char line[1024];
	FILE *f = fopen(file, "re");
	int rc = -ENOENT;

	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *w = line + strspn(line, " \t");
		size_t n = strcspn(w, " \t\r\n");

		if (n == 0 || *w == '#')
			continue;
		if (n >= size) {
			rc = -ENAMETOOLONG;
			break;
		}
		memcpy(tok, w, n);
		tok[n] = '\0';
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

static int http_connect(const struct url *u)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct timeval tv = { .tv_sec = HTTP_TIMEOUT_S };
	int fd = -1, rc;

	rc = getaddrinfo(u->host, u->port, &hints, &res);
	if (rc != 0)
		return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	rc = -ECONNREFUSED;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		/* SO_SNDTIMEO bounds connect() too on Linux. */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		rc = errno == EINPROGRESS ? -ETIMEDOUT : -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : rc;
}

/* dechunk() decodes a chunked body in place; returns the length or -1. */
static ssize_t dechunk(char *body, size_t len)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		unsigned long n;

		if (in >= len)
			return -1;
		n = strtoul(body + in, &end, 16);
		if (end == body + in)
			return -1;
		end = memchr(end, '\n', len - (size_t)(end - body));
		if (end == NULL)
			return -1;
		in = (size_t)(end - body) + 1;
		if (n == 0)
			return (ssize_t)out;
		if (n > len - in)
			return -1;
		memmove(body + out, body + in, n);
		out += n;
		in += n;
		if (in < len && body[in] == '\r')
			in++;
		if (in < len && body[in] == '\n')
			in++;
	}
}

/*
 * http_get() fetches path from the daemon. Returns 0 with the status code,
 * the reason phrase and the body (malloc'ed, NUL-terminated), or -errno.
 */
static int http_get(const struct url *u, const char *path, const char *token,
		    int *status, char *reason, size_t rsize, char **body,
		    size_t *blen)
{
	char req[2048], *buf, *hend, *p;
	size_t len = 0, cap = 65536, hlen;
	bool chunked = false;
	long clen = -1;
	ssize_t n;
	int fd, rc;

	n = snprintf(req, sizeof(req),
		     "GET %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
		     "Accept: application/json\r\nUser-Agent: landingctl\r\n"
		     "Connection: close\r\n%s%s%s\r\n",
		     u->prefix, path, strchr(u->host, ':') ? "[" : "", u->host,
		     strchr(u->host, ':') ? "]" : "", u->port,
		     token ? "Authorization: Bearer " : "", token ? token : "",
		     token ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req))
		return -ENAMETOOLONG;
	fd = http_connect(u);
	if (fd < 0)
		return fd;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);

		if (w < 0) {
			rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
			close(fd);
			return rc;
		}
		off += w;
	}
	buf = malloc(cap + 1);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len == cap) {
			char *nb;

			if (cap >= CTL_MAX_RESPONSE) {
				rc = -EFBIG;
				goto err;
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				rc = -ENOMEM;
				goto err;
			}
			buf = nb;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	fd = -1;
	buf[len] = '\0';
	hend = strstr(buf, "\r\n\r\n");
	if (hend == NULL || sscanf(buf, "HTTP/1.%*d %d", status) != 1) {
		rc = -EPROTO;
		goto err;
	}
	hlen = (size_t)(hend - buf) + 4;
	p = strchr(buf, ' ');
	p = p != NULL ? strchr(p + 1, ' ') : NULL;
	snprintf(reason, rsize, "%.*s",
		 p != NULL ? (int)strcspn(p + 1, "\r\n") : 0,
		 p != NULL ? p + 1 : "");
	for (p = strstr(buf, "\r\n"); p != NULL && p < hend;
	     p = strstr(p + 2, "\r\n")) {
		const char *h = p + 2;

		if (strncasecmp(h, "Content-Length:", 15) == 0)
			clen = strtol(h + 15, NULL, 10);
		else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 &&
			 strcasestr(h, "chunked") != NULL &&
			 strcasestr(h, "chunked") < strstr(h, "\r\n"))
			chunked = true;
	}
	memmove(buf, buf + hlen, len - hlen + 1);
	len -= hlen;
	if (chunked) {
		n = dechunk(buf, len);
		if (n < 0) {
			rc = -EPROTO;
			goto err;
		}
		len = (size_t)n;
	} else if (clen >= 0) {
		if ((size_t)clen > len) {
			rc = -EPROTO;
			goto err;
		}
		len = (size_t)clen;
	}
	buf[len] = '\0';
	*body = buf;
	*blen = len;
	return 0;
err:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* str_of() is a member's string value, or "?". */
static const char *str_of(const struct json *o, const char *key)
{
	const struct json *v = json_get(o, key);

	return v != NULL && v->type == JSON_STRING ? v->str : "?";
}

static double num(const struct json *v, double dflt)
{
	return v != NULL && v->type == JSON_NUMBER ? strtod(v->str, NULL)
						    : dflt;
}

static void fmt_bytes(double b, char *buf, size_t size)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	if (b < 0) {
		snprintf(buf, size, "?");
		return;
	}
	while (b >= 1024 && i < 4) {
		b /= 1024;
		i++;
	}
	snprintf(buf, size, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

/*
 * print_table() prints the "uploads" list of /.landing/uploads: objects
 * with path, peer, bytes (so far), expected (null when unknown), rate
 * (bytes/s) and via (splice, copy or tls).
 */
static void print_table(const struct json *list)
{
	unsigned count = 0;

	printf("%-36s %-22s %10s %10s %5s %12s %s\n", "PATH", "PEER",
	       "RECEIVED", "EXPECTED", "DONE", "RATE", "VIA");
	for (const struct json *u = list->child; u != NULL; u = u->next) {
		double got = num(json_get(u, "bytes"), -1);
		double exp = num(json_get(u, "expected"), -1);
		double rate = num(json_get(u, "rate"), -1);
		char b1[24], b2[24], b3[32], pct[8];

		fmt_bytes(got, b1, sizeof(b1));
		fmt_bytes(exp, b2, sizeof(b2));
		fmt_bytes(rate, b3, sizeof(b3));
		if (rate >= 0)
			strncat(b3, "/s", sizeof(b3) - strlen(b3) - 1);
		if (exp > 0 && got >= 0)
			snprintf(pct, sizeof(pct), "%.0f%%", 100.0 * got / exp);
		else
			snprintf(pct, sizeof(pct), "?");
		printf("%-36s %-22s %10s %10s %5s %12s %s\n",
		       str_of(u, "path"), str_of(u, "peer"), b1, b2, pct, b3,
		       str_of(u, "via"));
		count++;
	}
	printf("%u upload(s) in flight\n", count);
}

int cmd_uploads(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "token-file", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *urlstr = getenv("LANDINGFS_URL");
	const char *token = getenv("LANDINGFS_TOKEN"), *why;
	const struct json *list;
	char tok[512], reason[128];
	struct json *doc = NULL;
	bool raw = false;
	struct url u;
	char *body = NULL;
	size_t blen = 0;
	int c, rc, status, ret = CTL_ERROR;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': urlstr = optarg; break;
		case 't':
			rc = read_token(optarg, tok, sizeof(tok));
			if (rc < 0) {
				ctl_errno("uploads", rc, "%s: no token", optarg);
				return CTL_ERROR;
			}
			token = tok;
			break;
		case 'j': raw = true; break;
		case 'h': uploads_usage(stdout); return CTL_OK;
		default:
			ctl_err("uploads", "bad option '%s' (try landingctl "
				"uploads --help)", argv[optind - 1]);
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		ctl_err("uploads", "unexpected argument '%s' (try landingctl "
			"uploads --help)", argv[optind]);
		return CTL_USAGE;
	}
	if (urlstr == NULL || *urlstr == '\0')
		urlstr = DEFAULT_URL;
	if (token != NULL && *token == '\0')
		token = NULL;
	if (url_parse(urlstr, &u) < 0) {
		ctl_err("uploads", "%s: not an http://HOST[:PORT] URL%s", urlstr,
			strncmp(urlstr, "https:", 6) == 0
				? " (HTTPS is not spoken here; use the plain "
				  "listener or curl)"
				: "");
		return CTL_USAGE;
	}
	rc = http_get(&u, "/.landing/uploads", token, &status, reason,
		      sizeof(reason), &body, &blen);
	if (rc < 0) {
		ctl_err("uploads", "%s: %s%s", urlstr, strerror(-rc),
			rc == -ECONNREFUSED ? " (is the daemon running?)" : "");
		return CTL_ERROR;
	}
	if (status != 200) {
		ctl_err("uploads", "%s/.landing/uploads: %d %s%s", urlstr,
			status, reason,
			status == 401 ? " (give a token: --token-file or "
					"$LANDINGFS_TOKEN)"
				      : "");
		goto out;
	}
	if (raw) {
		fwrite(body, 1, blen, stdout);
		if (blen == 0 || body[blen - 1] != '\n')
			putchar('\n');
		ret = CTL_OK;
		goto out;
	}
	if (json_parse(body, blen, &doc, &why) < 0) {
		ctl_err("uploads", "%s/.landing/uploads: not JSON (%s)", urlstr,
			why);
		goto out;
	}
	list = doc->type == JSON_ARRAY ? doc : json_get(doc, "uploads");
	if (list == NULL || list->type != JSON_ARRAY) {
		ctl_err("uploads", "%s/.landing/uploads: no list of uploads in "
			"the answer", urlstr);
		goto out;
	}
	print_table(list);
	ret = CTL_OK;
out:
	json_free(&doc);
	free(body);
	return ret;
}
