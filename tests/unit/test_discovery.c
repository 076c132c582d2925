/*
 * test_discovery.c - API discovery (lib/kube/discovery.h): the documents'
 * parser, the choice of a version per kind, a round against the test API
 * server in its Kubernetes 1.20 profile; the projections of both shapes of
 * the kinds served at older versions (lib/kube/objects.h); the client's
 * rate-limit lanes; an informer filtered to some namespaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/http.h"
#include "base/util.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "kube/objects.h"
#include "kubetest.h"
#include "t.h"

#define WAIT_MS	20000

static int
parse(struct discovery_set *s, const char *doc, const char *gv, char *err,
    size_t errlen)
{
	json_t	*j = json_loads(doc, 0, NULL);
	int	 rc;

	CHECK(j != NULL);
	err[0] = '\0';
	rc = discovery_parse(s, j, gv, err, errlen);
	json_decref(j);
	return rc;
}

static void
test_parse(void)
{
	struct discovery_set	s;
	char			err[512];

	discovery_set_init(&s);
	CHECK_INT(parse(&s, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"]}",
	    NULL, err, sizeof(err)), 0);
	CHECK(discovery_has_gv(&s, "v1"));
	CHECK_INT(parse(&s, "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\","
	    "\"groups\":[{\"name\":\"batch\",\"versions\":[{\"groupVersion\":"
	    "\"batch/v1\",\"version\":\"v1\"},{\"groupVersion\":"
	    "\"batch/v1beta1\",\"version\":\"v1beta1\"}],\"preferredVersion\":"
	    "{\"groupVersion\":\"batch/v1\",\"version\":\"v1\"}}]}", NULL, err,
	    sizeof(err)), 0);
	CHECK(discovery_has_gv(&s, "batch/v1"));
	CHECK(discovery_has_gv(&s, "batch/v1beta1"));
	CHECK(!discovery_has_gv(&s, "policy/v1"));
	/* only resources that may be listed and watched; no subresources */
	CHECK_INT(parse(&s, "{\"kind\":\"APIResourceList\",\"groupVersion\":"
	    "\"batch/v1beta1\",\"resources\":[{\"name\":\"cronjobs\","
	    "\"namespaced\":true,\"kind\":\"CronJob\",\"verbs\":[\"get\","
	    "\"list\",\"watch\"]},{\"name\":\"cronjobs/status\",\"verbs\":"
	    "[\"get\",\"list\",\"watch\"]},{\"name\":\"onlylist\",\"verbs\":"
	    "[\"list\"]}]}", "batch/v1beta1", err, sizeof(err)), 0);
	CHECK(discovery_has(&s, "batch/v1beta1", "cronjobs"));
	CHECK(!discovery_has(&s, "batch/v1", "cronjobs"));
	CHECK(!discovery_has(&s, "batch/v1beta1", "onlylist"));
	CHECK(!discovery_has(&s, "batch/v1beta1", "cronjobs/status"));

	/* bad documents: a message naming the field */
	CHECK_INT(parse(&s, "{\"kind\":\"APIResourceList\",\"groupVersion\":"
	    "\"batch/v1\",\"resources\":[]}", "batch/v1beta1", err,
	    sizeof(err)), -1);
	CHECK_STR(err, "APIResourceList: groupVersion is \"batch/v1\", asked "
	    "for \"batch/v1beta1\"");
	CHECK_INT(parse(&s, "{\"kind\":\"APIGroupList\",\"groups\":[{\"name\":"
	    "\"x\",\"versions\":[{\"groupVersion\":7}]}]}", NULL, err,
	    sizeof(err)), -1);
	CHECK_STR(err, "APIGroupList: groups[0].versions[0].groupVersion is "
	    "not GROUP/VERSION");
	CHECK_INT(parse(&s, "{\"kind\":\"APIResourceList\",\"groupVersion\":"
	    "\"v1\",\"resources\":[{\"name\":\"pods\"}]}", "v1", err,
	    sizeof(err)), -1);
	CHECK_STR(err, "APIResourceList v1: resources[0] has no name or no "
	    "verbs array");
	CHECK_INT(parse(&s, "{\"kind\":\"Status\",\"code\":404}", NULL, err,
	    sizeof(err)), -1);
	CHECK_STR(err, "discovery document of kind \"Status\" (expected "
	    "APIVersions, APIGroupList or APIResourceList)");
	CHECK_INT(parse(&s, "[1]", NULL, err, sizeof(err)), -1);
	CHECK_STR(err, "discovery document has no kind");
	CHECK_INT(parse(&s, "{\"kind\":\"APIVersions\",\"versions\":[\"a b\"]}",
	    NULL, err, sizeof(err)), -1);
	CHECK_STR(err, "APIVersions: versions[0] is not a version name");
	discovery_set_clear(&s);
}

