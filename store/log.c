/*
 * log.c - the daemon log and the access log (include/landingfs/log.h).
 *
 * It lives in store/ because store/ is the bottom layer that every program
 * links; it knows nothing of the layers above. Lines go to stderr, or to
 * syslog once lf_log_open() asks for it.
 */
#include "landingfs/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_ident = "landingfs";
static bool log_syslog;
static bool log_debug;
static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/*
 * lf_log_open() chooses the sink. Call it once at start-up, before other
 * threads log.
 */
void lf_log_open(const char *ident, bool use_syslog, bool debug)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_debug = debug;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

bool lf_log_debug(void)
{
	return log_debug;
}

/* lf_vlog() writes one line at level; the whole line goes out in one
 * write so that lines from several threads do not interleave. */
void lf_vlog(int level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (level == LOG_DEBUG && !log_debug)
		return;
	if (log_syslog) {
		vsyslog(level, fmt, ap);
		return;
	}
	n = snprintf(line, sizeof(line), "%s: %s: ", log_ident,
		     level_names[level & 7]);
	if (n < 0)
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void lf_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lf_vlog(level, fmt, ap);
	va_end(ap);
}

static void vlog_err(int level, int err, const char *fmt, va_list ap)
{
	char msg[900];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	lf_log(level, "%s: %s", msg, strerror(err));
}

void lf_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_err(LOG_WARNING, err, fmt, ap);
	va_end(ap);
}

void lf_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_err(LOG_ERR, err, fmt, ap);
	va_end(ap);
}

void lf_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lf_vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void lf_fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_err(LOG_ERR, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void lf_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lf_vlog(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

void lf_access(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_syslog)
		syslog(LOG_INFO, "access: %s", line);
	else
		fprintf(stderr, "access: %s\n", line);
}
