/*
 * store_incident.c - incidents: upsert, resolve, read and the JSON views.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/util.h"
#include "store/store.h"
#include "store/store_int.h"

#define INCIDENT_COLS \
    "SELECT id, fingerprint, analyzer, namespace, kind, name, uid, reason," \
    " summary, state, first_seen, last_seen, resolved_at, pods, objects," \
    " reopens, flaps, diagnosed_at, findings, affected FROM incidents"

/* --- incidents --- */

static void
incident_from_row(sqlite3_stmt *st, struct store_incident *o)
{
	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, 0);
	o->fingerprint = st_col_dup(st, 1);
	o->analyzer = st_col_dup(st, 2);
	o->namespace = st_col_dup(st, 3);
	o->kind = st_col_dup(st, 4);
	o->name = st_col_dup(st, 5);
	o->uid = st_col_dup(st, 6);
	o->reason = st_col_dup(st, 7);
	o->summary = st_col_dup(st, 8);
	o->state = st_col_dup(st, 9);
	o->first_seen = sqlite3_column_int64(st, 10);
	o->last_seen = sqlite3_column_int64(st, 11);
	o->resolved_at = sqlite3_column_int64(st, 12);
	o->pods = sqlite3_column_int(st, 13);
	o->objects = sqlite3_column_int(st, 14);
	o->reopens = sqlite3_column_int(st, 15);
	o->flaps = sqlite3_column_int(st, 16);
	o->diagnosed_at = sqlite3_column_int64(st, 17);
	/* A column that does not parse is shown as null rather than failing
	 * the whole view. */
	if (sqlite3_column_text(st, 18) != NULL)
		o->findings = json_loads((const char *)sqlite3_column_text(st,
		    18), 0, NULL);
	if (sqlite3_column_text(st, 19) != NULL)
		o->affected = json_loads((const char *)sqlite3_column_text(st,
		    19), 0, NULL);
}

static int
incident_check(struct store *s, const struct store_incident *inc)
{
	int	rc;

	if ((rc = st_check_text(s, "incident fingerprint", inc->fingerprint,
	    STORE_MAX_NAME, 1)) != STORE_OK ||
	    (rc = st_check_text(s, "incident analyzer", inc->analyzer,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "incident namespace", inc->namespace,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "incident kind", inc->kind,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "incident name", inc->name,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "incident uid", inc->uid,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "incident reason", inc->reason,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "incident summary", inc->summary,
	    STORE_MAX_TEXT, 0)) != STORE_OK)
		return rc;
	if (inc->pods < 0 || inc->objects < 0 || inc->flaps < 0)
		return st_seterr(s, STORE_EINVAL, "store: incident pods, "
		    "objects or flaps < 0");
	return STORE_OK;
}

/*
 * Insert, refresh or reopen the incident with inc->fingerprint, in one
 * transaction.  first_seen and last_seen default to now when 0; a refresh
 * keeps first_seen; reopening a resolved incident counts it in reopens.
 * inc->flaps is added to the stored count; findings and affected (JSON
 * arrays, may be NULL: keep the stored ones) are replaced.  Only inc->id is
 * written back.
 */
