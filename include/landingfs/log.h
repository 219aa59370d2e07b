/*
 * log.h - the daemon log, shared by every layer.
 *
 * Levels are syslog's. Messages go to stderr until lf_log_open() switches
 * them to syslog (a daemon started in the background or as a service).
 * The access log (one line per HTTP request) is separate: lf_access().
 * Every function here is thread-safe.
 */
#ifndef LANDINGFS_LOG_H
#define LANDINGFS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

/* lf_log_open() sends the log to syslog with ident when use_syslog, else to
 * stderr, each line starting "ident: level: "; debug enables LOG_DEBUG
 * lines. ident must outlive the logging (a string literal). */
void lf_log_open(const char *ident, bool use_syslog, bool debug);
/* lf_log_debug() tells whether debug lines are wanted (a cheap check). */
bool lf_log_debug(void);

void lf_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void lf_vlog(int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* lf_warn() appends ": strerror(errno)"; lf_warnx() does not. */
void lf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lf_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* lf_err() is lf_warn() with an explicit positive errno value. */
void lf_err(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* lf_fatal()/lf_fatalx(): start-up only; print and exit(1). */
void lf_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void lf_fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#define lf_debug(...)                                                     \
	do {                                                              \
		if (lf_log_debug())                                       \
			lf_log(LOG_DEBUG, __VA_ARGS__);                   \
	} while (0)

/* lf_access() writes one access-log line (stderr, or syslog LOG_INFO with
 * facility LOG_DAEMON and ident "<ident>-access" when syslog is on). */
void lf_access(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* LANDINGFS_LOG_H */
