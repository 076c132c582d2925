/*
 * objects.h - projections: the few fields of API objects that detection,
 * diagnosis and verification read.  The daemon caches these instead of whole
 * JSON documents (DESIGN.md, principle 6).
 *
 * Each kobj_*_project() takes a parsed API object and returns a heap
 * projection (NULL when the object lacks name/namespace or memory runs
 * out); kobj_*_free() releases one.  They plug into struct informer_type.
 */
#ifndef REMEDY_KUBE_OBJECTS_H
#define REMEDY_KUBE_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

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
	int	 ready;
	int	 restarts;
	int	 init;			/* from initContainerStatuses */
};

struct kpod {
	struct kmeta	  m;
	char		 *phase;
	char		 *node;
	int		  deleting;	/* metadata.deletionTimestamp set */
	size_t		  nstatus;
	struct kcstatus	 *st;
};

struct kreplicaset {
	struct kmeta	  m;
	int64_t		  revision;	/* deployment.kubernetes.io/revision */
	int		  replicas;	/* spec */
	int		  available;	/* status */
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
	size_t		  ncont;
	struct kcontainer *cont;
};

void	*kobj_pod_project(json_t *obj);
void	 kobj_pod_free(void *);
void	*kobj_replicaset_project(json_t *obj);
void	 kobj_replicaset_free(void *);
void	*kobj_deployment_project(json_t *obj);
void	 kobj_deployment_free(void *);

/* Informer types for the three resources. */
extern const struct informer_type kobj_pods;
extern const struct informer_type kobj_replicasets;
extern const struct informer_type kobj_deployments;

/* True when the Deployment has rolled out its current generation and every
 * replica is available. */
int	 kdeployment_healthy(const struct kdeployment *);

#endif
