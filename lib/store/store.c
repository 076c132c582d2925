/*
 * store.c - the SQLite store: incidents, actions and the hash-chained audit
 * log.  See store.h for the contract.
 *
 * Every statement is prepared with bound parameters; no SQL text is ever
 * built from data.  Every action transition is one BEGIN IMMEDIATE
 * transaction (or, for the writes store_batch() lets join the batch of the
 * loop turn, one savepoint of it) that reads the current state, refuses
 * (writing nothing) unless it is the allowed predecessor, updates the row
 * and appends exactly one audit row.
 *
 * This file opens and closes the database, owns the schema and its
 * migrations, and holds the helpers shared by the other store modules
 * (declared in the private header store_int.h):
 *   store_incident.c   incidents
 *   store_action.c     actions: propose, transitions, reads, JSON views
 *   store_audit.c      the hash-chained audit log: append, view, verify
 *   store_step.c       the steps of a multi-step action
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

#include <sqlite3.h>

#include "base/log.h"
#include "base/util.h"
#include "store/store.h"
#include "store/store_int.h"

#define STORE_SCHEMA_VERSION	5

const struct store_actor store_actor_daemon = { -1, "remedyd" };

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

/*
 * Version 2 (safe actions): the inverse patch, the action a rollback undoes,
 * and the policy rule that refused an action.
 */
static const char schema_v2[] =
    "ALTER TABLE actions ADD COLUMN inverse TEXT;"
    "ALTER TABLE actions ADD COLUMN rollback_of INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE actions ADD COLUMN rule TEXT;"
    "PRAGMA user_version = 2;";

/*
 * Version 3 (detection): affected objects, reopen and flap counts, when the
 * incident was last diagnosed, its findings and affected objects.
 */
static const char schema_v3[] =
    "ALTER TABLE incidents ADD COLUMN objects INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE incidents ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE incidents ADD COLUMN flaps INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE incidents ADD COLUMN diagnosed_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE incidents ADD COLUMN findings TEXT;"
    "ALTER TABLE incidents ADD COLUMN affected TEXT;"
    "PRAGMA user_version = 3;";

/*
 * Version 4 (steps): one row per step of a multi-step action (store_step.c).
 * Existing actions have no rows: each is one step, its patch.
 */
static const char schema_v4[] =
    "CREATE TABLE action_steps ("
    " action_id INTEGER NOT NULL REFERENCES actions(id),"
    " step INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " detail TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'applying', 'done',"
    " 'failed')),"
    " updated INTEGER NOT NULL,"
    " result TEXT,"
    " PRIMARY KEY (action_id, step));"
    "PRAGMA user_version = 4;";

/*
 * Version 5 (agents): where an action came from.  Existing actions are
 * remedyd's own.
 */
static const char schema_v5[] =
    "ALTER TABLE actions ADD COLUMN origin TEXT NOT NULL DEFAULT 'remedyd';"
    "ALTER TABLE actions ADD COLUMN proposer TEXT;"
    "ALTER TABLE actions ADD COLUMN proposer_uid INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE actions ADD COLUMN client TEXT;"
    "ALTER TABLE actions ADD COLUMN rationale TEXT;"
    "CREATE INDEX actions_proposer ON actions(proposer_uid, origin);"
    "PRAGMA user_version = 5;";

/* Record a message for store_errmsg() and return code. */
int
st_seterr(struct store *s, int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return code;
}

/* Record the current SQLite error, prefixed by what we were doing. */
int
st_dberr(struct store *s, const char *what)
{
	return st_seterr(s, STORE_EDB, "store: %s: %s", what,
	    sqlite3_errmsg(s->db));
}

/* Prepare a constant statement; STORE_EDB with a message on failure. */
int
st_prep(struct store *s, const char *sql, sqlite3_stmt **st)
{
	*st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return st_dberr(s, "prepare");
	return STORE_OK;
}

/*
 * Transactions and the batch (store.h, "Batched writes").  A function's
 * own transaction is BEGIN IMMEDIATE ... COMMIT, or, while a batch is open,
 * a savepoint inside it: st_begin() makes the function durable (its commit
 * commits the batch too), st_begin_batched() lets it join the batch when
 * batching is on.  Each function's writes stay atomic either way: a
 * refusal or an error rolls back to its savepoint, never further.
 */
static int
st_exec(struct store *s, const char *sql, const char *what)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return st_dberr(s, what);
	return STORE_OK;
}