int
store_incident_upsert(struct store *s, struct store_incident *inc)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 id = 0, last, first;
	char		*findings = NULL, *affected = NULL;
	int		 rc, step, reopen = 0;

	if ((rc = incident_check(s, inc)) != STORE_OK ||
	    (rc = st_canon_json(s, "incident findings", inc->findings,
	    JSON_ARRAY, &findings)) != STORE_OK ||
	    (rc = st_canon_json(s, "incident affected objects", inc->affected,
	    JSON_ARRAY, &affected)) != STORE_OK) {
		free(findings);
		return rc;
	}
	last = inc->last_seen ? inc->last_seen : now_ms();
	first = inc->first_seen ? inc->first_seen : last;
	if ((rc = st_begin_batched(s)) != STORE_OK)
		goto out;
	if ((rc = st_prep(s, "SELECT id, state FROM incidents WHERE "
	    "fingerprint = ?", &st)) != STORE_OK)
		goto out;
	rc = STORE_EDB;
	st_bind_text(st, 1, inc->fingerprint);
	if ((step = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		reopen = strcmp(st_col_str(st, 1), "resolved") == 0;
	} else if (step != SQLITE_DONE) {
		st_dberr(s, "find incident");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (id == 0) {
		if ((rc = st_prep(s, "INSERT INTO incidents (fingerprint, "
		    "analyzer, namespace, kind, name, uid, reason, summary, "
		    "state, first_seen, last_seen, resolved_at, pods, objects, "
		    "flaps, findings, affected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
		    "'open', ?, ?, 0, ?, ?, ?, ?, ?)", &st)) != STORE_OK)
			goto out;
		st_bind_text(st, 1, inc->fingerprint);
		st_bind_text(st, 2, inc->analyzer);
		st_bind_text(st, 3, inc->namespace);
		st_bind_text(st, 4, inc->kind);
		st_bind_text(st, 5, inc->name);
		st_bind_text(st, 6, inc->uid);
		st_bind_text(st, 7, inc->reason);
		st_bind_text(st, 8, inc->summary);
		sqlite3_bind_int64(st, 9, first);
		sqlite3_bind_int64(st, 10, last);
		sqlite3_bind_int(st, 11, inc->pods);
		sqlite3_bind_int(st, 12, inc->objects);
		sqlite3_bind_int(st, 13, inc->flaps);
		st_bind_text(st, 14, findings);
		st_bind_text(st, 15, affected);
	} else {
		if ((rc = st_prep(s, "UPDATE incidents SET last_seen = ?, "
		    "pods = ?, summary = coalesce(?, summary), state = 'open', "
		    "resolved_at = 0, objects = ?, flaps = flaps + ?, "
		    "reopens = reopens + ?, findings = coalesce(?, findings), "
		    "affected = coalesce(?, affected) WHERE id = ?", &st)) !=
		    STORE_OK)
			goto out;
		sqlite3_bind_int64(st, 1, last);
		sqlite3_bind_int(st, 2, inc->pods);
		st_bind_text(st, 3, inc->summary);
		sqlite3_bind_int(st, 4, inc->objects);
		sqlite3_bind_int(st, 5, inc->flaps);
		sqlite3_bind_int(st, 6, reopen);
		st_bind_text(st, 7, findings);
		st_bind_text(st, 8, affected);
		sqlite3_bind_int64(st, 9, id);
	}
	rc = STORE_EDB;
	if (sqlite3_step(st) != SQLITE_DONE) {
		st_dberr(s, id ? "update incident" : "insert incident");
		goto out;
	}
	if (id == 0)
		id = sqlite3_last_insert_rowid(s->db);
	if ((rc = st_commit(s)) != STORE_OK)
		goto out;
	inc->id = id;
out:
	sqlite3_finalize(st);
	if (rc != STORE_OK)
		st_rollback(s);
	free(findings);
	free(affected);
	return rc;
}

int
store_incident_diagnosed(struct store *s, int64_t id, int64_t when)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	if ((rc = st_begin_batched(s)) != STORE_OK)
		return rc;
	if ((rc = st_prep(s, "UPDATE incidents SET diagnosed_at = ? WHERE "
	    "id = ?", &st)) != STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, when ? when : now_ms());
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = st_dberr(s, "mark incident diagnosed");
	else if (sqlite3_changes(s->db) == 0)
		rc = st_seterr(s, STORE_ENOTFOUND, "incident %lld not found",
		    (long long)id);
	else
		rc = st_commit(s);
out:
	sqlite3_finalize(st);
	if (rc != STORE_OK)
		st_rollback(s);
	return rc;
}

int64_t *
store_incident_actions(struct store *s, int64_t id, const char *state,
    size_t *n)
{
	sqlite3_stmt	*st = NULL;
	int64_t		*ids = NULL, *nids;
	size_t		 cap = 0;
	int		 step;

	*n = 0;
	if (st_prep(s, "SELECT id FROM actions WHERE incident_id = ?1 AND "
	    "(?2 IS NULL OR state = ?2) ORDER BY id", &st) != STORE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	st_bind_text(st, 2, state);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nids = realloc(ids, cap * sizeof(*ids))) == NULL) {
				st_seterr(s, STORE_EDB, "store: out of memory");
				goto fail;
			}
			ids = nids;
		}
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	}
	if (step != SQLITE_DONE) {
		st_dberr(s, "list incident actions");
		goto fail;
	}
	sqlite3_finalize(st);
	return ids;
fail:
	sqlite3_finalize(st);
	free(ids);
	*n = 0;
	return NULL;
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

	if ((rc = st_begin_batched(s)) != STORE_OK)
		return rc;
	if ((rc = st_prep(s, "SELECT state FROM incidents WHERE id = ?", &st)) !=
	    STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		rc = st_seterr(s, STORE_ENOTFOUND, "incident %lld not found",
		    (long long)id);
		goto out;
	} else if (step != SQLITE_ROW) {
		rc = st_dberr(s, "read incident");
		goto out;
	}
	if (strcmp(st_col_str(st, 0), "open") != 0) {
		rc = st_seterr(s, STORE_EBADSTATE, "incident %lld is %s, not open",
		    (long long)id, st_col_str(st, 0));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = st_prep(s, "UPDATE incidents SET state = 'resolved', "
	    "resolved_at = ? WHERE id = ?", &st)) != STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, when ? when : now_ms());
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = st_dberr(s, "resolve incident");
		goto out;
	}
	rc = st_commit(s);
