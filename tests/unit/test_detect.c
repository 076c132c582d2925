/*
 * Detection, grouping and the rules backend on projections built from real
 * API-shaped JSON: analyzers, incidents (50 pods -> 1 incident), rollback
 * patch construction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/incident.h"
#include "base/jsonpatch.h"
#include "base/util.h"
#include "diagnose/diagnose.h"
#include "kube/objects.h"
#include "t.h"

static json_t *
pod_json(const char *name, const char *rs, const char *reason,
    const char *image)
{
	json_t *p;

	p = json_pack("{s:{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:b}]},"
	    " s:{s:s}, s:{s:s}}",
	    "metadata", "name", name, "namespace", "demo", "uid", name,
	    "resourceVersion", "5", "ownerReferences", "kind", "ReplicaSet",
	    "name", rs, "uid", rs, "controller", 1,
	    "spec", "nodeName", "node-a",
	    "status", "phase", reason ? "Pending" : "Running");
	if (reason != NULL)
		json_object_set_new(json_object_get(p, "status"),
		    "containerStatuses", json_pack("[{s:s, s:s, s:b, s:i, "
		    "s:{s:{s:s, s:s}}}]", "name", "nginx", "image", image,
		    "ready", 0, "restartCount", 0, "state", "waiting",
		    "reason", reason, "message", "Back-off pulling image"));
	else
		json_object_set_new(json_object_get(p, "status"),
		    "containerStatuses", json_pack("[{s:s, s:s, s:b, s:i, "
		    "s:{s:{}}}]", "name", "nginx", "image", image, "ready", 1,
		    "restartCount", 0, "state", "running"));
	return p;
}

static void
test_analyzer(void)
{
	struct finding	 f;
	struct kpod	*p;
	json_t		*j;
	const char	*pulls[] = { "ErrImagePull", "ImagePullBackOff" };
	size_t		 i;

	for (i = 0; i < 2; i++) {
		j = pod_json("web-1", "web-abc", pulls[i], "nginx:1.27-typo");
		p = kobj_pod_project(j);
		CHECK(p != NULL);
		CHECK_INT(analyze_pod(p, &f), 1);
		CHECK_STR(f.analyzer, "image-pull");
		CHECK_STR(f.reason, "ImagePullBackOff");
		CHECK_STR(f.image, "nginx:1.27-typo");
		CHECK(strstr(f.detail, pulls[i]) != NULL);
		CHECK(strstr(f.detail, "pod demo/web-1") != NULL);
		kobj_pod_free(p);
		json_decref(j);
	}
	j = pod_json("web-1", "web-abc", "InvalidImageName", "NGINX::bad");
	p = kobj_pod_project(j);
	CHECK_INT(analyze_pod(p, &f), 1);
	CHECK_STR(f.reason, "InvalidImageName");
	kobj_pod_free(p);
	json_decref(j);

	/* Negative: running, CrashLoopBackOff (another analyzer's), no
	 * statuses at all, and a pod being deleted. */
	j = pod_json("web-1", "web-abc", NULL, "nginx:1.25");
	p = kobj_pod_project(j);
	CHECK_INT(analyze_pod(p, &f), 0);
	kobj_pod_free(p);
	json_decref(j);
	j = pod_json("web-1", "web-abc", "CrashLoopBackOff", "nginx:1.25");
	p = kobj_pod_project(j);
	CHECK_INT(analyze_pod(p, &f), 1);	/* the crashloop analyzer's */
	CHECK_STR(f.analyzer, "crashloop");
	kobj_pod_free(p);
	json_decref(j);
	j = pod_json("web-1", "web-abc", "ImagePullBackOff", "x:1");
	json_object_set_new(json_object_get(j, "metadata"),
	    "deletionTimestamp", json_string("2026-11-27T00:00:00Z"));
	p = kobj_pod_project(j);
	CHECK_INT(analyze_pod(p, &f), 0);
	kobj_pod_free(p);
	json_decref(j);

	/* An object without a namespace cannot be keyed. */
	j = json_pack("{s:{s:s}}", "metadata", "name", "x");
	CHECK(kobj_pod_project(j) == NULL);
	json_decref(j);
}

