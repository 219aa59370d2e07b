/*
 * listing.c - GET of a directory: an HTML page in the style of the common
 * autoindex pages (one <a href> per entry, so that browsers and httpdirfs
 * can walk it), or JSON for programs (?format=json, or Accept:
 * application/json).
 *
 * Both are paginated with store_readdir()'s cursor, which stays valid while
 * entries come and go: ?cursor=C continues after the entry C was handed
 * out with, and ?limit=N bounds a page (JSON 1000 by default, HTML 10000,
 * at most LISTING_MAX_LIMIT). The body is built in a bounded buffer.
 */
#include "net_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define LISTING_JSON_LIMIT 1000
#define LISTING_HTML_LIMIT 10000
#define LISTING_MAX_LIMIT 10000
#define LISTING_BATCH 256
#define LISTING_MAX_BODY (32u << 20)

static const char *arg(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

bool listing_wants_json(struct MHD_Connection *conn)
{
	const char *f = arg(conn, "format");
	const char *accept;

	if (f != NULL)
		return strcmp(f, "json") == 0;
	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					     MHD_HTTP_HEADER_ACCEPT);
	return accept != NULL && strstr(accept, "application/json") != NULL &&
	       strstr(accept, "text/html") == NULL;
}

static bool parse_arg_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static const char *type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "symlink";
	default:
		return "file";
	}
}

/*
 * href_name() appends the relative link to an entry: the name percent-
 * encoded, with '/' after a directory. A first character that is not a
 * letter or digit is encoded too ("%2Ehidden"): the same URL, but some
 * clients (httpdirfs) skip links that do not start with one.
 */
static void href_name(struct textbuf *b, const char *name, bool dir)
{
	if (!isalnum((unsigned char)name[0])) {
		textbuf_printf(b, "%%%02X", (unsigned char)name[0]);
		name++;
	}
	textbuf_url(b, name, true);
	if (dir)
		textbuf_puts(b, "/");
}

static void html_head(struct textbuf *b, const char *path)
{
	textbuf_puts(b, "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\">"
		     "<meta name=\"viewport\" content=\"width=device-width, "
		     "initial-scale=1\"><title>Index of /");
	textbuf_html(b, path);
	textbuf_puts(b, path[0] != '\0' ? "/" : "");
	textbuf_puts(b, "</title></head>\n<body>\n<h1>Index of /");
	textbuf_html(b, path);
	textbuf_puts(b, path[0] != '\0' ? "/" : "");
	textbuf_puts(b, "</h1><hr><pre>");
	if (path[0] != '\0')
		textbuf_puts(b, "<a href=\"../\">../</a>\n");
}

static void html_entry(struct textbuf *b, const struct store_dirent *e)
{
	bool dir = (e->attr.mode & S_IFMT) == S_IFDIR;
	time_t t = (time_t)(e->attr.mtime_ns / 1000000000);
	size_t shown = strlen(e->name) + (dir ? 1 : 0);
	char date[32];
	struct tm tm;

	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May",
					   "Jun", "Jul", "Aug", "Sep", "Oct",
					   "Nov", "Dec" };

	/* Spelled out rather than strftime("%b"): the same in any locale. */
	gmtime_r(&t, &tm);
	snprintf(date, sizeof(date), "%02d-%s-%04d %02d:%02d", tm.tm_mday,
		 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
		 tm.tm_min);
	textbuf_puts(b, "<a href=\"");
	href_name(b, e->name, dir);
	textbuf_puts(b, "\">");
	textbuf_html(b, e->name);
	textbuf_puts(b, dir ? "/</a>" : "</a>");
	textbuf_printf(b, "%*s%s ", shown < 50 ? (int)(51 - shown) : 1, "",
		       date);
	if (dir)
		textbuf_printf(b, "%19s\n", "-");
	else
		textbuf_printf(b, "%19" PRIu64 "\n", e->attr.size);
}

static void json_entry(struct net *n, struct textbuf *b,
		       const struct store_dirent *e, bool first)
{
	bool dir = (e->attr.mode & S_IFMT) == S_IFDIR;
	struct store_landing land;

	textbuf_puts(b, first ? "\n{\"name\":" : ",\n{\"name\":");
	textbuf_json_str(b, e->name);
	textbuf_puts(b, ",\"href\":\"");
	href_name(b, e->name, dir);
	textbuf_printf(b, "\",\"type\":\"%s\",\"size\":%" PRIu64
		       ",\"mtime\":%" PRId64 ",\"mtime_ns\":%" PRId64,
		       type_name(e->attr.mode), e->attr.size,
		       e->attr.mtime_ns / 1000000000, e->attr.mtime_ns);
	if ((e->attr.mode & S_IFMT) == S_IFREG &&
	    store_landing_get(n->st, e->attr.ino, &land) == 0 &&
	    land.has_sha256) {
		textbuf_puts(b, ",\"sha256\":\"");
		for (int i = 0; i < STORE_SHA256_LEN; i++)
			textbuf_printf(b, "%02x", land.sha256[i]);
		textbuf_puts(b, "\"");
	}
	textbuf_puts(b, "}");
}

