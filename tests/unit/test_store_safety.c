/*
 * test_store_safety.c - the safe-actions transitions of the store against a
 * real database: expired, refused (with the rule), the inverse patch stored
 * (given, or derived from a normalised patch), rollback (a new pending
 * action, one live rollback at a time) and rolled-back (in the same
 * transaction as the rollback's applied).  Every transition writes exactly
 * one audit row per action it changes, a refused one writes nothing, and
 * the chain verifies.  A version 1 database is upgraded in place.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

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

static void
apply(struct store *s, int64_t id, int64_t generation)
{
	json_t	*answer = json_pack("{s:i, s:I}", "status", 200, "generation",
	    (json_int_t)generation);

	CHECK_INT(store_action_approve(s, id, &alice, NULL), STORE_OK);
	CHECK_INT(store_action_begin_apply(s, id), STORE_OK);
	CHECK_INT(store_action_applied(s, id, NULL, answer), STORE_OK);
	json_decref(answer);
}

static void
test_expire_refuse(struct store *s, int64_t inc)
{
	struct store_action	a;
	int64_t			id;

	id = rollback_action(s, inc, NULL, NULL, NULL);
	CHECK_INT(store_action_expire(s, id, "not decided within 24h"),
	    STORE_OK);
	CHECK_STR(state_of(s, id), ACTION_EXPIRED);
	CHECK_INT(audit_rows(id), 2);
	CHECK_INT(store_action_expire(s, id, "again"), STORE_EBADSTATE);
	CHECK_INT(store_action_approve(s, id, &alice, NULL), STORE_EBADSTATE);
	CHECK_INT(audit_rows(id), 2);
	CHECK_INT(store_action_expire(s, id, NULL), STORE_EINVAL);

	id = rollback_action(s, inc, NULL, NULL, NULL);
	CHECK_INT(store_action_refuse(s, id, &alice, "namespace-denied",
	    "refused by the policy (namespace-denied): demo is denied"),
	    STORE_OK);
	CHECK_INT(store_action_get(s, id, &a), STORE_OK);
	CHECK_STR(a.state, ACTION_REFUSED);
	CHECK_STR(a.rule, "namespace-denied");
	CHECK(a.reason != NULL && strstr(a.reason, "demo is denied") != NULL);
	store_action_clear(&a);
	CHECK_INT(audit_rows(id), 2);
	CHECK_INT(store_action_refuse(s, id, &alice, "x", "y"),
	    STORE_EBADSTATE);
	CHECK_INT(store_action_refuse(s, 999999, &alice, "x", "y"),
	    STORE_ENOTFOUND);

	/* refused at propose time, with its rule */
	id = rollback_action(s, inc, NULL, "forbidden-kind",
	    "refused by the policy");
	CHECK_INT(store_action_get(s, id, &a), STORE_OK);
	CHECK_STR(a.state, ACTION_REFUSED);
	CHECK_STR(a.rule, "forbidden-kind");
	CHECK(a.inverse == NULL);
	store_action_clear(&a);
}

static void
test_rollback(struct store *s, int64_t inc)
{
	struct store_action	 a, r;
	json_t			*j;
	int64_t			 id, rb = 0, rb2 = 0;
	char			*txt, want[1024];

	/* the inverse follows from the normalised patch */
	id = rollback_action(s, inc, NULL, NULL, NULL);
	CHECK_INT(store_action_get(s, id, &a), STORE_OK);
	txt = a.inverse ? json_dumps(a.inverse, JSON_COMPACT) : NULL;
	CHECK_STR(txt, "[{\"op\":\"test\",\"path\":"
	    "\"/spec/template/spec/containers/0/image\",\"value\":"
	    "\"nginx:1.25\"},{\"op\":\"replace\",\"path\":"
	    "\"/spec/template/spec/containers/0/image\",\"value\":"
	    "\"nginx:typo\"}]");
	free(txt);
	j = store_action_json(&a);
	CHECK(json_is_array(json_object_get(j, "inverse")));
	CHECK_INT(json_integer_value(json_object_get(j, "rollback_of")), 0);
	json_decref(j);
	store_action_clear(&a);

	/* not applied yet */
	CHECK_INT(store_action_rollback(s, id, &alice, &rb), STORE_EBADSTATE);
	CHECK_INT(rb, 0);
	apply(s, id, 3);
	CHECK_INT(store_action_verified(s, id, "healthy"), STORE_OK);
	CHECK_INT(audit_rows(id), 5);

	CHECK_INT(store_action_rollback(s, id, &alice, &rb), STORE_OK);
	CHECK(rb > id);
	CHECK_INT(audit_rows(id), 6);	/* rollback-proposed */
	CHECK_INT(audit_rows(rb), 1);	/* suggested */
	CHECK_STR(state_of(s, id), ACTION_VERIFIED);
	CHECK_INT(store_action_get(s, rb, &r), STORE_OK);
	CHECK_STR(r.state, ACTION_PENDING);
	CHECK_INT(r.rollback_of, id);
	CHECK_STR(r.backend, "rollback");
	txt = r.patch ? json_dumps(r.patch, JSON_COMPACT) : NULL;
	/* the inverse, stamped with the rollback's own action id */
	snprintf(want, sizeof(want), "[{\"op\":\"test\",\"path\":"
	    "\"/metadata/generation\",\"value\":3},{\"op\":\"test\","
	    "\"path\":\"/spec/template/spec/containers/0/image\",\"value\":"
	    "\"nginx:1.25\"},{\"op\":\"replace\",\"path\":"
	    "\"/spec/template/spec/containers/0/image\",\"value\":"
	    "\"nginx:typo\"},{\"op\":\"add\",\"path\":"
	    "\"/metadata/annotations/remedy.dev~1action-id\",\"value\":"
	    "\"%lld\"}]", (long long)rb);
	CHECK_STR(txt, want);
	free(txt);
	CHECK_STR(json_string_value(json_object_get(json_array_get(r.changes, 0),
	    "after")), "nginx:typo");
	store_action_clear(&r);

	/* one live rollback at a time */
	CHECK_INT(store_action_rollback(s, id, &alice, &rb2), STORE_EBADSTATE);
	CHECK(strstr(store_errmsg(s), "already has a rollback") != NULL);

	/* applying the rollback rolls the original back, atomically */
	apply(s, rb, 4);
	CHECK_STR(state_of(s, rb), ACTION_APPLIED);
	CHECK_STR(state_of(s, id), ACTION_ROLLED_BACK);
	CHECK_INT(audit_rows(id), 7);
	CHECK_INT(store_action_rollback(s, id, &alice, &rb2), STORE_EBADSTATE);
	/* the rollback itself can be rolled back (re-applying the original) */
	CHECK_INT(store_action_rollback(s, rb, &alice, &rb2), STORE_OK);
	CHECK_INT(store_action_get(s, rb2, &r), STORE_OK);
	CHECK_STR(json_string_value(json_object_get(json_array_get(r.patch, 2),
	    "value")), "nginx:1.25");
	store_action_clear(&r);
	CHECK_INT(store_action_rollback(s, 999999, &alice, &rb2),
	    STORE_ENOTFOUND);
}

