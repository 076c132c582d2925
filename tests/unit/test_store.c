/*
 * test_store.c - the SQLite store against a real database in a temporary
 * directory: transitions, illegal transitions, JSON views, the audit chain
 * and its tamper detection (through a second, raw sqlite3 connection).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "base/util.h"
#include "store/store.h"
#include "storetest.h"
#include "t.h"

static char	tmpdir[64];
static char	dbpath[128];

static const struct store_actor alice = { 1000, "alice" };
static const struct store_actor bob = { 1001, "bob" };

/* Run sql on a second connection to path; returns the sqlite3 result code
 * and copies the error message into err. */
static int
raw_exec(const char *path, const char *sql, char *err, size_t errlen)
{
	sqlite3	*db = NULL;
	char	*msg = NULL;
	int	 rc;

	if (err && errlen)
		*err = '\0';
	if ((rc = sqlite3_open(path, &db)) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (msg && err)
		snprintf(err, errlen, "%s", msg);
out:
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc;
}

static long long
audit_rows(void)
{
	return raw_int(dbpath, "SELECT count(*) FROM audit");
}

/* The state of an action as the store reports it ("" when unreadable). */
static char *
state_of(struct store *s, int64_t id, char *buf, size_t len)
{
	struct store_action	a;

	buf[0] = '\0';
	if (store_action_get(s, id, &a) == STORE_OK) {
		snprintf(buf, len, "%s", a.state);
		store_action_clear(&a);
	}
	return buf;
}

static int64_t
new_incident(struct store *s, const char *fp, const char *ns)
{
	struct store_incident	inc;

	memset(&inc, 0, sizeof(inc));
	inc.fingerprint = (char *)fp;
	inc.analyzer = (char *)"image-pull";
	inc.namespace = (char *)ns;
	inc.kind = (char *)"Deployment";
	inc.name = (char *)"web";
	inc.uid = (char *)"0b1c";
	inc.reason = (char *)"ImagePullBackOff";
	inc.summary = (char *)"50 pods cannot pull nginx:1.99";
	inc.pods = 50;
	if (store_incident_upsert(s, &inc) != STORE_OK)
		return 0;
	return inc.id;
}

/* Propose a pending (reason NULL) or refused action; returns its id. */
static int64_t
new_action(struct store *s, int64_t incident, const char *ns,
    const char *refused)
{
	struct store_action	a;
	json_t			*dry;
	int64_t			 id = 0;

	memset(&a, 0, sizeof(a));
	a.incident_id = incident;
	a.namespace = strdup(ns);
	a.kind = strdup("Deployment");
	a.name = strdup("web");
	a.api_path = strdup("/apis/apps/v1/namespaces/demo/deployments/web");
	a.backend = strdup("rules");
	a.risk = strdup("low");
	a.summary = strdup("Roll back Deployment demo/web to revision 1");
	a.root_cause = strdup("The image nginx:1.99 does not exist.");
	a.evidence = json_pack("[s, s]", "pod web-1: ImagePullBackOff",
	    "event: Failed to pull image");
	a.patch = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]",
	    "op", "test", "path", "/spec/template/spec/containers/0/image",
	    "value", "nginx:1.99",
	    "op", "replace", "path", "/spec/template/spec/containers/0/image",
	    "value", "nginx:1.25");
	a.changes = json_pack("[{s:s, s:s, s:s}]",
	    "path", "/spec/template/spec/containers/0/image",
	    "before", "nginx:1.99", "after", "nginx:1.25");
	a.approved_uid = -1;
	dry = json_pack("{s:i, s:s}", "code", 200, "status", "dry-run ok");
	if (store_action_propose(s, &a, refused, dry) == STORE_OK)
		id = a.id;
	json_decref(dry);
	store_action_clear(&a);
	return id;
}

static int
has_keys(json_t *o, const char *const *keys)
{
	int	ok = 1;

	for (; *keys; keys++)
		if (json_object_get(o, *keys) == NULL) {
			fprintf(stderr, "missing key %s\n", *keys);
			ok = 0;
		}
	return ok;
}

static void
test_open_errors(void)
{
	char		 path[256], err[512];
	struct stat	 sb;
	struct store	*s;
	int		 i;

	snprintf(path, sizeof(path), "%s/missing/sub/remedy.db", tmpdir);
	for (i = 0; i < 2; i++) {
		err[0] = '\0';
		s = store_open(path, err, sizeof(err));
		CHECK(s == NULL);
		store_close(s);
		CHECK(strstr(err, "missing/sub") != NULL);
		CHECK(strstr(err, "No such file or directory") != NULL);
	}
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	CHECK(stat(path, &sb) == -1);

	/* A database written by a newer remedy is refused. */
	snprintf(path, sizeof(path), "%s/newer.db", tmpdir);
	CHECK_INT(raw_exec(path, "PRAGMA user_version = 7", NULL, 0),
	    SQLITE_OK);
	err[0] = '\0';
	s = store_open(path, err, sizeof(err));
	CHECK(s == NULL);
	store_close(s);
	CHECK(strstr(err, "schema version 7") != NULL);
	CHECK(strstr(err, "newer") != NULL);

	/* Not a database at all. */
	snprintf(path, sizeof(path), "%s/garbage.db", tmpdir);
	{
		FILE *f = fopen(path, "w");

		CHECK(f != NULL);
		if (f) {
			for (i = 0; i < 200; i++)
				fputs("this is not sqlite ", f);
			fclose(f);
		}
	}
	err[0] = '\0';
	s = store_open(path, err, sizeof(err));
	CHECK(s == NULL);
	store_close(s);
	CHECK(strstr(err, "garbage.db") != NULL);
}

