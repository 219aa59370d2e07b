/*
 * config.c - the network options: defaults, parsing, validation, help.
 *
 * Every option is one row of the table below: its key, where it lands in
 * struct net_config, its bounds and its one-line help, so that --help and
 * the parser cannot drift apart. Defaults come from landingfs/limits.h and
 * are set in one place, net_config_new(). Options with their own syntax
 * (listen, digest) are parsed by hand after the table.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind { OPT_UNSIGNED, OPT_U64, OPT_SIZE };

/* A numeric option: an unsigned or a uint64_t member, within [min, max].
 * OPT_SIZE accepts a K, M, G or T suffix (powers of 1024). */
struct num_opt {
	const char *key;
	enum opt_kind kind;
	size_t off;
	uint64_t min, max;
	const char *help;
};

static const struct num_opt num_opts[] = {
	{ "max_upload", OPT_SIZE, offsetof(struct net_config, max_upload), 0,
	  UINT64_MAX / 2, "largest PUT body in bytes, K/M/G/T suffix (413)" },
	{ "max_header", OPT_SIZE, offsetof(struct net_config, max_header), 1024,
	  1024 * 1024, "largest request head in bytes (431)" },
	{ "max_connections", OPT_UNSIGNED,
	  offsetof(struct net_config, max_connections), 1, 1000000,
	  "open client connections (503 beyond)" },
	{ "max_uploads", OPT_UNSIGNED, offsetof(struct net_config, max_uploads),
	  1, 100000, "concurrent upload bodies (503 with Retry-After beyond)" },
	{ "idle_timeout", OPT_UNSIGNED,
	  offsetof(struct net_config, idle_timeout), 1, 86400,
	  "seconds a connection may stay silent" },
	{ "min_rate", OPT_SIZE, offsetof(struct net_config, min_rate), 0,
	  UINT64_MAX / 2, "slowest body in bytes/s, averaged (0: off)" },
	{ "min_rate_grace", OPT_UNSIGNED,
	  offsetof(struct net_config, min_rate_grace), 0, 86400,
	  "seconds of a body before min_rate applies" },
	{ "workers", OPT_UNSIGNED, offsetof(struct net_config, workers), 1, 64,
	  "splice worker threads" },
	{ "pipes", OPT_UNSIGNED, offsetof(struct net_config, pipes), 1, 1024,
	  "pipes in the shared splice pool" },
	{ "mhd_threads", OPT_UNSIGNED, offsetof(struct net_config, mhd_threads),
	  1, 64, "libmicrohttpd threads for non-PUT requests" },
	{ "drain", OPT_UNSIGNED, offsetof(struct net_config, drain), 0, 86400,
	  "seconds a stop waits for uploads in flight (0: none)" },
	{ "min_free", OPT_SIZE, offsetof(struct net_config, min_free), 0,
	  UINT64_MAX / 2, "bytes uploads leave free on the store's disk (507; 0: off)" },
};

/*
 * net_config_new() makes a configuration holding every default. Returns 0
 * and *out, or -ENOMEM.
 */
int net_config_new(struct net_config **out)
{
	struct net_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return -ENOMEM;
	cfg->max_upload = LF_NET_MAX_UPLOAD;
	cfg->max_header = LF_NET_MAX_HEADER;
	cfg->max_connections = LF_NET_MAX_CONNECTIONS;
	cfg->max_uploads = LF_NET_MAX_UPLOADS;
	cfg->idle_timeout = LF_NET_IDLE_TIMEOUT;
	cfg->min_rate = LF_NET_MIN_RATE;
	cfg->min_rate_grace = LF_NET_MIN_RATE_GRACE;
	cfg->workers = LF_NET_WORKERS;
	cfg->pipes = LF_NET_PIPES;
	cfg->mhd_threads = 2;
	cfg->drain = LF_NET_DRAIN;
	cfg->digest_sha256 = false;
	*out = cfg;
	return 0;
}

/* net_config_free() frees cfg and what it holds. Accepts NULL; clears *cfg. */
void net_config_free(struct net_config **cfg)
{
	if (cfg == NULL || *cfg == NULL)
		return;
	for (int i = 0; i < (*cfg)->nlisten; i++)
		free((*cfg)->listen[i]);
	/* auth.c, tls.c */
	free((*cfg)->token_file);
	free((*cfg)->tls_listen);
	free((*cfg)->tls_cert);
	free((*cfg)->tls_key);
	free(*cfg);
	*cfg = NULL;
}

