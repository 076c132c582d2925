/*
 * The fix catalogue (lib/action/remedies/): the table, the StatefulSet and
 * DaemonSet revision rollback found as `kubectl rollout undo` finds it,
 * memory raise on a StatefulSet, the explanations for a bare Pod, the
 * normaliser's uid guard for a Pod and a Service, and the Service selector
 * pointed at the one workload serving its ports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/normalize.h"
#include "action/remedies/remedies.h"
#include "analyze/incident.h"
#include "base/util.h"
#include "diagnose/diagnose.h"
#include "kube/objects.h"
#include "t.h"

static void
make_incident(struct incidents *incs, const char *kind, const char *name,
    const char *reason, struct incident **out)
{
	struct finding		f;
	struct root_owner	r;
	size_t			pos = 0;

	r.kind = kind;
	r.ns = "demo";
	r.name = name;
	r.uid = "uid-owner";
	memset(&f, 0, sizeof(f));
	f.analyzer = "test";
	snprintf(f.reason, sizeof(f.reason), "%s", reason);
	snprintf(f.container, sizeof(f.container), "web");
	snprintf(f.image, sizeof(f.image), "nginx:1.25-typo");
	snprintf(f.detail, sizeof(f.detail), "pod demo/%s-1: container web: "
	    "%s", name, reason);
	incidents_init(incs);
	incidents_pod(incs, "demo", "x-1", &f, &r, 0);
	*out = NULL;
	incidents_next(incs, &pos, out);
}

static json_t *
owner_json(const char *kind, const char *image, const char *update_rev)
{
	json_t *o;

	o = json_pack("{s:s, s:{s:s, s:s, s:s, s:I},"
	    " s:{s:i, s:{s:{s:[{s:s, s:s, s:{s:{s:s}}}]}}}, s:{}}",
	    "kind", kind,
	    "metadata", "name", "db", "namespace", "demo", "uid", "uid-owner",
	    "generation", (json_int_t)4,
	    "spec", "replicas", 2, "template", "spec", "containers", "name",
	    "web", "image", image, "resources", "limits", "memory", "256Mi",
	    "status");
	if (update_rev != NULL)
		json_object_set_new(json_object_get(o, "status"),
		    "updateRevision", json_string(update_rev));
	return o;
}

static struct kobj *
revision(const char *name, int rev, const char *image, const char *owner)
{
	json_t		*j;
	struct kobj	*o;

	j = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:{s:s},"
	    " s:[{s:s, s:s, s:s, s:b}]}, s:I,"
	    " s:{s:{s:{s:s, s:{s:[{s:s, s:s, s:[]}]}}}}}",
	    "kind", "ControllerRevision",
	    "metadata", "name", name, "namespace", "demo", "uid", name,
	    "resourceVersion", "1", "labels", "controller-revision-hash", name,
	    "ownerReferences", "kind", "StatefulSet", "name", "db", "uid",
	    owner, "controller", 1,
	    "revision", (json_int_t)rev,
	    "data", "spec", "template", "$patch", "replace", "spec",
	    "containers", "name", "web", "image", image, "env");
	o = kobj_controllerrevisions.project(j);
	json_decref(j);
	return o;
}

static void
test_table(void)
{
	const struct remedy	*r;
	size_t			 i;

	/* a missing image: the rollback, else the registry's closest tag */
	r = remedy_find("ImagePullBackOff", "StatefulSet");
	CHECK(r != NULL && r->build == remedy_revision_or_tag);
	CHECK_STR(r ? r->family : NULL, "revision-rollback");
	r = remedy_find("CrashLoopBackOff", "DaemonSet");
	CHECK(r != NULL && r->build == remedy_rollback_revision);
	r = remedy_find("ErrImagePull", "Deployment");
	CHECK(r != NULL && r->build == remedy_rollback_or_tag);
	r = remedy_find("OOMKilled", "StatefulSet");
	CHECK(r != NULL && r->build == remedy_memory_raise);
	r = remedy_find("ImagePullBackOff", "Pod");
	CHECK(r != NULL && r->build == remedy_image_tag);
	CHECK(remedy_find("CrashLoopBackOff", "Pod") == NULL);
	CHECK(remedy_find("ProgressDeadlineExceeded", "StatefulSet") == NULL);
	CHECK(remedy_find("Unschedulable", "Pod") == NULL);
	r = remedy_find("Unschedulable", "DaemonSet");
	CHECK(r != NULL && r->build == remedy_node_selector);
	/* every row names a kind remedy_api_path() knows */
	for (i = 0; i < remedies_count; i++) {
		char buf[256];

		CHECK(remedy_api_path(remedies_table[i].kind, "n", "x", buf,
		    sizeof(buf)) == 0);
	}
	/* at the version discovery chose, or the kind's own */
	{
		char buf[256], tiny[16];

		CHECK(remedy_api_path_at("CronJob", "/apis/batch/v1beta1",
		    "demo", "backup", buf, sizeof(buf)) == 0);
		CHECK(strcmp(buf, "/apis/batch/v1beta1/namespaces/demo/"
		    "cronjobs/backup") == 0);
		CHECK(remedy_api_path_at("Service", NULL, "demo", "cart", buf,
		    sizeof(buf)) == 0);
		CHECK(strcmp(buf, "/api/v1/namespaces/demo/services/cart") ==
		    0);
		CHECK(remedy_api_path_at("ReplicaSet", NULL, "demo", "web-1",
		    buf, sizeof(buf)) == 0);
		CHECK(remedy_api_path_at("Secret", NULL, "demo", "x", buf,
		    sizeof(buf)) == -1);
		CHECK(remedy_api_path_at("Deployment", NULL, "demo", "web",
		    tiny, sizeof(tiny)) == -2);
	}
}

