/*
 * landingctl.h - what the files of landingctl share. Prototypes are grouped
 * by the file that defines them.
 *
 *   landingctl.c        main: the subcommand table, --help, opening a store
 *   landingctl_check.c  fsck, gc, stats (offline, on a store directory)
 *   landingctl_dump.c   dump and load (the portable export, format below)
 *   landingctl_json.c   a small JSON reader and writer helpers
 *   landingctl_http.c   uploads: one HTTP/1.1 GET to a running daemon
 *   landingctl_abort.c  abort: a hung mount's FUSE connection
 *
 * Every subcommand returns the process exit status. Errors are reported as
 * one line on stderr, "landingctl: SUBCOMMAND: what failed".
 */
#ifndef LANDINGFS_LANDINGCTL_H
#define LANDINGFS_LANDINGCTL_H

#include "landingfs/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses. fsck follows fsck(8): 0 clean, 1 errors corrected, 4 errors
 * left uncorrected, 8 operational error, 16 usage error. */
#define CTL_OK 0
#define CTL_FIXED 1
#define CTL_PROBLEMS 4
#define CTL_ERROR 8
#define CTL_USAGE 16

/* Ceilings: a manifest line, an HTTP response, nesting of JSON values. */
#define CTL_MAX_LINE (16u << 20)
#define CTL_MAX_RESPONSE (4u << 20)
#define CTL_MAX_DEPTH 32

/* landingctl.c */
/* ctl_err() prints "landingctl: CMD: message" on stderr; ctl_errno() adds
 * ": strerror(err)" (err positive or negative). */
void ctl_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_errno(const char *cmd, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * ctl_open() opens the store in dir for a subcommand and prints the one-line
 * error itself when that fails ("store is in use by a running daemon" for
 * -EBUSY, "not a landingfs store" for a directory without index.db unless
 * create). Returns 0 and *out, or -errno.
 */
int ctl_open(const char *cmd, const char *dir, bool no_recover, bool readonly,
	     bool no_lock, bool create, struct store **out);
/* ctl_wants_help() tells whether argv holds -h or --help. */
bool ctl_wants_help(int argc, char **argv);
/*
 * ctl_walk() calls fn for the root ("" path) and then for every entry of
 * the store, each directory before its contents; path is relative to the
 * root, valid during the call only. A non-zero return from fn stops the
 * walk and is returned; otherwise 0 or a -errno from the store.
 */
typedef int (*ctl_walk_fn)(void *arg, const char *path,
			   const struct store_attr *attr);
int ctl_walk(struct store *st, ctl_walk_fn fn, void *arg);

/* landingctl_check.c */
int cmd_fsck(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_stats(int argc, char **argv);

/* landingctl_dump.c */
int cmd_dump(int argc, char **argv);
int cmd_load(int argc, char **argv);

/* landingctl_http.c */
int cmd_uploads(int argc, char **argv);

/* landingctl_abort.c */
int cmd_abort(int argc, char **argv);

/* landingctl_json.c */
enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER, /* str holds the number's text */
	JSON_STRING, /* str holds the decoded bytes, NUL-terminated */
	JSON_ARRAY,
	JSON_OBJECT,
};

/* One parsed value: members of objects and elements of arrays are the
 * children, linked through next; key is the member name. */
struct json {
	enum json_type type;
	char *key;
	char *str;
	size_t len;
	struct json *child;
	struct json *next;
};

/*
 * json_parse() parses exactly one JSON value in text (len bytes; trailing
 * white space allowed). Nesting is bounded by CTL_MAX_DEPTH. Returns 0 and
 * *out (the caller frees it with json_free()), or -EINVAL with *why set to
 * a static description, or -ENOMEM.
 */
int json_parse(const char *text, size_t len, struct json **out,
	       const char **why);
/* json_free() frees a parsed value. Accepts NULL; clears *j. */
void json_free(struct json **j);
/* json_get() finds member key of an object (NULL when absent or j is not an
 * object). */
const struct json *json_get(const struct json *j, const char *key);
/* json_i64() reads an integral number; -EINVAL when j is not one. */
int json_i64(const struct json *j, int64_t *out);
/* json_put_str() writes bytes as a JSON string, escaping what JSON needs.
 * The bytes must be valid UTF-8 (see utf8_valid()). */
void json_put_str(FILE *f, const char *s, size_t len);
/* utf8_valid() tells whether len bytes at s are well-formed UTF-8. */
bool utf8_valid(const char *s, size_t len);
/* b64_encode() returns a malloc'ed base64 text of len bytes, or NULL. */
char *b64_encode(const void *data, size_t len);
/* b64_decode() decodes base64 text into a malloc'ed buffer (*out, *outlen).
 * Returns 0, -EINVAL for bad text, -ENOMEM. */
int b64_decode(const char *text, size_t len, uint8_t **out, size_t *outlen);
/* hex_encode() writes 2 * len hex digits and a NUL into out. */
void hex_encode(const uint8_t *data, size_t len, char *out);
/* hex_decode() reads exactly 2 * len hex digits; -EINVAL otherwise. */
int hex_decode(const char *text, uint8_t *out, size_t len);

#endif /* LANDINGFS_LANDINGCTL_H */
