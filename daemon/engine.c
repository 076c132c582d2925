/*
 * engine.c - see engine.h.  This file holds the informers, the analyzer
 * dispatch and the tick; incidents.c the store side of the incident
 * lifecycle (below), diagnosis.c turns incidents into pending actions and
 * apply.c applies and verifies approved ones.
 *
 * Incident lifecycle (README "Incidents"):
 *   an object's finding joins the incident of its fingerprint (analyzer,
 *   root owner, reason); after diagnosis.hold_down the incident is stored
 *   (a symptom only when no cause is open on the same root owner) and
 *   diagnosed once; while its objects change the row is refreshed at most
 *   once a second; when no object is affected for incidents.resolve_after
 *   it is resolved and its pending actions become superseded; an object
 *   that breaks again before that rejoins it and counts a flap, one that
 *   breaks after reopens the same row (counted in reopens).  At start the
 *   open incidents are loaded from the store, so a restart does not
 *   diagnose a known incident again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "base/log.h"
#include "base/util.h"
#include "engine_int.h"
#include "kube/lease.h"
#include "kube/objects.h"

#define EVIDX_MAX	32	/* Events remembered per object */
#define CRON_EVERY_MS	30000	/* re-check suspended CronJobs */

/* The kinds beyond pods, ReplicaSets and Deployments. */
static const struct {
	const char			*kind;
	const struct informer_type	*t;
	int				 cluster;
} kinds[ENGINE_NKINDS] = {
	{ "Node",			&kobj_nodes,		1 },
	{ "StatefulSet",		&kobj_statefulsets,	0 },
	{ "DaemonSet",			&kobj_daemonsets,	0 },
	{ "Job",			&kobj_jobs,		0 },
	{ "CronJob",			&kobj_cronjobs,		0 },
	{ "PersistentVolumeClaim",	&kobj_pvcs,		0 },
	{ "Service",			&kobj_services,		0 },
	{ "EndpointSlice",		&kobj_endpointslices,	0 },
	{ "Ingress",			&kobj_ingresses,	0 },
	{ "HorizontalPodAutoscaler",	&kobj_hpas,		0 },
	{ "PodDisruptionBudget",	&kobj_pdbs,		0 },
	{ "Event",			&kobj_events,		0 },
	{ "ControllerRevision",		&kobj_controllerrevisions, 0 },
	{ "StorageClass",		&kobj_storageclasses,	1 },
};
enum { K_NODE, K_STS, K_DS, K_JOB, K_CRON, K_PVC, K_SVC, K_EPS, K_ING,
    K_HPA, K_PDB, K_EVENT, K_CREV, K_SC };
#define K_POD	100
#define K_RS	101
#define K_DEP	102

const char *
engine_kind_path(const struct engine *e, const char *kind)
{
	size_t	i;

	for (i = 0; i < ENGINE_NKINDS; i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return e->kver[i] != NULL ? e->kver[i]->group_path :
			    NULL;
	return NULL;
}

/* The informer callback's argument: which kind it reports. */
struct engine_kindarg {
	struct engine	*e;
	int		 k;
};

/* One remembered Event about an object. */
struct evref {
	char		*evname;	/* the Event's own name */
	char		*reason;
	char		*message;
	uint64_t	 seq;		/* newer is larger */
};
struct evlist {
	size_t		 n;
	struct evref	 v[EVIDX_MAX];
};

static const char *
kind_name(int k)
{
	switch (k) {
	case K_POD:	return "Pod";
	case K_RS:	return "ReplicaSet";
	case K_DEP:	return "Deployment";
	default:	return kinds[k].kind;
	}
}

int
engine_kind_index(const char *kind)
{
	int k;

	if (strcmp(kind, "Pod") == 0)
		return K_POD;
	if (strcmp(kind, "ReplicaSet") == 0)
		return K_RS;
	if (strcmp(kind, "Deployment") == 0)
		return K_DEP;
	for (k = 0; k < ENGINE_NKINDS; k++)
		if (strcmp(kinds[k].kind, kind) == 0)
			return k;
	return -1;
}

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

static struct informer **
infs_of(struct engine *e, int k, size_t *n)
{
	*n = e->ninf;
	switch (k) {
	case K_POD:	return e->pods;
	case K_RS:	return e->rsets;
	case K_DEP:	return e->deps;
	default:
		*n = e->nkinf[k];
		return e->kinf[k];
	}
}

void *
engine_kind_get_at(struct engine *e, int k, const char *ns,
    const char *name)
{
	struct informer	**infs;
	void		 *v;
	size_t		  i, n;

	if (k < 0)
		return NULL;
	infs = infs_of(e, k, &n);
	for (i = 0; i < n; i++)
		if ((v = informer_get(infs[i], k < ENGINE_NKINDS &&
		    kinds[k].cluster ? "" : ns, name)) != NULL)
			return v;
	return NULL;
}

void *
engine_kind_get(struct engine *e, const char *kind, const char *ns,
    const char *name)
{
	return engine_kind_get_at(e, engine_kind_index(kind), ns, name);
}

int
engine_kind_current(struct engine *e, const char *kind)
{
	struct informer	**infs;
	size_t		  i, n;
	int		  k = engine_kind_index(kind);

	if (k < 0)
		return 1;
	infs = infs_of(e, k, &n);
	for (i = 0; i < n; i++)
		if (!informer_current(infs[i]))
			return 0;
	return 1;
}

const struct kobj **
engine_revisions(struct engine *e, const char *owner_uid, size_t *np)
{
	const struct kobj	**v = NULL, **nv, *cr;
	size_t			  i, pos, n = 0, cap = 0;
	void			 *p;

	*np = 0;
	for (i = 0; owner_uid != NULL && i < e->nkinf[K_CREV]; i++) {
		pos = 0;
		while (informer_next(e->kinf[K_CREV][i], &pos, &p)) {
			cr = p;
			if (cr->m.owner.uid == NULL ||
			    strcmp(cr->m.owner.uid, owner_uid) != 0)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				if ((nv = reallocarray(v, cap, sizeof(*v))) ==
				    NULL) {
					free(v);
					return NULL;
				}
				v = nv;
			}
			v[n++] = cr;
		}
	}
	if (v == NULL && (v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	*np = n;
	return v;
}

/* --- what analyzers may look up (struct analyze_ctx) --- */

static const void *
ctx_get(void *arg, const char *kind, const char *ns, const char *name)
{
	return engine_kind_get_at(arg, engine_kind_index(kind), ns, name);
}

static const char *
ctx_event(void *arg, const char *kind, const char *ns, const char *name,
    const char *reason)
{
	struct engine		*e = arg;
	struct evlist		*l;
	const struct evref	*best = NULL;
	char			 key[768];
	size_t			 i;

	snprintf(key, sizeof(key), "%s/%s/%s", kind, ns, name);
	if ((l = hmap_get(&e->evidx, key)) == NULL)
		return NULL;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].reason, reason) == 0 &&
		    (best == NULL || l->v[i].seq > best->seq))
			best = &l->v[i];
	return best ? best->message : NULL;
}

