/*
 * store_action.c - actions: propose, every state transition (each one
 * BEGIN IMMEDIATE transaction that checks the current state, updates the
 * row and appends exactly one audit row), reads and the JSON views.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "action/normalize.h"
#include "base/log.h"
#include "base/util.h"
#include "store/store.h"
#include "store/store_int.h"

#define ACTION_COLS \
    "SELECT id, incident_id, state, created, updated, namespace, kind, name," \
    " api_path, backend, risk, summary, root_cause, evidence, patch, changes," \
    " reason, result, approved_by, approved_uid, inverse, rollback_of, rule," \
    " origin, proposer, proposer_uid, client, rationale" \
    " FROM actions"

/* --- actions --- */

static int
action_check(struct store *s, const struct store_action *a,
    const char *refused_reason)
{
	int	rc;

	if ((rc = st_check_text(s, "action namespace", a->namespace,
	    STORE_MAX_NAME, 1)) != STORE_OK ||
	    (rc = st_check_text(s, "action kind", a->kind, STORE_MAX_NAME,
	    1)) != STORE_OK ||
	    (rc = st_check_text(s, "action name", a->name, STORE_MAX_NAME,
	    1)) != STORE_OK ||
	    (rc = st_check_text(s, "action api_path", a->api_path,
	    STORE_MAX_PATH, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "action backend", a->backend, STORE_MAX_NAME,
	    0)) != STORE_OK ||
	    (rc = st_check_text(s, "action risk", a->risk, STORE_MAX_NAME,
	    0)) != STORE_OK ||
	    (rc = st_check_text(s, "action summary", a->summary, STORE_MAX_TEXT,
	    1)) != STORE_OK ||
	    (rc = st_check_text(s, "action root_cause", a->root_cause,
	    STORE_MAX_LONG, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "refusal reason", refused_reason,
	    STORE_MAX_TEXT, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "policy rule", a->rule, STORE_MAX_NAME,
	    0)) != STORE_OK ||
	    (rc = st_check_text(s, "action origin", a->origin, STORE_MAX_NAME,
	    0)) != STORE_OK ||
	    (rc = st_check_text(s, "action proposer", a->proposer,
	    STORE_MAX_NAME, 0)) != STORE_OK ||
	    (rc = st_check_text(s, "action client", a->client, STORE_MAX_NAME,
	    0)) != STORE_OK ||
	    (rc = st_check_text(s, "action rationale", a->rationale,
	    STORE_MAX_RATIONALE, 0)) != STORE_OK)
		return rc;
	if (refused_reason == NULL && (a->patch == NULL ||
	    !json_is_array(a->patch)))
		return st_seterr(s, STORE_EINVAL, "store: a pending action needs "
		    "a JSON Patch array");
	return STORE_OK;
}

/*
 * Put the action-id annotation op into a new pending action's patch, inside
 * the transaction that creates it: the operator approves the patch with
 * the stamp in it, and apply sends exactly that (DESIGN.md, principle 1).
 * The stamp lets crash recovery tell whether the PATCH landed.  detail (the
 * "suggested" audit row) gets the stamped patch too.
 */
static int
stamp_patch(struct store *s, int64_t id, json_t *patch, json_t *detail)
{
	sqlite3_stmt	*st = NULL;
	json_t		*stamped;
	char		*pa = NULL;
	int		 rc;

	if ((stamped = normalize_stamp(patch, NULL, id)) == NULL)
		return st_seterr(s, STORE_EDB, "store: out of memory");
	if ((rc = st_canon_json(s, "action patch", stamped, JSON_ARRAY,
	    &pa)) != STORE_OK)
		goto out;
	if ((rc = st_prep(s, "UPDATE actions SET patch = ? WHERE id = ?",
	    &st)) != STORE_OK)
		goto out;
	st_bind_text(st, 1, pa);
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = st_dberr(s, "stamp action patch");
		goto out;
	}
	if (detail != NULL && json_object_set(detail, "patch", stamped) == -1)
		rc = st_seterr(s, STORE_EDB, "store: out of memory");
