/*
 * objects.c - see objects.h.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "kube/objects.h"

/*
 * A projection is filled twice by the same function: first with a measuring
 * arena (p == NULL: strings are only counted and their fields left NULL, the
 * struct and its array on the stack), then into one block of the measured
 * size (ablock).  Walking the JSON twice costs less than the dozens of
 * mallocs it replaces, and one fill function keeps the passes in step.
 */
struct arena {
	char	*p;		/* next free byte; NULL while measuring */
	char	*end;		/* end of the block, for the final check */
	size_t	 need;		/* string bytes counted while measuring */
	int	 intern;	/* aintern() takes strings from the pool */
	int	 oom;		/* the pool ran out of memory */
};

/*
 * The strings nearly every pod repeats (namespace, node, owner kind, phase,
 * images) are kept once in a process-wide pool, each counting the pods that
 * point at it.  The last kobj_pod_free() of a string frees it and the last
 * string takes the table with it, so an empty cache leaves nothing behind
 * (the ASan tests check for leaks at exit).  Single-threaded, like the loop
 * that owns the informers.
 */
struct istr {
	struct istr	*next;		/* in the bucket */
	uint32_t	 refs;
	uint32_t	 hash;
	char		 s[];
};

static struct istr	**pool;
static size_t		  pool_nb;	/* buckets, a power of 2 */
static size_t		  pool_n;	/* strings */

