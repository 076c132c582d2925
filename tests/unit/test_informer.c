/*
 * test_informer.c - the HTTP glue, the REST client and two informers
 * against the test API server (tests/kubeapi/fake_apiserver.py) over real
 * TLS sockets: initial sync, ADD and DELETE from the watch, a relist after
 * the watch history was compacted, Status errors (422, 404), a dry-run
 * patch, a cancel from inside a watch event, and a loop left without a
 * single open handle.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "base/hmap.h"
#include "base/http.h"
#include "base/util.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "kubetest.h"
#include "t.h"

#define WAIT_MS		15000

struct obj {
	char	*ns, *name, *rv;
};

struct seen {
	int	 adds, updates, deletes;
	int	 same_rv;	/* updates of an unchanged object: relist */
	char	 last_add[256], last_delete[256];
};

struct result {
	int	 done;
	long	 status;
	char	 message[512], reason[64];
	json_t	*body;
};

struct canceller {
	struct kube_call	*call;
	struct kube_client	*client;
	struct result		 version;	/* GET started from the event */
	int			 events, done;
};

struct self_free {
	int	 calls;
};


static void *
project(json_t *o)
{
	struct obj *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->ns = xstrdup(json_str_at(o, "metadata.namespace"));
	p->name = xstrdup(json_str_at(o, "metadata.name"));
	p->rv = xstrdup(json_str_at(o, "metadata.resourceVersion"));
	return p;
}

static void
obj_free(void *v)
{
	struct obj *p = v;

	free(p->ns);
	free(p->name);
	free(p->rv);
	free(p);
}

static const struct informer_type pods_type = {
	"pods", "/api/v1", "pods", project, obj_free
};
static const struct informer_type deploy_type = {
	"deployments", "/apis/apps/v1", "deployments", project, obj_free
};

static void
on_change(struct informer *inf, enum informer_event ev, void *old,
    void *new_, void *arg)
{
	struct seen *s = arg;
	struct obj *o = old, *n = new_;

	(void)inf;
	switch (ev) {
	case INFORMER_ADD:
		s->adds++;
		if (old == NULL && n != NULL)
			snprintf(s->last_add, sizeof(s->last_add), "%s",
			    n->name);
		break;
	case INFORMER_UPDATE:
		if (o != NULL && n != NULL) {
			s->updates++;
			if (o->rv && n->rv && strcmp(o->rv, n->rv) == 0)
				s->same_rv++;
		}
		break;
	case INFORMER_DELETE:
		if (o != NULL && n == NULL) {
			s->deletes++;
			snprintf(s->last_delete, sizeof(s->last_delete), "%s",
			    o->name);
		}
		break;
	}
}

static void
on_result(const struct kube_resp *r, void *arg)
{
	struct result *res = arg;

	res->done = 1;
	res->status = r->status;
	snprintf(res->message, sizeof(res->message), "%s", r->message);
	snprintf(res->reason, sizeof(res->reason), "%s", r->reason);
	res->body = r->body ? json_incref(r->body) : NULL;
}

static int
result_done(void *arg)
{
	return ((struct result *)arg)->done;
}

struct synced_arg {
	struct informer *a, *b;
};

static int
both_synced(void *arg)
{
	struct synced_arg *s = arg;

	return informer_synced(s->a) && informer_synced(s->b);
}

struct name_arg {
	struct informer	*inf;
	const char	*name;
	int		 present;
};

static int
name_is(void *arg)
{
	struct name_arg *n = arg;

	return (informer_get(n->inf, "demo", n->name) != NULL) == n->present;
}

struct relist_arg {
	struct informer	*inf;
	struct seen	*seen;
	int		 same_rv_before;
};

/* A 410 was seen and a relist re-delivered the 3 unchanged pods. */
static int
relisted(void *arg)
{
	struct relist_arg *r = arg;
	struct informer_stats st;

	informer_stats(r->inf, &st);
	return st.relists_410 >= 1 &&
	    r->seen->same_rv >= r->same_rv_before + 3;
}

static int
bookmarked(void *arg)
{
	struct informer_stats st;

	informer_stats(arg, &st);
	return st.bookmarks >= 1;
}

static int
http_idle(void *arg)
{
	return http_active(arg) == 0;
}

