/*
 * fsx.c - random file operations checked against an in-memory model.
 *
 *   fsx [-s SEED] [-n OPS] [-f FILES] [-l MAXLEN] DIR
 *
 * Runs OPS operations (default 5000) chosen by a fixed-seed generator on a
 * few files under DIR (which should be empty): writes at random offsets
 * (holes included), reads compared with the model, truncates up and down,
 * renames (into and out of subdirectories, over other files), unlinks,
 * mkdir, fsync, reopening, stat. Each file may be open while it is unlinked
 * or renamed over; such "ghost" handles must keep reading their old
 * contents. At the end every file and the directory listing are compared
 * with the model. On the first mismatch it prints the recent operations
 * and exits 1. A plain POSIX program: it knows nothing of landingfs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILES 16
#define MAX_GHOSTS 4
#define NDIRS 3
#define HISTORY 32

struct file {
	bool exists;
	char path[64];     /* relative to DIR */
	uint8_t *data;     /* the model contents */
	size_t size;
	int fd;            /* -1 when not open */
};

struct ghost {
	int fd;            /* -1: free */
	uint8_t *data;
	size_t size;
};

static struct file files[MAX_FILES];
static struct ghost ghosts[MAX_GHOSTS];
static bool dir_exists[NDIRS];
static int nfiles = 4;
static size_t maxlen = 1 << 20;
static int dirfd_root = -1;
static uint64_t rng_state;
static char history[HISTORY][160];
static unsigned long opno;

/* xorshift64*: the same sequence for a seed on every machine. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t rnd_below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

static void logop(const char *fmt, ...)
{
	va_list ap;
	char *line = history[opno % HISTORY];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(history[0]), fmt, ap);
	va_end(ap);
}

static void fail(const char *fmt, ...)
{
	va_list ap;
	unsigned long first = opno >= HISTORY ? opno - HISTORY + 1 : 0;

	fprintf(stderr, "fsx: FAIL at op %lu: ", opno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nfsx: recent operations:\n");
	for (unsigned long i = first; i <= opno; i++)
		fprintf(stderr, "  %6lu %s\n", i, history[i % HISTORY]);
	exit(1);
}

static void resize(uint8_t **data, size_t *size, size_t n)
{
	uint8_t *p = realloc(*data, n > 0 ? n : 1);

	if (p == NULL)
		fail("out of memory");
	if (n > *size)
		memset(p + *size, 0, n - *size);
	*data = p;
	*size = n;
}

static void random_path(char *out, size_t size)
{
	size_t d = rnd_below(NDIRS + 1);

	if (d < NDIRS && dir_exists[d])
		snprintf(out, size, "d%zu/f%u", d, (unsigned)rnd_below(1000));
	else
		snprintf(out, size, "f%u", (unsigned)rnd_below(1000));
}

/* The slot holding path, or -1. */
static int slot_of(const char *path)
{
	for (int i = 0; i < nfiles; i++)
		if (files[i].exists && strcmp(files[i].path, path) == 0)
			return i;
	return -1;
}

/* A file goes away (unlinked or renamed over): an open fd becomes a
 * ghost that must keep reading the old contents. */
static void drop_file(struct file *f)
{
	if (f->fd >= 0) {
		struct ghost *g = NULL;

		for (int i = 0; i < MAX_GHOSTS; i++)
			if (ghosts[i].fd < 0)
				g = &ghosts[i];
		if (g == NULL) {
			close(f->fd);
			free(f->data);
		} else {
			g->fd = f->fd;
			g->data = f->data;
			g->size = f->size;
		}
	} else {
		free(f->data);
	}
	f->fd = -1;
	f->data = NULL;
	f->size = 0;
	f->exists = false;
}

static int file_fd(struct file *f)
{
	if (f->fd < 0) {
		f->fd = openat(dirfd_root, f->path, O_RDWR | O_CLOEXEC);
		if (f->fd < 0)
			fail("open %s: %s", f->path, strerror(errno));
	}
	return f->fd;
}

static void check_range(int fd, const uint8_t *data, size_t size, size_t off,
			size_t len, const char *what)
{
	uint8_t *buf = malloc(len + 1);
	size_t want = off >= size ? 0 : (off + len > size ? size - off : len);
	ssize_t n;

	if (buf == NULL)
		fail("out of memory");
	n = pread(fd, buf, len, (off_t)off);
	if (n < 0)
		fail("read %s: %s", what, strerror(errno));
	if ((size_t)n != want)
		fail("read %s at %zu len %zu: got %zd bytes, expected %zu "
		     "(size %zu)", what, off, len, n, want, size);
	for (size_t i = 0; i < want; i++)
		if (buf[i] != data[off + i])
			fail("read %s: byte %zu is 0x%02x, expected 0x%02x",
			     what, off + i, buf[i], data[off + i]);
	free(buf);
}

