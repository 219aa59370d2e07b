/*
 * check_net_auth.c - the token file parser and auth_check() (net/auth.c),
 * driven directly, without sockets.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../net/net_int.h"

Suite *net_auth_suite(void);

#define TOK_RW "rw-token-0123456789abcdef"
#define TOK_RO "ro-token-0123456789abcdef"
#define TOK_DEL "del-token-0123456789abcdef"
#define TOK_MON "mon-token-0123456789abcdef"
/* sha256("hashed-token-0123456789") */
#define TOK_HASHED "hashed-token-0123456789"

static char tmp_path[64];
static char err_path[64];

/* write_tokens() writes text to a fresh 0600 file and returns its path. */
static const char *write_tokens(const char *text)
{
	int fd;

	strcpy(tmp_path, "/tmp/check-auth-XXXXXX");
	fd = mkstemp(tmp_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return tmp_path;
}

/* capture_stderr() sends stderr to a file, to check the error lines. */
static void capture_stderr(void)
{
	int fd;

	strcpy(err_path, "/tmp/check-auth-err-XXXXXX");
	fd = mkstemp(err_path);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	ck_assert_int_ge(dup2(fd, 2), 0);
	close(fd);
}

static char *captured(void)
{
	static char buf[8192];
	FILE *f;
	size_t n;

	fflush(stderr);
	f = fopen(err_path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void teardown(void)
{
	if (tmp_path[0] != '\0')
		unlink(tmp_path);
	if (err_path[0] != '\0')
		unlink(err_path);
}

static const char good_file[] =
	"# landingfs tokens\n"
	"\n"
	"   # indented comment\n"
	TOK_RW "  read,write  /incoming\n"
	TOK_RO "\tread\t/\n"
	TOK_DEL " delete,read /incoming/tmp/\r\n"
	TOK_MON " read /.landing\n"
	"sha256:1e3e6e3b3ad70b7eae0b2b0c6e0d1d54f1cb0e9a3c70de19f5a2d7e2c7f46f3c"
	" all /\n"
	"\t\n";

START_TEST(no_file_allows_everything)
{
	struct auth *a;

	ck_assert_int_eq(auth_open(NULL, &a), 0);
	ck_assert(!auth_enabled(a));
	ck_assert_int_eq(auth_check(a, NULL, "x/y", AUTH_WRITE), 0);
	ck_assert_int_eq(auth_check(a, "Bearer nonsense", "", AUTH_DELETE), 0);
	auth_close(&a);
	ck_assert_ptr_null(a);
	auth_close(&a);
	auth_close(NULL);
}
END_TEST

START_TEST(scopes_and_prefixes)
{
	struct auth *a;

	ck_assert_int_eq(auth_open(write_tokens(good_file), &a), 0);
	ck_assert(auth_enabled(a));

	/* Missing, malformed and unknown tokens: 401. */
	ck_assert_int_eq(auth_check(a, NULL, "incoming/a", AUTH_READ),
			 -EACCES);
	ck_assert_int_eq(auth_check(a, "Basic " TOK_RW, "incoming/a",
				    AUTH_READ), -EACCES);
	ck_assert_int_eq(auth_check(a, "Bearer", "incoming/a", AUTH_READ),
			 -EACCES);
	ck_assert_int_eq(auth_check(a, "Bearer wrong-token-0123456789abcdef",
				    "incoming/a", AUTH_READ), -EACCES);
	/* One character off at the end. */
	ck_assert_int_eq(auth_check(a, "Bearer rw-token-0123456789abcdeg",
				    "incoming/a", AUTH_READ), -EACCES);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RW "x", "incoming/a",
				    AUTH_READ), -EACCES);

	/* read,write under /incoming. */
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RW, "incoming/a",
				    AUTH_WRITE), 0);
	ck_assert_int_eq(auth_check(a, "bearer  " TOK_RW "  ", "incoming",
				    AUTH_READ), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RW, "incoming/a/b/c",
				    AUTH_READ | AUTH_WRITE), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RW, "incoming/a",
				    AUTH_DELETE), -EPERM);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RW, "incomingx/a",
				    AUTH_WRITE), -EPERM);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RW, "", AUTH_READ),
			 -EPERM);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RW, "other", AUTH_READ),
			 -EPERM);

	/* read everywhere, nothing else. */
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RO, "", AUTH_READ), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RO, "any/where",
				    AUTH_READ), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RO, ".landing",
				    AUTH_READ), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RO, "any", AUTH_WRITE),
			 -EPERM);

	/* delete under /incoming/tmp (trailing '/' in the file). */
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_DEL, "incoming/tmp/x",
				    AUTH_DELETE), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_DEL, "incoming/x",
				    AUTH_DELETE), -EPERM);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_DEL, "incoming/tmp",
				    AUTH_WRITE), -EPERM);

	/* Monitoring only. */
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_MON, ".landing",
				    AUTH_READ), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_MON, ".landing/metrics",
				    AUTH_READ), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_MON, "incoming",
				    AUTH_READ), -EPERM);
	auth_close(&a);
}
END_TEST