static int
cancel_done(void *arg)
{
	return ((struct canceller *)arg)->events > 0;
}

/* The informer's cache holds exactly the pods the server lists. */
static int
cache_exact(struct informer *inf)
{
	json_t *list, *item;
	char *body = NULL;
	size_t i;
	int ok = 0;

	if (kt_request("GET", "/api/v1/namespaces/demo/pods", NULL, &body)
	    != 200)
		goto out;
	if ((list = json_loads(body, 0, NULL)) == NULL)
		goto out;
	ok = json_array_size(json_object_get(list, "items")) ==
	    informer_size(inf);
	json_array_foreach(json_object_get(list, "items"), i, item) {
		if (informer_get(inf, "demo",
		    json_str_at(item, "metadata.name")) == NULL)
			ok = 0;
	}
	json_decref(list);
out:
	free(body);
	return ok;
}

static void
cancel_event(const char *type, json_t *obj, void *arg)
{
	struct canceller *c = arg;

	(void)type;
	(void)obj;
	c->events++;
	kube_cancel(c->call);	/* from inside libcurl: deferred */
	/* a new call from inside libcurl is parked, then started */
	if (c->events == 1 && kube_get(c->client, "/version", on_result,
	    &c->version) == NULL)
		c->version.status = -1;
}

/* An informer whose callback frees it on its first event. */
static void
free_self(struct informer *inf, enum informer_event ev, void *old,
    void *new_, void *arg)
{
	struct self_free *sf = arg;

	(void)ev;
	(void)old;
	(void)new_;
	sf->calls++;
	informer_free(inf);
}

static int
self_freed(void *arg)
{
	return ((struct self_free *)arg)->calls > 0;
}

/*
 * The other ways to authenticate and route: a client certificate (relative
 * paths in kubeconfig-certs), a token file re-read per request, a wrong
 * token (401 and the Status message), tls-server-name.
 */