static void check_size(struct file *f)
{
	struct stat st;

	if (fstatat(dirfd_root, f->path, &st, 0) != 0)
		fail("stat %s: %s", f->path, strerror(errno));
	if ((size_t)st.st_size != f->size)
		fail("stat %s: size %jd, expected %zu", f->path,
		     (intmax_t)st.st_size, f->size);
}

static void op_create(struct file *f)
{
	char path[64];
	int fd;

	random_path(path, sizeof(path));
	if (slot_of(path) >= 0)
		return;
	logop("create %s", path);
	fd = openat(dirfd_root, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
		    0644);
	if (fd < 0)
		fail("create %s: %s", path, strerror(errno));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->exists = true;
	f->data = NULL;
	f->size = 0;
	f->fd = fd;
}

static void op_write(struct file *f)
{
	size_t off = rnd_below(f->size + maxlen / 8);
	size_t len = 1 + rnd_below(rnd_below(4) == 0 ? 256 * 1024 : 8192);
	uint8_t *buf;
	ssize_t n;

	if (off + len > maxlen)
		return;
	buf = malloc(len);
	if (buf == NULL)
		fail("out of memory");
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(rnd() >> 32);
	logop("write %s off %zu len %zu (size %zu)", f->path, off, len,
	      f->size);
	n = pwrite(file_fd(f), buf, len, (off_t)off);
	if (n != (ssize_t)len)
		fail("write %s: %zd: %s", f->path, n, strerror(errno));
	if (off + len > f->size)
		resize(&f->data, &f->size, off + len);
	memcpy(f->data + off, buf, len);
	free(buf);
}

static void op_read(struct file *f)
{
	size_t off = rnd_below(f->size + 4096);
	size_t len = 1 + rnd_below(128 * 1024);

	logop("read %s off %zu len %zu (size %zu)", f->path, off, len,
	      f->size);
	check_range(file_fd(f), f->data, f->size, off, len, f->path);
}

/* Reads through a fresh descriptor: what another process would see. */
static void op_read_fresh(struct file *f)
{
	int fd = openat(dirfd_root, f->path, O_RDONLY | O_CLOEXEC);

	logop("read-fresh %s (size %zu)", f->path, f->size);
	if (fd < 0)
		fail("open %s: %s", f->path, strerror(errno));
	check_range(fd, f->data, f->size, 0, f->size + 1, f->path);
	close(fd);
}

static void op_truncate(struct file *f)
{
	size_t n = rnd_below(2) ? rnd_below(f->size + 1)
				: rnd_below(maxlen / 2);
	int rc;

	logop("truncate %s to %zu (size %zu)", f->path, n, f->size);
	if (rnd_below(2) && f->fd >= 0)
		rc = ftruncate(f->fd, (off_t)n);
	else {
		char full[4200];
		snprintf(full, sizeof(full), "/proc/self/fd/%d/%s",
			 dirfd_root, f->path);
		rc = truncate(full, (off_t)n);
	}
	if (rc != 0)
		fail("truncate %s: %s", f->path, strerror(errno));
	resize(&f->data, &f->size, n);
}

static void op_rename(struct file *f)
{
	char path[64];
	int other;

	random_path(path, sizeof(path));
	if (strcmp(path, f->path) == 0)
		return;
	logop("rename %s -> %s", f->path, path);
	if (renameat(dirfd_root, f->path, dirfd_root, path) != 0)
		fail("rename %s %s: %s", f->path, path, strerror(errno));
	other = slot_of(path);
	if (other >= 0)
		drop_file(&files[other]);
	snprintf(f->path, sizeof(f->path), "%s", path);
}

static void op_unlink(struct file *f)
{
	logop("unlink %s", f->path);
	if (unlinkat(dirfd_root, f->path, 0) != 0)
		fail("unlink %s: %s", f->path, strerror(errno));
	drop_file(f);
}

static void op_close(struct file *f)
{
	logop("close %s", f->path);
	if (f->fd >= 0 && close(f->fd) != 0)
		fail("close %s: %s", f->path, strerror(errno));
	f->fd = -1;
}

static void op_fsync(struct file *f)
{
	logop("fsync %s", f->path);
	if (fsync(file_fd(f)) != 0)
		fail("fsync %s: %s", f->path, strerror(errno));
}

static void op_mkdir(void)
{
	size_t d = rnd_below(NDIRS);
	char name[16];

	if (dir_exists[d])
		return;
	snprintf(name, sizeof(name), "d%zu", d);
	logop("mkdir %s", name);
	if (mkdirat(dirfd_root, name, 0755) != 0)
		fail("mkdir %s: %s", name, strerror(errno));
	dir_exists[d] = true;
}

