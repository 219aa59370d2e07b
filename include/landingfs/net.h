/*
 * net.h - the network front end, as the daemon's main sees it.
 *
 * net/ serves HTTP on its listeners: PUT bodies are spliced from the socket
 * into staging blobs and published into the store; every other request is
 * served by libmicrohttpd. It knows the store (include/landingfs/store.h)
 * and the mount point's path, never the FUSE layer.
 *
 * Configuration comes as key=value pairs (the daemon's -o options that the
 * FUSE layer does not claim), so the daemon parses one option string and
 * mount.landingfs and /etc/fstab pass network options like any other.
 */
#ifndef LANDINGFS_NET_H
#define LANDINGFS_NET_H

#include <stdbool.h>
#include <stdio.h>

struct store;
struct net;
struct net_config;

/* net_config_new() makes a configuration holding every default. */
int net_config_new(struct net_config **out);
/* Accepts NULL; clears *cfg. */
void net_config_free(struct net_config **cfg);

/*
 * net_config_set() applies one option. value is NULL for a flag without
 * '='. Returns 0, -ENOENT when key is not a network option (the caller then
 * reports it as unknown), or -EINVAL after logging one line saying why the
 * value is bad.
 */
int net_config_set(struct net_config *cfg, const char *key, const char *value);

/* net_config_help() prints the network options, one per line, for --help. */
void net_config_help(FILE *out);

/*
 * net_config_check() validates the whole configuration at start-up (for
 * example a public listener without a token file), logging one line per
 * problem. Returns 0 or -EINVAL.
 */
int net_config_check(const struct net_config *cfg);

/*
 * net_start() opens the listeners and starts serving. mountpoint is the
 * path of the mounted landing directory: the publish step renames through
 * it so that inotify watchers see each upload (NULL: publish in the store
 * only). The store must outlive the net. Returns 0 and *out, or -errno after
 * logging one line (for example -EADDRINUSE). Start-up only.
 */
int net_start(const struct net_config *cfg, struct store *st,
	      const char *mountpoint, struct net **out);

/* net_reload() re-reads the token file (SIGHUP). Thread-safe. */
void net_reload(struct net *n);

/*
 * net_drain() lets the uploads in flight finish before a stop (the drain=
 * option bounds the wait): from its call on, a new upload is refused (503
 * with Retry-After) and the answer to every upload closes its connection;
 * other requests are still served. It returns once no upload is in flight, the
 * time is up or net_drain_abort() was called, with the number still in
 * flight (net_stop() discards them). Any thread; net_drain_abort() too.
 */
unsigned net_drain(struct net *n);
void net_drain_abort(struct net *n);

/*
 * net_stop() stops accepting, aborts in-flight uploads (nothing half-done
 * is published) and frees everything. Accepts NULL; clears *n.
 */
void net_stop(struct net **n);

#endif /* LANDINGFS_NET_H */