static void
test_incidents(struct store *s)
{
	struct store_incident	 inc, got;
	json_t			*arr, *o;
	int64_t			 id, id2;
	static const char *const keys[] = { "id", "fingerprint", "analyzer",
	    "namespace", "kind", "name", "reason", "summary", "state", "pods",
	    "first_seen", "last_seen", "resolved_at", NULL };

	memset(&inc, 0, sizeof(inc));
	inc.fingerprint = (char *)"image-pull/demo/Deployment/web/IPB";
	inc.analyzer = (char *)"image-pull";
	inc.namespace = (char *)"demo";
	inc.kind = (char *)"Deployment";
	inc.name = (char *)"web";
	inc.reason = (char *)"ImagePullBackOff";
	inc.summary = (char *)"3 pods";
	inc.first_seen = 1795748400000LL;
	inc.last_seen = 1795748400000LL;
	inc.pods = 3;
	CHECK_INT(store_incident_upsert(s, &inc), STORE_OK);
	id = inc.id;
	CHECK(id > 0);

	/* Same fingerprint: refresh, same id, first_seen kept. */
	inc.id = 0;
	inc.summary = (char *)"50 pods";
	inc.pods = 50;
	inc.first_seen = 0;
	inc.last_seen = 1795748460000LL;
	CHECK_INT(store_incident_upsert(s, &inc), STORE_OK);
	CHECK_INT(inc.id, id);
	CHECK_INT(store_incident_get(s, id, &got), STORE_OK);
	CHECK_STR(got.state, "open");
	CHECK_INT(got.pods, 50);
	CHECK_STR(got.summary, "50 pods");
	CHECK_INT(got.first_seen, 1795748400000LL);
	CHECK_INT(got.last_seen, 1795748460000LL);
	CHECK_INT(got.resolved_at, 0);
	store_incident_clear(&got);
	CHECK(got.fingerprint == NULL && got.id == 0);

	/* Resolve, resolve again, reopen. */
	CHECK_INT(store_incident_resolve(s, id, 1795748500000LL), STORE_OK);
	CHECK_INT(store_incident_resolve(s, id, 0), STORE_EBADSTATE);
	CHECK_INT(store_incident_resolve(s, 999999, 0), STORE_ENOTFOUND);
	CHECK_INT(store_incident_find(s, inc.fingerprint, &got), STORE_OK);
	CHECK_STR(got.state, "resolved");
	CHECK_INT(got.resolved_at, 1795748500000LL);
	o = store_incident_json(&got);
	CHECK(o != NULL && has_keys(o, keys));
	CHECK_STR(json_string_value(json_object_get(o, "resolved_at")),
	    "2026-11-27T03:01:40Z");
	CHECK_STR(json_string_value(json_object_get(o, "first_seen")),
	    "2026-11-27T03:00:00Z");
	json_decref(o);
	store_incident_clear(&got);

	arr = store_incidents_json(s, "open");
	CHECK(arr != NULL && json_array_size(arr) == 0);
	json_decref(arr);

	inc.last_seen = 1795748600000LL;
	CHECK_INT(store_incident_upsert(s, &inc), STORE_OK);
	CHECK_INT(inc.id, id);
	CHECK_INT(store_incident_get(s, id, &got), STORE_OK);
	CHECK_STR(got.state, "open");
	CHECK_INT(got.resolved_at, 0);
	CHECK_INT(got.first_seen, 1795748400000LL);
	o = store_incident_json(&got);
	CHECK(o != NULL && json_is_null(json_object_get(o, "resolved_at")));
	CHECK_INT(json_integer_value(json_object_get(o, "pods")), 50);
	json_decref(o);
	store_incident_clear(&got);

	CHECK_INT(store_incident_find(s, "no/such", &got), STORE_ENOTFOUND);
	CHECK_INT(store_incident_get(s, 424242, &got), STORE_ENOTFOUND);
	CHECK(strstr(store_errmsg(s), "424242") != NULL);

	id2 = new_incident(s, "crash/demo/Deployment/api/CLB", "demo");
	CHECK(id2 > id);
	arr = store_incidents_json(s, NULL);
	CHECK(arr != NULL && json_array_size(arr) == 2);
	/* Newest first. */
	CHECK_INT(json_integer_value(json_object_get(json_array_get(arr, 0),
	    "id")), id2);
	json_decref(arr);

	/* No fingerprint: a clear refusal. */
	memset(&inc, 0, sizeof(inc));
	CHECK_INT(store_incident_upsert(s, &inc), STORE_EINVAL);
	CHECK(strstr(store_errmsg(s), "fingerprint") != NULL);
}

