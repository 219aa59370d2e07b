/*
 * config.c - the network options: defaults, parsing, validation, help.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NET_DEFAULT_LISTEN "127.0.0.1:8080"

int net_config_new(struct net_config **out)
{
	struct net_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return -ENOMEM;
	*out = cfg;
	return 0;
}

void net_config_free(struct net_config **cfg)
{
	if (cfg == NULL || *cfg == NULL)
		return;
	for (int i = 0; i < (*cfg)->nlisten; i++)
		free((*cfg)->listen[i]);
	free(*cfg);
	*cfg = NULL;
}

int net_config_set(struct net_config *cfg, const char *key, const char *value)
{
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
	return -ENOENT;
}

void net_config_help(FILE *out)
{
	fprintf(out,
		"    -o listen=ADDR:PORT    HTTP listener (default %s; repeat for"
		" more; none: no HTTP)\n",
		NET_DEFAULT_LISTEN);
}

int net_config_check(const struct net_config *cfg)
{
	(void)cfg;
	return 0;
}
