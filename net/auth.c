/*
 * auth.c - bearer tokens: the token file, and the one Authorization check
 * that both HTTP paths (the splice path and libmicrohttpd) call.
 *
 * The token file (-o token_file=PATH) is line-oriented:
 *
 *   # comment lines start with '#'; blank lines are ignored
 *   # TOKEN                              SCOPES             PREFIX
 *   Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA      read,write         /incoming
 *   sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  all  /
 *   mon-2b7e151628aed2a6abf7158809cf    read               /.landing
 *
 * TOKEN is what clients send in "Authorization: Bearer TOKEN": 16 to 512
 * characters of A-Z a-z 0-9 - . _ ~ + / followed by optional '=' (RFC 6750's
 * b64token), or "sha256:" and the 64 hex digits of its SHA-256, so that the
 * file need not hold the secret itself. SCOPES is a comma-separated list of
 * read (GET, HEAD, listings), write (PUT, MKCOL, MOVE's destination),
 * delete (DELETE, MOVE's source) or all. PREFIX is the directory the token
 * may act on, from the root: "/" for everything, "/run42" for /run42 and
 * everything below it (not /run42x). "/.landing" grants the monitoring
 * endpoints alone. A token may appear on several lines to grant several
 * prefixes. Errors are reported as "FILE:LINE: why", and a file with any
 * error is refused as a whole (at start-up, or on reload, where the tokens
 * in force stay).
 *
 * Comparison: the presented token is hashed with SHA-256 and the digest is
 * compared with every entry's digest with nettle's memeql_sec, with no
 * early exit, so the time taken says nothing about how much of a token
 * matched.
 */
#include "net_int.h"

#include "landingfs/hex.h"
#include "landingfs/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUTH_MAX_FILE (1024 * 1024) /* bytes in a token file */
#define AUTH_MAX_LINE 4096          /* bytes in one line */
#define AUTH_MAX_TOKENS 10000       /* lines granting a token */
#define AUTH_MIN_TOKEN 16
#define AUTH_MAX_TOKEN 512
#define AUTH_MAX_ERRORS 20          /* error lines logged per file */

struct auth_grant {
	uint8_t ag_hash[SHA256_DIGEST_SIZE];
	unsigned ag_scopes;            /* enum auth_scope bits */
	char *ag_prefix;               /* validated, no leading or trailing '/';
					  "" is the whole tree */
	size_t ag_plen;
};

struct auth {
	char *a_path;                  /* NULL: no tokens, all allowed */
	pthread_rwlock_t a_lock;       /* guards a_grants and a_ngrants */
	struct auth_grant *a_grants;
	size_t a_ngrants;
};

static void grants_free(struct auth_grant *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(g[i].ag_prefix);
	free(g);
}

static bool b64token_char(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
	       c == '+' || c == '/';
}

/* token_valid() tells whether tok[0..len) is a b64token (RFC 6750). */
static bool token_valid(const char *tok, size_t len)
{
	size_t i = 0;

	while (i < len && b64token_char((unsigned char)tok[i]))
		i++;
	if (i == 0)
		return false;
	while (i < len && tok[i] == '=')
		i++;
	return i == len;
}

static void token_hash(const char *tok, size_t len,
		       uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, (const uint8_t *)tok);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

/* parse_token() fills g->ag_hash from the TOKEN field; *why on error. */
static int parse_token(const char *f, struct auth_grant *g, const char **why)
{
	size_t len = strlen(f);

	if (strncmp(f, "sha256:", 7) == 0) {
		f += 7;
		if (strlen(f) != 2 * SHA256_DIGEST_SIZE) {
			*why = "sha256: needs 64 hex digits";
			return -EINVAL;
		}
		for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++) {
			int hi = lf_hexval((unsigned char)f[2 * i]);
			int lo = lf_hexval((unsigned char)f[2 * i + 1]);

			if (hi < 0 || lo < 0) {
				*why = "sha256: needs 64 hex digits";
				return -EINVAL;
			}
			g->ag_hash[i] = (uint8_t)(hi << 4 | lo);
		}
		return 0;
	}
	if (len < AUTH_MIN_TOKEN || len > AUTH_MAX_TOKEN) {
		*why = "a token has 16 to 512 characters";
		return -EINVAL;
	}
	if (!token_valid(f, len)) {
		*why = "a token is made of A-Z a-z 0-9 - . _ ~ + / and "
		       "trailing =";
		return -EINVAL;
	}
	token_hash(f, len, g->ag_hash);
	return 0;
}

