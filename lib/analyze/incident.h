/*
 * incident.h - group findings into incidents, in memory.
 *
 * An incident is keyed by its fingerprint, analyzer/namespace/kind/name/
 * reason of the root owner (Pod -> ReplicaSet -> Deployment, Pod -> Job ->
 * CronJob, Pod -> StatefulSet or DaemonSet, or the object itself), so fifty
 * broken pods of one Deployment are one incident.  The tracker remembers
 * which objects belong to which incident; an object that heals or goes away
 * leaves it.  An incident with no objects left is healthy from that moment
 * (healthy_since); the engine resolves it once it has stayed healthy long
 * enough, and an object that breaks again before that rejoins the same
 * incident and counts a flap.  Time is the caller's (monotonic ms), which
 * keeps this module free of the event loop and easy to test.
 */
#ifndef REMEDY_INCIDENT_H
#define REMEDY_INCIDENT_H

#include <stdint.h>

#include "analyze/analyze.h"
#include "base/hmap.h"

#define INCIDENT_MAX_EVIDENCE	20	/* pod lines kept for diagnosis */

struct root_owner {
	const char	*kind;	/* "Deployment", "ReplicaSet", "Pod", "Node" */
	const char	*ns;	/* "" for cluster-scoped objects */
	const char	*name;
	const char	*uid;
};

struct incident {
	char		*fingerprint;
	char		*analyzer;
	char		*reason;
	char		*kind, *ns, *name, *uid;
	char		*image;		/* first failing image seen */
	char		*detail;	/* the latest finding's detail line */
	struct hmap	 pods;		/* "ns/name" -> detail line (heap) */
	struct hmap	 others;	/* "Kind/ns/name" -> detail (heap): the
					 * affected objects that are not pods */
	int		 symptom;	/* see struct finding */
	int64_t		 first_seen;	/* caller's clock, ms */
	int64_t		 last_change;
	int64_t		 healthy_since;	/* 0 while any object is affected */
	int64_t		 last_write;	/* when the store row was refreshed */
	int64_t		 store_id;	/* 0 until persisted */
	int		 diagnosed;	/* a diagnosis was asked this episode */
	int		 flaps;		/* broke again while healthy, not yet
					 * written to the store */
	int		 dirty;		/* the store row is behind */
};

struct incidents {
	struct hmap	by_fp;		/* fingerprint -> struct incident */
	struct hmap	obj_fp;		/* "Kind/ns/name" -> fingerprint (heap) */
};

void	 incidents_init(struct incidents *);
void	 incidents_clear(struct incidents *);

/*
 * Record the state of one object: f NULL means healthy or deleted.  Moves
 * the object between incidents as needed and creates incidents on first
 * sight.  Returns 0, or -1 on allocation failure (the object is then left
 * out).
 */
int	 incidents_object(struct incidents *, const char *kind, const char *ns,
	    const char *name, const struct finding *f,
	    const struct root_owner *root, int64_t now);
/* incidents_object() for kind "Pod". */
int	 incidents_pod(struct incidents *, const char *ns, const char *name,
	    const struct finding *f, const struct root_owner *root,
	    int64_t now);

/*
 * An incident known from the store (open when the daemon stopped), with no
 * objects yet: returns it (the existing one when the fingerprint is
 * already tracked), or NULL on allocation failure.
 */
struct incident *incidents_add_known(struct incidents *,
	    const char *fingerprint, const char *analyzer, const char *reason,
	    const struct root_owner *root, int64_t store_id, int diagnosed,
	    int64_t now);

/* Remove (and free) an incident; its objects are forgotten. */
void	 incidents_drop(struct incidents *, struct incident *);
struct incident *incidents_get(struct incidents *, const char *fingerprint);
/* Iterate (see hmap_next). */
int	 incidents_next(struct incidents *, size_t *pos, struct incident **);
size_t	 incident_pods(const struct incident *);
/* Pods and other objects. */
size_t	 incident_objects(const struct incident *);
/* Is an incident of another analyzer or reason, not a symptom, open on the
 * same root owner (ns, kind, name)?  Open: with objects, or stored and not
 * yet resolved. */
int	 incidents_has_cause(struct incidents *, const struct incident *);

/* "analyzer/ns/Kind/name/reason" into buf. */
void	 incident_fingerprint(char *buf, size_t len, const char *analyzer,
	    const struct root_owner *root, const char *reason);

#endif