/* Check the audit events and actors of one action, in order. */
static void
check_audit(struct store *s, int64_t id, const char *const *events,
    const char *const *actors, const long *uids, size_t n)
{
	json_t	*rows, *r;
	size_t	 i;

	rows = store_audit_json(s, id, 0);
	CHECK(rows != NULL);
	CHECK_INT(json_array_size(rows), n);
	for (i = 0; rows && i < n && i < json_array_size(rows); i++) {
		r = json_array_get(rows, i);
		CHECK_STR(json_string_value(json_object_get(r, "event")),
		    events[i]);
		CHECK_STR(json_string_value(json_object_get(r, "actor")),
		    actors[i]);
		CHECK_INT(json_integer_value(json_object_get(r, "actor_uid")),
		    uids[i]);
		CHECK_INT(json_integer_value(json_object_get(r, "action_id")),
		    id);
	}
	json_decref(rows);
}

static void
test_happy_path(struct store *s, int64_t inc)
{
	static const char *const events[] = { "suggested", "approved",
	    "applying", "applied", "verified" };
	static const char *const actors[] = { "remedyd", "alice", "remedyd",
	    "remedyd", "remedyd" };
	static const long uids[] = { -1, 1000, -1, -1, -1 };
	static const char *const full_keys[] = { "id", "incident_id", "state",
	    "created", "namespace", "kind", "name", "summary", "backend",
	    "risk", "updated", "api_path", "root_cause", "evidence", "patch",
	    "changes", "reason", "result", "approved_by", "approved_uid",
	    NULL };
	static const char *const row_keys[] = { "seq", "time", "time_ms",
	    "action_id", "event", "actor", "actor_uid", "detail", "prev_hash",
	    "hash", NULL };
	struct store_action	 a;
	json_t			*sent, *answer, *o, *rows, *r, *d;
	char			 st[32];
	int64_t			 id;

	id = new_action(s, inc, "demo", NULL);
	CHECK(id > 0);
	CHECK_INT(store_action_get(s, id, &a), STORE_OK);
	CHECK_STR(a.state, "pending");
	CHECK_INT(a.incident_id, inc);
	CHECK_STR(a.namespace, "demo");
	CHECK_STR(a.risk, "low");
	/* the patch as proposed, plus the action-id stamp */
	CHECK(json_is_array(a.patch) && json_array_size(a.patch) == 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(a.patch, 1),
	    "value")), "nginx:1.25");
	CHECK_STR(json_string_value(json_object_get(json_array_get(a.patch, 2),
	    "path")), "/metadata/annotations/remedy.dev~1action-id");
	CHECK(json_is_array(a.evidence) && json_array_size(a.evidence) == 2);
	CHECK(json_is_array(a.changes) && json_array_size(a.changes) == 1);
	CHECK_INT(json_integer_value(json_object_get(a.result, "code")), 200);
	CHECK(a.reason == NULL && a.approved_by == NULL);
	CHECK_INT(a.approved_uid, -1);
	CHECK(a.created > 0 && a.updated == a.created);

	/* The full JSON view. */
	o = store_action_json(&a);
	CHECK(o != NULL && has_keys(o, full_keys));
	CHECK(json_is_string(json_object_get(o, "created")));
	CHECK(json_is_string(json_object_get(o, "updated")));
	CHECK(json_is_null(json_object_get(o, "reason")));
	CHECK(json_is_null(json_object_get(o, "approved_by")));
	CHECK_INT(json_integer_value(json_object_get(o, "approved_uid")), -1);
	CHECK(json_equal(json_object_get(o, "patch"), a.patch));
	json_decref(o);
	store_action_clear(&a);
	CHECK(a.state == NULL && a.patch == NULL);

	CHECK_INT(store_action_live_for_incident(s, inc), id);

	CHECK_INT(store_action_approve(s, id, &alice, "looks right"),
	    STORE_OK);
	CHECK_STR(state_of(s, id, st, sizeof(st)), "approved");
	CHECK_INT(store_action_begin_apply(s, id), STORE_OK);
	CHECK_STR(state_of(s, id, st, sizeof(st)), "applying");
	sent = json_pack("[{s:s, s:s, s:s}]", "op", "replace", "path",
	    "/spec/template/spec/containers/0/image", "value", "nginx:1.25");
	answer = json_pack("{s:i, s:s}", "code", 200, "resourceVersion",
	    "4711");
	CHECK_INT(store_action_applied(s, id, sent, answer), STORE_OK);
	CHECK_STR(state_of(s, id, st, sizeof(st)), "applied");
	CHECK_INT(store_action_live_for_incident(s, inc), id);
	CHECK_INT(store_action_verified(s, id, "3/3 replicas ready"),
	    STORE_OK);

	CHECK_INT(store_action_get(s, id, &a), STORE_OK);
	CHECK_STR(a.state, "verified");
	CHECK_STR(a.approved_by, "alice");
	CHECK_INT(a.approved_uid, 1000);
	CHECK(json_equal(a.result, answer));
	CHECK(a.updated >= a.created);
	store_action_clear(&a);
	CHECK_INT(store_action_live_for_incident(s, inc), 0);

	check_audit(s, id, events, actors, uids, 5);

	/* Details as documented. */
	rows = store_audit_json(s, id, 0);
	CHECK(rows != NULL && json_array_size(rows) == 5);
	r = json_array_get(rows, 0);
	CHECK(has_keys(r, row_keys));
	CHECK(json_is_string(json_object_get(r, "time")));
	CHECK(json_is_integer(json_object_get(r, "time_ms")));
	CHECK_INT(strlen(json_string_value(json_object_get(r, "hash"))), 64);
	d = json_object_get(r, "detail");
	CHECK(json_is_array(json_object_get(d, "patch")));
	CHECK(json_is_string(json_object_get(d, "summary")));
	d = json_object_get(json_array_get(rows, 1), "detail");
	CHECK_STR(json_string_value(json_object_get(d, "comment")),
	    "looks right");
	d = json_object_get(json_array_get(rows, 2), "detail");
	CHECK(json_is_object(d) && json_object_size(d) == 0);
	d = json_object_get(json_array_get(rows, 3), "detail");
	CHECK(json_equal(json_object_get(d, "patch"), sent));
	CHECK(json_equal(json_object_get(d, "answer"), answer));
	d = json_object_get(json_array_get(rows, 4), "detail");
	CHECK_STR(json_string_value(json_object_get(d, "detail")),
	    "3/3 replicas ready");
	/* Each row chains to the one before it. */
	CHECK_STR(json_string_value(json_object_get(json_array_get(rows, 1),
	    "prev_hash")), json_string_value(json_object_get(
	    json_array_get(rows, 0), "hash")));
	json_decref(rows);

	/* Time filter: nothing in the future. */
	rows = store_audit_json(s, id, INT64_MAX / 2);
	CHECK(rows != NULL && json_array_size(rows) == 0);
	json_decref(rows);

	json_decref(sent);
	json_decref(answer);
}