static void
test_revision_rollback(void)
{
	struct incidents	 incs;
	struct incident		*inc;
	struct diag_input	 in;
	struct proposal		 p;
	struct kobj		*cr[4];
	const struct kobj	*crp[4];
	json_t			*owner, *want;
	size_t			 i;

	make_incident(&incs, "StatefulSet", "db", "ImagePullBackOff", &inc);
	owner = owner_json("StatefulSet", "nginx:1.25-typo", "db-bad");
	/* revisions 1 (old), 2 (good), 3 (bad, current), and one owned by
	 * another object with a higher number */
	cr[0] = revision("db-old", 1, "nginx:1.24", "uid-owner");
	cr[1] = revision("db-good", 2, "nginx:1.25", "uid-owner");
	cr[2] = revision("db-bad", 3, "nginx:1.25-typo", "uid-owner");
	cr[3] = revision("other", 9, "busybox:1", "uid-other");
	for (i = 0; i < 4; i++) {
		CHECK(cr[i] != NULL);
		crp[i] = cr[i];
	}
	memset(&in, 0, sizeof(in));
	in.inc = inc;
	in.owner = owner;
	in.revs = crp;
	in.nrevs = 4;
	CHECK(rules_diagnose(&in, &p) == 0);
	want = json_pack("[{s:s,s:s,s:I},{s:s,s:s,s:s},{s:s,s:s,s:s}]",
	    "op", "test", "path", "/metadata/generation", "value",
	    (json_int_t)4, "op", "test", "path",
	    "/spec/template/spec/containers/0/image", "value",
	    "nginx:1.25-typo", "op", "replace", "path",
	    "/spec/template/spec/containers/0/image", "value", "nginx:1.25");
	CHECK(p.patch != NULL && json_equal(p.patch, want));
	json_decref(want);
	CHECK_STR(p.summary, "Roll back StatefulSet demo/db to revision 2: "
	    "nginx:1.25-typo -> nginx:1.25");
	CHECK_STR(p.api_path, "/apis/apps/v1/namespaces/demo/statefulsets/db");
	CHECK(p.root_cause != NULL && strstr(p.root_cause, "Revision 3 "
	    "(ControllerRevision db-bad)") != NULL);
	proposal_clear(&p);
	/* OrderedReady (the default): the forced rollback is named */
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.root_cause != NULL && strstr(p.root_cause, "forced rollback")
	    != NULL);
	proposal_clear(&p);
	json_object_set_new(json_object_get(owner, "spec"),
	    "podManagementPolicy", json_string("Parallel"));
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.root_cause != NULL && strstr(p.root_cause, "forced rollback")
	    == NULL);
	proposal_clear(&p);

	/* updateRevision names the current one, even when it is not the
	 * highest: the previous is the highest below it */
	json_object_set_new(json_object_get(owner, "status"),
	    "updateRevision", json_string("db-good"));
	json_array_set_new(json_at(owner, "spec.template.spec.containers"), 0,
	    json_pack("{s:s, s:s}", "name", "web", "image", "nginx:1.25"));
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch != NULL && strcmp(json_str_at(json_array_get(p.patch,
	    2), "value"), "nginx:1.24") == 0);
	proposal_clear(&p);

	/* a DaemonSet has no updateRevision: the highest is current */
	incidents_clear(&incs);
	make_incident(&incs, "DaemonSet", "db", "ErrImagePull", &inc);
	json_decref(owner);
	owner = owner_json("DaemonSet", "nginx:1.25-typo", NULL);
	in.inc = inc;
	in.owner = owner;
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch != NULL && strstr(p.summary, "Roll back DaemonSet "
	    "demo/db to revision 2") != NULL);
	CHECK_STR(p.api_path, "/apis/apps/v1/namespaces/demo/daemonsets/db");
	proposal_clear(&p);

	/* only the current revision: explained, no patch */
	in.nrevs = 1;
	crp[0] = cr[2];
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "has no revision before 3")
	    != NULL);
	proposal_clear(&p);
	/* the previous revision runs the same image: explained */
	crp[0] = cr[1];
	crp[1] = cr[2];
	in.nrevs = 2;
	json_array_set_new(json_at(owner, "spec.template.spec.containers"), 0,
	    json_pack("{s:s, s:s}", "name", "web", "image", "nginx:1.25"));
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "uses the same images") !=
	    NULL);
	proposal_clear(&p);
	/* the owner could not be read: explained */
	in.owner = NULL;
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "could not be read") !=
	    NULL);
	proposal_clear(&p);

	incidents_clear(&incs);
	json_decref(owner);
	for (i = 0; i < 4; i++)
		kobj_free(cr[i]);
}

