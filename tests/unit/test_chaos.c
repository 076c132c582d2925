/*
 * test_chaos.c - two pod informers (one on streaming lists, one on paged
 * LIST + WATCH with 50-item pages) against the test API server while
 * tests/kubeapi/chaos_mutator.py makes thousands of changes and the server
 * injects a random mix of transport faults (tests/kubeapi/faults.py):
 * connections cut mid-event, stalled watches, 410 and 500 ERROR events,
 * garbage bytes, events sent one byte per chunk, 429 and 500 answers with
 * Retry-After, expired continue tokens, and a short watch history so that
 * re-watches hit 410.  Afterwards, with the faults off, both caches must
 * equal the server's pods exactly (names and resourceVersions), the
 * callbacks must have been consistent (no ADD of a known object, no UPDATE
 * or DELETE of an unknown one), and every kind of fault must have
 * happened at least once.
 */
#include "kubetest.h"
#include "t.h"

#include "base/hmap.h"
#include "base/http.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"

#define CHANGES		"3000"

struct pobj {
	char	*name, *rv;
};

struct shadow {
	struct hmap	 m;		/* name -> rv, from the callbacks */
	int		 bad_add, bad_update, bad_delete, events;
};

static void *
project(json_t *o)
{
	struct pobj *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->name = xstrdup(json_str_at(o, "metadata.name"));
	p->rv = xstrdup(json_str_at(o, "metadata.resourceVersion"));
	return p;
}

static void
pobj_free(void *v)
{
	struct pobj *p = v;

	free(p->name);
	free(p->rv);
	free(p);
}

static const struct informer_type pods_type = {
	"pods", "/api/v1", "pods", project, pobj_free
};

static void
on_change(struct informer *inf, enum informer_event ev, void *old,
    void *new_, void *arg)
{
	struct shadow *s = arg;
	struct pobj *o = old, *n = new_;
	void *prev = NULL;

	(void)inf;
	s->events++;
	switch (ev) {
	case INFORMER_ADD:
		if (hmap_get(&s->m, n->name) != NULL || o != NULL)
			s->bad_add++;
		hmap_put(&s->m, n->name, xstrdup(n->rv), &prev);
		break;
	case INFORMER_UPDATE:
		if (hmap_get(&s->m, n->name) == NULL || o == NULL)
			s->bad_update++;
		hmap_put(&s->m, n->name, xstrdup(n->rv), &prev);
		break;
	case INFORMER_DELETE:
		if ((prev = hmap_del(&s->m, o->name)) == NULL)
			s->bad_delete++;
		break;
	}
	free(prev);
}

struct converge {
	struct informer	*inf[2];
	struct shadow	*sh[2];
	json_t		*items;		/* the server's pods */
	int64_t		 next_fetch;
};

/* Both caches and both shadows hold exactly the server's pods. */
static int
exact(struct converge *cv)
{
	json_t *item;
	struct pobj *p;
	const char *name, *rv, *srv;
	size_t i, k;

	if (cv->items == NULL)
		return 0;
	for (k = 0; k < 2; k++) {
		if (!informer_synced(cv->inf[k]) ||
		    informer_size(cv->inf[k]) != json_array_size(cv->items) ||
		    cv->sh[k]->m.len != json_array_size(cv->items))
			return 0;
		json_array_foreach(cv->items, i, item) {
			name = json_str_at(item, "metadata.name");
			rv = json_str_at(item, "metadata.resourceVersion");
			p = informer_get(cv->inf[k], "chaos", name);
			srv = hmap_get(&cv->sh[k]->m, name);
			if (p == NULL || rv == NULL || p->rv == NULL ||
			    strcmp(p->rv, rv) != 0 || srv == NULL ||
			    strcmp(srv, rv) != 0)
				return 0;
		}
	}
	return 1;
}

