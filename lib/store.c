/*
 * store.c - the SQLite store: incidents, actions and the hash-chained audit
 * log.  See store.h for the contract.
 *
 * Every statement is prepared with bound parameters; no SQL text is ever
 * built from data.  Every action transition is one BEGIN IMMEDIATE
 * transaction that reads the current state, refuses (writing nothing) unless
 * it is the allowed predecessor, updates the row and appends exactly one
 * audit row.
 *
 * Limits (each refused with STORE_EINVAL and a message naming the field):
 *   summary, reason, comment, detail      STORE_MAX_TEXT  (4 KiB)
 *   root_cause                            STORE_MAX_LONG  (64 KiB)
 *   namespace, kind, name, backend, risk,
 *   fingerprint, analyzer, uid, user name STORE_MAX_NAME  (512 bytes)
 *   api_path                              STORE_MAX_PATH  (2 KiB)
 *   any JSON value (canonical form)       STORE_MAX_JSON  (1 MiB)
 * List views return at most STORE_MAX_ROWS rows.
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "util.h"

#define STORE_SCHEMA_VERSION	1
#define STORE_MAX_TEXT		4096
#define STORE_MAX_LONG		65536
#define STORE_MAX_NAME		512
#define STORE_MAX_PATH		2048
#define STORE_MAX_JSON		(1024 * 1024)
#define STORE_MAX_ROWS		100000
#define STORE_ERRLEN		512
#define HASH_HEXLEN		64

const struct store_actor store_actor_daemon = { -1, "remedyd" };

struct store {
	sqlite3	*db;
	char	 err[STORE_ERRLEN];
};

static const char zero_hash[HASH_HEXLEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/*
 * Schema version 1.  The audit table refuses UPDATE and DELETE through
 * triggers: the hash chain detects tampering, the triggers stop accidents.
 */
static const char schema_v1[] =
    "CREATE TABLE incidents ("
    " id INTEGER PRIMARY KEY,"
    " fingerprint TEXT NOT NULL UNIQUE,"
    " analyzer TEXT, namespace TEXT, kind TEXT, name TEXT, uid TEXT,"
    " reason TEXT, summary TEXT,"
    " state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    " resolved_at INTEGER NOT NULL DEFAULT 0,"
    " pods INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX incidents_state ON incidents(state);"
    "CREATE TABLE actions ("
    " id INTEGER PRIMARY KEY,"
    " incident_id INTEGER NOT NULL REFERENCES incidents(id),"
    " state TEXT NOT NULL,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " namespace TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,"
    " api_path TEXT, backend TEXT, risk TEXT, summary TEXT NOT NULL,"
    " root_cause TEXT, evidence TEXT, patch TEXT, changes TEXT,"
    " reason TEXT, result TEXT,"
    " approved_by TEXT, approved_uid INTEGER NOT NULL DEFAULT -1);"
    "CREATE INDEX actions_state ON actions(state);"
    "CREATE INDEX actions_incident ON actions(incident_id);"
    "CREATE TABLE audit ("
    " seq INTEGER PRIMARY KEY,"
    " time_ms INTEGER NOT NULL,"
    " action_id INTEGER NOT NULL,"
    " event TEXT NOT NULL, actor TEXT NOT NULL, actor_uid INTEGER NOT NULL,"
    " detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_action ON audit(action_id);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "PRAGMA user_version = 1;";

#define ACTION_COLS \
    "SELECT id, incident_id, state, created, updated, namespace, kind, name," \
    " api_path, backend, risk, summary, root_cause, evidence, patch, changes," \
    " reason, result, approved_by, approved_uid FROM actions"

#define INCIDENT_COLS \
    "SELECT id, fingerprint, analyzer, namespace, kind, name, uid, reason," \
    " summary, state, first_seen, last_seen, resolved_at, pods FROM incidents"

static int
seterr(struct store *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record a message for store_errmsg() and return code. */
static int
seterr(struct store *s, int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return code;
}

/* Record the current SQLite error, prefixed by what we were doing. */
static int
dberr(struct store *s, const char *what)
{
	return seterr(s, STORE_EDB, "store: %s: %s", what,
	    sqlite3_errmsg(s->db));
}

/* Prepare a constant statement; STORE_EDB with a message on failure. */
static int
prep(struct store *s, const char *sql, sqlite3_stmt **st)
{
	*st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return dberr(s, "prepare");
	return STORE_OK;
}

static int
begin(struct store *s)
{
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return dberr(s, "begin");
	return STORE_OK;
}

static int
commit(struct store *s)
{
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return dberr(s, "commit");
	return STORE_OK;
}

/* Roll back if a transaction is open; keeps the message already recorded. */
static void
rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Bind a string or NULL; the text is copied by SQLite. */
static int
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* Copy of a text column, or NULL for SQL NULL. */
static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? strdup((const char *)v) : NULL;
}

/* A text column, "" for SQL NULL; valid until the next step. */
static const char *
col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? (const char *)v : "";
}

/*
 * Check a text argument: present when required, at most max bytes, valid
 * UTF-8 (so every JSON view can carry it).  STORE_EINVAL naming the field.
 */
static int
check_text(struct store *s, const char *what, const char *v, size_t max,
    int required)
{
	json_t	*j;

	if (v == NULL)
		return required ? seterr(s, STORE_EINVAL,
		    "store: %s is required", what) : STORE_OK;
	if (strlen(v) > max)
		return seterr(s, STORE_EINVAL,
		    "store: %s is longer than %zu bytes", what, max);
	if ((j = json_string(v)) == NULL)
		return seterr(s, STORE_EINVAL,
		    "store: %s is not valid UTF-8", what);
	json_decref(j);
	return STORE_OK;
}

/*
 * Canonical text of a JSON value (NULL for NULL), at most STORE_MAX_JSON
 * bytes.  When kind is not 0 the value must have that type.  The caller
 * frees *out.
 */
static int
canon_json(struct store *s, const char *what, const json_t *v, int kind,
    char **out)
{
	*out = NULL;
	if (v == NULL)
		return STORE_OK;
	if (kind != 0 && (int)json_typeof(v) != kind)
		return seterr(s, STORE_EINVAL, "store: %s must be a JSON %s",
		    what, kind == JSON_ARRAY ? "array" : "object");
	if ((*out = json_canon(v)) == NULL)
		return seterr(s, STORE_EINVAL,
		    "store: %s cannot be serialised", what);
	if (strlen(*out) > STORE_MAX_JSON) {
		free(*out);
		*out = NULL;
		return seterr(s, STORE_EINVAL,
		    "store: %s is larger than %d bytes", what, STORE_MAX_JSON);
	}
	return STORE_OK;
}