static void
test_memory_statefulset(void)
{
	struct incidents	 incs;
	struct incident		*inc;
	struct diag_input	 in;
	struct proposal		 p;
	json_t			*owner, *pod;

	make_incident(&incs, "StatefulSet", "db", "OOMKilled", &inc);
	owner = owner_json("StatefulSet", "redis:7", NULL);
	pod = json_pack("{s:{s:[{s:s, s:{s:{s:s}}}]}}", "status",
	    "containerStatuses", "name", "web", "lastState", "terminated",
	    "reason", "OOMKilled");
	memset(&in, 0, sizeof(in));
	in.inc = inc;
	in.owner = owner;
	in.pod = pod;
	in.mem_factor = 2;
	in.mem_ceiling = 1LL << 30;
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch != NULL);
	CHECK_STR(p.summary, "Raise the memory limit of container web of "
	    "StatefulSet demo/db: 256Mi -> 512Mi");
	CHECK_STR(p.api_path, "/apis/apps/v1/namespaces/demo/statefulsets/db");
	CHECK_STR(p.risk, "medium");
	proposal_clear(&p);
	incidents_clear(&incs);
	json_decref(owner);
	json_decref(pod);
}

static void
test_bare_pod(void)
{
	struct incidents	 incs;
	struct incident		*inc;
	struct diag_input	 in;
	struct proposal		 p;
	struct normalized	 nz;
	json_t			*pod, *prop;
	char			 err[256];

	make_incident(&incs, "Pod", "solo", "ImagePullBackOff", &inc);
	memset(&in, 0, sizeof(in));
	in.inc = inc;
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "Pod demo/solo has no "
	    "controller") != NULL);
	proposal_clear(&p);
	incidents_clear(&incs);

	/* a Pod has no generation: its patch and inverse test the uid */
	pod = json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:[{s:s, s:s}]}}",
	    "kind", "Pod", "metadata", "name", "solo", "namespace", "demo",
	    "uid", "uid-solo", "spec", "containers", "name", "app", "image",
	    "nginx:1.25-typo");
	prop = json_pack("[{s:s, s:s, s:s}]", "op", "replace", "path",
	    "/spec/containers/0/image", "value", "nginx:1.25");
	CHECK(normalize_proposal(pod, prop, &nz, err, sizeof(err)) == 0);
	CHECK_STR(json_str_at(json_array_get(nz.patch, 0), "path"),
	    "/metadata/uid");
	CHECK_STR(json_str_at(json_array_get(nz.patch, 0), "value"),
	    "uid-solo");
	CHECK_STR(json_str_at(json_array_get(nz.inverse, 0), "path"),
	    "/metadata/uid");
	normalized_clear(&nz);
	/* any other kind without a generation is still refused */
	json_object_set_new(pod, "kind", json_string("StatefulSet"));
	CHECK(normalize_proposal(pod, prop, &nz, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no metadata.generation") != NULL);
	json_decref(pod);
	json_decref(prop);
}

/* A workload as listed: kind, matchLabels, one container with port
 * (number, name or NULL). */
static json_t *
workload(const char *kind, const char *name, const char *app, int port,
    const char *pname)
{
	json_t *w, *cp;

	cp = json_pack("{s:i}", "containerPort", port);
	if (pname != NULL)
		json_object_set_new(cp, "name", json_string(pname));
	w = json_pack("{s:s, s:{s:s, s:s}, s:{s:{s:{s:s}}, s:{s:{s:{s:s}},"
	    " s:{s:[{s:s, s:[o]}]}}}}", "kind", kind, "metadata", "name", name,
	    "namespace", "demo", "spec", "selector", "matchLabels", "app", app,
	    "template", "metadata", "labels", "app", app, "spec", "containers",
	    "name", "c", "ports", cp);
	return w;
}

static void
test_service_selector(void)
{
	struct incidents	 incs;
	struct incident		*inc;
	struct diag_input	 in;
	struct proposal		 p;
	struct normalized	 nz;
	json_t			*svc, *wls, *op, *one;
	char			 cause[1024] = "", err[256];

	make_incident(&incs, "Service", "checkout", "NoMatchingPods", &inc);
	CHECK(remedy_find("NoMatchingPods", "Service") != NULL);
	svc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:{s:s}, s:[{s:i, s:s,"
	    " s:s}]}}", "kind", "Service", "metadata", "name", "checkout",
	    "namespace", "demo", "uid", "uid-svc", "spec", "selector", "app",
	    "chekout", "ports", "port", 80, "targetPort", "http", "protocol",
	    "TCP");
	/* web serves "http"; api serves 9090 only; db, a port named http
	 * but selected by matchExpressions, is told apart below */
	wls = json_pack("[o, o]",
	    workload("Deployment", "checkout", "checkout", 8080, "http"),
	    workload("StatefulSet", "api", "api", 9090, NULL));
	memset(&in, 0, sizeof(in));
	in.inc = inc;
	in.owner = svc;
	in.workloads = wls;
	memset(&p, 0, sizeof(p));
	CHECK(remedy_service_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch != NULL);
	CHECK_STR(p.risk, "medium");
	CHECK_STR(p.api_path, "/api/v1/namespaces/demo/services/checkout");
	op = json_array_get(p.patch, 0);
	CHECK_STR(json_str_at(op, "op"), "test");
	CHECK_STR(json_str_at(op, "value.app"), "chekout");
	op = json_array_get(p.patch, 1);
	CHECK_STR(json_str_at(op, "op"), "replace");
	CHECK_STR(json_str_at(op, "path"), "/spec/selector");
	CHECK_STR(json_str_at(op, "value.app"), "checkout");
	CHECK(strstr(p.summary, "Deployment checkout") != NULL);
	CHECK(strstr(cause, "only workload") != NULL);
	/* normalised against the Service as read: a uid guard (a Service
	 * has no generation), and an inverse restoring the old selector */
	one = json_pack("[O]", json_array_get(p.patch, 1));
	CHECK(normalize_proposal(svc, one, &nz, err, sizeof(err)) == 0);
	json_decref(one);
	CHECK_STR(json_str_at(json_array_get(nz.patch, 0), "path"),
	    "/metadata/uid");
	op = json_array_get(nz.inverse, json_array_size(nz.inverse) - 1);
	CHECK_STR(json_str_at(op, "path"), "/spec/selector/app");
	CHECK_STR(json_str_at(op, "value"), "chekout");
	normalized_clear(&nz);
	proposal_clear(&p);

	/* not every workload read: one candidate is not "the only one" */
	in.workloads_partial = 1;
	memset(&p, 0, sizeof(p));
	CHECK(remedy_service_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "may not be the only "
	    "one") != NULL);
	proposal_clear(&p);
	in.workloads_partial = 0;

	/* a numeric targetPort fits a containerPort of that number, and of
	 * the same protocol only */
	json_object_set_new(json_array_get(json_at(svc, "spec.ports"), 0),
	    "targetPort", json_integer(9090));
	memset(&p, 0, sizeof(p));
	cause[0] = '\0';
	CHECK(remedy_service_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch != NULL && strstr(p.summary, "StatefulSet api") !=
	    NULL);
	proposal_clear(&p);
	json_object_set_new(json_array_get(json_at(svc, "spec.ports"), 0),
	    "protocol", json_string("UDP"));
	memset(&p, 0, sizeof(p));
	CHECK(remedy_service_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "no workload") != NULL);
	proposal_clear(&p);
	json_object_set_new(json_array_get(json_at(svc, "spec.ports"), 0),
	    "protocol", json_string("TCP"));

	/* two workloads serve the port: no patch, both named */
	json_array_append_new(wls, workload("DaemonSet", "api-node", "apin",
	    9090, NULL));
	memset(&p, 0, sizeof(p));
	cause[0] = '\0';
	CHECK(remedy_service_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "2 workloads") != NULL);
	CHECK(strstr(p.summary, "StatefulSet api, DaemonSet api-node") !=
	    NULL);
	CHECK(strstr(cause, "judgment call") != NULL);
	proposal_clear(&p);

	/* the one candidate selects by matchExpressions: explained */
	json_array_remove(wls, 2);
	json_object_set_new(json_at(json_array_get(wls, 1), "spec.selector"),
	    "matchExpressions", json_pack("[{s:s, s:s, s:[s]}]", "key", "app",
	    "operator", "In", "values", "api"));
	memset(&p, 0, sizeof(p));
	CHECK(remedy_service_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "matchExpressions") !=
	    NULL);
	proposal_clear(&p);

	/* the Service could not be read */
	in.owner = NULL;
	memset(&p, 0, sizeof(p));
	CHECK(remedy_service_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "could not be read") !=
	    NULL);
	proposal_clear(&p);
	json_decref(wls);
	json_decref(svc);
	incidents_clear(&incs);
}