static int parse_scopes(char *f, unsigned *out, const char **why)
{
	char *save = NULL, *w;

	*out = 0;
	for (w = strtok_r(f, ",", &save); w != NULL;
	     w = strtok_r(NULL, ",", &save)) {
		if (strcmp(w, "read") == 0)
			*out |= AUTH_READ;
		else if (strcmp(w, "write") == 0)
			*out |= AUTH_WRITE;
		else if (strcmp(w, "delete") == 0)
			*out |= AUTH_DELETE;
		else if (strcmp(w, "all") == 0)
			*out |= AUTH_READ | AUTH_WRITE | AUTH_DELETE;
		else {
			*why = "unknown scope (read, write, delete or all)";
			return -EINVAL;
		}
	}
	if (*out == 0) {
		*why = "no scope";
		return -EINVAL;
	}
	return 0;
}

/*
 * parse_prefix() validates PREFIX (absolute, no "." or ".." or empty
 * component, no control byte: request paths never hold one, so such a
 * prefix, a stray CR for one, would silently grant nothing) and stores it
 * without its leading and trailing '/'.
 */
static int parse_prefix(const char *f, struct auth_grant *g, const char **why)
{
	const char *p, *c;
	size_t len;

	if (f[0] != '/') {
		*why = "the prefix starts with '/'";
		return -EINVAL;
	}
	for (p = f; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "the prefix has a control character";
			return -EINVAL;
		}
	}
	while (*f == '/')
		f++;
	len = strlen(f);
	while (len > 0 && f[len - 1] == '/')
		len--;
	if (len > LF_MAX_PATH) {
		*why = "the prefix is too long";
		return -EINVAL;
	}
	for (p = f; p < f + len; p = c + 1) {
		c = memchr(p, '/', (size_t)(f + len - p));
		if (c == NULL)
			c = f + len;
		if (c == p || (c - p == 1 && p[0] == '.') ||
		    (c - p == 2 && p[0] == '.' && p[1] == '.')) {
			*why = "the prefix has an empty, '.' or '..' component";
			return -EINVAL;
		}
	}
	g->ag_prefix = strndup(f, len);
	if (g->ag_prefix == NULL)
		return -ENOMEM;
	g->ag_plen = len;
	return 0;
}

/* parse_line() parses one non-blank, non-comment line into g. */
static int parse_line(char *line, struct auth_grant *g, const char **why)
{
	char *save = NULL, *tok, *scopes, *prefix;
	int rc;

	tok = strtok_r(line, " \t", &save);
	scopes = strtok_r(NULL, " \t", &save);
	prefix = strtok_r(NULL, " \t", &save);
	if (tok == NULL || scopes == NULL || prefix == NULL) {
		*why = "expected TOKEN SCOPES PREFIX";
		return -EINVAL;
	}
	if (strtok_r(NULL, " \t", &save) != NULL) {
		*why = "extra field after PREFIX";
		return -EINVAL;
	}
	rc = parse_token(tok, g, why);
	if (rc == 0)
		rc = parse_scopes(scopes, &g->ag_scopes, why);
	if (rc == 0)
		rc = parse_prefix(prefix, g, why);
	return rc;
}

/*
 * auth_parse() parses the text of a token file (len bytes, not necessarily
 * NUL-terminated); name is used in error lines. Returns 0 with the grants
 * (the caller frees them with grants_free), or -EINVAL after logging every
 * error (up to AUTH_MAX_ERRORS) as "name:line: why".
 */
static int auth_parse(const char *name, const char *text, size_t len,
		      struct auth_grant **out, size_t *nout)
{
	struct auth_grant *g = NULL;
	size_t n = 0, cap = 0;
	unsigned lineno = 0, errors = 0;
	const char *p = text, *end = text + len;
	char line[AUTH_MAX_LINE + 1];
	int rc = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((nl != NULL ? nl : end) - p);
		const char *why = NULL;
		char *s;

		lineno++;
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll > AUTH_MAX_LINE) {
			why = "line too long";
		} else if (memchr(p, '\0', ll) != NULL) {
			why = "NUL byte in line";
		} else {
			memcpy(line, p, ll);
			line[ll] = '\0';
			s = line + strspn(line, " \t");
			if (*s == '\0' || *s == '#')
				goto next;
			if (n == AUTH_MAX_TOKENS) {
				why = "too many tokens (at most 10000 lines)";
			} else {
				if (n == cap) {
					size_t nc = cap ? 2 * cap : 16;
					struct auth_grant *ng =
						realloc(g, nc * sizeof(*g));

					if (ng == NULL) {
						rc = -ENOMEM;
						break;
					}
					g = ng;
					cap = nc;
				}
				memset(&g[n], 0, sizeof(g[n]));
				rc = parse_line(s, &g[n], &why);
				if (rc == -ENOMEM)
					break;
				if (rc == 0)
					n++;
				else
					free(g[n].ag_prefix);
				rc = 0;
			}
		}
		if (why != NULL) {
			if (errors < AUTH_MAX_ERRORS)
				lf_warnx("%s:%u: %s", name, lineno, why);
			errors++;
		}
