/*
 * store_step.c - the steps of a multi-step action (DESIGN.md, "An action
 * may have steps"): a StatefulSet's template revert, then the deletion of
 * each of its pods stuck on the bad revision.
 *
 * An action without rows here has one step, its patch, and its state says
 * everything (every action stored before schema 4 is one).  An action with
 * steps has one row per step: step 1 is the patch, steps 2.. are the ones
 * its proposal carried.  Each row moves
 *
 *   pending -> applying -> done
 *                      \-> failed    (with the action, in one transaction)
 *
 * while the action itself is applying; the action becomes applied only
 * when every step is done.  Step 1 becomes applying in the transaction
 * that makes the action applying (the audit row "applying" says so); every
 * other step transition is its own transaction with its own audit row
 * ("step-applying", "step-done"), so a crash at any instant leaves the
 * first step not known to be done, and recovery resumes there.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/util.h"
#include "store/store.h"
#include "store/store_int.h"

#define MAX_STEPS	STORE_MAX_STEPS

/* A step the proposal carries: an object with a known kind and, for a pod
 * deletion, the pod's name, uid and revision. */
static int
step_check(struct store *s, json_t *step, size_t i)
{
	const char	*kind;
	static const char *const need[] = { "name", "uid", "revision",
					    "owner_uid" };
	const char	*v;
	size_t		 k;

	kind = json_string_value(json_object_get(step, "kind"));
	if (!json_is_object(step) || kind == NULL)
		return st_seterr(s, STORE_EINVAL, "store: step %zu is not an "
		    "object with a kind", i + 2);
	if (strcmp(kind, ACTION_STEP_DELETE_POD) != 0)
		return st_seterr(s, STORE_EINVAL, "store: step %zu: unknown "
		    "kind \"%.64s\"", i + 2, kind);
	for (k = 0; k < NELEM(need); k++) {
		v = json_string_value(json_object_get(step, need[k]));
		if (v == NULL || *v == '\0' || strlen(v) > STORE_MAX_NAME)
			return st_seterr(s, STORE_EINVAL, "store: step %zu (%s)"
			    " needs %s, a string of 1 to %d bytes", i + 2, kind,
			    need[k], STORE_MAX_NAME);
	}
	return STORE_OK;
}

int
st_steps_check(struct store *s, json_t *steps)
{
	json_t	*step;
	size_t	 i;
	int	 rc;

	if (steps == NULL)
		return STORE_OK;
	if (!json_is_array(steps))
		return st_seterr(s, STORE_EINVAL, "store: steps must be a JSON "
		    "array");
	if (json_array_size(steps) + 1 > MAX_STEPS)
		return st_seterr(s, STORE_EINVAL, "store: more than %d steps",
		    MAX_STEPS);
	json_array_foreach(steps, i, step)
		if ((rc = step_check(s, step, i)) != STORE_OK)
			return rc;
	return STORE_OK;
}

