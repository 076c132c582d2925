/*
 * torture.c - the allocation-failure sweep.
 *
 * For each core path (configuration load, watch-stream decode with the
 * projections, control-protocol decode, store transitions on a fresh and on
 * an existing database) the path first runs once with counting only, which
 * gives its number of allocations K; then it runs K more times, failing
 * allocation N = 1..K in turn (and, with REMEDY_TORTURE_STICKY=1, every
 * allocation from N on).  Allocations are counted across libremedy itself
 * (--wrap, see wrap.c), jansson, SQLite, libuv, libcurl and OpenSSL's libcrypto
 * (lib/base/alloc.h).
 *
 * After every run: the program has not crashed (ASan/UBSan abort on any
 * memory error), a result that claims success equals the result of the
 * clean run (nothing silently lost to an out-of-memory), and for the store:
 * PRAGMA integrity_check is "ok", the audit chain verifies, and every
 * action's state matches its last audit row (one transaction, one row).
 * Leaks are reported by LeakSanitizer when the program exits.
 *
 *   torture [PATH...]      PATH: config, watch, proto, store-new,
 *                          store-batch, store
 * Environment: REMEDY_TORTURE_STICKY=1, REMEDY_TORTURE_MAX=N (stop each
 * sweep after N failure points, for quick runs), REMEDY_TORTURE_ONLY=N
 * (fail only allocation N: to reproduce a report; the database is kept).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/proto.h"
#include "base/util.h"
#include "conf/config.h"
#include "kube/objects.h"
#include "kube/watch.h"
#include "store/store.h"
#include "t.h"
#include "wrap.h"

static char	 tmpdir[128];
static char	 dbpath[256];
static const char *srcdir;
static int	 sticky;
static uint64_t	 max_points, only_point;

static const struct store_actor alice = { 1000, "alice" };

/* --- configuration --- */

static char	*config_ref;		/* dump of the clean load */
static char	 config_path[512];

static int
run_config(void)
{
	struct remedy_config	 cfg;
	char			*errs = NULL, *dump;
	int			 n, ok = 1;

	config_init(&cfg);
	n = config_load(config_path, &cfg, &errs);
	if (n == 0) {
		dump = config_dump(&cfg);
		if (dump != NULL && config_ref != NULL &&
		    strcmp(dump, config_ref) != 0) {
			fprintf(stderr, "config: loaded without error but "
			    "differs:\n%s\n", dump);
			ok = 0;
		}
		if (config_ref == NULL)
			config_ref = dump;
		else
			free(dump);
	} else if (config_ref == NULL) {
		fprintf(stderr, "config: %s does not load: %s", config_path,
		    errs ? errs : "?\n");
		ok = 0;
	} else if (errs == NULL && alloc_failed() == 0) {
		/* Without memory there may be no message; otherwise there
		 * must be one. */
		fprintf(stderr, "config: %d errors but no message\n", n);
		ok = 0;
	}
	free(errs);
	config_clear(&cfg);
	return ok;
}

/* --- watch decode + projections --- */

