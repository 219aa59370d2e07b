/*
 * index.c - the SQLite index: schema, migrations, statements, and the
 * translation of SQLite result codes into errno values.
 *
 * This is the only file of the store (and of the daemon) that calls
 * sqlite3_*; a second backend would replace this file alone. It knows rows
 * and columns, not blobs on disk, threads or the writer queue: callers say
 * which connection to use (the writer's, or a per-thread read connection)
 * and when transactions begin and end.
 *
 * Schema (PRAGMA user_version = INDEX_VERSION):
 *   inode  one row per file, directory or symlink. The name lives on the
 *          inode (there are no hard links). Root is ino 1 with parent and
 *          name NULL; an unlinked file still open has parent NULL and
 *          nlink 0. The writer hands out inode numbers from max(ino) + 1
 *          (ix_max_ino at open), so none is reused while the store is
 *          open and a readdir cursor (an ino) stays valid while entries
 *          come and go. (AUTOINCREMENT would also keep numbers of rows
 *          deleted before a restart, at one more page written per
 *          commit.)
 *   xattr  user extended attributes, (ino, name) -> value.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "landingfs/log.h"

#define INDEX_VERSION 1
#define INDEX_BUSY_MS 10000

enum ix_stmt {
	S_GET,
	S_LOOKUP,
	S_TARGET,
	S_LANDING,
	S_INSERT,
	S_SET_ATTR,
	S_MOVE,
	S_TOUCH_DIR,
	S_DELETE,
	S_DELETE_XATTRS,
	S_HAS_CHILDREN,
	S_READDIR,
	S_NOTE_WRITE,
	S_SET_SHA,
	S_XGET,
	S_XEXISTS,
	S_XSET,
	S_XLIST,
	S_XREMOVE,
	S_BEGIN,
	S_BEGIN_IMM,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_FIX_SIZE,
	S_NR
};

#define ATTR_COLS                                                         \
	"ino, parent, mode, nlink, uid, gid, size, atime_ns, mtime_ns, "  \
	"ctime_ns, blob"

static const char *const stmt_sql[S_NR] = {
	[S_GET] = "SELECT " ATTR_COLS " FROM inode WHERE ino = ?1",
	[S_LOOKUP] = "SELECT " ATTR_COLS
		     " FROM inode WHERE parent = ?1 AND name = ?2",
	[S_TARGET] = "SELECT mode, target FROM inode WHERE ino = ?1",
	[S_LANDING] = "SELECT mode, origin, peer, received_ns, sha256, "
		      "digest_alg, digest FROM inode WHERE ino = ?1",
	[S_INSERT] = "INSERT INTO inode (parent, name, mode, nlink, uid, gid, "
		     "size, atime_ns, mtime_ns, ctime_ns, blob, target, "
		     "origin, peer, received_ns, digest_alg, digest, ino) "
		     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
		     "?12, ?13, ?14, ?15, ?16, ?17, ?18)",
	[S_SET_ATTR] = "UPDATE inode SET mode = ?2, nlink = ?3, uid = ?4, "
		       "gid = ?5, size = ?6, atime_ns = ?7, mtime_ns = ?8, "
		       "ctime_ns = ?9 WHERE ino = ?1",
	[S_MOVE] = "UPDATE inode SET parent = ?2, name = ?3, "
		   "nlink = CASE WHEN ?2 IS NULL AND (mode & 61440) != 16384 "
		   "THEN 0 ELSE nlink END WHERE ino = ?1",
	[S_TOUCH_DIR] = "UPDATE inode SET mtime_ns = ?2, ctime_ns = ?2, "
			"nlink = nlink + ?3 WHERE ino = ?1",
	[S_DELETE] = "DELETE FROM inode WHERE ino = ?1",
	[S_DELETE_XATTRS] = "DELETE FROM xattr WHERE ino = ?1",
	[S_HAS_CHILDREN] = "SELECT 1 FROM inode WHERE parent = ?1 LIMIT 1",
	[S_READDIR] = "SELECT " ATTR_COLS ", name FROM inode "
		      "WHERE parent = ?1 AND ino > ?2 ORDER BY ino LIMIT ?3",
	[S_NOTE_WRITE] = "UPDATE inode SET size = ?2, mtime_ns = ?3, "
			 "ctime_ns = ?4, sha256 = NULL WHERE ino = ?1",
	[S_SET_SHA] = "UPDATE inode SET sha256 = ?3 WHERE ino = ?1 "
		      "AND blob = ?2",
	[S_XGET] = "SELECT value FROM xattr WHERE ino = ?1 AND name = ?2",
	[S_XEXISTS] = "SELECT 1 FROM xattr WHERE ino = ?1 AND name = ?2",
	[S_XSET] = "INSERT OR REPLACE INTO xattr (ino, name, value) "
		   "VALUES (?1, ?2, ?3)",
	[S_XLIST] = "SELECT name FROM xattr WHERE ino = ?1 ORDER BY name",
	[S_XREMOVE] = "DELETE FROM xattr WHERE ino = ?1 AND name = ?2",
	[S_BEGIN] = "BEGIN",
	[S_BEGIN_IMM] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT op",
	[S_RELEASE] = "RELEASE op",
	[S_ROLLBACK_TO] = "ROLLBACK TO op",
	[S_FIX_SIZE] = "UPDATE inode SET size = ?2, mtime_ns = ?3, "
		       "sha256 = NULL WHERE ino = ?1",
};

static const char schema_v1[] =
	"CREATE TABLE inode ("
	" ino INTEGER PRIMARY KEY,"
	" parent INTEGER,"
	" name BLOB,"
	" mode INTEGER NOT NULL,"
	" nlink INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" gid INTEGER NOT NULL,"
	" size INTEGER NOT NULL DEFAULT 0,"
	" atime_ns INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL,"
	" ctime_ns INTEGER NOT NULL,"
	" blob INTEGER,"
	" target BLOB,"
	" origin INTEGER NOT NULL DEFAULT 0,"
	" peer TEXT,"
	" received_ns INTEGER,"
	" sha256 BLOB,"
	" digest_alg TEXT,"
	" digest BLOB);"
	"CREATE UNIQUE INDEX inode_name ON inode (parent, name);"
	"CREATE INDEX inode_dir ON inode (parent, ino);"
	"CREATE TABLE xattr ("
	" ino INTEGER NOT NULL,"
	" name TEXT NOT NULL,"
	" value BLOB NOT NULL,"
	" PRIMARY KEY (ino, name)) WITHOUT ROWID;";

struct ix_conn {
	sqlite3 *ic_db;
	bool ic_write;
	sqlite3_stmt *ic_stmt[S_NR];
};

/* The injected fault error of the last step, to keep tests' logs quiet. */
static _Thread_local bool ix_injected;