int
st_begin(struct store *s)
{
	int	rc;

	if (!s->batch_open)
		return st_exec(s, "BEGIN IMMEDIATE", "begin");
	if ((rc = st_exec(s, "SAVEPOINT st", "begin")) == STORE_OK) {
		s->nested = 1;
		s->durable = 1;
	}
	return rc;
}

int
st_begin_batched(struct store *s)
{
	int	rc;

	if (!s->batching)
		return st_begin(s);
	if (!s->batch_open) {
		if ((rc = st_exec(s, "BEGIN IMMEDIATE", "begin")) != STORE_OK)
			return rc;
		s->batch_open = 1;
		s->batch_writes = 0;
	}
	if ((rc = st_exec(s, "SAVEPOINT st", "begin")) == STORE_OK) {
		s->nested = 1;
		s->durable = 0;
	}
	return rc;
}

int
st_commit(struct store *s)
{
	int	rc;

	if (!s->nested) {
		if ((rc = st_exec(s, "COMMIT", "commit")) != STORE_OK)
			return rc;
		s->commits++;
		s->writes++;
		return STORE_OK;
	}
	s->nested = 0;
	if ((rc = st_exec(s, "RELEASE st", "commit")) != STORE_OK)
		return rc;
	s->writes++;
	s->batch_writes++;
	return s->durable ? store_flush(s) : STORE_OK;
}

/*
 * Roll back the function's own writes: its savepoint inside a batch (what
 * the batch held before stays), else its transaction.  Keeps the message
 * already recorded.  When SQLite has rolled back the whole transaction on
 * its own (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM may), the batch is gone
 * and counted lost.
 */
void
st_rollback(struct store *s)
{
	if (s->nested) {
		s->nested = 0;
		if (!sqlite3_get_autocommit(s->db)) {
			sqlite3_exec(s->db, "ROLLBACK TO st", NULL, NULL, NULL);
			sqlite3_exec(s->db, "RELEASE st", NULL, NULL, NULL);
			return;
		}
	} else if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (s->batch_open) {
		s->lost += s->batch_writes;
		s->batch_open = 0;
		s->batch_writes = 0;
	}
}

void
store_batch(struct store *s, int on)
{
	s->batching = on != 0;
}

int
store_batch_pending(const struct store *s)
{
	return s->batch_open ? (int)s->batch_writes + 1 : 0;
}

/*
 * Commit the open batch.  A COMMIT that fails is rolled back: the batch's
 * writes are lost (counted, and the error says how many), as they would
 * be by a crash before the flush.
 */
int
store_flush(struct store *s)
{
	uint64_t	n = s->batch_writes;

	if (!s->batch_open)
		return STORE_OK;
	s->batch_open = 0;
	s->batch_writes = 0;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
		s->commits++;
		return STORE_OK;
	}
	st_seterr(s, STORE_EDB, "store: commit of %llu batched write%s: %s",
	    (unsigned long long)n, n == 1 ? "" : "s", sqlite3_errmsg(s->db));
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->lost += n;
	return STORE_EDB;
}

void
store_counters(const struct store *s, struct store_counters *c)
{
	c->transactions = s->commits;
	c->writes = s->writes;
	c->lost = s->lost;
}

/* Bind a string or NULL; the text is copied by SQLite. */
int
st_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* Copy of a text column, or NULL for SQL NULL. */
char *
st_col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? strdup((const char *)v) : NULL;
}

/* A text column, "" for SQL NULL; valid until the next step. */
const char *
st_col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? (const char *)v : "";
}

/*
 * Check a text argument: present when required, at most max bytes, valid
 * UTF-8 (so every JSON view can carry it).  STORE_EINVAL naming the field.
 */
int
st_check_text(struct store *s, const char *what, const char *v, size_t max,
    int required)
{
	json_t	*j;

	if (v == NULL)
		return required ? st_seterr(s, STORE_EINVAL,
		    "store: %s is required", what) : STORE_OK;
	if (strlen(v) > max)
		return st_seterr(s, STORE_EINVAL,
		    "store: %s is longer than %zu bytes", what, max);
	if ((j = json_string(v)) == NULL)
		return st_seterr(s, STORE_EINVAL,
		    "store: %s is not valid UTF-8", what);
	json_decref(j);
	return STORE_OK;
}

/*
 * Canonical text of a JSON value (NULL for NULL), at most STORE_MAX_JSON
 * bytes.  When kind is not 0 the value must have that type.  The caller
 * frees *out.
 */