next:
		p = nl != NULL ? nl + 1 : end;
	}
	if (rc == 0 && errors > 0) {
		if (errors > AUTH_MAX_ERRORS)
			lf_warnx("%s: %u more errors", name,
				 errors - AUTH_MAX_ERRORS);
		rc = -EINVAL;
	}
	if (rc < 0) {
		grants_free(g, n);
		return rc;
	}
	*out = g;
	*nout = n;
	return 0;
}

/* auth_load() reads and parses the file at path. */
static int auth_load(const char *path, struct auth_grant **out, size_t *n)
{
	struct stat sb;
	char *text;
	ssize_t got;
	size_t len = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		lf_err(-rc, "token_file %s", path);
		return rc;
	}
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		lf_err(-rc, "token_file %s", path);
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > AUTH_MAX_FILE) {
		lf_warnx("token_file %s: not a regular file of at most %d bytes",
			 path, AUTH_MAX_FILE);
		rc = -EINVAL;
		goto out_close;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO))
		lf_warnx("token_file %s: readable by others (chmod 600)", path);
	text = malloc((size_t)sb.st_size + 1);
	if (text == NULL) {
		rc = -ENOMEM;
		goto out_close;
	}
	while (len < (size_t)sb.st_size) {
		got = read(fd, text + len, (size_t)sb.st_size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			lf_err(-rc, "token_file %s", path);
			goto out_free;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	rc = auth_parse(path, text, len, out, n);
out_free:
	free(text);
out_close:
	close(fd);
	return rc;
}

/*
 * auth_open() reads the token file at path into a new struct auth; path
 * NULL gives one that allows every request. Returns 0 and *out, or -errno
 * after logging what is wrong (FILE:LINE for each bad line). Start-up only.
 */
int auth_open(const char *path, struct auth **out)
{
	struct auth *a = calloc(1, sizeof(*a));
	int rc;

	if (a == NULL)
		return -ENOMEM;
	rc = -pthread_rwlock_init(&a->a_lock, NULL);
	if (rc < 0)
		goto err_free;
	if (path != NULL) {
		a->a_path = strdup(path);
		if (a->a_path == NULL) {
			rc = -ENOMEM;
			goto err_lock;
		}
		rc = auth_load(path, &a->a_grants, &a->a_ngrants);
		if (rc < 0)
			goto err_path;
		if (a->a_ngrants == 0)
			lf_warnx("token_file %s: no tokens; every request "
				 "will be refused", path);
	}
	*out = a;
	return 0;

err_path:
	free(a->a_path);
err_lock:
	pthread_rwlock_destroy(&a->a_lock);
err_free:
	free(a);
	return rc;
}

/*
 * auth_reload() re-reads the token file (SIGHUP) and swaps the new tokens
 * in; on any error the tokens in force stay and the error is returned.
 * Thread-safe; a NULL a or one without a file does nothing.
 */
int auth_reload(struct auth *a)
{
	struct auth_grant *g, *old;
	size_t n, oldn;
	int rc;

	if (a == NULL || a->a_path == NULL)
		return 0;
	rc = auth_load(a->a_path, &g, &n);
	if (rc < 0) {
		lf_warnx("token_file %s: not reloaded; the previous tokens "
			 "stay in force", a->a_path);
		return rc;
	}
	pthread_rwlock_wrlock(&a->a_lock);
	old = a->a_grants;
	oldn = a->a_ngrants;
	a->a_grants = g;
	a->a_ngrants = n;
	pthread_rwlock_unlock(&a->a_lock);
	grants_free(old, oldn);
	lf_log(LOG_NOTICE, "token_file %s: reloaded, %zu grants", a->a_path,
	       n);
	return 0;
}

/* auth_close() frees everything. Accepts NULL; clears *a. */
void auth_close(struct auth **a)
{
	if (a == NULL || *a == NULL)
		return;
	grants_free((*a)->a_grants, (*a)->a_ngrants);
	pthread_rwlock_destroy(&(*a)->a_lock);
	free((*a)->a_path);
	free(*a);
	*a = NULL;
}

/* auth_enabled() tells whether requests need a token. */
bool auth_enabled(const struct auth *a)
{
	return a != NULL && a->a_path != NULL;
}

static bool prefix_covers(const struct auth_grant *g, const char *path)
{
	if (g->ag_plen == 0)
		return true;
	return strncmp(path, g->ag_prefix, g->ag_plen) == 0 &&
	       (path[g->ag_plen] == '\0' || path[g->ag_plen] == '/');
}

/*
 * auth_check() checks an Authorization header value (NULL when absent) for
 * an access of kind need (one or more enum auth_scope bits, all required)
 * to path (validated, no leading '/'; "" is the root). Returns 0, -EACCES
 * (401: missing, malformed or unknown token) or -EPERM (403: a known token
 * whose grants do not cover this access). Thread-safe.
 */
int auth_check(struct auth *a, const char *authorization, const char *path,
	       enum auth_scope need)
{
	uint8_t h[SHA256_DIGEST_SIZE];
	const char *tok;
	size_t len;
	int known = 0, allowed = 0;

	if (!auth_enabled(a))
		return 0;
	if (authorization == NULL)
		return -EACCES;
	tok = authorization + strspn(authorization, " \t");
	if (strncasecmp(tok, "Bearer", 6) != 0 ||
	    (tok[6] != ' ' && tok[6] != '\t'))
		return -EACCES;
	tok += 6;
	tok += strspn(tok, " \t");
	len = strlen(tok);
	while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
		len--;
	if (len == 0 || len > AUTH_MAX_TOKEN || !token_valid(tok, len))
		return -EACCES;
	token_hash(tok, len, h);

	pthread_rwlock_rdlock(&a->a_lock);
	for (size_t i = 0; i < a->a_ngrants; i++) {
		const struct auth_grant *g = &a->a_grants[i];
		int eq = memeql_sec(h, g->ag_hash, sizeof(h)) ? 1 : 0;

		known |= eq;
		if (eq && (g->ag_scopes & (unsigned)need) == (unsigned)need &&
		    prefix_covers(g, path))
			allowed = 1;
	}
	pthread_rwlock_unlock(&a->a_lock);
	if (allowed)
		return 0;
	return known ? -EPERM : -EACCES;
}

/* ---- start-up check: no public listener without tokens ---------------- */

/*
 * listen_host() copies the host part of "ADDR:PORT" or "[V6]:PORT" into
 * host ("" when there is none, as in ":8080").
 */
static int listen_host(const char *spec, char *host, size_t size)
{
	const char *end;
	size_t len;

	if (spec[0] == '[') {
		end = strchr(spec, ']');
		if (end == NULL)
			return -EINVAL;
		spec++;
	} else {
		end = strrchr(spec, ':');
		if (end == NULL)
			end = spec + strlen(spec);
	}
	len = (size_t)(end - spec);
	if (len >= size)
		return -EINVAL;
	memcpy(host, spec, len);
	host[len] = '\0';
	return 0;
}

/*
 * auth_is_loopback() tells whether every address the listener spec names
 * is a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). An empty
 * host, "*", a wildcard or a name that does not resolve counts as public.
 */
bool auth_is_loopback(const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char host[256];
	bool loop = true;

	if (listen_host(spec, host, sizeof(host)) < 0 || host[0] == '\0' ||
	    strcmp(host, "*") == 0)
		return false;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return false;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			const struct sockaddr_in *sa =
				(const struct sockaddr_in *)ai->ai_addr;

			if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
				loop = false;
		} else if (ai->ai_family == AF_INET6) {
			const struct sockaddr_in6 *sa =
				(const struct sockaddr_in6 *)ai->ai_addr;
			const struct in6_addr *a6 = &sa->sin6_addr;

			if (!IN6_IS_ADDR_LOOPBACK(a6) &&
			    !(IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127))
				loop = false;
		} else {
			loop = false;
		}
	}
	freeaddrinfo(res);
	return loop;
}