/*
 * ix_errno() translates an SQLite result code into a negative errno, once,
 * here. I/O errors and corruption are logged: they mean a sick disk or a
 * damaged index, and nobody above can say more about them.
 */
static int ix_errno(struct ix_conn *c, int rc, const char *what)
{
	int err;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_FULL:
		err = -ENOSPC;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		err = -EBUSY;
		break;
	case SQLITE_CONSTRAINT:
		err = -EEXIST;
		break;
	case SQLITE_NOMEM:
		err = -ENOMEM;
		break;
	case SQLITE_READONLY:
		err = -EROFS;
		break;
	case SQLITE_TOOBIG:
		err = -E2BIG;
		break;
	default:
		err = -EIO;
		break;
	}
	if (ix_injected)
		lf_debug("index: %s: injected %s", what, sqlite3_errstr(rc));
	else if (err == -EIO || err == -ENOSPC)
		lf_log(LOG_ERR, "index: %s: %s (%s)", what, sqlite3_errstr(rc),
		       c && c->ic_db ? sqlite3_errmsg(c->ic_db) : "");
	return err;
}

/* The SQLite code that stands for an injected fault's errno value. */
static int fault_code(int err)
{
	switch (-err) {
	case ENOSPC:
		return SQLITE_FULL;
	case EBUSY:
		return SQLITE_BUSY;
	default:
		return SQLITE_IOERR;
	}
}

/*
 * step() runs one sqlite3_step. On the write connection it is a fault
 * injection point: an armed STORE_FAULT_SQL makes it fail without running.
 */
static int step(struct ix_conn *c, sqlite3_stmt *s)
{
	ix_injected = false;
	if (c->ic_write) {
		int err = fault_check(STORE_FAULT_SQL);

		if (err < 0) {
			ix_injected = true;
			return fault_code(err);
		}
	}
	return sqlite3_step(s);
}