/* Parse a JSON column (NULL stays NULL); STORE_EDB naming row and column. */
static int
col_json(struct store *s, sqlite3_stmt *st, int i, const char *what,
    int64_t id, json_t **out)
{
	const unsigned char	*v = sqlite3_column_text(st, i);
	json_error_t		 e;

	*out = NULL;
	if (v == NULL)
		return STORE_OK;
	if ((*out = json_loads((const char *)v, JSON_DECODE_ANY, &e)) == NULL)
		return seterr(s, STORE_EDB, "store: %s of %lld is not valid "
		    "JSON: %s", what, (long long)id, e.text);
	return STORE_OK;
}

/* A JSON string for s, or null when s is NULL (or not UTF-8). */
static json_t *
jstr(const char *v)
{
	json_t *j;

	if (v == NULL || (j = json_string(v)) == NULL)
		return json_null();
	return j;
}

/* RFC 3339 string for a unix-ms time, or null for 0. */
static json_t *
jtime(int64_t ms)
{
	char	buf[64];

	if (ms == 0)
		return json_null();
	fmt_rfc3339(ms, buf, sizeof(buf));
	return json_string(buf);
}

/* A new reference to v, or null. */
static json_t *
jref(json_t *v)
{
	return v ? json_incref(v) : json_null();
}

/* --- open / close --- */

/*
 * Run a constant PRAGMA that returns one row and copy its first column into
 * buf (at most len bytes).
 */
static int
pragma(struct store *s, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	if ((rc = prep(s, sql, &st)) != STORE_OK)
		return rc;
	rc = STORE_EDB;
	if (sqlite3_step(st) != SQLITE_ROW) {
		dberr(s, sql);
		goto out;
	}
	snprintf(buf, len, "%s", col_str(st, 0));
	rc = STORE_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Bring the schema to STORE_SCHEMA_VERSION: create it in an empty database,
 * accept the current version, refuse a newer one (written by a newer remedy:
 * running against it could corrupt data it relies on).
 */
static int
schema(struct store *s)
{
	char	 buf[32];
	long	 v;
	int	 rc;

	if ((rc = pragma(s, "PRAGMA user_version", buf, sizeof(buf))) !=
	    STORE_OK)
		return rc;
	v = strtol(buf, NULL, 10);
	if (v == STORE_SCHEMA_VERSION)
		return STORE_OK;
	if (v != 0)
		return seterr(s, STORE_EDB, "store: database schema version "
		    "%ld is not %d (written by a %s remedy); refusing to use "
		    "it", v, STORE_SCHEMA_VERSION,
		    v > STORE_SCHEMA_VERSION ? "newer" : "different");
	if ((rc = begin(s)) != STORE_OK)
		return rc;
	if (sqlite3_exec(s->db, schema_v1, NULL, NULL, NULL) != SQLITE_OK) {
		dberr(s, "create schema");
		rollback(s);
		return STORE_EDB;
	}
	return commit(s);
}

/*
 * Open the database.  The directory must exist: a missing one is reported
 * by name rather than as SQLite's "unable to open database file".
 *
 * synchronous=FULL: in WAL mode NORMAL keeps the database consistent but
 * may lose the last committed transactions on power loss.  An approval or
 * an "applying" row that vanishes after the PATCH went out would break the
 * audit trail and "nothing applied twice", so every commit is synced; the
 * write rate (a few rows per action) makes the cost irrelevant.
 */
struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store	*s = NULL;
	struct stat	 sb;
	char		 dir[PATH_MAX], mode[32];
	char		*slash;
	int		 ok = 0;

	if (path == NULL || *path == '\0' || strlen(path) >= sizeof(dir)) {
		snprintf(err, errlen, "store: bad database path");
		return NULL;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(dir, &sb) == -1) {
			snprintf(err, errlen, "store: %s: directory %s: %s",
			    path, dir, strerror(errno));
			return NULL;
		}
		if (!S_ISDIR(sb.st_mode)) {
			snprintf(err, errlen, "store: %s: %s is not a "
			    "directory", path, dir);
			return NULL;
		}
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "store: %s: out of memory", path);
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store: %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	if (pragma(s, "PRAGMA journal_mode=WAL", mode, sizeof(mode)) !=
	    STORE_OK)
		goto fail;
	if (strcmp(mode, "wal") != 0) {
		seterr(s, STORE_EDB, "store: cannot enable WAL (journal mode "
		    "is %s)", mode);
		goto fail;
	}
	if (sqlite3_exec(s->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) !=
	    SQLITE_OK || sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL,
	    NULL, NULL) != SQLITE_OK) {
		dberr(s, "pragma");
		goto fail;
	}
	if (schema(s) != STORE_OK)
		goto fail;
	ok = 1;
	goto out;
fail:
	snprintf(err, errlen, "%s: %s", path, s->err);
out:
	if (!ok) {
		store_close(s);
		s = NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("store: close: %s", sqlite3_errmsg(s->db));
	free(s);
}

const char *
store_errmsg(struct store *s)
{
	return s->err;
}

/* --- audit chain --- */

/*
 * hex(sha256(prev || canon)) into out (HASH_HEXLEN + 1 bytes).  Returns -1
 * only when libcrypto fails.
 */
static int
chain_hash(const char *prev, const char *canon, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	EVP_MD_CTX		*ctx;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	int			 rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, prev, strlen(prev)) != 1 ||
	    EVP_DigestUpdate(ctx, canon, strlen(canon)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen * 2 != HASH_HEXLEN)
		goto out;
	for (i = 0; i < mdlen; i++) {
		out[i * 2] = hex[md[i] >> 4];
		out[i * 2 + 1] = hex[md[i] & 0xf];
	}
	out[HASH_HEXLEN] = '\0';
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/*
 * Canonical text of one audit row: the key-sorted compact JSON of
 * {action_id, actor, actor_uid, detail, event, seq, time}.  Caller frees.
 */
static char *
canon_row(int64_t seq, int64_t time_ms, int64_t action_id, const char *event,
    const char *actor, int64_t actor_uid, json_t *detail)
{
	json_t	*o;
	char	*c = NULL;

	o = json_pack("{s:I, s:s, s:I, s:O, s:s, s:I, s:I}",
	    "action_id", (json_int_t)action_id, "actor", actor,
	    "actor_uid", (json_int_t)actor_uid, "detail", detail,
	    "event", event, "seq", (json_int_t)seq, "time", (json_int_t)time_ms);
	if (o != NULL)
		c = json_canon(o);
	json_decref(o);
	return c;
}