/* parse_num() reads a decimal number with an optional size suffix. */
static int parse_num(const char *value, bool suffix, uint64_t *out)
{
	unsigned long long v;
	char *end;
	unsigned shift = 0;

	if (value == NULL || *value < '0' || *value > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno != 0)
		return -EINVAL;
	if (suffix && *end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return -EINVAL;
		}
		end++;
	}
	if (*end != '\0')
		return -EINVAL;
	if (shift != 0 && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* is_unsigned() tells whether o's member is an unsigned, not a uint64_t. */
static bool is_unsigned(const struct num_opt *o)
{
	return o->kind == OPT_UNSIGNED ||
	       (o->kind == OPT_SIZE && o->max <= UINT32_MAX);
}

static int set_num(struct net_config *cfg, const struct num_opt *o,
		   const char *value)
{
	uint64_t v;
	char *p = (char *)cfg + o->off;

	if (parse_num(value, o->kind == OPT_SIZE, &v) < 0 || v < o->min ||
	    v > o->max) {
		lf_warnx("%s: needs a number from %" PRIu64 " to %" PRIu64
			 "%s", o->key, o->min, o->max,
			 o->kind == OPT_SIZE ? " (K/M/G/T suffix allowed)" : "");
		return -EINVAL;
	}
	if (is_unsigned(o))
		*(unsigned *)(void *)p = (unsigned)v;
	else
		*(uint64_t *)(void *)p = v;
	return 0;
}

/* get_num() reads the member o describes. */
static uint64_t get_num(const struct net_config *cfg, const struct num_opt *o)
{
	const char *p = (const char *)cfg + o->off;

	if (is_unsigned(o))
		return *(const unsigned *)(const void *)p;
	return *(const uint64_t *)(const void *)p;
}

/*
 * net_config_set() applies one option (value NULL for a flag). Returns 0,
 * -ENOENT when key is not a network option, -EINVAL after one log line.
 */
int net_config_set(struct net_config *cfg, const char *key, const char *value)
{
	for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++) {
		if (strcmp(key, num_opts[i].key) == 0)
			return set_num(cfg, &num_opts[i], value);
	}
	/* auth.c and tls.c: tokens, the public-listener guard, TLS. */
	if (strcmp(key, "insecure") == 0) {
		cfg->insecure = true;
		return 0;
	}
	if (strcmp(key, "token_file") == 0 || strcmp(key, "tls_listen") == 0 ||
	    strcmp(key, "tls_cert") == 0 || strcmp(key, "tls_key") == 0) {
		char **slot = strcmp(key, "token_file") == 0 ? &cfg->token_file :
			      strcmp(key, "tls_listen") == 0 ? &cfg->tls_listen :
			      strcmp(key, "tls_cert") == 0 ? &cfg->tls_cert :
							     &cfg->tls_key;

		if (value == NULL || *value == '\0') {
			lf_warnx("%s: needs a value", key);
			return -EINVAL;
		}
		free(*slot);
		*slot = strdup(value);
		return *slot != NULL ? 0 : -ENOMEM;
	}
	if (strcmp(key, "listen") == 0) {
		if (value == NULL || *value == '\0') {
			lf_warnx("listen: needs ADDR:PORT or none");
			return -EINVAL;
		}
		if (strcmp(value, "none") == 0) {
			cfg->no_listen = true;
			return 0;
		}
		if (cfg->nlisten == NET_MAX_LISTEN) {
			lf_warnx("listen: at most %d listeners", NET_MAX_LISTEN);
			return -EINVAL;
		}
		cfg->listen[cfg->nlisten] = strdup(value);
		if (cfg->listen[cfg->nlisten] == NULL)
			return -ENOMEM;
		cfg->nlisten++;
		return 0;
	}
	if (strcmp(key, "digest") == 0) {
		if (value != NULL && strcmp(value, "sha256") == 0)
			cfg->digest_sha256 = true;
		else if (value != NULL && strcmp(value, "none") == 0)
			cfg->digest_sha256 = false;
		else {
			lf_warnx("digest: needs sha256 or none");
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "publish") == 0) {
		if (value != NULL && strcmp(value, "mount") == 0)
			cfg->publish_direct = false;
		else if (value != NULL && strcmp(value, "store") == 0)
			cfg->publish_direct = true;
		else {
			lf_warnx("publish: needs mount or store");
			return -EINVAL;
		}
		return 0;
	}
	return -ENOENT;
}

/* net_config_help() prints the network options, one per line, each
 * numeric one with its default. */
void net_config_help(FILE *out)
{
	struct net_config *def = NULL;

	fprintf(out,
		"    -o listen=ADDR:PORT    HTTP listener (default %s; [v6]:PORT;"
		" repeat for more; none: no HTTP)\n",
		NET_DEFAULT_LISTEN);
	(void)net_config_new(&def);
	for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++) {
		fprintf(out, "    -o %s=N%*s%s", num_opts[i].key,
			(int)(19 - strlen(num_opts[i].key)), "",
			num_opts[i].help);
		if (def != NULL)
			fprintf(out, " (default %" PRIu64 ")",
				get_num(def, &num_opts[i]));
		fputc('\n', out);
	}
	net_config_free(&def);
	fprintf(out,
		"    -o digest=sha256|none  compute every upload's sha-256 while"
		" it lands (default none: only when the client sends or asks"
		" for a digest)\n"
		"    -o publish=mount|store publish uploads by a rename through"
		" the mount, so inotify watchers see them (default mount), or"
		" in the store only\n");
	/* auth.c, tls.c */
	fprintf(out,
		"    -o token_file=PATH     bearer tokens with scopes and path"
		" prefixes (see README); re-read on SIGHUP\n"
		"    -o insecure            allow a non-loopback listener"
		" without a token file\n"
		"    -o tls_listen=ADDR:PORT HTTPS listener (needs tls_cert"
		" and tls_key)\n"
		"    -o tls_cert=PATH       PEM certificate chain for"
		" tls_listen\n"
		"    -o tls_key=PATH        PEM private key for tls_listen\n");
}

/* net_config_check() validates the configuration at start-up: returns 0
 * or -EINVAL after one log line per problem. */
int net_config_check(const struct net_config *cfg)
{
	int rc = 0;

	if (cfg->no_listen && cfg->nlisten > 0) {
		lf_warnx("listen=none given together with listeners");
		rc = -EINVAL;
	}
	/* auth.c, tls.c: no public listener without tokens; TLS options. */
	if (auth_config_check(cfg) < 0)
		rc = -EINVAL;
	if (tls_config_check(cfg) < 0)
		rc = -EINVAL;
	return rc;
}