static json_t *
node(const char *name, const char *disk, const char *cpu, const char *mem)
{
	json_t *n;

	n = json_pack("{s:s, s:{s:{s:s}}, s:{s:{s:s, s:s}}}", "name", name,
	    "metadata", "labels", "kubernetes.io/hostname", name, "status",
	    "allocatable", "cpu", cpu, "memory", mem);
	if (disk != NULL)
		json_object_set_new(json_at(n, "metadata.labels"), "disktype",
		    json_string(disk));
	return n;
}

static json_t *
sched_owner(json_t *sel, const char *cpu, const char *mem)
{
	json_t *o;

	o = json_pack("{s:s, s:{s:s, s:s, s:I}, s:{s:{s:{s:o, s:[{s:s, s:s,"
	    " s:{s:{s:s, s:s}}}]}}}}", "kind", "Deployment", "metadata", "name",
	    "web", "namespace", "demo", "generation", (json_int_t)2, "spec",
	    "template", "spec", "nodeSelector", sel, "containers", "name",
	    "web", "image", "nginx:1.25", "resources", "requests", "cpu", cpu,
	    "memory", mem);
	return o;
}

static void
test_node_selector(void)
{
	struct incidents	 incs;
	struct incident		*inc;
	struct diag_input	 in;
	struct proposal		 p;
	json_t			*nodes, *op;
	char			 cause[2048];

	make_incident(&incs, "Deployment", "web", "Unschedulable", &inc);
	nodes = json_pack("[o, o, o]", node("node-a", "ssd", "4", "8Gi"),
	    node("node-b", "hdd", "2", "4Gi"), node("node-c", NULL, "2",
	    "4Gi"));
	memset(&in, 0, sizeof(in));
	in.inc = inc;
	in.nodes = nodes;

	/* a typo: disktype=ssdd, nodes carry ssd and hdd: ssd is closest */
	in.owner = sched_owner(json_pack("{s:s}", "disktype", "ssdd"),
	    "500m", "256Mi");
	memset(&p, 0, sizeof(p));
	cause[0] = '\0';
	CHECK(remedy_node_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch != NULL);
	CHECK_STR(p.risk, "medium");
	op = json_array_get(p.patch, 1);
	CHECK_STR(json_str_at(op, "op"), "replace");
	CHECK_STR(json_str_at(op, "path"),
	    "/spec/template/spec/nodeSelector/disktype");
	CHECK_STR(json_str_at(op, "value"), "ssd");
	CHECK(strstr(cause, "disktype=ssdd matches no node") != NULL);
	proposal_clear(&p);
	json_decref(in.owner);

	/* a key no node carries: removed, risk high; its '/' escaped */
	in.owner = sched_owner(json_pack("{s:s, s:s}", "disktype", "ssd",
	    "example.com/gpu", "a100"), "500m", "256Mi");
	memset(&p, 0, sizeof(p));
	cause[0] = '\0';
	CHECK(remedy_node_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch != NULL);
	CHECK_STR(p.risk, "high");
	CHECK(json_array_size(p.patch) == 2);
	op = json_array_get(p.patch, 1);
	CHECK_STR(json_str_at(op, "op"), "remove");
	CHECK_STR(json_str_at(op, "path"),
	    "/spec/template/spec/nodeSelector/example.com~1gpu");
	CHECK(json_object_get(op, "value") == NULL);
	CHECK(strstr(cause, "risk high") != NULL);
	proposal_clear(&p);
	json_decref(in.owner);

	/* each entry met by some node, never together: explained */
	in.owner = sched_owner(json_pack("{s:s, s:s}", "disktype", "ssd",
	    "kubernetes.io/hostname", "node-b"), "500m", "256Mi");
	memset(&p, 0, sizeof(p));
	cause[0] = '\0';
	CHECK(remedy_node_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "each of its entries") !=
	    NULL);
	proposal_clear(&p);
	json_decref(in.owner);

	/* requests larger than every node: the numbers, no patch */
	in.owner = sched_owner(json_pack("{s:s}", "disktype", "ssdd"), "8",
	    "256Mi");
	memset(&p, 0, sizeof(p));
	cause[0] = '\0';
	CHECK(remedy_node_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "requests 8000m of cpu") != NULL);
	CHECK(strstr(p.summary, "4000m (node node-a)") != NULL);
	proposal_clear(&p);
	json_decref(in.owner);
	in.owner = sched_owner(json_pack("{}"), "1", "16Gi");
	memset(&p, 0, sizeof(p));
	CHECK(remedy_node_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "16384Mi of memory") !=
	    NULL && strstr(p.summary, "8192Mi") != NULL);
	proposal_clear(&p);
	json_decref(in.owner);

	/* a cordoned node does not count */
	json_object_set_new(json_array_get(nodes, 0), "spec",
	    json_pack("{s:b}", "unschedulable", 1));
	in.owner = sched_owner(json_pack("{s:s}", "disktype", "ssd"), "1",
	    "1Gi");
	memset(&p, 0, sizeof(p));
	CHECK(remedy_node_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch != NULL);
	CHECK_STR(json_str_at(json_array_get(p.patch, 1), "value"), "hdd");
	proposal_clear(&p);
	json_decref(in.owner);

	/* one required term no node meets: its In value becomes the closest
	 * one nodes carry (node-a is cordoned: hdd) */
	in.owner = sched_owner(json_pack("{}"), "1", "1Gi");
	json_object_set_new(json_at(in.owner, "spec.template.spec"),
	    "affinity", json_pack("{s:{s:{s:[{s:[{s:s, s:s, s:[s]}]}]}}}",
	    "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
	    "nodeSelectorTerms", "matchExpressions", "key", "disktype",
	    "operator", "In", "values", "nvme"));
	memset(&p, 0, sizeof(p));
	cause[0] = '\0';
	CHECK(remedy_node_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch != NULL);
	CHECK_STR(p.risk, "medium");
	CHECK_STR(json_str_at(json_array_get(p.patch, 1), "path"),
	    "/spec/template/spec/affinity/nodeAffinity/requiredDuring"
	    "SchedulingIgnoredDuringExecution/nodeSelectorTerms/0/"
	    "matchExpressions/0/values/0");
	CHECK_STR(json_str_at(json_array_get(p.patch, 0), "value"), "nvme");
	CHECK_STR(json_str_at(json_array_get(p.patch, 1), "value"), "hdd");
	CHECK(strstr(p.summary, "Correct the required node affinity") != NULL);
	proposal_clear(&p);
	json_decref(in.owner);

	/* a key no node carries: the expression goes, and with it the empty
	 * term: the required affinity is removed, risk high */
	in.owner = sched_owner(json_pack("{}"), "1", "1Gi");
	json_object_set_new(json_at(in.owner, "spec.template.spec"),
	    "affinity", json_pack("{s:{s:{s:[{s:[{s:s, s:s, s:[s]}]}]}}}",
	    "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
	    "nodeSelectorTerms", "matchExpressions", "key",
	    "topology.kubernetes.io/zone", "operator", "In", "values", "eu-1"));
	memset(&p, 0, sizeof(p));
	cause[0] = '\0';
	CHECK(remedy_node_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch != NULL);
	CHECK_STR(p.risk, "high");
	CHECK_INT(json_array_size(p.patch), 2);
	CHECK_STR(json_str_at(json_array_get(p.patch, 1), "op"), "remove");
	CHECK_STR(json_str_at(json_array_get(p.patch, 1), "path"),
	    "/spec/template/spec/affinity/nodeAffinity/requiredDuring"
	    "SchedulingIgnoredDuringExecution");
	CHECK(strstr(cause, "risk high") != NULL);
	proposal_clear(&p);
	json_decref(in.owner);

	/* not an In expression: explained, per term */
	in.owner = sched_owner(json_pack("{}"), "1", "1Gi");
	json_object_set_new(json_at(in.owner, "spec.template.spec"),
	    "affinity", json_pack("{s:{s:{s:[{s:[{s:s, s:s, s:[s]}]}]}}}",
	    "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
	    "nodeSelectorTerms", "matchExpressions", "key", "cpu-gen",
	    "operator", "Gt", "values", "5"));
	memset(&p, 0, sizeof(p));
	cause[0] = '\0';
	CHECK(remedy_node_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "required node affinity") != NULL);
	CHECK(strstr(cause, "term 1: cpu-gen Gt [5] holds on no node, which "
	    "carry no label cpu-gen") != NULL);
	proposal_clear(&p);
	/* a term some node meets: not the affinity */
	json_array_append_new(json_at(in.owner, "spec.template.spec.affinity."
	    "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
	    "nodeSelectorTerms"), json_pack("{s:[{s:s, s:s}]}",
	    "matchExpressions", "key", "disktype", "operator", "Exists"));
	memset(&p, 0, sizeof(p));
	CHECK(remedy_node_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "some node meets") !=
	    NULL);
	proposal_clear(&p);
	json_decref(in.owner);

	/* no Node known: explained */
	in.nodes = NULL;
	in.owner = sched_owner(json_pack("{s:s}", "disktype", "x"), "1",
	    "1Gi");
	memset(&p, 0, sizeof(p));
	CHECK(remedy_node_selector(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "no Node is known") !=
	    NULL);
	proposal_clear(&p);
	json_decref(in.owner);
	json_decref(nodes);
	incidents_clear(&incs);
}