out:
	sqlite3_finalize(st);
	free(pa);
	json_decref(stamped);
	return rc;
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
	char		*inv = NULL;
	/* a patch normalised elsewhere (the rules backend) carries its old
	 * values in its tests: the inverse follows from it */
	json_t		*derived = act->inverse == NULL && refused_reason == NULL ?
			    normalize_inverse(act->patch) : NULL;
	const char	*to;
	int64_t		 now, id = 0;
	int		 rc, step;

	if ((rc = action_check(s, act, refused_reason)) != STORE_OK ||
	    (rc = st_steps_check(s, act->steps)) != STORE_OK ||
	    (rc = st_canon_json(s, "action evidence", act->evidence, JSON_ARRAY,
	    &ev)) != STORE_OK ||
	    (rc = st_canon_json(s, "action patch", act->patch, JSON_ARRAY,
	    &pa)) != STORE_OK ||
	    (rc = st_canon_json(s, "action changes", act->changes, JSON_ARRAY,
	    &ch)) != STORE_OK ||
	    (rc = st_canon_json(s, "dry-run result", dryrun, 0, &re)) !=
	    STORE_OK ||
	    (rc = st_canon_json(s, "action inverse", act->inverse ?
	    act->inverse : derived, JSON_ARRAY, &inv)) != STORE_OK)
		goto out;
	to = refused_reason ? ACTION_REFUSED : ACTION_PENDING;
	if (refused_reason)
		detail = json_pack("{s:s, s:O, s:o}", "reason", refused_reason,
		    "patch", act->patch ? act->patch : json_null(),
		    "rule", st_jstr(act->rule));
	else
		detail = json_pack("{s:O, s:s}", "patch", act->patch,
		    "summary", act->summary);
	if (detail != NULL && json_is_object(act->proposal) &&
	    json_object_set(detail, "proposal", act->proposal) == -1) {
		json_decref(detail);
		detail = NULL;
	}
	if (detail != NULL && json_array_size(act->steps) > 0)
		json_object_set(detail, "steps", act->steps);
	/* an agent's proposal: who, with which client, and its words */
	if (detail != NULL && act->origin != NULL && strcmp(act->origin,
	    STORE_ORIGIN_AGENT) == 0 && json_object_set_new(detail, "agent",
	    json_pack("{s:s?, s:I, s:s?, s:s?}", "proposer", act->proposer,
	    "proposer_uid", (json_int_t)act->proposer_uid, "client",
	    act->client, "rationale", act->rationale)) == -1) {
		json_decref(detail);
		detail = NULL;
	}
	if (detail == NULL) {
		rc = st_seterr(s, STORE_EDB, "store: out of memory");
		goto out;
	}
	now = now_ms();
	if ((rc = st_begin_batched(s)) != STORE_OK)
		goto out;
	if ((rc = st_prep(s, "SELECT 1 FROM incidents WHERE id = ?", &st)) !=
	    STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, act->incident_id);
	if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		rc = st_seterr(s, STORE_ENOTFOUND, "incident %lld not found",
		    (long long)act->incident_id);
		goto out;
	} else if (step != SQLITE_ROW) {
		rc = st_dberr(s, "read incident");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = st_prep(s, "INSERT INTO actions (incident_id, state, created, "
	    "updated, namespace, kind, name, api_path, backend, risk, summary, "
	    "root_cause, evidence, patch, changes, reason, result, "
	    "approved_by, approved_uid, inverse, rollback_of, rule, origin, "
	    "proposer, proposer_uid, client, rationale) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, -1, ?, "
	    "?, ?, coalesce(?, 'remedyd'), ?, ?, ?, ?)", &st)) != STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, act->incident_id);
	st_bind_text(st, 2, to);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, now);
	st_bind_text(st, 5, act->namespace);
	st_bind_text(st, 6, act->kind);
	st_bind_text(st, 7, act->name);
	st_bind_text(st, 8, act->api_path);
	st_bind_text(st, 9, act->backend);
	st_bind_text(st, 10, act->risk);
	st_bind_text(st, 11, act->summary);
	st_bind_text(st, 12, act->root_cause);
	st_bind_text(st, 13, ev);
	st_bind_text(st, 14, pa);
	st_bind_text(st, 15, ch);
	st_bind_text(st, 16, refused_reason);
	st_bind_text(st, 17, re);
	st_bind_text(st, 18, inv);
	sqlite3_bind_int64(st, 19, act->rollback_of);
	st_bind_text(st, 20, act->rule);
	st_bind_text(st, 21, act->origin);
	st_bind_text(st, 22, act->proposer);
	sqlite3_bind_int64(st, 23, act->origin != NULL ? act->proposer_uid :
	    -1);
	st_bind_text(st, 24, act->client);
	st_bind_text(st, 25, act->rationale);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = st_dberr(s, "insert action");
		goto out;
	}
	id = sqlite3_last_insert_rowid(s->db);
	if (refused_reason == NULL &&
	    (rc = stamp_patch(s, id, act->patch, detail)) != STORE_OK)
		goto out;
	/* a refused action keeps its steps in its audit row only */
	if (refused_reason == NULL && (rc = st_steps_insert(s, id,
	    act->api_path, act->steps, now)) != STORE_OK)
		goto out;
	if ((rc = store_audit_append(s, now, id, refused_reason ? "refused" :
	    "suggested", &store_actor_daemon, detail)) != STORE_OK)
		goto out;
	if ((rc = st_commit(s)) != STORE_OK)
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
		st_rollback(s);
	json_decref(detail);
	free(ev);
	free(pa);
	free(ch);
	free(re);
	free(inv);
	json_decref(derived);
	return rc;
}

