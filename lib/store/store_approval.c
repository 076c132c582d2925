/*
 * store_approval.c - the operator's side of the store: approvals under
 * the two-person rule, and refused requests in the audit log.
 *
 * Neither needs a column of its own: a first approval is an audit row
 * "approval" on a pending action, and the next approver's request counts
 * those rows, so what the chain says is exactly what was decided.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/util.h"
#include "store/store.h"
#include "store/store_int.h"

/* One "denied" row; why (may be NULL) says more than the role. */
static int
denied_row(struct store *s, int64_t action_id, const struct store_actor *who,
    const char *command, const char *needs, const char *why)
{
	json_t	*detail;
	int	 rc;

	if (who == NULL || who->name == NULL || command == NULL)
		return st_seterr(s, STORE_EINVAL, "store: denied: actor and "
		    "command are required");
	if ((rc = st_check_text(s, "command", command, STORE_MAX_NAME, 1)) !=
	    STORE_OK || (rc = st_check_text(s, "actor name", who->name,
	    STORE_MAX_NAME, 1)) != STORE_OK)
		return rc;
	if ((detail = json_pack("{s:s, s:s}", "command", command, "needs",
	    needs ? needs : "")) == NULL)
		return st_seterr(s, STORE_EDB, "store: out of memory");
	if (why != NULL && json_object_set_new(detail, "why",
	    json_string(why)) == -1) {
		json_decref(detail);
		return st_seterr(s, STORE_EDB, "store: out of memory");
	}
	if ((rc = st_begin(s)) != STORE_OK)
		goto out;
	if ((rc = store_audit_append(s, now_ms(), action_id, "denied", who,
	    detail)) != STORE_OK)
		goto out;
	rc = st_commit(s);
out:
	if (rc != STORE_OK)
		st_rollback(s);
	json_decref(detail);
	return rc;
}

int
store_audit_denied(struct store *s, int64_t action_id,
    const struct store_actor *who, const char *command, const char *needs)
{
	return denied_row(s, action_id, who, command, needs, NULL);
}

int
store_audit_denied_why(struct store *s, int64_t action_id,
    const struct store_actor *who, const char *command, const char *needs,
    const char *why)
{
	if (why != NULL && strlen(why) > STORE_MAX_TEXT)
		return st_seterr(s, STORE_EINVAL, "store: denied: reason "
		    "longer than %d bytes", STORE_MAX_TEXT);
	return denied_row(s, action_id, who, command, needs, why);
}

/*
 * Agent proposals of uid: those still pending, and those made since
 * since_ms (any state).  The caps of control.max_agent_pending and
 * control.max_agent_per_minute are checked against these.
 */
int
store_agent_counts(struct store *s, long uid, int64_t since_ms,
    int64_t *pending, int64_t *recent)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	*pending = *recent = 0;
	if ((rc = st_prep(s, "SELECT coalesce(sum(state = 'pending'), 0), "
	    "coalesce(sum(created >= ?2), 0) FROM actions WHERE "
	    "origin = 'agent' AND proposer_uid = ?1", &st)) != STORE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_int64(st, 2, since_ms);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*pending = sqlite3_column_int64(st, 0);
		*recent = sqlite3_column_int64(st, 1);
	} else
		rc = st_dberr(s, "count agent proposals");
	sqlite3_finalize(st);
	return rc;
}

/*
 * One transaction: the action must be pending; the approvers so far are
 * its "approval" rows.  The same uid twice is refused (STORE_EBADSTATE,
 * the message says why).  Fewer than required approvals including this
 * one: an "approval" row is appended.  Otherwise nothing is written: the
 * caller makes the transition with store_action_approve(), the one place
 * that moves an action to approved.
 */