static const char *watch_events[] = {
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{"
	"\"name\":\"web-1\",\"namespace\":\"demo\",\"uid\":\"u1\","
	"\"resourceVersion\":\"10\",\"ownerReferences\":[{\"kind\":"
	"\"ReplicaSet\",\"name\":\"web-abc\",\"uid\":\"rs1\",\"controller\":"
	"true}]},\"spec\":{\"nodeName\":\"node-a\",\"containers\":[{\"name\":"
	"\"web\",\"image\":\"nginx:1.27-typo\"}]},\"status\":{\"phase\":"
	"\"Pending\",\"containerStatuses\":[{\"name\":\"web\",\"image\":"
	"\"nginx:1.27-typo\",\"ready\":false,\"restartCount\":0,\"state\":{"
	"\"waiting\":{\"reason\":\"ImagePullBackOff\",\"message\":\"Back-off"
	"\"}}}]}}}\n",
	"{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"ReplicaSet\","
	"\"metadata\":{\"name\":\"web-abc\",\"namespace\":\"demo\",\"uid\":"
	"\"rs1\",\"resourceVersion\":\"11\",\"annotations\":{"
	"\"deployment.kubernetes.io/revision\":\"2\"}},\"spec\":{\"replicas\":"
	"3,\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\","
	"\"image\":\"nginx:1.27-typo\"}]}}},\"status\":{\"availableReplicas\":"
	"0}}}\r\n",
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Deployment\",\"metadata\":{"
	"\"name\":\"web\",\"namespace\":\"demo\",\"uid\":\"d1\",\"generation\":"
	"2,\"resourceVersion\":\"12\"},\"spec\":{\"replicas\":3,\"template\":{"
	"\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\""
	"}]}}},\"status\":{\"observedGeneration\":2,\"availableReplicas\":3}}}"
	"\n",
	"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":{"
	"\"resourceVersion\":\"13\"}}}\n",
};

struct watch_seen {
	int	events, pods, rs, deps;
};

static int
on_watch(const char *type, json_t *obj, void *arg)
{
	struct watch_seen	*w = arg;
	void			*p;

	w->events++;
	if ((p = kobj_pod_project(obj)) != NULL) {
		w->pods++;
		kobj_pod_free(p);
	}
	if ((p = kobj_replicaset_project(obj)) != NULL) {
		w->rs++;
		kobj_replicaset_free(p);
	}
	if ((p = kobj_deployment_project(obj)) != NULL) {
		w->deps++;
		kobj_deployment_free(p);
	}
	return 0;
}

static struct watch_seen watch_ref;
static int watch_have_ref;

static int
run_watch(void)
{
	struct watch_decoder	 d;
	struct watch_seen	 w = { 0, 0, 0, 0 };
	size_t			 i, off, n, len;
	int			 rc = 0, ok = 1;

	watch_decoder_init(&d, 64 * 1024);
	for (i = 0; rc == 0 && i < NELEM(watch_events); i++) {
		/* Feed in uneven pieces, as HTTP chunks arrive. */
		len = strlen(watch_events[i]);
		for (off = 0; rc == 0 && off < len; off += n) {
			n = len - off < 97 ? len - off : 97;
			rc = watch_decoder_feed(&d, watch_events[i] + off, n,
			    on_watch, &w);
		}
	}
	if (rc == -1 && d.err[0] == '\0') {
		fprintf(stderr, "watch: failed without a message\n");
		ok = 0;
	}
	if (!watch_have_ref) {
		watch_ref = w;
		watch_have_ref = 1;
	} else if (rc == 0 && w.events != watch_ref.events) {
		fprintf(stderr, "watch: %d events without error, expected %d\n",
		    w.events, watch_ref.events);
		ok = 0;
	}
	watch_decoder_clear(&d);
	return ok;
}

/* --- control protocol --- */

static const char *proto_lines[] = {
	"{\"v\":1,\"id\":7,\"cmd\":\"approve\",\"args\":{\"id\":3,"
	"\"comment\":\"roll back the typo\"}}",
	"{\"v\":1,\"id\":8,\"cmd\":\"list\",\"args\":{\"state\":\"pending\"}}",
	"{\"v\":1,\"id\":9,\"cmd\":\"status\"}",
	"{\"v\":2,\"id\":10,\"cmd\":\"status\"}",
	"{\"v\":1,\"id\":11,\"cmd\":",
};

static int
run_proto(void)
{
	json_t		*root, *args, *reply;
	json_int_t	 id;
	const char	*cmd;
	char		 err[256], *line;
	size_t		 i, len;
	int		 code, ok = 1;

	for (i = 0; i < NELEM(proto_lines); i++) {
		root = NULL;
		err[0] = '\0';
		code = proto_parse_request(proto_lines[i],
		    strlen(proto_lines[i]), &root, &id, &cmd, &args, err,
		    sizeof(err));
		if (code == PROTO_OK) {
			if (i >= 3) {
				fprintf(stderr, "proto: line %zu accepted\n",
				    i);
				ok = 0;
			}
			reply = proto_reply_ok(id, json_pack("{s:s}", "cmd",
			    cmd));
		} else {
			if (err[0] == '\0') {
				fprintf(stderr, "proto: code %d without a "
				    "message\n", code);
				ok = 0;
			}
			reply = proto_reply_err(id, code, "%s", err);
		}
		if (reply != NULL) {
			if ((line = proto_encode(reply, &len)) != NULL)
				free(line);
			json_decref(reply);
		}
		json_decref(root);
	}
	return ok;
}

/* --- store --- */

static void
remove_db(void)
{
	char	 p[300];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", dbpath);
	unlink(p);
}

static int64_t
propose(struct store *s, const char *fp)
{
	struct store_incident	 inc;
	struct store_action	 a;
	json_t			*dry;
	int64_t			 id = 0;

	memset(&inc, 0, sizeof(inc));
	inc.fingerprint = (char *)fp;
	inc.analyzer = (char *)"image-pull";
	inc.namespace = (char *)"demo";
	inc.kind = (char *)"Deployment";
	inc.name = (char *)"web";
	inc.uid = (char *)"0b1c";
	inc.reason = (char *)"ImagePullBackOff";
	inc.summary = (char *)"3 pods cannot pull nginx:1.99";
	inc.first_seen = inc.last_seen = 1795748400000LL;
	inc.pods = 3;
	if (store_incident_upsert(s, &inc) != STORE_OK)
		return 0;
	memset(&a, 0, sizeof(a));
	a.incident_id = inc.id;
	a.namespace = xstrdup("demo");
	a.kind = xstrdup("Deployment");
	a.name = xstrdup("web");
	a.api_path = xstrdup("/apis/apps/v1/namespaces/demo/deployments/web");
	a.backend = xstrdup("rules");
	a.risk = xstrdup("low");
	a.summary = xstrdup("Roll back Deployment demo/web to revision 1");
	a.root_cause = xstrdup("The image nginx:1.99 does not exist.");
	a.evidence = json_pack("[s]", "pod web-1: ImagePullBackOff");
	a.patch = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]",
	    "op", "test", "path", "/spec/template/spec/containers/0/image",
	    "value", "nginx:1.99",
	    "op", "replace", "path", "/spec/template/spec/containers/0/image",
	    "value", "nginx:1.25");
	a.changes = json_pack("[{s:s, s:s, s:s}]",
	    "path", "/spec/template/spec/containers/0/image",
	    "before", "nginx:1.99", "after", "nginx:1.25");
	a.approved_uid = -1;
	dry = json_pack("{s:i}", "code", 200);
	if (a.namespace && a.kind && a.name && a.api_path && a.backend &&
	    a.risk && a.summary && a.root_cause && a.evidence && a.patch &&
	    a.changes && dry &&
	    store_action_propose(s, &a, NULL, dry) == STORE_OK)
		id = a.id;
	json_decref(dry);
	store_action_clear(&a);
	return id;
}