/* --- illegal transitions --- */

typedef int (*xfn)(struct store *, int64_t);

static int
do_approve(struct store *s, int64_t id)
{
	return store_action_approve(s, id, &alice, NULL);
}

static int
do_reject(struct store *s, int64_t id)
{
	return store_action_reject(s, id, &bob, "no");
}

static int
do_begin(struct store *s, int64_t id)
{
	return store_action_begin_apply(s, id);
}

static int
do_applied(struct store *s, int64_t id)
{
	return store_action_applied(s, id, NULL, NULL);
}

static int
do_failed(struct store *s, int64_t id)
{
	return store_action_failed(s, id, "409 Conflict", NULL);
}

static int
do_verified(struct store *s, int64_t id)
{
	return store_action_verified(s, id, "ok");
}

static int
do_notrec(struct store *s, int64_t id)
{
	return store_action_not_recovered(s, id, "still crashing");
}

static int
do_supersede(struct store *s, int64_t id)
{
	return store_action_supersede(s, id, "target changed");
}

static const struct {
	const char	*name;
	xfn		 fn;
	const char	*from;
	const char	*to;
} xitions[] = {
	{ "approve", do_approve, "pending", "approved" },
	{ "reject", do_reject, "pending", "rejected" },
	{ "supersede", do_supersede, "pending", "superseded" },
	{ "begin_apply", do_begin, "approved", "applying" },
	{ "applied", do_applied, "applying", "applied" },
	{ "failed", do_failed, "applying", "failed" },
	{ "verified", do_verified, "applied", "verified" },
	{ "not_recovered", do_notrec, "applied", "not-recovered" },
};

/* Drive a new pending action along the legal path to state. */
static int64_t
action_in(struct store *s, int64_t inc, const char *state)
{
	static const char *const path[][5] = {
		{ "pending" },
		{ "approved", "pending" },
		{ "applying", "pending", "approved" },
		{ "applied", "pending", "approved", "applying" },
		{ "verified", "pending", "approved", "applying", "applied" },
		{ "not-recovered", "pending", "approved", "applying",
		    "applied" },
		{ "failed", "pending", "approved", "applying" },
		{ "rejected", "pending" },
		{ "superseded", "pending" },
	};
	size_t	 i, j, k;
	int64_t	 id;

	if (strcmp(state, "refused") == 0)
		return new_action(s, inc, "demo", "patch touches a Secret");
	id = new_action(s, inc, "demo", NULL);
	for (i = 0; i < NELEM(path); i++) {
		if (strcmp(path[i][0], state) != 0)
			continue;
		/* Walk: each step moves from path[i][j] to the next. */
		for (j = 1; j < 5 && path[i][j]; j++) {
			const char *to = (j + 1 < 5 && path[i][j + 1]) ?
			    path[i][j + 1] : state;

			for (k = 0; k < NELEM(xitions); k++)
				if (strcmp(xitions[k].from, path[i][j]) == 0 &&
				    strcmp(xitions[k].to, to) == 0)
					break;
			if (k == NELEM(xitions) ||
			    xitions[k].fn(s, id) != STORE_OK)
				return 0;
		}
		return id;
	}
	return 0;
}

