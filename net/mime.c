/*
 * mime.c - Content-Type from a file name, by its extension, using the
 * system's /etc/mime.types (Debian's media-types package).
 *
 * The file is parsed once, on first use, into a read-only hash table that
 * lives as long as the process; lookups after that take no lock. A missing
 * file only costs precision: every file is then application/octet-stream.
 */
#include "net_int.h"

#include "landingfs/log.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIME_TYPES_FILE "/etc/mime.types"
#define MIME_MAX_EXT 32
#define MIME_MAX_ENTRIES 65536
#define MIME_DEFAULT "application/octet-stream"

struct mime_entry {
	char *ext;                     /* lower case */
	const char *type;              /* points into types[] */
};

static struct {
	pthread_once_t once;
	struct mime_entry *tab;        /* open addressing, size a power of 2 */
	size_t size;
	char **types;                  /* distinct type strings */
	size_t ntypes;
} mime = { .once = PTHREAD_ONCE_INIT };

static uint64_t hash_ext(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void insert(char *ext, const char *type)
{
	size_t i = (size_t)hash_ext(ext) & (mime.size - 1);

	while (mime.tab[i].ext != NULL) {
		if (strcmp(mime.tab[i].ext, ext) == 0) {
			/* The first line naming an extension wins, as in
			 * other readers of mime.types. */
			free(ext);
			return;
		}
		i = (i + 1) & (mime.size - 1);
	}
	mime.tab[i].ext = ext;
	mime.tab[i].type = type;
}

/* load() reads MIME_TYPES_FILE twice: once to size the table, once to
 * fill it. */
static void load(void)
{
	char line[4096];
	size_t count = 0;
	FILE *f = fopen(MIME_TYPES_FILE, "re");

	if (f == NULL) {
		lf_warn("%s: Content-Type will be %s", MIME_TYPES_FILE,
			MIME_DEFAULT);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL, *w = strtok_r(line, " \t\r\n", &save);

		if (w == NULL || w[0] == '#')
			continue;
		while (strtok_r(NULL, " \t\r\n", &save) != NULL)
			count++;
	}
	if (count > MIME_MAX_ENTRIES)
		count = MIME_MAX_ENTRIES;
	for (mime.size = 64; mime.size < 2 * count; mime.size *= 2)
		;
	mime.tab = calloc(mime.size, sizeof(*mime.tab));
	mime.types = calloc(count + 1, sizeof(*mime.types));
	if (mime.tab == NULL || mime.types == NULL) {
		free(mime.tab);
		free(mime.types);
		mime.tab = NULL;
		mime.types = NULL;
		fclose(f);
		return;
	}
	rewind(f);
	count = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL, *type = strtok_r(line, " \t\r\n", &save);
		char *ext, *t = NULL;

		if (type == NULL || type[0] == '#')
			continue;
		while ((ext = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
			char *e;

			if (count == MIME_MAX_ENTRIES ||
			    strlen(ext) > MIME_MAX_EXT)
				continue;
			if (t == NULL) {
				t = strdup(type);
				if (t == NULL)
					break;
				mime.types[mime.ntypes++] = t;
			}
			e = strdup(ext);
			if (e == NULL)
				break;
			for (char *c = e; *c != '\0'; c++)
				*c = (char)tolower((unsigned char)*c);
			insert(e, t);
			count++;
		}
	}
	fclose(f);
}

/*
 * mime_type() returns the media type for a file name by its extension
 * (case-insensitive), or "application/octet-stream". The string is static.
 * Thread-safe.
 */
const char *mime_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	char ext[MIME_MAX_EXT + 1];
	size_t i, len;

	pthread_once(&mime.once, load);
	if (dot == NULL || dot == name || mime.tab == NULL)
		return MIME_DEFAULT;
	len = strlen(dot + 1);
	if (len == 0 || len > MIME_MAX_EXT)
		return MIME_DEFAULT;
	for (i = 0; i <= len; i++)
		ext[i] = (char)tolower((unsigned char)dot[1 + i]);
	for (i = (size_t)hash_ext(ext) & (mime.size - 1);
	     mime.tab[i].ext != NULL; i = (i + 1) & (mime.size - 1)) {
		if (strcmp(mime.tab[i].ext, ext) == 0)
			return mime.tab[i].type;
	}
	return MIME_DEFAULT;
}

/* mime_init() parses the table now rather than at the first request;
 * start-up, optional. */
void mime_init(void)
{
	pthread_once(&mime.once, load);
}