static void
serve(struct discovery_set *s, const char *gv, const char *res)
{
	char key[256];

	snprintf(key, sizeof(key), "%s/%s", gv, res);
	CHECK_INT(hmap_put(&s->gvs, gv, s, NULL), 0);
	CHECK_INT(hmap_put(&s->res, key, s, NULL), 0);
}

static void
test_choose(void)
{
	struct discovery_set	s;
	char			gv[64];

	CHECK_INT(discovery_gv_of_path("/api/v1", gv, sizeof(gv)), 0);
	CHECK_STR(gv, "v1");
	CHECK_INT(discovery_gv_of_path("/apis/batch/v1beta1", gv, sizeof(gv)),
	    0);
	CHECK_STR(gv, "batch/v1beta1");
	CHECK_INT(discovery_gv_of_path("/other", gv, sizeof(gv)), -1);

	/* preference order of each kind */
	CHECK(kobj_versions(&kobj_hpas)[0] == &kobj_hpas);
	CHECK(kobj_versions(&kobj_hpas)[1] == &kobj_hpas_v2beta2);
	CHECK(kobj_versions(&kobj_hpas)[2] == &kobj_hpas_v1);
	CHECK(kobj_versions(&kobj_hpas)[3] == NULL);
	CHECK(kobj_versions(&kobj_services) == NULL);

	discovery_set_init(&s);
	/* nothing served: nothing chosen */
	CHECK(discovery_choose(&s, kobj_versions(&kobj_cronjobs)) == NULL);
	/* Kubernetes 1.20 */
	serve(&s, "batch/v1", "jobs");
	serve(&s, "batch/v1beta1", "cronjobs");
	serve(&s, "policy/v1beta1", "poddisruptionbudgets");
	serve(&s, "autoscaling/v1", "horizontalpodautoscalers");
	serve(&s, "autoscaling/v2beta2", "horizontalpodautoscalers");
	serve(&s, "discovery.k8s.io/v1beta1", "endpointslices");
	CHECK(discovery_choose(&s, kobj_versions(&kobj_cronjobs)) ==
	    &kobj_cronjobs_v1beta1);
	CHECK(discovery_choose(&s, kobj_versions(&kobj_pdbs)) ==
	    &kobj_pdbs_v1beta1);
	CHECK(discovery_choose(&s, kobj_versions(&kobj_hpas)) ==
	    &kobj_hpas_v2beta2);
	CHECK(discovery_choose(&s, kobj_versions(&kobj_endpointslices)) ==
	    &kobj_endpointslices_v1beta1);
	/* a newer server: the GA versions win */
	serve(&s, "batch/v1", "cronjobs");
	serve(&s, "autoscaling/v2", "horizontalpodautoscalers");
	CHECK(discovery_choose(&s, kobj_versions(&kobj_cronjobs)) ==
	    &kobj_cronjobs);
	CHECK(discovery_choose(&s, kobj_versions(&kobj_hpas)) == &kobj_hpas);
	discovery_set_clear(&s);
	/* only autoscaling/v1 */
	discovery_set_init(&s);
	serve(&s, "autoscaling/v1", "horizontalpodautoscalers");
	CHECK(discovery_choose(&s, kobj_versions(&kobj_hpas)) ==
	    &kobj_hpas_v1);
	discovery_set_clear(&s);
}

static struct kobj *
project(const struct informer_type *t, const char *doc)
{
	json_t		*j = json_loads(doc, 0, NULL);
	struct kobj	*o;

	CHECK(j != NULL);
	o = t->project(j);
	json_decref(j);
	return o;
}

