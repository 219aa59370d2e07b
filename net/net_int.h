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
 *   serve.c      every libmicrohttpd request but PUT: GET/HEAD of files
 *                (sendfile, Range, conditionals), DELETE, MKCOL, MOVE,
 *                OPTIONS, /.landing/; listing.c lists directories (HTML,
 *                JSON); statuspage.c is the /.landing/ page; mime.c maps
 *                names to Content-Type; textbuf.c builds generated bodies.
 *   tls.c        the HTTPS daemon on its own listener (same callbacks).
 */
#ifndef LANDINGFS_NET_INT_H
#define LANDINGFS_NET_INT_H

#include "landingfs/net.h"
#include "landingfs/limits.h"
#include "landingfs/reserved.h"
#include "landingfs/store.h"

#include <http_parser.h>
#include <microhttpd.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define NET_MAX_LISTEN 8
#define NET_DEFAULT_LISTEN "127.0.0.1:8080"

struct net_config {
	char *listen[NET_MAX_LISTEN]; /* "ADDR:PORT", "[v6]:PORT" */
	int nlisten;
	bool no_listen;               /* listen=none */
	/* config.c: limits and ingest (frontdoor.c, ingest.c, upload.c) */
	uint64_t max_upload;          /* max_upload=BYTES (413) */
	unsigned max_header;          /* max_header=BYTES (431) */
	unsigned max_connections;     /* max_connections=N */
	unsigned max_uploads;         /* max_uploads=N concurrent (503) */
	unsigned idle_timeout;        /* idle_timeout=SECONDS */
	uint64_t min_rate;            /* min_rate=BYTES/s; 0: off */
	unsigned min_rate_grace;      /* min_rate_grace=SECONDS */
	unsigned workers;             /* workers=N splice worker threads */
	unsigned pipes;               /* pipes=N in the shared pool */
	unsigned mhd_threads;         /* mhd_threads=N libmicrohttpd pool */
	bool digest_sha256;           /* digest=sha256|none */
	bool publish_direct;          /* publish=store: skip the mount rename */
	unsigned drain;               /* drain=SECONDS a stop waits for uploads */
	uint64_t min_free;            /* min_free=BYTES kept free (507); 0: off */
	/* auth.c */
	char *token_file;             /* token_file=PATH; NULL: no tokens */
	bool insecure;                /* insecure: allow a public listener
					 without a token file */
	/* tls.c */
	char *tls_listen;             /* tls_listen=ADDR:PORT; NULL: no TLS */
	char *tls_cert;               /* tls_cert=PATH, PEM certificate chain */
	char *tls_key;                /* tls_key=PATH, PEM private key */
};