static void
test_incidents(void)
{
	struct incidents	 is;
	struct incident		*inc;
	struct finding		 f;
	struct root_owner	 web = { "Deployment", "demo", "web", "u1" };
	struct root_owner	 api = { "Deployment", "demo", "api", "u2" };
	char			 name[32];
	size_t			 pos = 0, n = 0;
	int			 i;

	incidents_init(&is);
	memset(&f, 0, sizeof(f));
	f.analyzer = "image-pull";
	snprintf(f.reason, sizeof(f.reason), "ImagePullBackOff");
	snprintf(f.image, sizeof(f.image), "nginx:1.27-typo");
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "web-%d", i);
		snprintf(f.detail, sizeof(f.detail), "pod demo/%s", name);
		CHECK_INT(incidents_pod(&is, "demo", name, &f, &web, 1000 + i),
		    0);
	}
	/* The same pod seen again does not count twice. */
	CHECK_INT(incidents_pod(&is, "demo", "web-0", &f, &web, 2000), 0);
	while (incidents_next(&is, &pos, &inc))
		n++;
	CHECK_INT(n, 1);
	inc = incidents_get(&is,
	    "image-pull/demo/Deployment/web/ImagePullBackOff");
	CHECK(inc != NULL);
	CHECK_INT(incident_pods(inc), 50);
	CHECK_INT(inc->first_seen, 1000);
	CHECK_STR(inc->image, "nginx:1.27-typo");

	/* A pod of another Deployment is another incident. */
	CHECK_INT(incidents_pod(&is, "demo", "api-0", &f, &api, 3000), 0);
	CHECK(incidents_get(&is,
	    "image-pull/demo/Deployment/api/ImagePullBackOff") != NULL);
	CHECK_INT(incident_pods(inc), 50);

	/* Healing pods leave; the incident empties. */
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "web-%d", i);
		CHECK_INT(incidents_pod(&is, "demo", name, NULL, NULL, 4000),
		    0);
	}
	CHECK_INT(incident_pods(inc), 0);
	incidents_drop(&is, inc);
	CHECK(incidents_get(&is,
	    "image-pull/demo/Deployment/web/ImagePullBackOff") == NULL);
	/* A pod that moves to another reason changes incident. */
	snprintf(f.reason, sizeof(f.reason), "InvalidImageName");
	CHECK_INT(incidents_pod(&is, "demo", "api-0", &f, &api, 5000), 0);
	inc = incidents_get(&is,
	    "image-pull/demo/Deployment/api/ImagePullBackOff");
	CHECK(inc != NULL && incident_pods(inc) == 0);
	inc = incidents_get(&is,
	    "image-pull/demo/Deployment/api/InvalidImageName");
	CHECK(inc != NULL && incident_pods(inc) == 1);
	incidents_clear(&is);
}

static struct kreplicaset *
rs_new(const char *name, const char *owner_uid, int rev, const char *image)
{
	json_t			*j;
	struct kreplicaset	*rs;
	char			 revs[16];

	snprintf(revs, sizeof(revs), "%d", rev);
	j = json_pack("{s:{s:s, s:s, s:s, s:{s:s}, s:[{s:s, s:s, s:s, s:b}]},"
	    " s:{s:i, s:{s:{s:[{s:s, s:s}]}}}}",
	    "metadata", "name", name, "namespace", "demo", "uid", name,
	    "annotations", "deployment.kubernetes.io/revision", revs,
	    "ownerReferences", "kind", "Deployment", "name", "web", "uid",
	    owner_uid, "controller", 1,
	    "spec", "replicas", 3, "template", "spec", "containers",
	    "name", "nginx", "image", image);
	rs = kobj_replicaset_project(j);
	json_decref(j);
	return rs;
}

static struct kdeployment *
dep_new(int rev, int gen, int paused, const char *image)
{
	json_t			*j;
	struct kdeployment	*d;
	char			 revs[16];

	snprintf(revs, sizeof(revs), "%d", rev);
	j = json_pack("{s:{s:s, s:s, s:s, s:i, s:{s:s}},"
	    " s:{s:i, s:b, s:{s:{s:[{s:s, s:s}, {s:s, s:s}]}}}}",
	    "metadata", "name", "web", "namespace", "demo", "uid", "dep-uid",
	    "generation", gen, "annotations",
	    "deployment.kubernetes.io/revision", revs,
	    "spec", "replicas", 3, "paused", paused, "template", "spec",
	    "containers", "name", "nginx", "image", image,
	    "name", "sidecar", "image", "busybox:1.36");
	d = kobj_deployment_project(j);
	json_decref(j);
	return d;
}