static void
test_projections(void)
{
	struct kobj	*o;
	json_t		*c;

	/* autoscaling/v1: conditions from the annotation */
	o = project(&kobj_hpas_v1, "{\"apiVersion\":\"autoscaling/v1\","
	    "\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":"
	    "\"web\",\"namespace\":\"demo\",\"uid\":\"u1\",\"annotations\":{"
	    "\"autoscaling.alpha.kubernetes.io/conditions\":\"[{\\\"type\\\":"
	    "\\\"ScalingActive\\\",\\\"status\\\":\\\"False\\\",\\\"reason\\\":"
	    "\\\"FailedGetResourceMetric\\\"}]\"}},\"spec\":{\"minReplicas\":"
	    "2,\"maxReplicas\":10,\"targetCPUUtilizationPercentage\":80,"
	    "\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"}},"
	    "\"status\":{\"currentReplicas\":10,\"desiredReplicas\":10}}");
	CHECK(o != NULL);
	if (o != NULL) {
		CHECK_INT(json_int_at(o->f, "spec.maxReplicas", 0), 10);
		CHECK_INT(json_int_at(o->f, "status.currentReplicas", 0), 10);
		c = json_array_get(json_at(o->f, "status.conditions"), 0);
		CHECK_STR(json_str_at(c, "type"), "ScalingActive");
		CHECK_STR(json_str_at(c, "reason"), "FailedGetResourceMetric");
		CHECK(json_at(o->f, "metadata") == NULL);
		kobj_free(o);
	}
	/* a v1 annotation that is not a JSON array is ignored */
	o = project(&kobj_hpas_v1, "{\"metadata\":{\"name\":\"web\","
	    "\"namespace\":\"demo\",\"annotations\":{\"autoscaling.alpha."
	    "kubernetes.io/conditions\":\"{oops\"}},\"spec\":{\"maxReplicas\":"
	    "3}}");
	CHECK(o != NULL);
	if (o != NULL) {
		CHECK(json_at(o->f, "status.conditions") == NULL);
		CHECK_INT(json_int_at(o->f, "spec.maxReplicas", 0), 3);
		kobj_free(o);
	}
	/* v2beta2 and v2: the same fields */
	o = project(&kobj_hpas_v2beta2, "{\"metadata\":{\"name\":\"web\","
	    "\"namespace\":\"demo\"},\"spec\":{\"maxReplicas\":4,\"metrics\":"
	    "[]},\"status\":{\"conditions\":[{\"type\":\"ScalingLimited\","
	    "\"status\":\"True\"}]}}");
	CHECK(o != NULL);
	if (o != NULL) {
		CHECK_STR(json_str_at(json_array_get(json_at(o->f,
		    "status.conditions"), 0), "type"), "ScalingLimited");
		CHECK(json_at(o->f, "spec.metrics") == NULL);
		kobj_free(o);
	}
	/* discovery.k8s.io/v1beta1: topology instead of nodeName; the
	 * service label and the ready conditions are where v1 has them */
	o = project(&kobj_endpointslices_v1beta1, "{\"apiVersion\":"
	    "\"discovery.k8s.io/v1beta1\",\"metadata\":{\"name\":\"web-x\","
	    "\"namespace\":\"demo\",\"labels\":{\"kubernetes.io/service-name\":"
	    "\"web\"}},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":"
	    "[\"10.0.0.1\"],\"conditions\":{\"ready\":false},\"topology\":"
	    "{\"kubernetes.io/hostname\":\"n1\"}}]}");
	CHECK(o != NULL);
	if (o != NULL) {
		CHECK_STR(json_string_value(json_object_get(json_at(o->f,
		    "metadata.labels"), "kubernetes.io/service-name")), "web");
		CHECK(json_is_false(json_at(json_array_get(json_at(o->f,
		    "endpoints"), 0), "conditions.ready")));
		kobj_free(o);
	}
	/* policy/v1beta1 PDB and batch/v1beta1 CronJob: same paths */
	o = project(&kobj_pdbs_v1beta1, "{\"metadata\":{\"name\":\"p\","
	    "\"namespace\":\"demo\"},\"spec\":{\"minAvailable\":2},\"status\":"
	    "{\"disruptionsAllowed\":0,\"currentHealthy\":2,\"desiredHealthy\":"
	    "2,\"expectedPods\":2}}");
	CHECK(o != NULL);
	if (o != NULL) {
		CHECK_INT(json_int_at(o->f, "status.expectedPods", 0), 2);
		kobj_free(o);
	}
	o = project(&kobj_cronjobs_v1beta1, "{\"metadata\":{\"name\":\"c\","
	    "\"namespace\":\"demo\"},\"spec\":{\"schedule\":\"*/5 * * * *\","
	    "\"suspend\":true}}");
	CHECK(o != NULL);
	if (o != NULL) {
		CHECK_STR(json_str_at(o->f, "spec.schedule"), "*/5 * * * *");
		kobj_free(o);
	}
}