/*
 * Append one audit row inside the caller's transaction: the next seq, the
 * previous row's hash, the canonical detail and the chained hash.
 */
static int
audit_append(struct store *s, int64_t when, int64_t action_id,
    const char *event, const struct store_actor *who, json_t *detail)
{
	sqlite3_stmt	*st = NULL;
	char		 prev[HASH_HEXLEN + 1], hash[HASH_HEXLEN + 1];
	char		*dtext = NULL, *row = NULL;
	int64_t		 seq = 1;
	int		 rc, step;

	if ((rc = canon_json(s, "audit detail", detail, JSON_OBJECT, &dtext)) !=
	    STORE_OK)
		goto out;
	if ((rc = prep(s, "SELECT seq, hash FROM audit ORDER BY seq DESC "
	    "LIMIT 1", &st)) != STORE_OK)
		goto out;
	rc = STORE_EDB;
	snprintf(prev, sizeof(prev), "%s", zero_hash);
	if ((step = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0) + 1;
		snprintf(prev, sizeof(prev), "%s", col_str(st, 1));
	} else if (step != SQLITE_DONE) {
		dberr(s, "read audit tail");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((row = canon_row(seq, when, action_id, event, who->name, who->uid,
	    detail)) == NULL) {
		seterr(s, STORE_EDB, "store: cannot serialise audit row");
		goto out;
	}
	if (chain_hash(prev, row, hash) == -1) {
		seterr(s, STORE_EDB, "store: sha256 failed");
		goto out;
	}
	if ((rc = prep(s, "INSERT INTO audit (seq, time_ms, action_id, event, "
	    "actor, actor_uid, detail, prev_hash, hash) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", &st)) != STORE_OK)
		goto out;
	rc = STORE_EDB;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, when);
	sqlite3_bind_int64(st, 3, action_id);
	bind_text(st, 4, event);
	bind_text(st, 5, who->name);
	sqlite3_bind_int64(st, 6, who->uid);
	bind_text(st, 7, dtext);
	bind_text(st, 8, prev);
	bind_text(st, 9, hash);
	if (sqlite3_step(st) != SQLITE_DONE) {
		dberr(s, "insert audit row");
		goto out;
	}
	rc = STORE_OK;
out:
	sqlite3_finalize(st);
	free(dtext);
	free(row);
	return rc;
}

/* --- incidents --- */

static void
incident_from_row(sqlite3_stmt *st, struct store_incident *o)
{
	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, 0);
	o->fingerprint = col_dup(st, 1);
	o->analyzer = col_dup(st, 2);
	o->namespace = col_dup(st, 3);
	o->kind = col_dup(st, 4);
	o->name = col_dup(st, 5);
	o->uid = col_dup(st, 6);
	o->reason = col_dup(st, 7);
	o->summary = col_dup(st, 8);
	o->state = col_dup(st, 9);
	o->first_seen = sqlite3_column_int64(st, 10);
	o->last_seen = sqlite3_column_int64(st, 11);
	o->resolved_at = sqlite3_column_int64(st, 12);
	o->pods = sqlite3_column_int(st, 13);
}

