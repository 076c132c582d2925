/*
 * engine.c - see engine.h.  This file holds the informers, the pod ->
 * incident bookkeeping and the tick; diagnosis.c turns incidents into
 * pending actions and apply.c applies and verifies approved ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "engine_int.h"
#include "kube/objects.h"
#include "log.h"
#include "util.h"

/* --- cache lookups across the per-namespace informers --- */

void *
engine_cache_get(struct engine *e, struct informer **infs, const char *ns,
    const char *name)
{
	void	*v;
	size_t	 i;

	for (i = 0; i < e->ninf; i++)
		if ((v = informer_get(infs[i], ns, name)) != NULL)
			return v;
	return NULL;
}

/*
 * The root owner of a pod: Pod -> ReplicaSet -> Deployment, as far as the
 * caches know.  The strings are borrowed from the projections.
 */
static void
root_of(struct engine *e, const struct kpod *p, struct root_owner *r)
{
	const struct kreplicaset *rs;

	r->kind = "Pod";
	r->ns = p->m.ns;
	r->name = p->m.name;
	r->uid = p->m.uid;
	if (p->m.owner.kind == NULL)
		return;
	r->kind = p->m.owner.kind;
	r->name = p->m.owner.name;
	r->uid = p->m.owner.uid;
	if (strcmp(p->m.owner.kind, "ReplicaSet") != 0)
		return;
	rs = engine_cache_get(e, e->rsets, p->m.ns, p->m.owner.name);
	if (rs == NULL || rs->m.owner.kind == NULL)
		return;
	r->kind = rs->m.owner.kind;
	r->name = rs->m.owner.name;
	r->uid = rs->m.owner.uid;
}

static void
pod_evaluate(struct engine *e, const struct kpod *p)
{
	struct finding		f;
	struct root_owner	r;

	if (analyze_pod(p, &f)) {
		root_of(e, p, &r);
		if (incidents_pod(&e->incs, p->m.ns, p->m.name, &f, &r,
		    mono_ms()) == -1)
			log_warnx("pod %s/%s: out of memory tracking incident",
			    p->m.ns, p->m.name);
	} else
		incidents_pod(&e->incs, p->m.ns, p->m.name, NULL, NULL,
		    mono_ms());
}

static void
on_pod(struct informer *inf, enum informer_event ev, void *old, void *new_,
    void *arg)
{
	struct engine		*e = arg;
	const struct kpod	*p = new_ ? new_ : old;

	if (!e->synced)
		return;		/* evaluated in one pass once synced */
	if (ev == INFORMER_DELETE)
		incidents_pod(&e->incs, p->m.ns, p->m.name, NULL, NULL,
		    mono_ms());
	else
		pod_evaluate(e, new_);
}

static void
on_other(struct informer *inf, enum informer_event ev, void *old, void *new_,
    void *arg)
{
	/* Deployments and ReplicaSets are read from the cache when needed. */
}

/* Once every informer has listed, evaluate every pod in one pass: before
 * that, a pod's ReplicaSet may not be cached yet. */
static void
check_synced(struct engine *e)
{
	void	*v;
	size_t	 i, pos, n;

	for (i = 0; i < e->ninf; i++)
		if (!informer_synced(e->pods[i]) ||
		    !informer_synced(e->rsets[i]) ||
		    !informer_synced(e->deps[i]))
			return;
	e->synced = 1;
	for (i = 0, n = 0; i < e->ninf; i++) {
		pos = 0;
		n += informer_size(e->pods[i]);
		while (informer_next(e->pods[i], &pos, &v))
			pod_evaluate(e, v);
	}
	log_info("caches synced: %zu pods", n);
}

void
engine_approved(void *arg, int64_t id)
{
	engine_apply(arg, id);
}

int
engine_synced(void *arg)
{
	return ((struct engine *)arg)->synced;
}

static void
incidents_tick(struct engine *e, int64_t now)
{
	struct incident	*inc;
	size_t		 pos = 0;

	while (incidents_next(&e->incs, &pos, &inc)) {
		if (incident_pods(inc) == 0) {
			if (inc->store_id > 0) {
				store_incident_resolve(e->store, inc->store_id,
				    now_ms());
				log_notice("incident %lld resolved",
				    (long long)inc->store_id);
			}
			incidents_drop(&e->incs, inc);
			continue;
		}
		if (!inc->diagnosed &&
		    now - inc->first_seen >= e->cfg->hold_down_ms)
			engine_diagnose(e, inc);
	}
}

static void
on_tick(uv_timer_t *t)
{
	struct engine	*e = t->data;
	int64_t		 now = mono_ms();

	if (!e->synced) {
		check_synced(e);
		if (!e->synced)
			return;
	}
	incidents_tick(e, now);
	engine_verify_tick(e, now);
}

int
engine_start(struct engine *e, uv_loop_t *loop, const struct remedy_config *cfg,
    struct store *st, struct kube_client *kube)
{
	const char	*ns;
	size_t		 i, n;

	memset(e, 0, sizeof(*e));
	e->loop = loop;
	e->cfg = cfg;
	e->store = st;
	e->kube = kube;
	incidents_init(&e->incs);
	n = cfg->nnamespaces ? cfg->nnamespaces : 1;
	if ((e->pods = calloc(n, sizeof(*e->pods))) == NULL ||
	    (e->rsets = calloc(n, sizeof(*e->rsets))) == NULL ||
	    (e->deps = calloc(n, sizeof(*e->deps))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		ns = cfg->nnamespaces ? cfg->namespaces[i] : NULL;
		e->pods[i] = informer_new(kube, loop, &kobj_pods, ns, on_pod, e);
		e->rsets[i] = informer_new(kube, loop, &kobj_replicasets, ns,
		    on_other, e);
		e->deps[i] = informer_new(kube, loop, &kobj_deployments, ns,
		    on_other, e);
		if (!e->pods[i] || !e->rsets[i] || !e->deps[i])
			return -1;
		e->ninf++;
	}
	for (i = 0; i < e->ninf; i++) {
		informer_start(e->rsets[i]);
		informer_start(e->deps[i]);
		informer_start(e->pods[i]);
	}
	uv_timer_init(loop, &e->tick);
	e->tick.data = e;
	uv_timer_start(&e->tick, on_tick, ENGINE_TICK_MS, ENGINE_TICK_MS);
	engine_recover(e);
	return 0;
}

void
engine_check_drained(struct engine *e)
{
	void (*fn)(void *);

	if (!e->stopping || e->inflight > 0 || e->drained == NULL)
		return;
	fn = e->drained;
	e->drained = NULL;
	fn(e->drained_arg);
}

void
engine_stop(struct engine *e, void (*drained)(void *), void *arg)
{
	size_t i;

	if (e->stopping)
		return;
	e->stopping = 1;
	e->drained = drained;
	e->drained_arg = arg;
	uv_timer_stop(&e->tick);
	uv_close((uv_handle_t *)&e->tick, NULL);
	for (i = 0; i < e->ninf; i++) {
		informer_free(e->pods[i]);
		informer_free(e->rsets[i]);
		informer_free(e->deps[i]);
	}
	e->ninf = 0;
	engine_check_drained(e);
}

void
engine_free(struct engine *e)
{
	engine_verify_free(e);
	incidents_clear(&e->incs);
	free(e->pods);
	free(e->rsets);
	free(e->deps);
}