/* --- against the test API server --- */

struct round {
	int			done, ok;
	int			cron_v1, cron_beta, hpa_v2, hpa_beta2, hpa_v1;
	int			pdb_beta, eps_beta, pods;
	const struct informer_type *hpa;
	char			err[512];
};

static void
on_round(struct discovery *d, int ok, const struct discovery_set *s,
    const char *err, void *arg)
{
	struct round *r = arg;

	(void)d;
	r->done = 1;
	r->ok = ok;
	if (!ok) {
		snprintf(r->err, sizeof(r->err), "%s", err);
		return;
	}
	r->cron_v1 = discovery_has(s, "batch/v1", "cronjobs");
	r->cron_beta = discovery_has(s, "batch/v1beta1", "cronjobs");
	r->hpa_v2 = discovery_has(s, "autoscaling/v2",
	    "horizontalpodautoscalers");
	r->hpa_beta2 = discovery_has(s, "autoscaling/v2beta2",
	    "horizontalpodautoscalers");
	r->hpa_v1 = discovery_has(s, "autoscaling/v1",
	    "horizontalpodautoscalers");
	r->pdb_beta = discovery_has(s, "policy/v1beta1",
	    "poddisruptionbudgets");
	r->eps_beta = discovery_has(s, "discovery.k8s.io/v1beta1",
	    "endpointslices");
	r->pods = discovery_has(s, "v1", "pods");
	r->hpa = discovery_choose(s, kobj_versions(&kobj_hpas));
}

static int
round_done(void *arg)
{
	return ((struct round *)arg)->done;
}

/* Completion order of calls in two lanes. */
struct lanes {
	int	n;
	int	engine_at;	/* 1-based position of the engine's call */
};

static void
lane_informer(const struct kube_resp *r, void *arg)
{
	(void)r;
	((struct lanes *)arg)->n++;
}

static void
lane_engine(const struct kube_resp *r, void *arg)
{
	struct lanes *l = arg;

	(void)r;
	l->engine_at = ++l->n;
}

static int
lanes_done(void *arg)
{
	return ((struct lanes *)arg)->n == 7;
}

struct filtered {
	int	adds, other;
};

static void
on_filtered(struct informer *inf, enum informer_event ev, void *old,
    void *new_, void *arg)
{
	struct filtered		*f = arg;
	const struct kpod	*p = new_;

	(void)inf;
	(void)old;
	if (ev != INFORMER_ADD || p == NULL)
		return;
	f->adds++;
	if (strcmp(p->m.ns, "demo") != 0)
		f->other++;
}

static int
inf_synced(void *arg)
{
	return informer_synced(arg);
}