static int
incident_check(struct store *s, const struct store_incident *inc)
{
	int	rc;

	if ((rc = check_text(s, "incident fingerprint", inc->fingerprint,
	    STORE_MAX_NAME, 1)) != STORE_OK ||
	    (rc = check_text(s, "incident analyzer", inc->analyzer,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = check_text(s, "incident namespace", inc->namespace,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = check_text(s, "incident kind", inc->kind,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = check_text(s, "incident name", inc->name,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = check_text(s, "incident uid", inc->uid,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = check_text(s, "incident reason", inc->reason,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = check_text(s, "incident summary", inc->summary,
	    STORE_MAX_TEXT, 0)) != STORE_OK)
		return rc;
	if (inc->pods < 0)
		return seterr(s, STORE_EINVAL, "store: incident pods < 0");
	return STORE_OK;
}

/*
 * Insert, refresh or reopen the incident with inc->fingerprint, in one
 * transaction.  first_seen and last_seen default to now when 0; a refresh
 * keeps first_seen.  Only inc->id is written back.
 */
int
store_incident_upsert(struct store *s, struct store_incident *inc)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 id = 0, last, first;
	int		 rc, step;

	if ((rc = incident_check(s, inc)) != STORE_OK)
		return rc;
	last = inc->last_seen ? inc->last_seen : now_ms();
	first = inc->first_seen ? inc->first_seen : last;
	if ((rc = begin(s)) != STORE_OK)
		return rc;
	if ((rc = prep(s, "SELECT id FROM incidents WHERE fingerprint = ?",
	    &st)) != STORE_OK)
		goto out;
	rc = STORE_EDB;
	bind_text(st, 1, inc->fingerprint);
	if ((step = sqlite3_step(st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (step != SQLITE_DONE) {
		dberr(s, "find incident");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (id == 0) {
		if ((rc = prep(s, "INSERT INTO incidents (fingerprint, "
		    "analyzer, namespace, kind, name, uid, reason, summary, "
		    "state, first_seen, last_seen, resolved_at, pods) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, 0, ?)",
		    &st)) != STORE_OK)
			goto out;
		bind_text(st, 1, inc->fingerprint);
		bind_text(st, 2, inc->analyzer);
		bind_text(st, 3, inc->namespace);
		bind_text(st, 4, inc->kind);
		bind_text(st, 5, inc->name);
		bind_text(st, 6, inc->uid);
		bind_text(st, 7, inc->reason);
		bind_text(st, 8, inc->summary);
		sqlite3_bind_int64(st, 9, first);
		sqlite3_bind_int64(st, 10, last);
		sqlite3_bind_int(st, 11, inc->pods);
	} else {
		if ((rc = prep(s, "UPDATE incidents SET last_seen = ?, "
		    "pods = ?, summary = coalesce(?, summary), state = 'open', "
		    "resolved_at = 0 WHERE id = ?", &st)) != STORE_OK)
			goto out;
		sqlite3_bind_int64(st, 1, last);
		sqlite3_bind_int(st, 2, inc->pods);
		bind_text(st, 3, inc->summary);
		sqlite3_bind_int64(st, 4, id);
	}
	rc = STORE_EDB;
	if (sqlite3_step(st) != SQLITE_DONE) {
		dberr(s, id ? "update incident" : "insert incident");
		goto out;
	}
	if (id == 0)
		id = sqlite3_last_insert_rowid(s->db);
	if ((rc = commit(s)) != STORE_OK)
		goto out;
	inc->id = id;
out:
	sqlite3_finalize(st);
	if (rc != STORE_OK)
		rollback(s);
	return rc;
}

/*
 * Mark an open incident resolved at when (now if 0).  STORE_ENOTFOUND for
 * an unknown id, STORE_EBADSTATE when it is already resolved.
 */
int
store_incident_resolve(struct store *s, int64_t id, int64_t when)
{
	sqlite3_stmt	*st = NULL;
	int		 rc, step;

	if ((rc = begin(s)) != STORE_OK)
		return rc;
	if ((rc = prep(s, "SELECT state FROM incidents WHERE id = ?", &st)) !=
	    STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		rc = seterr(s, STORE_ENOTFOUND, "incident %lld not found",
		    (long long)id);
		goto out;
	} else if (step != SQLITE_ROW) {
		rc = dberr(s, "read incident");
		goto out;
	}
	if (strcmp(col_str(st, 0), "open") != 0) {
		rc = seterr(s, STORE_EBADSTATE, "incident %lld is %s, not open",
		    (long long)id, col_str(st, 0));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = prep(s, "UPDATE incidents SET state = 'resolved', "
	    "resolved_at = ? WHERE id = ?", &st)) != STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, when ? when : now_ms());
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = dberr(s, "resolve incident");
		goto out;
	}
	rc = commit(s);
out:
	sqlite3_finalize(st);
	if (rc != STORE_OK)
		rollback(s);
	return rc;
}

/* Fill *out from the one incident a bound statement selects. */
static int
incident_one(struct store *s, sqlite3_stmt *st, const char *what,
    struct store_incident *out)
{
	int	step;

	memset(out, 0, sizeof(*out));
	if ((step = sqlite3_step(st)) == SQLITE_DONE)
		return seterr(s, STORE_ENOTFOUND, "incident %s not found",
		    what);
	if (step != SQLITE_ROW)
		return dberr(s, "read incident");
	incident_from_row(st, out);
	if (out->fingerprint == NULL || out->state == NULL) {
		store_incident_clear(out);
		return seterr(s, STORE_EDB, "store: out of memory");
	}
	return STORE_OK;
}

int
store_incident_get(struct store *s, int64_t id, struct store_incident *out)
{
	char		 what[32];
	sqlite3_stmt	*st = NULL;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if ((rc = prep(s, INCIDENT_COLS " WHERE id = ?", &st)) != STORE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	snprintf(what, sizeof(what), "%lld", (long long)id);
	rc = incident_one(s, st, what, out);
	sqlite3_finalize(st);
	return rc;
}

int
store_incident_find(struct store *s, const char *fingerprint,
    struct store_incident *out)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_text(s, "fingerprint", fingerprint, STORE_MAX_NAME,
	    1)) != STORE_OK)
		return rc;
	if ((rc = prep(s, INCIDENT_COLS " WHERE fingerprint = ?", &st)) !=
	    STORE_OK)
		return rc;
	bind_text(st, 1, fingerprint);
	rc = incident_one(s, st, fingerprint, out);
	sqlite3_finalize(st);
	return rc;
}

void
store_incident_clear(struct store_incident *inc)
{
	if (inc == NULL)
		return;
	free(inc->fingerprint);
	free(inc->analyzer);
	free(inc->namespace);
	free(inc->kind);
	free(inc->name);
	free(inc->uid);
	free(inc->reason);
	free(inc->summary);
	free(inc->state);
	memset(inc, 0, sizeof(*inc));
}

json_t *
store_incident_json(const struct store_incident *inc)
{
	json_t	*o;

	if ((o = json_object()) == NULL)
		return NULL;
	json_object_set_new(o, "id", json_integer(inc->id));
	json_object_set_new(o, "fingerprint", jstr(inc->fingerprint));
	json_object_set_new(o, "analyzer", jstr(inc->analyzer));
	json_object_set_new(o, "namespace", jstr(inc->namespace));
	json_object_set_new(o, "kind", jstr(inc->kind));
	json_object_set_new(o, "name", jstr(inc->name));
	json_object_set_new(o, "uid", jstr(inc->uid));
	json_object_set_new(o, "reason", jstr(inc->reason));
	json_object_set_new(o, "summary", jstr(inc->summary));
	json_object_set_new(o, "state", jstr(inc->state));
	json_object_set_new(o, "pods", json_integer(inc->pods));
	json_object_set_new(o, "first_seen", jtime(inc->first_seen));
	json_object_set_new(o, "last_seen", jtime(inc->last_seen));
	json_object_set_new(o, "resolved_at", jtime(inc->resolved_at));
	return o;
}

/*
 * Incidents, newest first, optionally only those in one state; at most
 * STORE_MAX_ROWS.  NULL on error (message via store_errmsg()).
 */
json_t *
store_incidents_json(struct store *s, const char *state_or_null)
{
	sqlite3_stmt		*st = NULL;
	struct store_incident	 inc;
	json_t			*arr = NULL, *o;
	int			 step, ok = 0;

	if (prep(s, INCIDENT_COLS " WHERE (?1 IS NULL OR state = ?1) "
	    "ORDER BY id DESC LIMIT ?2", &st) != STORE_OK)
		return NULL;
	bind_text(st, 1, state_or_null);
	sqlite3_bind_int(st, 2, STORE_MAX_ROWS);
	if ((arr = json_array()) == NULL)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		incident_from_row(st, &inc);
		o = store_incident_json(&inc);
		store_incident_clear(&inc);
		if (o == NULL || json_array_append_new(arr, o) == -1) {
			seterr(s, STORE_EDB, "store: out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE) {
		dberr(s, "list incidents");
		goto out;
	}
	ok = 1;
out:
	sqlite3_finalize(st);
	if (!ok) {
		json_decref(arr);
		arr = NULL;
	}
	return arr;
}

/* --- actions --- */

static int
action_check(struct store *s, const struct store_action *a,
    const char *refused_reason)
{
	int	rc;

	if ((rc = check_text(s, "action namespace", a->namespace,
	    STORE_MAX_NAME, 1)) != STORE_OK ||
	    (rc = check_text(s, "action kind", a->kind, STORE_MAX_NAME,
	    1)) != STORE_OK ||
	    (rc = check_text(s, "action name", a->name, STORE_MAX_NAME,
	    1)) != STORE_OK ||
	    (rc = check_text(s, "action api_path", a->api_path,
	    STORE_MAX_PATH, 0)) != STORE_OK ||
	    (rc = check_text(s, "action backend", a->backend, STORE_MAX_NAME,
	    0)) != STORE_OK ||
	    (rc = check_text(s, "action risk", a->risk, STORE_MAX_NAME,
	    0)) != STORE_OK ||
	    (rc = check_text(s, "action summary", a->summary, STORE_MAX_TEXT,
	    1)) != STORE_OK ||
	    (rc = check_text(s, "action root_cause", a->root_cause,
	    STORE_MAX_LONG, 0)) != STORE_OK ||
	    (rc = check_text(s, "refusal reason", refused_reason,
	    STORE_MAX_TEXT, 0)) != STORE_OK)
		return rc;
	if (refused_reason == NULL && (a->patch == NULL ||
	    !json_is_array(a->patch)))
		return seterr(s, STORE_EINVAL, "store: a pending action needs "
		    "a JSON Patch array");
	return STORE_OK;
}

/*
 * Insert the action (pending, or refused with refused_reason) and its
 * "suggested" / "refused" audit row in one transaction.  STORE_ENOTFOUND
 * when the incident does not exist.
 */
int
store_action_propose(struct store *s, struct store_action *act,
    const char *refused_reason, json_t *dryrun)
{
	sqlite3_stmt	*st = NULL;
	json_t		*detail = NULL;
	char		*ev = NULL, *pa = NULL, *ch = NULL, *re = NULL, *state;
	const char	*to;
	int64_t		 now, id = 0;
	int		 rc, step;

	if ((rc = action_check(s, act, refused_reason)) != STORE_OK ||
	    (rc = canon_json(s, "action evidence", act->evidence, JSON_ARRAY,
	    &ev)) != STORE_OK ||
	    (rc = canon_json(s, "action patch", act->patch, JSON_ARRAY,
	    &pa)) != STORE_OK ||
	    (rc = canon_json(s, "action changes", act->changes, JSON_ARRAY,
	    &ch)) != STORE_OK ||
	    (rc = canon_json(s, "dry-run result", dryrun, 0, &re)) != STORE_OK)
		goto out;
	to = refused_reason ? ACTION_REFUSED : ACTION_PENDING;
	if (refused_reason)
		detail = json_pack("{s:s, s:O}", "reason", refused_reason,
		    "patch", act->patch ? act->patch : json_null());
	else
		detail = json_pack("{s:O, s:s}", "patch", act->patch,
		    "summary", act->summary);
	if (detail == NULL) {
		rc = seterr(s, STORE_EDB, "store: out of memory");
		goto out;
	}
	now = now_ms();
	if ((rc = begin(s)) != STORE_OK)
		goto out;
	if ((rc = prep(s, "SELECT 1 FROM incidents WHERE id = ?", &st)) !=
	    STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, act->incident_id);
	if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		rc = seterr(s, STORE_ENOTFOUND, "incident %lld not found",
		    (long long)act->incident_id);
		goto out;
	} else if (step != SQLITE_ROW) {
		rc = dberr(s, "read incident");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = prep(s, "INSERT INTO actions (incident_id, state, created, "
	    "updated, namespace, kind, name, api_path, backend, risk, summary, "
	    "root_cause, evidence, patch, changes, reason, result, "
	    "approved_by, approved_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, NULL, -1)", &st)) != STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, act->incident_id);
	bind_text(st, 2, to);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, now);
	bind_text(st, 5, act->namespace);
	bind_text(st, 6, act->kind);
	bind_text(st, 7, act->name);
	bind_text(st, 8, act->api_path);
	bind_text(st, 9, act->backend);
	bind_text(st, 10, act->risk);
	bind_text(st, 11, act->summary);
	bind_text(st, 12, act->root_cause);
	bind_text(st, 13, ev);
	bind_text(st, 14, pa);
	bind_text(st, 15, ch);
	bind_text(st, 16, refused_reason);
	bind_text(st, 17, re);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = dberr(s, "insert action");
		goto out;
	}
	id = sqlite3_last_insert_rowid(s->db);
	if ((rc = audit_append(s, now, id, refused_reason ? "refused" :
	    "suggested", &store_actor_daemon, detail)) != STORE_OK)
		goto out;
	if ((rc = commit(s)) != STORE_OK)
		goto out;
	if ((state = strdup(to)) != NULL) {
		free(act->state);
		act->state = state;
	}
	act->id = id;
	act->created = act->updated = now;
out:
	sqlite3_finalize(st);
	if (rc != STORE_OK)
		rollback(s);
	json_decref(detail);
	free(ev);
	free(pa);
	free(ch);
	free(re);
	return rc;
}

/* One transition: what it needs and what it writes. */
struct xition {
	int64_t				 id;
	const char			*from;		/* required state */
	const char			*to;
	const char			*event;		/* audit event */
	const struct store_actor	*who;
	json_t				*detail;	/* audit detail */
	const char			*approved_by;	/* set when not NULL */
	long				 approved_uid;
	const char			*reason;	/* set when not NULL */
	json_t				*result;	/* set when not NULL */
};

/*
 * Run one transition in one BEGIN IMMEDIATE transaction: refuse unless the
 * action is in x->from (STORE_EBADSTATE, nothing written), update state,
 * updated and the fields x sets, append the audit row, commit.
 */
static int
transition(struct store *s, const struct xition *x)
{
	sqlite3_stmt	*st = NULL;
	char		*res = NULL;
	int64_t		 now = now_ms();
	int		 rc, step;

	if (x->detail == NULL)
		return seterr(s, STORE_EDB, "store: out of memory");
	if ((rc = canon_json(s, "result", x->result, 0, &res)) != STORE_OK)
		return rc;
	if ((rc = begin(s)) != STORE_OK)
		goto out;
	if ((rc = prep(s, "SELECT state FROM actions WHERE id = ?", &st)) !=
	    STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, x->id);
	if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		rc = seterr(s, STORE_ENOTFOUND, "action %lld not found",
		    (long long)x->id);
		goto out;
	} else if (step != SQLITE_ROW) {
		rc = dberr(s, "read action");
		goto out;
	}
	if (strcmp(col_str(st, 0), x->from) != 0) {
		rc = seterr(s, STORE_EBADSTATE, "action %lld is %s, not %s",
		    (long long)x->id, col_str(st, 0), x->from);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = prep(s, "UPDATE actions SET state = ?1, updated = ?2, "
	    "approved_by = coalesce(?3, approved_by), "
	    "approved_uid = CASE WHEN ?3 IS NULL THEN approved_uid ELSE ?4 END, "
	    "reason = coalesce(?5, reason), result = coalesce(?6, result) "
	    "WHERE id = ?7 AND state = ?8", &st)) != STORE_OK)
		goto out;
	bind_text(st, 1, x->to);
	sqlite3_bind_int64(st, 2, now);
	bind_text(st, 3, x->approved_by);
	sqlite3_bind_int64(st, 4, x->approved_uid);
	bind_text(st, 5, x->reason);
	bind_text(st, 6, res);
	sqlite3_bind_int64(st, 7, x->id);
	bind_text(st, 8, x->from);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = dberr(s, "update action");
		goto out;
	}
	if (sqlite3_changes(s->db) != 1) {
		rc = seterr(s, STORE_EDB, "store: action %lld changed under "
		    "us", (long long)x->id);
		goto out;
	}
	if ((rc = audit_append(s, now, x->id, x->event, x->who, x->detail)) !=
	    STORE_OK)
		goto out;
	rc = commit(s);
