/*
 * objects.h - projections: the few fields of API objects that detection,
 * diagnosis and verification read.  The daemon caches these instead of whole
 * JSON documents (DESIGN.md, principle 6).
 *
 * Each kobj_*_project() takes a parsed API object and returns a heap
 * projection (NULL when the object lacks name/namespace or memory runs
 * out); kobj_*_free() releases one.  They plug into struct informer_type.
 *
 * A projection is one allocation: the struct, then its array (container
 * statuses, containers), then every string it points to.  The strings are
 * read-only and live exactly as long as the projection; never free or
 * realloc a field on its own.  At 100k pods this keeps the pod cache to one
 * malloc per pod (docs/performance.md, Kubernetes client).
 */
#ifndef REMEDY_KUBE_OBJECTS_H
#define REMEDY_KUBE_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/util.h"
#include "kube/informer.h"

#define KOBJ_MAX_CONTAINERS	64

struct kowner {			/* the controller ownerReference */
	char	*kind;
	char	*name;
	char	*uid;
};

struct kmeta {
	char		*ns;
	char		*name;
	char		*uid;
	char		*rv;
	int64_t		 generation;
	struct kowner	 owner;	/* all NULL when there is no controller */
};

struct kcontainer {		/* spec.template.spec.containers[] */
	char	*name;
	char	*image;
};

struct kcstatus {		/* status.containerStatuses[] */
	char	*name;
	char	*image;
	char	*waiting_reason;	/* NULL unless state.waiting */
	char	*waiting_message;
	char	*term_reason;		/* NULL unless state.terminated */
	int	 term_exit;
	int	 terminated;
	char	*last_reason;		/* lastState.terminated.reason */
	int	 last_exit;
	int	 has_last;		/* lastState.terminated present */
	int	 ready;
	int	 restarts;
	int	 init;			/* from initContainerStatuses */
};

struct kpod {
	struct kmeta	  m;
	char		 *phase;
	char		 *node;
	char		 *reason;	/* status.reason: "Evicted" */
	char		 *message;	/* status.message */
	char		 *sched_reason;	/* PodScheduled=False: reason */
	char		 *sched_message;
	int		  unscheduled;	/* PodScheduled=False */
	int		  ready;	/* condition Ready=True */
	int		  deleting;	/* metadata.deletionTimestamp set */
	const char	 *labels;	/* metadata.labels, packed */
	size_t		  nstatus;
	struct kcstatus	 *st;
};

struct kreplicaset {
	struct kmeta	  m;
	int64_t		  revision;	/* deployment.kubernetes.io/revision */
	int		  replicas;	/* spec */
	int		  available;	/* status */
	char		 *failure_reason;	/* ReplicaFailure=True: reason */
	char		 *failure_message;
	size_t		  ncont;
	struct kcontainer *cont;
};

struct kdeployment {
	struct kmeta	  m;
	int64_t		  observed_generation;
	int64_t		  revision;
	int		  replicas;	/* spec, default 1 */
	int		  st_replicas, updated, ready, available, unavailable;
	int		  paused;
	char		 *progress_status;	/* condition Progressing */
	char		 *progress_reason;
	char		 *progress_message;
	char		 *avail_status;		/* condition Available */
	char		 *avail_reason;
	char		 *avail_message;
	size_t		  ncont;
	struct kcontainer *cont;
};

/*
 * Every other kind the analyzers read: the common metadata plus a JSON
 * object holding only the fields listed for that kind in objects.c (the
 * same dotted paths as in the API object), never the whole document.
 */
struct kobj {
	struct kmeta	  m;
	const char	 *kind;		/* static: "Node", "Service", ... */
	json_t		 *f;		/* the projected fields */
};

void	*kobj_pod_project(json_t *obj);
void	 kobj_pod_free(void *);
void	*kobj_replicaset_project(json_t *obj);
void	 kobj_replicaset_free(void *);
void	*kobj_deployment_project(json_t *obj);
void	 kobj_deployment_free(void *);

void	 kobj_free(void *);

/* Informer types. */
extern const struct informer_type kobj_pods;
extern const struct informer_type kobj_replicasets;
extern const struct informer_type kobj_deployments;
/* Generic (struct kobj) kinds; cluster-scoped: nodes.  kobj_events keeps
 * only the Events whose reason an analyzer reads. */
extern const struct informer_type kobj_nodes;
extern const struct informer_type kobj_statefulsets;
extern const struct informer_type kobj_daemonsets;
/* ControllerRevisions: "revision", "metadata.labels.controller-revision-
 * hash", and "containers": [{name, image}] of data.spec.template. */
extern const struct informer_type kobj_controllerrevisions;
extern const struct informer_type kobj_jobs;
extern const struct informer_type kobj_cronjobs;
extern const struct informer_type kobj_pvcs;
extern const struct informer_type kobj_services;
/* StorageClasses: "provisioner" and "metadata.annotations" (the default
 * class carries storageclass.kubernetes.io/is-default-class). */
extern const struct informer_type kobj_storageclasses;
extern const struct informer_type kobj_endpointslices;
extern const struct informer_type kobj_ingresses;
extern const struct informer_type kobj_hpas;
extern const struct informer_type kobj_pdbs;
extern const struct informer_type kobj_events;
/* Older versions of some kinds, the projection reading either shape. */
extern const struct informer_type kobj_cronjobs_v1beta1;
extern const struct informer_type kobj_endpointslices_v1beta1;
extern const struct informer_type kobj_hpas_v2beta2;
extern const struct informer_type kobj_hpas_v1;
extern const struct informer_type kobj_pdbs_v1beta1;
/*
 * The versions of a kind in remedy's order of preference, NULL-ended and
 * starting with t itself (kobj_hpas: autoscaling/v2, v2beta2, v1); NULL
 * for a kind served at one version only.
 */
const struct informer_type *const *kobj_versions(const struct informer_type *t);

/*
 * A pod's labels are packed as "key\0value\0key\0value\0\0" (NULL when it
 * has none); only string values with a non-empty key are kept, which is all
 * the API server accepts.  kpod_label() returns the value of key or NULL.
 * kpod_label_next() walks them:
 *
 *	const char *it = NULL, *k, *v;
 *	while (kpod_label_next(p, &it, &k, &v))
 *		...
 */
const char	*kpod_label(const struct kpod *, const char *key);
int		 kpod_label_next(const struct kpod *, const char **it,
		    const char **key, const char **value);
/* True when every key of selector (a JSON object) is a label of the pod
 * with the same string value; an empty selector matches every pod. */
int		 kpod_selected(const struct kpod *, json_t *selector);

/* The value at a dotted path of a generic projection (see util.h). */
#define kobj_at(o, path)	json_at((o)->f, (path))

/* The condition of the given type in an array of conditions, or NULL. */
json_t	*kcond(json_t *conditions, const char *type);

/* True when the Deployment has rolled out its current generation and every
 * replica is available. */
int	 kdeployment_healthy(const struct kdeployment *);

/* A Kubernetes memory quantity ("512Mi", "4Gi", "1G", "1e9", "1000") in
 * bytes, or -1. */
int64_t	 kquantity(const char *);

#endif
