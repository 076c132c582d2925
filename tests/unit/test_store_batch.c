/*
 * test_store_batch.c - batched writes (store.h, "Batched writes") against
 * a real database file:
 *
 *   - without store_batch() every write is its own transaction;
 *   - with it, the observations of a loop turn (incidents, diagnoses,
 *     proposed actions, supersession) are one transaction, invisible to
 *     another connection until store_flush(), and one COMMIT;
 *   - a write refused inside the batch (a transition from the wrong
 *     state, an action for an unknown incident) takes back only itself;
 *   - a decision (approve) is durable when it returns: it commits the
 *     batch with itself;
 *   - a process killed (SIGKILL) between two turns loses the writes of the
 *     unflushed turn and nothing else: every flushed turn and every
 *     decision is there, the database is intact and the audit chain
 *     verifies;
 *   - store_close() flushes.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
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

static int
diagnosis(struct store *s, int64_t inc)
{
	struct store_diagnosis	d;

	memset(&d, 0, sizeof(d));
	d.incident_id = inc;
	d.backend = "rules";
	d.status = "ok";
	d.summary = "Roll back web";
	return store_diagnosis_set(s, &d);
}

static struct store *
open_store(void)
{
	struct store	*s;
	char		 err[256];

	if ((s = store_open(dbpath, err, sizeof(err))) == NULL)
		fprintf(stderr, "%s\n", err);
	return s;
}

static uint64_t
transactions(struct store *s)
{
	struct store_counters	c;

	store_counters(s, &c);
	return c.transactions;
}

/* Without batching: one transaction per write, as always. */
static void
test_unbatched(void)
{
	struct store_counters	c0, c1;
	struct store		*s = open_store();
	int64_t			 inc;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	store_counters(s, &c0);
	inc = incident_of(s, "Deployment", "plain");
	CHECK(inc > 0);
	CHECK_INT(store_incident_diagnosed(s, inc, 0), STORE_OK);
	CHECK_INT(diagnosis(s, inc), STORE_OK);
	CHECK(rollback_action(s, inc, NULL, NULL, NULL) > 0);
	store_counters(s, &c1);
	CHECK_INT(c1.writes - c0.writes, 4);
	CHECK_INT(c1.transactions - c0.transactions, 4);
	CHECK_INT(store_batch_pending(s), 0);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM incidents WHERE name = "
	    "'plain'"), 1);
	store_close(s);
}

/*
 * One turn's observations: one transaction, seen by another connection
 * only after the flush.  Refused writes inside it take back only
 * themselves.
 */
static void
test_one_turn(void)
{
	struct store_counters	c0, c1;
	struct store		*s = open_store();
	int64_t			 a, b, act, act2;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	store_batch(s, 1);
	store_counters(s, &c0);
	a = incident_of(s, "Deployment", "turn-a");
	b = incident_of(s, "Deployment", "turn-b");
	CHECK(a > 0 && b > 0 && a != b);
	CHECK(store_batch_pending(s) != 0);
	CHECK_INT(store_incident_diagnosed(s, a, 0), STORE_OK);
	CHECK_INT(diagnosis(s, a), STORE_OK);
	act = rollback_action(s, a, NULL, NULL, NULL);
	act2 = rollback_action(s, b, NULL, NULL, NULL);
	CHECK(act > 0 && act2 > act);
	/* refused inside the batch: pending -> superseded twice */
	CHECK_INT(store_action_supersede(s, act2, "healed"), STORE_OK);
	CHECK_INT(store_action_supersede(s, act2, "healed"), STORE_EBADSTATE);
	/* an action for an incident that does not exist */
	CHECK(rollback_action(s, 999999, NULL, NULL, NULL) == 0);
	/* nothing is visible to another connection yet */
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM incidents WHERE "
	    "name LIKE 'turn-%'"), 0);
	CHECK_INT(transactions(s), c0.transactions);
	CHECK_INT(store_flush(s), STORE_OK);
	CHECK_INT(store_batch_pending(s), 0);
	store_counters(s, &c1);
	CHECK_INT(c1.transactions - c0.transactions, 1);
	CHECK_INT(c1.writes - c0.writes, 7);	/* the refusals wrote
						 * nothing */
	CHECK_INT(c1.lost, 0);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM incidents WHERE "
	    "name LIKE 'turn-%'"), 2);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM incident_diagnosis"),
	    2);
	{
		char sql[128];

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE "
		    "action_id = %lld", (long long)act2);
		/* suggested, superseded */
		CHECK_INT(raw_int(dbpath, sql), 2);
	}
	/* an empty flush commits nothing */
	CHECK_INT(store_flush(s), STORE_OK);
	CHECK_INT(transactions(s), c1.transactions);
	store_close(s);
}

