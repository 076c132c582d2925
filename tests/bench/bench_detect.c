/*
 * bench_detect - event -> finding -> pending action latency (rules backend,
 * hold-down 0), in-process.
 *
 * For each of N watch events (a pod of its own Deployment that cannot pull
 * its image), time what remedyd does between reading the event and
 * committing the pending action: parse the event, project the pod, run the
 * analyzers, attribute the root owner, group into an incident, store the
 * incident, run the rules backend (rollback patch) and store the action as
 * pending (SQLite, WAL, synchronous=FULL: one fsync per commit).  The API
 * server's dry-run round trip is not included: it is the API server's time.
 *
 * Reference, measured in the same run on the same store: one bare
 * single-row UPDATE commit (store_incident_diagnosed), the fsync floor every
 * pending action pays at least twice (incident row, action row).
 *
 * usage: bench_detect [N] [DIR]   (default 10000, $TMPDIR or /tmp)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "analyze/incident.h"
#include "base/util.h"
#include "diagnose/diagnose.h"
#include "kube/objects.h"
#include "store/store.h"

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp64);
	printf("%-44s n=%zu p50=%.3f ms p99=%.3f ms max=%.3f ms\n", what, n,
	    v[n / 2] / 1e6, v[(n * 99) / 100] / 1e6, v[n - 1] / 1e6);
}

static json_t *
deployment_json(int i, const char *image, int rev)
{
	char name[32], r[16];

	snprintf(name, sizeof(name), "dep%05d", i);
	snprintf(r, sizeof(r), "%d", rev);
	return json_pack("{s:{s:s,s:s,s:s,s:s,s:i,s:{s:s}},"
	    "s:{s:i,s:{s:{s:[{s:s,s:s}]}}},s:{s:i,s:i}}",
	    "metadata", "name", name, "namespace", "bench", "uid", name,
	    "resourceVersion", "1", "generation", 2, "annotations",
	    "deployment.kubernetes.io/revision", r,
	    "spec", "replicas", 1, "template", "spec", "containers", "name",
	    "app", "image", image,
	    "status", "observedGeneration", 2, "replicas", 1);
}

static json_t *
rs_json(int i, int rev, const char *image)
{
	char name[40], dep[32], r[16];

	snprintf(dep, sizeof(dep), "dep%05d", i);
	snprintf(name, sizeof(name), "%s-r%d", dep, rev);
	snprintf(r, sizeof(r), "%d", rev);
	return json_pack("{s:{s:s,s:s,s:s,s:{s:s},s:[{s:s,s:s,s:s,s:b}]},"
	    "s:{s:i,s:{s:{s:[{s:s,s:s}]}}}}",
	    "metadata", "name", name, "namespace", "bench", "uid", name,
	    "annotations", "deployment.kubernetes.io/revision", r,
	    "ownerReferences", "kind", "Deployment", "name", dep, "uid", dep,
	    "controller", 1,
	    "spec", "replicas", 1, "template", "spec", "containers", "name",
	    "app", "image", image);
}

int
main(int argc, char **argv)
{
	int			 n = argc > 1 ? atoi(argv[1]) : 10000;
	const char		*tmp = argc > 2 ? argv[2] : getenv("TMPDIR");
	char			 dir[512], path[600], err[512], ev[2048];
	struct store		*st;
	struct incidents	 is;
	int64_t			*lat, *ref;
	int			 i, bad = 0;

	if (n <= 0)
		n = 10000;
	snprintf(dir, sizeof(dir), "%s/remedy-bench-XXXXXX", tmp ? tmp :
	    "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/remedy.db", dir);
	if ((st = store_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_detect: %s\n", err);
		return 1;
	}
	lat = calloc((size_t)n, sizeof(*lat));
	ref = calloc((size_t)n, sizeof(*ref));
	if (lat == NULL || ref == NULL)
		return 1;
	incidents_init(&is);
	for (i = 0; i < n; i++) {
		json_t			*j, *dj, *r1j, *r2j;
		struct kpod		*p;
		struct kdeployment	*d;
		struct kreplicaset	*r1, *r2;
		const struct kreplicaset *rs[2];
		struct finding		 f;
		struct root_owner	 root;
		struct incident		*inc;
		struct store_incident	 si;
		struct store_action	 act;
		struct diag_input	 in;
		struct proposal		 prop;
		char			 fp[1024];
		int64_t			 t0, t1;

		/* The caches as the informers would hold them (not timed). */
		dj = deployment_json(i, "nginx:1.27-typo", 2);
		r1j = rs_json(i, 1, "nginx:1.25");
		r2j = rs_json(i, 2, "nginx:1.27-typo");
		d = kobj_deployment_project(dj);
		r1 = kobj_replicaset_project(r1j);
		r2 = kobj_replicaset_project(r2j);
		snprintf(ev, sizeof(ev), "{\"type\":\"MODIFIED\",\"object\":{"
		    "\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{"
		    "\"name\":\"dep%05d-r2-x%d\",\"namespace\":\"bench\","
		    "\"uid\":\"p%d\",\"resourceVersion\":\"%d\","
		    "\"labels\":{\"app\":\"dep%05d\"},\"ownerReferences\":[{"
		    "\"kind\":\"ReplicaSet\",\"name\":\"dep%05d-r2\",\"uid\":"
		    "\"dep%05d-r2\",\"controller\":true}]},\"spec\":{"
		    "\"nodeName\":\"node-a\",\"containers\":[{\"name\":\"app\","
		    "\"image\":\"nginx:1.27-typo\"}]},\"status\":{\"phase\":"
		    "\"Pending\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
		    "\"False\"}],\"containerStatuses\":[{\"name\":\"app\","
		    "\"image\":\"nginx:1.27-typo\",\"ready\":false,"
		    "\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":"
		    "\"ImagePullBackOff\",\"message\":\"Back-off pulling image "
		    "\\\"nginx:1.27-typo\\\"\"}}}]}}}", i, i, i, i + 10, i, i,
		    i);

		t0 = now_ns();
		j = json_loads(ev, 0, NULL);
		p = kobj_pod_project(json_object_get(j, "object"));
		if (p == NULL || !analyze_object(NULL, "Pod", p, &f)) {
			bad++;
			goto next;
		}
		/* Root owner: Pod -> ReplicaSet -> Deployment. */
		root.kind = r2->m.owner.kind;
		root.ns = p->m.ns;
		root.name = r2->m.owner.name;
		root.uid = r2->m.owner.uid;
		incidents_pod(&is, p->m.ns, p->m.name, &f, &root, i);
		incident_fingerprint(fp, sizeof(fp), f.analyzer, &root,
		    f.reason);
		inc = incidents_get(&is, fp);
		memset(&si, 0, sizeof(si));
		si.fingerprint = inc->fingerprint;
		si.analyzer = inc->analyzer;
		si.namespace = inc->ns;
		si.kind = inc->kind;
		si.name = inc->name;
		si.uid = inc->uid;
		si.reason = inc->reason;
		si.summary = inc->detail;
		si.pods = si.objects = 1;
		if (store_incident_upsert(st, &si) != STORE_OK) {
			bad++;
			goto next;
		}
		memset(&in, 0, sizeof(in));
		rs[0] = r1;
		rs[1] = r2;
		in.inc = inc;
		in.dep = d;
		in.rs = rs;
		in.nrs = 2;
		if (rules_diagnose(&in, &prop) == -1 || prop.patch == NULL) {
			bad++;
			goto next;
		}
		memset(&act, 0, sizeof(act));
		act.incident_id = si.id;
		act.namespace = (char *)prop.ns;
		act.kind = (char *)prop.kind;
		act.name = (char *)prop.name;
		act.api_path = prop.api_path;
		act.backend = "rules";
		act.risk = (char *)prop.risk;
		act.summary = prop.summary;
		act.root_cause = prop.root_cause;
		act.evidence = prop.evidence;
		act.patch = prop.patch;
		act.changes = prop.changes;
		act.approved_uid = -1;
		if (store_action_propose(st, &act, NULL, NULL) != STORE_OK ||
		    strcmp(act.state, ACTION_PENDING) != 0)
			bad++;
		t1 = now_ns();
		lat[i] = t1 - t0;
		free(act.state);
		proposal_clear(&prop);
		/* Reference: one bare single-row commit. */
		t0 = now_ns();
		store_incident_diagnosed(st, si.id, 0);
		ref[i] = now_ns() - t0;
next:
		kobj_pod_free(p);
		json_decref(j);
		kobj_deployment_free(d);
		kobj_replicaset_free(r1);
		kobj_replicaset_free(r2);
		json_decref(dj);
		json_decref(r1j);
		json_decref(r2j);
	}
	printf("bench_detect: %d events, %d distinct incidents, store %s\n",
	    n, n, path);
	report("event -> finding -> pending action", lat, (size_t)n);
	report("reference: one single-row SQLite commit", ref, (size_t)n);
	incidents_clear(&is);
	store_close(st);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		bad++;
	free(lat);
	free(ref);
	if (bad)
		fprintf(stderr, "bench_detect: %d events did not end pending\n",
		    bad);
	return bad ? 1 : 0;
}
