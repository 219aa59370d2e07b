/*
 * policy.c - request paths and limits: pure functions, no sockets, no
 * store. Both HTTP paths (the front door and libmicrohttpd) validate every
 * request target here, once; the result is a path relative to the store's
 * root that the store accepts name by name.
 */
#include "net_int.h"

#include "landingfs/hex.h"

#include <errno.h>
#include <string.h>

/* check_name() validates one decoded component of len bytes. */
static int check_name(const char *name, size_t len, bool first,
		      bool allow_reserved, const char **why)
{
	if (len == 0) {
		*why = "empty path component";
		return -EINVAL;
	}
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.')) {
		*why = "'.' or '..' in path";
		return -EINVAL;
	}
	if (len > LF_MAX_NAME) {
		*why = "name too long";
		return -ENAMETOOLONG;
	}
	if (first && !allow_reserved && len == LF_PRIVATE_DIR_LEN &&
	    memcmp(name, LF_PRIVATE_DIR, LF_PRIVATE_DIR_LEN) == 0) {
		*why = "/" LF_PRIVATE_DIR "/ is reserved";
		return -EINVAL;
	}
	if (len >= LF_INCOMING_ALIAS_LEN &&
	    memcmp(name, LF_INCOMING_ALIAS, LF_INCOMING_ALIAS_LEN) == 0) {
		*why = "names beginning with " LF_INCOMING_ALIAS " are reserved";
		return -EINVAL;
	}
	return 0;
}

/*
 * policy_path() percent-decodes the path of a request target (up to the
 * first '?' or '#') into out (size bytes with the NUL) and validates it:
 * origin-form only ("/..."), no "." or ".." component (literal or
 * percent-encoded), no empty component ("a//b"), no NUL, backslash or other
 * control character, no encoded '/', names of at most LF_MAX_NAME bytes,
 * paths of at most LF_MAX_PATH, and nothing under "/.landing" unless
 * allow_reserved. The leading '/' is dropped ("/" gives "", the root) and
 * so is one trailing '/' ("/dir/" gives "dir"). Returns 0, or -EINVAL /
 * -ENAMETOOLONG with *why set to a static one-line reason. Thread-safe.
 */
int policy_path(const char *target, size_t len, char *out, size_t size,
		bool allow_reserved, const char **why)
{
	size_t i, o = 0, comp = 0;
	bool first = true;
	int rc;

	*why = "bad path";
	if (size == 0)
		return -EINVAL;
	out[0] = '\0';
	if (len == 0 || target[0] != '/') {
		*why = "the request target must be an absolute path";
		return -EINVAL;
	}
	for (i = 1; i < len; i++) {
		unsigned char c = (unsigned char)target[i];

		if (c == '?' || c == '#')
			break;
		if (c == '/') {
			rc = check_name(out + comp, o - comp, first,
					allow_reserved, why);
			if (rc < 0)
				return rc;
			first = false;
			/* One trailing slash names the same thing. */
			if (i + 1 == len || target[i + 1] == '?' ||
			    target[i + 1] == '#')
				goto done;
			if (o + 1 >= size || o + 1 > LF_MAX_PATH) {
				*why = "path too long";
				return -ENAMETOOLONG;
			}
			out[o++] = '/';
			comp = o;
			continue;
		}
		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len) {
				*why = "bad percent-encoding";
				return -EINVAL;
			}
			hi = lf_hexval((unsigned char)target[i + 1]);
			lo = lf_hexval((unsigned char)target[i + 2]);
			if (hi < 0 || lo < 0) {
				*why = "bad percent-encoding";
				return -EINVAL;
			}
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
			if (c == '/') {
				*why = "encoded '/' in path";
				return -EINVAL;
			}
		}
		if (c == '\0') {
			*why = "NUL in path";
			return -EINVAL;
		}
		if (c == '\\') {
			*why = "backslash in path";
			return -EINVAL;
		}
		if (c < 0x20 || c == 0x7f) {
			*why = "control character in path";
			return -EINVAL;
		}
		if (o + 1 >= size || o + 1 > LF_MAX_PATH) {
			*why = "path too long";
			return -ENAMETOOLONG;
		}
		out[o++] = (char)c;
	}
	if (o > comp) {
		rc = check_name(out + comp, o - comp, first, allow_reserved,
				why);
		if (rc < 0)
			return rc;
	}
done:
	out[o] = '\0';
	*why = NULL;
	return 0;
}