START_TEST(hashed_token)
{
	char line[256];
	struct auth *a;

	/* The digest of TOK_HASHED, computed here so that the file is right
	 * whatever the constant above says. */
	FILE *p = popen("printf %s '" TOK_HASHED "' | sha256sum", "r");

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	pclose(p);
	line[64] = '\0';
	{
		char file[512];

		snprintf(file, sizeof(file), "sha256:%s write /up\n", line);
		ck_assert_int_eq(auth_open(write_tokens(file), &a), 0);
	}
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_HASHED, "up/f",
				    AUTH_WRITE), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_HASHED, "up/f",
				    AUTH_READ), -EPERM);
	/* The hash itself is not a token. */
	{
		char hdr[300];

		snprintf(hdr, sizeof(hdr), "Bearer %s", line);
		ck_assert_int_eq(auth_check(a, hdr, "up/f", AUTH_WRITE),
				 -EACCES);
	}
	auth_close(&a);
}
END_TEST

START_TEST(errors_name_file_and_line)
{
	static const char bad[] =
		"# ok so far\n"
		TOK_RW " read /\n"
		"short read /\n"                            /* 3 */
		TOK_RO " read,fly /\n"                      /* 4 */
		TOK_RO " read relative\n"                   /* 5 */
		TOK_RO " read /a/../b\n"                    /* 6 */
		TOK_RO " read\n"                            /* 7 */
		TOK_RO " read / extra\n"                    /* 8 */
		"sha256:abcd read /\n"                      /* 9 */
		"bad\"token-0123456789abcdef read /\n"      /* 10 */
		TOK_RO " , /\n";                            /* 11 */
	struct auth *a = NULL;
	const char *path = write_tokens(bad);
	char want[128], *out;

	capture_stderr();
	ck_assert_int_eq(auth_open(path, &a), -EINVAL);
	ck_assert_ptr_null(a);
	out = captured();
	for (int line = 3; line <= 11; line++) {
		snprintf(want, sizeof(want), "%s:%d: ", path, line);
		ck_assert_msg(strstr(out, want) != NULL, "no error for %s in:\n%s",
			      want, out);
	}
	snprintf(want, sizeof(want), "%s:2: ", path);
	ck_assert_msg(strstr(out, want) == NULL, "line 2 is good:\n%s", out);
	ck_assert(strstr(out, "unknown scope") != NULL);
	ck_assert(strstr(out, "16 to 512") != NULL);
}
END_TEST

START_TEST(missing_file)
{
	struct auth *a = NULL;

	capture_stderr();
	ck_assert_int_eq(auth_open("/nonexistent/tokens", &a), -ENOENT);
	ck_assert_ptr_null(a);
	ck_assert(strstr(captured(), "/nonexistent/tokens") != NULL);
}
END_TEST

START_TEST(reload_keeps_old_on_error)
{
	struct auth *a;
	const char *path = write_tokens(TOK_RW " read /\n");
	FILE *f;

	ck_assert_int_eq(auth_open(path, &a), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RW, "x", AUTH_READ), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RO, "x", AUTH_READ),
			 -EACCES);

	/* A good new file replaces the tokens. */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(TOK_RO " read /\n", f);
	fclose(f);
	ck_assert_int_eq(auth_reload(a), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RO, "x", AUTH_READ), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RW, "x", AUTH_READ),
			 -EACCES);

	/* A bad one leaves them as they were. */
	capture_stderr();
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(TOK_RW " read,nope /\n", f);
	fclose(f);
	ck_assert_int_eq(auth_reload(a), -EINVAL);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RO, "x", AUTH_READ), 0);
	ck_assert_int_eq(auth_check(a, "Bearer " TOK_RW, "x", AUTH_READ),
			 -EACCES);
	ck_assert(strstr(captured(), ":1: unknown scope") != NULL);
	auth_close(&a);
}
END_TEST

START_TEST(loopback_and_config_check)
{
	struct net_config cfg;

	ck_assert(auth_is_loopback("127.0.0.1:8080"));
	ck_assert(auth_is_loopback("127.1.2.3:1"));
	ck_assert(auth_is_loopback("[::1]:8080"));
	ck_assert(auth_is_loopback("localhost:8080"));
	ck_assert(!auth_is_loopback("0.0.0.0:8080"));
	ck_assert(!auth_is_loopback("[::]:8080"));
	ck_assert(!auth_is_loopback(":8080"));
	ck_assert(!auth_is_loopback("192.0.2.1:8080"));
	ck_assert(!auth_is_loopback("[2001:db8::1]:443"));

	memset(&cfg, 0, sizeof(cfg));
	cfg.listen[0] = "127.0.0.1:8080";
	cfg.nlisten = 1;
	ck_assert_int_eq(auth_config_check(&cfg), 0);

	capture_stderr();
	cfg.listen[1] = "0.0.0.0:8080";
	cfg.nlisten = 2;
	ck_assert_int_eq(auth_config_check(&cfg), -EINVAL);
	ck_assert(strstr(captured(), "-o insecure") != NULL);
	cfg.insecure = true;
	ck_assert_int_eq(auth_config_check(&cfg), 0);
	cfg.insecure = false;
	cfg.token_file = (char *)write_tokens(TOK_RW " all /\n");
	ck_assert_int_eq(auth_config_check(&cfg), 0);

	cfg.token_file = NULL;
	cfg.nlisten = 1;
	cfg.tls_listen = "[::]:8443";
	ck_assert_int_eq(auth_config_check(&cfg), -EINVAL);
}
END_TEST

Suite *net_auth_suite(void)
{
	Suite *s = suite_create("net_auth");
	TCase *tc = tcase_create("tokens");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, no_file_allows_everything);
	tcase_add_test(tc, scopes_and_prefixes);
	tcase_add_test(tc, hashed_token);
	tcase_add_test(tc, errors_name_file_and_line);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, reload_keeps_old_on_error);
	tcase_add_test(tc, loopback_and_config_check);
	suite_add_tcase(s, tc);
	return s;
}