/* One transition: what it needs and what it writes. */
struct xition {
	int64_t				 id;
	const char			*from;		/* required state(s), "a|b" */
	const char			*to;
	const char			*event;		/* audit event */
	const struct store_actor	*who;
	json_t				*detail;	/* audit detail */
	const char			*approved_by;	/* set when not NULL */
	long				 approved_uid;
	const char			*reason;	/* set when not NULL */
	json_t				*result;	/* set when not NULL */
	const char			*rule;		/* set when not NULL */
	int				 batched;	/* st_begin_batched() */
};

/* state is one of the '|'-separated states in from. */
int
st_state_in(const char *state, const char *from)
{
	size_t	n = strlen(state);
	const char *p = from;

	for (;;) {
		if (strncmp(p, state, n) == 0 && (p[n] == '\0' || p[n] == '|'))
			return 1;
		if ((p = strchr(p, '|')) == NULL)
			return 0;
		p++;
	}
}

/*
 * One transition inside the caller's transaction: refuse unless the action
 * is in x->from (STORE_EBADSTATE), update state, updated and the fields x
 * sets, append the audit row.  The caller commits or rolls back.
 */
static int
transition_txn(struct store *s, const struct xition *x)
{
	sqlite3_stmt	*st = NULL;
	char		*res = NULL, from[32];
	int64_t		 now = now_ms();
	int		 rc, step;

	if (x->detail == NULL)
		return st_seterr(s, STORE_EDB, "store: out of memory");
	if ((rc = st_canon_json(s, "result", x->result, 0, &res)) != STORE_OK)
		return rc;
	if ((rc = st_prep(s, "SELECT state FROM actions WHERE id = ?", &st)) !=
	    STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, x->id);
	if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		rc = st_seterr(s, STORE_ENOTFOUND, "action %lld not found",
		    (long long)x->id);
		goto out;
	} else if (step != SQLITE_ROW) {
		rc = st_dberr(s, "read action");
		goto out;
	}
	if (!st_state_in(st_col_str(st, 0), x->from) ||
	    strlen(st_col_str(st, 0)) >= sizeof(from)) {
		rc = st_seterr(s, STORE_EBADSTATE, "action %lld is %s, not %s",
		    (long long)x->id, st_col_str(st, 0), x->from);
		goto out;
	}
	snprintf(from, sizeof(from), "%s", st_col_str(st, 0));
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = st_prep(s, "UPDATE actions SET state = ?1, updated = ?2, "
	    "approved_by = coalesce(?3, approved_by), "
	    "approved_uid = CASE WHEN ?3 IS NULL THEN approved_uid ELSE ?4 END, "
	    "reason = coalesce(?5, reason), result = coalesce(?6, result), "
	    "rule = coalesce(?9, rule) "
	    "WHERE id = ?7 AND state = ?8", &st)) != STORE_OK)
		goto out;
	st_bind_text(st, 1, x->to);
	sqlite3_bind_int64(st, 2, now);
	st_bind_text(st, 3, x->approved_by);
	sqlite3_bind_int64(st, 4, x->approved_uid);
	st_bind_text(st, 5, x->reason);
	st_bind_text(st, 6, res);
	sqlite3_bind_int64(st, 7, x->id);
	st_bind_text(st, 8, from);
	st_bind_text(st, 9, x->rule);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = st_dberr(s, "update action");
		goto out;
	}
	if (sqlite3_changes(s->db) != 1) {
		rc = st_seterr(s, STORE_EDB, "store: action %lld changed under "
		    "us", (long long)x->id);
		goto out;
	}
	rc = store_audit_append(s, now, x->id, x->event, x->who, x->detail);
out:
	sqlite3_finalize(st);
	free(res);
	return rc;
}