static void
test_auth(struct http *http, const struct kube_config *kc)
{
	struct kube_config alt, certs;
	struct kube_client *c;
	struct result res;
	char path[512], err[512];
	FILE *f;

	memset(&certs, 0, sizeof(certs));
	snprintf(path, sizeof(path), "%s/kubeconfig-certs", kt_dir);
	if (kubeconfig_load(path, NULL, &certs, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		CHECK(!"kubeconfig-certs loaded");
	} else {
		CHECK(certs.token == NULL && certs.client_key.len > 0);
		c = kube_client_new(http, &certs, err, sizeof(err));
		CHECK(c != NULL);
		memset(&res, 0, sizeof(res));
		if (c != NULL && kube_get(c, "/api/v1/namespaces/demo/pods",
		    on_result, &res) != NULL)
			kt_run_until(result_done, &res, WAIT_MS);
		CHECK_INT(res.status, 200);
		CHECK_STR(json_str_at(res.body, "kind"), "PodList");
		json_decref(res.body);
		kube_client_free(c);
	}
	kube_config_clear(&certs);

	alt = *kc;
	alt.token = "wrong-token";
	c = kube_client_new(http, &alt, err, sizeof(err));
	CHECK(c != NULL);
	memset(&res, 0, sizeof(res));
	if (c != NULL && kube_get(c, "/api/v1/namespaces/demo/pods",
	    on_result, &res) != NULL)
		kt_run_until(result_done, &res, WAIT_MS);
	CHECK_INT(res.status, 401);
	CHECK_STR(res.reason, "Unauthorized");
	CHECK_STR(res.message, "Unauthorized");
	json_decref(res.body);
	kube_client_free(c);

	/* token file: written after the client was made, whitespace trimmed */
	snprintf(path, sizeof(path), "%s/token", kt_dir);
	alt.token_file = path;
	c = kube_client_new(http, &alt, err, sizeof(err));
	CHECK(c != NULL);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("  remedy-test-token\n\n", f);
		fclose(f);
	}
	memset(&res, 0, sizeof(res));
	if (c != NULL && kube_get(c, "/version", on_result, &res) != NULL)
		kt_run_until(result_done, &res, WAIT_MS);
	CHECK_INT(res.status, 200);
	json_decref(res.body);
	/* rotated to a token the server refuses: the copy read a moment ago
	 * is still used (re-read once a minute) ... */
	if ((f = fopen(path, "w")) != NULL) {
		fputs("rotated-wrong-token\n", f);
		fclose(f);
	}
	memset(&res, 0, sizeof(res));
	if (c != NULL && kube_get(c, "/version", on_result, &res) != NULL)
		kt_run_until(result_done, &res, WAIT_MS);
	CHECK_INT(res.status, 200);
	json_decref(res.body);
	kube_client_free(c);
	/* ... and a client that holds a refused token re-reads the file
	 * after the 401 and succeeds with the rotated one */
	c = kube_client_new(http, &alt, err, sizeof(err));
	memset(&res, 0, sizeof(res));
	if (c != NULL && kube_get(c, "/version", on_result, &res) != NULL)
		kt_run_until(result_done, &res, WAIT_MS);
	CHECK_INT(res.status, 401);
	json_decref(res.body);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("remedy-test-token\n", f);
		fclose(f);
	}
	memset(&res, 0, sizeof(res));
	if (c != NULL && kube_get(c, "/version", on_result, &res) != NULL)
		kt_run_until(result_done, &res, WAIT_MS);
	CHECK_INT(res.status, 200);
	json_decref(res.body);
	if (c != NULL) {
		struct kube_client_stats cs;

		kube_client_stats(c, &cs);
		CHECK(cs.reauths >= 2);
	}
	/* a missing token file: the call fails naming the file */
	unlink(path);
	kube_client_free(c);
	c = kube_client_new(http, &alt, err, sizeof(err));
	memset(&res, 0, sizeof(res));
	CHECK(c != NULL && kube_get(c, "/version", on_result, &res) != NULL);
	kt_run_until(result_done, &res, WAIT_MS);
	CHECK_INT(res.status, 0);
	CHECK(strstr(res.message, path) != NULL);
	kube_client_free(c);

	/* tls-server-name: SNI and verification for "localhost" */
	alt = *kc;
	alt.tls_server_name = "localhost";
	c = kube_client_new(http, &alt, err, sizeof(err));
	CHECK(c != NULL);
	memset(&res, 0, sizeof(res));
	if (c != NULL && kube_get(c, "/version", on_result, &res) != NULL)
		kt_run_until(result_done, &res, WAIT_MS);
	CHECK_INT(res.status, 200);
	json_decref(res.body);
	kube_client_free(c);
	/* a name the certificate does not carry is refused by TLS */
	alt.tls_server_name = "kubernetes.invalid";
	c = kube_client_new(http, &alt, err, sizeof(err));
	CHECK(c != NULL);
	memset(&res, 0, sizeof(res));
	if (c != NULL && kube_get(c, "/version", on_result, &res) != NULL)
		kt_run_until(result_done, &res, WAIT_MS);
	CHECK_INT(res.status, 0);
	CHECK(res.message[0] != '\0');
	json_decref(res.body);
	kube_client_free(c);
}

static void
cancel_never_done(const struct kube_resp *r, void *arg)
{
	(void)r;
	((struct canceller *)arg)->done++;
}

static void
test_query(void)
{
	char p[80] = "/api/v1/pods";

	CHECK_INT(kube_query_add(p, sizeof(p), "labelSelector",
	    "app=web,tier in (a b)"), 0);
	CHECK_STR(p, "/api/v1/pods?labelSelector=app%3Dweb%2Ctier%20in%20"
	    "%28a%20b%29");
	CHECK_INT(kube_query_add(p, sizeof(p), "limit", "500"), 0);
	CHECK(strstr(p, "%29&limit=500") != NULL);
	/* no room: the path is left as it was */
	CHECK_INT(kube_query_add(p, sizeof(p), "continue",
	    "0123456789012345678901234567890123456789"), -1);
	CHECK(strstr(p, "continue") == NULL);
}