static void
test_rules(void)
{
	struct incidents		 is;
	struct finding			 f;
	struct root_owner		 web = { "Deployment", "demo", "web",
					     "dep-uid" };
	struct kreplicaset		*rs[3];
	const struct kreplicaset	*rsp[3];
	struct kdeployment		*d;
	struct diag_input		 in;
	struct proposal			 p;
	json_t				*obj, *res, *want;
	char				 err[256];
	int				 i;

	incidents_init(&is);
	memset(&f, 0, sizeof(f));
	f.analyzer = "image-pull";
	snprintf(f.reason, sizeof(f.reason), "ImagePullBackOff");
	snprintf(f.image, sizeof(f.image), "nginx:1.27-typo");
	snprintf(f.detail, sizeof(f.detail), "pod demo/web-2-a: container "
	    "nginx (image nginx:1.27-typo): ErrImagePull: manifest unknown");
	incidents_pod(&is, "demo", "web-2-a", &f, &web, 0);

	rs[0] = rs_new("web-1", "dep-uid", 1, "nginx:1.24");
	rs[1] = rs_new("web-2", "dep-uid", 3, "nginx:1.25");
	rs[2] = rs_new("web-3", "dep-uid", 4, "nginx:1.27-typo");
	for (i = 0; i < 3; i++)
		rsp[i] = rs[i];
	d = dep_new(4, 7, 0, "nginx:1.27-typo");

	memset(&in, 0, sizeof(in));
	in.inc = incidents_get(&is,
	    "image-pull/demo/Deployment/web/ImagePullBackOff");
	in.dep = d;
	in.rs = rsp;
	in.nrs = 3;
	CHECK_INT(rules_diagnose(&in, &p), 0);
	want = json_loads("[{\"op\":\"test\",\"path\":\"/metadata/generation\","
	    "\"value\":7},{\"op\":\"test\",\"path\":\"/spec/template/spec/"
	    "containers/0/image\",\"value\":\"nginx:1.27-typo\"},{\"op\":"
	    "\"replace\",\"path\":\"/spec/template/spec/containers/0/image\","
	    "\"value\":\"nginx:1.25\"}]", 0, NULL);
	CHECK(p.patch != NULL && json_equal(p.patch, want));
	CHECK(strstr(p.summary, "revision 3") != NULL);
	CHECK(strstr(p.root_cause, "manifest unknown") != NULL);
	CHECK(strstr(p.root_cause, "nginx:1.27-typo") != NULL);
	CHECK_STR(p.api_path, "/apis/apps/v1/namespaces/demo/deployments/web");
	CHECK_INT(json_array_size(p.changes), 1);
	CHECK_INT(json_array_size(p.evidence), 1);

	/* The patch applies to the object it was made for, and fails once
	 * the generation moved. */
	obj = json_pack("{s:{s:i}, s:{s:{s:{s:[{s:s, s:s}, {s:s, s:s}]}}}}",
	    "metadata", "generation", 7, "spec", "template", "spec",
	    "containers", "name", "nginx", "image", "nginx:1.27-typo",
	    "name", "sidecar", "image", "busybox:1.36");
	res = jsonpatch_apply(obj, p.patch, err, sizeof(err));
	CHECK(res != NULL);
	CHECK_STR(json_string_value(json_at(json_array_get(json_at(res,
	    "spec.template.spec.containers"), 0), "image")), "nginx:1.25");
	json_decref(res);
	json_object_set_new(json_object_get(obj, "metadata"), "generation",
	    json_integer(8));
	CHECK(jsonpatch_apply(obj, p.patch, err, sizeof(err)) == NULL);
	json_decref(obj);
	json_decref(want);
	proposal_clear(&p);

	/* Paused: an explanation, no patch. */
	kobj_deployment_free(d);
	d = dep_new(4, 7, 1, "nginx:1.27-typo");
	in.dep = d;
	CHECK_INT(rules_diagnose(&in, &p), 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "paused") != NULL);
	proposal_clear(&p);
	kobj_deployment_free(d);

	/* No revision before the first. */
	d = dep_new(1, 1, 0, "nginx:1.27-typo");
	in.dep = d;
	CHECK_INT(rules_diagnose(&in, &p), 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "no revision before") != NULL);
	proposal_clear(&p);
	kobj_deployment_free(d);

	/* Previous revision with the same image: nothing to restore. */
	d = dep_new(4, 7, 0, "nginx:1.25");
	in.dep = d;
	CHECK_INT(rules_diagnose(&in, &p), 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "same images") != NULL);
	proposal_clear(&p);
	kobj_deployment_free(d);

	/* Not a Deployment. */
	in.dep = NULL;
	CHECK_INT(rules_diagnose(&in, &p), 0);
	CHECK(p.patch == NULL);
	proposal_clear(&p);

	for (i = 0; i < 3; i++)
		kobj_replicaset_free(rs[i]);
	incidents_clear(&is);
}