/*
 * listing_serve() answers GET or HEAD of directory dir (at path, validated,
 * "" for the root) with one page of entries. 400 for a bad cursor or
 * limit.
 */
enum MHD_Result listing_serve(struct net *n, struct MHD_Connection *conn,
			      const char *path, const struct store_attr *dir,
			      bool json)
{
	struct store_dirent *ents;
	struct MHD_Response *r;
	struct textbuf b;
	uint64_t cursor = 0, limit = json ? LISTING_JSON_LIMIT :
					    LISTING_HTML_LIMIT;
	uint64_t shown = 0, next = 0;
	const char *cs = arg(conn, "cursor"), *ls = arg(conn, "limit");
	size_t got, len, i;
	char *body;
	int rc = 0;

	if (cs != NULL && !parse_arg_u64(cs, &cursor))
		return serve_reply(conn, MHD_HTTP_BAD_REQUEST,
				   "cursor is a number from a previous page",
				   NULL, NULL);
	if (ls != NULL && (!parse_arg_u64(ls, &limit) || limit == 0 ||
			   limit > LISTING_MAX_LIMIT))
		return serve_reply(conn, MHD_HTTP_BAD_REQUEST,
				   "limit is 1 to 10000", NULL, NULL);
	ents = calloc(LISTING_BATCH, sizeof(*ents));
	if (ents == NULL)
		return serve_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "out of memory", NULL, NULL);
	textbuf_init(&b, LISTING_MAX_BODY);
	if (json) {
		textbuf_puts(&b, "{\"path\":");
		{
			char tmp[LF_MAX_PATH + 3];

			snprintf(tmp, sizeof(tmp), "/%s%s", path,
				 path[0] != '\0' ? "/" : "");
			textbuf_json_str(&b, tmp);
		}
		textbuf_puts(&b, ",\"entries\":[");
	} else {
		html_head(&b, path);
	}

	/* Ask for one entry past the page: if it exists, there is a next
	 * page, and it starts after the last entry shown. */
	while (shown <= limit) {
		size_t want = limit + 1 - shown;

		if (want > LISTING_BATCH)
			want = LISTING_BATCH;
		rc = store_readdir(n->st, dir->ino, cursor, ents, want, &got);
		if (rc < 0 || got == 0)
			break;
		for (i = 0; i < got && shown < limit; i++) {
			cursor = ents[i].cursor;
			/* The reserved /.landing/ (where uploads are staged
			 * for publishing) is not part of the tree served. */
			if (dir->ino == STORE_ROOT_INO &&
			    strcmp(ents[i].name, LF_PRIVATE_DIR) == 0)
				continue;
			if (json)
				json_entry(n, &b, &ents[i], shown == 0);
			else
				html_entry(&b, &ents[i]);
			shown++;
		}
		if (i < got) {
			next = cursor; /* an entry is left over */
			break;
		}
	}
	free(ents);
	if (rc < 0) {
		textbuf_free(&b);
		return serve_reply(conn, status_from_errno(rc).code,
				   status_from_errno(rc).reason, NULL, NULL);
	}
	if (json) {
		if (next != 0)
			textbuf_printf(&b, "\n],\"next\":\"%" PRIu64 "\"}\n",
				       next);
		else
			textbuf_puts(&b, "\n],\"next\":null}\n");
	} else {
		textbuf_puts(&b, "</pre><hr>");
		if (next != 0)
			textbuf_printf(&b, "<p><a href=\"?cursor=%" PRIu64
				       "&amp;limit=%" PRIu64 "\" rel=\"next\">"
				       "next page</a></p>", next, limit);
		textbuf_puts(&b, "</body>\n</html>\n");
	}
	body = textbuf_take(&b, &len);
	rc = textbuf_error(&b);
	textbuf_free(&b);
	if (body == NULL)
		return serve_reply(conn, rc == -E2BIG ? 500 : 503,
				   rc == -E2BIG ? "listing too large: use a "
						  "smaller limit" :
						  "out of memory", NULL, NULL);
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				json ? "application/json" :
				       "text/html; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	return serve_queue(conn, MHD_HTTP_OK, r, len);
}