static void
ctx_pods(void *arg, const char *ns, json_t *selector, int *total, int *ready)
{
	struct engine		*e = arg;
	const struct kpod	*p;
	void			*v;
	size_t			 i, pos;

	*total = *ready = 0;
	for (i = 0; i < e->ninf; i++) {
		pos = 0;
		while (informer_next(e->pods[i], &pos, &v)) {
			p = v;
			if (strcmp(p->m.ns, ns) != 0 || p->deleting ||
			    !kpod_selected(p, selector))
				continue;
			(*total)++;
			*ready += p->ready;
		}
	}
}

static int
ctx_endpoints(void *arg, const char *ns, const char *svc, int *total,
    int *ready)
{
	struct engine		*e = arg;
	const struct kobj	*o;
	json_t			*ep, *r;
	const char		*owner;
	void			*v;
	size_t			 i, j, pos;
	int			 found = 0;

	*total = *ready = 0;
	for (i = 0; i < e->nkinf[K_EPS]; i++) {
		pos = 0;
		while (informer_next(e->kinf[K_EPS][i], &pos, &v)) {
			o = v;
			owner = json_string_value(json_object_get(json_at(o->f,
			    "metadata.labels"), "kubernetes.io/service-name"));
			if (strcmp(o->m.ns, ns) != 0 || owner == NULL ||
			    strcmp(owner, svc) != 0)
				continue;
			found = 1;
			json_array_foreach(json_at(o->f, "endpoints"), j, ep) {
				(*total)++;
				/* A nil ready means ready (discovery/v1). */
				r = json_at(ep, "conditions.ready");
				*ready += r == NULL || json_is_true(r);
			}
		}
	}
	return found ? 0 : -1;
}

json_t *
engine_kind_json(struct engine *e, const char *kind)
{
	const struct kobj	*o;
	json_t			*a, *n;
	void			*v;
	size_t			 i, pos;
	int			 k = engine_kind_index(kind);

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; k >= 0 && k < ENGINE_NKINDS && i < e->nkinf[k]; i++) {
		pos = 0;
		while (informer_next(e->kinf[k][i], &pos, &v)) {
			o = v;
			if ((n = json_deep_copy(o->f)) == NULL ||
			    json_object_set_new(n, "name",
			    json_string(o->m.name)) == -1 ||
			    json_array_append_new(a, n) == -1) {
				json_decref(a);
				return NULL;
			}
		}
	}
	return a;
}

static int
ctx_failed_pods(void *arg, const char *ns, const char *owner_uid, int *code,
    int *same, char *container, size_t len)
{
	struct engine		*e = arg;
	const struct kpod	*p;
	const struct kcstatus	*st;
	void			*v;
	size_t			 i, j, pos;
	int			 codes[256] = { 0 }, failed = 0, c;

	*code = *same = 0;
	for (i = 0; i < e->ninf; i++) {
		pos = 0;
		while (informer_next(e->pods[i], &pos, &v)) {
			p = v;
			if (p->m.owner.uid == NULL || strcmp(p->m.ns, ns) != 0 ||
			    strcmp(p->m.owner.uid, owner_uid) != 0 ||
			    p->phase == NULL || strcmp(p->phase, "Failed") != 0)
				continue;
			failed++;
			for (j = 0; j < p->nstatus; j++) {
				st = &p->st[j];
				if (st->init || !st->terminated ||
				    st->term_exit <= 0 || st->term_exit > 255)
					continue;
				c = st->term_exit;
				if (++codes[c] > *same || (codes[c] == *same &&
				    c < *code)) {
					*same = codes[c];
					*code = c;
					snprintf(container, len, "%s",
					    st->name ? st->name : "");
				}
				break;
			}
		}
	}
	return failed;
}

