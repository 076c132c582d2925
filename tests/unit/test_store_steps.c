/*
 * test_store_steps.c - multi-step actions in the store against a real
 * database: a forced rollback's steps are stored with the action (bad
 * steps refused, nothing written), step 1 becomes applying with the
 * action, steps move pending -> applying -> done in order with one audit
 * row each, the action is applied only when every step is done, a failure
 * fails the step applying with it, a rollback reverts the template only
 * (no steps), one-step actions keep no step rows, the wall at approve
 * checks the stored steps, a version 3 database is upgraded, and the hash
 * chain verifies.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "action/policy.h"
#include "store/policy_gate.h"
#include "store/store.h"
#include "storetest.h"
#include "t.h"

static char	tmpdir[64];
static char	dbpath[128];

static const struct store_actor alice = { 1000, "alice" };

static long long
audit_rows(int64_t action)
{
	char	sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE "
	    "action_id = %lld", (long long)action);
	return raw_int(dbpath, sql);
}

/* The last audit row of action: its event, and its detail's "step". */
static void
last_audit(struct store *s, int64_t action, char *event, size_t len,
    long long *step)
{
	json_t	*rows = store_audit_json(s, action, 0), *row;

	event[0] = '\0';
	*step = -1;
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return;
	}
	row = json_array_get(rows, json_array_size(rows) - 1);
	snprintf(event, len, "%s",
	    json_string_value(json_object_get(row, "event")) ?
	    json_string_value(json_object_get(row, "event")) : "");
	if (json_is_integer(json_object_get(json_object_get(row, "detail"),
	    "step")))
		*step = json_integer_value(json_object_get(json_object_get(row,
		    "detail"), "step"));
	json_decref(rows);
}

/* State of step n (1-based) of action id, "" when it has none. */
static const char *
step_state(struct store *s, int64_t id, int n)
{
	static char		buf[32];
	struct store_action	a;
	json_t			*st;

	buf[0] = '\0';
	if (store_action_get(s, id, &a) != STORE_OK)
		return buf;
	st = json_array_get(a.steps, (size_t)n - 1);
	if (json_is_string(json_object_get(st, "state")))
		snprintf(buf, sizeof(buf), "%s",
		    json_string_value(json_object_get(st, "state")));
	store_action_clear(&a);
	return buf;
}

static const char *
state_of(struct store *s, int64_t id)
{
	static char		buf[32];
	struct store_action	a;

	buf[0] = '\0';
	if (store_action_get(s, id, &a) == STORE_OK) {
		snprintf(buf, sizeof(buf), "%s", a.state);
		store_action_clear(&a);
	}
	return buf;
}

static json_t *
pod_step(const char *name, const char *uid)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "delete-pod",
	    "name", name, "uid", uid, "revision", "db-bad", "owner_uid",
	    "sts-uid");
}

/* A forced rollback: the template patch, then steps (taken over). */
static int64_t
new_action(struct store *s, int64_t inc, json_t *steps, int *rc)
{
	struct store_action	a;
	int64_t			id = 0;

	memset(&a, 0, sizeof(a));
	a.incident_id = inc;
	a.namespace = (char *)"demo";
	a.kind = (char *)"StatefulSet";
	a.name = (char *)"db";
	a.api_path = (char *)"/apis/apps/v1/namespaces/demo/statefulsets/db";
	a.backend = (char *)"rules";
	a.risk = (char *)"low";
	a.summary = (char *)"Roll back db and delete its pods on the bad "
	    "revision";
	a.evidence = json_array();
	a.patch = json_pack("[{s:s,s:s,s:i},{s:s,s:s,s:s},{s:s,s:s,s:s}]",
	    "op", "test", "path", "/metadata/generation", "value", 2,
	    "op", "test", "path", "/spec/template/spec/containers/0/image",
	    "value", "db:typo",
	    "op", "replace", "path", "/spec/template/spec/containers/0/image",
	    "value", "db:1");
	a.changes = json_array();
	a.steps = steps;
	a.approved_uid = -1;
	*rc = store_action_propose(s, &a, NULL, NULL);
	if (*rc == STORE_OK)
		id = a.id;
	json_decref(a.evidence);
	json_decref(a.patch);
	json_decref(a.changes);
	json_decref(a.steps);
	free(a.state);
	return id;
}

