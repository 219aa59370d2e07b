/*
 * net_int.h - what the files of net/ share. Prototypes are grouped by the
 * file that defines them.
 *
 * Request flow:
 *   frontdoor.c  accepts plain-TCP connections, peeks at each request head,
 *                parses it (http_parser); a PUT with a body goes to
 *                ingest.c, anything else is handed to libmicrohttpd
 *                (mhd_add_connection) at a request boundary.
 *   ingest.c     splices a PUT body socket -> pipe -> staging blob.
 *   upload.c     what every PUT shares, whichever path carries its body
 *                (the splice path, or libmicrohttpd's copying path for
 *                handed-over connections and TLS): checks before the body,
 *                digests, publish, abort.
 *   mhd.c        the libmicrohttpd daemons (plain, fed by the front door, and
 *                TLS on its own listener) and every request they serve.
 *   policy.c     path validation and limits (pure functions).
 *   auth.c       the token file and the Authorization check (both paths).
 *   status.c     the one table from -errno to HTTP status and reason.
 *   metrics.c    counters, in-flight upload registry (progress), Prometheus.
 */
#ifndef LANDINGFS_NET_INT_H
#define LANDINGFS_NET_INT_H

#include "landingfs/net.h"
#include "landingfs/limits.h"
#include "landingfs/store.h"

#include <microhttpd.h>
#include <stdint.h>
#include <sys/socket.h>

#define NET_MAX_LISTEN 8

struct net_config {
	char *listen[NET_MAX_LISTEN]; /* "ADDR:PORT", "[v6]:PORT" */
	int nlisten;
	bool no_listen;               /* listen=none */
};

/* The running front end. Members are grouped by the file that owns them. */
struct net {
	const struct net_config *cfg;
	struct store *st;
	char *mountpoint;             /* NULL: publish in the store only */
};

/* One refusal or answer: an HTTP status with a one-line reason. */
struct net_status {
	int code;                     /* 201, 204, 400, ... */
	const char *reason;           /* static, one line, no newline */
};

/* status.c */
/* status_from_errno() maps a negative errno from the store or the system
 * to an HTTP status and a one-line reason (-ENOSPC -> 507, ...). */
struct net_status status_from_errno(int err);

/* policy.c */
/*
 * policy_path() percent-decodes a request target's path into out (at most
 * size bytes with the NUL) and validates it: no "..", ".", empty, NUL or
 * backslash component, no encoded '/', no over-long name or path, not under
 * the reserved "/.landing/" prefix unless allow_reserved. The leading '/' is
 * dropped ("" is the root). Returns 0, or -EINVAL/-ENAMETOOLONG with *why.
 */
int policy_path(const char *target, size_t len, char *out, size_t size,
		bool allow_reserved, const char **why);

/* mhd.c */
/*
 * The access and completion callbacks shared by every libmicrohttpd daemon
 * (the plain one fed by the front door, and the TLS one in tls.c); cls is
 * the struct net. PUT bodies arriving here take the copying path (counted
 * as copied in the metrics); every other method goes to serve_request().
 */
enum MHD_Result mhd_on_request(void *cls, struct MHD_Connection *conn,
			       const char *url, const char *method,
			       const char *version, const char *upload_data,
			       size_t *upload_data_size, void **req_cls);
void mhd_on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
		      enum MHD_RequestTerminationCode toe);

/* auth.c */
enum auth_scope {
	AUTH_READ = 1,
	AUTH_WRITE = 2,
	AUTH_DELETE = 4,
};
struct auth;
/* auth_open() reads the token file; path NULL means no tokens (every request
 * allowed: loopback-only or -o insecure). */
int auth_open(const char *path, struct auth **out);
/* auth_reload() re-reads the file (SIGHUP); on error the old tokens stay. */
int auth_reload(struct auth *a);
void auth_close(struct auth **a);
/*
 * auth_check() checks an Authorization header value (NULL when absent)
 * against the tokens for an access of kind need to path (validated, no
 * leading '/'). Returns 0, -EACCES (401: missing or wrong token) or -EPERM
 * (403: token valid but out of scope). Thread-safe; constant-time compare.
 */
int auth_check(struct auth *a, const char *authorization, const char *path,
	       enum auth_scope need);

/* metrics.c */
struct upload_progress;
/* metrics_upload_begin() registers an in-flight upload (for
 * /.landing/uploads); expected is -1 when unknown (chunked). */
struct upload_progress *metrics_upload_begin(struct net *n, const char *path,
					     const char *peer,
					     int64_t expected, bool spliced);
/* metrics_upload_bytes() updates the bytes received so far. */
void metrics_upload_bytes(struct upload_progress *p, uint64_t so_far);
/* metrics_upload_end() unregisters it and counts it as completed (status
 * 2xx) or failed with reason (a short label: "disconnect", "digest", ...).
 * Accepts NULL; clears *p. */
void metrics_upload_end(struct net *n, struct upload_progress **p,
			int status, const char *reason);
/* metrics_request() counts one finished request and its duration. */
void metrics_request(struct net *n, const char *method, int status,
		     double seconds);

/* serve.c */
/*
 * serve_request() answers every request libmicrohttpd serves except PUT:
 * GET/HEAD (files, directory listings, the /.landing/ endpoints), DELETE,
 * MKCOL, MOVE, OPTIONS, and 405 with Allow for the rest. It queues exactly
 * one response, or returns MHD_NO to close the connection.
 */
enum MHD_Result serve_request(struct net *n, struct MHD_Connection *conn,
			      const char *url, const char *method);

/* tls.c */
/* tls_start() starts the TLS daemon on cfg's tls_listen when set. */
int tls_start(struct net *n);
void tls_stop(struct net *n);

#endif /* LANDINGFS_NET_INT_H */
