/*
 * status.c - the one table from a negative errno value to an HTTP status
 * and a one-line reason. Both HTTP paths (the front door's splice path and
 * libmicrohttpd) answer store and system errors through it, so one error
 * reads the same whichever way the request came.
 */
#include "net_int.h"

#include <errno.h>

static const struct {
	int err;
	int code;
	const char *reason;
} table[] = {
	{ ENOENT, 404, "no such file or directory" },
	{ EEXIST, 409, "the name already exists" },
	{ EISDIR, 409, "the path is a directory" },
	{ ENOTDIR, 409, "a parent in the path is not a directory" },
	{ ENOTEMPTY, 409, "the directory is not empty" },
	{ EINVAL, 400, "invalid request" },
	{ ENAMETOOLONG, 400, "name or path too long" },
	{ EBADMSG, 400, "digest mismatch: the body does not match the digest sent" },
	{ EPROTO, 400, "malformed request" },
	/* Auth refusals are answered where auth_check() is called (401,
	 * 403); these come from the store's own files: a server fault. */
	{ EACCES, 500, "the store's files cannot be accessed (permission denied)" },
	{ EPERM, 500, "the store's files cannot be changed (operation not permitted)" },
	{ EROFS, 403, "the store is read-only" },
	{ ESTALE, 412, "precondition failed: the file has changed" },
	{ EFBIG, 413, "the body is larger than the configured maximum" },
	{ EMSGSIZE, 431, "request header section too large" },
	{ ETIMEDOUT, 408, "request timed out" },
	{ ENOSPC, 507, "insufficient storage: the store's disk is full" },
	{ EDQUOT, 507, "insufficient storage: a quota or the min_free reserve is reached" },
	{ EBUSY, 503, "busy, try again" },
	{ EAGAIN, 503, "too many requests in progress, try again" },
	{ EMFILE, 503, "out of file descriptors, try again" },
	{ ENFILE, 503, "out of file descriptors, try again" },
	{ ENOMEM, 503, "out of memory, try again" },
	{ ENOSYS, 501, "not implemented" },
	{ EOPNOTSUPP, 405, "method not allowed" },
	{ ELOOP, 409, "a symbolic link in the path" },
	{ ESHUTDOWN, 503, "shutting down, try again" },
	{ EIO, 500, "input/output error in the store" },
};

/*
 * status_from_errno() maps err (a negative errno, as every layer returns)
 * to an HTTP status and a static one-line reason. Unknown values, and
 * non-negative ones, give 500. Thread-safe.
 */
struct net_status status_from_errno(int err)
{
	struct net_status st = { 500, "internal server error" };

	if (err >= 0)
		return st;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].err == -err) {
			st.code = table[i].code;
			st.reason = table[i].reason;
			break;
		}
	}
	return st;
}