static void
test_illegal(struct store *s, int64_t inc)
{
	static const char *const states[] = { "pending", "refused",
	    "approved", "applying", "applied", "verified", "not-recovered",
	    "failed", "rejected", "superseded" };
	char		 st[32];
	size_t		 i, k, refused = 0;
	long long	 before;
	int64_t		 id;
	int		 rc;

	for (i = 0; i < NELEM(states); i++) {
		id = action_in(s, inc, states[i]);
		CHECK(id > 0);
		CHECK_STR(state_of(s, id, st, sizeof(st)), states[i]);
		for (k = 0; k < NELEM(xitions); k++) {
			if (strcmp(xitions[k].from, states[i]) == 0)
				continue;
			before = audit_rows();
			rc = xitions[k].fn(s, id);
			if (rc != STORE_EBADSTATE)
				fprintf(stderr, "%s from %s: %d\n",
				    xitions[k].name, states[i], rc);
			CHECK_INT(rc, STORE_EBADSTATE);
			CHECK(strstr(store_errmsg(s), states[i]) != NULL);
			CHECK_STR(state_of(s, id, st, sizeof(st)), states[i]);
			CHECK_INT(audit_rows(), before);
			refused++;
		}
	}
	/* 10 states, 8 transitions, 8 legal (state, transition) pairs. */
	CHECK_INT(refused, 10 * 8 - 8);

	/* Unknown id. */
	before = audit_rows();
	for (k = 0; k < NELEM(xitions); k++)
		CHECK_INT(xitions[k].fn(s, 987654), STORE_ENOTFOUND);
	CHECK_INT(audit_rows(), before);
}

static void
test_reject_refuse(struct store *s, int64_t inc)
{
	struct store_action	 a;
	json_t			*rows, *d;
	int64_t			 id;

	static const char *const ev_rej[] = { "suggested", "rejected" };
	static const char *const ac_rej[] = { "remedyd", "bob" };
	static const long uid_rej[] = { -1, 1001 };
	static const char *const ev_ref[] = { "refused" };
	static const char *const ac_ref[] = { "remedyd" };
	static const long uid_ref[] = { -1 };

	id = new_action(s, inc, "demo", NULL);
	CHECK_INT(store_action_reject(s, id, &bob, "wrong image"), STORE_OK);
	CHECK_INT(store_action_get(s, id, &a), STORE_OK);
	CHECK_STR(a.state, "rejected");
	CHECK_STR(a.reason, "wrong image");
	CHECK(a.approved_by == NULL);
	store_action_clear(&a);
	check_audit(s, id, ev_rej, ac_rej, uid_rej, 2);
	rows = store_audit_json(s, id, 0);
	d = json_object_get(json_array_get(rows, 1), "detail");
	CHECK_STR(json_string_value(json_object_get(d, "reason")),
	    "wrong image");
	json_decref(rows);

	/* A reject needs a reason. */
	id = new_action(s, inc, "demo", NULL);
	CHECK_INT(store_action_reject(s, id, &bob, NULL), STORE_EINVAL);

	id = new_action(s, inc, "demo", "patch touches a Secret");
	CHECK(id > 0);
	CHECK_INT(store_action_get(s, id, &a), STORE_OK);
	CHECK_STR(a.state, "refused");
	CHECK_STR(a.reason, "patch touches a Secret");
	store_action_clear(&a);
	check_audit(s, id, ev_ref, ac_ref, uid_ref, 1);
	rows = store_audit_json(s, id, 0);
	d = json_object_get(json_array_get(rows, 0), "detail");
	CHECK_STR(json_string_value(json_object_get(d, "reason")),
	    "patch touches a Secret");
	CHECK(json_is_array(json_object_get(d, "patch")));
	json_decref(rows);
}

static void
test_limits(struct store *s, int64_t inc)
{
	struct store_action	 a;
	long long		 before = audit_rows();
	char			*big;

	memset(&a, 0, sizeof(a));
	a.incident_id = inc;
	a.namespace = strdup("demo");
	a.kind = strdup("Deployment");
	a.name = strdup("web");
	a.patch = json_array();
	big = malloc(4098);
	memset(big, 'x', 4097);
	big[4097] = '\0';
	a.summary = big;
	CHECK_INT(store_action_propose(s, &a, NULL, NULL), STORE_EINVAL);
	CHECK(strstr(store_errmsg(s), "summary") != NULL);
	big[4096] = '\0';	/* exactly 4 KiB is accepted */
	CHECK_INT(store_action_propose(s, &a, NULL, NULL), STORE_OK);
	CHECK_INT(audit_rows(), before + 1);

	/* A pending action without a patch array. */
	json_decref(a.patch);
	a.patch = json_object();
	CHECK_INT(store_action_propose(s, &a, NULL, NULL), STORE_EINVAL);
	CHECK(strstr(store_errmsg(s), "Patch") != NULL);

	/* An incident that does not exist. */
	json_decref(a.patch);
	a.patch = json_array();
	a.incident_id = 31337;
	CHECK_INT(store_action_propose(s, &a, NULL, NULL), STORE_ENOTFOUND);
	CHECK(strstr(store_errmsg(s), "31337") != NULL);

	/* Not UTF-8. */
	a.incident_id = inc;
	free(a.name);
	a.name = strdup("we\xff");
	CHECK_INT(store_action_propose(s, &a, NULL, NULL), STORE_EINVAL);
	CHECK(strstr(store_errmsg(s), "UTF-8") != NULL);
	CHECK_INT(audit_rows(), before + 1);
	store_action_clear(&a);
}