static sqlite3_stmt *stmt(struct ix_conn *c, enum ix_stmt which, int *rc)
{
	sqlite3_stmt *s = c->ic_stmt[which];
	int src;

	if (s)
		return s;
	src = sqlite3_prepare_v3(c->ic_db, stmt_sql[which], -1,
				 SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (src != SQLITE_OK) {
		*rc = ix_errno(c, src, "prepare");
		return NULL;
	}
	c->ic_stmt[which] = s;
	return s;
}

static void done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Runs a statement that returns no row; 0 or -errno. */
static int run(struct ix_conn *c, sqlite3_stmt *s, const char *what)
{
	int src = step(c, s);
	int rc = src == SQLITE_DONE || src == SQLITE_ROW ? 0
							  : ix_errno(c, src, what);

	done(s);
	return rc;
}

static int exec_sql(struct ix_conn *c, const char *sql)
{
	char *msg = NULL;
	int src = sqlite3_exec(c->ic_db, sql, NULL, NULL, &msg);

	if (src != SQLITE_OK) {
		lf_log(LOG_ERR, "index: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return ix_errno(c, src, "exec");
	}
	return 0;
}

static void bind_name(sqlite3_stmt *s, int i, const char *name)
{
	if (name)
		sqlite3_bind_blob(s, i, name, (int)strlen(name),
				  SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static void bind_parent(sqlite3_stmt *s, int i, uint64_t parent)
{
	if (parent)
		sqlite3_bind_int64(s, i, (sqlite3_int64)parent);
	else
		sqlite3_bind_null(s, i);
}

/* Reads the ATTR_COLS of the current row, from column 0 on. */
static void row_attr(sqlite3_stmt *s, struct store_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = (uint64_t)sqlite3_column_int64(s, 0);
	a->parent = (uint64_t)sqlite3_column_int64(s, 1);
	if (a->ino == STORE_ROOT_INO)
		a->parent = STORE_ROOT_INO;
	a->mode = (uint32_t)sqlite3_column_int64(s, 2);
	a->nlink = (uint32_t)sqlite3_column_int64(s, 3);
	a->uid = (uint32_t)sqlite3_column_int64(s, 4);
	a->gid = (uint32_t)sqlite3_column_int64(s, 5);
	a->size = (uint64_t)sqlite3_column_int64(s, 6);
	a->atime_ns = sqlite3_column_int64(s, 7);
	a->mtime_ns = sqlite3_column_int64(s, 8);
	a->ctime_ns = sqlite3_column_int64(s, 9);
	a->blob = (uint64_t)sqlite3_column_int64(s, 10);
}

/* SQLite's own log, into ours: recoveries and warnings say something
 * worth keeping; errors are logged once, by ix_errno(), at debug level
 * here. */
static void ix_sqlite_log(void *arg, int code, const char *msg)
{
	(void)arg;
	switch (code & 0xff) {
	case SQLITE_NOTICE:
		lf_log(LOG_NOTICE, "sqlite: %s", msg);
		break;
	case SQLITE_WARNING:
		lf_log(LOG_WARNING, "sqlite: %s", msg);
		break;
	default:
		lf_debug("sqlite: %s (%d)", msg, code);
		break;
	}
}

static void ix_init_once(void)
{
	/* Only possible before SQLite initializes; if someone else in the
	 * process got there first, their logging stays. */
	sqlite3_config(SQLITE_CONFIG_LOG, ix_sqlite_log, NULL);
}

/*
 * ix_open() opens a connection to the index at path: the write connection
 * (write: fault injection applies, journal mode set) or a read connection.
 * durable selects synchronous=FULL, else NORMAL. Returns 0 and *out or
 * -errno. The connection may be used by one thread at a time.
 */
int ix_open(const char *path, bool write, bool durable, struct ix_conn **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct ix_conn *c;
	int src, rc;

	pthread_once(&once, ix_init_once);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ic_write = write;
	src = sqlite3_open_v2(path, &c->ic_db,
			      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				      SQLITE_OPEN_NOMUTEX,
			      NULL);
	if (src != SQLITE_OK) {
		lf_log(LOG_ERR, "index: open %s: %s", path,
		       c->ic_db ? sqlite3_errmsg(c->ic_db)
				: sqlite3_errstr(src));
		rc = src == SQLITE_CANTOPEN ? -EACCES
					    : ix_errno(c, src, "open");
		goto err_close;
	}
	sqlite3_busy_timeout(c->ic_db, INDEX_BUSY_MS);
	sqlite3_extended_result_codes(c->ic_db, 1);
	if (write) {
		rc = exec_sql(c, "PRAGMA journal_mode=WAL");
		if (rc < 0)
			goto err_close;
	}
	rc = exec_sql(c, durable ? "PRAGMA synchronous=FULL"
				 : "PRAGMA synchronous=NORMAL");
	if (rc < 0)
		goto err_close;
	*out = c;
	return 0;

err_close:
	sqlite3_close_v2(c->ic_db);
	free(c);
	return rc;
}

/* ix_close() finalizes c's statements and closes it. Accepts NULL. */
void ix_close(struct ix_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < S_NR; i++)
		sqlite3_finalize(c->ic_stmt[i]);
	sqlite3_close_v2(c->ic_db);
	free(c);
}

/*
 * ix_schema() creates the schema and the root directory (owned by uid/gid,
 * times now) in a new index, or migrates an older one up to INDEX_VERSION.
 * An index newer than this code is refused with -EPROTO.
 */
int ix_schema(struct ix_conn *c, int64_t now, uint32_t uid, uint32_t gid)
{
	sqlite3_stmt *s;
	int src, rc, version;
	char sql[512];

	src = sqlite3_prepare_v2(c->ic_db, "PRAGMA user_version", -1, &s, NULL);
	if (src != SQLITE_OK)
		return ix_errno(c, src, "user_version");
	src = sqlite3_step(s);
	version = src == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	if (version < 0)
		return ix_errno(c, src, "user_version");
	if (version == INDEX_VERSION)
		return 0;
	if (version > INDEX_VERSION) {
		lf_log(LOG_ERR, "index: schema version %d is newer than %d",
		       version, INDEX_VERSION);
		return -EPROTO;
	}
	/* Migrations run in one transaction each; version 0 is empty. */
	rc = exec_sql(c, "BEGIN IMMEDIATE");
	if (rc < 0)
		return rc;
	if (version == 0) {
		rc = exec_sql(c, schema_v1);
		if (rc < 0)
			goto err_rollback;
		snprintf(sql, sizeof(sql),
			 "INSERT INTO inode (ino, parent, name, mode, nlink, "
			 "uid, gid, size, atime_ns, mtime_ns, ctime_ns) "
			 "VALUES (%d, NULL, NULL, %u, 2, %u, %u, 0, %lld, "
			 "%lld, %lld)",
			 STORE_ROOT_INO, (unsigned)(S_IFDIR | 0755),
			 (unsigned)uid, (unsigned)gid, (long long)now,
			 (long long)now, (long long)now);
		rc = exec_sql(c, sql);
		if (rc < 0)
			goto err_rollback;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", INDEX_VERSION);
	rc = exec_sql(c, sql);
	if (rc < 0)
		goto err_rollback;
	return exec_sql(c, "COMMIT");

err_rollback:
	exec_sql(c, "ROLLBACK");
	return rc;
}

static int simple(struct ix_conn *c, enum ix_stmt which, const char *what)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, which, &rc);

	if (!s)
		return rc;
	return run(c, s, what);
}

/* ix_begin() starts a transaction; immediate takes the write lock now. */
int ix_begin(struct ix_conn *c, bool immediate)
{
	return simple(c, immediate ? S_BEGIN_IMM : S_BEGIN, "begin");
}

/* ix_commit() commits; on failure the transaction may still be open. */
int ix_commit(struct ix_conn *c)
{
	return simple(c, S_COMMIT, "commit");
}

/* ix_rollback() rolls back the open transaction, if any. */
void ix_rollback(struct ix_conn *c)
{
	if (!sqlite3_get_autocommit(c->ic_db))
		exec_sql(c, "ROLLBACK");
}

/* ix_savepoint() opens the savepoint that brackets one op. */
int ix_savepoint(struct ix_conn *c)
{
	return simple(c, S_SAVEPOINT, "savepoint");
}

/* ix_release() ends the op's savepoint, keeping its changes. */
int ix_release(struct ix_conn *c)
{
	return simple(c, S_RELEASE, "release");
}

/*
 * ix_rollback_to() undoes the op's changes and ends its savepoint. It is
 * not a fault injection point: undoing must work for the test to mean
 * anything, and SQLite's rollback writes nothing.
 */
int ix_rollback_to(struct ix_conn *c)
{
	int rc;

	rc = exec_sql(c, "ROLLBACK TO op");
	if (rc == 0)
		rc = exec_sql(c, "RELEASE op");
	return rc;
}

/* ix_in_txn() tells whether a transaction is open (SQLite may roll one
 * back by itself after some errors). */
bool ix_in_txn(struct ix_conn *c)
{
	return !sqlite3_get_autocommit(c->ic_db);
}

static int get_one(struct ix_conn *c, sqlite3_stmt *s, struct store_attr *out,
		   const char *what)
{
	int src = step(c, s);
	int rc;

	if (src == SQLITE_ROW) {
		if (out)
			row_attr(s, out);
		rc = 0;
	} else if (src == SQLITE_DONE) {
		rc = -ENOENT;
	} else {
		rc = ix_errno(c, src, what);
	}
	done(s);
	return rc;
}

/* ix_get() reads the attributes of ino; -ENOENT when there is none. */
int ix_get(struct ix_conn *c, uint64_t ino, struct store_attr *out)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, S_GET, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	return get_one(c, s, out, "get");
}

/* ix_lookup() finds name in directory parent; -ENOENT when absent. */
int ix_lookup(struct ix_conn *c, uint64_t parent, const char *name,
	      struct store_attr *out)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, S_LOOKUP, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)parent);
	bind_name(s, 2, name);
	return get_one(c, s, out, "lookup");
}