static void
test_deployment_health(void)
{
	json_t			*j;
	struct kdeployment	*d;

	j = json_pack("{s:{s:s, s:s, s:i}, s:{s:i}, s:{s:i, s:i, s:i, s:i,"
	    " s:i}}", "metadata", "name", "web", "namespace", "demo",
	    "generation", 3, "spec", "replicas", 3, "status",
	    "observedGeneration", 3, "replicas", 3, "updatedReplicas", 3,
	    "readyReplicas", 3, "availableReplicas", 3);
	d = kobj_deployment_project(j);
	CHECK(kdeployment_healthy(d));
	d->observed_generation = 2;
	CHECK(!kdeployment_healthy(d));
	d->observed_generation = 3;
	d->st_replicas = 4;	/* an old replica still around */
	CHECK(!kdeployment_healthy(d));
	kobj_deployment_free(d);
	json_decref(j);
}

/*
 * The one-block pod projection: every field copied, labels packed and
 * matched like the jansson object they replace, repeated strings shared
 * from the pool and released with the last pod.
 */
static void
test_pod_projection(void)
{
	struct kpod	*p, *q;
	json_t		*j, *sel;
	const char	*it = NULL, *k, *v;
	int		 n = 0;

	j = pod_json("web-1", "web-abc", "ImagePullBackOff", "nginx:1.27");
	json_object_set_new(json_object_get(j, "metadata"), "labels",
	    json_pack("{s:s, s:s, s:s, s:i}", "app", "web", "tier", "front",
	    "", "empty-key", "n", 3));
	p = kobj_pod_project(j);
	CHECK(p != NULL);
	CHECK_STR(p->m.ns, "demo");
	CHECK_STR(p->m.name, "web-1");
	CHECK_STR(p->m.rv, "5");
	CHECK_STR(p->m.owner.kind, "ReplicaSet");
	CHECK_STR(p->m.owner.name, "web-abc");
	CHECK_STR(p->phase, "Pending");
	CHECK_STR(p->node, "node-a");
	CHECK(p->reason == NULL && p->sched_reason == NULL);
	CHECK_INT((int)p->nstatus, 1);
	CHECK_STR(p->st[0].name, "nginx");
	CHECK_STR(p->st[0].image, "nginx:1.27");
	CHECK_STR(p->st[0].waiting_reason, "ImagePullBackOff");
	CHECK_STR(p->st[0].waiting_message, "Back-off pulling image");
	CHECK(p->st[0].term_reason == NULL && p->st[0].last_reason == NULL);
	CHECK_STR(kpod_label(p, "app"), "web");
	CHECK_STR(kpod_label(p, "tier"), "front");
	CHECK(kpod_label(p, "n") == NULL);	/* not a string */
	CHECK(kpod_label(p, "") == NULL);
	CHECK(kpod_label(p, "ap") == NULL);
	while (kpod_label_next(p, &it, &k, &v))
		n++;
	CHECK_INT(n, 2);

	sel = json_pack("{s:s}", "app", "web");
	CHECK(kpod_selected(p, sel));
	json_object_set_new(sel, "tier", json_string("front"));
	CHECK(kpod_selected(p, sel));
	json_object_set_new(sel, "tier", json_string("back"));
	CHECK(!kpod_selected(p, sel));
	json_object_set_new(sel, "tier", json_integer(1));
	CHECK(!kpod_selected(p, sel));
	json_object_clear(sel);
	CHECK(kpod_selected(p, sel));		/* empty: every pod */
	json_object_set_new(sel, "missing", json_string("x"));
	CHECK(!kpod_selected(p, sel));

	/* A second pod shares the pooled strings, and outlives the first. */
	json_object_set_new(json_object_get(j, "metadata"), "name",
	    json_string("web-2"));
	json_object_del(json_object_get(j, "metadata"), "labels");
	q = kobj_pod_project(j);
	CHECK(q != NULL);
	CHECK(q->labels == NULL && kpod_label(q, "app") == NULL);
	CHECK(!kpod_selected(q, sel));
	CHECK(q->m.ns == p->m.ns && q->node == p->node &&
	    q->st[0].image == p->st[0].image);
	kobj_pod_free(p);
	CHECK_STR(q->m.ns, "demo");
	CHECK_STR(q->st[0].image, "nginx:1.27");
	kobj_pod_free(q);
	kobj_pod_free(NULL);
	json_decref(sel);
	json_decref(j);
}

int
main(void)
{
	test_analyzer();
	test_pod_projection();
	test_incidents();
	test_rules();
	test_deployment_health();
	return T_DONE();
}