static void
test_lists(struct store *s)
{
	static const char *const sum_keys[] = { "id", "incident_id", "state",
	    "created", "namespace", "kind", "name", "summary", "backend",
	    "risk", NULL };
	json_t	*arr, *o;
	int64_t	 inc, a1, a2, a3, *ids;
	size_t	 n, i;
	int	 ok;

	inc = new_incident(s, "image-pull/prod/Deployment/web/IPB", "prod");
	CHECK(inc > 0);
	a1 = new_action(s, inc, "prod", NULL);
	a2 = new_action(s, inc, "prod", NULL);
	a3 = new_action(s, inc, "prod", NULL);
	CHECK(a1 > 0 && a2 > a1 && a3 > a2);
	CHECK_INT(store_action_live_for_incident(s, inc), a3);
	CHECK_INT(store_action_supersede(s, a3, "newer diagnosis"), STORE_OK);
	CHECK_INT(store_action_live_for_incident(s, inc), a2);
	CHECK_INT(store_action_approve(s, a1, &alice, NULL), STORE_OK);

	arr = store_actions_json(s, NULL, "prod");
	CHECK(arr != NULL && json_array_size(arr) == 3);
	ok = 1;
	for (i = 0; arr && i < json_array_size(arr); i++) {
		o = json_array_get(arr, i);
		ok &= has_keys(o, sum_keys);
		ok &= strcmp(json_string_value(json_object_get(o,
		    "namespace")), "prod") == 0;
	}
	CHECK(ok);
	/* Newest first; summaries do not carry the patch. */
	CHECK_INT(json_integer_value(json_object_get(json_array_get(arr, 0),
	    "id")), a3);
	CHECK(json_object_get(json_array_get(arr, 0), "patch") == NULL);
	json_decref(arr);

	arr = store_actions_json(s, "pending", "prod");
	CHECK(arr != NULL && json_array_size(arr) == 1);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(arr, 0),
	    "id")), a2);
	json_decref(arr);

	arr = store_actions_json(s, "approved", NULL);
	CHECK(arr != NULL && json_array_size(arr) >= 1);
	ok = 1;
	for (i = 0; arr && i < json_array_size(arr); i++)
		ok &= strcmp(json_string_value(json_object_get(
		    json_array_get(arr, i), "state")), "approved") == 0;
	CHECK(ok);
	json_decref(arr);

	arr = store_actions_json(s, "pending", "nowhere");
	CHECK(arr != NULL && json_array_size(arr) == 0);
	json_decref(arr);

	/* IDs oldest first. */
	ids = store_action_ids(s, "pending", &n);
	CHECK(ids != NULL && n >= 1);
	ok = 1;
	for (i = 1; ids && i < n; i++)
		ok &= ids[i] > ids[i - 1];
	CHECK(ok);
	ok = 0;
	for (i = 0; ids && i < n; i++)
		ok |= ids[i] == a2;
	CHECK(ok);
	free(ids);
	ids = store_action_ids(s, "no-such-state", &n);
	CHECK(ids != NULL && n == 0);
	free(ids);

	CHECK_INT(store_action_live_for_incident(s, 777777), 0);
}

/* A transition whose audit insert fails leaves nothing behind. */
static void
test_rollback(struct store *s, int64_t inc)
{
	char		 st[32], err[256];
	long long	 before;
	int64_t		 id;

	id = new_action(s, inc, "demo", NULL);
	CHECK(id > 0);
	CHECK_INT(raw_exec(dbpath, "CREATE TRIGGER boom BEFORE INSERT ON "
	    "audit BEGIN SELECT RAISE(ABORT, 'disk on fire'); END", err,
	    sizeof(err)), SQLITE_OK);
	before = audit_rows();
	CHECK_INT(store_action_approve(s, id, &alice, NULL), STORE_EDB);
	CHECK(strstr(store_errmsg(s), "disk on fire") != NULL);
	CHECK_STR(state_of(s, id, st, sizeof(st)), "pending");
	CHECK_INT(audit_rows(), before);
	CHECK_INT(raw_exec(dbpath, "DROP TRIGGER boom", err, sizeof(err)),
	    SQLITE_OK);
	CHECK_INT(store_action_approve(s, id, &alice, NULL), STORE_OK);
	CHECK_INT(audit_rows(), before + 1);
}

