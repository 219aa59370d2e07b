/*
 * limits.h - every ceiling landingfs applies, in one place.
 *
 * The defaults below are the values used when an option does not override
 * them; the options are documented in the README and in --help.
 */
#ifndef LANDINGFS_LIMITS_H
#define LANDINGFS_LIMITS_H

/* Names and paths. */
#define LF_MAX_NAME 255        /* bytes in one path component */
#define LF_MAX_PATH 4095       /* bytes in a path relative to the root */
#define LF_MAX_SYMLINK 4095    /* bytes in a symlink target */
#define LF_MAX_XATTR_NAME 255
#define LF_MAX_XATTR_VALUE 65536

/* Store. */
#define LF_STORE_GROUP_MAX 256 /* calls sharing one transaction */

/* FUSE: libfuse 3.14 needs a pipe of max_write + one page; keep it within
 * the default fs.pipe-max-size (1 MiB) so that splicing really happens. */
#define LF_FUSE_MAX_WRITE (1024 * 1024 - 4096)

/* HTTP. */
#define LF_NET_MAX_HEADER 16384              /* request head, bytes (431) */
#define LF_NET_MAX_UPLOAD (64ULL << 30)      /* body bytes (413) */
#define LF_NET_MAX_CONNECTIONS 1024          /* open client connections */
#define LF_NET_MAX_UPLOADS 64                /* concurrent bodies (503) */
#define LF_NET_IDLE_TIMEOUT 30               /* seconds without a byte */
#define LF_NET_MIN_RATE 1024                 /* body bytes/s, averaged */
#define LF_NET_MIN_RATE_GRACE 10             /* seconds before it applies */
#define LF_NET_DRAIN 10                      /* seconds a stop waits for
						uploads in flight */
#define LF_NET_PIPE_SIZE (1024 * 1024)       /* splice pipe, F_SETPIPE_SZ */
#define LF_NET_PIPES 16                      /* pipes in the shared pool */
/* Splice workers. A worker waits out each publish it makes (the store's
 * commit and, by default, the rename through the mount), so the number of
 * workers bounds the publishes in flight: with 8 clients sending 4 KiB
 * bodies, 4 workers left a third of a 2-core machine idle, and 8 served a
 * quarter more uploads a second (16 no more than 8; docs/INGEST.md). */
#define LF_NET_WORKERS 8

#endif /* LANDINGFS_LIMITS_H */