static int
step_insert(struct store *s, int64_t id, int n, const char *kind,
    json_t *detail, int64_t now)
{
	sqlite3_stmt	*st = NULL;
	char		*de = NULL;
	int		 rc;

	if ((rc = st_canon_json(s, "step", detail, JSON_OBJECT, &de)) !=
	    STORE_OK)
		return rc;
	if ((rc = st_prep(s, "INSERT INTO action_steps (action_id, step, kind,"
	    " detail, state, updated) VALUES (?, ?, ?, ?, 'pending', ?)",
	    &st)) != STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, n);
	st_bind_text(st, 3, kind);
	st_bind_text(st, 4, de);
	sqlite3_bind_int64(st, 5, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = st_dberr(s, "insert step");
out:
	sqlite3_finalize(st);
	free(de);
	return rc;
}

/*
 * Inside the transaction that creates action id: step 1 (the patch at
 * api_path) and one row per element of steps.  Nothing when steps is NULL
 * or empty: a one-step action has no rows.
 */
int
st_steps_insert(struct store *s, int64_t id, const char *api_path,
    json_t *steps, int64_t now)
{
	json_t	*first, *step;
	size_t	 i;
	int	 rc;

	if (json_array_size(steps) == 0)
		return STORE_OK;
	if ((first = json_pack("{s:s, s:s}", "kind", ACTION_STEP_PATCH,
	    "api_path", api_path ? api_path : "")) == NULL)
		return st_seterr(s, STORE_EDB, "store: out of memory");
	rc = step_insert(s, id, 1, ACTION_STEP_PATCH, first, now);
	json_decref(first);
	json_array_foreach(steps, i, step) {
		if (rc != STORE_OK)
			break;
		rc = step_insert(s, id, (int)i + 2, ACTION_STEP_DELETE_POD,
		    step, now);
	}
	return rc;
}

/*
 * The steps of action id as stored: an array of the step objects with
 * "step", "state", "updated" and "result" added; NULL (and STORE_OK) for
 * a one-step action.
 */
int
st_steps_load(struct store *s, int64_t id, json_t **out)
{
	sqlite3_stmt	*st = NULL;
	json_t		*arr = NULL, *o = NULL, *res;
	int		 rc, step;

	*out = NULL;
	if ((rc = st_prep(s, "SELECT step, detail, state, updated, result FROM "
	    "action_steps WHERE action_id = ? ORDER BY step", &st)) != STORE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (arr == NULL && (arr = json_array()) == NULL)
			goto nomem;
		if ((rc = st_col_json(s, st, 1, "step", id, &o)) != STORE_OK)
			goto out;
		if ((rc = st_col_json(s, st, 4, "step result", id, &res)) !=
		    STORE_OK)
			goto out;
		if (!json_is_object(o)) {
			json_decref(res);
			rc = st_seterr(s, STORE_EDB, "store: step %d of "
			    "%lld is not an object", sqlite3_column_int(st, 0),
			    (long long)id);
			goto out;
		}
		json_object_set_new(o, "step",
		    json_integer(sqlite3_column_int(st, 0)));
		json_object_set_new(o, "state", st_jstr(st_col_str(st, 2)));
		json_object_set_new(o, "updated",
		    st_jtime(sqlite3_column_int64(st, 3)));
		json_object_set_new(o, "result", res ? res : json_null());
		if (json_array_append_new(arr, o) == -1) {
			o = NULL;
			goto nomem;
		}
		o = NULL;
	}
	if (step != SQLITE_DONE) {
		rc = st_dberr(s, "read steps");
		goto out;
	}
	*out = arr;
	arr = NULL;
	rc = STORE_OK;
	goto out;
nomem:
	rc = st_seterr(s, STORE_EDB, "store: out of memory");
out:
	sqlite3_finalize(st);
	json_decref(o);
	json_decref(arr);
	return rc;
}

/*
 * Inside the caller's transaction: move step n of action id from one of
 * from ('|'-separated) to to, storing result when not NULL.  n 0 means
 * "the step now applying" and is no error when there is none.  *moved is
 * set to the step moved (0: none; a one-step action has none).
 */
int
st_step_move(struct store *s, int64_t id, int n, const char *from,
    const char *to, json_t *result, int *moved)
{
	sqlite3_stmt	*st = NULL;
	char		*res = NULL;
	int		 rc, step, cur = 0;

	*moved = 0;
	if ((rc = st_canon_json(s, "step result", result, 0, &res)) !=
	    STORE_OK)
		return rc;
	if (n == 0)
		rc = st_prep(s, "SELECT step, state FROM action_steps WHERE "
		    "action_id = ? AND state = 'applying' ORDER BY step "
		    "LIMIT 1", &st);
	else
		rc = st_prep(s, "SELECT step, state FROM action_steps WHERE "
		    "action_id = ? AND step = ?", &st);
	if (rc != STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if (n != 0)
		sqlite3_bind_int(st, 2, n);
	if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		if (n != 0)
			rc = st_seterr(s, STORE_ENOTFOUND, "action %lld has no "
			    "step %d", (long long)id, n);
		goto out;
	} else if (step != SQLITE_ROW) {
		rc = st_dberr(s, "read step");
		goto out;
	}
	cur = sqlite3_column_int(st, 0);
	if (!st_state_in(st_col_str(st, 1), from)) {
		rc = st_seterr(s, STORE_EBADSTATE, "step %d of action %lld is "
		    "%s, not %s", cur, (long long)id, st_col_str(st, 1), from);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = st_prep(s, "UPDATE action_steps SET state = ?, updated = ?, "
	    "result = coalesce(?, result) WHERE action_id = ? AND step = ?",
	    &st)) != STORE_OK)
		goto out;
	st_bind_text(st, 1, to);
	sqlite3_bind_int64(st, 2, now_ms());
	st_bind_text(st, 3, res);
	sqlite3_bind_int64(st, 4, id);
	sqlite3_bind_int(st, 5, cur);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = st_dberr(s, "update step");
		goto out;
	}
	*moved = cur;
out:
	sqlite3_finalize(st);
	free(res);
	return rc;
}

/* Inside a transaction: how many steps of id are not done (0 for a
 * one-step action), or a negative store_err. */
int
st_steps_open(struct store *s, int64_t id)
{
	sqlite3_stmt	*st = NULL;
	int		 n;

	if (st_prep(s, "SELECT count(*) FROM action_steps WHERE action_id = ? "
	    "AND state != 'done'", &st) != STORE_OK)
		return STORE_EDB;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	else
		n = st_dberr(s, "count steps");
	sqlite3_finalize(st);
	return n;
}

/* The action's state inside a transaction: STORE_EBADSTATE unless it is
 * applying. */