/*
 * auth_config_check() refuses a listener (plain or TLS) on a non-loopback
 * address unless a token file is configured or -o insecure says to serve
 * without one, and checks that the token file parses. Logs one line per
 * problem; returns 0 or -EINVAL. Start-up only.
 */
int auth_config_check(const struct net_config *cfg)
{
	int rc = 0;

	if (cfg->token_file == NULL && !cfg->insecure) {
		for (int i = 0; i < cfg->nlisten && !cfg->no_listen; i++) {
			if (auth_is_loopback(cfg->listen[i]))
				continue;
			lf_warnx("listen=%s is not a loopback address: give "
				 "-o token_file=PATH, or -o insecure to let "
				 "anyone who can reach it read and write",
				 cfg->listen[i]);
			rc = -EINVAL;
		}
		if (cfg->tls_listen != NULL &&
		    !auth_is_loopback(cfg->tls_listen)) {
			lf_warnx("tls_listen=%s is not a loopback address: give "
				 "-o token_file=PATH, or -o insecure to let "
				 "anyone who can reach it read and write",
				 cfg->tls_listen);
			rc = -EINVAL;
		}
	}
	if (cfg->token_file != NULL) {
		struct auth *a;

		if (auth_open(cfg->token_file, &a) < 0)
			rc = -EINVAL;
		else
			auth_close(&a);
	}
	return rc;
}
