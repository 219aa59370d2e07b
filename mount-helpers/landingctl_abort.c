/*
 * landingctl_abort.c - abort: cut a hung mount's FUSE connection.
 *
 * A daemon that can no longer answer (stopped, stuck in the kernel, killed
 * together with its connection guardian) leaves a mount on which every
 * access hangs. The kernel's fusectl file system has one directory per
 * FUSE connection, named by the mount's device minor number; writing to
 * its "abort" file fails every request pending on that connection and
 * every later one with ENOTCONN, and lets a stuck daemon exit. This is
 * what the guardian (fs/guardian.c) does when the daemon dies; abort does
 * it by hand, and the systemd unit does it after a stop that had to kill.
 *
 * The mount is found in /proc/self/mountinfo, by text: any stat() of a hung
 * mount point would hang too, so nothing here touches it.
 */
#include "landingctl.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUSECTL "/sys/fs/fuse/connections"

static void abort_usage(FILE *f)
{
	fprintf(f,
		"usage: landingctl abort MOUNTPOINT\n"
		"\n"
		"Abort the FUSE connection of the landingfs mount on MOUNTPOINT:\n"
		"every request waiting on it and every later access fails with\n"
		"'Transport endpoint is not connected', and a daemon stuck on it\n"
		"can exit. For a hung mount; \"fusermount3 -u\" stops a healthy\n"
		"one cleanly. Then unmount with \"fusermount3 -uz MOUNTPOINT\".\n"
		"MOUNTPOINT is matched as written in /proc/self/mountinfo\n"
		"(absolute, or relative to the current directory; symbolic\n"
		"links are not followed, since that would touch the mount).\n");
}

/* unescape() decodes mountinfo's octal escapes (\040 for a space, and so
 * on) in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* absolute() writes arg as an absolute path without "." components,
 * repeated or trailing slashes, resolving ".." textually. Returns 0 or
 * -errno. */
static int absolute(const char *arg, char *out, size_t size)
{
	char buf[PATH_MAX * 2], cwd[PATH_MAX] = "";
	size_t len = 0;
	char *comp, *save = NULL;
	int w;

	if (arg[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL)
		return -errno;
	w = snprintf(buf, sizeof(buf), "%s/%s", cwd, arg);
	if (w < 0 || (size_t)w >= sizeof(buf))
		return -ENAMETOOLONG;
	for (comp = strtok_r(buf, "/", &save); comp != NULL;
	     comp = strtok_r(NULL, "/", &save)) {
		size_t n = strlen(comp);

		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			continue;
		}
		if (len + 1 + n >= size)
			return -ENAMETOOLONG;
		out[len++] = '/';
		memcpy(out + len, comp, n);
		len += n;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

/*
 * find_conn() looks up the FUSE mount on mp (the topmost, when several
 * are stacked) in /proc/self/mountinfo. Returns its device minor number
 * (the fusectl connection) with its type in type, -ENOENT when no FUSE
 * file system is mounted there, or another -errno.
 */
static long find_conn(const char *mp, char *type, size_t tsize)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	long conn = -ENOENT;

	if (f == NULL)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - TYPE ... */
		char *field[5], *save = NULL, *p, *fstype, *dash;
		unsigned maj, min;
		int i;

		dash = strstr(line, " - ");
		if (dash == NULL)
			continue;
		*dash = '\0';
		fstype = strtok_r(dash + 3, " \n", &save);
		if (fstype == NULL || (strcmp(fstype, "fuse") != 0 &&
				       strncmp(fstype, "fuse.", 5) != 0))
			continue;
		save = NULL;
		for (i = 0, p = strtok_r(line, " ", &save); i < 5 && p != NULL;
		     i++, p = strtok_r(NULL, " ", &save))
			field[i] = p;
		if (i < 5 || sscanf(field[2], "%u:%u", &maj, &min) != 2 ||
		    maj != 0)
			continue;
		unescape(field[4]);
		if (strcmp(field[4], mp) == 0) {
			conn = (long)min;
			snprintf(type, tsize, "%s", fstype);
		}
	}
	free(line);
	fclose(f);
	return conn;
}

int cmd_abort(int argc, char **argv)
{
	char mp[PATH_MAX], type[64], path[sizeof(FUSECTL) + 32];
	long conn;
	int fd, rc;

	if (ctl_wants_help(argc, argv)) {
		abort_usage(stdout);
		return CTL_OK;
	}
	if (argc != 2) {
		ctl_err("abort", "needs one MOUNTPOINT (try landingctl abort "
			"--help)");
		return CTL_USAGE;
	}
	rc = absolute(argv[1], mp, sizeof(mp));
	if (rc < 0) {
		ctl_errno("abort", rc, "%s", argv[1]);
		return CTL_USAGE;
	}
	conn = find_conn(mp, type, sizeof(type));
	if (conn == -ENOENT) {
		ctl_err("abort", "%s: no FUSE file system is mounted there", mp);
		return CTL_ERROR;
	}
	if (conn < 0) {
		ctl_errno("abort", (int)conn, "reading /proc/self/mountinfo");
		return CTL_ERROR;
	}
	snprintf(path, sizeof(path), FUSECTL "/%ld/abort", conn);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT &&
	    mount("fusectl", FUSECTL, "fusectl", 0, NULL) == 0)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		ctl_errno("abort", errno, "%s (%s on %s)", path, type, mp);
		return CTL_ERROR;
	}
	rc = write(fd, "1", 1) == 1 ? 0 : -errno;
	close(fd);
	if (rc < 0) {
		ctl_errno("abort", rc, "%s", path);
		return CTL_ERROR;
	}
	printf("aborted the connection of %s (%s, fusectl %ld)\n", mp, type,
	       conn);
	return CTL_OK;
}
