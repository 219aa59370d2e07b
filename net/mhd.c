/*
 * mhd.c - the plain libmicrohttpd daemon and the access handler every
 * libmicrohttpd daemon shares (this one, fed by the front door, and the
 * TLS one in tls.c).
 *
 * The plain daemon has no listening socket: the front door hands it each
 * connection whose next request is not a PUT (MHD_add_connection), and a
 * connection once handed over stays with it. A PUT arriving here (a later
 * request on a handed-over connection, or any PUT over TLS) takes
 * libmicrohttpd's copying path: libmicrohttpd gives the body in buffers,
 * which are written into the staging blob. The checks, digests and
 * publish are the splice path's own (upload.c); only the carrying differs,
 * and the metrics count these bytes as copied. Every other method goes to
 * serve_request() (serve.c), called once, on the last callback (after any
 * body, which is discarded).
 *
 * Per-request state lives in *req_cls from the first callback to
 * mhd_on_completed(), which frees it: one owner, one free.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MHD_DISCARD_MAX (1u << 20) /* body dropped before closing */

enum mhd_kind { MHD_REQ_NEW = 0, MHD_REQ_OTHER, MHD_REQ_PUT };

struct mhd_req {
	enum mhd_kind r_kind;
	const char *r_uri;            /* the target, from mhd_on_uri() */
	size_t r_urilen;
	struct upload *r_up;
	bool r_answered;              /* a response is queued */
	bool r_failed;                /* the body could not be stored */
	int r_code;
	uint64_t r_discarded;         /* body bytes dropped after a failure */
	int64_t r_start_ns;
	char r_peer[STORE_MAX_PEER];
};


static const char *mhd_header(void *arg, const char *name)
{
	return MHD_lookup_connection_value(arg, MHD_HEADER_KIND, name);
}

void mhd_peer(struct MHD_Connection *conn, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	peer_format(ci != NULL ? ci->client_addr : NULL, buf, size);
}

/* answer() queues the reply r: the same status, headers and one-line
 * text/plain body as the front door's conn_respond(). */
static enum MHD_Result answer(struct MHD_Connection *conn, struct mhd_req *r,
			      const struct upload_reply *rep)
{
	char body[512];
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int len = 0;

	if (rep->code != 204)
		len = snprintf(body, sizeof(body), "%s\n",
			       rep->reason != NULL ? rep->reason : "");
	if (len < 0 || (size_t)len >= sizeof(body))
		len = 0;
	resp = MHD_create_response_from_buffer((size_t)len, body,
					       MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (rep->code != 204)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; charset=utf-8");
	if (rep->etag[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, rep->etag);
	if (rep->location[0] != '\0' && rep->code == 201)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
					rep->location);
	if (rep->repr_digest[0] != '\0')
		MHD_add_response_header(resp, "Repr-Digest", rep->repr_digest);
	if (rep->retry_after != 0) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%u", rep->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (rep->auth_challenge != 0)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					rep->auth_challenge == 2 ?
					"Bearer realm=\"landingfs\", "
					"error=\"invalid_token\"" :
					"Bearer realm=\"landingfs\"");
	if (rep->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
					"close");
	ret = MHD_queue_response(conn, (unsigned)rep->code, resp);
	MHD_destroy_response(resp);
	r->r_answered = true;
	r->r_code = rep->code;
	return ret;
}

static enum MHD_Result put_begin(struct net *n, struct MHD_Connection *conn,
				 const char *url, struct mhd_req *r)
{
	struct upload_req rq = { 0 };
	const char *cl, *te;
	char *end;

	r->r_kind = MHD_REQ_PUT;
	r->r_start_ns = net_now_ns();
	mhd_peer(conn, r->r_peer, sizeof(r->r_peer));
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_TRANSFER_ENCODING);
	rq.target = url;
	rq.target_len = strlen(url);
	rq.content_length = -1;
	if (cl != NULL) {
		errno = 0;
		rq.content_length = strtoll(cl, &end, 10);
		if (errno != 0 || *end != '\0' || rq.content_length < 0)
			rq.content_length = -1;
	}
	/* libmicrohttpd accepts no transfer coding but chunked. */
	rq.chunked = te != NULL && strcasecmp(te, "chunked") == 0;
	rq.spliced = false;
	rq.peer = r->r_peer;
	rq.header = mhd_header;
	rq.arg = conn;
	if (upload_begin(n, &rq, &r->r_up) < 0)
		return MHD_NO;
	if (upload_refused(r->r_up))
		return answer(conn, r, upload_reply(r->r_up));
	/* Returning without a response lets libmicrohttpd answer Expect:
	 * 100-continue and start the body. */
	return MHD_YES;
}

/* put_body() appends one buffer of body to the staging blob. */
static void put_body(struct mhd_req *r, const char *data, size_t size)
{
	int fd = upload_fd(r->r_up);
	size_t done = 0;
	int rc = 0;

	while (done < size) {
		ssize_t w = write(fd, data + done, size - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)w;
	}
	if (rc == 0)
		rc = upload_received(r->r_up, size);
	if (rc < 0) {
		struct net_status st = status_from_errno(rc);

		upload_fail(r->r_up, st.code, st.reason,
			    rc == -EFBIG ? "too_large" :
			    st.code == 507 ? "disk_full" : "error");
		r->r_failed = true;
	}
}