/* One transition in one BEGIN IMMEDIATE transaction (or, batched, one
 * savepoint of the batch); nothing written when it is refused. */
static int
transition(struct store *s, const struct xition *x)
{
	int	rc;

	if (x->detail == NULL)
		return st_seterr(s, STORE_EDB, "store: out of memory");
	if ((rc = x->batched ? st_begin_batched(s) : st_begin(s)) != STORE_OK)
		return rc;
	if ((rc = transition_txn(s, x)) == STORE_OK)
		rc = st_commit(s);
	if (rc != STORE_OK)
		st_rollback(s);
	return rc;
}

/* A caller-supplied actor: a user name of sane length. */
static int
check_actor(struct store *s, const struct store_actor *who)
{
	if (who == NULL)
		return st_seterr(s, STORE_EINVAL, "store: actor is required");
	return st_check_text(s, "actor name", who->name, STORE_MAX_NAME, 1);
}

int
store_action_approve(struct store *s, int64_t id,
    const struct store_actor *who, const char *comment)
{
	struct xition	x = { .id = id, .from = ACTION_PENDING,
			    .to = ACTION_APPROVED, .event = "approved" };
	int		rc;

	if ((rc = check_actor(s, who)) != STORE_OK ||
	    (rc = st_check_text(s, "comment", comment, STORE_MAX_TEXT, 0)) !=
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
	    (rc = st_check_text(s, "reason", reason, STORE_MAX_TEXT, 1)) !=
	    STORE_OK)
		return rc;
	x.who = who;
	x.reason = reason;
	x.detail = json_pack("{s:s}", "reason", reason);
	rc = transition(s, &x);
	json_decref(x.detail);
	return rc;
}

/*
 * approved -> applying.  With steps, step 1 (the patch) becomes applying in
 * the same transaction, and the audit row says so.
 */
int
store_action_begin_apply(struct store *s, int64_t id)
{
	struct xition	x = { .id = id, .from = ACTION_APPROVED,
			    .to = ACTION_APPLYING, .event = "applying",
			    .who = &store_actor_daemon };
	int		rc, moved = 0;

	if ((x.detail = json_object()) == NULL)
		return st_seterr(s, STORE_EDB, "store: out of memory");
	if ((rc = st_begin(s)) != STORE_OK)
		goto out;
	if ((rc = st_steps_open(s, id)) < 0)
		goto fail;
	if (rc > 0 && (rc = st_step_move(s, id, 1, ACTION_STEP_PENDING,
	    ACTION_STEP_APPLYING, NULL, &moved)) != STORE_OK)
		goto fail;
	if (moved)
		json_object_set_new(x.detail, "step", json_integer(moved));
	if ((rc = transition_txn(s, &x)) == STORE_OK &&
	    (rc = st_commit(s)) == STORE_OK)
		goto out;
fail:
	if (rc > 0)
		rc = STORE_EDB;
	st_rollback(s);
out:
	json_decref(x.detail);
	return rc;
}

/* rollback_of of action id inside a transaction; -1 on error. */
static int64_t
rollback_of(struct store *s, int64_t id)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 v = -1;

	if (st_prep(s, "SELECT rollback_of FROM actions WHERE id = ?", &st) !=
	    STORE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		st_dberr(s, "read rollback_of");
	sqlite3_finalize(st);
	return v;
}

/*
 * applying -> applied.  For a rollback, the original moves to rolled-back
 * in the same transaction (its own audit row), so a crash can never leave
 * the rollback applied and the original looking current.
 */
int
store_action_applied(struct store *s, int64_t id, json_t *sent_patch,
    json_t *answer)
{
	struct xition	x = { .id = id, .from = ACTION_APPLYING,
			    .to = ACTION_APPLIED, .event = "applied",
			    .who = &store_actor_daemon, .result = answer };
	struct xition	o = { .from = ACTION_APPLIED "|" ACTION_VERIFIED "|"
			    ACTION_NOT_RECOVERED, .to = ACTION_ROLLED_BACK,
			    .event = "rolled-back", .who = &store_actor_daemon };
	int64_t		orig;
	int		rc;

	x.detail = json_pack("{s:O, s:O}",
	    "patch", sent_patch ? sent_patch : json_null(),
	    "answer", answer ? answer : json_null());
	o.detail = json_pack("{s:I}", "rollback", (json_int_t)id);
	if (x.detail == NULL || o.detail == NULL) {
		rc = st_seterr(s, STORE_EDB, "store: out of memory");
		goto out;
	}
	if ((rc = st_begin(s)) != STORE_OK)
		goto out;
	if ((rc = st_steps_open(s, id)) != 0) {
		if (rc > 0)
			rc = st_seterr(s, STORE_EBADSTATE, "action %lld has %d "
			    "step%s not done", (long long)id, rc,
			    rc == 1 ? "" : "s");
		goto fail;
	}
	if ((rc = transition_txn(s, &x)) != STORE_OK)
		goto fail;
	if ((orig = rollback_of(s, id)) < 0) {
		rc = STORE_EDB;
		goto fail;
	}
	o.id = orig;
	if (orig > 0 && (rc = transition_txn(s, &o)) != STORE_OK)
		goto fail;
	if ((rc = st_commit(s)) == STORE_OK)
		goto out;
fail:
	st_rollback(s);
out:
	json_decref(x.detail);
	json_decref(o.detail);
	return rc;
}