out:
	sqlite3_finalize(st);
	if (rc != STORE_OK)
		rollback(s);
	free(res);
	return rc;
}

/* A caller-supplied actor: a user name of sane length. */
static int
check_actor(struct store *s, const struct store_actor *who)
{
	if (who == NULL)
		return seterr(s, STORE_EINVAL, "store: actor is required");
	return check_text(s, "actor name", who->name, STORE_MAX_NAME, 1);
}

int
store_action_approve(struct store *s, int64_t id,
    const struct store_actor *who, const char *comment)
{
	struct xition	x = { .id = id, .from = ACTION_PENDING,
			    .to = ACTION_APPROVED, .event = "approved" };
	int		rc;

	if ((rc = check_actor(s, who)) != STORE_OK ||
	    (rc = check_text(s, "comment", comment, STORE_MAX_TEXT, 0)) !=
	    STORE_OK)
		return rc;
	x.who = who;
	x.approved_by = who->name;
	x.approved_uid = who->uid;
	x.detail = comment ? json_pack("{s:s}", "comment", comment) :
	    json_object();
	rc = transition(s, &x);
	json_decref(x.detail);
	return rc;
}

int
store_action_reject(struct store *s, int64_t id,
    const struct store_actor *who, const char *reason)
{
	struct xition	x = { .id = id, .from = ACTION_PENDING,
			    .to = ACTION_REJECTED, .event = "rejected" };
	int		rc;

	if ((rc = check_actor(s, who)) != STORE_OK ||
	    (rc = check_text(s, "reason", reason, STORE_MAX_TEXT, 1)) !=
	    STORE_OK)
		return rc;
	x.who = who;
	x.reason = reason;
	x.detail = json_pack("{s:s}", "reason", reason);
	rc = transition(s, &x);
	json_decref(x.detail);
	return rc;
}