/*
 * mhd_on_request() is libmicrohttpd's access handler for every daemon;
 * cls is the struct net. Runs on libmicrohttpd's threads, several times
 * per request (see the top of the file).
 */
enum MHD_Result mhd_on_request(void *cls, struct MHD_Connection *conn,
			       const char *url, const char *method,
			       const char *version, const char *upload_data,
			       size_t *upload_data_size, void **req_cls)
{
	struct net *n = cls;
	struct mhd_req *r = *req_cls;

	if (r == NULL) {
		/* A daemon without mhd_on_uri(): state starts here. */
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*req_cls = r;
	}
	if (r->r_kind == MHD_REQ_NEW) {
		/* libmicrohttpd cuts the target at a NUL byte, so that
		 * "/a%00b" sent raw would name "/a": the version then does
		 * not follow the target's end. Refuse such a request. */
		if (r->r_uri != NULL &&
		    version != r->r_uri + r->r_urilen + 1) {
			static const struct upload_reply bad = {
				.code = 400, .reason = "NUL in the request target",
				.close = true,
			};

			r->r_kind = MHD_REQ_OTHER;
			return answer(conn, r, &bad);
		}
		if (strcmp(method, MHD_HTTP_METHOD_PUT) != 0) {
			/* Answer on the last call: a response queued on the
			 * first one makes libmicrohttpd close the connection
			 * (it cannot tell the request is whole). */
			r->r_kind = MHD_REQ_OTHER;
			return MHD_YES;
		}
		return put_begin(n, conn, url, r);
	}
	if (r->r_kind == MHD_REQ_OTHER) {
		if (*upload_data_size == 0 && !r->r_answered)
			return serve_request(n, conn, url, method);
		/* A body sent with another method is not used. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!r->r_answered && !r->r_failed)
			put_body(r, upload_data, *upload_data_size);
		else if ((r->r_discarded += *upload_data_size) > MHD_DISCARD_MAX)
			/* Do not read an unbounded body only to drop it. */
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->r_answered)
		return MHD_YES;
	if (!r->r_failed)
		upload_finish(r->r_up);
	return answer(conn, r, upload_reply(r->r_up));
}

/* mhd_on_completed() ends a request: an upload not published is aborted,
 * and the request is logged and counted. Frees the request's state. */
void mhd_on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct net *n = cls;
	struct mhd_req *r = *req_cls;
	double secs;

	(void)conn;
	if (r == NULL)
		return;
	*req_cls = NULL;
	if (r->r_kind != MHD_REQ_PUT) {
		free(r);
		return;
	}
	secs = (double)(net_now_ns() - r->r_start_ns) / 1e9;
	if (!r->r_answered || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
		if (r->r_up != NULL && !r->r_answered)
			upload_fail(r->r_up, 0, NULL, "disconnect");
		if (!r->r_answered)
			r->r_code = 499;
	}
	lf_access("%s PUT %s %d - %.3f", r->r_peer,
		  r->r_up != NULL ? upload_path(r->r_up) : "-", r->r_code,
		  secs);
	metrics_request(n, "PUT", r->r_code, secs);
	upload_free(&r->r_up);
	free(r);
}

/*
 * mhd_on_uri() is libmicrohttpd's URI log callback (every daemon sets it
 * with MHD_OPTION_URI_LOG_CALLBACK, cls the struct net): it starts the
 * request's state, noting where the target ends, for the NUL check in
 * mhd_on_request(). Returns the new *req_cls (NULL when out of memory: the
 * handler then allocates).
 */
void *mhd_on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct mhd_req *r = calloc(1, sizeof(*r));

	(void)cls;
	(void)conn;
	if (r != NULL) {
		r->r_uri = uri;
		r->r_urilen = strlen(uri);
	}
	return r;
}

/* Keep the request target as sent: policy_path() decodes it once, so an
 * encoded '/' or ".." is seen and refused there. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	lf_vlog(LOG_INFO, fmt, ap);
}

/*
 * mhd_start() starts the plain daemon the front door feeds: no listening
 * socket, its own polling threads, an inter-thread channel so that
 * MHD_add_connection() wakes it. Returns 0 or -errno. Start-up only.
 */
int mhd_start(struct net *n)
{
	const struct net_config *cfg = n->cfg;
	size_t mem = cfg->max_header + 32768;

	n->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC |
			MHD_USE_ERROR_LOG,
		0, NULL, NULL, mhd_on_request, n,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, mhd_on_completed, n,
		MHD_OPTION_THREAD_POOL_SIZE, cfg->mhd_threads,
		MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
		MHD_OPTION_URI_LOG_CALLBACK, mhd_on_uri, n,
		MHD_OPTION_END);
	if (n->mhd == NULL) {
		lf_warnx("cannot start libmicrohttpd");
		return -EIO;
	}
	return 0;
}

/* mhd_stop() stops the plain daemon, ending its connections (uploads on
 * them are aborted by mhd_on_completed()). Accepts a net without one. */
void mhd_stop(struct net *n)
{
	if (n->mhd == NULL)
		return;
	MHD_stop_daemon(n->mhd);
	n->mhd = NULL;
}