out:
	sqlite3_finalize(st);
	if (rc != STORE_OK)
		st_rollback(s);
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
		return st_seterr(s, STORE_ENOTFOUND, "incident %s not found",
		    what);
	if (step != SQLITE_ROW)
		return st_dberr(s, "read incident");
	incident_from_row(st, out);
	if (out->fingerprint == NULL || out->state == NULL) {
		store_incident_clear(out);
		return st_seterr(s, STORE_EDB, "store: out of memory");
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
	if ((rc = st_prep(s, INCIDENT_COLS " WHERE id = ?", &st)) != STORE_OK)
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
	if ((rc = st_check_text(s, "fingerprint", fingerprint, STORE_MAX_NAME,
	    1)) != STORE_OK)
		return rc;
	if ((rc = st_prep(s, INCIDENT_COLS " WHERE fingerprint = ?", &st)) !=
	    STORE_OK)
		return rc;
	st_bind_text(st, 1, fingerprint);
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
	json_decref(inc->findings);
	json_decref(inc->affected);
	memset(inc, 0, sizeof(*inc));
}

json_t *
store_incident_json(const struct store_incident *inc)
{
	json_t	*o;

	if ((o = json_object()) == NULL)
		return NULL;
	json_object_set_new(o, "id", json_integer(inc->id));
	json_object_set_new(o, "fingerprint", st_jstr(inc->fingerprint));
	json_object_set_new(o, "analyzer", st_jstr(inc->analyzer));
	json_object_set_new(o, "namespace", st_jstr(inc->namespace));
	json_object_set_new(o, "kind", st_jstr(inc->kind));
	json_object_set_new(o, "name", st_jstr(inc->name));
	json_object_set_new(o, "uid", st_jstr(inc->uid));
	json_object_set_new(o, "reason", st_jstr(inc->reason));
	json_object_set_new(o, "summary", st_jstr(inc->summary));
	json_object_set_new(o, "state", st_jstr(inc->state));
	json_object_set_new(o, "pods", json_integer(inc->pods));
	json_object_set_new(o, "first_seen", st_jtime(inc->first_seen));
	json_object_set_new(o, "last_seen", st_jtime(inc->last_seen));
	json_object_set_new(o, "resolved_at", st_jtime(inc->resolved_at));
	json_object_set_new(o, "objects", json_integer(inc->objects));
	json_object_set_new(o, "reopens", json_integer(inc->reopens));
	json_object_set_new(o, "flaps", json_integer(inc->flaps));
	json_object_set_new(o, "diagnosed_at", st_jtime(inc->diagnosed_at));
	json_object_set_new(o, "findings", st_jref(inc->findings));
	json_object_set_new(o, "affected", st_jref(inc->affected));
	return o;
}

/*
 * Incidents, newest first, optionally only those in one state; at most
 * STORE_MAX_ROWS.  NULL on error (message via store_errmsg()).
 */
json_t *
store_incidents_json(struct store *s, const char *state_or_null)
{
	return store_incidents_page_json(s, state_or_null, NULL, 0, 0);
}

json_t *
store_incidents_page_json(struct store *s, const char *state,
    const char *namespace, int64_t before, int limit)
{
	sqlite3_stmt		*st = NULL;
	struct store_incident	 inc;
	json_t			*arr = NULL, *o;
	int			 step, ok = 0;

	if (st_prep(s, INCIDENT_COLS " WHERE (?1 IS NULL OR state = ?1) "
	    "AND (?2 IS NULL OR namespace = ?2) AND (?3 = 0 OR id < ?3) "
	    "ORDER BY id DESC LIMIT ?4", &st) != STORE_OK)
		return NULL;
	st_bind_text(st, 1, state);
	st_bind_text(st, 2, namespace);
	sqlite3_bind_int64(st, 3, before > 0 ? before : 0);
	sqlite3_bind_int(st, 4, limit > 0 && limit < STORE_MAX_ROWS ? limit :
	    STORE_MAX_ROWS);
	if ((arr = json_array()) == NULL)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		incident_from_row(st, &inc);
		o = store_incident_json(&inc);
		store_incident_clear(&inc);
		if (o == NULL || json_array_append_new(arr, o) == -1) {
			st_seterr(s, STORE_EDB, "store: out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE) {
		st_dberr(s, "list incidents");
		goto out;
	}
	ok = 1;
	sqlite3_finalize(st);
	st = NULL;
	st_diagnosis_attach(s, arr);
out:
	sqlite3_finalize(st);
	if (!ok) {
		json_decref(arr);
		arr = NULL;
	}
	return arr;
}

int64_t
store_incident_count(struct store *s, const char *state, const char *namespace)
{
	return st_count(s, "SELECT count(*) FROM incidents WHERE "
	    "(?1 IS NULL OR state = ?1) AND (?2 IS NULL OR namespace = ?2)",
	    state, namespace);
}