int
store_action_begin_apply(struct store *s, int64_t id)
{
	struct xition	x = { .id = id, .from = ACTION_APPROVED,
			    .to = ACTION_APPLYING, .event = "applying",
			    .who = &store_actor_daemon };
	int		rc;

	x.detail = json_object();
	rc = transition(s, &x);
	json_decref(x.detail);
	return rc;
}

int
store_action_applied(struct store *s, int64_t id, json_t *sent_patch,
    json_t *answer)
{
	struct xition	x = { .id = id, .from = ACTION_APPLYING,
			    .to = ACTION_APPLIED, .event = "applied",
			    .who = &store_actor_daemon, .result = answer };
	int		rc;

	x.detail = json_pack("{s:O, s:O}",
	    "patch", sent_patch ? sent_patch : json_null(),
	    "answer", answer ? answer : json_null());
	rc = transition(s, &x);
	json_decref(x.detail);
	return rc;
}

int
store_action_failed(struct store *s, int64_t id, const char *reason,
    json_t *answer)
{
	struct xition	x = { .id = id, .from = ACTION_APPLYING,
			    .to = ACTION_FAILED, .event = "failed",
			    .who = &store_actor_daemon, .reason = reason,
			    .result = answer };
	int		rc;

	if ((rc = check_text(s, "reason", reason, STORE_MAX_TEXT, 1)) !=
	    STORE_OK)
		return rc;
	x.detail = json_pack("{s:s, s:O}", "reason", reason,
	    "answer", answer ? answer : json_null());
	rc = transition(s, &x);
	json_decref(x.detail);
	return rc;
}

/* applied -> to, audit event "to" with {"detail": detail}. */
static int
settle(struct store *s, int64_t id, const char *to, const char *detail)
{
	struct xition	x = { .id = id, .from = ACTION_APPLIED, .to = to,
			    .event = to, .who = &store_actor_daemon };
	int		rc;

	if ((rc = check_text(s, "detail", detail, STORE_MAX_TEXT, 0)) !=
	    STORE_OK)
		return rc;
	x.detail = json_pack("{s:o}", "detail", jstr(detail));
	rc = transition(s, &x);
	json_decref(x.detail);
	return rc;
}

int
store_action_verified(struct store *s, int64_t id, const char *detail)
{
	return settle(s, id, ACTION_VERIFIED, detail);
}

int
store_action_not_recovered(struct store *s, int64_t id, const char *detail)
{
	return settle(s, id, ACTION_NOT_RECOVERED, detail);
}

int
store_action_supersede(struct store *s, int64_t id, const char *reason)
{
	struct xition	x = { .id = id, .from = ACTION_PENDING,
			    .to = ACTION_SUPERSEDED, .event = "superseded",
			    .who = &store_actor_daemon, .reason = reason };
	int		rc;

	if ((rc = check_text(s, "reason", reason, STORE_MAX_TEXT, 1)) !=
	    STORE_OK)
		return rc;
	x.detail = json_pack("{s:s}", "reason", reason);
	rc = transition(s, &x);
	json_decref(x.detail);
	return rc;
}

