/*
 * analyze.h - analyzers turn a projection into a finding.
 *
 * One file per analyzer family under lib/analyze/, registered in the table
 * in analyze.c.  An analyzer is a function of one projection and of what
 * struct analyze_ctx lets it look up in the daemon's caches (another
 * object, the Events about an object, the pods a selector matches); it
 * keeps no state, so it can run on every watch event.  Findings of the same
 * root owner, analyzer and reason are grouped into one incident by
 * incident.h.
 *
 * Each object yields at most one finding: the first analyzer in table order
 * for its kind that fires.  The table lists causes before symptoms (an
 * image that cannot be pulled before the probe that fails because of it).
 */
#ifndef REMEDY_ANALYZE_H
#define REMEDY_ANALYZE_H

#include <stdint.h>

#include <jansson.h>

#include "kube/objects.h"

struct finding {
	const char	*analyzer;	/* static name: "image-pull" */
	char		 reason[64];	/* grouping reason: "ImagePullBackOff" */
	char		 container[128];
	char		 image[512];
	char		 detail[1024];	/* one line of evidence */
	/*
	 * A symptom (a Deployment with unavailable replicas, a StatefulSet
	 * not ready) is only reported when no cause-level incident exists on
	 * the same root owner: fifty pods that cannot pull their image are
	 * one incident, not one plus "Deployment unavailable".
	 */
	int		 symptom;
};

/*
 * What an analyzer may look up.  Every callback may be NULL (then the
 * lookup finds nothing); arg is passed back.  Strings returned are
 * borrowed and valid until the caller returns.
 */
struct analyze_ctx {
	void		*arg;
	/* The cached projection of kind ("Service") ns/name, or NULL. */
	const void	*(*get)(void *arg, const char *kind, const char *ns,
			    const char *name);
	/* The message of the newest Event with this reason about the
	 * object, or NULL. */
	const char	*(*event)(void *arg, const char *kind, const char *ns,
			    const char *name, const char *reason);
	/* Pods in ns whose labels match every key of selector: total and
	 * ready (condition Ready=True). */
	void		 (*pods)(void *arg, const char *ns, json_t *selector,
			    int *total, int *ready);
	/* Endpoints of the Service from its EndpointSlices; -1 when no slice
	 * for it is cached. */
	int		 (*endpoints)(void *arg, const char *ns,
			    const char *service, int *total, int *ready);
	/* The failed pods (phase Failed) controlled by owner_uid in ns:
	 * how many, and the exit code most of them ended with (non-zero,
	 * the lowest on a tie) and how many did; its container in
	 * container (len bytes).  0 when there is none. */
	int		 (*failed_pods)(void *arg, const char *ns,
			    const char *owner_uid, int *code, int *same,
			    char *container, size_t len);
	int64_t		 now;	/* unix ms, for time-based checks */
};

typedef int	(*analyzer_fn)(const struct analyze_ctx *, const void *obj,
		    struct finding *f);

struct analyzer {
	const char	*name;
	const char	*kind;	/* the projection it reads: "Pod", "Node" */
	/* Returns 1 and fills f (but not f->analyzer) when the object shows
	 * this failure, else 0. */
	analyzer_fn	 fn;
};

extern const struct analyzer analyzers[];

/*
 * Run the analyzers registered for kind in table order; the first finding
 * wins.  ctx may be NULL (no lookups).  Returns 1 when the object is
 * broken.
 */
int	analyze_object(const struct analyze_ctx *, const char *kind,
	    const void *obj, struct finding *f);
/* analyze_object(NULL, "Pod", p, f). */
int	analyze_pod(const struct kpod *, struct finding *f);

/* Helpers for the families. */
int	analyze_ctx_pods(const struct analyze_ctx *, const char *ns,
	    json_t *selector, int *total, int *ready);
const char *analyze_ctx_event(const struct analyze_ctx *, const char *kind,
	    const char *ns, const char *name, const char *reason);
const void *analyze_ctx_get(const struct analyze_ctx *, const char *kind,
	    const char *ns, const char *name);
/* Unix ms of an RFC 3339 time ("2026-11-27T03:00:00Z"), or -1. */
int64_t	analyze_time(const char *rfc3339);
/* Does the 5-field cron schedule fire at the unix minute?  -1 when the
 * schedule is not valid (errbuf says why). */
int	cron_matches(const char *schedule, int64_t unix_minute, char *errbuf,
	    size_t errlen);

/* Families. */
int	analyze_image_pull(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_init_container(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_oom(const struct analyze_ctx *, const void *, struct finding *);
int	analyze_crashloop(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_container_config(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_unschedulable(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_evicted(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_pod_events(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_probes(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_deployment(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_replicaset(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_statefulset(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_daemonset(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_job(const struct analyze_ctx *, const void *, struct finding *);
int	analyze_cronjob(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_pvc(const struct analyze_ctx *, const void *, struct finding *);
int	analyze_service(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_ingress(const struct analyze_ctx *, const void *,
	    struct finding *);
int	analyze_node(const struct analyze_ctx *, const void *, struct finding *);
int	analyze_hpa(const struct analyze_ctx *, const void *, struct finding *);
int	analyze_pdb(const struct analyze_ctx *, const void *, struct finding *);

#endif