/* The state an action is in after its last audit event. */
static const char *
state_after(const char *event)
{
	if (strcmp(event, "suggested") == 0)
		return ACTION_PENDING;
	return event;
}

/*
 * With allocation failures off: the database passes integrity_check, the
 * audit chain verifies, and each action's state is what its last audit row
 * says.  Returns 1 when all holds.
 */
static int
check_store(const char *when)
{
	struct store	*s;
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	char		 err[512], why[512];
	int64_t		 rows = 0, bad = 0;
	int		 ok = 1, rc;

	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		/* Never created: nothing can be corrupt. */
		sqlite3_close(db);
		return access(dbpath, F_OK) == 0 ? 0 : 1;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") !=
		    0) {
			fprintf(stderr, "%s: integrity_check: %s\n", when,
			    sqlite3_column_text(st, 0));
			ok = 0;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = sqlite3_prepare_v2(db,
	    "SELECT a.id, a.state, (SELECT event FROM audit WHERE "
	    "action_id = a.id ORDER BY seq DESC LIMIT 1) FROM actions a",
	    -1, &st, NULL);
	while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 1);
		const char *ev = (const char *)sqlite3_column_text(st, 2);

		if (ev == NULL || strcmp(state, state_after(ev)) != 0) {
			fprintf(stderr, "%s: action %lld is %s but its last "
			    "audit row is %s\n", when,
			    (long long)sqlite3_column_int64(st, 0), state,
			    ev ? ev : "(none)");
			ok = 0;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);

	if ((s = store_open(dbpath, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: store does not reopen: %s\n", when, err);
		return 0;
	}
	rc = store_audit_verify(s, &rows, &bad, why, sizeof(why));
	if (rc != 0) {
		fprintf(stderr, "%s: audit verify %d at seq %lld: %s\n", when,
		    rc, (long long)bad, why);
		ok = 0;
	}
	store_close(s);
	return ok;
}

/* Every transition, from a fresh database. */
static int
store_transitions(struct store *s)
{
	json_t	*j, *sent, *ans;
	int64_t	 a, b;

	if ((a = propose(s, "image-pull/demo/Deployment/web")) == 0)
		return 0;
	store_action_approve(s, a, &alice, "roll back the typo");
	store_action_begin_apply(s, a);
	sent = json_pack("[{s:s}]", "op", "test");
	ans = json_pack("{s:i}", "code", 200);
	store_action_applied(s, a, sent, ans);
	json_decref(sent);
	json_decref(ans);
	store_action_verified(s, a, "3/3 pods ready");
	if ((b = propose(s, "image-pull/demo/Deployment/api")) != 0) {
		store_action_reject(s, b, &alice, "not now");
		store_action_approve(s, b, &alice, NULL); /* bad state */
	}
	j = store_actions_json(s, NULL, "demo");
	json_decref(j);
	j = store_audit_json(s, a, 0);
	json_decref(j);
	j = store_incidents_json(s, NULL);
	json_decref(j);
	return 1;
}

static int
run_store_new(void)
{
	struct store	*s;
	char		 err[512];

	remove_db();
	if ((s = store_open(dbpath, err, sizeof(err))) != NULL) {
		store_transitions(s);
		store_close(s);
	} else if (err[0] == '\0') {
		fprintf(stderr, "store-new: open failed without a message\n");
		return 0;
	}
	alloc_reset();
	return check_store("store-new");
}

/*
 * The same with the store's batch on (what remedyd runs): the
 * observations join one transaction, the decisions commit it; a failure
 * inside a savepoint takes back that write only, a failed commit the
 * batch.  Then one more turn, committed by store_close().
 */
static int
run_store_batch(void)
{
	struct store	*s;
	char		 err[512];

	remove_db();
	if ((s = store_open(dbpath, err, sizeof(err))) != NULL) {
		store_batch(s, 1);
		store_transitions(s);
		store_flush(s);
		propose(s, "image-pull/demo/Deployment/db");
		store_close(s);
	} else if (err[0] == '\0') {
		fprintf(stderr, "store-batch: open failed without a message\n");
		return 0;
	}
	alloc_reset();
	return check_store("store-batch");
}

/*
 * An existing database with a pending action: reopen, approve, apply,
 * fail one, verify.  The setup runs with failures off.
 */
static int64_t	pend_a, pend_b;

static int
setup_store(void)
{
	struct store	*s;
	char		 err[512];

	remove_db();
	if ((s = store_open(dbpath, err, sizeof(err))) == NULL) {
		fprintf(stderr, "store setup: %s\n", err);
		return -1;
	}
	pend_a = propose(s, "image-pull/demo/Deployment/web");
	pend_b = propose(s, "image-pull/demo/Deployment/api");
	store_action_approve(s, pend_b, &alice, NULL);
	store_close(s);
	return pend_a && pend_b ? 0 : -1;
}

static int
run_store(void)
{
	struct store	*s;
	char		 err[512];
	json_t		*ans, *j;

	if ((s = store_open(dbpath, err, sizeof(err))) != NULL) {
		store_action_approve(s, pend_a, &alice, "ok");
		store_action_begin_apply(s, pend_a);
		store_action_begin_apply(s, pend_b);
		ans = json_pack("{s:i, s:s}", "code", 422, "reason", "Invalid");
		store_action_failed(s, pend_b, "test operation failed", ans);
		store_action_applied(s, pend_a, NULL, ans);
		json_decref(ans);
		store_action_not_recovered(s, pend_a, "0/3 ready after 5m");
		j = store_audit_json(s, 0, 0);
		json_decref(j);
		store_close(s);
	}
	alloc_reset();
	return check_store("store");
}

/* --- the sweep --- */

struct path {
	const char	*name;
	int		(*setup)(void);	/* runs with failures off, or NULL */
	int		(*run)(void);	/* 1: invariants held */
};

static const struct path paths[] = {
	{ "config",	NULL,		run_config },
	{ "watch",	NULL,		run_watch },
	{ "proto",	NULL,		run_proto },
	{ "store-new",	NULL,		run_store_new },
	{ "store-batch", NULL,		run_store_batch },
	{ "store",	setup_store,	run_store },
};

static void
sweep(const struct path *p)
{
	uint64_t	 k, n, failed_total = 0;
	int		 bad = 0;

	if (p->setup && p->setup() == -1) {
		CHECK(!"setup failed");
		return;
	}
	alloc_fail_at(0, 0);
	CHECK(p->run());
	k = alloc_count();
	CHECK(k > 0);
	if (max_points != 0 && k > max_points)
		k = max_points;
	for (n = 1; n <= k; n++) {
		if (only_point != 0 && n != only_point)
			continue;
		if (p->setup) {
			alloc_reset();
			if (p->setup() == -1) {
				CHECK(!"setup failed");
				return;
			}
		}
		alloc_fail_at(n, sticky);
		if (!p->run()) {
			fprintf(stderr, "%s: invariant broken when allocation "
			    "%llu fails\n", p->name, (unsigned long long)n);
			bad++;
		}
		failed_total += alloc_failed();
		alloc_reset();
	}
	CHECK(bad == 0);
	printf("%-10s %6llu allocations, each failed in turn%s: %s\n",
	    p->name, (unsigned long long)k, sticky ? " (sticky)" : "",
	    bad ? "INVARIANT BROKEN" : "ok");
	fflush(stdout);
	(void)failed_total;
}

int
main(int argc, char *argv[])
{
	const char	*e;
	size_t		 i;
	int		 j, want;

	wrap_install();
	if (alloc_install() == -1) {
		fprintf(stderr, "torture: cannot install the allocator\n");
		return 1;
	}
	sticky = (e = getenv("REMEDY_TORTURE_STICKY")) != NULL && *e == '1';
	if ((e = getenv("REMEDY_TORTURE_MAX")) != NULL)
		max_points = strtoull(e, NULL, 10);
	if ((e = getenv("REMEDY_TORTURE_ONLY")) != NULL)
		only_point = strtoull(e, NULL, 10);
	if ((srcdir = getenv("REMEDY_SRCDIR")) == NULL)
		srcdir = ".";
	snprintf(config_path, sizeof(config_path),
	    "%s/tests/unit/data/config-full.yaml", srcdir);
	/* tmpfs when there is one: thousands of commits, fsync is free. */
	snprintf(tmpdir, sizeof(tmpdir), "%s/remedy-torture-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/remedy.db", tmpdir);

	for (i = 0; i < NELEM(paths); i++) {
		want = argc < 2;
		for (j = 1; j < argc; j++)
			if (strcmp(argv[j], paths[i].name) == 0)
				want = 1;
		if (want)
			sweep(&paths[i]);
	}
	free(config_ref);
	if (only_point == 0) {
		remove_db();
		rmdir(tmpdir);
	} else
		printf("database kept: %s\n", dbpath);
	curl_global_cleanup();
	sqlite3_shutdown();
	return T_DONE();
}