/* Fill *o from an action_cols row; STORE_EDB when a JSON column is bad. */
static int
action_from_row(struct store *s, sqlite3_stmt *st, struct store_action *o)
{
	int	rc;

	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, 0);
	o->incident_id = sqlite3_column_int64(st, 1);
	o->state = col_dup(st, 2);
	o->created = sqlite3_column_int64(st, 3);
	o->updated = sqlite3_column_int64(st, 4);
	o->namespace = col_dup(st, 5);
	o->kind = col_dup(st, 6);
	o->name = col_dup(st, 7);
	o->api_path = col_dup(st, 8);
	o->backend = col_dup(st, 9);
	o->risk = col_dup(st, 10);
	o->summary = col_dup(st, 11);
	o->root_cause = col_dup(st, 12);
	o->reason = col_dup(st, 16);
	o->approved_by = col_dup(st, 18);
	o->approved_uid = (long)sqlite3_column_int64(st, 19);
	if ((rc = col_json(s, st, 13, "evidence", o->id, &o->evidence)) !=
	    STORE_OK ||
	    (rc = col_json(s, st, 14, "patch", o->id, &o->patch)) != STORE_OK ||
	    (rc = col_json(s, st, 15, "changes", o->id, &o->changes)) !=
	    STORE_OK ||
	    (rc = col_json(s, st, 17, "result", o->id, &o->result)) != STORE_OK)
		goto out;
	if (o->state == NULL || o->namespace == NULL || o->kind == NULL ||
	    o->name == NULL || o->summary == NULL)
		rc = seterr(s, STORE_EDB, "store: out of memory");
out:
	if (rc != STORE_OK)
		store_action_clear(o);
	return rc;
}

int
store_action_get(struct store *s, int64_t id, struct store_action *out)
{
	sqlite3_stmt	*st = NULL;
	int		 rc, step;

	memset(out, 0, sizeof(*out));
	if ((rc = prep(s, ACTION_COLS " WHERE id = ?", &st)) != STORE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((step = sqlite3_step(st)) == SQLITE_DONE)
		rc = seterr(s, STORE_ENOTFOUND, "action %lld not found",
		    (long long)id);
	else if (step != SQLITE_ROW)
		rc = dberr(s, "read action");
	else
		rc = action_from_row(s, st, out);
	sqlite3_finalize(st);
	return rc;
}

void
store_action_clear(struct store_action *a)
{
	if (a == NULL)
		return;
	free(a->state);
	free(a->namespace);
	free(a->kind);
	free(a->name);
	free(a->api_path);
	free(a->backend);
	free(a->risk);
	free(a->summary);
	free(a->root_cause);
	json_decref(a->evidence);
	json_decref(a->patch);
	json_decref(a->changes);
	free(a->reason);
	json_decref(a->result);
	free(a->approved_by);
	memset(a, 0, sizeof(*a));
}

/*
 * IDs of the actions in state, oldest first, at most STORE_MAX_ROWS.  An
 * empty result is a non-NULL array with *n = 0; NULL means an error.
 */
int64_t *
store_action_ids(struct store *s, const char *state, size_t *n)
{
	sqlite3_stmt	*st = NULL;
	int64_t		*ids = NULL, *nids;
	size_t		 cap = 16, len = 0;
	int		 step, ok = 0;

	*n = 0;
	if (check_text(s, "state", state, STORE_MAX_NAME, 1) != STORE_OK)
		return NULL;
	if (prep(s, "SELECT id FROM actions WHERE state = ? ORDER BY id "
	    "LIMIT ?", &st) != STORE_OK)
		return NULL;
	bind_text(st, 1, state);
	sqlite3_bind_int(st, 2, STORE_MAX_ROWS);
	if ((ids = calloc(cap, sizeof(*ids))) == NULL)
		goto nomem;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			if ((nids = reallocarray(ids, cap * 2,
			    sizeof(*ids))) == NULL)
				goto nomem;
			ids = nids;
			cap *= 2;
		}
		ids[len++] = sqlite3_column_int64(st, 0);
	}
	if (step != SQLITE_DONE) {
		dberr(s, "list action ids");
		goto out;
	}
	*n = len;
	ok = 1;
	goto out;
nomem:
	seterr(s, STORE_EDB, "store: out of memory");
out:
	sqlite3_finalize(st);
	if (!ok) {
		free(ids);
		ids = NULL;
	}
	return ids;
}

/*
 * The newest live action of the incident, 0 when none (a store error also
 * yields 0, logged, and leaves the message in store_errmsg()).
 */