static void	root_of(struct engine *, const char *, const struct kmeta *,
		    struct root_owner *);

/*
 * A failed pod of a Job whose root owner is kind ns/name (the Job itself,
 * or its CronJob), for the log of a Job that keeps failing: the one whose
 * name sorts last among those that ended with a non-zero exit code.
 * Borrowed from the cache; NULL when there is none.
 */
const char *
engine_job_failed_pod(struct engine *e, const char *kind, const char *ns,
    const char *name)
{
	const struct kpod	*p;
	struct root_owner	 r;
	const char		*pick = NULL;
	void			*v;
	size_t			 i, j, pos;

	for (i = 0; i < e->ninf; i++) {
		pos = 0;
		while (informer_next(e->pods[i], &pos, &v)) {
			p = v;
			if (p->m.owner.kind == NULL ||
			    strcmp(p->m.owner.kind, "Job") != 0 ||
			    strcmp(p->m.ns, ns) != 0 || p->phase == NULL ||
			    strcmp(p->phase, "Failed") != 0)
				continue;
			for (j = 0; j < p->nstatus; j++)
				if (!p->st[j].init && p->st[j].terminated &&
				    p->st[j].term_exit != 0)
					break;
			if (j == p->nstatus)
				continue;
			root_of(e, "Pod", &p->m, &r);
			if (strcmp(r.kind, kind) != 0 || strcmp(r.name, name) !=
			    0)
				continue;
			if (pick == NULL || strcmp(p->m.name, pick) > 0)
				pick = p->m.name;
		}
	}
	return pick;
}

int
engine_service_endpoints(struct engine *e, const char *ns, const char *svc,
    int *total, int *ready)
{
	return ctx_endpoints(e, ns, svc, total, ready);
}

void
engine_selected_pods(struct engine *e, const char *ns, json_t *selector,
    int *total, int *ready)
{
	ctx_pods(e, ns, selector, total, ready);
}

/* --- root owners --- */

/*
 * The root owner of an object: its controller, and that one's controller
 * (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob), as far as the
 * caches know; an owner not (yet) cached is still named from the
 * ownerReference.  Strings are borrowed from the projections.  Every
 * projection starts with its struct kmeta.
 */
static void
root_of(struct engine *e, const char *kind, const struct kmeta *m,
    struct root_owner *r)
{
	const struct kmeta	*om;
	int			 depth;

	r->kind = kind;
	r->ns = m->ns;
	r->name = m->name;
	r->uid = m->uid;
	for (depth = 0; depth < 2 && m->owner.kind != NULL &&
	    m->owner.name != NULL; depth++) {
		r->kind = m->owner.kind;
		r->name = m->owner.name;
		r->uid = m->owner.uid;
		if ((om = engine_kind_get_at(e, engine_kind_index(m->owner.kind), m->ns,
		    m->owner.name)) == NULL)
			break;
		m = om;
	}
}

/* --- evaluation --- */

static void
evaluate(struct engine *e, int k, const void *obj)
{
	const struct kmeta	*m = obj;	/* first member of each */
	struct finding		 f;
	struct root_owner	 r;
	struct analyze_ctx	 ctx;
	const char		*kind = kind_name(k);

	memset(&ctx, 0, sizeof(ctx));
	ctx.arg = e;
	ctx.get = ctx_get;
	ctx.event = ctx_event;
	ctx.pods = ctx_pods;
	ctx.endpoints = ctx_endpoints;
	ctx.failed_pods = ctx_failed_pods;
	ctx.now = now_ms();
	if (analyze_object(&ctx, kind, obj, &f)) {
		root_of(e, kind, m, &r);
		if (incidents_object(&e->incs, kind, m->ns, m->name, &f, &r,
		    mono_ms()) == -1)
			log_warnx("%s %s/%s: out of memory tracking incident",
			    kind, m->ns, m->name);
	} else
		incidents_object(&e->incs, kind, m->ns, m->name, NULL, NULL,
		    mono_ms());
}

/*
 * Every cached object of kind k, evaluated in slices (base/slice.h): at
 * 150 000 pods one pass takes about a second, which the loop must not
 * spend in one callback.  Kinds are queued in order; the bulk slice walks
 * each kind's informers with a position kept across turns.  Objects that
 * change meanwhile are evaluated by their watch events as well; if an
 * informer's cache is replaced or grows, its walk starts again.
 */
static void
evaluate_all(struct engine *e, int k)
{
	size_t i;

	for (i = e->bulk_at; i < e->bulk_n; i++)
		if (e->bulk_kinds[i] == k)
			return;		/* queued and not started yet */
	if (e->bulk_n == sizeof(e->bulk_kinds) / sizeof(e->bulk_kinds[0]))
		return;		/* cannot happen: each kind once */
	e->bulk_kinds[e->bulk_n++] = k;
	slice_start(&e->bulk);
}