/* applying -> failed; the step applying (if any) fails with it, in the same
 * transaction. */
int
store_action_failed(struct store *s, int64_t id, const char *reason,
    json_t *answer)
{
	struct xition	x = { .id = id, .from = ACTION_APPLYING,
			    .to = ACTION_FAILED, .event = "failed",
			    .who = &store_actor_daemon, .reason = reason,
			    .result = answer };
	int		rc, moved = 0;

	if ((rc = st_check_text(s, "reason", reason, STORE_MAX_TEXT, 1)) !=
	    STORE_OK)
		return rc;
	x.detail = json_pack("{s:s, s:O}", "reason", reason,
	    "answer", answer ? answer : json_null());
	if (x.detail == NULL)
		return st_seterr(s, STORE_EDB, "store: out of memory");
	if ((rc = st_begin(s)) != STORE_OK)
		goto out;
	if ((rc = st_step_move(s, id, 0, ACTION_STEP_APPLYING, ACTION_STEP_FAILED, NULL,
	    &moved)) != STORE_OK)
		goto fail;
	if (moved)
		json_object_set_new(x.detail, "step", json_integer(moved));
	if ((rc = transition_txn(s, &x)) == STORE_OK &&
	    (rc = st_commit(s)) == STORE_OK)
		goto out;
fail:
	st_rollback(s);
out:
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

	if ((rc = st_check_text(s, "detail", detail, STORE_MAX_TEXT, 0)) !=
	    STORE_OK)
		return rc;
	x.detail = json_pack("{s:o}", "detail", st_jstr(detail));
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

/* pending -> to, by the daemon, with a reason (supersede and expire). */
static int
pending_to(struct store *s, int64_t id, const char *to, const char *event,
    const char *reason)
{
	struct xition	x = { .id = id, .from = ACTION_PENDING, .to = to,
			    .event = event, .who = &store_actor_daemon,
			    .reason = reason, .batched = 1 };
	int		rc;

	if ((rc = st_check_text(s, "reason", reason, STORE_MAX_TEXT, 1)) !=
	    STORE_OK)
		return rc;
	x.detail = json_pack("{s:s}", "reason", reason);
	rc = transition(s, &x);
	json_decref(x.detail);
	return rc;
}

int
store_action_supersede(struct store *s, int64_t id, const char *reason)
{
	return pending_to(s, id, ACTION_SUPERSEDED, "superseded", reason);
}

int
store_action_expire(struct store *s, int64_t id, const char *reason)
{
	return pending_to(s, id, ACTION_EXPIRED, "expired", reason);
}

int
store_action_refuse(struct store *s, int64_t id,
    const struct store_actor *who, const char *rule, const char *reason)
{
	struct xition	x = { .id = id, .from = ACTION_PENDING,
			    .to = ACTION_REFUSED, .event = "refused",
			    .reason = reason, .rule = rule };
	int		rc;

	if ((rc = check_actor(s, who)) != STORE_OK ||
	    (rc = st_check_text(s, "rule", rule, STORE_MAX_NAME, 1)) !=
	    STORE_OK ||
	    (rc = st_check_text(s, "reason", reason, STORE_MAX_TEXT, 1)) !=
	    STORE_OK)
		return rc;
	x.who = who;
	x.detail = json_pack("{s:s, s:s}", "rule", rule, "reason", reason);
	rc = transition(s, &x);
	json_decref(x.detail);
	return rc;
}

/* The rollback's patch: a generation test for what the original's PATCH
 * produced (when recorded), then the inverse without generation tests. */
static json_t *
rollback_patch(const struct store_action *a)
{
	json_t		*p, *op, *gen;
	const char	*path;
	size_t		 i;

	if ((p = json_array()) == NULL)
		return NULL;
	gen = json_object_get(a->result, "generation");
	if (json_is_integer(gen) && json_integer_value(gen) > 0 &&
	    json_array_append_new(p, json_pack("{s:s, s:s, s:O}", "op", "test",
	    "path", "/metadata/generation", "value", gen)) == -1)
		goto fail;
	json_array_foreach(a->inverse, i, op) {
		path = json_string_value(json_object_get(op, "path"));
		if (path != NULL && strcmp(path, "/metadata/generation") == 0)
			continue;
		if (json_array_append(p, op) == -1)
			goto fail;
	}
	return p;
fail:
	json_decref(p);
	return NULL;
}

/* changes with before and after swapped. */
static json_t *
swap_changes(json_t *changes)
{
	json_t	*out, *c;
	size_t	 i;

	if ((out = json_array()) == NULL)
		return NULL;
	json_array_foreach(changes, i, c) {
		if (json_array_append_new(out, json_pack("{s:O, s:O, s:O}",
		    "path", json_object_get(c, "path") ?
		    json_object_get(c, "path") : json_null(),
		    "before", json_object_get(c, "after") ?
		    json_object_get(c, "after") : json_null(),
		    "after", json_object_get(c, "before") ?
		    json_object_get(c, "before") : json_null())) == -1) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/*
 * A new pending action undoing id, in one transaction with an audit row
 * "rollback-proposed" on the original (who asked) and a "suggested" row on
 * the new action.  The original keeps its state until the rollback is
 * applied.
 */
int
store_action_rollback(struct store *s, int64_t id,
    const struct store_actor *who, int64_t *new_id)
{
	struct store_action	 a, n;
	sqlite3_stmt		*st = NULL;
	json_t			*detail = NULL, *ndetail = NULL;
	char			*pa = NULL, *ch = NULL, *inv = NULL, *ev = NULL;
	char			 summary[STORE_MAX_TEXT];
	int64_t			 now = now_ms(), nid;
	int			 rc;

	memset(&n, 0, sizeof(n));
	if (new_id != NULL)
		*new_id = 0;
	if ((rc = check_actor(s, who)) != STORE_OK)
		return rc;
	if ((rc = st_begin(s)) != STORE_OK)
		return rc;
	if ((rc = store_action_get(s, id, &a)) != STORE_OK)
		goto fail;
	if (!st_state_in(a.state, ACTION_APPLIED "|" ACTION_VERIFIED "|"
	    ACTION_NOT_RECOVERED)) {
		rc = st_seterr(s, STORE_EBADSTATE, "action %lld is %s; only an "
		    "applied, verified or not-recovered action can be rolled "
		    "back", (long long)id, a.state);
		goto fail;
	}
	if (!json_is_array(a.inverse) || json_array_size(a.inverse) == 0) {
		rc = st_seterr(s, STORE_EBADSTATE, "action %lld has no stored "
		    "inverse patch", (long long)id);
		goto fail;
	}
	if ((rc = st_prep(s, "SELECT id FROM actions WHERE rollback_of = ? AND "
	    "state IN ('pending', 'approved', 'applying', 'applied')", &st)) !=
	    STORE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		rc = st_seterr(s, STORE_EBADSTATE, "action %lld already has a "
		    "rollback: action %lld", (long long)id,
		    (long long)sqlite3_column_int64(st, 0));
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	snprintf(summary, sizeof(summary), "Roll back action %lld: %.3000s",
	    (long long)id, a.summary);
	n.patch = rollback_patch(&a);
	n.changes = swap_changes(a.changes);
	n.evidence = json_pack("[s]", "rollback requested by an operator");
	if (n.patch == NULL || n.changes == NULL || n.evidence == NULL) {
		rc = st_seterr(s, STORE_EDB, "store: out of memory");
		goto fail;
	}
	/* the rollback's own inverse re-applies the original's writes */
	if ((rc = st_canon_json(s, "patch", n.patch, JSON_ARRAY, &pa)) !=
	    STORE_OK ||
	    (rc = st_canon_json(s, "changes", n.changes, JSON_ARRAY, &ch)) !=
	    STORE_OK ||
	    (rc = st_canon_json(s, "inverse", a.patch, JSON_ARRAY, &inv)) !=
	    STORE_OK ||
	    (rc = st_canon_json(s, "evidence", n.evidence, JSON_ARRAY, &ev)) !=
	    STORE_OK)
		goto fail;
	if ((rc = st_prep(s, "INSERT INTO actions (incident_id, state, created, "
	    "updated, namespace, kind, name, api_path, backend, risk, summary, "
	    "root_cause, evidence, patch, changes, approved_uid, inverse, "
	    "rollback_of) VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, 'rollback', "
	    "?, ?, ?, ?, ?, ?, -1, ?, ?)", &st)) != STORE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, a.incident_id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, now);
	st_bind_text(st, 4, a.namespace);
	st_bind_text(st, 5, a.kind);
	st_bind_text(st, 6, a.name);
	st_bind_text(st, 7, a.api_path);
	st_bind_text(st, 8, a.risk);
	st_bind_text(st, 9, summary);
	st_bind_text(st, 10, a.root_cause);
	st_bind_text(st, 11, ev);
	st_bind_text(st, 12, pa);
	st_bind_text(st, 13, ch);
	st_bind_text(st, 14, inv);
	sqlite3_bind_int64(st, 15, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = st_dberr(s, "insert rollback action");
		goto fail;
	}
	nid = sqlite3_last_insert_rowid(s->db);
	detail = json_pack("{s:I}", "rollback", (json_int_t)nid);
	ndetail = json_pack("{s:O, s:s, s:I}", "patch", n.patch, "summary",
	    summary, "rollback_of", (json_int_t)id);
	if (detail == NULL || ndetail == NULL) {
		rc = st_seterr(s, STORE_EDB, "store: out of memory");
		goto fail;
	}
	if ((rc = stamp_patch(s, nid, n.patch, ndetail)) != STORE_OK)
		goto fail;
	if ((rc = store_audit_append(s, now, id, "rollback-proposed", who,
	    detail)) != STORE_OK ||
	    (rc = store_audit_append(s, now, nid, "suggested", who, ndetail)) !=
	    STORE_OK ||
	    (rc = st_commit(s)) != STORE_OK)
		goto fail;
	if (new_id != NULL)
		*new_id = nid;
	goto out;
fail:
	st_rollback(s);
out:
	sqlite3_finalize(st);
	store_action_clear(&a);
	json_decref(n.patch);
	json_decref(n.changes);
	json_decref(n.evidence);
	json_decref(detail);
	json_decref(ndetail);
	free(pa);
	free(ch);
	free(inv);
	free(ev);
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
	o->state = st_col_dup(st, 2);
	o->created = sqlite3_column_int64(st, 3);
	o->updated = sqlite3_column_int64(st, 4);
	o->namespace = st_col_dup(st, 5);
	o->kind = st_col_dup(st, 6);
	o->name = st_col_dup(st, 7);
	o->api_path = st_col_dup(st, 8);
	o->backend = st_col_dup(st, 9);
	o->risk = st_col_dup(st, 10);
	o->summary = st_col_dup(st, 11);
	o->root_cause = st_col_dup(st, 12);
	o->reason = st_col_dup(st, 16);
	o->approved_by = st_col_dup(st, 18);
	o->approved_uid = (long)sqlite3_column_int64(st, 19);
	o->rollback_of = sqlite3_column_int64(st, 21);
	o->rule = st_col_dup(st, 22);
	o->origin = st_col_dup(st, 23);
	o->proposer = st_col_dup(st, 24);
	o->proposer_uid = (long)sqlite3_column_int64(st, 25);
	o->client = st_col_dup(st, 26);
	o->rationale = st_col_dup(st, 27);
	if ((rc = st_col_json(s, st, 13, "evidence", o->id, &o->evidence)) !=
	    STORE_OK ||
	    (rc = st_col_json(s, st, 14, "patch", o->id, &o->patch)) != STORE_OK ||
	    (rc = st_col_json(s, st, 15, "changes", o->id, &o->changes)) !=
	    STORE_OK ||
	    (rc = st_col_json(s, st, 17, "result", o->id, &o->result)) !=
	    STORE_OK ||
	    (rc = st_col_json(s, st, 20, "inverse", o->id, &o->inverse)) !=
	    STORE_OK)
		goto out;
	if (o->state == NULL || o->namespace == NULL || o->kind == NULL ||
	    o->name == NULL || o->summary == NULL)
		rc = st_seterr(s, STORE_EDB, "store: out of memory");
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
	if ((rc = st_prep(s, ACTION_COLS " WHERE id = ?", &st)) != STORE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((step = sqlite3_step(st)) == SQLITE_DONE)
		rc = st_seterr(s, STORE_ENOTFOUND, "action %lld not found",
		    (long long)id);
	else if (step != SQLITE_ROW)
		rc = st_dberr(s, "read action");
	else
		rc = action_from_row(s, st, out);
	sqlite3_finalize(st);
	if (rc == STORE_OK && (rc = st_steps_load(s, id, &out->steps)) !=
	    STORE_OK)
		store_action_clear(out);
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
	json_decref(a->inverse);
	free(a->rule);
	free(a->origin);
	free(a->proposer);
	free(a->client);
	free(a->rationale);
	json_decref(a->steps);
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
	if (st_check_text(s, "state", state, STORE_MAX_NAME, 1) != STORE_OK)
		return NULL;
	if (st_prep(s, "SELECT id FROM actions WHERE state = ? ORDER BY id "
	    "LIMIT ?", &st) != STORE_OK)
		return NULL;
	st_bind_text(st, 1, state);
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
		st_dberr(s, "list action ids");
		goto out;
	}
	*n = len;
	ok = 1;
	goto out;
nomem:
	st_seterr(s, STORE_EDB, "store: out of memory");
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

	if (st_prep(s, "SELECT id FROM actions WHERE incident_id = ? AND state "
	    "IN ('pending', 'approved', 'applying', 'applied') "
	    "ORDER BY id DESC LIMIT 1", &st) != STORE_OK) {
		log_warnx("%s", s->err);
		return 0;
	}
	sqlite3_bind_int64(st, 1, incident_id);
	if ((step = sqlite3_step(st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (step != SQLITE_DONE) {
		st_dberr(s, "find live action");
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
	json_object_set_new(o, "state", st_jstr(a->state));
	json_object_set_new(o, "created", st_jtime(a->created));
	json_object_set_new(o, "namespace", st_jstr(a->namespace));
	json_object_set_new(o, "kind", st_jstr(a->kind));
	json_object_set_new(o, "name", st_jstr(a->name));
	json_object_set_new(o, "summary", st_jstr(a->summary));
	json_object_set_new(o, "backend", st_jstr(a->backend));
	json_object_set_new(o, "risk", st_jstr(a->risk));
	json_object_set_new(o, "origin", st_jstr(a->origin ? a->origin :
	    STORE_ORIGIN_REMEDYD));
	if (a->proposer != NULL)
		json_object_set_new(o, "proposer", st_jstr(a->proposer));
	return o;
}

json_t *
store_action_json(const struct store_action *a)
{
	json_t	*o;

	if ((o = action_summary(a)) == NULL)
		return NULL;
	json_object_set_new(o, "updated", st_jtime(a->updated));
	json_object_set_new(o, "api_path", st_jstr(a->api_path));
	json_object_set_new(o, "root_cause", st_jstr(a->root_cause));
	json_object_set_new(o, "evidence", a->evidence ?
	    json_incref(a->evidence) : json_array());
	json_object_set_new(o, "patch", st_jref(a->patch));
	json_object_set_new(o, "changes", a->changes ?
	    json_incref(a->changes) : json_array());
	json_object_set_new(o, "reason", st_jstr(a->reason));
	json_object_set_new(o, "result", st_jref(a->result));
	json_object_set_new(o, "approved_by", st_jstr(a->approved_by));
	json_object_set_new(o, "approved_uid", json_integer(a->approved_uid));
	json_object_set_new(o, "inverse", st_jref(a->inverse));
	json_object_set_new(o, "rollback_of", json_integer(a->rollback_of));
	json_object_set_new(o, "rule", st_jstr(a->rule));
	if (a->origin != NULL && strcmp(a->origin, STORE_ORIGIN_AGENT) == 0) {
		json_object_set_new(o, "proposer_uid",
		    json_integer(a->proposer_uid));
		json_object_set_new(o, "client", st_jstr(a->client));
		json_object_set_new(o, "rationale", st_jstr(a->rationale));
	}
	if (a->steps != NULL)
		json_object_set(o, "steps", a->steps);
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

	if (st_prep(s, ACTION_COLS " WHERE (?1 IS NULL OR state = ?1) AND "
	    "(?2 IS NULL OR namespace = ?2) ORDER BY id DESC LIMIT ?3", &st) !=
	    STORE_OK)
		return NULL;
	st_bind_text(st, 1, state);
	st_bind_text(st, 2, namespace);
	sqlite3_bind_int(st, 3, STORE_MAX_ROWS);
	if ((arr = json_array()) == NULL)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (action_from_row(s, st, &a) != STORE_OK)
			goto out;
		o = action_summary(&a);
		store_action_clear(&a);
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