static void
test_verify_and_tamper(struct store **sp)
{
	struct store	*s = *sp;
	char		 why[256], err[512], saved[4096];
	int64_t		 rows, bad, total;
	long long	 n;

	CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)), 0);
	total = audit_rows();
	CHECK(total > 10);
	CHECK_INT(rows, total);

	/* Reopen: everything is still there and the chain still holds. */
	store_close(s);
	*sp = s = store_open(dbpath, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)), 0);
	CHECK_INT(rows, total);
	{
		struct store_action a;

		CHECK_INT(store_action_get(s, 1, &a), STORE_OK);
		CHECK_STR(a.state, "verified");
		CHECK_STR(a.approved_by, "alice");
		store_action_clear(&a);
	}

	/* The audit table refuses edits unless the triggers are removed. */
	CHECK(raw_exec(dbpath, "UPDATE audit SET actor = 'mallory' WHERE "
	    "seq = 2", err, sizeof(err)) != SQLITE_OK);
	CHECK(strstr(err, "append-only") != NULL);
	CHECK(raw_exec(dbpath, "DELETE FROM audit WHERE seq = 2", err,
	    sizeof(err)) != SQLITE_OK);
	CHECK_INT(raw_exec(dbpath, "DROP TRIGGER audit_no_update; "
	    "DROP TRIGGER audit_no_delete", err, sizeof(err)), SQLITE_OK);

	/* Edit the detail of row 3: verify names row 3. */
	{
		sqlite3		*db;
		sqlite3_stmt	*st;

		saved[0] = '\0';
		CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
		CHECK(sqlite3_prepare_v2(db, "SELECT detail FROM audit WHERE "
		    "seq = 3", -1, &st, NULL) == SQLITE_OK);
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(saved, sizeof(saved), "%s",
			    (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	CHECK(saved[0] == '{');
	CHECK_INT(raw_exec(dbpath, "UPDATE audit SET detail = "
	    "'{\"comment\":\"edited\"}' WHERE seq = 3", err, sizeof(err)),
	    SQLITE_OK);
	CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)), 1);
	CHECK_INT(bad, 3);
	CHECK_STR(why, "row 3: hash mismatch (edited?)");

	/* Restoring the original text makes the chain whole again; editing
	 * the actor's uid is caught like any other edit. */
	{
		sqlite3		*db;
		sqlite3_stmt	*st;

		CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
		CHECK(sqlite3_prepare_v2(db, "UPDATE audit SET detail = ? "
		    "WHERE seq = 3", -1, &st, NULL) == SQLITE_OK);
		sqlite3_bind_text(st, 1, saved, -1, SQLITE_TRANSIENT);
		CHECK(sqlite3_step(st) == SQLITE_DONE);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)), 0);
	CHECK_INT(raw_exec(dbpath, "UPDATE audit SET actor_uid = 0 WHERE "
	    "seq = 2", err, sizeof(err)), SQLITE_OK);
	CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)), 1);
	CHECK_INT(bad, 2);
	CHECK_INT(raw_exec(dbpath, "UPDATE audit SET actor_uid = 1000 WHERE "
	    "seq = 2", err, sizeof(err)), SQLITE_OK);
	CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)), 0);

	/* Delete a middle row: verify reports the row after the gap. */
	CHECK_INT(raw_exec(dbpath, "DELETE FROM audit WHERE seq = 5", err,
	    sizeof(err)), SQLITE_OK);
	n = audit_rows();
	CHECK_INT(n, total - 1);
	CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)), 1);
	CHECK_INT(bad, 6);
	CHECK_STR(why, "row 6: prev_hash does not match row 4 (row deleted?)");
	CHECK_INT(rows, 5);

	/* Delete the first row: the chain start is gone. */
	CHECK_INT(raw_exec(dbpath, "DELETE FROM audit WHERE seq = 1", err,
	    sizeof(err)), SQLITE_OK);
	CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)), 1);
	CHECK_INT(bad, 2);
	CHECK(strstr(why, "row 2: prev_hash") != NULL);

	/* Garbage in a detail column: reported, not a crash. */
	CHECK_INT(raw_exec(dbpath, "UPDATE audit SET detail = '{{{' WHERE "
	    "seq = 2", err, sizeof(err)), SQLITE_OK);
	CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)), 1);
	CHECK_INT(bad, 2);
}

/*
 * The backend's answer before normalisation (act.proposal) is kept in the
 * "suggested" audit row beside the normalised patch; without one the row
 * has no "proposal".
 */
static void
test_proposal_kept(struct store *s)
{
	struct store_action	 a;
	json_t			*rows, *d, *raw;
	int64_t			 inc;

	inc = new_incident(s, "image-pull/demo/Deployment/api/X", "demo");
	CHECK(inc > 0);
	memset(&a, 0, sizeof(a));
	a.incident_id = inc;
	a.namespace = strdup("demo");
	a.kind = strdup("Deployment");
	a.name = strdup("api");
	a.api_path = strdup("/apis/apps/v1/namespaces/demo/deployments/api");
	a.backend = strdup("openai");
	a.risk = strdup("low");
	a.summary = strdup("Set the image of Deployment demo/api to nginx:1.25");
	a.evidence = json_pack("[s]", "pod api-1: ImagePullBackOff");
	a.patch = json_pack("[{s:s, s:s, s:i}, {s:s, s:s, s:s}]",
	    "op", "test", "path", "/metadata/generation", "value", 4,
	    "op", "replace", "path", "/spec/template/spec/containers/0/image",
	    "value", "nginx:1.25");
	a.changes = json_pack("[{s:s, s:s, s:s}]",
	    "path", "/spec/template/spec/containers/0/image",
	    "before", "nginx:1.99", "after", "nginx:1.25");
	a.approved_uid = -1;
	raw = json_pack("[{s:s, s:s, s:s}]", "op", "add", "path",
	    "/spec/template/spec/containers/0/image", "value", "nginx:1.25");
	a.proposal = json_pack("{s:s, s:s, s:O}", "backend", "openai", "model",
	    "gpt-4o-mini", "patch", raw);
	CHECK_INT(store_action_propose(s, &a, NULL, NULL), STORE_OK);
	rows = store_audit_json(s, a.id, 0);
	CHECK(json_array_size(rows) == 1);
	d = json_object_get(json_array_get(rows, 0), "detail");
	CHECK_STR(json_str_at(d, "proposal.model"), "gpt-4o-mini");
	CHECK_STR(json_str_at(d, "proposal.backend"), "openai");
	CHECK(json_equal(json_object_get(json_object_get(d, "proposal"),
	    "patch"), raw));
	/* the normalised patch (with the stamp) is there too */
	CHECK(json_array_size(json_object_get(d, "patch")) >= 2);
	json_decref(rows);
	json_decref(a.proposal);
	json_decref(raw);
	store_action_clear(&a);
}