/* One object of the bulk evaluation; 0 once every queued kind is done. */
static int
bulk_step(void *arg)
{
	struct engine	 *e = arg;
	struct informer	**infs, *inf;
	void		 *v;
	size_t		  n;
	int		  k;

	while (e->bulk_at < e->bulk_n) {
		k = e->bulk_kinds[e->bulk_at];
		infs = infs_of(e, k, &n);
		if (e->bulk_inf >= n) {
			e->bulk_at++;
			e->bulk_inf = e->bulk_pos = 0;
			continue;
		}
		inf = infs[e->bulk_inf];
		if (e->bulk_pos == 0)
			e->bulk_epoch = informer_epoch(inf);
		else if (informer_epoch(inf) != e->bulk_epoch) {
			e->bulk_pos = 0;	/* its slots moved: again */
			e->bulk_epoch = informer_epoch(inf);
		}
		if (informer_next(inf, &e->bulk_pos, &v)) {
			evaluate(e, k, v);
			return 1;
		}
		e->bulk_inf++;
		e->bulk_pos = 0;
	}
	e->bulk_n = e->bulk_at = e->bulk_inf = e->bulk_pos = 0;
	if (!e->evaluated) {
		e->evaluated = 1;
		for (n = 0, k = 0; (size_t)k < e->ninf; k++)
			n += informer_size(e->pods[k]);
		log_info("caches synced: %zu pods", n);
	}
	return 0;
}

/* Re-evaluate the objects of kind k in ns for which match(obj, arg). */
static void
evaluate_where(struct engine *e, int k, const char *ns,
    int (*match)(const struct kobj *, const void *), const void *arg)
{
	void	*v;
	size_t	 i, pos;

	for (i = 0; i < e->nkinf[k]; i++) {
		pos = 0;
		while (informer_next(e->kinf[k][i], &pos, &v))
			if (strcmp(((struct kobj *)v)->m.ns, ns) == 0 &&
			    (match == NULL || match(v, arg)))
				evaluate(e, k, v);
	}
}

static int
svc_selects(const struct kobj *svc, const void *pod)
{
	json_t *sel = json_at(svc->f, "spec.selector");
	const struct kpod *p = pod;

	return json_is_object(sel) && json_object_size(sel) > 0 &&
	    kpod_selected(p, sel);
}

static int
sts_governed_by(const struct kobj *sts, const void *name)
{
	const char *s = json_str_at(sts->f, "spec.serviceName");

	return s != NULL && strcmp(s, name) == 0;
}

static int
named(const struct kobj *o, const void *name)
{
	return strcmp(o->m.name, name) == 0;
}

/* --- the Event index --- */

static void
evref_clear(struct evref *r)
{
	free(r->evname);
	free(r->reason);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

static void
evidx_clear(struct engine *e)
{
	const char	*k;
	void		*v;
	size_t		 pos = 0, i;

	while (hmap_next(&e->evidx, &pos, &k, &v)) {
		struct evlist *l = v;

		for (i = 0; i < l->n; i++)
			evref_clear(&l->v[i]);
		free(l);
	}
	hmap_clear(&e->evidx);
}

/*
 * Remember (del 0) or forget one Event about its involved object, keyed
 * "Kind/ns/name"; at most EVIDX_MAX per object, the oldest replaced.
 */
static void
evidx_update(struct engine *e, const struct kobj *ev, int del)
{
	const char	*ik = json_str_at(ev->f, "involvedObject.kind");
	const char	*in = json_str_at(ev->f, "involvedObject.name");
	const char	*ins = json_str_at(ev->f, "involvedObject.namespace");
	const char	*reason = json_str_at(ev->f, "reason");
	const char	*msg = json_str_at(ev->f, "message");
	struct evlist	*l;
	struct evref	*r = NULL;
	char		 key[768];
	size_t		 i, oldest;

	if (ik == NULL || in == NULL || reason == NULL)
		return;
	snprintf(key, sizeof(key), "%s/%s/%s", ik, ins ? ins : ev->m.ns, in);
	if ((l = hmap_get(&e->evidx, key)) == NULL) {
		if (del || (l = calloc(1, sizeof(*l))) == NULL)
			return;
		if (hmap_put(&e->evidx, key, l, NULL) == -1) {
			free(l);
			return;
		}
	}
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].evname, ev->m.name) == 0)
			r = &l->v[i];
	if (del) {
		if (r != NULL) {
			evref_clear(r);
			*r = l->v[--l->n];
			memset(&l->v[l->n], 0, sizeof(l->v[0]));
		}
		if (l->n == 0)
			free(hmap_del(&e->evidx, key));
		return;
	}
	if (r == NULL && l->n < EVIDX_MAX)
		r = &l->v[l->n++];
	else if (r == NULL) {
		for (i = oldest = 0; i < l->n; i++)
			if (l->v[i].seq < l->v[oldest].seq)
				oldest = i;
		r = &l->v[oldest];
	}
	evref_clear(r);
	r->evname = strdup(ev->m.name);
	r->reason = strdup(reason);
	r->message = strdup(msg ? msg : "");
	r->seq = ++e->evseq;
	if (r->evname == NULL || r->reason == NULL || r->message == NULL) {
		evref_clear(r);
		*r = l->v[--l->n];
		memset(&l->v[l->n], 0, sizeof(l->v[0]));
	}
}

/* --- informer callbacks --- */