int
store_action_add_approval(struct store *s, int64_t id,
    const struct store_actor *who, const char *comment, int required,
    int *approvals)
{
	sqlite3_stmt	*st = NULL;
	json_t		*detail = NULL;
	int		 rc, step, n = 0;

	*approvals = 0;
	if (who == NULL || who->name == NULL)
		return st_seterr(s, STORE_EINVAL, "store: actor is required");
	if ((rc = st_check_text(s, "actor name", who->name, STORE_MAX_NAME,
	    1)) != STORE_OK || (rc = st_check_text(s, "comment", comment,
	    STORE_MAX_TEXT, 0)) != STORE_OK)
		return rc;
	if ((rc = st_begin(s)) != STORE_OK)
		goto out;
	if ((rc = st_prep(s, "SELECT state FROM actions WHERE id = ?", &st)) !=
	    STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		rc = st_seterr(s, STORE_ENOTFOUND, "action %lld not found",
		    (long long)id);
		goto out;
	} else if (step != SQLITE_ROW) {
		rc = st_dberr(s, "read action");
		goto out;
	}
	if (strcmp(st_col_str(st, 0), ACTION_PENDING) != 0) {
		rc = st_seterr(s, STORE_EBADSTATE, "action %lld is %s, not %s",
		    (long long)id, st_col_str(st, 0), ACTION_PENDING);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = st_prep(s, "SELECT actor_uid FROM audit WHERE action_id = ? "
	    "AND event = 'approval' ORDER BY seq", &st)) != STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) == who->uid) {
			rc = st_seterr(s, STORE_EBADSTATE, "%s (uid %ld) "
			    "already approved action %lld; the two-person "
			    "rule needs a different approver", who->name,
			    who->uid, (long long)id);
			goto out;
		}
		n++;
	}
	if (step != SQLITE_DONE) {
		rc = st_dberr(s, "read approvals");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	*approvals = n + 1;
	if (n + 1 >= required) {
		rc = STORE_OK;		/* the caller approves */
		goto out;
	}
	if ((detail = json_pack("{s:i, s:i}", "approvals", n + 1, "required",
	    required)) != NULL && comment != NULL)
		json_object_set_new(detail, "comment", json_string(comment));
	if (detail == NULL) {
		rc = st_seterr(s, STORE_EDB, "store: out of memory");
		goto out;
	}
	if ((rc = store_audit_append(s, now_ms(), id, "approval", who,
	    detail)) != STORE_OK)
		goto out;
	rc = st_commit(s);
out:
	sqlite3_finalize(st);
	st_rollback(s);		/* no-op after a commit */
	json_decref(detail);
	return rc;
}

/*
 * The list view: summaries only, straight from their columns.  Unlike
 * store_action_get() it decodes none of the JSON columns (patch, evidence,
 * changes, result), so listing 10k actions costs one pass over small
 * fields.  Same filters, order and limit as store_actions_json().
 */
json_t *
store_action_summaries_json(struct store *s, const char *state,
    const char *namespace, int limit)
{
	return store_action_summaries_page(s, state, namespace, 0, limit);
}

json_t *
store_action_summaries_page(struct store *s, const char *state,
    const char *namespace, int64_t before, int limit)
{
	sqlite3_stmt	*st = NULL;
	json_t		*arr = NULL, *o;
	int		 step, ok = 0;

	if (st_prep(s, "SELECT id, incident_id, state, created, namespace, "
	    "kind, name, summary, backend, risk, origin, proposer FROM actions "
	    "WHERE "
	    "(?1 IS NULL OR state = ?1) AND (?2 IS NULL OR namespace = ?2) "
	    "AND (?4 = 0 OR id < ?4) ORDER BY id DESC LIMIT ?3", &st) !=
	    STORE_OK)
		return NULL;
	st_bind_text(st, 1, state);
	st_bind_text(st, 2, namespace);
	sqlite3_bind_int(st, 3, limit > 0 && limit < STORE_MAX_ROWS ? limit :
	    STORE_MAX_ROWS);
	sqlite3_bind_int64(st, 4, before > 0 ? before : 0);
	if ((arr = json_array()) == NULL)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		o = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
		    "s:o}",
		    "id", (json_int_t)sqlite3_column_int64(st, 0),
		    "incident_id", (json_int_t)sqlite3_column_int64(st, 1),
		    "state", st_jstr(st_col_str(st, 2)),
		    "created", st_jtime(sqlite3_column_int64(st, 3)),
		    "namespace", st_jstr(st_col_str(st, 4)),
		    "kind", st_jstr(st_col_str(st, 5)),
		    "name", st_jstr(st_col_str(st, 6)),
		    "summary", st_jstr(st_col_str(st, 7)),
		    "backend", sqlite3_column_type(st, 8) == SQLITE_NULL ?
		    json_null() : st_jstr(st_col_str(st, 8)),
		    "risk", sqlite3_column_type(st, 9) == SQLITE_NULL ?
		    json_null() : st_jstr(st_col_str(st, 9)));
		if (o != NULL) {
			json_object_set_new(o, "origin", st_jstr(
			    sqlite3_column_type(st, 10) == SQLITE_NULL ?
			    "remedyd" : st_col_str(st, 10)));
			if (sqlite3_column_type(st, 11) != SQLITE_NULL)
				json_object_set_new(o, "proposer",
				    st_jstr(st_col_str(st, 11)));
		}
		if (o == NULL || json_array_append_new(arr, o) == -1) {
			st_seterr(s, STORE_EDB, "store: out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE) {
		st_dberr(s, "list actions");
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

int64_t
store_action_count(struct store *s, const char *state, const char *namespace)
{
	return st_count(s, "SELECT count(*) FROM actions WHERE "
	    "(?1 IS NULL OR state = ?1) AND (?2 IS NULL OR namespace = ?2)",
	    state, namespace);
}