/* ix_target() copies the target of symlink ino, NUL-terminated, into buf:
 * -ENOENT, -EINVAL (not a symlink), -ENAMETOOLONG (buf too small). */
int ix_target(struct ix_conn *c, uint64_t ino, char *buf, size_t size)
{
	int rc = 0, src;
	sqlite3_stmt *s = stmt(c, S_TARGET, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	src = step(c, s);
	if (src == SQLITE_ROW) {
		uint32_t mode = (uint32_t)sqlite3_column_int64(s, 0);
		const void *t = sqlite3_column_blob(s, 1);
		size_t len = (size_t)sqlite3_column_bytes(s, 1);

		if (!S_ISLNK(mode)) {
			rc = -EINVAL;
		} else if (len + 1 > size) {
			rc = -ENAMETOOLONG;
		} else {
			if (len)
				memcpy(buf, t, len);
			buf[len] = '\0';
		}
	} else if (src == SQLITE_DONE) {
		rc = -ENOENT;
	} else {
		rc = ix_errno(c, src, "readlink");
	}
	done(s);
	return rc;
}

static void col_text(sqlite3_stmt *s, int col, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t len = (size_t)sqlite3_column_bytes(s, col);

	if (!t || size == 0) {
		if (size)
			buf[0] = '\0';
		return;
	}
	if (len >= size)
		len = size - 1;
	memcpy(buf, t, len);
	buf[len] = '\0';
}

/* ix_landing() reads the landing metadata of ino (-ENOENT). */
int ix_landing(struct ix_conn *c, uint64_t ino, struct store_landing *out)
{
	int rc = 0, src;
	sqlite3_stmt *s = stmt(c, S_LANDING, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	src = step(c, s);
	if (src == SQLITE_ROW) {
		size_t len;

		memset(out, 0, sizeof(*out));
		out->origin = (enum store_origin)sqlite3_column_int(s, 1);
		col_text(s, 2, out->peer, sizeof(out->peer));
		out->received_ns = sqlite3_column_int64(s, 3);
		len = (size_t)sqlite3_column_bytes(s, 4);
		if (len == STORE_SHA256_LEN) {
			memcpy(out->sha256, sqlite3_column_blob(s, 4), len);
			out->has_sha256 = true;
		}
		col_text(s, 5, out->digest_alg, sizeof(out->digest_alg));
		len = (size_t)sqlite3_column_bytes(s, 6);
		if (len > 0 && len <= STORE_MAX_DIGEST) {
			memcpy(out->digest, sqlite3_column_blob(s, 6), len);
			out->digest_len = len;
		}
	} else if (src == SQLITE_DONE) {
		rc = -ENOENT;
	} else {
		rc = ix_errno(c, src, "landing");
	}
	done(s);
	return rc;
}

/*
 * ix_insert() adds an inode with the attributes in *a named name in
 * a->parent; target for a symlink, l (may be NULL) for landing metadata.
 * The number is a->ino, or SQLite's choice when that is 0; *ino gets it.
 * -EEXIST when the name or the number is taken.
 */
int ix_insert(struct ix_conn *c, const struct store_attr *a, const char *name,
	      const char *target, const struct store_landing *l, uint64_t *ino)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, S_INSERT, &rc);

	if (!s)
		return rc;
	bind_parent(s, 1, a->parent);
	bind_name(s, 2, name);
	sqlite3_bind_int64(s, 3, a->mode);
	sqlite3_bind_int64(s, 4, a->nlink);
	sqlite3_bind_int64(s, 5, a->uid);
	sqlite3_bind_int64(s, 6, a->gid);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)a->size);
	sqlite3_bind_int64(s, 8, a->atime_ns);
	sqlite3_bind_int64(s, 9, a->mtime_ns);
	sqlite3_bind_int64(s, 10, a->ctime_ns);
	if (a->blob)
		sqlite3_bind_int64(s, 11, (sqlite3_int64)a->blob);
	bind_name(s, 12, target);
	bind_parent(s, 18, a->ino);
	if (l) {
		sqlite3_bind_int(s, 13, (int)l->origin);
		if (l->peer[0])
			sqlite3_bind_text(s, 14, l->peer, -1,
					  SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 15, l->received_ns);
		if (l->digest_len) {
			sqlite3_bind_text(s, 16, l->digest_alg, -1,
					  SQLITE_TRANSIENT);
			sqlite3_bind_blob(s, 17, l->digest,
					  (int)l->digest_len,
					  SQLITE_TRANSIENT);
		}
	} else {
		sqlite3_bind_int(s, 13, 0);
	}
	rc = run(c, s, "insert");
	if (rc == 0)
		*ino = (uint64_t)sqlite3_last_insert_rowid(c->ic_db);
	if (rc == 0 && l && l->has_sha256) {
		bool changed;

		rc = ix_set_sha256(c, *ino, a->blob, l->sha256, &changed);
	}
	return rc;
}