static void op_ghost(void)
{
	struct ghost *g = &ghosts[rnd_below(MAX_GHOSTS)];

	if (g->fd < 0)
		return;
	if (rnd_below(2)) {
		logop("read ghost fd %d (size %zu)", g->fd, g->size);
		check_range(g->fd, g->data, g->size, 0, g->size + 1, "ghost");
	} else {
		logop("close ghost fd %d", g->fd);
		close(g->fd);
		free(g->data);
		g->fd = -1;
		g->data = NULL;
	}
}

static void one_op(void)
{
	struct file *f = &files[rnd_below((size_t)nfiles)];
	size_t r = rnd_below(100);

	if (r < 3) {
		op_mkdir();
		return;
	}
	if (r < 8) {
		op_ghost();
		return;
	}
	if (!f->exists) {
		op_create(f);
		return;
	}
	if (r < 40)
		op_write(f);
	else if (r < 60)
		op_read(f);
	else if (r < 66)
		op_read_fresh(f);
	else if (r < 74)
		op_truncate(f);
	else if (r < 82)
		op_rename(f);
	else if (r < 86)
		op_unlink(f);
	else if (r < 92)
		op_close(f);
	else if (r < 95)
		op_fsync(f);
	else {
		logop("stat %s", f->path);
		check_size(f);
	}
}

/* Every name under DIR (one level of subdirectories) must be a live file
 * of the model or one of its directories, and every file must be there. */
static void check_listing(void)
{
	int seen = 0, want = 0;

	for (int d = -1; d < NDIRS; d++) {
		char sub[16];
		struct dirent *de;
		DIR *dir;
		int fd;

		if (d >= 0 && !dir_exists[d])
			continue;
		snprintf(sub, sizeof(sub), d < 0 ? "." : "d%d", d);
		fd = openat(dirfd_root, sub,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || (dir = fdopendir(fd)) == NULL)
			fail("opendir %s: %s", sub, strerror(errno));
		while ((de = readdir(dir)) != NULL) {
			char path[300];

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (d < 0 && de->d_name[0] == 'd')
				continue; /* a subdirectory */
			if (d < 0)
				snprintf(path, sizeof(path), "%s", de->d_name);
			else
				snprintf(path, sizeof(path), "%s/%s", sub,
					 de->d_name);
			if (slot_of(path) < 0)
				fail("listing: %s is not in the model", path);
			seen++;
		}
		closedir(dir);
	}
	for (int i = 0; i < nfiles; i++)
		want += files[i].exists;
	if (seen != want)
		fail("listing: %d files, expected %d", seen, want);
}

static void usage(void)
{
	fprintf(stderr, "usage: fsx [-s SEED] [-n OPS] [-f FILES] [-l MAXLEN] "
			"DIR\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	unsigned long long seed = 1;
	unsigned long nops = 5000;
	int c;

	while ((c = getopt(argc, argv, "s:n:f:l:")) != -1) {
		switch (c) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			nops = strtoul(optarg, NULL, 0);
			break;
		case 'f':
			nfiles = atoi(optarg);
			break;
		case 'l':
			maxlen = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || nfiles < 1 || nfiles > MAX_FILES ||
	    maxlen < 4096)
		usage();
	dirfd_root = open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd_root < 0) {
		perror(argv[optind]);
		return 2;
	}
	rng_state = seed * 2654435761ULL + 0x9E3779B97F4A7C15ULL;
	for (int i = 0; i < MAX_FILES; i++)
		files[i].fd = -1;
	for (int i = 0; i < MAX_GHOSTS; i++)
		ghosts[i].fd = -1;
	for (opno = 0; opno < nops; opno++)
		one_op();
	logop("final check");
	for (int i = 0; i < nfiles; i++) {
		if (!files[i].exists)
			continue;
		check_size(&files[i]);
		check_range(file_fd(&files[i]), files[i].data, files[i].size, 0,
			    files[i].size + 1, files[i].path);
		op_read_fresh(&files[i]);
		close(files[i].fd);
		files[i].fd = -1;
	}
	for (int i = 0; i < MAX_GHOSTS; i++) {
		if (ghosts[i].fd < 0)
			continue;
		check_range(ghosts[i].fd, ghosts[i].data, ghosts[i].size, 0,
			    ghosts[i].size + 1, "ghost");
		close(ghosts[i].fd);
	}
	check_listing();
	printf("fsx: %lu operations, seed %llu: all checks passed\n", nops,
	       seed);
	return 0;
}
