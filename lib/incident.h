/*
 * incident.h - group findings into incidents, in memory.
 *
 * An incident is keyed by its fingerprint, analyzer/namespace/kind/name/
 * reason of the root owner (Pod -> ReplicaSet -> Deployment), so fifty broken
 * pods of one Deployment are one incident.  The tracker remembers which pods
 * belong to which incident; a pod that heals or goes away leaves it, and an
 * incident with no pods left is healed.  Time is the caller's (monotonic ms),
 * which keeps this module free of the event loop and easy to test.
 */
#ifndef REMEDY_INCIDENT_H
#define REMEDY_INCIDENT_H

#include <stdint.h>

#include "analyze/analyze.h"
#include "hmap.h"

#define INCIDENT_MAX_EVIDENCE	20	/* pod lines kept for diagnosis */

struct root_owner {
	const char	*kind;	/* "Deployment", "ReplicaSet", "Pod" */
	const char	*ns;
	const char	*name;
	const char	*uid;
};

struct incident {
	char		*fingerprint;
	const char	*analyzer;
	char		*reason;
	char		*kind, *ns, *name, *uid;
	char		*image;		/* first failing image seen */
	struct hmap	 pods;		/* "ns/name" -> detail line (heap) */
	int64_t		 first_seen;	/* caller's clock, ms */
	int64_t		 last_change;
	int64_t		 store_id;	/* 0 until persisted */
	int		 diagnosed;	/* a proposal was made this episode */
};

struct incidents {
	struct hmap	by_fp;		/* fingerprint -> struct incident */
	struct hmap	pod_fp;		/* "ns/name" -> fingerprint (heap) */
};

void	 incidents_init(struct incidents *);
void	 incidents_clear(struct incidents *);

/*
 * Record the state of one pod: f NULL means healthy or deleted.  Moves the
 * pod between incidents as needed and creates incidents on first sight.
 * Returns 0, or -1 on allocation failure (the pod is then left out).
 */
int	 incidents_pod(struct incidents *, const char *ns, const char *name,
	    const struct finding *f, const struct root_owner *root,
	    int64_t now);

/* Remove (and free) an incident; its pods are forgotten. */
void	 incidents_drop(struct incidents *, struct incident *);
struct incident *incidents_get(struct incidents *, const char *fingerprint);
/* Iterate (see hmap_next). */
int	 incidents_next(struct incidents *, size_t *pos, struct incident **);
size_t	 incident_pods(const struct incident *);

/* "analyzer/ns/Kind/name/reason" into buf. */
void	 incident_fingerprint(char *buf, size_t len, const char *analyzer,
	    const struct root_owner *root, const char *reason);

#endif
