/*
 * engine_int.h - what engine.c, diagnosis.c and apply.c share.  Private to
 * the daemon's engine; everything else uses engine.h.
 */
#ifndef REMEDY_DAEMON_ENGINE_INT_H
#define REMEDY_DAEMON_ENGINE_INT_H

#include <jansson.h>

#include "engine.h"
#include "kube/client.h"

#define JSON_PATCH	"application/json-patch+json"

/* engine.c */
/* A projection from the per-namespace informers, or NULL. */
void	*engine_cache_get(struct engine *, struct informer **infs,
	    const char *ns, const char *name);
/* The projection of kind ns/name ("Pod", "StatefulSet", ...), or NULL. */
void	*engine_kind_get(struct engine *, const char *kind, const char *ns,
	    const char *name);
/* Every informer of kind follows the cluster (1 for a kind not watched). */
int	 engine_kind_current(struct engine *, const char *kind);
/* The cached ControllerRevisions controlled by owner_uid: a heap array
 * (free() it, not the elements) of *n entries; NULL on ENOMEM. */
struct kobj;
const struct kobj **engine_revisions(struct engine *, const char *owner_uid,
	    size_t *n);
/* Call the drained callback when stopping and nothing is in flight. */
void	 engine_check_drained(struct engine *);

/* diagnosis.c */
/* Diagnose an incident once per episode (events, backend, dry-run, store). */
void	 engine_diagnose(struct engine *, struct incident *);
/* {status, reason, message[, resourceVersion, generation]} of an answer. */
json_t	*engine_answer_json(const struct kube_resp *);

/* gate.c */
struct proposal;
/* The policy wall before the dry-run: 0 allowed; 1 refused, and the action
 * was stored as refused with the rule. */
int	 engine_policy_gate(struct engine *, const struct proposal *,
	    int64_t incident_id, const char *owner_kind, const char *owner_ns,
	    const char *owner_name);

/* Store p as refused with rule and reason (a check beside the policy
 * wall: the registry's). */
void	 engine_refuse(struct engine *, const struct proposal *,
	    int64_t incident_id, const char *rule, const char *reason);

/* apply.c */
/* Apply an approved action; anything not in state approved is left alone. */
void	 engine_apply(struct engine *, int64_t action_id);
void	 engine_verify_tick(struct engine *, int64_t now);
/* At start: resume applying/applied/approved actions of a previous run. */
void	 engine_recover(struct engine *);
void	 engine_verify_free(struct engine *);

/* diagnosis.c: abort LLM calls at stop; release everything at free. */
void	 engine_diag_stop(struct engine *);
void	 engine_diag_free(struct engine *);

#endif