/* ix_set_attr() writes mode, nlink, uid, gid, size and times of a->ino. */
int ix_set_attr(struct ix_conn *c, const struct store_attr *a)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, S_SET_ATTR, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)a->ino);
	sqlite3_bind_int64(s, 2, a->mode);
	sqlite3_bind_int64(s, 3, a->nlink);
	sqlite3_bind_int64(s, 4, a->uid);
	sqlite3_bind_int64(s, 5, a->gid);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)a->size);
	sqlite3_bind_int64(s, 7, a->atime_ns);
	sqlite3_bind_int64(s, 8, a->mtime_ns);
	sqlite3_bind_int64(s, 9, a->ctime_ns);
	return run(c, s, "setattr");
}

/*
 * ix_move() gives ino a new (parent, name); parent 0 unlinks it (name NULL,
 * nlink 0 for a non-directory): the open-unlinked state.
 */
int ix_move(struct ix_conn *c, uint64_t ino, uint64_t parent, const char *name)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, S_MOVE, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	bind_parent(s, 2, parent);
	bind_name(s, 3, parent ? name : NULL);
	return run(c, s, "move");
}

/* ix_touch_dir() sets mtime and ctime of directory ino to now and adds
 * dlink to its link count (a subdirectory came or went). */
int ix_touch_dir(struct ix_conn *c, uint64_t ino, int64_t now, int dlink)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, S_TOUCH_DIR, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, dlink);
	return run(c, s, "touch");
}