/* A version 1 database (as the first release wrote it) is upgraded. */
static void
test_upgrade(void)
{
	static const char v1[] =
	    "CREATE TABLE incidents (id INTEGER PRIMARY KEY, fingerprint TEXT "
	    "NOT NULL UNIQUE, analyzer TEXT, namespace TEXT, kind TEXT, name "
	    "TEXT, uid TEXT, reason TEXT, summary TEXT, state TEXT NOT NULL "
	    "CHECK (state IN ('open', 'resolved')), first_seen INTEGER NOT "
	    "NULL, last_seen INTEGER NOT NULL, resolved_at INTEGER NOT NULL "
	    "DEFAULT 0, pods INTEGER NOT NULL DEFAULT 0);"
	    "CREATE TABLE actions (id INTEGER PRIMARY KEY, incident_id INTEGER "
	    "NOT NULL REFERENCES incidents(id), state TEXT NOT NULL, created "
	    "INTEGER NOT NULL, updated INTEGER NOT NULL, namespace TEXT NOT "
	    "NULL, kind TEXT NOT NULL, name TEXT NOT NULL, api_path TEXT, "
	    "backend TEXT, risk TEXT, summary TEXT NOT NULL, root_cause TEXT, "
	    "evidence TEXT, patch TEXT, changes TEXT, reason TEXT, result TEXT,"
	    " approved_by TEXT, approved_uid INTEGER NOT NULL DEFAULT -1);"
	    "CREATE TABLE audit (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT "
	    "NULL, action_id INTEGER NOT NULL, event TEXT NOT NULL, actor TEXT "
	    "NOT NULL, actor_uid INTEGER NOT NULL, detail TEXT NOT NULL, "
	    "prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
	    "INSERT INTO incidents VALUES (1, 'fp', 'image-pull', 'demo', "
	    "'Deployment', 'web', 'u', 'r', 's', 'open', 1, 1, 0, 1);"
	    "INSERT INTO actions (id, incident_id, state, created, updated, "
	    "namespace, kind, name, summary, patch) VALUES (1, 1, 'pending', 1,"
	    " 1, 'demo', 'Deployment', 'web', 'old one', '[]');"
	    "PRAGMA user_version = 1;";
	struct store		*s;
	struct store_action	 a;
	char			 path[160], err[256];
	sqlite3			*db;

	snprintf(path, sizeof(path), "%s/v1.db", tmpdir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_INT(store_action_get(s, 1, &a), STORE_OK);
	CHECK_STR(a.summary, "old one");
	CHECK(a.inverse == NULL && a.rule == NULL && a.rollback_of == 0);
	store_action_clear(&a);
	CHECK_INT(store_action_expire(s, 1, "old"), STORE_OK);
	store_close(s);
}

int
main(void)
{
	struct store	*s;
	char		 err[256], why[256];
	int64_t		 inc, rows, bad;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_store_safety.XXXXXX");
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
	inc = incident_of(s, "Deployment", "web");
	CHECK(inc > 0);
	test_expire_refuse(s, inc);
	test_rollback(s, inc);
	CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)), 0);
	CHECK(rows > 10);
	store_close(s);
	test_upgrade();
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return T_DONE();
}