static int
converged(void *arg)
{
	struct converge *cv = arg;
	json_t *list;

	if (exact(cv))
		return 1;
	if (mono_ms() < cv->next_fetch)
		return 0;
	/* the server is quiet now: one fetch per half second is plenty */
	cv->next_fetch = mono_ms() + 500;
	if ((list = kt_get_json("/api/v1/namespaces/chaos/pods")) == NULL)
		return 0;
	json_decref(cv->items);
	cv->items = json_incref(json_object_get(list, "items"));
	json_decref(list);
	return exact(cv);
}

static pid_t mutator = -1;
static int mutator_status = -1;

static int
mutator_done(void *arg)
{
	int st;

	(void)arg;
	if (mutator > 0 && waitpid(mutator, &st, WNOHANG) == mutator) {
		mutator = -1;
		mutator_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	}
	return mutator <= 0;
}

static int
fault_count(json_t *st, const char *kind)
{
	return (int)json_integer_value(json_object_get(json_object_get(st,
	    "counts"), kind));
}

static void
shadow_clear(struct shadow *s)
{
	size_t pos = 0;
	void *v;

	while (hmap_next(&s->m, &pos, NULL, &v))
		free(v);
	hmap_clear(&s->m);
}

static int
tick_noop(void *arg)
{
	(void)arg;
	return 0;
}