/*
 * An owner (ReplicaSet, Job) that appears after its pods: they were
 * attributed to it as the root, not knowing its own owner; evaluate them
 * again so that they move to the real root (the Deployment, the CronJob).
 */
void
engine_owned_pods_again(struct engine *e, const char *kind,
    const struct kmeta *m)
{
	const struct kpod	*p;
	void			*v;
	size_t			 i, pos;

	for (i = 0; i < e->ninf; i++) {
		pos = 0;
		while (informer_next(e->pods[i], &pos, &v)) {
			p = v;
			if (p->m.owner.kind != NULL &&
			    strcmp(p->m.owner.kind, kind) == 0 &&
			    p->m.owner.name != NULL &&
			    strcmp(p->m.owner.name, m->name) == 0 &&
			    strcmp(p->m.ns, m->ns) == 0)
				evaluate(e, K_POD, p);
		}
	}
}

static void
dependents(struct engine *e, int k, const void *old, const void *new_)
{
	const struct kobj	*o = new_ ? new_ : old;
	const struct kpod	*p;
	const char		*name;
	int			 ik;
	void			*obj;

	switch (k) {
	case K_EVENT:
		ik = engine_kind_index(json_str_at(o->f, "involvedObject.kind") ?
		    json_str_at(o->f, "involvedObject.kind") : "");
		name = json_str_at(o->f, "involvedObject.name");
		if (ik >= 0 && name != NULL && (obj = engine_kind_get_at(e, ik, o->m.ns,
		    name)) != NULL)
			evaluate(e, ik, obj);
		break;
	case K_POD:
		/* The Services that select this pod (before or after). */
		p = new_ ? new_ : old;
		evaluate_where(e, K_SVC, p->m.ns, svc_selects, p);
		if (old != NULL && new_ != NULL)
			evaluate_where(e, K_SVC, p->m.ns, svc_selects, old);
		break;
	case K_SVC:
		evaluate_where(e, K_ING, o->m.ns, NULL, NULL);
		evaluate_where(e, K_STS, o->m.ns, sts_governed_by, o->m.name);
		break;
	case K_EPS:
		name = json_string_value(json_object_get(json_at(o->f,
		    "metadata.labels"), "kubernetes.io/service-name"));
		if (name != NULL)
			evaluate_where(e, K_SVC, o->m.ns, named, name);
		break;
	case K_RS:
	case K_JOB:
		if (old == NULL && new_ != NULL &&
		    ((const struct kmeta *)new_)->owner.kind != NULL)
			engine_owned_pods_again(e, kind_name(k), new_);
		break;
	default:
		break;
	}
}

static void
on_obj(struct engine *e, int k, enum informer_event ev, void *old,
    void *new_)
{
	const struct kmeta *m = new_ ? new_ : old;

	if (k == K_EVENT)
		evidx_update(e, new_ ? new_ : old, ev == INFORMER_DELETE);
	if (!e->synced)
		return;		/* evaluated in one pass once synced */
	if (k != K_EVENT && k != K_EPS && k != K_CREV) {
		if (ev == INFORMER_DELETE)
			incidents_object(&e->incs, kind_name(k), m->ns, m->name,
			    NULL, NULL, mono_ms());
		else
			evaluate(e, k, new_);
	}
	/* The informer has already dropped a deleted object from its cache,
	 * so its dependents see it gone. */
	dependents(e, k, ev == INFORMER_ADD ? NULL : old,
	    ev == INFORMER_DELETE ? NULL : new_);
}

static void
on_kind(struct informer *inf, enum informer_event ev, void *old, void *new_,
    void *arg)
{
	struct engine_kindarg *ka = arg;

	(void)inf;
	on_obj(ka->e, ka->k, ev, old, new_);
}

static void
on_pod(struct informer *inf, enum informer_event ev, void *old, void *new_,
    void *arg)
{
	(void)inf;
	on_obj(arg, K_POD, ev, old, new_);
}

static void
on_rs(struct informer *inf, enum informer_event ev, void *old, void *new_,
    void *arg)
{
	(void)inf;
	on_obj(arg, K_RS, ev, old, new_);
}

static void
on_dep(struct informer *inf, enum informer_event ev, void *old, void *new_,
    void *arg)
{
	(void)inf;
	on_obj(arg, K_DEP, ev, old, new_);
}

/* --- sync --- */

/*
 * Ready once the first API discovery answered or failed, pods, ReplicaSets
 * and Deployments have listed and every other kind discovery found has
 * listed or failed at least once (RBAC that does not grant a kind must
 * not stop detection).  Then
 * every cached object is evaluated in one pass (in slices, see
 * evaluate_all): before that, an owner may not be cached yet.  Watch
 * events are evaluated as they come from here on; the engine counts as
 * synced (remedyctl status, /readyz) once the pass is over.
 */
