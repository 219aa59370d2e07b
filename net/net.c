/*
 * net.c - start and stop the network front end: the roles of net/ in the
 * order they depend on each other.
 *
 *   auth (tokens) -> incoming directory and publish locks (upload.c)
 *   -> mount helpers (mountop.c) -> libmicrohttpd (mhd.c)
 *   -> splice workers (ingest.c) -> front door (frontdoor.c, the
 *   listeners) -> TLS (tls.c)
 *
 * net_stop() undoes them in reverse, so that nothing hands work to a role
 * already gone: the front door stops first (no new connection, no new
 * PUT), then the workers (in-flight uploads aborted, never half-published),
 * then libmicrohttpd.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * net_start() opens the listeners and starts serving; see net.h. Returns
 * 0 and *out, or -errno after a log line. Start-up only.
 */
int net_start(const struct net_config *cfg, struct store *st,
	      const char *mountpoint, struct net **out)
{
	struct net *n = calloc(1, sizeof(*n));
	int rc;

	if (n == NULL)
		return -ENOMEM;
	n->cfg = cfg;
	n->st = st;
	n->start_ns = net_now_ns();
	if (mountpoint != NULL) {
		n->mountpoint = strdup(mountpoint);
		if (n->mountpoint == NULL) {
			rc = -ENOMEM;
			goto err;
		}
	}
	/* The parser's own ceiling must not cut below max_header. */
	http_parser_set_max_header_size(cfg->max_header + 1024);
	rc = auth_open(cfg->token_file, &n->auth);
	if (rc < 0)
		goto err;
	rc = upload_incoming_open(n);
	if (rc < 0) {
		lf_err(-rc, "preparing .landing/incoming in the store");
		goto err;
	}
	rc = mountop_open(n);
	if (rc < 0)
		goto err;
	rc = mhd_start(n);
	if (rc < 0)
		goto err;
	rc = ingest_start(n);
	if (rc < 0)
		goto err;
	rc = frontdoor_start(n);
	if (rc < 0)
		goto err;
	rc = tls_start(n);
	if (rc < 0)
		goto err;
	*out = n;
	return 0;

err:
	net_stop(&n);
	return rc;
}

/*
 * net_drain() lets the uploads in flight finish before a stop; see net.h.
 * It polls the count: a stop is rare and the wait is bounded.
 */
unsigned net_drain(struct net *n)
{
	int64_t deadline = net_now_ns() + (int64_t)n->cfg->drain * 1000000000;
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	int left;

	__atomic_store_n(&n->draining, 1, __ATOMIC_SEQ_CST);
	left = __atomic_load_n(&n->nuploads, __ATOMIC_SEQ_CST);
	if (left == 0 || n->cfg->drain == 0)
		return (unsigned)left;
	lf_log(LOG_INFO, "stopping: waiting up to %u s for %d upload%s in "
	       "flight (signal again to stop at once)", n->cfg->drain, left,
	       left == 1 ? "" : "s");
	while (left > 0 && net_now_ns() < deadline &&
	       !__atomic_load_n(&n->drain_abort, __ATOMIC_SEQ_CST)) {
		nanosleep(&tick, NULL);
		left = __atomic_load_n(&n->nuploads, __ATOMIC_SEQ_CST);
	}
	if (left > 0)
		lf_log(LOG_NOTICE, "stopping: %d upload%s still in flight "
		       "discarded", left, left == 1 ? "" : "s");
	else
		lf_log(LOG_INFO, "stopping: the uploads in flight finished");
	return (unsigned)left;
}

/* net_drain_abort() ends a net_drain() in progress (or to come) at once.
 * Thread-safe. */
void net_drain_abort(struct net *n)
{
	if (n != NULL)
		__atomic_store_n(&n->drain_abort, 1, __ATOMIC_SEQ_CST);
}

/* net_reload() re-reads the token file (SIGHUP). Thread-safe. */
void net_reload(struct net *n)
{
	if (n != NULL && n->auth != NULL)
		auth_reload(n->auth);
}

/*
 * net_stop() stops accepting, aborts in-flight uploads and frees
 * everything; it also undoes a partial net_start(). Accepts NULL; clears
 * *np.
 */
void net_stop(struct net **np)
{
	struct net *n;

	if (np == NULL || *np == NULL)
		return;
	n = *np;
	tls_stop(n);
	frontdoor_stop(n);
	ingest_stop(n);
	frontdoor_free(n);
	mhd_stop(n);
	mountop_close(n);
	upload_incoming_close(n);
	auth_close(&n->auth);
	free(n->mountpoint);
	free(n);
	*np = NULL;
}
