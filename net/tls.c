/*
 * tls.c - HTTPS on its own listener (-o tls_listen=ADDR:PORT, tls_cert,
 * tls_key): a second libmicrohttpd daemon, with GnuTLS, calling the same
 * access and completion callbacks as the plain one (mhd.c).
 *
 * There is no front door here: TLS records must be decrypted in user
 * space (this kernel has no kTLS and Debian's GnuTLS is built without it),
 * so every body, PUT included, takes libmicrohttpd's copying path. The
 * access handler is wrapped only to mark the thread while it runs
 * (tls_serving()), so that metrics count those uploads as "tls".
 *
 * The listen socket is opened here, so that a bind error comes back as an
 * errno value with the address in the log line; libmicrohttpd owns it once
 * the daemon has started and closes it when the daemon stops.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TLS_MAX_PEM (1024 * 1024)

struct tls {
	struct MHD_Daemon *t_daemon;
	char *t_cert;                  /* PEM, NUL-terminated */
	char *t_key;                   /* PEM; wiped before it is freed */
	size_t t_keylen;
};

static _Thread_local bool tls_thread;

/* tls_serving() tells whether the calling thread is running the TLS
 * daemon's access handler. */
bool tls_serving(void)
{
	return tls_thread;
}

static enum MHD_Result tls_on_request(void *cls, struct MHD_Connection *conn,
				      const char *url, const char *method,
				      const char *version,
				      const char *upload_data,
				      size_t *upload_data_size, void **req_cls)
{
	enum MHD_Result r;

	tls_thread = true;
	r = mhd_on_request(cls, conn, url, method, version, upload_data,
			   upload_data_size, req_cls);
	tls_thread = false;
	return r;
}

static void tls_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	lf_vlog(LOG_WARNING, fmt, ap);
}

/*
 * tls_unescape() keeps the request target as it came: policy_path()
 * decodes and validates it, once, for both daemons alike.
 */
static size_t tls_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	return strlen(s);
}

/* read_pem() reads a whole PEM file (at most TLS_MAX_PEM bytes) into a
 * NUL-terminated buffer. */