/* ix_delete() removes the row of ino and its xattrs. */
int ix_delete(struct ix_conn *c, uint64_t ino)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, S_DELETE_XATTRS, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	rc = run(c, s, "delete xattrs");
	if (rc < 0)
		return rc;
	s = stmt(c, S_DELETE, &rc);
	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	return run(c, s, "delete");
}

/* ix_has_children() tells whether directory ino has any entry. */
int ix_has_children(struct ix_conn *c, uint64_t ino, bool *yes)
{
	int rc = 0, src;
	sqlite3_stmt *s = stmt(c, S_HAS_CHILDREN, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	src = step(c, s);
	*yes = src == SQLITE_ROW;
	rc = src == SQLITE_ROW || src == SQLITE_DONE
		     ? 0
		     : ix_errno(c, src, "children");
	done(s);
	return rc;
}

/* ix_readdir() fills up to max entries of dir with ino > cursor, by ino. */
int ix_readdir(struct ix_conn *c, uint64_t dir, uint64_t cursor,
	       struct store_dirent *ents, size_t max, size_t *n)
{
	int rc = 0, src;
	sqlite3_stmt *s = stmt(c, S_READDIR, &rc);
	size_t i = 0;

	*n = 0;
	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)dir);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)cursor);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
	while (i < max && (src = step(c, s)) == SQLITE_ROW) {
		const void *name = sqlite3_column_blob(s, 11);
		size_t len = (size_t)sqlite3_column_bytes(s, 11);

		if (len > STORE_MAX_NAME)
			len = STORE_MAX_NAME;
		row_attr(s, &ents[i].attr);
		ents[i].cursor = ents[i].attr.ino;
		memcpy(ents[i].name, name, len);
		ents[i].name[len] = '\0';
		i++;
	}
	if (i < max && src != SQLITE_DONE)
		rc = ix_errno(c, src, "readdir");
	done(s);
	*n = i;
	return rc;
}

/* ix_note_write() records size and times of a file written in place and
 * drops its cached sha-256. -ENOENT when ino is gone. */
int ix_note_write(struct ix_conn *c, uint64_t ino, uint64_t size,
		  int64_t mtime, int64_t ctime)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, S_NOTE_WRITE, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)size);
	sqlite3_bind_int64(s, 3, mtime);
	sqlite3_bind_int64(s, 4, ctime);
	rc = run(c, s, "note write");
	if (rc == 0 && sqlite3_changes(c->ic_db) == 0)
		rc = -ENOENT;
	return rc;
}

/* ix_set_sha256() stores sha (NULL clears it) if ino still holds blob;
 * *changed tells whether it did. */
int ix_set_sha256(struct ix_conn *c, uint64_t ino, uint64_t blob,
		  const uint8_t *sha, bool *changed)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, S_SET_SHA, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)blob);
	if (sha)
		sqlite3_bind_blob(s, 3, sha, STORE_SHA256_LEN,
				  SQLITE_TRANSIENT);
	rc = run(c, s, "set sha256");
	*changed = rc == 0 && sqlite3_changes(c->ic_db) > 0;
	return rc;
}