static void
check_synced(struct engine *e)
{
	struct informer_stats	 st;
	size_t			 i;
	int			 k;

	if (!e->disc_settled)
		return;		/* the kinds' versions are not known yet */
	for (i = 0; i < e->ninf; i++)
		if (!informer_synced(e->pods[i]) ||
		    !informer_synced(e->rsets[i]) ||
		    !informer_synced(e->deps[i]))
			return;
	for (k = 0; k < ENGINE_NKINDS; k++)
		for (i = 0; i < e->nkinf[k]; i++) {
			if (informer_synced(e->kinf[k][i]))
				continue;
			informer_stats(e->kinf[k][i], &st);
			if (st.errors == 0)
				return;
		}
	e->synced = 1;
	for (k = 0; k < ENGINE_NKINDS; k++)
		if (k != K_EVENT && k != K_EPS && k != K_CREV)
			evaluate_all(e, k);
	evaluate_all(e, K_RS);
	evaluate_all(e, K_DEP);
	evaluate_all(e, K_POD);
}

/* Commit the store's batch before the loop waits for I/O. */
static void
on_flush(uv_prepare_t *h)
{
	struct engine	*e = h->data;

	if (store_batch_pending(e->store) &&
	    store_flush(e->store) != STORE_OK)
		log_warnx("%s", store_errmsg(e->store));
}

int
engine_active(const struct engine *e)
{
	return e->lease == NULL || lease_is_leader(e->lease);
}

/* A new leader resumes what a previous leader left (engine_recover). */
void
engine_leader_changed(struct engine *e, int leader)
{
	if (!leader) {
		e->recovered = 0;
		return;
	}
	if (!e->stopping && !e->recovered) {
		e->recovered = 1;
		engine_recover(e);
	}
}

void
engine_approved(void *arg, int64_t id)
{
	struct engine *e = arg;

	if (!engine_active(e)) {
		log_warnx("action %lld approved on a standby: it is applied "
		    "once this instance holds the lease", (long long)id);
		return;
	}
	engine_apply(arg, id);
}

/*
 * remedyd analyze: the caches are synced and every incident they show is
 * stored and diagnosed (a symptom whose cause is an incident is not
 * diagnosed on its own), with no diagnosis or dry-run in flight.
 */
int
engine_settled(struct engine *e)
{
	struct incident	*inc;
	size_t		 pos = 0;

	if (!e->synced || !e->evaluated || e->inflight > 0)
		return 0;
	while (incidents_next(&e->incs, &pos, &inc)) {
		if (incident_objects(inc) == 0)
			continue;
		if (inc->symptom && incidents_has_cause(&e->incs, inc))
			continue;
		if (inc->store_id == 0 || !inc->diagnosed)
			return 0;
	}
	return 1;
}

const char *
engine_oneshot_failed(struct engine *e)
{
	struct informer	*core[3];
	long		 st;
	size_t		 i, j;

	if (e->oneshot_err[0] != '\0')
		return e->oneshot_err;
	for (i = 0; i < e->ninf; i++) {
		core[0] = e->pods[i];
		core[1] = e->rsets[i];
		core[2] = e->deps[i];
		for (j = 0; j < NELEM(core); j++) {
			if (informer_synced(core[j]))
				continue;
			st = informer_fail_status(core[j]);
			if (st != 401 && st != 403)
				continue;
			snprintf(e->oneshot_err, sizeof(e->oneshot_err),
			    "cannot list %s: the API server answered %ld%s",
			    informer_name(core[j]), st, st == 401 ?
			    " (the credentials are not accepted)" :
			    " (these credentials may not list them)");
			return e->oneshot_err;
		}
	}
	return NULL;
}

int
engine_synced(void *arg)
{
	struct engine *e = arg;

	return e->synced && e->evaluated;
}

static void	watch_failures(struct engine *);

static void
on_tick(uv_timer_t *t)
{
	struct engine	*e = t->data;
	int64_t		 now = mono_ms();

	watch_failures(e);
	if (!e->synced) {
		check_synced(e);
		if (!e->synced)
			return;
		engine_start_healthy_clocks(e, now);
		e->cron_at = now + CRON_EVERY_MS;
	}
	if (now >= e->cron_at) {
		evaluate_all(e, K_CRON);
		e->cron_at = now + CRON_EVERY_MS;
	}
	if (!engine_active(e))
		return;		/* a standby watches, but does not act */
	engine_incidents_tick(e, now);
	engine_verify_tick(e, now);
}

/* --- informers: which versions, which scope --- */

int
engine_kind_cluster(int k)
{
	return k >= 0 && k < ENGINE_NKINDS && kinds[k].cluster;
}

const char *
engine_kind_name(int k)
{
	return kind_name(k);
}

const struct informer_type *
engine_kind_type(int k)
{
	return kinds[k].t;
}

/*
 * A new informer for one namespaced (cluster 0) or cluster-scoped kind:
 * the i-th configured namespace, or, when the kind is watched cluster-wide
 * (wide), all namespaces filtered to the configured ones.
 */
static struct informer *
scope_new(struct engine *e, int wide, int cluster, size_t i,
    const struct informer_type *t, informer_cb cb, void *arg)
{
	const struct remedy_config	*cfg = e->cfg;
	struct informer			*inf;
	const char			*ns = NULL;

	if (!cluster && cfg->nnamespaces > 0 && !wide)
		ns = cfg->namespaces[i];
	if ((inf = informer_new(e->kube, e->loop, t, ns, cb, arg)) == NULL)
		return NULL;
	if (e->oneshot)
		informer_set_list_only(inf);
	if (!cluster && cfg->nnamespaces > 0 && wide &&
	    informer_set_namespaces(inf, cfg->namespaces, cfg->nnamespaces)
	    == -1) {
		informer_free(inf);
		return NULL;
	}
	return inf;
}