static void
test_storage_class(void)
{
	struct incidents	 incs;
	struct incident		*inc;
	struct diag_input	 in;
	struct proposal		 p;
	json_t			*classes;
	char			 cause[2048];

	make_incident(&incs, "PersistentVolumeClaim", "data",
	    "ProvisioningFailed", &inc);
	classes = json_pack("[{s:s, s:s, s:{s:{s:s}}}, {s:s, s:s}]", "name",
	    "standard", "provisioner", "rancher.io/local-path", "metadata",
	    "annotations", "storageclass.kubernetes.io/is-default-class",
	    "true", "name", "fast-ssd", "provisioner", "pd.csi.storage.gke.io");
	memset(&in, 0, sizeof(in));
	in.inc = inc;
	in.storageclasses = classes;
	in.owner = json_pack("{s:s, s:{s:s}}", "kind", "PersistentVolumeClaim",
	    "spec", "storageClassName", "fast");
	memset(&p, 0, sizeof(p));
	cause[0] = '\0';
	CHECK(remedy_storage_class(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "StorageClass fast does not exist") != NULL);
	CHECK(strstr(p.summary, "exist: fast-ssd, standard") != NULL);
	CHECK(strstr(p.summary, "the default class: standard") != NULL);
	CHECK(strstr(cause, "cannot be changed") != NULL);
	proposal_clear(&p);
	json_decref(in.owner);

	/* the class exists: the provisioner's words are the evidence */
	in.owner = json_pack("{s:{s:s}}", "spec", "storageClassName",
	    "fast-ssd");
	memset(&p, 0, sizeof(p));
	CHECK(remedy_storage_class(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "fast-ssd exists") !=
	    NULL);
	proposal_clear(&p);
	json_decref(in.owner);

	/* no class named and no default */
	json_object_del(json_array_get(classes, 0), "metadata");
	in.owner = json_pack("{s:{}}", "spec");
	memset(&p, 0, sizeof(p));
	CHECK(remedy_storage_class(&in, &p, cause, sizeof(cause)) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "no class is the "
	    "default") != NULL);
	proposal_clear(&p);
	json_decref(in.owner);
	json_decref(classes);
	incidents_clear(&incs);
}