static uint32_t
str_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int
pool_grow(void)
{
	struct istr	**nb, *e, *next;
	size_t		  i, n = pool_nb > 0 ? pool_nb * 2 : 256;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	for (i = 0; i < pool_nb; i++)
		for (e = pool[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	free(pool);
	pool = nb;
	pool_nb = n;
	return 0;
}

/* The pooled copy of s, with one more reference; NULL when out of memory. */
static char *
istr_get(const char *s)
{
	struct istr	*e;
	uint32_t	 h = str_hash(s);
	size_t		 len;

	if (pool_nb > 0)
		for (e = pool[h & (pool_nb - 1)]; e != NULL; e = e->next)
			if (e->hash == h && strcmp(e->s, s) == 0) {
				e->refs++;
				return e->s;
			}
	/* a failed grow only lengthens the chains */
	if (pool_n >= pool_nb && pool_grow() == -1 && pool_nb == 0)
		return NULL;
	len = strlen(s) + 1;
	if ((e = malloc(offsetof(struct istr, s) + len)) == NULL)
		return NULL;
	memcpy(e->s, s, len);
	e->refs = 1;
	e->hash = h;
	e->next = pool[h & (pool_nb - 1)];
	pool[h & (pool_nb - 1)] = e;
	pool_n++;
	return e->s;
}

/* Drop a reference taken by istr_get(); NULL is ignored. */
static void
istr_put(char *s)
{
	struct istr	*e, **pp;

	if (s == NULL)
		return;
	e = (struct istr *)(void *)(s - offsetof(struct istr, s));
	if (--e->refs > 0)
		return;
	for (pp = &pool[e->hash & (pool_nb - 1)]; *pp != e; pp = &(*pp)->next)
		;
	*pp = e->next;
	free(e);
	if (--pool_n == 0) {
		free(pool);
		pool = NULL;
		pool_nb = 0;
	}
}

/* Copy s into the arena; NULL when s is NULL or while measuring. */
static char *
astr(struct arena *a, const char *s)
{
	char	*d;
	size_t	 n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	if (a->p == NULL) {
		a->need += n;
		return NULL;
	}
	d = memcpy(a->p, s, n);
	a->p += n;
	return d;
}

/* Like astr(), but from the pool when a->intern is set: nothing to count
 * while measuring, and the field must be released with istr_put(). */
static char *
aintern(struct arena *a, const char *s)
{
	char *d;

	if (!a->intern)
		return astr(a, s);
	if (s == NULL || a->p == NULL)
		return NULL;
	if ((d = istr_get(s)) == NULL)
		a->oom = 1;
	return d;
}

static char *
afield(struct arena *a, json_t *obj, const char *path)
{
	return astr(a, json_str_at(obj, path));
}

/* After measuring: one block of head bytes (the struct and its array)
 * followed by the strings; a then copies into it. */
static void *
ablock(struct arena *a, size_t head)
{
	char *b;

	if (a->need > SIZE_MAX - head || (b = malloc(head + a->need)) == NULL)
		return NULL;
	a->p = b + head;
	a->end = a->p + a->need;
	return b;
}

/*
 * Fill the common metadata.  The controller owner is the ownerReference
 * with controller: true.  Returns -1 when name or namespace is missing (the
 * object cannot be keyed).
 */
static int
kmeta_fill_ns(struct kmeta *m, json_t *obj, int namespaced, struct arena *a)
{
	json_t	*refs, *ref;
	size_t	 i;

	memset(m, 0, sizeof(*m));
	if (json_str_at(obj, "metadata.name") == NULL ||
	    (namespaced && json_str_at(obj, "metadata.namespace") == NULL))
		return -1;
	m->ns = namespaced ?
	    aintern(a, json_str_at(obj, "metadata.namespace")) : astr(a, "");
	m->name = afield(a, obj, "metadata.name");
	m->uid = afield(a, obj, "metadata.uid");
	m->rv = afield(a, obj, "metadata.resourceVersion");
	m->generation = json_int_at(obj, "metadata.generation", 0);
	refs = json_at(obj, "metadata.ownerReferences");
	json_array_foreach(refs, i, ref) {
		if (!json_is_true(json_object_get(ref, "controller")))
			continue;
		m->owner.kind = aintern(a, json_str_at(ref, "kind"));
		m->owner.name = afield(a, ref, "name");
		m->owner.uid = afield(a, ref, "uid");
		break;
	}
	return 0;
}

static int
kmeta_fill(struct kmeta *m, json_t *obj, struct arena *a)
{
	return kmeta_fill_ns(m, obj, 1, a);
}

json_t *
kcond(json_t *conds, const char *type)
{
	json_t	*c;
	size_t	 i;

	json_array_foreach(conds, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));

		if (t != NULL && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

/* The condition type of status.conditions, or NULL. */
static json_t *
status_cond(json_t *obj, const char *type)
{
	return kcond(json_at(obj, "status.conditions"), type);
}

/* True when the string at path of obj (which may be NULL) equals want. */
static int
str_is(json_t *obj, const char *path, const char *want)
{
	const char *s = json_str_at(obj, path);

	return s != NULL && strcmp(s, want) == 0;
}

static int64_t
revision_of(json_t *obj)
{
	const char *s;

	s = json_string_value(json_object_get(json_at(obj,
	    "metadata.annotations"), "deployment.kubernetes.io/revision"));
	return s ? strtoll(s, NULL, 10) : 0;
}

/* spec.template.spec.containers into c (room for KOBJ_MAX_CONTAINERS). */
static int
containers_fill(struct kcontainer *c, size_t *n, json_t *obj,
    struct arena *a)
{
	json_t	*list, *e;
	size_t	 i;

	*n = 0;
	list = json_at(obj, "spec.template.spec.containers");
	if (!json_is_array(list))
		return 0;
	if (json_array_size(list) > KOBJ_MAX_CONTAINERS)
		return -1;
	json_array_foreach(list, i, e) {
		c[i].name = afield(a, e, "name");
		c[i].image = afield(a, e, "image");
		(*n)++;
	}
	return 0;
}

static int
statuses_fill(struct kpod *p, json_t *list, int init, struct arena *a)
{
	json_t		*cs;
	struct kcstatus	*st;
	size_t		 i, n;

	if (!json_is_array(list) || (n = json_array_size(list)) == 0)
		return 0;
	if (p->nstatus + n > KOBJ_MAX_CONTAINERS)
		return -1;
	json_array_foreach(list, i, cs) {
		st = &p->st[p->nstatus++];
		memset(st, 0, sizeof(*st));
		st->init = init;
		st->ready = json_is_true(json_object_get(cs, "ready"));
		st->restarts = (int)json_int_at(cs, "restartCount", 0);
		st->name = afield(a, cs, "name");
		st->image = aintern(a, json_str_at(cs, "image"));
		st->waiting_reason = afield(a, cs, "state.waiting.reason");
		st->waiting_message = afield(a, cs, "state.waiting.message");
		st->term_reason = afield(a, cs, "state.terminated.reason");
		st->last_reason = afield(a, cs, "lastState.terminated.reason");
		st->terminated = json_at(cs, "state.terminated") != NULL;
		st->term_exit = (int)json_int_at(cs, "state.terminated.exitCode",
		    0);
		st->has_last = json_at(cs, "lastState.terminated") != NULL;
		st->last_exit = (int)json_int_at(cs,
		    "lastState.terminated.exitCode", 0);
	}
	return 0;
}

/*
 * Pack metadata.labels as "k\0v\0k\0v\0\0"; NULL when there is none.  A
 * label with an empty key (it would end the list) or a value that is not
 * a string is dropped: the API server accepts neither, and the old jansson
 * copy could not match one either.
 */
static const char *
labels_pack(json_t *labels, struct arena *a)
{
	const char	*k, *start = a->p;
	json_t		*v;
	int		 any = 0;

	if (!json_is_object(labels))
		return NULL;
	json_object_foreach(labels, k, v) {
		if (*k == '\0' || !json_is_string(v))
			continue;
		astr(a, k);
		astr(a, json_string_value(v));
		any = 1;
	}
	if (!any)
		return NULL;
	astr(a, "");
	return start;
}

int
kpod_label_next(const struct kpod *p, const char **it, const char **key,
    const char **value)
{
	const char *s = *it != NULL ? *it : p->labels;

	if (s == NULL || *s == '\0')
		return 0;
	*key = s;
	s += strlen(s) + 1;
	*value = s;
	*it = s + strlen(s) + 1;
	return 1;
}

const char *
kpod_label(const struct kpod *p, const char *key)
{
	const char *it = NULL, *k, *v;

	while (kpod_label_next(p, &it, &k, &v))
		if (strcmp(k, key) == 0)
			return v;
	return NULL;
}

int
kpod_selected(const struct kpod *p, json_t *selector)
{
	const char	*k, *have;
	json_t		*v;

	json_object_foreach(selector, k, v) {
		if (!json_is_string(v) || (have = kpod_label(p, k)) == NULL ||
		    strlen(have) != json_string_length(v) ||
		    strcmp(have, json_string_value(v)) != 0)
			return 0;
	}
	return 1;
}

/* st has room for KOBJ_MAX_CONTAINERS statuses. */
static int
pod_fill(struct kpod *p, struct kcstatus *st, json_t *obj, struct arena *a)
{
	json_t *sched = status_cond(obj, "PodScheduled");

	memset(p, 0, sizeof(*p));
	p->st = st;
	if (kmeta_fill(&p->m, obj, a) == -1 ||
	    statuses_fill(p, json_at(obj, "status.initContainerStatuses"), 1,
	    a) == -1 ||
	    statuses_fill(p, json_at(obj, "status.containerStatuses"), 0,
	    a) == -1)
		return -1;
	if (p->nstatus == 0)
		p->st = NULL;
	p->phase = aintern(a, json_str_at(obj, "status.phase"));
	p->node = aintern(a, json_str_at(obj, "spec.nodeName"));
	p->reason = afield(a, obj, "status.reason");
	p->message = afield(a, obj, "status.message");
	p->unscheduled = str_is(sched, "status", "False");
	if (sched != NULL) {
		p->sched_reason = afield(a, sched, "reason");
		p->sched_message = afield(a, sched, "message");
	}
	p->ready = str_is(status_cond(obj, "Ready"), "status", "True");
	p->labels = labels_pack(json_at(obj, "metadata.labels"), a);
	p->deleting = json_at(obj, "metadata.deletionTimestamp") != NULL &&
	    !json_is_null(json_at(obj, "metadata.deletionTimestamp"));
	return 0;
}

/* The pod's strings from the pool: those pod_fill() takes with aintern(). */
void
kobj_pod_free(void *v)
{
	struct kpod	*p = v;
	size_t		 i;

	if (p == NULL)
		return;
	istr_put(p->m.ns);
	istr_put(p->m.owner.kind);
	istr_put(p->phase);
	istr_put(p->node);
	for (i = 0; i < p->nstatus; i++)
		istr_put(p->st[i].image);
	free(p);
}

void *
kobj_pod_project(json_t *obj)
{
	struct kpod	 tmp, *p;
	struct kcstatus	 tst[KOBJ_MAX_CONTAINERS];
	struct arena	 a = { NULL, NULL, 0, 1, 0 };
	size_t		 n;

	if (pod_fill(&tmp, tst, obj, &a) == -1)
		return NULL;
	n = tmp.nstatus;
	if ((p = ablock(&a, sizeof(*p) + n * sizeof(*p->st))) == NULL)
		return NULL;
	if (pod_fill(p, (struct kcstatus *)(p + 1), obj, &a) == -1 ||
	    p->nstatus != n || a.oom) {
		kobj_pod_free(p);
		return NULL;
	}
	assert(a.p == a.end);
	return p;
}

/* c has room for KOBJ_MAX_CONTAINERS containers. */
static int
replicaset_fill(struct kreplicaset *rs, struct kcontainer *c, json_t *obj,
    struct arena *a)
{
	json_t *fail = status_cond(obj, "ReplicaFailure");

	memset(rs, 0, sizeof(*rs));
	if (kmeta_fill(&rs->m, obj, a) == -1 ||
	    containers_fill(c, &rs->ncont, obj, a) == -1)
		return -1;
	rs->cont = rs->ncont > 0 ? c : NULL;
	if (str_is(fail, "status", "True")) {
		rs->failure_reason = afield(a, fail, "reason");
		rs->failure_message = afield(a, fail, "message");
	}
	rs->revision = revision_of(obj);
	rs->replicas = (int)json_int_at(obj, "spec.replicas", 1);
	rs->available = (int)json_int_at(obj, "status.availableReplicas", 0);
	return 0;
}

void
kobj_replicaset_free(void *v)
{
	free(v);
}

void *
kobj_replicaset_project(json_t *obj)
{
	struct kreplicaset	 tmp, *rs;
	struct kcontainer	 tc[KOBJ_MAX_CONTAINERS];
	struct arena		 a = { NULL, NULL, 0, 0, 0 };
	size_t			 n;

	if (replicaset_fill(&tmp, tc, obj, &a) == -1)
		return NULL;
	n = tmp.ncont;
	if ((rs = ablock(&a, sizeof(*rs) + n * sizeof(*rs->cont))) == NULL)
		return NULL;
	if (replicaset_fill(rs, (struct kcontainer *)(rs + 1), obj, &a) ==
	    -1 || rs->ncont != n) {
		free(rs);
		return NULL;
	}
	assert(a.p == a.end);
	return rs;
}

/* c has room for KOBJ_MAX_CONTAINERS containers. */
static int
deployment_fill(struct kdeployment *d, struct kcontainer *c, json_t *obj,
    struct arena *a)
{
	json_t	*prog = status_cond(obj, "Progressing");
	json_t	*avail = status_cond(obj, "Available");

	memset(d, 0, sizeof(*d));
	if (kmeta_fill(&d->m, obj, a) == -1 ||
	    containers_fill(c, &d->ncont, obj, a) == -1)
		return -1;
	d->cont = d->ncont > 0 ? c : NULL;
	if (prog != NULL) {
		d->progress_status = afield(a, prog, "status");
		d->progress_reason = afield(a, prog, "reason");
		d->progress_message = afield(a, prog, "message");
	}
	if (avail != NULL) {
		d->avail_status = afield(a, avail, "status");
		d->avail_reason = afield(a, avail, "reason");
		d->avail_message = afield(a, avail, "message");
	}
	d->revision = revision_of(obj);
	d->observed_generation = json_int_at(obj, "status.observedGeneration", 0);
	d->replicas = (int)json_int_at(obj, "spec.replicas", 1);
	d->st_replicas = (int)json_int_at(obj, "status.replicas", 0);
	d->updated = (int)json_int_at(obj, "status.updatedReplicas", 0);
	d->ready = (int)json_int_at(obj, "status.readyReplicas", 0);
	d->available = (int)json_int_at(obj, "status.availableReplicas", 0);
	d->unavailable = (int)json_int_at(obj, "status.unavailableReplicas", 0);
	d->paused = json_is_true(json_at(obj, "spec.paused"));
	return 0;
}

void
kobj_deployment_free(void *v)
{
	free(v);
}

void *
kobj_deployment_project(json_t *obj)
{
	struct kdeployment	 tmp, *d;
	struct kcontainer	 tc[KOBJ_MAX_CONTAINERS];
	struct arena		 a = { NULL, NULL, 0, 0, 0 };
	size_t			 n;

	if (deployment_fill(&tmp, tc, obj, &a) == -1)
		return NULL;
	n = tmp.ncont;
	if ((d = ablock(&a, sizeof(*d) + n * sizeof(*d->cont))) == NULL)
		return NULL;
	if (deployment_fill(d, (struct kcontainer *)(d + 1), obj, &a) == -1 ||
	    d->ncont != n) {
		free(d);
		return NULL;
	}
	assert(a.p == a.end);
	return d;
}

/*
 * Healthy as `kubectl rollout status` judges it: the controller has seen the
 * current generation, every replica runs the current template, all are
 * available and no old replica is left over.
 */
int
kdeployment_healthy(const struct kdeployment *d)
{
	return d->observed_generation >= d->m.generation &&
	    d->updated == d->replicas && d->available == d->replicas &&
	    d->st_replicas == d->replicas && d->unavailable == 0;
}

const struct informer_type kobj_pods = {
	"pods", "/api/v1", "pods", kobj_pod_project, kobj_pod_free
};
const struct informer_type kobj_replicasets = {
	"replicasets", "/apis/apps/v1", "replicasets",
	kobj_replicaset_project, kobj_replicaset_free
};
const struct informer_type kobj_deployments = {
	"deployments", "/apis/apps/v1", "deployments",
	kobj_deployment_project, kobj_deployment_free
};

/* --- generic projections --- */

/*
 * Copy the value at the dotted path of src into dst at the same path,
 * creating the intermediate objects.  A missing value is not an error.
 */
static int
copy_path(json_t *dst, json_t *src, const char *path)
{
	json_t	*v, *cur = dst, *next;
	char	 buf[256], *p, *dot;

	if ((v = json_at(src, path)) == NULL)
		return 0;
	if (strlen(path) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf; (dot = strchr(p, '.')) != NULL; p = dot + 1) {
		*dot = '\0';
		if ((next = json_object_get(cur, p)) == NULL) {
			if ((next = json_object()) == NULL ||
			    json_object_set_new(cur, p, next) == -1)
				return -1;
		}
		if (!json_is_object(next))
			return -1;
		cur = next;
	}
	return json_object_set_new(cur, p, json_deep_copy(v));
}

void
kobj_free(void *v)
{
	struct kobj *o = v;

	if (o == NULL)
		return;
	json_decref(o->f);
	free(o);
}

static void *
kobj_generic(json_t *obj, const char *kind, int namespaced,
    const char *const *paths)
{
	struct kobj	 tmp, *o;
	struct arena	 a = { NULL, NULL, 0, 0, 0 };

	if (kmeta_fill_ns(&tmp.m, obj, namespaced, &a) == -1 ||
	    (o = ablock(&a, sizeof(*o))) == NULL)
		return NULL;
	if (kmeta_fill_ns(&o->m, obj, namespaced, &a) == -1) {
		free(o);
		return NULL;
	}
	assert(a.p == a.end);
	o->kind = kind;
	if ((o->f = json_object()) == NULL)
		goto fail;
	for (; *paths != NULL; paths++)
		if (copy_path(o->f, obj, *paths) == -1)
			goto fail;
	return o;
fail:
	kobj_free(o);
	return NULL;
}

/*
 * The fields each kind keeps: what lib/analyze/ reads, nothing else (no
 * annotations, no managedFields, no pod templates).
 */
#define KOBJ_KIND(fn, kind, namespaced, ...)				\
	static const char *const fn##_paths[] = { __VA_ARGS__, NULL };	\
	static void *fn##_project(json_t *o)				\
	{								\
		return kobj_generic(o, kind, namespaced, fn##_paths);	\
	}

KOBJ_KIND(node, "Node", 0, "spec.unschedulable", "spec.taints",
    "status.conditions", "metadata.labels", "status.allocatable")
KOBJ_KIND(sts, "StatefulSet", 1, "metadata.generation", "spec.replicas",
    "spec.serviceName", "status.observedGeneration", "status.replicas",
    "status.readyReplicas", "status.availableReplicas",
    "status.updatedReplicas", "status.currentRevision",
    "status.updateRevision")
KOBJ_KIND(ds, "DaemonSet", 1, "metadata.generation",
    "status.observedGeneration", "status.desiredNumberScheduled",
    "status.currentNumberScheduled", "status.numberReady",
    "status.numberAvailable", "status.numberUnavailable",
    "status.numberMisscheduled", "status.updatedNumberScheduled")
KOBJ_KIND(job, "Job", 1, "spec.backoffLimit", "spec.activeDeadlineSeconds",
    "status.conditions", "status.failed", "status.succeeded",
    "status.active")
KOBJ_KIND(cronjob, "CronJob", 1, "metadata.creationTimestamp",
    "spec.schedule", "spec.suspend", "status.lastScheduleTime",
    "status.lastSuccessfulTime")
KOBJ_KIND(pvc, "PersistentVolumeClaim", 1, "spec.storageClassName",
    "status.phase")
KOBJ_KIND(sc, "StorageClass", 0, "provisioner", "metadata.annotations")
KOBJ_KIND(svc, "Service", 1, "spec.selector", "spec.type", "spec.ports")
KOBJ_KIND(eps, "EndpointSlice", 1, "metadata.labels", "endpoints")
KOBJ_KIND(ing, "Ingress", 1, "spec.defaultBackend", "spec.rules")
KOBJ_KIND(hpa, "HorizontalPodAutoscaler", 1, "spec.minReplicas",
    "spec.maxReplicas", "spec.scaleTargetRef", "status.currentReplicas",
    "status.desiredReplicas", "status.conditions")
KOBJ_KIND(pdb, "PodDisruptionBudget", 1, "spec.minAvailable",
    "spec.maxUnavailable", "status.disruptionsAllowed",
    "status.currentHealthy", "status.desiredHealthy", "status.expectedPods")
KOBJ_KIND(evall, "Event", 1, "involvedObject.kind", "involvedObject.name",
    "involvedObject.namespace", "reason", "message", "type", "count",
    "series.count", "lastTimestamp", "eventTime")

KOBJ_KIND(hpa1, "HorizontalPodAutoscaler", 1, "spec.minReplicas",
    "spec.maxReplicas", "spec.scaleTargetRef", "status.currentReplicas",
    "status.desiredReplicas")

#define HPA_V1_CONDITIONS	"autoscaling.alpha.kubernetes.io/conditions"
#define HPA_V1_MAX_CONDITIONS	(64 * 1024)

/*
 * autoscaling/v1 has no status.conditions: the API server carries the
 * v2 conditions in an annotation holding their JSON.  They are moved to
 * status.conditions, so the analyzer reads one shape; an annotation that
 * is not a JSON array (or is oversized) is ignored.
 */
static void *
hpa_v1_project(json_t *o)
{
	struct kobj	*k;
	json_t		*conds, *status;
	const char	*s;

	if ((k = hpa1_project(o)) == NULL)
		return NULL;
	s = json_string_value(json_object_get(json_at(o,
	    "metadata.annotations"), HPA_V1_CONDITIONS));
	if (s == NULL || strlen(s) > HPA_V1_MAX_CONDITIONS)
		return k;
	if ((conds = json_loads(s, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return k;
	if (!json_is_array(conds)) {
		json_decref(conds);
		return k;
	}
	if ((status = json_object_get(k->f, "status")) == NULL) {
		if ((status = json_object()) == NULL ||
		    json_object_set_new(k->f, "status", status) == -1) {
			json_decref(conds);
			kobj_free(k);
			return NULL;
		}
	}
	if (json_object_set_new(status, "conditions", conds) == -1) {
		kobj_free(k);
		return NULL;
	}
	return k;
}

KOBJ_KIND(crev, "ControllerRevision", 1, "revision",
    "metadata.labels.controller-revision-hash")

/*
 * A ControllerRevision (apps/v1) of a StatefulSet or DaemonSet: its
 * revision number, its hash label and, as "containers", the name and image
 * of each container of the pod template it records (data.spec.template;
 * nothing else of the template is kept).  The controller is in m.owner.
 */
static void *
cr_project(json_t *obj)
{
	struct kobj	*o;
	json_t		*c, *list;
	size_t		 i;

	if ((o = crev_project(obj)) == NULL)
		return NULL;
	if ((list = json_array()) == NULL ||
	    json_object_set_new(o->f, "containers", list) == -1)
		goto fail;
	json_array_foreach(json_at(obj, "data.spec.template.spec.containers"),
	    i, c) {
		if (json_str_at(c, "name") == NULL ||
		    json_str_at(c, "image") == NULL)
			continue;
		if (json_array_append_new(list, json_pack("{s:s, s:s}", "name",
		    json_str_at(c, "name"), "image", json_str_at(c, "image"))) ==
		    -1)
			goto fail;
	}
	return o;
fail:
	kobj_free(o);
	return NULL;
}

/*
 * Only the Events whose reason an analyzer reads are cached (lib/analyze/
 * pod.c and storage.c); the rest (Scheduled, Pulling, Started, ...) are
 * most of a cluster's Events and are skipped, which keeps the cache to the
 * failures.
 */
static void *
ev_project(json_t *o)
{
	static const char *const reasons[] = {
		"Unhealthy", "FailedMount", "FailedAttachVolume",
		"FailedCreatePodSandBox", "FailedScheduling",
		"ProvisioningFailed",
	};
	const char	*r = json_str_at(o, "reason");
	size_t		 i;

	for (i = 0; r != NULL && i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(r, reasons[i]) == 0)
			return evall_project(o);
	return NULL;
}

const struct informer_type kobj_nodes = {
	"nodes", "/api/v1", "nodes", node_project, kobj_free
};
const struct informer_type kobj_statefulsets = {
	"statefulsets", "/apis/apps/v1", "statefulsets", sts_project, kobj_free
};
const struct informer_type kobj_daemonsets = {
	"daemonsets", "/apis/apps/v1", "daemonsets", ds_project, kobj_free
};
const struct informer_type kobj_controllerrevisions = {
	"controllerrevisions", "/apis/apps/v1", "controllerrevisions",
	cr_project, kobj_free
};
const struct informer_type kobj_jobs = {
	"jobs", "/apis/batch/v1", "jobs", job_project, kobj_free
};
const struct informer_type kobj_cronjobs = {
	"cronjobs", "/apis/batch/v1", "cronjobs", cronjob_project, kobj_free
};
const struct informer_type kobj_pvcs = {
	"persistentvolumeclaims", "/api/v1", "persistentvolumeclaims",
	pvc_project, kobj_free
};
const struct informer_type kobj_storageclasses = {
	"storageclasses", "/apis/storage.k8s.io/v1", "storageclasses",
	sc_project, kobj_free
};
const struct informer_type kobj_services = {
	"services", "/api/v1", "services", svc_project, kobj_free
};
const struct informer_type kobj_endpointslices = {
	"endpointslices", "/apis/discovery.k8s.io/v1", "endpointslices",
	eps_project, kobj_free
};
const struct informer_type kobj_ingresses = {
	"ingresses", "/apis/networking.k8s.io/v1", "ingresses", ing_project,
	kobj_free
};
const struct informer_type kobj_hpas = {
	"horizontalpodautoscalers", "/apis/autoscaling/v2",
	"horizontalpodautoscalers", hpa_project, kobj_free
};
const struct informer_type kobj_pdbs = {
	"poddisruptionbudgets", "/apis/policy/v1", "poddisruptionbudgets",
	pdb_project, kobj_free
};
const struct informer_type kobj_events = {
	"events", "/api/v1", "events", ev_project, kobj_free
};

/*
 * The older versions a server may serve instead (Kubernetes 1.20 serves
 * batch/v1beta1 CronJob, policy/v1beta1 PodDisruptionBudget,
 * autoscaling/v2beta2 and v1 HorizontalPodAutoscaler,
 * discovery.k8s.io/v1beta1 EndpointSlice).  The fields the analyzers read
 * have the same paths in every version but autoscaling/v1, whose
 * projection moves them (hpa_v1_project); discovery.k8s.io/v1beta1 has
 * topology where v1 has nodeName, which nothing reads.
 */
const struct informer_type kobj_cronjobs_v1beta1 = {
	"cronjobs", "/apis/batch/v1beta1", "cronjobs", cronjob_project,
	kobj_free
};
const struct informer_type kobj_endpointslices_v1beta1 = {
	"endpointslices", "/apis/discovery.k8s.io/v1beta1", "endpointslices",
	eps_project, kobj_free
};
const struct informer_type kobj_hpas_v2beta2 = {
	"horizontalpodautoscalers", "/apis/autoscaling/v2beta2",
	"horizontalpodautoscalers", hpa_project, kobj_free
};
const struct informer_type kobj_hpas_v1 = {
	"horizontalpodautoscalers", "/apis/autoscaling/v1",
	"horizontalpodautoscalers", hpa_v1_project, kobj_free
};
const struct informer_type kobj_pdbs_v1beta1 = {
	"poddisruptionbudgets", "/apis/policy/v1beta1", "poddisruptionbudgets",
	pdb_project, kobj_free
};

const struct informer_type *const *
kobj_versions(const struct informer_type *t)
{
	static const struct informer_type *const cron[] = {
		&kobj_cronjobs, &kobj_cronjobs_v1beta1, NULL };
	static const struct informer_type *const eps[] = {
		&kobj_endpointslices, &kobj_endpointslices_v1beta1, NULL };
	static const struct informer_type *const hpa[] = {
		&kobj_hpas, &kobj_hpas_v2beta2, &kobj_hpas_v1, NULL };
	static const struct informer_type *const pdb[] = {
		&kobj_pdbs, &kobj_pdbs_v1beta1, NULL };

	if (t == &kobj_cronjobs)
		return cron;
	if (t == &kobj_endpointslices)
		return eps;
	if (t == &kobj_hpas)
		return hpa;
	if (t == &kobj_pdbs)
		return pdb;
	return NULL;
}

int64_t
kquantity(const char *s)
{
	static const struct {
		const char	*suf;
		double		 mul;
	} sufs[] = {
		{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
		{ "Ti", 1099511627776.0 }, { "k", 1e3 }, { "M", 1e6 },
		{ "G", 1e9 }, { "T", 1e12 }, { "", 1 },
	};
	char	*end;
	double	 v;
	size_t	 i;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0)
		return -1;
	for (i = 0; i < NELEM(sufs); i++)
		if (strcmp(end, sufs[i].suf) == 0) {
			v *= sufs[i].mul;
			return v > 9e18 ? -1 : (int64_t)v;
		}
	return -1;
}