static void
test_bad_steps(struct store *s, int64_t inc)
{
	long long	before = raw_int(dbpath, "SELECT count(*) FROM audit");
	json_t		*bad;
	int		 rc;

	bad = json_pack("[{s:s, s:s}]", "kind", "delete-namespace", "name",
	    "demo");
	CHECK_INT(new_action(s, inc, bad, &rc), 0);
	CHECK_INT(rc, STORE_EINVAL);
	CHECK(strstr(store_errmsg(s), "step 2: unknown kind") != NULL);
	bad = json_pack("[{s:s, s:s, s:s, s:s}]", "kind", "delete-pod", "name",
	    "db-1", "revision", "db-bad", "owner_uid", "sts-uid");
	CHECK_INT(new_action(s, inc, bad, &rc), 0);
	CHECK_INT(rc, STORE_EINVAL);
	CHECK(strstr(store_errmsg(s), "needs uid") != NULL);
	bad = json_pack("[s]", "db-1");
	CHECK_INT(new_action(s, inc, bad, &rc), 0);
	CHECK_INT(rc, STORE_EINVAL);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM audit"), before);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM action_steps"), 0);
}

static void
test_steps_in_order(struct store *s, int64_t inc)
{
	struct store_action	 a;
	json_t			*answer, *v;
	char			 ev[64];
	long long		 step, rows;
	int64_t			 id, rb;
	int			 rc;

	id = new_action(s, inc, json_pack("[o, o]", pod_step("db-1", "u1"),
	    pod_step("db-2", "u2")), &rc);
	CHECK_INT(rc, STORE_OK);
	CHECK(id > 0);
	CHECK_INT(store_action_get(s, id, &a), STORE_OK);
	CHECK_INT(json_array_size(a.steps), 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(a.steps, 0),
	    "kind")), "patch");
	CHECK_STR(json_string_value(json_object_get(json_array_get(a.steps, 0),
	    "api_path")), "/apis/apps/v1/namespaces/demo/statefulsets/db");
	CHECK_STR(json_string_value(json_object_get(json_array_get(a.steps, 2),
	    "name")), "db-2");
	CHECK_INT(json_integer_value(json_object_get(json_array_get(a.steps,
	    2), "step")), 3);
	/* show carries the steps; the summary rows do not need them */
	v = store_action_json(&a);
	CHECK_INT(json_array_size(json_object_get(v, "steps")), 3);
	json_decref(v);
	store_action_clear(&a);
	/* the "suggested" row carries the steps the operator approves */
	v = store_audit_json(s, id, 0);
	CHECK_INT(json_array_size(json_object_get(json_object_get(
	    json_array_get(v, 0), "detail"), "steps")), 2);
	json_decref(v);

	/* steps cannot move before the action is applying */
	CHECK_INT(store_action_step_begin(s, id, 2), STORE_EBADSTATE);
	CHECK_INT(store_action_approve(s, id, &alice, NULL), STORE_OK);
	CHECK_INT(store_action_begin_apply(s, id), STORE_OK);
	CHECK_STR(step_state(s, id, 1), "applying");
	CHECK_STR(step_state(s, id, 2), "pending");
	last_audit(s, id, ev, sizeof(ev), &step);
	CHECK_STR(ev, "applying");
	CHECK_INT(step, 1);

	/* in order, and applied only at the end; a refusal writes nothing */
	rows = audit_rows(id);
	CHECK_INT(store_action_step_begin(s, id, 2), STORE_EBADSTATE);
	CHECK(strstr(store_errmsg(s), "step 1") != NULL);
	answer = json_pack("{s:i, s:i}", "status", 200, "generation", 3);
	CHECK_INT(store_action_applied(s, id, NULL, answer), STORE_EBADSTATE);
	CHECK(strstr(store_errmsg(s), "3 steps not done") != NULL);
	CHECK_INT(store_action_step_done(s, id, 2, "deleted", NULL),
	    STORE_EBADSTATE);
	CHECK_INT(store_action_step_begin(s, id, 1), STORE_EINVAL);
	CHECK_INT(store_action_step_begin(s, id, 99), STORE_EINVAL);
	CHECK_INT(audit_rows(id), rows);
	CHECK_STR(state_of(s, id), "applying");

	CHECK_INT(store_action_step_done(s, id, 1, "patched", answer),
	    STORE_OK);
	CHECK_STR(step_state(s, id, 1), "done");
	last_audit(s, id, ev, sizeof(ev), &step);
	CHECK_STR(ev, "step-done");
	CHECK_INT(step, 1);
	CHECK_INT(store_action_step_done(s, id, 1, "patched", answer),
	    STORE_EBADSTATE);
	CHECK_INT(store_action_step_begin(s, id, 3), STORE_EBADSTATE);
	CHECK_INT(store_action_step_begin(s, id, 2), STORE_OK);
	last_audit(s, id, ev, sizeof(ev), &step);
	CHECK_STR(ev, "step-applying");
	CHECK_INT(step, 2);
	CHECK_INT(store_action_step_begin(s, id, 2), STORE_EBADSTATE);
	CHECK_INT(store_action_step_done(s, id, 2, "deleted", NULL), STORE_OK);
	CHECK_INT(store_action_step_begin(s, id, 3), STORE_OK);
	CHECK_INT(store_action_step_done(s, id, 3, "already gone", NULL),
	    STORE_OK);
	CHECK_INT(audit_rows(id), rows + 5);
	CHECK_INT(store_action_applied(s, id, NULL, answer), STORE_OK);
	CHECK_STR(state_of(s, id), "applied");
	CHECK_INT(store_action_get(s, id, &a), STORE_OK);
	CHECK_STR(json_string_value(json_object_get(json_object_get(
	    json_array_get(a.steps, 2), "result"), "outcome")), "already gone");
	store_action_clear(&a);
	json_decref(answer);

	/* the rollback reverts the template only: one step, its patch */
	CHECK_INT(store_action_rollback(s, id, &alice, &rb), STORE_OK);
	CHECK_INT(store_action_get(s, rb, &a), STORE_OK);
	CHECK(a.steps == NULL);
	store_action_clear(&a);
	CHECK_INT(store_action_reject(s, rb, &alice, "not now"), STORE_OK);
}