/* The running front end. Members are grouped by the file that owns them. */
struct net {
	const struct net_config *cfg;
	struct store *st;
	char *mountpoint;             /* NULL: publish in the store only */
	/* auth.c: auth_open(cfg->token_file) in net_start, auth_close in
	 * net_stop, auth_reload in net_reload */
	struct auth *auth;
	/* tls.c: tls_start/tls_stop */
	struct tls *tls;
	/* net.c, frontdoor.c, ingest.c, mhd.c, upload.c */
	struct MHD_Daemon *mhd;       /* the plain daemon the front door feeds */
	struct frontdoor *door;       /* accept loop (frontdoor.c) */
	struct ingest *ing;           /* splice workers and pipe pool */
	struct publish_locks *plocks; /* per-path publish order (upload.c) */
	int nconns;                   /* open front-door connections; atomic */
	int nuploads;                 /* bodies in flight, both paths; atomic */
	int draining;                 /* net_drain() began; atomic */
	int drain_abort;              /* net_drain_abort(); atomic */
	int64_t start_ns;             /* net_start time, for unique names */
	uint64_t incoming_ino;        /* .landing/incoming, for the rename */
	uint64_t incoming_seq;        /* names in it; atomic */
	uint32_t mnt_dev_major;       /* the mount's device, to tell it from */
	uint32_t mnt_dev_minor;       /* the directory beneath once unmounted */
	struct mountop *mop;          /* helper processes (mountop.c) */
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

/* head.c: the request head (http_parser) and chunked framing. */
#define NET_MAX_FIELDS 100            /* header lines in one head (431) */
#define NET_MAX_CHUNK_LINE 4096       /* chunk-size line with extensions */

struct head_field {
	uint32_t name_off, name_len;  /* offsets into head.h_buf */
	uint32_t val_off, val_len;
};

struct head {
	http_parser h_parser;
	const char *h_buf;            /* the peeked bytes, stable while fed */
	size_t h_fed;                 /* bytes given to the parser so far */
	size_t h_len;                 /* head length once complete */
	bool h_complete;
	bool h_in_value;
	unsigned h_method;            /* enum http_method */
	uint32_t h_url_off, h_url_len;
	int64_t h_content_length;     /* -1: none */
	bool h_chunked;
	bool h_te_other;              /* a transfer coding but chunked (501) */
	bool h_keepalive;
	unsigned h_nfields;
	struct head_field h_fields[NET_MAX_FIELDS];
};

/* head_init() prepares h to parse the request head held in buf. */
void head_init(struct head *h, const char *buf);
/*
 * head_feed() parses buf[h_fed, avail) (the caller only ever appends to the
 * buffer). Returns 1 once the head is complete (h_len bytes), 0 when more is
 * needed, or a negative value: -EMSGSIZE (431: too many fields),
 * -EOPNOTSUPP (an unknown method: libmicrohttpd answers 405), -EINVAL (400).
 */
int head_feed(struct head *h, size_t avail);
/* head_terminate() NUL-terminates the url, names and values in place, in a
 * writable copy of the buffer (buf, the same bytes); call once, after
 * head_feed() returned 1. */
void head_terminate(struct head *h, char *buf);
/* head_get() returns the first value of header name (case-insensitive),
 * trimmed, after head_terminate(); NULL when absent. */
const char *head_get(const struct head *h, const char *buf, const char *name);

enum chunk_state {
	CHUNK_SIZE_START, CHUNK_SIZE, CHUNK_EXT, CHUNK_SIZE_LF, CHUNK_DATA,
	CHUNK_DATA_CR, CHUNK_DATA_LF, CHUNK_TRAILER_START, CHUNK_TRAILER,
	CHUNK_TRAILER_LF, CHUNK_END_LF, CHUNK_DONE,
};

struct chunk {
	enum chunk_state ck_state;
	uint64_t ck_size;             /* payload of the current chunk */
	size_t ck_line;               /* framing bytes of the current line */
	size_t ck_trailer;            /* trailer bytes so far */
	size_t ck_max_trailer;
	unsigned ck_digits;
};

/* chunk_init() starts the framing of one chunked body; the trailer
 * section may hold up to max_trailer bytes. */
void chunk_init(struct chunk *c, size_t max_trailer);
/*
 * chunk_feed() reads framing bytes from buf[0, len) and stops at the first
 * payload byte. *used gets the bytes consumed. Returns CHUNK_DATA with
 * c->ck_size payload bytes to move next (then call chunk_data_done()),
 * CHUNK_DONE at the end of the body, another state when it needs more
 * bytes, or -EINVAL for bad framing (400).
 */
int chunk_feed(struct chunk *c, const char *buf, size_t len, size_t *used);
/* chunk_data_done() says the payload of the current chunk has been moved. */
void chunk_data_done(struct chunk *c);

/* digest.c: sha-256, sha-512 and md5 over the landed pages. */
struct digest_want {
	bool sha256, sha512, md5;
};
struct digest_sums {
	bool has_sha256, has_sha512, has_md5;
	uint8_t sha256[32];
	uint8_t sha512[64];
	uint8_t md5[16];
};
struct digest;
/* digest_new() starts the sums wanted; NULL when out of memory. */
struct digest *digest_new(const struct digest_want *w);
void digest_free(struct digest **d);
/* digest_update_fd() hashes the bytes of fd from where the previous call
 * stopped up to offset end, through a read-only mapping (no copy). */
int digest_update_fd(struct digest *d, int fd, uint64_t end);
/* digest_final() finishes the sums into out. */
void digest_final(struct digest *d, struct digest_sums *out);
/*
 * digest_parse() reads a Content-Digest / Repr-Digest dictionary (RFC 9530)
 * and adds the sha-256 and sha-512 values to out (other algorithms are
 * ignored). digest_parse_md5() reads a Content-MD5 value. Both return 0 or
 * -EINVAL for a malformed value.
 */
int digest_parse(const char *value, struct digest_sums *out);
int digest_parse_md5(const char *value, struct digest_sums *out);
/* digest_format() writes "sha-256=:BASE64:" into buf. */
void digest_format(const uint8_t sha256[32], char *buf, size_t size);

/* upload.c: what every PUT shares, whichever path carries its body. */
struct upload_req {
	const char *target;           /* the raw request target */
	size_t target_len;
	int64_t content_length;       /* -1: none */
	bool chunked;
	bool spliced;                 /* body by splice (front door) */
	const char *peer;             /* "addr:port" */
	/* header() returns a request header's value or NULL */
	const char *(*header)(void *arg, const char *name);
	void *arg;
};

#define NET_MAX_LOCATION (3 * LF_MAX_PATH + 2)

struct upload_reply {
	int code;                     /* 0 until decided */
	const char *reason;           /* one line */
	bool close;                   /* close the connection after it */
	unsigned retry_after;         /* seconds, with 503 */
	int auth_challenge;           /* with 401: 1 WWW-Authenticate,
					 2 the same with error=invalid_token */
	char etag[24];                /* quoted, or "" */
	char repr_digest[128];        /* "sha-256=:...:" or "" */
	char location[NET_MAX_LOCATION];
};

struct upload;
int upload_begin(struct net *n, const struct upload_req *rq,
		 struct upload **out);
bool upload_refused(const struct upload *u);
bool upload_expects_continue(const struct upload *u);
int upload_fd(const struct upload *u);
int upload_received(struct upload *u, uint64_t nbytes);
int upload_finish(struct upload *u);
void upload_fail(struct upload *u, int code, const char *reason,
		 const char *label);
const struct upload_reply *upload_reply(const struct upload *u);
const char *upload_path(const struct upload *u);
void upload_free(struct upload **u);
void net_etag(uint64_t blob, char *buf, size_t size);
int upload_incoming_open(struct net *n);
void upload_incoming_close(struct net *n);

/* mountop.c: the VFS calls on the daemon's own mount, in helper
 * processes, so that a killed daemon never waits on itself. One helper per
 * default splice worker: each worker has at most one publish in flight. */
#define NET_MOUNTOP_HELPERS LF_NET_WORKERS /* helper processes */
#define NET_INCOMING_DIR LF_INCOMING_DIR
int mountop_open(struct net *n);
void mountop_close(struct net *n);
int mountop_publish(struct net *n, const char *incoming_name, const char *path,
		    bool noreplace, bool replaced_hint, bool *replaced);
int mountop_unlink(struct net *n, const char *incoming_name);

/* frontdoor.c and ingest.c: one plain-TCP client connection, owned by the
 * front door or by one splice worker, never by both at once. */
enum conn_state {
	CONN_HEAD,                    /* waiting for a request head */
	CONN_BODY,                    /* worker: splicing Content-Length bytes */
	CONN_CHUNK,                   /* worker: chunk framing or payload */
	CONN_LINGER,                  /* worker: answered; draining, then close */
};

struct conn {
	int c_fd;
	enum conn_state c_state;
	char c_peer[STORE_MAX_PEER];
	struct sockaddr_storage c_addr;
	socklen_t c_addrlen;
	char *c_buf;                  /* max_header + 1 bytes, the head */
	size_t c_peeked;
	struct head c_head;
	int64_t c_active_ns;          /* last progress, for idle_timeout */
	int64_t c_body_ns;            /* body start, for min_rate */
	int64_t c_start_ns;           /* request start, for metrics */
	int64_t c_linger_ns;          /* CONN_LINGER: close at this time */
	bool c_readable;              /* edge seen, not drained yet */
	bool c_hup;                   /* the client shut its sending side */
	bool c_keepalive;
	bool c_ready;                 /* on the worker's ready list */
	struct upload *c_up;
	uint64_t c_left;              /* body or chunk payload bytes to move */
	uint64_t c_got;               /* body bytes moved */
	struct chunk c_chunk;
	struct conn *c_prev, *c_next; /* the owner's list */
	struct conn *c_qnext;         /* hand-over queue, ready list */
	unsigned c_worker;
};

/* frontdoor.c */
void peer_format(const struct sockaddr *sa, char *buf, size_t size);
enum head_result {
	HEAD_WAIT, HEAD_GONE, HEAD_HANDOVER, HEAD_PUT, HEAD_REFUSE,
};
int frontdoor_start(struct net *n);
void frontdoor_stop(struct net *n);
void frontdoor_free(struct net *n);
enum head_result conn_read_head(struct net *n, struct conn *c, bool hup,
				int *code, const char **why);
void conn_hand_over(struct net *n, struct conn *c);
void conn_close(struct net *n, struct conn *c);

/* ingest.c */
int ingest_start(struct net *n);
void ingest_stop(struct net *n);
void ingest_submit(struct net *n, struct conn *c);
int conn_respond(struct net *n, struct conn *c, const struct upload_reply *r,
		 const char *method);
int64_t net_now_ns(void);

/* mhd.c */
/* mhd_peer() writes conn's peer address (peer_format()). */
void mhd_peer(struct MHD_Connection *conn, char *buf, size_t size);
int mhd_start(struct net *n);
void mhd_stop(struct net *n);
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
/* mhd.c: MHD_OPTION_URI_LOG_CALLBACK of every daemon (cls: the struct
 * net); lets mhd_on_request() refuse a target holding a NUL byte. */
void *mhd_on_uri(void *cls, const char *uri, struct MHD_Connection *conn);

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
/* auth_enabled() tells whether requests need a token (a token file). */
bool auth_enabled(const struct auth *a);
/* auth_is_loopback() tells whether a listener spec names loopback only. */
bool auth_is_loopback(const char *spec);
/* auth_config_check() refuses a public listener without tokens (unless
 * insecure) and a token file that does not parse; called by
 * net_config_check(). */
int auth_config_check(const struct net_config *cfg);

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
/* metrics_prometheus() and metrics_uploads_json() append the two views
 * (/.landing/metrics, /.landing/uploads) to b; 0 or the buffer's error. */
struct textbuf;
int metrics_prometheus(struct net *n, struct textbuf *b);
int metrics_uploads_json(struct net *n, struct textbuf *b);

/* serve.c */
/*
 * serve_request() answers every request libmicrohttpd serves except PUT:
 * GET/HEAD (files, directory listings, the /.landing/ endpoints), DELETE,
 * MKCOL, MOVE, OPTIONS, and 405 with Allow for the rest. It queues exactly
 * one response, or returns MHD_NO to close the connection.
 */
enum MHD_Result serve_request(struct net *n, struct MHD_Connection *conn,
			      const char *url, const char *method);
/* serve_queue() queues r (dropping the caller's reference) and notes its
 * body length for the access log; every response of serve.c and listing.c
 * goes through it. */
enum MHD_Result serve_queue(struct MHD_Connection *conn, int code,
			    struct MHD_Response *r, uint64_t len);
/* serve_reply() queues code with a one-line text body ("reason\n"; none
 * when reason is NULL) and one optional extra header. */
enum MHD_Result serve_reply(struct MHD_Connection *conn, int code,
			    const char *reason, const char *hname,
			    const char *hvalue);
/* http_date() formats t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"). */
void http_date(time_t t, char *buf, size_t size);

/* listing.c: directory listings, HTML (autoindex style) and JSON. */
/* listing_wants_json() tells whether the request asks for JSON (?format=json
 * or Accept: application/json). */
bool listing_wants_json(struct MHD_Connection *conn);
/* listing_serve() answers GET or HEAD of directory dir at path. */
enum MHD_Result listing_serve(struct net *n, struct MHD_Connection *conn,
			      const char *path, const struct store_attr *dir,
			      bool json);

/* mime.c: Content-Type from /etc/mime.types, parsed once. */
const char *mime_type(const char *name);
void mime_init(void);

/* statuspage.c: the /.landing/ page, HTML with inline CSS and script. */
extern const char statuspage_html[];

/* tls.c */
/* tls_start() starts the TLS daemon on cfg's tls_listen when set. */
int tls_start(struct net *n);
void tls_stop(struct net *n);
/* tls_serving() tells whether the calling thread is inside the TLS
 * daemon's access handler (so metrics count its uploads as "tls"). */
bool tls_serving(void);
/* tls_config_check() checks the tls_* options go together; start-up. */
int tls_config_check(const struct net_config *cfg);

/* textbuf.c: bounded text buffers for generated bodies. */
struct textbuf {
	char *tb_data;                /* NUL-terminated once non-empty */
	size_t tb_len, tb_cap;
	size_t tb_max;                /* ceiling on tb_len */
	int tb_err;                   /* first error: -E2BIG, -ENOMEM */
};
void textbuf_init(struct textbuf *b, size_t max);
void textbuf_free(struct textbuf *b);
char *textbuf_take(struct textbuf *b, size_t *len);
int textbuf_error(const struct textbuf *b);
int textbuf_append(struct textbuf *b, const char *s, size_t len);
int textbuf_puts(struct textbuf *b, const char *s);
int textbuf_printf(struct textbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int textbuf_html(struct textbuf *b, const char *s);
int textbuf_json_str(struct textbuf *b, const char *s);
int textbuf_url(struct textbuf *b, const char *s, bool encode_slash);

#endif /* LANDINGFS_NET_INT_H */