/* A command the image lacks: explained by the rules, never patched. */
static void
test_command_not_found(void)
{
	struct incidents	 incs;
	struct incident		*inc;
	struct diag_input	 in;
	struct proposal		 p;

	make_incident(&incs, "Deployment", "web", "CrashLoopBackOff", &inc);
	memset(&in, 0, sizeof(in));
	in.inc = inc;
	in.owner = json_pack("{s:s, s:{s:{s:{s:[{s:s, s:s, s:[s, s]}]}}}}",
	    "kind", "Deployment", "spec", "template", "spec", "containers",
	    "name", "web", "image", "nginx:1.25", "command", "ngnix", "-g");
	in.pod = json_pack("{s:{s:[{s:s, s:s, s:{s:{s:s, s:i, s:s}}}]}}",
	    "status", "containerStatuses", "name", "web", "image",
	    "docker.io/library/nginx:1.25", "lastState", "terminated",
	    "reason", "StartError", "exitCode", 128, "message", "failed to "
	    "create containerd task: exec: \"ngnix\": executable file not "
	    "found in $PATH: unknown");
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "Container web (image nginx:1.25) cannot "
	    "start its command: the runtime cannot find the executable "
	    "(exec: \"ngnix\": executable file not found in $PATH)") != NULL);
	CHECK(strstr(p.root_cause, "command [\"ngnix\", \"-g\"]") != NULL);
	proposal_clear(&p);

	/* a shell's 127, no override: the image's own entrypoint */
	json_decref(in.pod);
	json_object_del(json_array_get(json_at(in.owner,
	    "spec.template.spec.containers"), 0), "command");
	in.pod = json_pack("{s:{s:[{s:s, s:{s:{s:s, s:i}}}]}}", "status",
	    "containerStatuses", "name", "web", "lastState", "terminated",
	    "reason", "Error", "exitCode", 127);
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "exit code 127") != NULL);
	CHECK(strstr(p.root_cause, "image's own ENTRYPOINT/CMD") != NULL);
	proposal_clear(&p);

	/* exit code 1: not this explanation */
	json_decref(in.pod);
	in.pod = json_pack("{s:{s:[{s:s, s:{s:{s:s, s:i}}}]}}", "status",
	    "containerStatuses", "name", "web", "lastState", "terminated",
	    "reason", "Error", "exitCode", 1);
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(strstr(p.summary, "cannot start its command") == NULL);
	proposal_clear(&p);
	json_decref(in.pod);
	json_decref(in.owner);
	incidents_clear(&incs);
}