static void
test_step_fails(struct store *s, int64_t inc)
{
	char		ev[64];
	long long	step;
	int64_t		id;
	int		rc;

	id = new_action(s, inc, json_pack("[o]", pod_step("db-1", "u3")), &rc);
	CHECK(id > 0);
	CHECK_INT(store_action_approve(s, id, &alice, NULL), STORE_OK);
	CHECK_INT(store_action_begin_apply(s, id), STORE_OK);
	CHECK_INT(store_action_step_done(s, id, 1, "patched", NULL), STORE_OK);
	CHECK_INT(store_action_step_begin(s, id, 2), STORE_OK);
	CHECK_INT(store_action_failed(s, id, "DELETE refused: 403", NULL),
	    STORE_OK);
	CHECK_STR(state_of(s, id), "failed");
	CHECK_STR(step_state(s, id, 2), "failed");
	CHECK_STR(step_state(s, id, 1), "done");
	last_audit(s, id, ev, sizeof(ev), &step);
	CHECK_STR(ev, "failed");
	CHECK_INT(step, 2);
	CHECK_INT(store_action_step_done(s, id, 2, "deleted", NULL),
	    STORE_EBADSTATE);
}

/* A one-step action keeps no step rows and behaves as before. */
static void
test_one_step(struct store *s, int64_t inc)
{
	struct store_action	a;
	int64_t			id;
	int			rc;
	long long		before;

	before = raw_int(dbpath, "SELECT count(*) FROM action_steps");
	id = new_action(s, inc, NULL, &rc);
	CHECK(id > 0);
	CHECK_INT(store_action_approve(s, id, &alice, NULL), STORE_OK);
	CHECK_INT(store_action_begin_apply(s, id), STORE_OK);
	CHECK_INT(store_action_step_begin(s, id, 2), STORE_ENOTFOUND);
	CHECK_INT(store_action_applied(s, id, NULL, NULL), STORE_OK);
	CHECK_INT(store_action_get(s, id, &a), STORE_OK);
	CHECK(a.steps == NULL);
	store_action_clear(&a);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM action_steps"), before);
}