int
st_canon_json(struct store *s, const char *what, const json_t *v, int kind,
    char **out)
{
	*out = NULL;
	if (v == NULL)
		return STORE_OK;
	if (kind != 0 && (int)json_typeof(v) != kind)
		return st_seterr(s, STORE_EINVAL, "store: %s must be a JSON %s",
		    what, kind == JSON_ARRAY ? "array" : "object");
	if ((*out = json_canon(v)) == NULL)
		return st_seterr(s, STORE_EINVAL,
		    "store: %s cannot be serialised", what);
	if (strlen(*out) > STORE_MAX_JSON) {
		free(*out);
		*out = NULL;
		return st_seterr(s, STORE_EINVAL,
		    "store: %s is larger than %d bytes", what, STORE_MAX_JSON);
	}
	return STORE_OK;
}

/* Parse a JSON column (NULL stays NULL); STORE_EDB naming row and column. */
int
st_col_json(struct store *s, sqlite3_stmt *st, int i, const char *what,
    int64_t id, json_t **out)
{
	const unsigned char	*v = sqlite3_column_text(st, i);
	json_error_t		 e;

	*out = NULL;
	if (v == NULL)
		return STORE_OK;
	if ((*out = json_loads((const char *)v, JSON_DECODE_ANY, &e)) == NULL)
		return st_seterr(s, STORE_EDB, "store: %s of %lld is not valid "
		    "JSON: %s", what, (long long)id, e.text);
	return STORE_OK;
}

/* A JSON string for s, or null when s is NULL (or not UTF-8). */
json_t *
st_jstr(const char *v)
{
	json_t *j;

	if (v == NULL || (j = json_string(v)) == NULL)
		return json_null();
	return j;
}

/* RFC 3339 string for a unix-ms time, or null for 0. */
json_t *
st_jtime(int64_t ms)
{
	char	buf[64];

	if (ms == 0)
		return json_null();
	fmt_rfc3339(ms, buf, sizeof(buf));
	return json_string(buf);
}

/* A new reference to v, or null. */
json_t *
st_jref(json_t *v)
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

	if ((rc = st_prep(s, sql, &st)) != STORE_OK)
		return rc;
	rc = STORE_EDB;
	if (sqlite3_step(st) != SQLITE_ROW) {
		st_dberr(s, sql);
		goto out;
	}
	snprintf(buf, len, "%s", st_col_str(st, 0));
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
	if (v < 0 || v > STORE_SCHEMA_VERSION)
		return st_seterr(s, STORE_EDB, "store: database schema version "
		    "%ld is not %d (written by a %s remedy); refusing to use "
		    "it", v, STORE_SCHEMA_VERSION,
		    v > STORE_SCHEMA_VERSION ? "newer" : "different");
	if ((rc = st_begin(s)) != STORE_OK)
		return rc;
	if ((v == 0 && sqlite3_exec(s->db, schema_v1, NULL, NULL, NULL) !=
	    SQLITE_OK) ||
	    (v <= 1 && sqlite3_exec(s->db, schema_v2, NULL, NULL, NULL) !=
	    SQLITE_OK) ||
	    (v <= 2 && sqlite3_exec(s->db, schema_v3, NULL, NULL, NULL) !=
	    SQLITE_OK) ||
	    (v <= 3 && sqlite3_exec(s->db, schema_v4, NULL, NULL, NULL) !=
	    SQLITE_OK) ||
	    sqlite3_exec(s->db, schema_v5, NULL, NULL, NULL) != SQLITE_OK) {
		st_dberr(s, "create schema");
		st_rollback(s);
		return STORE_EDB;
	}
	return st_commit(s);
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
	int		 ok = 0, memory;

	if (path == NULL || *path == '\0' || strlen(path) >= sizeof(dir)) {
		snprintf(err, errlen, "store: bad database path");
		return NULL;
	}
	memory = strcmp(path, STORE_MEMORY) == 0;
	snprintf(dir, sizeof(dir), "%s", path);
	if (!memory && (slash = strrchr(dir, '/')) != NULL) {
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
	if (strcmp(mode, memory ? "memory" : "wal") != 0) {
		st_seterr(s, STORE_EDB, "store: cannot enable WAL (journal mode "
		    "is %s)", mode);
		goto fail;
	}
	if (sqlite3_exec(s->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) !=
	    SQLITE_OK || sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL,
	    NULL, NULL) != SQLITE_OK) {
		st_dberr(s, "pragma");
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
	if (s->db != NULL && store_flush(s) != STORE_OK)
		log_warnx("%s", s->err);
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("store: close: %s", sqlite3_errmsg(s->db));
	free(s);
}

const char *
store_errmsg(struct store *s)
{
	return s->err;
}