/* Informers a namespaced kind gets: one per configured namespace, or one
 * for all of them. */
static size_t
scope_count(const struct engine *e, int wide)
{
	return e->cfg->nnamespaces == 0 || wide ? 1 : e->cfg->nnamespaces;
}

/*
 * The informers of kind k are going away (its version changes, it is no
 * longer served, the scope changes): its objects leave the incidents and
 * the Event index as if deleted.
 */
static void
drop_objects(struct engine *e, int k)
{
	struct informer	**infs;
	const struct kmeta *m;
	void		 *v;
	size_t		  i, n, pos;

	infs = infs_of(e, k, &n);
	for (i = 0; i < n; i++) {
		pos = 0;
		while (informer_next(infs[i], &pos, &v)) {
			m = v;
			if (k == K_EVENT)
				evidx_update(e, v, 1);
			else if (e->synced && k != K_EPS)
				incidents_object(&e->incs, kind_name(k), m->ns,
				    m->name, NULL, NULL, mono_ms());
		}
	}
}

static int
core_open(struct engine *e)
{
	size_t	i, m = scope_count(e, e->core_wide);
	int	w = e->core_wide;

	for (i = 0; i < m; i++) {
		e->pods[i] = scope_new(e, w, 0, i, &kobj_pods, on_pod, e);
		e->rsets[i] = scope_new(e, w, 0, i, &kobj_replicasets, on_rs,
		    e);
		e->deps[i] = scope_new(e, w, 0, i, &kobj_deployments, on_dep,
		    e);
		if (!e->pods[i] || !e->rsets[i] || !e->deps[i]) {
			informer_free(e->pods[i]);
			informer_free(e->rsets[i]);
			informer_free(e->deps[i]);
			return -1;
		}
		/* pods are the big, busy resource; the other watches keep
		 * libcurl's 16 KiB (every running watch holds its buffer) */
		informer_set_watch_buffer(e->pods[i],
		    INFORMER_WATCH_BUFFER_LARGE);
		e->ninf++;
	}
	for (i = 0; i < e->ninf; i++) {
		informer_start(e->rsets[i]);
		informer_start(e->deps[i]);
		informer_start(e->pods[i]);
	}
	return 0;
}

static void
core_close(struct engine *e)
{
	size_t i;

	drop_objects(e, K_POD);
	drop_objects(e, K_RS);
	drop_objects(e, K_DEP);
	for (i = 0; i < e->ninf; i++) {
		informer_free(e->pods[i]);
		informer_free(e->rsets[i]);
		informer_free(e->deps[i]);
		e->pods[i] = e->rsets[i] = e->deps[i] = NULL;
	}
	e->ninf = 0;
}

int
engine_kind_open(struct engine *e, int k, const struct informer_type *t)
{
	size_t i, m = kinds[k].cluster ? 1 : scope_count(e, e->kwide[k]);

	for (i = 0; i < m; i++) {
		if ((e->kinf[k][i] = scope_new(e, e->kwide[k], kinds[k].cluster,
		    i, t, on_kind, &e->kargs[k])) == NULL)
			return -1;
		e->nkinf[k]++;
	}
	e->kver[k] = t;
	for (i = 0; i < e->nkinf[k]; i++)
		informer_start(e->kinf[k][i]);
	return 0;
}

void
engine_kind_close(struct engine *e, int k)
{
	size_t i;

	drop_objects(e, k);
	for (i = 0; i < e->nkinf[k]; i++) {
		informer_free(e->kinf[k][i]);
		e->kinf[k][i] = NULL;
	}
	e->nkinf[k] = 0;
	e->kver[k] = NULL;
}

/*
 * A cluster-wide LIST of kind k was forbidden: the credentials are
 * namespace-scoped for it (RoleBindings), so it is watched namespace by
 * namespace from now on.  Pods, ReplicaSets and Deployments move
 * together.  Once per kind and run.
 */
static void
rescope(struct engine *e, int k, const char *resource)
{
	const struct informer_type *t;

	log_notice("cluster-wide LIST of %s forbidden: watching the %zu "
	    "configured namespaces one by one", resource,
	    e->cfg->nnamespaces);
	if (k == K_POD || k == K_RS || k == K_DEP) {
		e->core_wide = 0;
		core_close(e);
		if (core_open(e) == -1)
			log_warnx("out of memory starting the informers");
		return;
	}
	e->kwide[k] = 0;
	if ((t = e->kver[k]) == NULL)
		return;
	engine_kind_close(e, k);
	if (engine_kind_open(e, k, t) == -1)
		log_warnx("%s: out of memory starting its informers",
		    kind_name(k));
}

/*
 * What the last LIST or WATCH answered decides two things: a 403 on a
 * cluster-wide LIST of a namespaced kind means namespace-scoped
 * credentials for it (rescope), and a 404 means a kind is no longer
 * served at the version discovery chose: its family is off until the
 * next discovery finds it again (no retry storm).
 */