int
main(void)
{
	struct kube_config kc;
	struct http *http = NULL;
	struct kube_client *client = NULL;
	struct informer *pods = NULL, *deps = NULL;
	struct seen ps, ds;
	struct synced_arg sa;
	struct name_arg na;
	struct relist_arg ra;
	struct informer_stats st;
	struct result res;
	struct canceller cn;
	struct self_free sf;
	struct informer *self;
	char path[512], err[512];
	int before_updates, before_deletes;
	int attempt;
	static const char *const server_args[] = { "--scenario", "healthy",
	    "--replicas", "3", NULL };

	test_query();
	memset(&kc, 0, sizeof(kc));
	memset(&ps, 0, sizeof(ps));
	memset(&ds, 0, sizeof(ds));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (kt_start_server(server_args) == -1) {
		CHECK(!"test API server started");
		goto out;
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
	client = kube_client_new(http, &kc, err, sizeof(err));
	CHECK(client != NULL);
	if (http == NULL || client == NULL)
		goto teardown;
	CHECK_STR(kube_client_server(client), kt_url);

	/* initial sync: 3 pods and 1 deployment, each reported as ADD */
	pods = informer_new(client, &kt_loop, &pods_type, "demo", on_change, &ps);
	deps = informer_new(client, &kt_loop, &deploy_type, "demo", on_change,
	    &ds);
	informer_start(pods);
	informer_start(deps);
	sa.a = pods;
	sa.b = deps;
	CHECK(kt_run_until(both_synced, &sa, WAIT_MS));
	CHECK_INT(informer_size(pods), 3);
	CHECK_INT(informer_size(deps), 1);
	CHECK_INT(ps.adds, 3);
	CHECK_INT(ds.adds, 1);
	CHECK(informer_get(deps, "demo", "web") != NULL);
	CHECK(informer_rv(pods)[0] != '\0');
	CHECK(cache_exact(pods));

	/* a pod created elsewhere arrives through the watch as ADD */
	CHECK_INT(kt_request("POST", "/_test/objects",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
	    "{\"name\":\"extra\",\"namespace\":\"demo\"},\"spec\":"
	    "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1.25\"}]}}",
	    NULL), 200);
	na.inf = pods;
	na.name = "extra";
	na.present = 1;
	CHECK(kt_run_until(name_is, &na, WAIT_MS));
	CHECK_STR(ps.last_add, "extra");
	CHECK_INT(ps.adds, 4);
	informer_stats(pods, &st);
	CHECK(st.watches >= 1);
	CHECK(st.events >= 1);

	/* deleted through the API: DELETE */
	CHECK_INT(kt_request("DELETE", "/api/v1/namespaces/demo/pods/extra",
	    NULL, NULL), 200);
	na.present = 0;
	CHECK(kt_run_until(name_is, &na, WAIT_MS));
	CHECK_STR(ps.last_delete, "extra");
	CHECK_INT(ps.deletes, 1);
	CHECK_INT(informer_size(pods), 3);

	/*
	 * Compacted history, then every watch closed: the re-watch from the
	 * last resourceVersion is answered with ERROR 410, and the informer
	 * relists.  A bookmark sent between the two requests would carry a
	 * fresh resourceVersion and legitimately avoid the 410, so the pair
	 * is tried up to three times.
	 */
	before_updates = ps.updates;
	before_deletes = ps.deletes;
	ra.inf = pods;
	ra.seen = &ps;
	ra.same_rv_before = ps.same_rv;
	for (attempt = 0; attempt < 3 && !relisted(&ra); attempt++) {
		CHECK_INT(kt_request("POST", "/_test/compact", "{}", NULL),
		    200);
		CHECK_INT(kt_request("POST", "/_test/close-watches", "{}",
		    NULL), 200);
		kt_run_until(relisted, &ra, WAIT_MS);
	}
	CHECK(relisted(&ra));
	informer_stats(pods, &st);
	CHECK(st.relists_410 >= 1);
	CHECK(st.lists >= 2);
	CHECK_INT(informer_size(pods), 3);
	CHECK_INT(ps.deletes, before_deletes);
	CHECK(ps.updates >= before_updates + 3);
	CHECK(cache_exact(pods));
	/* and it watches again: a new pod still arrives */
	CHECK_INT(kt_request("POST", "/_test/objects",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
	    "{\"name\":\"late\",\"namespace\":\"demo\"},\"spec\":"
	    "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1.25\"}]}}",
	    NULL), 200);
	na.name = "late";
	na.present = 1;
	CHECK(kt_run_until(name_is, &na, WAIT_MS));
	CHECK(cache_exact(pods));

	/* a failing JSON Patch test op: 422 with the server's own words */
	memset(&res, 0, sizeof(res));
	CHECK(kube_patch(client, "/apis/apps/v1/namespaces/demo/deployments/"
	    "web", "application/json-patch+json",
	    "[{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":99},"
	    "{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":1}]", 0,
	    on_result, &res) != NULL);
	CHECK(kt_run_until(result_done, &res, WAIT_MS));
	CHECK_INT(res.status, 422);
	CHECK_STR(res.reason, "Invalid");
	CHECK(res.message[0] != '\0');
	CHECK_STR(res.message, json_str_at(res.body, "message"));
	json_decref(res.body);

	/* a dry-run merge patch: 200, the would-be object, nothing stored */
	memset(&res, 0, sizeof(res));
	CHECK(kube_patch(client, "/apis/apps/v1/namespaces/demo/deployments/"
	    "web", "application/merge-patch+json",
	    "{\"spec\":{\"replicas\":5}}", 1, on_result, &res) != NULL);
	CHECK(kt_run_until(result_done, &res, WAIT_MS));
	CHECK_INT(res.status, 200);
	CHECK_STR(res.message, "");
	CHECK_INT(json_int_at(res.body, "spec.replicas", -1), 5);
	json_decref(res.body);
	memset(&res, 0, sizeof(res));
	CHECK(kube_get(client, "/apis/apps/v1/namespaces/demo/deployments/web",
	    on_result, &res) != NULL);
	CHECK(kt_run_until(result_done, &res, WAIT_MS));
	CHECK_INT(res.status, 200);
	CHECK_INT(json_int_at(res.body, "spec.replicas", -1), 3);
	json_decref(res.body);

	/* a missing object: 404 and the Status message */
	memset(&res, 0, sizeof(res));
	CHECK(kube_get(client, "/apis/apps/v1/namespaces/demo/deployments/"
	    "nope", on_result, &res) != NULL);
	CHECK(kt_run_until(result_done, &res, WAIT_MS));
	CHECK_INT(res.status, 404);
	CHECK_STR(res.reason, "NotFound");
	CHECK(strlen(res.message) > 10 && strcmp(res.message +
	    strlen(res.message) - 10, " not found") == 0);
	json_decref(res.body);

	/* the server sends a bookmark every second: it moves the RV only */
	CHECK(kt_run_until(bookmarked, deps, WAIT_MS));
	CHECK_INT(informer_size(deps), 1);

	/* a cancel from inside a watch event: no done(), transfer gone */
	memset(&cn, 0, sizeof(cn));
	cn.client = client;
	cn.call = kube_watch(client, "/api/v1/namespaces/demo/pods?watch=1", 0,
	    cancel_event, cancel_never_done, &cn);
	CHECK(cn.call != NULL);
	CHECK(kt_run_until(cancel_done, &cn, WAIT_MS));
	CHECK_INT(cn.events, 1);
	informer_free(pods);
	informer_free(deps);
	pods = deps = NULL;
	CHECK(kt_run_until(http_idle, http, WAIT_MS));
	CHECK_INT(cn.events, 1);
	CHECK_INT(cn.done, 0);
	CHECK_INT(cn.version.status, 200);
	CHECK(json_str_at(cn.version.body, "gitVersion") != NULL);
	json_decref(cn.version.body);

	/* informer_free() from inside its own callback */
	memset(&sf, 0, sizeof(sf));
	self = informer_new(client, &kt_loop, &deploy_type, "demo", free_self,
	    &sf);
	informer_start(self);
	CHECK(kt_run_until(self_freed, &sf, WAIT_MS));
	CHECK(kt_run_until(http_idle, http, WAIT_MS));
	CHECK_INT(sf.calls, 1);

	test_auth(http, &kc);
teardown:
	informer_free(pods);
	informer_free(deps);
	kube_client_free(client);
	http_free(http);
	uv_close((uv_handle_t *)&kt_deadline, NULL);
	uv_run(&kt_loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&kt_loop), 0);
	kube_config_clear(&kc);
out:
	kt_stop_server();
	curl_global_cleanup();
	return T_DONE();
}