int
main(void)
{
	static const char *const args[] = { "--scenario", "empty",
	    "--history", "1500", "--bookmark-interval", "0.5", NULL };
	static const char *const kinds[] = { "drop", "stall", "gone",
	    "error", "garbage", "bytewise", "429", "500", "continue_expire" };
	struct kube_config kc;
	struct http *http = NULL;
	struct kube_client *client = NULL;
	struct informer *inf[2] = { NULL, NULL };
	struct shadow sh[2];
	struct converge cv;
	struct informer_stats st[2];
	struct kube_client_stats cs;
	char path[512], err[512], script[1024], *argv[12];
	json_t *fs;
	int64_t t0;
	size_t i, k;

	memset(&kc, 0, sizeof(kc));
	memset(sh, 0, sizeof(sh));
	memset(&cv, 0, sizeof(cv));
	hmap_init(&sh[0].m);
	hmap_init(&sh[1].m);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	uv_loop_init(&kt_loop);
	uv_timer_init(&kt_loop, &kt_deadline);
	if (kt_start_server(args) == -1) {
		CHECK(!"test API server started");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/kubeconfig", kt_dir);
	if (kubeconfig_load(path, NULL, &kc, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		CHECK(!"kubeconfig loaded");
		goto out;
	}
	CHECK_INT(kt_request("POST", "/_test/objects", "{\"apiVersion\":\"v1\","
	    "\"kind\":\"Namespace\",\"metadata\":{\"name\":\"chaos\"}}", NULL),
	    200);
	/* every fault once early on, then a random mix */
	CHECK_INT(kt_request("POST", "/_test/faults", "{\"seed\": 42,"
	    "\"watch\": {\"drop\": 0.004, \"stall\": 0.0015, \"gone\": 0.003,"
	    " \"error\": 0.003, \"garbage\": 0.003, \"bytewise\": 0.01},"
	    "\"request\": {\"429\": 0.05, \"500\": 0.05},"
	    "\"continue_expire\": 0.2, \"stall_seconds\": 4,"
	    "\"once\": [\"drop\", \"429\", \"gone\", \"500\", \"stall\","
	    " \"error\", \"garbage\", \"bytewise\", \"continue_expire\"]}",
	    NULL), 200);

	http = http_new(&kt_loop);
	client = kube_client_new(http, &kc, err, sizeof(err));
	CHECK(client != NULL);
	if (client == NULL)
		goto teardown;
	kube_client_set_rate(client, 0, 0);
	kube_client_set_watch_stall(client, 2);
	for (k = 0; k < 2; k++) {
		inf[k] = informer_new(client, &kt_loop, &pods_type, "chaos",
		    on_change, &sh[k]);
		informer_set_backoff(inf[k], 50, 1000);
		informer_set_page_size(inf[k], 50);
		cv.inf[k] = inf[k];
		cv.sh[k] = &sh[k];
	}
	informer_set_streaming(inf[1], 0);
	informer_start(inf[0]);
	informer_start(inf[1]);

	snprintf(script, sizeof(script), "%s/tests/kubeapi/chaos_mutator.py",
	    kt_src());
	argv[0] = "python3";
	argv[1] = script;
	argv[2] = "--dir";
	argv[3] = kt_dir;
	argv[4] = "--changes";
	argv[5] = CHANGES;
	argv[6] = "--seed";
	argv[7] = "7";
	argv[8] = NULL;
	t0 = mono_ms();
	CHECK(posix_spawnp(&mutator, "python3", NULL, NULL, argv, environ)
	    == 0);
	CHECK(kt_run_until(mutator_done, NULL, 100000));
	CHECK_INT(mutator_status, 0);
	fprintf(stderr, "chaos: %s changes made in %lld ms\n", CHANGES,
	    (long long)(mono_ms() - t0));
	/* let the informers live through faults a little longer */
	kt_run_until(tick_noop, NULL, 1000);

	fs = kt_get_json("/_test/faults");
	for (i = 0; i < NELEM(kinds); i++) {
		if (fault_count(fs, kinds[i]) < 1)
			fprintf(stderr, "fault %s never injected\n", kinds[i]);
		CHECK(fault_count(fs, kinds[i]) >= 1);
	}
	if (fs != NULL) {
		char *d = json_dumps(json_object_get(fs, "counts"),
		    JSON_COMPACT | JSON_SORT_KEYS);

		fprintf(stderr, "chaos: faults injected %s\n", d ? d : "?");
		free(d);
	}
	json_decref(fs);

	/* faults off: both caches must settle on the server's state */
	CHECK_INT(kt_request("POST", "/_test/faults", "{}", NULL), 200);
	t0 = mono_ms();
	CHECK(kt_run_until(converged, &cv, 30000));
	fprintf(stderr, "chaos: converged %lld ms after the faults stopped, "
	    "%zu pods\n", (long long)(mono_ms() - t0),
	    json_array_size(cv.items));
	CHECK(json_array_size(cv.items) > 50);
	for (k = 0; k < 2; k++) {
		CHECK_INT(sh[k].bad_add, 0);
		CHECK_INT(sh[k].bad_update, 0);
		CHECK_INT(sh[k].bad_delete, 0);
		informer_stats(inf[k], &st[k]);
		fprintf(stderr, "chaos: informer %zu: lists %llu (streamed "
		    "%llu) watches %llu relists_410 %llu errors %llu events "
		    "%llu callbacks %d\n", k, (unsigned long long)st[k].lists,
		    (unsigned long long)st[k].streamed_lists,
		    (unsigned long long)st[k].watches,
		    (unsigned long long)st[k].relists_410,
		    (unsigned long long)st[k].errors,
		    (unsigned long long)st[k].events, sh[k].events);
		CHECK(st[k].relists_410 >= 1);
		CHECK(st[k].errors >= 3);
	}
	CHECK(st[0].streamed_lists >= 1);
	CHECK(st[1].streamed_lists == 0);
	kube_client_stats(client, &cs);
	CHECK(cs.retries >= 2);

teardown:
	for (k = 0; k < 2; k++)
		informer_free(inf[k]);
	kube_client_free(client);
	http_free(http);
	uv_run(&kt_loop, UV_RUN_DEFAULT);
out:
	if (mutator > 0) {
		kill(mutator, SIGTERM);
		waitpid(mutator, NULL, 0);
	}
	uv_close((uv_handle_t *)&kt_deadline, NULL);
	uv_run(&kt_loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&kt_loop), 0);
	json_decref(cv.items);
	shadow_clear(&sh[0]);
	shadow_clear(&sh[1]);
	kube_config_clear(&kc);
	kt_stop_server();
	curl_global_cleanup();
	return T_DONE();
}