int64_t
store_action_live_for_incident(struct store *s, int64_t incident_id)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 id = 0;
	int		 step;

	if (prep(s, "SELECT id FROM actions WHERE incident_id = ? AND state "
	    "IN ('pending', 'approved', 'applying', 'applied') "
	    "ORDER BY id DESC LIMIT 1", &st) != STORE_OK) {
		log_warnx("%s", s->err);
		return 0;
	}
	sqlite3_bind_int64(st, 1, incident_id);
	if ((step = sqlite3_step(st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (step != SQLITE_DONE) {
		dberr(s, "find live action");
		log_warnx("%s", s->err);
	}
	sqlite3_finalize(st);
	return id;
}

/* The summary fields shared by list and show. */
static json_t *
action_summary(const struct store_action *a)
{
	json_t	*o;

	if ((o = json_object()) == NULL)
		return NULL;
	json_object_set_new(o, "id", json_integer(a->id));
	json_object_set_new(o, "incident_id", json_integer(a->incident_id));
	json_object_set_new(o, "state", jstr(a->state));
	json_object_set_new(o, "created", jtime(a->created));
	json_object_set_new(o, "namespace", jstr(a->namespace));
	json_object_set_new(o, "kind", jstr(a->kind));
	json_object_set_new(o, "name", jstr(a->name));
	json_object_set_new(o, "summary", jstr(a->summary));
	json_object_set_new(o, "backend", jstr(a->backend));
	json_object_set_new(o, "risk", jstr(a->risk));
	return o;
}

json_t *
store_action_json(const struct store_action *a)
{
	json_t	*o;

	if ((o = action_summary(a)) == NULL)
		return NULL;
	json_object_set_new(o, "updated", jtime(a->updated));
	json_object_set_new(o, "api_path", jstr(a->api_path));
	json_object_set_new(o, "root_cause", jstr(a->root_cause));
	json_object_set_new(o, "evidence", a->evidence ?
	    json_incref(a->evidence) : json_array());
	json_object_set_new(o, "patch", jref(a->patch));
	json_object_set_new(o, "changes", a->changes ?
	    json_incref(a->changes) : json_array());
	json_object_set_new(o, "reason", jstr(a->reason));
	json_object_set_new(o, "result", jref(a->result));
	json_object_set_new(o, "approved_by", jstr(a->approved_by));
	json_object_set_new(o, "approved_uid", json_integer(a->approved_uid));
	return o;
}

/*
 * Summaries of the actions matching state and namespace (NULL = any),
 * newest first, at most STORE_MAX_ROWS.  NULL on error.
 */
json_t *
store_actions_json(struct store *s, const char *state, const char *namespace)
{
	sqlite3_stmt		*st = NULL;
	struct store_action	 a;
	json_t			*arr = NULL, *o;
	int			 step, ok = 0;

	if (prep(s, ACTION_COLS " WHERE (?1 IS NULL OR state = ?1) AND "
	    "(?2 IS NULL OR namespace = ?2) ORDER BY id DESC LIMIT ?3", &st) !=
	    STORE_OK)
		return NULL;
	bind_text(st, 1, state);
	bind_text(st, 2, namespace);
	sqlite3_bind_int(st, 3, STORE_MAX_ROWS);
	if ((arr = json_array()) == NULL)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (action_from_row(s, st, &a) != STORE_OK)
			goto out;
		o = action_summary(&a);
		store_action_clear(&a);
		if (o == NULL || json_array_append_new(arr, o) == -1) {
			seterr(s, STORE_EDB, "store: out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE) {
		dberr(s, "list actions");
		goto out;
	}
	ok = 1;
out:
	sqlite3_finalize(st);
	if (!ok) {
		json_decref(arr);
		arr = NULL;
	}
	return arr;
}

/* --- audit views --- */

/*
 * Audit rows, oldest first, for one action (0 = all) at or after since_ms
 * (0 = all); at most STORE_MAX_ROWS.  A detail that no longer parses (the
 * row was tampered with) is shown as its raw text.  NULL on error.
 */
json_t *
store_audit_json(struct store *s, int64_t action_id, int64_t since_ms)
{
	sqlite3_stmt	*st = NULL;
	json_t		*arr = NULL, *o, *d;
	char		 t[64];
	int		 step, ok = 0;

	if (prep(s, "SELECT seq, time_ms, action_id, event, actor, actor_uid, "
	    "detail, prev_hash, hash FROM audit WHERE (?1 = 0 OR action_id = "
	    "?1) AND time_ms >= ?2 ORDER BY seq LIMIT ?3", &st) != STORE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, action_id);
	sqlite3_bind_int64(st, 2, since_ms);
	sqlite3_bind_int(st, 3, STORE_MAX_ROWS);
	if ((arr = json_array()) == NULL)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		fmt_rfc3339(sqlite3_column_int64(st, 1), t, sizeof(t));
		if ((d = json_loads(col_str(st, 6), 0, NULL)) == NULL)
			d = jstr(col_str(st, 6));
		o = json_pack("{s:I, s:s, s:I, s:I, s:o, s:o, s:I, s:o, s:o, "
		    "s:o}",
		    "seq", (json_int_t)sqlite3_column_int64(st, 0),
		    "time", t,
		    "time_ms", (json_int_t)sqlite3_column_int64(st, 1),
		    "action_id", (json_int_t)sqlite3_column_int64(st, 2),
		    "event", jstr(col_str(st, 3)),
		    "actor", jstr(col_str(st, 4)),
		    "actor_uid", (json_int_t)sqlite3_column_int64(st, 5),
		    "detail", d,
		    "prev_hash", jstr(col_str(st, 7)),
		    "hash", jstr(col_str(st, 8)));
		if (o == NULL || json_array_append_new(arr, o) == -1) {
			seterr(s, STORE_EDB, "store: out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE) {
		dberr(s, "list audit");
		goto out;
	}
	ok = 1;
out:
	sqlite3_finalize(st);
	if (!ok) {
		json_decref(arr);
		arr = NULL;
	}
	return arr;
}

/*
 * Walk the chain in seq order.  A row is bad when its prev_hash is not the
 * previous row's hash (a row was deleted or inserted) or when its hash does
 * not match its content (a row was edited).  The first bad row is reported;
 * deleting the newest rows cannot be seen from inside the chain.
 */
int
store_audit_verify(struct store *s, int64_t *rows, int64_t *bad_seq,
    char *why, size_t whylen)
{
	sqlite3_stmt	*st = NULL;
	json_t		*detail;
	char		 prev[HASH_HEXLEN + 1], hash[HASH_HEXLEN + 1];
	char		*row;
	int64_t		 seq = 0, prev_seq = 0, n = 0;
	int		 rc, step;

	*rows = 0;
	*bad_seq = 0;
	if (whylen > 0)
		*why = '\0';
	if ((rc = prep(s, "SELECT seq, time_ms, action_id, event, actor, "
	    "actor_uid, detail, prev_hash, hash FROM audit ORDER BY seq",
	    &st)) != STORE_OK)
		return rc;
	snprintf(prev, sizeof(prev), "%s", zero_hash);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		n++;
		if (strcmp(col_str(st, 7), prev) != 0) {
			if (prev_seq == 0)
				snprintf(why, whylen, "row %lld: prev_hash is "
				    "not the chain start (row deleted?)",
				    (long long)seq);
			else
				snprintf(why, whylen, "row %lld: prev_hash "
				    "does not match row %lld (row deleted?)",
				    (long long)seq, (long long)prev_seq);
			goto bad;
		}
		if ((detail = json_loads(col_str(st, 6), 0, NULL)) == NULL) {
			snprintf(why, whylen, "row %lld: detail is not valid "
			    "JSON (edited?)", (long long)seq);
			goto bad;
		}
		row = canon_row(seq, sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2), col_str(st, 3),
		    col_str(st, 4), sqlite3_column_int64(st, 5), detail);
		json_decref(detail);
		if (row == NULL) {
			snprintf(why, whylen, "row %lld: not valid UTF-8 text "
			    "(edited?)", (long long)seq);
			goto bad;
		}
		if (chain_hash(prev, row, hash) == -1) {
			free(row);
			rc = seterr(s, STORE_EDB, "store: sha256 failed at "
			    "audit row %lld", (long long)seq);
			goto out;
		}
		free(row);
		if (strcmp(hash, col_str(st, 8)) != 0) {
			snprintf(why, whylen, "row %lld: hash mismatch "
			    "(edited?)", (long long)seq);
			goto bad;
		}
		snprintf(prev, sizeof(prev), "%s", hash);
		prev_seq = seq;
	}
	if (step != SQLITE_DONE) {
		rc = dberr(s, "read audit");
		goto out;
	}
	*rows = n;
	rc = 0;
	goto out;
bad:
	*rows = n;
	*bad_seq = seq;
	rc = 1;
out:
	sqlite3_finalize(st);
	return rc;
}