static void
watch_failures(struct engine *e)
{
	struct informer	**infs;
	size_t		  i, n;
	long		  st;
	int		  k, kk, ks[3] = { K_POD, K_RS, K_DEP };

	for (k = -3; k < ENGINE_NKINDS; k++) {
		kk = k < 0 ? ks[k + 3] : k;
		infs = infs_of(e, kk, &n);
		for (i = 0; i < n; i++) {
			st = informer_fail_status(infs[i]);
			if (st == 403 && !engine_kind_cluster(kk) &&
			    (k < 0 ? e->core_wide : e->kwide[kk]) &&
			    e->cfg->nnamespaces > 1) {
				rescope(e, kk, informer_name(infs[i]));
				break;
			}
			if (st == 404 && k >= 0) {
				engine_kind_gone(e, kk);
				break;
			}
		}
	}
}

int
engine_start(struct engine *e, uv_loop_t *loop, const struct remedy_config *cfg,
    struct store *st, struct kube_client *kube)
{
	struct lease	*lease;
	size_t		 n;
	int		 k, oneshot, no_dryrun;

	/* the fields set before the start */
	lease = e->lease;
	oneshot = e->oneshot;
	no_dryrun = e->no_dryrun;
	memset(e, 0, sizeof(*e));
	e->lease = lease;
	e->oneshot = oneshot;
	e->no_dryrun = no_dryrun;
	e->loop = loop;
	e->cfg = cfg;
	e->store = st;
	e->kube = kube;
	incidents_init(&e->incs);
	hmap_init(&e->evidx);
	/* Several namespaces: one cluster-wide watch per kind, filtered,
	 * until a 403 says the credentials are namespace-scoped for it. */
	e->core_wide = cfg->nnamespaces > 1;
	for (k = 0; k < ENGINE_NKINDS; k++)
		e->kwide[k] = e->core_wide;
	n = cfg->nnamespaces ? cfg->nnamespaces : 1;
	if ((e->pods = calloc(n, sizeof(*e->pods))) == NULL ||
	    (e->rsets = calloc(n, sizeof(*e->rsets))) == NULL ||
	    (e->deps = calloc(n, sizeof(*e->deps))) == NULL ||
	    (e->kargs = calloc(ENGINE_NKINDS, sizeof(*e->kargs))) == NULL)
		return -1;
	for (k = 0; k < ENGINE_NKINDS; k++) {
		e->kargs[k].e = e;
		e->kargs[k].k = k;
		if ((e->kinf[k] = calloc(n, sizeof(*e->kinf[k]))) == NULL)
			return -1;
	}
	engine_load_open(e);
	/* Pods, ReplicaSets and Deployments are served at v1 by every
	 * supported server; the other kinds start once discovery said at
	 * which version (discover.c). */
	if (core_open(e) == -1 || engine_discovery_start(e) == -1)
		return -1;
	uv_timer_init(loop, &e->tick);
	e->tick.data = e;
	slice_init(&e->bulk, loop, bulk_step, e);
	slice_init(&e->isweep, loop, engine_sweep_step, e);
	slice_init(&e->psweep, loop, engine_pending_step, e);
	hmap_init(&e->causes);
	/* the store's batch: one transaction per loop turn */
	store_batch(st, 1);
	uv_prepare_init(loop, &e->flush);
	e->flush.data = e;
	uv_prepare_start(&e->flush, on_flush);
	uv_unref((uv_handle_t *)&e->flush);
	/* a one-shot look has nothing to pace: it ends when it is done */
	uv_timer_start(&e->tick, on_tick, e->oneshot ? ENGINE_TICK_ONESHOT_MS :
	    ENGINE_TICK_MS, e->oneshot ? ENGINE_TICK_ONESHOT_MS :
	    ENGINE_TICK_MS);
	if (engine_active(e)) {
		e->recovered = 1;
		engine_recover(e);
	}
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
	size_t	i;
	int	k;

	if (e->stopping)
		return;
	e->stopping = 1;
	e->drained = drained;
	e->drained_arg = arg;
	uv_timer_stop(&e->tick);
	uv_close((uv_handle_t *)&e->tick, NULL);
	slice_close(&e->bulk, NULL);
	slice_close(&e->isweep, NULL);
	slice_close(&e->psweep, NULL);
	/* what is written while draining is committed at once */
	on_flush(&e->flush);
	store_batch(e->store, 0);
	uv_close((uv_handle_t *)&e->flush, NULL);
	engine_discovery_stop(e);
	for (i = 0; i < e->ninf; i++) {
		informer_free(e->pods[i]);
		informer_free(e->rsets[i]);
		informer_free(e->deps[i]);
	}
	e->ninf = 0;
	for (k = 0; k < ENGINE_NKINDS; k++) {
		for (i = 0; i < e->nkinf[k]; i++)
			informer_free(e->kinf[k][i]);
		e->nkinf[k] = 0;
	}
	engine_agent_stop(e);
	engine_diag_stop(e);
	engine_check_drained(e);
}

void
engine_free(struct engine *e)
{
	int k;

	engine_verify_free(e);
	engine_diag_free(e);
	engine_sweep_clear(e);
	hmap_clear(&e->causes);
	incidents_clear(&e->incs);
	evidx_clear(e);
	free(e->pods);
	free(e->rsets);
	free(e->deps);
	for (k = 0; k < ENGINE_NKINDS; k++)
		free(e->kinf[k]);
	free(e->kargs);
}
