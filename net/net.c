/*
 * net.c - start and stop the network front end.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <errno.h>
#include <stdlib.h>

int net_start(const struct net_config *cfg, struct store *st,
	      const char *mountpoint, struct net **out)
{
	struct net *n;

	(void)mountpoint;
	if (!cfg->no_listen) {
		lf_warnx("the HTTP front end is not built yet; use -o listen=none");
		return -ENOSYS;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->st = st;
	*out = n;
	return 0;
}

void net_reload(struct net *n)
{
	(void)n;
}

void net_stop(struct net **n)
{
	if (n == NULL || *n == NULL)
		return;
	free(*n);
	*n = NULL;
}
