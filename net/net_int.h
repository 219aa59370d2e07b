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

#endif /* LANDINGFS_NET_INT_H */
