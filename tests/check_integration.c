/*
 * check_integration.c - the integration suite: every script
 * tests/integration/NAME.sh runs as one check test, against the real daemon,
 * a real FUSE mount, real curl and real SQLite files.
 *
 * Each script runs under timeout(1) with the bound from its own
 * "# timeout: SECONDS" line (default 120) and must clean up after itself
 * (tests/integration/lib.sh sets the trap). Its output goes to
 * /tmp/landingfs-itest.PID.NAME.log (PID: the suite's, so that concurrent
 * runs keep apart), removed when it passes; a failing script's log stays
 * and its tail is printed with the failure. LF_ITEST=substring runs only
 * the matching scripts.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SCRIPTS 256
#define DEFAULT_TIMEOUT 120

Suite *integration_suite(void);

static char *scripts[MAX_SCRIPTS];
static int nscripts;
static pid_t suite_pid; /* names the logs of one run */

static const char *src_dir(void)
{
	const char *s = getenv("LF_SRC");

	return s != NULL ? s : ".";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_scripts(void)
{
	char dir[4096];
	const char *filter = getenv("LF_ITEST");
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/integration", src_dir());
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && nscripts < MAX_SCRIPTS) {
		size_t len = strlen(de->d_name);

		if (len < 4 || strcmp(de->d_name + len - 3, ".sh") != 0 ||
		    strcmp(de->d_name, "lib.sh") == 0)
			continue;
		if (filter != NULL && strstr(de->d_name, filter) == NULL)
			continue;
		scripts[nscripts++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(scripts, nscripts, sizeof(scripts[0]), cmp_str);
}

static int script_timeout(const char *path)
{
	char line[256];
	int t = DEFAULT_TIMEOUT;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return t;
	for (int i = 0; i < 20 && fgets(line, sizeof(line), f) != NULL; i++) {
		if (sscanf(line, "# timeout: %d", &t) == 1)
			break;
	}
	fclose(f);
	return t;
}

START_TEST(run_script)
{
	char path[4096], log[4096], cmd[16384];
	const char *name = scripts[_i];
	int status, t;

	snprintf(path, sizeof(path), "%s/tests/integration/%s", src_dir(),
		 name);
	snprintf(log, sizeof(log), "/tmp/landingfs-itest.%ld.%s.log",
		 (long)suite_pid, name);
	t = script_timeout(path);
	snprintf(cmd, sizeof(cmd),
		 "timeout -k 10 %d bash '%s' > '%s' 2>&1 < /dev/null", t, path,
		 log);
	fprintf(stderr, "integration: %s (bound %d s)\n", name, t);
	status = system(cmd);
	if (status == 0)
		unlink(log);
	if (status != 0) {
		snprintf(cmd, sizeof(cmd),
			 "echo '---- %s: last lines of %s'; tail -n 40 '%s' >&2",
			 name, log, log);
		if (system(cmd) != 0)
			fprintf(stderr, "could not show %s\n", log);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s failed (%s %d); log in %s", name,
		      WIFEXITED(status) ? "exit" : "status",
		      WIFEXITED(status) ? WEXITSTATUS(status) : status, log);
}
END_TEST

Suite *integration_suite(void)
{
	Suite *s = suite_create("integration");
	TCase *tc = tcase_create("scripts");

	suite_pid = getpid();
	find_scripts();
	/* Each script is bounded by timeout(1); check's own bound is only a
	 * backstop above the largest of them. */
	tcase_set_timeout(tc, 3600);
	if (nscripts > 0)
		tcase_add_loop_test(tc, run_script, 0, nscripts);
	suite_add_tcase(s, tc);
	return s;
}