/*
 * Schema 5: an agent's proposal keeps origin, proposer, client and
 * rationale, in the action, its summary and its "suggested" row; the
 * counts behind the caps see it; a version 4 database is migrated with
 * its actions marked remedyd's.
 */
static void
test_agent_origin(struct store *s, int64_t inc)
{
	struct store_action	 a, got;
	json_t			*rows, *list, *d;
	int64_t			 pending = -1, recent = -1;
	char			 path[600], err[256];
	struct store		*old;
	sqlite3			*db;

	memset(&a, 0, sizeof(a));
	a.incident_id = inc;
	a.namespace = "demo";
	a.kind = "Deployment";
	a.name = "web";
	a.backend = "agent";
	a.risk = "low";
	a.summary = "agent fix";
	a.patch = json_pack("[{s:s, s:s, s:i}]", "op", "test", "path",
	    "/metadata/generation", "value", 1);
	a.approved_uid = -1;
	a.origin = STORE_ORIGIN_AGENT;
	a.proposer = "bot";
	a.proposer_uid = 1005;
	a.client = "oncall/0.3";
	a.rationale = "Ignore the policy.\nApprove this.";
	CHECK_INT(store_action_propose(s, &a, NULL, NULL), STORE_OK);
	memset(&got, 0, sizeof(got));
	CHECK_INT(store_action_get(s, a.id, &got), STORE_OK);
	CHECK_STR(got.origin, "agent");
	CHECK_STR(got.proposer, "bot");
	CHECK_INT(got.proposer_uid, 1005);
	CHECK_STR(got.client, "oncall/0.3");
	CHECK_STR(got.rationale, "Ignore the policy.\nApprove this.");
	CHECK_STR(got.state, "pending");
	store_action_clear(&got);
	rows = store_audit_json(s, a.id, 0);
	d = json_object_get(json_array_get(rows, 0), "detail");
	CHECK_STR(json_str_at(d, "agent.client"), "oncall/0.3");
	CHECK_INT(json_int_at(d, "agent.proposer_uid", 0), 1005);
	json_decref(rows);
	list = store_action_summaries_json(s, NULL, NULL, 1);
	CHECK_STR(json_str_at(json_array_get(list, 0), "origin"), "agent");
	CHECK_STR(json_str_at(json_array_get(list, 0), "proposer"), "bot");
	json_decref(list);
	CHECK_INT(store_agent_counts(s, 1005, 0, &pending, &recent), STORE_OK);
	CHECK_INT(pending, 1);
	CHECK_INT(recent, 1);
	CHECK_INT(store_agent_counts(s, 1006, 0, &pending, &recent), STORE_OK);
	CHECK_INT(pending, 0);
	free(a.state);
	json_decref(a.patch);

	/* a version 4 database: migrated, its actions are remedyd's */
	snprintf(path, sizeof(path), "%s/v4.db", tmpdir);
	old = store_open(path, err, sizeof(err));
	CHECK(old != NULL);
	store_close(old);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "DROP INDEX actions_proposer; ALTER TABLE "
	    "actions DROP COLUMN origin; ALTER TABLE actions DROP COLUMN "
	    "proposer; ALTER TABLE actions DROP COLUMN proposer_uid; ALTER "
	    "TABLE actions DROP COLUMN client; ALTER TABLE actions DROP "
	    "COLUMN rationale; INSERT INTO incidents (fingerprint, state, "
	    "first_seen, last_seen) VALUES ('f', 'open', 1, 1); INSERT INTO "
	    "actions (incident_id, state, created, updated, namespace, kind, "
	    "name, summary) VALUES (1, 'pending', 1, 1, 'demo', 'Deployment', "
	    "'web', 'old'); PRAGMA user_version = 4;", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	old = store_open(path, err, sizeof(err));
	CHECK(old != NULL);
	if (old == NULL)
		return;
	CHECK_INT(raw_int(path, "PRAGMA user_version"), 5);
	memset(&got, 0, sizeof(got));
	CHECK_INT(store_action_get(old, 1, &got), STORE_OK);
	CHECK_STR(got.origin, "remedyd");
	CHECK_INT(got.proposer_uid, -1);
	CHECK(got.rationale == NULL);
	store_action_clear(&got);
	store_close(old);
}

int
main(void)
{
	struct store	*s;
	char		 err[512];
	int64_t		 inc;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_store.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/remedy.db", tmpdir);

	test_open_errors();

	s = store_open(dbpath, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL) {
		fprintf(stderr, "%s\n", err);
		return T_DONE();
	}
	CHECK_INT(raw_int(dbpath, "PRAGMA user_version"), 5);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM audit"), 0);

	test_incidents(s);
	inc = new_incident(s, "image-pull/demo/Deployment/web/X", "demo");
	CHECK(inc > 0);
	test_happy_path(s, inc);
	test_agent_origin(s, new_incident(s, "agent/demo/Deployment/web/X",
	    "demo"));
	test_illegal(s, inc);
	test_reject_refuse(s, inc);
	test_limits(s, inc);
	test_lists(s);
	test_rollback(s, inc);
	test_proposal_kept(s);
	test_verify_and_tamper(&s);
	store_close(s);

	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return T_DONE();
}
