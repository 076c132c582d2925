/*
 * store_diagnosis.c - the outcome of an incident's diagnosis: which backend
 * and model answered, whether it worked (or why not: "diagnosis failed:
 * <why>" in remedyctl), the explanation, and the tokens it cost.
 *
 * One row per incident in its own table, created on first use (CREATE
 * TABLE IF NOT EXISTS), so stores of any schema version take it without a
 * migration step.  The API key and the prompt are never stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/util.h"
#include "store/store.h"
#include "store/store_int.h"

static const char diag_schema[] =
    "CREATE TABLE IF NOT EXISTS incident_diagnosis ("
    " incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),"
    " at INTEGER NOT NULL, backend TEXT NOT NULL, model TEXT,"
    " status TEXT NOT NULL CHECK (status IN ('ok', 'explained', 'failed')),"
    " error TEXT, summary TEXT, root_cause TEXT,"
    " prompt_tokens INTEGER NOT NULL DEFAULT 0,"
    " completion_tokens INTEGER NOT NULL DEFAULT 0,"
    " calls INTEGER NOT NULL DEFAULT 0, cached INTEGER NOT NULL DEFAULT 0)";

static int
ensure(struct store *s)
{
	if (sqlite3_exec(s->db, diag_schema, NULL, NULL, NULL) != SQLITE_OK)
		return st_dberr(s, "create incident_diagnosis");
	return STORE_OK;
}

int
store_diagnosis_set(struct store *s, const struct store_diagnosis *d)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 at;
	int		 rc;

	if (d->status == NULL || (strcmp(d->status, "ok") != 0 &&
	    strcmp(d->status, "explained") != 0 &&
	    strcmp(d->status, "failed") != 0))
		return st_seterr(s, STORE_EINVAL, "diagnosis status \"%s\" is "
		    "not ok, explained or failed", d->status ? d->status : "");
	if ((rc = st_check_text(s, "diagnosis backend", d->backend,
	    STORE_MAX_NAME, 1)) != STORE_OK ||
	    (rc = st_check_text(s, "diagnosis model", d->model,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "diagnosis error", d->error,
	    STORE_MAX_TEXT, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "diagnosis summary", d->summary,
	    STORE_MAX_TEXT, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "diagnosis root cause", d->root_cause,
	    STORE_MAX_LONG, 0)) != STORE_OK)
		return rc;
	at = d->at ? d->at : now_ms();
	if ((rc = st_begin_batched(s)) != STORE_OK)
		return rc;
	if ((rc = ensure(s)) != STORE_OK ||
	    (rc = st_prep(s, "INSERT OR REPLACE INTO incident_diagnosis"
	    " (incident_id, at, backend, model, status, error, summary,"
	    " root_cause, prompt_tokens, completion_tokens, calls, cached)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	    &st)) != STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, d->incident_id);
	sqlite3_bind_int64(st, 2, at);
	st_bind_text(st, 3, d->backend);
	st_bind_text(st, 4, d->model);
	st_bind_text(st, 5, d->status);
	st_bind_text(st, 6, d->error);
	st_bind_text(st, 7, d->summary);
	st_bind_text(st, 8, d->root_cause);
	sqlite3_bind_int64(st, 9, d->prompt_tokens);
	sqlite3_bind_int64(st, 10, d->completion_tokens);
	sqlite3_bind_int64(st, 11, d->calls);
	sqlite3_bind_int(st, 12, d->cached != 0);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = st_dberr(s, "store diagnosis");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* the incident is diagnosed with its outcome */
	if ((rc = st_prep(s, "UPDATE incidents SET diagnosed_at = ?2 WHERE "
	    "id = ?1", &st)) != STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, d->incident_id);
	sqlite3_bind_int64(st, 2, at);
	rc = sqlite3_step(st) == SQLITE_DONE ? st_commit(s) :
	    st_dberr(s, "mark incident diagnosed");
out:
	sqlite3_finalize(st);
	if (rc != STORE_OK)
		st_rollback(s);
	return rc;
}

json_t *
store_diagnosis_json(struct store *s, int64_t incident_id)
{
	sqlite3_stmt	*st = NULL;
	json_t		*o = NULL;

	if (ensure(s) != STORE_OK || st_prep(s, "SELECT at, backend, model,"
	    " status, error, summary, root_cause, prompt_tokens,"
	    " completion_tokens, calls, cached FROM incident_diagnosis"
	    " WHERE incident_id = ?1", &st) != STORE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, incident_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
		    " s:{s:I, s:I}, s:I, s:b}",
		    "at", st_jtime(sqlite3_column_int64(st, 0)),
		    "backend", st_jstr(st_col_str(st, 1)),
		    "model", st_jstr(st_col_str(st, 2)),
		    "status", st_jstr(st_col_str(st, 3)),
		    "error", st_jstr(st_col_str(st, 4)),
		    "summary", st_jstr(st_col_str(st, 5)),
		    "root_cause", st_jstr(st_col_str(st, 6)),
		    "tokens", "prompt", (json_int_t)sqlite3_column_int64(st, 7),
		    "completion", (json_int_t)sqlite3_column_int64(st, 8),
		    "calls", (json_int_t)sqlite3_column_int64(st, 9),
		    "cached", sqlite3_column_int(st, 10));
	sqlite3_finalize(st);
	return o;
}

void
st_diagnosis_attach(struct store *s, json_t *arr)
{
	json_t	*o, *d;
	size_t	 i;

	json_array_foreach(arr, i, o) {
		d = store_diagnosis_json(s, json_integer_value(json_object_get(o,
		    "id")));
		json_object_set_new(o, "diagnosis", d ? d : json_null());
	}
}