static int read_pem(const char *what, const char *path, char **out,
		    size_t *outlen)
{
	struct stat sb;
	size_t len = 0;
	ssize_t got;
	char *buf;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		lf_err(-rc, "%s %s", what, path);
		return rc;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > TLS_MAX_PEM || sb.st_size == 0) {
		lf_warnx("%s %s: not a PEM file of at most %d bytes", what,
			 path, TLS_MAX_PEM);
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)sb.st_size) {
		got = read(fd, buf + len, (size_t)sb.st_size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	buf[len] = '\0';
	if (strstr(buf, "-----BEGIN ") == NULL) {
		lf_warnx("%s %s: no PEM block", what, path);
		explicit_bzero(buf, len);
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * listen_on() opens a listening TCP socket on spec ("ADDR:PORT" or
 * "[V6]:PORT"). Returns the socket, or -errno after one log line; *v6
 * tells the family.
 */
static int listen_on(const char *spec, bool *v6)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res;
	char host[256];
	const char *port, *end;
	int fd, rc, one = 1;
	size_t len;

	if (spec[0] == '[') {
		end = strchr(spec, ']');
		if (end == NULL || end[1] != ':')
			goto bad;
		len = (size_t)(end - spec - 1);
		if (len >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, len);
		port = end + 2;
	} else {
		end = strrchr(spec, ':');
		if (end == NULL)
			goto bad;
		len = (size_t)(end - spec);
		if (len >= sizeof(host))
			goto bad;
		memcpy(host, spec, len);
		port = end + 1;
	}
	if (*port == '\0')
		goto bad;
	host[len] = '\0';
	rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		lf_warnx("tls_listen=%s: %s", spec, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
		    res->ai_protocol);
	if (fd < 0) {
		rc = -errno;
		goto err_free;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, 128) < 0) {
		rc = -errno;
		close(fd);
		goto err_free;
	}
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return fd;

err_free:
	lf_err(-rc, "tls_listen=%s", spec);
	freeaddrinfo(res);
	return rc;
bad:
	lf_warnx("tls_listen=%s: expected ADDR:PORT or [V6]:PORT", spec);
	return -EINVAL;
}

static void tls_free(struct tls **t)
{
	if (*t == NULL)
		return;
	free((*t)->t_cert);
	if ((*t)->t_key != NULL)
		explicit_bzero((*t)->t_key, (*t)->t_keylen);
	free((*t)->t_key);
	free(*t);
	*t = NULL;
}

/*
 * tls_start() starts the TLS daemon when cfg->tls_listen is set (nothing
 * to do otherwise) and keeps it in n->tls. Returns 0, or -errno after one
 * log line (unreadable certificate or key, address in use, no TLS support
 * in libmicrohttpd). Start-up only; call it after the struct net is ready
 * to serve, as the daemon takes requests at once.
 */
int tls_start(struct net *n)
{
	const struct net_config *cfg = n->cfg;
	unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct tls *t;
	size_t certlen;
	bool v6 = false;
	int fd, rc;

	n->tls = NULL;
	if (cfg->tls_listen == NULL)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		lf_warnx("tls_listen: this libmicrohttpd has no TLS support");
		return -ENOTSUP;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	rc = read_pem("tls_cert", cfg->tls_cert, &t->t_cert, &certlen);
	if (rc == 0)
		rc = read_pem("tls_key", cfg->tls_key, &t->t_key,
			      &t->t_keylen);
	if (rc < 0)
		goto err_free;
	fd = listen_on(cfg->tls_listen, &v6);
	if (fd < 0) {
		rc = fd;
		goto err_free;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	t->t_daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, tls_on_request, n,
		/* First, so that libmicrohttpd logs nothing elsewhere. */
		MHD_OPTION_EXTERNAL_LOGGER, tls_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_HTTPS_MEM_CERT, t->t_cert,
		MHD_OPTION_HTTPS_MEM_KEY, t->t_key,
		MHD_OPTION_NOTIFY_COMPLETED, mhd_on_completed, n,
		MHD_OPTION_UNESCAPE_CALLBACK, tls_unescape, NULL,
		MHD_OPTION_URI_LOG_CALLBACK, mhd_on_uri, n,
		MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout,
		MHD_OPTION_THREAD_POOL_SIZE, cfg->mhd_threads,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)cfg->max_header * 2 + 65536,
		MHD_OPTION_END);
	if (t->t_daemon == NULL) {
		/* libmicrohttpd has said why through tls_log(). The socket
		 * is left open: whether the failed start closed it is not
		 * specified, and the daemon is about to exit anyway. */
		lf_warnx("tls_listen=%s: libmicrohttpd could not start "
			 "(certificate and key mismatched or unreadable?)",
			 cfg->tls_listen);
		rc = -EINVAL;
		goto err_free;
	}
	n->tls = t;
	lf_log(LOG_INFO, "HTTPS on %s", cfg->tls_listen);
	return 0;

err_free:
	tls_free(&t);
	return rc;
}

/*
 * tls_stop() stops the TLS daemon (closing its connections and its listen
 * socket) and frees the certificate and key. Safe when none was started.
 */
void tls_stop(struct net *n)
{
	if (n == NULL || n->tls == NULL)
		return;
	if (n->tls->t_daemon != NULL)
		MHD_stop_daemon(n->tls->t_daemon);
	tls_free(&n->tls);
}

/* tls_config_check() checks that tls_listen, tls_cert and tls_key come
 * together. Returns 0 or -EINVAL after one line per problem. */
int tls_config_check(const struct net_config *cfg)
{
	bool any = cfg->tls_listen != NULL || cfg->tls_cert != NULL ||
		   cfg->tls_key != NULL;

	if (!any)
		return 0;
	if (cfg->tls_listen == NULL || cfg->tls_cert == NULL ||
	    cfg->tls_key == NULL) {
		lf_warnx("TLS needs all of tls_listen=ADDR:PORT, "
			 "tls_cert=PATH and tls_key=PATH");
		return -EINVAL;
	}
	return 0;
}