static void
test_stamp(void)
{
	json_t	*obj, *patch, *pre, *st;

	/* no annotations: the stamp adds the whole map; made with id 0 when
	 * proposed, the store sets the id in place */
	obj = json_pack("{s:s, s:{s:s, s:s}}", "kind", "Pod", "metadata",
	    "name", "solo", "uid", "u");
	patch = json_pack("[{s:s, s:s, s:s}]", "op", "replace", "path",
	    "/spec/x", "value", "y");
	pre = normalize_stamp(patch, obj, 0);
	CHECK(pre != NULL && json_array_size(pre) == 2);
	CHECK_STR(json_str_at(json_array_get(pre, 1), "path"),
	    "/metadata/annotations");
	st = normalize_stamp(pre, NULL, 42);
	CHECK(st != NULL && json_array_size(st) == 2);
	CHECK_STR(json_string_value(json_object_get(json_object_get(
	    json_array_get(st, 1), "value"), "remedy.dev/action-id")), "42");
	json_decref(st);
	json_decref(pre);
	json_decref(patch);
	json_decref(obj);
}

int
main(void)
{
	test_table();
	test_revision_rollback();
	test_memory_statefulset();
	test_bare_pod();
	test_service_selector();
	test_node_selector();
	test_storage_class();
	test_command_not_found();
	test_stamp();
	return T_DONE();
}