static int
action_applying(struct store *s, int64_t id)
{
	sqlite3_stmt	*st = NULL;
	int		 rc = STORE_OK, step;

	if ((rc = st_prep(s, "SELECT state FROM actions WHERE id = ?", &st)) !=
	    STORE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((step = sqlite3_step(st)) == SQLITE_DONE)
		rc = st_seterr(s, STORE_ENOTFOUND, "action %lld not found",
		    (long long)id);
	else if (step != SQLITE_ROW)
		rc = st_dberr(s, "read action");
	else if (strcmp(st_col_str(st, 0), ACTION_APPLYING) != 0)
		rc = st_seterr(s, STORE_EBADSTATE, "action %lld is %s, not "
		    "applying", (long long)id, st_col_str(st, 0));
	sqlite3_finalize(st);
	return rc;
}

/* Inside a transaction: STORE_EBADSTATE unless every step before n is
 * done (steps are applied in order). */
static int
earlier_done(struct store *s, int64_t id, int n)
{
	sqlite3_stmt	*st = NULL;
	int		 rc = STORE_OK;

	if ((rc = st_prep(s, "SELECT step, state FROM action_steps WHERE "
	    "action_id = ? AND step < ? AND state != 'done' ORDER BY step "
	    "LIMIT 1", &st)) != STORE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, n);
	switch (sqlite3_step(st)) {
	case SQLITE_DONE:
		break;
	case SQLITE_ROW:
		rc = st_seterr(s, STORE_EBADSTATE, "step %d of action %lld is "
		    "%s: step %d cannot start before it is done",
		    sqlite3_column_int(st, 0), (long long)id,
		    st_col_str(st, 1), n);
		break;
	default:
		rc = st_dberr(s, "read steps");
	}
	sqlite3_finalize(st);
	return rc;
}

/* One step transition of an applying action with its audit row, in one
 * transaction. */
static int
step_transition(struct store *s, int64_t id, int n, const char *from,
    const char *to, const char *event, json_t *result, json_t *detail)
{
	int	rc, moved;

	if (detail == NULL)
		return st_seterr(s, STORE_EDB, "store: out of memory");
	if (n < 2 || n > MAX_STEPS)
		return st_seterr(s, STORE_EINVAL, "store: step %d: only steps "
		    "2 to %d move on their own", n, MAX_STEPS);
	if ((rc = st_begin(s)) != STORE_OK)
		return rc;
	if ((rc = action_applying(s, id)) != STORE_OK ||
	    (rc = earlier_done(s, id, n)) != STORE_OK ||
	    (rc = st_step_move(s, id, n, from, to, result, &moved)) !=
	    STORE_OK ||
	    (rc = store_audit_append(s, now_ms(), id, event,
	    &store_actor_daemon, detail)) != STORE_OK ||
	    (rc = st_commit(s)) != STORE_OK)
		st_rollback(s);
	return rc;
}

int
store_action_step_begin(struct store *s, int64_t id, int n)
{
	json_t	*detail = json_pack("{s:i}", "step", n);
	int	 rc;

	rc = step_transition(s, id, n, ACTION_STEP_PENDING,
	    ACTION_STEP_APPLYING, "step-applying", NULL, detail);
	json_decref(detail);
	return rc;
}

int
store_action_step_done(struct store *s, int64_t id, int n,
    const char *outcome, json_t *answer)
{
	json_t	*detail, *result;
	int	 rc, moved;

	if ((rc = st_check_text(s, "step outcome", outcome, STORE_MAX_TEXT,
	    1)) != STORE_OK)
		return rc;
	detail = json_pack("{s:i, s:s, s:O}", "step", n, "outcome", outcome,
	    "answer", answer ? answer : json_null());
	result = json_pack("{s:s, s:O}", "outcome", outcome, "answer",
	    answer ? answer : json_null());
	if (detail == NULL || result == NULL) {
		rc = st_seterr(s, STORE_EDB, "store: out of memory");
		goto out;
	}
	if (n != 1) {
		rc = step_transition(s, id, n, ACTION_STEP_APPLYING,
		    ACTION_STEP_DONE, "step-done", result, detail);
		goto out;
	}
	/* step 1 is the patch: applying since the action became applying */
	if ((rc = st_begin(s)) != STORE_OK)
		goto out;
	if ((rc = action_applying(s, id)) != STORE_OK ||
	    (rc = st_step_move(s, id, 1, ACTION_STEP_APPLYING,
	    ACTION_STEP_DONE, result, &moved)) != STORE_OK ||
	    (rc = store_audit_append(s, now_ms(), id, "step-done",
	    &store_actor_daemon, detail)) != STORE_OK ||
	    (rc = st_commit(s)) != STORE_OK)
		st_rollback(s);
out:
	json_decref(detail);
	json_decref(result);
	return rc;
}
