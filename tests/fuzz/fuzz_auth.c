/*
 * fuzz_auth.c - libFuzzer harness for the token-file parser and the
 * Authorization check (net/auth.c).
 *
 * fuzz-sources: net/auth.c net/policy.c
 *
 * Input: a token file. It is handed to auth_open() through a memfd (the
 * parser only reads files); when it is accepted, every first field of its
 * lines is presented as "Bearer FIELD" for each scope on a few paths, and
 * the input's last line as a raw Authorization value. auth_check() must
 * answer 0, -EACCES or -EPERM, and a token the file grants for the whole
 * tree ("/" prefix, scope all) must be allowed. The log calls auth.c makes
 * are formatted here and dropped, so the run stays quiet.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- quiet log: format every message (so ASan checks the arguments) --- */
static void sink(const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
}

void lf_vlog(int level, const char *fmt, va_list ap)
{
	(void)level;
	sink(fmt, ap);
}

#define QUIET(name, ...)                                                  \
	void name(__VA_ARGS__, const char *fmt, ...)                      \
	{                                                                 \
		va_list ap;                                               \
		va_start(ap, fmt);                                        \
		sink(fmt, ap);                                            \
		va_end(ap);                                               \
	}
QUIET(lf_log, int level)
QUIET(lf_err, int err)
void lf_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sink(fmt, ap);
	va_end(ap);
}
void lf_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sink(fmt, ap);
	va_end(ap);
}
void lf_access(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sink(fmt, ap);
	va_end(ap);
}
bool lf_log_debug(void)
{
	return false;
}

static const char *const paths[] = { "", "run42", "run42/x", "run42x",
				      ".landing", "a/b/c" };

static void check_one(struct auth *a, const char *hdr, bool whole_tree)
{
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		for (int need = 1; need <= 7; need++) {
			int rc = auth_check(a, hdr, paths[p],
					    (enum auth_scope)need);

			if (rc != 0 && rc != -EACCES && rc != -EPERM)
				abort();
			if (whole_tree && rc != 0)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth *a = NULL;
	char path[64], *text, *line, *save = NULL, *last;
	int fd, rc;

	fd = memfd_create("tokens", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = auth_open(path, &a);
	close(fd);
	if (rc < 0) {
		if (a != NULL)
			abort();
		return 0;
	}
	text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	/* The last line, raw, as the header value. */
	last = strrchr(text, '\n');
	check_one(a, last != NULL ? last + 1 : text, false);
	check_one(a, NULL, false);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		/* Split as the parser does: on blanks and tabs only. */
		char *fs = NULL, hdr[700];
		char *tok = strtok_r(line, " \t", &fs);
		char *scopes = strtok_r(NULL, " \t", &fs);
		char *prefix = strtok_r(NULL, " \t", &fs);
		char *extra = strtok_r(NULL, " \t", &fs);

		if (tok == NULL || tok[0] == '#' || strlen(tok) > 600 ||
		    strncmp(tok, "sha256:", 7) == 0)
			continue;
		snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
		check_one(a, hdr, scopes != NULL && prefix != NULL &&
				  extra == NULL && strcmp(scopes, "all") == 0 &&
				  prefix[0] == '/' &&
				  strspn(prefix, "/") == strlen(prefix));
	}
	free(text);
	auth_close(&a);
	if (a != NULL)
		abort();
	return 0;
}
