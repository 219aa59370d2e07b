/*
 * fs.h - the FUSE layer, as the daemon's main sees it.
 *
 * fs/ serves a landing directory over the store (include/landingfs/store.h)
 * with the libfuse low-level API. It knows the store, never the network
 * side. The daemon creates the session with fs_new(), mounts it with
 * fs_mount(), runs fs_loop() until the file system is unmounted or
 * fs_exit() is called, then fs_unmount() and fs_free().
 *
 * Changes made behind the kernel's back (the network side publishing into
 * the store) reach the kernel through fs_invalidate(), which the daemon
 * calls from the store's change hook.
 */
#ifndef LANDINGFS_FS_H
#define LANDINGFS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fuse_opt.h>

struct store;
struct store_change;
struct fs;

/*
 * The FUSE layer's options: the daemon fills them from its -o table
 * (fs_opts_init() sets every default first).
 */
struct fs_opts {
	double entry_timeout;    /* entry_timeout=SECONDS (default 1.0) */
	double attr_timeout;     /* attr_timeout=SECONDS (default 1.0) */
	double negative_timeout; /* negative_timeout=SECONDS (default 0) */
	int readonly;            /* ro */
	int passthrough;         /* passthrough / no_passthrough (default on) */
	int max_threads;         /* max_threads=N FUSE workers (default 10) */
	int debug;               /* -d: debug lines, splice counters */
};

/* fs_opts_init() fills o with every default. */
void fs_opts_init(struct fs_opts *o);

/*
 * fs_new() creates the FUSE session over st with the libfuse options in
 * args (mount options such as allow_other, fsname=; args is borrowed) and
 * starts the notifier thread. The store must outlive the fs. Returns 0 and
 * *out, or -errno after logging one line. Start-up only.
 */
int fs_new(struct store *st, const struct fs_opts *opts, struct fuse_args *args,
	   struct fs **out);

/* fs_mount() mounts the session on mountpoint. Returns 0 or -errno after
 * logging one line (for example a busy or missing mount point). */
int fs_mount(struct fs *fs, const char *mountpoint);

/*
 * fs_loop() serves requests with a pool of worker threads until the file
 * system is unmounted or fs_exit() is called. Returns 0 or -errno. Call it
 * from the main thread; SIGINT/SIGTERM handlers may call fs_exit().
 */
int fs_loop(struct fs *fs);

/* fs_exit() asks fs_loop() to return. Async-signal-safe. */
void fs_exit(struct fs *fs);

/* fs_unmount() unmounts (if still mounted) and aborts the kernel
 * connection, so that no request waits on the daemon any more. */
void fs_unmount(struct fs *fs);

/*
 * fs_free() stops the notifier thread, closes the blobs of handles the
 * kernel never released (a lazy unmount), logs the splice counters with
 * -d, and destroys the session. Accepts NULL; clears *fs. Call it before
 * store_close().
 */
void fs_free(struct fs **fs);

/*
 * fs_invalidate() queues changes committed to the store so that the
 * notifier thread drops the kernel's cached entries and attributes for
 * them. Changes of origin STORE_ORIGIN_LOCAL (made through the mount) are
 * ignored: the kernel already knows. It never blocks on the kernel, so it
 * may be called from the store's change hook (the writer thread). Names
 * are copied. Thread-safe.
 */
void fs_invalidate(struct fs *fs, const struct store_change *chg, size_t n);

/* Counters of write_buf calls by the kind of buffer libfuse handed in. */
struct fs_counters {
	uint64_t splice_writes; /* pipe-backed (FUSE_BUF_IS_FD) */
	uint64_t splice_bytes;
	uint64_t memory_writes; /* read into memory by libfuse */
	uint64_t memory_bytes;
};

/* fs_counters() reads the counters. Thread-safe. */
void fs_counters(const struct fs *fs, struct fs_counters *out);

#endif /* LANDINGFS_FS_H */
