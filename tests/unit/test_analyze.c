/*
 * The analyzer families on API-shaped JSON (positive and negative per
 * family where the integration scenarios cannot reach: lookups that find
 * nothing, the cron parser, ErrImageNeverPull), the incident tracker's
 * lifecycle (flaps, symptoms, known incidents) and the store's schema-3
 * incident fields, including the migration of a version-1 database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "analyze/analyze.h"
#include "analyze/incident.h"
#include "base/util.h"
#include "kube/objects.h"
#include "store/store.h"
#include "t.h"

static struct kpod *
pod_from(const char *text)
{
	json_t		*j = json_loads(text, 0, NULL);
	struct kpod	*p;

	CHECK(j != NULL);
	p = kobj_pod_project(j);
	json_decref(j);
	CHECK(p != NULL);
	return p;
}

static int
run_pod(const char *text, struct finding *f)
{
	struct kpod	*p = pod_from(text);
	int		 r = p ? analyze_pod(p, f) : -1;

	kobj_pod_free(p);
	return r;
}

static void
test_pods(void)
{
	struct finding f;

	CHECK_INT(run_pod("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},"
	    "\"status\":{\"containerStatuses\":[{\"name\":\"c\",\"image\":"
	    "\"x:1\",\"state\":{\"waiting\":{\"reason\":\"ErrImageNeverPull\","
	    "\"message\":\"never pull\"}}}]}}", &f), 1);
	CHECK_STR(f.analyzer, "image-pull");
	CHECK_STR(f.reason, "ErrImageNeverPull");

	/* OOMKilled once, running and ready since: healthy. */
	CHECK_INT(run_pod("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},"
	    "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
	    "\"Ready\",\"status\":\"True\"}],\"containerStatuses\":[{\"name\":"
	    "\"c\",\"ready\":true,\"state\":{\"running\":{}},\"lastState\":"
	    "{\"terminated\":{\"reason\":\"OOMKilled\",\"exitCode\":137}}}]}}",
	    &f), 0);
	/* OOMKilled and not ready: a finding with the exit code. */
	CHECK_INT(run_pod("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},"
	    "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":"
	    "\"c\",\"ready\":false,\"restartCount\":2,\"state\":{\"terminated\":"
	    "{\"reason\":\"OOMKilled\",\"exitCode\":137}}}]}}", &f), 1);
	CHECK_STR(f.reason, "OOMKilled");
	CHECK(strstr(f.detail, "exit code 137") != NULL);
	/* An init container that is still running is not a failure. */
	CHECK_INT(run_pod("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},"
	    "\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":[{"
	    "\"name\":\"i\",\"state\":{\"running\":{}}}]}}", &f), 0);
	/* Evicted needs phase Failed. */
	CHECK_INT(run_pod("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},"
	    "\"status\":{\"phase\":\"Running\",\"reason\":\"Evicted\"}}", &f),
	    0);
	/* Unschedulable with no message: the cause is "unknown", and the
	 * FailedScheduling Event is not available without a context. */
	CHECK_INT(run_pod("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},"
	    "\"status\":{\"phase\":\"Pending\",\"conditions\":[{\"type\":"
	    "\"PodScheduled\",\"status\":\"False\",\"reason\":"
	    "\"Unschedulable\"}]}}", &f), 1);
	CHECK(strstr(f.detail, "(unknown)") != NULL);
	/* Probe and volume findings need the Events: none without them. */
	CHECK_INT(run_pod("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},"
	    "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
	    "\"Ready\",\"status\":\"False\"}]}}", &f), 0);
}

static int
run_obj(const struct informer_type *t, const char *kind, const char *text,
    const struct analyze_ctx *ctx, struct finding *f)
{
	json_t	*j = json_loads(text, 0, NULL);
	void	*o;
	int	 r;

	CHECK(j != NULL);
	o = t->project(j);
	json_decref(j);
	CHECK(o != NULL);
	if (o == NULL)
		return -1;
	r = analyze_object(ctx, kind, o, f);
	t->free_fn(o);
	return r;
}

static const void *
get_nothing(void *arg, const char *kind, const char *ns, const char *name)
{
	(void)arg; (void)kind; (void)ns; (void)name;
	return NULL;
}

/* Failed pods of a Job: exit codes 3, 3 and 1 (arg: how many with 3). */
static int
failed_three(void *arg, const char *ns, const char *uid, int *code,
    int *same, char *container, size_t len)
{
	(void)ns;
	CHECK_STR(uid, "uid-j");
	*code = 3;
	*same = *(int *)arg;
	snprintf(container, len, "main");
	return *same + 1;
}

static void
test_objects(void)
{
	struct finding		f;
	struct analyze_ctx	ctx;

	/* Cluster-scoped: a Node has no namespace and still projects. */
	CHECK_INT(run_obj(&kobj_nodes, "Node", "{\"metadata\":{\"name\":\"n1\"},"
	    "\"status\":{\"conditions\":[{\"type\":\"PIDPressure\",\"status\":"
	    "\"True\",\"message\":\"too many pids\"}]}}", NULL, &f), 1);
	CHECK_STR(f.reason, "PIDPressure");
	CHECK_INT(run_obj(&kobj_nodes, "Node", "{\"metadata\":{\"name\":\"n1\"},"
	    "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
	    "\"True\"}]}}", NULL, &f), 0);
	/* A StatefulSet status for an older generation is not trusted. */
	CHECK_INT(run_obj(&kobj_statefulsets, "StatefulSet", "{\"metadata\":{"
	    "\"name\":\"s\",\"namespace\":\"d\",\"generation\":3},\"spec\":{"
	    "\"replicas\":3},\"status\":{\"observedGeneration\":2,"
	    "\"readyReplicas\":0}}", NULL, &f), 0);
	/* The governing Service is checked only when lookups are possible. */
	CHECK_INT(run_obj(&kobj_statefulsets, "StatefulSet", "{\"metadata\":{"
	    "\"name\":\"s\",\"namespace\":\"d\"},\"spec\":{\"replicas\":1,"
	    "\"serviceName\":\"h\"},\"status\":{\"readyReplicas\":1}}", NULL,
	    &f), 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.get = get_nothing;
	CHECK_INT(run_obj(&kobj_statefulsets, "StatefulSet", "{\"metadata\":{"
	    "\"name\":\"s\",\"namespace\":\"d\"},\"spec\":{\"replicas\":1,"
	    "\"serviceName\":\"h\"},\"status\":{\"readyReplicas\":1}}", &ctx,
	    &f), 1);
	CHECK_STR(f.reason, "ServiceMissing");
	/* A Job that is still running, a Complete one: no finding. */
	CHECK_INT(run_obj(&kobj_jobs, "Job", "{\"metadata\":{\"name\":\"j\","
	    "\"namespace\":\"d\"},\"status\":{\"active\":1}}", NULL, &f), 0);
	CHECK_INT(run_obj(&kobj_jobs, "Job", "{\"metadata\":{\"name\":\"j\","
	    "\"namespace\":\"d\"},\"status\":{\"conditions\":[{\"type\":"
	    "\"Failed\",\"status\":\"False\"}]}}", NULL, &f), 0);
	/* Still running, two pods failed with exit code 3: retrying */
	memset(&ctx, 0, sizeof(ctx));
	ctx.failed_pods = failed_three;
	{
		int	two = 2, one = 1;

		ctx.arg = &two;
		CHECK_INT(run_obj(&kobj_jobs, "Job", "{\"metadata\":{\"name\":"
		    "\"j\",\"namespace\":\"d\",\"uid\":\"uid-j\"},\"spec\":{"
		    "\"backoffLimit\":4},\"status\":{\"active\":1,\"failed\":3}}",
		    &ctx, &f), 1);
		CHECK_STR(f.reason, "JobPodsFailing");
		CHECK(strstr(f.detail, "2 pods failed with exit code 3 "
		    "(container main), 3 failed so far of backoffLimit 4") !=
		    NULL);
		/* one pod per exit code: not the same failure */
		ctx.arg = &one;
		CHECK_INT(run_obj(&kobj_jobs, "Job", "{\"metadata\":{\"name\":"
		    "\"j\",\"namespace\":\"d\",\"uid\":\"uid-j\"},\"status\":{"
		    "\"active\":1,\"failed\":2}}", &ctx, &f), 0);
		/* complete: no finding */
		ctx.arg = &two;
		CHECK_INT(run_obj(&kobj_jobs, "Job", "{\"metadata\":{\"name\":"
		    "\"j\",\"namespace\":\"d\",\"uid\":\"uid-j\"},\"status\":{"
		    "\"failed\":2,\"conditions\":[{\"type\":\"Complete\","
		    "\"status\":\"True\"}]}}", &ctx, &f), 0);
	}
	/* A PDB not yet observed, and one blocking because pods are
	 * unhealthy (the pods' problem, not the budget's). */
	CHECK_INT(run_obj(&kobj_pdbs, "PodDisruptionBudget", "{\"metadata\":{"
	    "\"name\":\"p\",\"namespace\":\"d\"},\"status\":{}}", NULL, &f), 0);
	CHECK_INT(run_obj(&kobj_pdbs, "PodDisruptionBudget", "{\"metadata\":{"
	    "\"name\":\"p\",\"namespace\":\"d\"},\"status\":{"
	    "\"disruptionsAllowed\":0,\"currentHealthy\":1,\"desiredHealthy\":"
	    "2,\"expectedPods\":3}}", NULL, &f), 0);
	/* ExternalName Services select nothing by design. */
	CHECK_INT(run_obj(&kobj_services, "Service", "{\"metadata\":{\"name\":"
	    "\"s\",\"namespace\":\"d\"},\"spec\":{\"type\":\"ExternalName\","
	    "\"selector\":{\"a\":\"b\"}}}", &ctx, &f), 0);
	/* Projections keep only the listed fields. */
	{
		json_t		*j = json_pack("{s:{s:s,s:s,s:{s:s}},s:{s:s},"
		    "s:{s:s}}", "metadata", "name", "s", "namespace", "d",
		    "annotations", "big", "xxxxxxxx", "spec", "type",
		    "ClusterIP", "status", "loadBalancer", "x");
		struct kobj	*o = kobj_services.project(j);

		CHECK(o != NULL && json_object_size(o->f) == 1);
		CHECK(o != NULL && json_at(o->f, "status") == NULL);
		kobj_free(o);
		json_decref(j);
	}
}

/* Minute of a UTC civil time. */
static int64_t
minute_of(const char *t)
{
	return analyze_time(t) / 60000;
}

static void
test_cron(void)
{
	char err[128];

	CHECK_INT(cron_matches("*/15 * * * *", minute_of(
	    "2026-11-27T03:15:00Z"), err, sizeof(err)), 1);
	CHECK_INT(cron_matches("*/15 * * * *", minute_of(
	    "2026-11-27T03:16:00Z"), err, sizeof(err)), 0);
	/* 2026-11-27 is a Friday. */
	CHECK_INT(cron_matches("30 9 * * fri", minute_of(
	    "2026-11-27T09:30:00Z"), err, sizeof(err)), 1);
	CHECK_INT(cron_matches("30 9 * * 1-4", minute_of(
	    "2026-11-27T09:30:00Z"), err, sizeof(err)), 0);
	CHECK_INT(cron_matches("0 0 1 jan *", minute_of(
	    "2027-01-01T00:00:00Z"), err, sizeof(err)), 1);
	CHECK_INT(cron_matches("@daily", minute_of("2026-11-27T00:00:00Z"),
	    err, sizeof(err)), 1);
	CHECK_INT(cron_matches("CRON_TZ=UTC 5 4 * * 0,7", minute_of(
	    "2026-11-29T04:05:00Z"), err, sizeof(err)), 1);
	/* Day of month and day of week both restricted: either matches. */
	CHECK_INT(cron_matches("0 0 13 * 5", minute_of("2026-11-13T00:00:00Z"),
	    err, sizeof(err)), 1);
	CHECK_INT(cron_matches("0 0 13 * 5", minute_of("2026-11-27T00:00:00Z"),
	    err, sizeof(err)), 1);
	CHECK_INT(cron_matches("0 0 13 * 5", minute_of("2026-11-26T00:00:00Z"),
	    err, sizeof(err)), 0);
	CHECK_INT(cron_matches("* * * *", 0, err, sizeof(err)), -1);
	CHECK_STR(err, "expected 5 fields, found fewer");
	CHECK_INT(cron_matches("61 * * * *", 0, err, sizeof(err)), -1);
	CHECK_STR(err, "bad minute field \"61\"");
	CHECK_INT(cron_matches("0 0 * * mon-", 0, err, sizeof(err)), -1);
	CHECK_INT(cron_matches("*/0 * * * *", 0, err, sizeof(err)), -1);
	CHECK_INT(cron_matches("", 0, err, sizeof(err)), -1);
	CHECK_INT(analyze_time("2026-11-27T03:00:00Z"), 1795748400000LL);
	CHECK_INT(analyze_time("yesterday"), -1);
}

static void
test_lifecycle(void)
{
	struct incidents	 is;
	struct incident		*inc, *dep;
	struct finding		 f, s;
	struct root_owner	 web = { "Deployment", "demo", "web", "u1" };
	char			 fp[512];

	incidents_init(&is);
	memset(&f, 0, sizeof(f));
	f.analyzer = "crashloop";
	snprintf(f.reason, sizeof(f.reason), "CrashLoopBackOff");
	snprintf(f.detail, sizeof(f.detail), "pod demo/web-1: crash");
	CHECK_INT(incidents_pod(&is, "demo", "web-1", &f, &web, 100), 0);
	incident_fingerprint(fp, sizeof(fp), "crashloop", &web,
	    "CrashLoopBackOff");
	CHECK((inc = incidents_get(&is, fp)) != NULL);
	CHECK_INT(inc->healthy_since, 0);
	/* Heals: healthy from then on; breaks again: one flap. */
	CHECK_INT(incidents_pod(&is, "demo", "web-1", NULL, NULL, 200), 0);
	CHECK_INT(inc->healthy_since, 200);
	CHECK_INT(incidents_pod(&is, "demo", "web-1", &f, &web, 300), 0);
	CHECK_INT(inc->flaps, 1);
	CHECK_INT(inc->healthy_since, 0);
	/* A second pod joining a non-empty incident is not a flap. */
	CHECK_INT(incidents_pod(&is, "demo", "web-2", &f, &web, 400), 0);
	CHECK_INT(inc->flaps, 1);
	CHECK_INT(incident_objects(inc), 2);

	/* A symptom on the same root owner is explained by the cause. */
	memset(&s, 0, sizeof(s));
	s.analyzer = "deployment";
	s.symptom = 1;
	snprintf(s.reason, sizeof(s.reason), "ReplicasUnavailable");
	CHECK_INT(incidents_object(&is, "Deployment", "demo", "web", &s, &web,
	    400), 0);
	incident_fingerprint(fp, sizeof(fp), "deployment", &web,
	    "ReplicasUnavailable");
	CHECK((dep = incidents_get(&is, fp)) != NULL);
	CHECK_INT(incidents_has_cause(&is, dep), 1);
	CHECK_INT(incidents_pod(&is, "demo", "web-1", NULL, NULL, 500), 0);
	CHECK_INT(incidents_pod(&is, "demo", "web-2", NULL, NULL, 500), 0);
	CHECK_INT(incidents_has_cause(&is, dep), 0);
	/* Stored, the cause stays open while empty (a crash loop's pod is
	 * Running for an instant between back-offs) until it is resolved. */
	inc->store_id = 7;
	CHECK_INT(incidents_has_cause(&is, dep), 1);
	inc->store_id = 0;
	CHECK_INT(incident_objects(dep), 1);
	CHECK_INT(incident_pods(dep), 0);

	/* A known incident from the store starts empty and is not new. */
	{
		struct root_owner node = { "Node", "", "n1", "" };
		struct incident *k;

		k = incidents_add_known(&is, "node//Node/n1/NodeNotReady",
		    "node", "NodeNotReady", &node, 7, 1, 600);
		CHECK(k != NULL && k->store_id == 7 && k->diagnosed == 1);
		CHECK(k != NULL && incident_objects(k) == 0 &&
		    k->healthy_since == 0);
		CHECK(incidents_add_known(&is, "node//Node/n1/NodeNotReady",
		    "node", "NodeNotReady", &node, 8, 0, 700) == k);
	}
	incidents_clear(&is);
}

/* The version-1 schema, as remedy 0.1 created it. */
static const char schema_v1[] =
    "CREATE TABLE incidents (id INTEGER PRIMARY KEY, fingerprint TEXT NOT "
    "NULL UNIQUE, analyzer TEXT, namespace TEXT, kind TEXT, name TEXT, uid "
    "TEXT, reason TEXT, summary TEXT, state TEXT NOT NULL CHECK (state IN "
    "('open', 'resolved')), first_seen INTEGER NOT NULL, last_seen INTEGER "
    "NOT NULL, resolved_at INTEGER NOT NULL DEFAULT 0, pods INTEGER NOT NULL "
    "DEFAULT 0);"
    "CREATE TABLE actions (id INTEGER PRIMARY KEY, incident_id INTEGER NOT "
    "NULL REFERENCES incidents(id), state TEXT NOT NULL, created INTEGER NOT "
    "NULL, updated INTEGER NOT NULL, namespace TEXT NOT NULL, kind TEXT NOT "
    "NULL, name TEXT NOT NULL, api_path TEXT, backend TEXT, risk TEXT, "
    "summary TEXT NOT NULL, root_cause TEXT, evidence TEXT, patch TEXT, "
    "changes TEXT, reason TEXT, result TEXT, approved_by TEXT, approved_uid "
    "INTEGER NOT NULL DEFAULT -1);"
    "CREATE TABLE audit (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, "
    "action_id INTEGER NOT NULL, event TEXT NOT NULL, actor TEXT NOT NULL, "
    "actor_uid INTEGER NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT "
    "NULL, hash TEXT NOT NULL);"
    "INSERT INTO incidents (fingerprint, analyzer, namespace, kind, name, "
    "uid, reason, summary, state, first_seen, last_seen, pods) VALUES "
    "('image-pull/demo/Deployment/web/ImagePullBackOff', 'image-pull', "
    "'demo', 'Deployment', 'web', 'u', 'ImagePullBackOff', 'old', 'open', "
    "1, 2, 3);"
    "PRAGMA user_version = 1;";

static void
test_store(void)
{
	char			 dir[] = "/tmp/remedy-test-analyze-XXXXXX";
	char			 path[128], err[256];
	struct store		*s;
	struct store_incident	 si, got;
	sqlite3			*db;
	int64_t			*ids;
	size_t			 n;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/v1.db", dir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, schema_v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	/* Opening migrates; the old row keeps its data, new columns are 0. */
	s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_INT(store_incident_find(s,
	    "image-pull/demo/Deployment/web/ImagePullBackOff", &got), STORE_OK);
	CHECK_INT(got.pods, 3);
	CHECK_INT(got.flaps, 0);
	CHECK_INT(got.diagnosed_at, 0);
	CHECK(got.findings == NULL);
	store_incident_clear(&got);

	/* Upsert with findings, flaps; resolve; reopen counts. */
	memset(&si, 0, sizeof(si));
	si.fingerprint = "node//Node/n1/NodeNotReady";
	si.analyzer = "node";
	si.namespace = "";
	si.kind = "Node";
	si.name = "n1";
	si.reason = "NodeNotReady";
	si.summary = "1 object(s) of Node n1: NodeNotReady";
	si.objects = 1;
	si.findings = json_pack("[s]", "Node n1: Ready=False");
	si.affected = json_pack("[s]", "Node//n1");
	CHECK_INT(store_incident_upsert(s, &si), STORE_OK);
	json_decref(si.findings);
	json_decref(si.affected);
	si.findings = si.affected = NULL;
	si.flaps = 2;
	CHECK_INT(store_incident_upsert(s, &si), STORE_OK);
	CHECK_INT(store_incident_diagnosed(s, si.id, 1234), STORE_OK);
	CHECK_INT(store_incident_diagnosed(s, 9999, 0), STORE_ENOTFOUND);
	CHECK_INT(store_incident_resolve(s, si.id, 5000), STORE_OK);
	si.flaps = 0;
	CHECK_INT(store_incident_upsert(s, &si), STORE_OK);
	CHECK_INT(store_incident_get(s, si.id, &got), STORE_OK);
	CHECK_STR(got.state, "open");
	CHECK_INT(got.reopens, 1);
	CHECK_INT(got.flaps, 2);
	CHECK_INT(got.objects, 1);
	CHECK_INT(got.diagnosed_at, 1234);
	CHECK_STR(json_string_value(json_array_get(got.findings, 0)),
	    "Node n1: Ready=False");
	CHECK_STR(json_string_value(json_array_get(got.affected, 0)),
	    "Node//n1");
	store_incident_clear(&got);
	ids = store_incident_actions(s, si.id, NULL, &n);
	CHECK_INT(n, 0);
	free(ids);
	/* Bad input is refused with a message naming it. */
	si.findings = json_object();
	CHECK_INT(store_incident_upsert(s, &si), STORE_EINVAL);
	CHECK(strstr(store_errmsg(s), "incident findings") != NULL);
	json_decref(si.findings);
	store_close(s);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CHECK_INT(system(path), 0);
}

int
main(void)
{
	test_pods();
	test_objects();
	test_cron();
	test_lifecycle();
	test_store();
	return T_DONE();
}