/* ix_xattr_get(): see store_xattr_get(). */
int ix_xattr_get(struct ix_conn *c, uint64_t ino, const char *name,
		 void *buf, size_t size, size_t *len)
{
	int rc = 0, src;
	sqlite3_stmt *s = stmt(c, S_XGET, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	src = step(c, s);
	if (src == SQLITE_ROW) {
		const void *v = sqlite3_column_blob(s, 0);
		size_t n = (size_t)sqlite3_column_bytes(s, 0);

		*len = n;
		if (size > 0) {
			if (n > size)
				rc = -ERANGE;
			else if (n)
				memcpy(buf, v, n);
		}
	} else if (src == SQLITE_DONE) {
		rc = -ENODATA;
	} else {
		rc = ix_errno(c, src, "xattr get");
	}
	done(s);
	return rc;
}

/* ix_xattr_set(): see store_xattr_set(). The caller checked ino. */
int ix_xattr_set(struct ix_conn *c, uint64_t ino, const char *name,
		 const void *value, size_t size, int flags)
{
	int rc = 0, src;
	sqlite3_stmt *s;

	if (flags & (STORE_XATTR_CREATE | STORE_XATTR_REPLACE)) {
		bool exists;

		s = stmt(c, S_XEXISTS, &rc);
		if (!s)
			return rc;
		sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
		sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
		src = step(c, s);
		exists = src == SQLITE_ROW;
		rc = exists || src == SQLITE_DONE ? 0
						  : ix_errno(c, src, "xattr");
		done(s);
		if (rc < 0)
			return rc;
		if ((flags & STORE_XATTR_CREATE) && exists)
			return -EEXIST;
		if ((flags & STORE_XATTR_REPLACE) && !exists)
			return -ENODATA;
	}
	s = stmt(c, S_XSET, &rc);
	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 3, size ? value : "", (int)size,
			  SQLITE_TRANSIENT);
	return run(c, s, "xattr set");
}

/* ix_xattr_list(): see store_xattr_list(). */
int ix_xattr_list(struct ix_conn *c, uint64_t ino, char *buf, size_t size,
		  size_t *len)
{
	int rc = 0, src;
	sqlite3_stmt *s = stmt(c, S_XLIST, &rc);
	size_t need = 0;

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	while ((src = step(c, s)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);
		size_t n = (size_t)sqlite3_column_bytes(s, 0) + 1;

		if (size > 0) {
			if (need + n > size) {
				rc = -ERANGE;
				break;
			}
			memcpy(buf + need, t, n);
		}
		need += n;
	}
	if (rc == 0 && src != SQLITE_DONE)
		rc = ix_errno(c, src, "xattr list");
	done(s);
	*len = need;
	return rc;
}

/* ix_xattr_remove(): -ENODATA when name is not set. */
int ix_xattr_remove(struct ix_conn *c, uint64_t ino, const char *name)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, S_XREMOVE, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	rc = run(c, s, "xattr remove");
	if (rc == 0 && sqlite3_changes(c->ic_db) == 0)
		rc = -ENODATA;
	return rc;
}

/* Prepares an ad-hoc statement, finalized by the caller. */
static int query(struct ix_conn *c, const char *sql, sqlite3_stmt **out)
{
	int src = sqlite3_prepare_v2(c->ic_db, sql, -1, out, NULL);

	return src == SQLITE_OK ? 0 : ix_errno(c, src, "prepare");
}

/* ix_stats() counts files, directories, symlinks and bytes by origin. */
int ix_stats(struct ix_conn *c, struct store_stats *out)
{
	sqlite3_stmt *s;
	int rc, src;

	memset(out, 0, sizeof(*out));
	rc = query(c,
		   "SELECT mode & 61440, origin, count(*), total(size) "
		   "FROM inode WHERE nlink > 0 GROUP BY 1, 2",
		   &s);
	if (rc < 0)
		return rc;
	while ((src = step(c, s)) == SQLITE_ROW) {
		uint32_t type = (uint32_t)sqlite3_column_int64(s, 0);
		int origin = sqlite3_column_int(s, 1);
		uint64_t count = (uint64_t)sqlite3_column_int64(s, 2);
		uint64_t bytes = (uint64_t)sqlite3_column_double(s, 3);

		if (type == S_IFDIR) {
			out->dirs += count;
		} else if (type == S_IFLNK) {
			out->symlinks += count;
		} else if (type == S_IFREG) {
			out->files += count;
			out->bytes += bytes;
			if (origin == STORE_ORIGIN_NET) {
				out->net_files += count;
				out->net_bytes += bytes;
			} else if (origin == STORE_ORIGIN_LOCAL) {
				out->local_files += count;
				out->local_bytes += bytes;
			}
		}
	}
	rc = src == SQLITE_DONE ? 0 : ix_errno(c, src, "stats");
	sqlite3_finalize(s);
	return rc;
}

/* ix_count() counts every inode row. */
int ix_count(struct ix_conn *c, uint64_t *inodes)
{
	sqlite3_stmt *s;
	int rc, src;

	rc = query(c, "SELECT count(*) FROM inode", &s);
	if (rc < 0)
		return rc;
	src = step(c, s);
	*inodes = src == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
	rc = src == SQLITE_ROW ? 0 : ix_errno(c, src, "count");
	sqlite3_finalize(s);
	return rc;
}

