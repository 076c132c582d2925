/*
 * objects.c - see objects.h.
 */
#include <stdlib.h>
#include <string.h>

#include "kube/objects.h"
#include "util.h"

static int
dupfield(char **dst, json_t *obj, const char *path)
{
	const char *s = json_str_at(obj, path);

	*dst = NULL;
	if (s == NULL)
		return 0;
	if ((*dst = strdup(s)) == NULL)
		return -1;
	return 0;
}

static void
kmeta_clear(struct kmeta *m)
{
	free(m->ns);
	free(m->name);
	free(m->uid);
	free(m->rv);
	free(m->owner.kind);
	free(m->owner.name);
	free(m->owner.uid);
}

/*
 * Fill the common metadata.  The controller owner is the ownerReference
 * with controller: true.  Returns -1 when name or namespace is missing (the
 * object cannot be keyed) or on allocation failure.
 */
static int
kmeta_fill(struct kmeta *m, json_t *obj)
{
	json_t	*refs, *ref;
	size_t	 i;

	memset(m, 0, sizeof(*m));
	if (json_str_at(obj, "metadata.name") == NULL ||
	    json_str_at(obj, "metadata.namespace") == NULL)
		return -1;
	if (dupfield(&m->ns, obj, "metadata.namespace") ||
	    dupfield(&m->name, obj, "metadata.name") ||
	    dupfield(&m->uid, obj, "metadata.uid") ||
	    dupfield(&m->rv, obj, "metadata.resourceVersion"))
		return -1;
	m->generation = json_int_at(obj, "metadata.generation", 0);
	refs = json_at(obj, "metadata.ownerReferences");
	json_array_foreach(refs, i, ref) {
		if (!json_is_true(json_object_get(ref, "controller")))
			continue;
		if (dupfield(&m->owner.kind, ref, "kind") ||
		    dupfield(&m->owner.name, ref, "name") ||
		    dupfield(&m->owner.uid, ref, "uid"))
			return -1;
		break;
	}
	return 0;
}

static int64_t
revision_of(json_t *obj)
{
	const char *s;

	s = json_string_value(json_object_get(json_at(obj,
	    "metadata.annotations"), "deployment.kubernetes.io/revision"));
	return s ? strtoll(s, NULL, 10) : 0;
}

static int
containers_fill(struct kcontainer **out, size_t *n, json_t *obj)
{
	json_t	*list, *c;
	size_t	 i;

	*out = NULL;
	*n = 0;
	list = json_at(obj, "spec.template.spec.containers");
	if (!json_is_array(list) || json_array_size(list) == 0)
		return 0;
	if (json_array_size(list) > KOBJ_MAX_CONTAINERS)
		return -1;
	if ((*out = calloc(json_array_size(list), sizeof(**out))) == NULL)
		return -1;
	json_array_foreach(list, i, c) {
		(*n)++;
		if (dupfield(&(*out)[i].name, c, "name") ||
		    dupfield(&(*out)[i].image, c, "image"))
			return -1;
	}
	return 0;
}

static void
containers_free(struct kcontainer *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].image);
	}
	free(c);
}

static int
statuses_fill(struct kpod *p, json_t *list, int init)
{
	json_t		*cs;
	struct kcstatus	*st, *nst;
	size_t		 i, n;

	if (!json_is_array(list) || (n = json_array_size(list)) == 0)
		return 0;
	if (p->nstatus + n > KOBJ_MAX_CONTAINERS)
		return -1;
	nst = realloc(p->st, (p->nstatus + n) * sizeof(*nst));
	if (nst == NULL)
		return -1;
	p->st = nst;
	memset(p->st + p->nstatus, 0, n * sizeof(*nst));
	json_array_foreach(list, i, cs) {
		st = &p->st[p->nstatus++];
		st->init = init;
		st->ready = json_is_true(json_object_get(cs, "ready"));
		st->restarts = (int)json_int_at(cs, "restartCount", 0);
		if (dupfield(&st->name, cs, "name") ||
		    dupfield(&st->image, cs, "image") ||
		    dupfield(&st->waiting_reason, cs, "state.waiting.reason") ||
		    dupfield(&st->waiting_message, cs, "state.waiting.message"))
			return -1;
	}
	return 0;
}

void
kobj_pod_free(void *v)
{
	struct kpod	*p = v;
	size_t		 i;

	if (p == NULL)
		return;
	kmeta_clear(&p->m);
	free(p->phase);
	free(p->node);
	for (i = 0; i < p->nstatus; i++) {
		free(p->st[i].name);
		free(p->st[i].image);
		free(p->st[i].waiting_reason);
		free(p->st[i].waiting_message);
	}
	free(p->st);
	free(p);
}

void *
kobj_pod_project(json_t *obj)
{
	struct kpod *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (kmeta_fill(&p->m, obj) == -1 ||
	    dupfield(&p->phase, obj, "status.phase") ||
	    dupfield(&p->node, obj, "spec.nodeName") ||
	    statuses_fill(p, json_at(obj, "status.initContainerStatuses"), 1) ||
	    statuses_fill(p, json_at(obj, "status.containerStatuses"), 0)) {
		kobj_pod_free(p);
		return NULL;
	}
	p->deleting = json_at(obj, "metadata.deletionTimestamp") != NULL &&
	    !json_is_null(json_at(obj, "metadata.deletionTimestamp"));
	return p;
}

void
kobj_replicaset_free(void *v)
{
	struct kreplicaset *rs = v;

	if (rs == NULL)
		return;
	kmeta_clear(&rs->m);
	containers_free(rs->cont, rs->ncont);
	free(rs);
}

void *
kobj_replicaset_project(json_t *obj)
{
	struct kreplicaset *rs;

	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return NULL;
	if (kmeta_fill(&rs->m, obj) == -1 ||
	    containers_fill(&rs->cont, &rs->ncont, obj) == -1) {
		kobj_replicaset_free(rs);
		return NULL;
	}
	rs->revision = revision_of(obj);
	rs->replicas = (int)json_int_at(obj, "spec.replicas", 1);
	rs->available = (int)json_int_at(obj, "status.availableReplicas", 0);
	return rs;
}

void
kobj_deployment_free(void *v)
{
	struct kdeployment *d = v;

	if (d == NULL)
		return;
	kmeta_clear(&d->m);
	containers_free(d->cont, d->ncont);
	free(d);
}

void *
kobj_deployment_project(json_t *obj)
{
	struct kdeployment *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if (kmeta_fill(&d->m, obj) == -1 ||
	    containers_fill(&d->cont, &d->ncont, obj) == -1) {
		kobj_deployment_free(d);
		return NULL;
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