static void
test_server(void)
{
	static const char *const args[] = { "--profile", "v1.20",
	    "--scenario", "healthy", "--replicas", "2", NULL };
	static char *const gvs[] = { "v1", "batch/v1", "batch/v1beta1",
	    "policy/v1", "policy/v1beta1", "autoscaling/v2",
	    "autoscaling/v2beta2", "autoscaling/v1", "discovery.k8s.io/v1",
	    "discovery.k8s.io/v1beta1" };
	static char *const demo[] = { "demo" };
	struct kube_config	 kc;
	struct http		*http = NULL;
	struct kube_client	*c = NULL;
	struct discovery	*d = NULL;
	struct informer		*inf = NULL;
	struct round		 r;
	struct lanes		 l;
	struct filtered		 f;
	char			 path[512], err[512];
	int			 i;

	memset(&kc, 0, sizeof(kc));
	if (kt_start_server(args) == -1) {
		CHECK(!"test API server started");
		return;
	}
	snprintf(path, sizeof(path), "%s/kubeconfig", kt_dir);
	if (kubeconfig_load(path, NULL, &kc, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		CHECK(!"kubeconfig loaded");
		goto out;
	}
	uv_loop_init(&kt_loop);
	uv_timer_init(&kt_loop, &kt_deadline);
	http = http_new(&kt_loop);
	CHECK(http != NULL);
	c = kube_client_new(http, &kc, err, sizeof(err));
	CHECK(c != NULL);
	if (http == NULL || c == NULL)
		goto teardown;

	/* one round: the versions Kubernetes 1.20 serves */
	memset(&r, 0, sizeof(r));
	d = discovery_new(c, gvs, sizeof(gvs) / sizeof(gvs[0]), on_round, &r);
	CHECK(d != NULL);
	if (d == NULL)
		goto teardown;
	discovery_run(d);
	CHECK(kt_run_until(round_done, &r, WAIT_MS));
	CHECK_INT(r.ok, 1);
	if (!r.ok)
		fprintf(stderr, "discovery: %s\n", r.err);
	CHECK_INT(r.pods, 1);
	CHECK_INT(r.cron_v1, 0);
	CHECK_INT(r.cron_beta, 1);
	CHECK_INT(r.hpa_v2, 0);
	CHECK_INT(r.hpa_beta2, 1);
	CHECK_INT(r.hpa_v1, 1);
	CHECK_INT(r.pdb_beta, 1);
	CHECK_INT(r.eps_beta, 1);
	CHECK(r.hpa == &kobj_hpas_v2beta2);

	/* autoscaling/v2beta2 taken away: the next round picks v1 */
	CHECK_INT(kt_request("POST", "/_test/served", "{\"remove\":"
	    "[\"horizontalpodautoscalers/v2beta2\"]}", NULL), 200);
	memset(&r, 0, sizeof(r));
	discovery_run(d);
	CHECK(kt_run_until(round_done, &r, WAIT_MS));
	CHECK_INT(r.ok, 1);
	CHECK_INT(r.hpa_beta2, 0);
	CHECK(r.hpa == &kobj_hpas_v1);

	/*
	 * Lanes: with one token a second, six informer GETs queued before
	 * the engine's one do not hold it back: it goes out with the first.
	 */
	kube_client_set_rate(c, 1, 1);
	memset(&l, 0, sizeof(l));
	for (i = 0; i < 6; i++)
		kube_call_set_lane(kube_get(c, "/version", lane_informer, &l),
		    KUBE_LANE_INFORMER);
	kube_get(c, "/version", lane_engine, &l);
	CHECK(kt_run_until(lanes_done, &l, WAIT_MS));
	CHECK(l.engine_at >= 1 && l.engine_at <= 2);
	kube_client_set_rate(c, 0, 1);

	/* a cluster-wide informer keeping one namespace only */
	CHECK_INT(kt_request("POST", "/_test/objects", "{\"kind\":\"List\","
	    "\"items\":[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
	    "\"metadata\":{\"name\":\"other\"}},{\"apiVersion\":\"v1\","
	    "\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":"
	    "\"other\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
	    "\"nginx:1.25\"}]}}]}", NULL), 200);
	memset(&f, 0, sizeof(f));
	inf = informer_new(c, &kt_loop, &kobj_pods, NULL, on_filtered, &f);
	CHECK(inf != NULL);
	if (inf == NULL)
		goto teardown;
	CHECK_INT(informer_set_namespaces(inf, demo, 1), 0);
	informer_start(inf);
	CHECK(kt_run_until(inf_synced, inf, WAIT_MS));
	CHECK_INT(f.adds, 2);		/* the scenario's two pods */
	CHECK_INT(f.other, 0);
	CHECK_INT((long)informer_size(inf), 2);
	CHECK(informer_get(inf, "other", "p") == NULL);
	CHECK_INT(informer_fail_status(inf), 0);

teardown:
	informer_free(inf);
	discovery_free(d);
	kube_client_free(c);
	http_free(http);
	uv_close((uv_handle_t *)&kt_deadline, NULL);
	uv_run(&kt_loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&kt_loop), 0);
	kube_config_clear(&kc);
out:
	kt_stop_server();
}

int
main(void)
{
	test_parse();
	test_choose();
	test_projections();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_server();
	curl_global_cleanup();
	return T_DONE();
}