static int id_list(struct ix_conn *c, const char *sql, uint64_t **ids,
		   size_t *n)
{
	sqlite3_stmt *s;
	uint64_t *v = NULL, *nv;
	size_t len = 0, cap = 0;
	int rc, src;

	rc = query(c, sql, &s);
	if (rc < 0)
		return rc;
	while ((src = step(c, s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 256;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		v[len++] = (uint64_t)sqlite3_column_int64(s, 0);
	}
	rc = src == SQLITE_DONE ? 0 : ix_errno(c, src, "list");
out:
	sqlite3_finalize(s);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*ids = v;
	*n = len;
	return 0;
}

/* ix_max_ino() returns the highest inode number in use. */
int ix_max_ino(struct ix_conn *c, uint64_t *max)
{
	sqlite3_stmt *s;
	int rc, src;

	rc = query(c, "SELECT max(ino) FROM inode", &s);
	if (rc < 0)
		return rc;
	src = step(c, s);
	*max = src == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
	rc = src == SQLITE_ROW ? 0 : ix_errno(c, src, "max ino");
	sqlite3_finalize(s);
	return rc;
}

/* ix_blob_ids() lists every referenced blob id, ascending, in a malloc'ed
 * array the caller frees. */
int ix_blob_ids(struct ix_conn *c, uint64_t **ids, size_t *n)
{
	return id_list(c,
		       "SELECT blob FROM inode WHERE blob IS NOT NULL "
		       "ORDER BY blob",
		       ids, n);
}

/* ix_unreachable() lists the inodes whose parent exists and is a
 * directory, yet which cannot be reached from the root: directory loops
 * and what hangs below them. */
int ix_unreachable(struct ix_conn *c, uint64_t **inos, size_t *n)
{
	return id_list(c,
		       "WITH RECURSIVE reach(ino) AS (SELECT 1 UNION "
		       "SELECT i.ino FROM inode i JOIN reach r "
		       "ON i.parent = r.ino) "
		       "SELECT i.ino FROM inode i JOIN inode p "
		       "ON p.ino = i.parent WHERE (p.mode & 61440) = 16384 "
		       "AND i.ino NOT IN (SELECT ino FROM reach) "
		       "ORDER BY i.ino",
		       inos, n);
}

/* ix_integrity() runs PRAGMA integrity_check, handing each problem line to
 * line() and counting them in *problems. */
int ix_integrity(struct ix_conn *c, void (*line)(void *arg, const char *text),
		 void *arg, uint64_t *problems)
{
	sqlite3_stmt *s;
	int rc, src;

	*problems = 0;
	rc = query(c, "PRAGMA integrity_check", &s);
	if (rc < 0)
		return rc;
	while ((src = step(c, s)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);

		if (t && strcmp(t, "ok") == 0)
			continue;
		(*problems)++;
		line(arg, t ? t : "?");
	}
	rc = src == SQLITE_DONE ? 0 : ix_errno(c, src, "integrity_check");
	sqlite3_finalize(s);
	return rc;
}

/* ix_fsck_rows() calls fn for every inode row with what fsck needs to
 * know about its parent; a negative return from fn stops the walk. */
int ix_fsck_rows(struct ix_conn *c,
		 int (*fn)(void *arg, const struct ix_fsck_row *row), void *arg)
{
	sqlite3_stmt *s;
	int rc, src;

	rc = query(c,
		   "SELECT i.ino, i.parent, i.mode, i.nlink, i.uid, i.gid, "
		   "i.size, i.atime_ns, i.mtime_ns, i.ctime_ns, i.blob, "
		   "i.parent IS NULL, p.ino IS NOT NULL, p.mode, "
		   "i.target IS NOT NULL "
		   "FROM inode i LEFT JOIN inode p ON p.ino = i.parent",
		   &s);
	if (rc < 0)
		return rc;
	while ((src = step(c, s)) == SQLITE_ROW) {
		struct ix_fsck_row r;

		row_attr(s, &r.attr);
		r.parent_null = sqlite3_column_int(s, 11);
		r.parent_found = sqlite3_column_int(s, 12);
		r.parent_mode = (uint32_t)sqlite3_column_int64(s, 13);
		r.has_target = sqlite3_column_int(s, 14);
		rc = fn(arg, &r);
		if (rc < 0)
			break;
	}
	if (rc == 0 && src != SQLITE_DONE)
		rc = ix_errno(c, src, "fsck rows");
	sqlite3_finalize(s);
	return rc;
}

/* ix_fix_size() sets the recorded size and mtime of ino to those of its
 * blob and drops its sha-256 (fsck repair, recovery). */
int ix_fix_size(struct ix_conn *c, uint64_t ino, uint64_t size,
		int64_t mtime_ns)
{
	int rc = 0;
	sqlite3_stmt *s = stmt(c, S_FIX_SIZE, &rc);

	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)size);
	sqlite3_bind_int64(s, 3, mtime_ns);
	return run(c, s, "fix size");
}