/*
 * The wall at approve sees the stored steps: with the forced rollback
 * allowed the approval goes on; turned off since the proposal, the action
 * is refused with the rule, one audit row, nothing approved.
 */
static void
test_gate(struct store *s, int64_t inc)
{
	struct policy	pol;
	char		msg[512], ev[64];
	long long	step;
	int64_t		id;
	int		rc;

	CHECK_INT(policy_init_defaults(&pol), 0);
	id = new_action(s, inc, json_pack("[o]", pod_step("db-1", "u9")), &rc);
	CHECK(id > 0);
	msg[0] = '\0';
	CHECK_INT(policy_gate_approve(&pol, s, id, &alice, msg, sizeof(msg)),
	    0);
	CHECK_STR(state_of(s, id), "pending");
	pol.allow_forced_rollback = 0;
	CHECK_INT(policy_gate_approve(&pol, s, id, &alice, msg, sizeof(msg)),
	    1);
	CHECK(strstr(msg, "refused by the policy (forced-rollback-not-"
	    "allowed)") != NULL);
	CHECK_STR(state_of(s, id), "refused");
	last_audit(s, id, ev, sizeof(ev), &step);
	CHECK_STR(ev, "refused");
	CHECK_INT(store_action_approve(s, id, &alice, NULL), STORE_EBADSTATE);
	policy_clear(&pol);
}

/* A schema 3 store (no step table) is upgraded in place. */
static void
test_upgrade(void)
{
	struct store	*s;
	char		 path[160], err[256];
	sqlite3		*db;
	int64_t		 inc, id;
	int		 rc;

	snprintf(path, sizeof(path), "%s/v3.db", tmpdir);
	s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	store_close(s);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	/* back to version 3: without the steps and the origin columns */
	CHECK_INT(sqlite3_exec(db, "DROP TABLE action_steps; "
	    "DROP INDEX actions_proposer; ALTER TABLE actions DROP COLUMN "
	    "origin; ALTER TABLE actions DROP COLUMN proposer; ALTER TABLE "
	    "actions DROP COLUMN proposer_uid; ALTER TABLE actions DROP COLUMN "
	    "client; ALTER TABLE actions DROP COLUMN rationale; PRAGMA "
	    "user_version = 3;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(raw_int(path, "PRAGMA user_version"), 3);
	s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_INT(raw_int(path, "PRAGMA user_version"), 5);
	inc = incident_of(s, "StatefulSet", "db");
	id = new_action(s, inc, json_pack("[o]", pod_step("db-1", "u1")), &rc);
	CHECK_INT(rc, STORE_OK);
	CHECK(id > 0);
	store_close(s);
}

int
main(void)
{
	struct store	*s;
	char		 err[256], why[256];
	int64_t		 inc, rows, bad;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_store_steps.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/remedy.db", tmpdir);
	s = store_open(dbpath, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL) {
		fprintf(stderr, "%s\n", err);
		return T_DONE();
	}
	inc = incident_of(s, "StatefulSet", "db");
	CHECK(inc > 0);
	test_bad_steps(s, inc);
	test_steps_in_order(s, inc);
	test_step_fails(s, inc);
	test_one_step(s, inc);
	test_gate(s, inc);
	CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)), 0);
	CHECK(rows > 15);
	store_close(s);
	test_upgrade();
	unlink(dbpath);
	return T_DONE();
}