/* A decision commits the batch with itself before it returns. */
static void
test_durable(void)
{
	struct store	*s = open_store();
	int64_t		 inc, act;
	uint64_t	 t0;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	store_batch(s, 1);
	inc = incident_of(s, "Deployment", "durable");
	act = rollback_action(s, inc, NULL, NULL, NULL);
	CHECK(act > 0);
	t0 = transactions(s);
	CHECK_INT(store_action_approve(s, act, &alice, NULL), STORE_OK);
	CHECK_INT(store_batch_pending(s), 0);
	CHECK_INT(transactions(s), t0 + 1);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM actions WHERE state = "
	    "'approved'"), 1);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM incidents WHERE name = "
	    "'durable'"), 1);
	/* the apply path: each step durable on its own */
	CHECK_INT(store_action_begin_apply(s, act), STORE_OK);
	CHECK_INT(store_batch_pending(s), 0);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM actions WHERE state = "
	    "'applying'"), 1);
	store_close(s);
}

/*
 * A child writes two turns and is killed before the second is flushed;
 * another approves in a turn and is killed before any flush.
 */
static void
test_crash(void)
{
	struct store	*s;
	pid_t		 pid;
	int64_t		 first;
	int		 status;
	int64_t		 rows = 0, bad = 0;
	char		 why[256];

	if ((pid = fork()) == 0) {
		if ((s = open_store()) == NULL)
			_exit(2);
		store_batch(s, 1);
		/* turn 1: flushed */
		if (rollback_action(s, incident_of(s, "Deployment", "crash-1"),
		    NULL, NULL, NULL) == 0 ||
		    store_flush(s) != STORE_OK)
			_exit(3);
		/* turn 2: an incident and an action, then a decision on
		 * turn 1's action: durable, it takes turn 2 with it */
		if (rollback_action(s, incident_of(s, "Deployment", "crash-2"),
		    NULL, NULL, NULL) == 0)
			_exit(4);
		first = raw_int(dbpath, "SELECT id FROM actions WHERE "
		    "incident_id = (SELECT id FROM incidents WHERE name = "
		    "'crash-1')");
		if (store_action_approve(s, first, &alice, "ok") != STORE_OK)
			_exit(5);
		/* turn 3: never flushed */
		if (rollback_action(s, incident_of(s, "Deployment", "crash-3"),
		    NULL, NULL, NULL) == 0)
			_exit(6);
		kill(getpid(), SIGKILL);
		_exit(7);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM incidents WHERE name = "
	    "'crash-1'"), 1);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM incidents WHERE name = "
	    "'crash-2'"), 1);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM incidents WHERE name = "
	    "'crash-3'"), 0);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM actions a JOIN "
	    "incidents i ON a.incident_id = i.id WHERE i.name = 'crash-1' AND "
	    "a.state = 'approved'"), 1);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM actions a JOIN "
	    "incidents i ON a.incident_id = i.id WHERE i.name = 'crash-2' AND "
	    "a.state = 'pending'"), 1);
	/* what survived is whole */
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM "
	    "pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
	if ((s = open_store()) != NULL) {
		CHECK_INT(store_audit_verify(s, &rows, &bad, why, sizeof(why)),
		    0);
		CHECK(rows > 0);
		/* the killed turn left no open transaction behind */
		CHECK(incident_of(s, "Deployment", "after-crash") > 0);
		store_close(s);
	}
}

/* store_close() commits what the batch holds. */
static void
test_close_flushes(void)
{
	struct store	*s = open_store();

	CHECK(s != NULL);
	if (s == NULL)
		return;
	store_batch(s, 1);
	CHECK(incident_of(s, "Deployment", "closing") > 0);
	CHECK(store_batch_pending(s) != 0);
	store_close(s);
	CHECK_INT(raw_int(dbpath, "SELECT count(*) FROM incidents WHERE name = "
	    "'closing'"), 1);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_store_batch.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/remedy.db", tmpdir);
	test_unbatched();
	test_one_turn();
	test_durable();
	test_crash();
	test_close_flushes();
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	return T_DONE();
}
