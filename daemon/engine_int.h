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
/* The endpoints of Service ns/svc from its cached EndpointSlices: total
 * and ready; -1 when no slice of it is cached. */
int	 engine_service_endpoints(struct engine *, const char *ns,
	    const char *svc, int *total, int *ready);
/* The cached objects of a kind of the kinds[] table ("Node",
 * "StorageClass"): an array of their projected fields, each with "name"
 * (empty when the kind is not watched); a new reference, NULL on ENOMEM. */
json_t	*engine_kind_json(struct engine *, const char *kind);
/* The cached pods of ns (not being deleted) that selector's labels
 * match: total and ready (condition Ready=True). */
void	 engine_selected_pods(struct engine *, const char *ns,
	    json_t *selector, int *total, int *ready);
/* A failed pod (non-zero exit) of a Job whose root owner is kind ns/name,
 * borrowed from the cache, or NULL. */
const char *engine_job_failed_pod(struct engine *, const char *kind,
	    const char *ns, const char *name);
/* Call the drained callback when stopping and nothing is in flight. */
void	 engine_check_drained(struct engine *);
/* The kinds[] table beyond pods, ReplicaSets and Deployments. */
int	 engine_kind_cluster(int k);
const char *engine_kind_name(int k);
const struct informer_type *engine_kind_type(int k);
/* Start kind k's informers at version t / stop them (its objects leave
 * the incidents as if deleted). */
int	 engine_kind_open(struct engine *, int k,
	    const struct informer_type *t);
void	 engine_kind_close(struct engine *, int k);

/* discover.c: API discovery at start and every
 * kubernetes.discovery_interval; the version each kind is watched at. */
int	 engine_discovery_start(struct engine *);
void	 engine_discovery_stop(struct engine *);
/* A kind's LIST answered 404: its family is off until the next round. */
void	 engine_kind_gone(struct engine *, int k);

/* diagnosis.c */
/*
 * Diagnose an incident once per episode (events, backend, dry-run,
 * store): it runs at once when fewer than diagnosis.max_concurrent run,
 * else it joins the queue.  0 when taken (inc->diagnosed set), -1 when
 * the queue holds diagnosis.max_queued already: nothing changed, the
 * incident waits and is offered again by the next sweep.
 */
int	 engine_diagnose(struct engine *, struct incident *);
/* The LLM backend's model, NULL for the rules backend. */
const char *engine_backend_model(const struct engine *);
/* The image registry client, NULL when registries.enabled is false (or
 * after the stop). */
struct registry *engine_registry(const struct engine *);

/* dryrun.c */
/* {status, reason, message[, resourceVersion, generation]} of an answer. */
json_t	*engine_answer_json(const struct kube_resp *);

struct proposal;
/* The action was stored (id, state "pending" or "refused"), or could not
 * be (id 0, state NULL). */
typedef void (*engine_stored_fn)(void *arg, int64_t action_id,
	    const char *state);
/*
 * Dry-run proposal p (normalised, past the policy wall) and store it:
 * pending when the API server accepts the dry-run, else refused.  Takes p
 * over.  done (may be NULL) is called once it is stored.  0 when the
 * dry-run started (done will be called), -1 when it could not (done is
 * not called).
 */
int	 engine_dryrun(struct engine *, struct proposal *p, int64_t incident_id,
	    const char *backend, const struct engine_origin *,
	    engine_stored_fn done, void *arg);

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
/* The same for a proposal from origin o; the stored id, or 0. */
int64_t	 engine_refuse_as(struct engine *, const struct proposal *,
	    int64_t incident_id, const char *rule, const char *reason,
	    const struct engine_origin *o);

/* apply.c */
/* Apply an approved action; anything not in state approved is left alone. */
void	 engine_apply(struct engine *, int64_t action_id);
void	 engine_verify_tick(struct engine *, int64_t now);
/* One pending action of the pending-action sweep (a slice_step_fn on
 * the engine): 1 while more remain. */
int	 engine_pending_step(void *);
/* At start: resume applying/applied/approved actions of a previous run. */
void	 engine_recover(struct engine *);
void	 engine_verify_free(struct engine *);

/* forced.c */
/*
 * A StatefulSet forced rollback: when p reverts the template of the
 * StatefulSet owner (as just read) and its pods on the bad revision would
 * keep the OrderedReady controller waiting, set p->steps to one pod
 * deletion each, and say so in the summary and evidence (with
 * policy.allow_forced_rollback false: no steps, and the root cause names
 * the pods to delete by hand).  0 (p->steps maybe left NULL), -1 on
 * ENOMEM.
 */
int	 engine_forced_rollback(struct engine *, json_t *owner,
	    struct proposal *p);
/* DELETE pod ns/name with DeleteOptions preconditions uid (and rv when not
 * NULL); dry_run adds dryRun=All.  0 when the call started. */
int	 engine_pod_delete(struct engine *, const char *ns, const char *name,
	    const char *uid, const char *rv, int dry_run, kube_done_cb cb,
	    void *arg);

/* agent.c: at stop, before the registry client goes, answer the agents'
 * proposals still waiting for it. */
void	 engine_agent_stop(struct engine *);

/* engine.c, for incidents.c: the kinds[] index of kind (-1: none), the
 * cached object of kinds[k] ns/name, and a pod evaluation of every pod
 * the object kind m owns (its root may have changed). */
int	 engine_kind_index(const char *kind);
void	*engine_kind_get_at(struct engine *, int k, const char *ns,
	    const char *name);
void	 engine_owned_pods_again(struct engine *, const char *kind,
	    const struct kmeta *m);

/* incidents.c: the store side of incidents (see there) */
void	 engine_incidents_tick(struct engine *, int64_t now);
int	 engine_sweep_step(void *arg);
void	 engine_sweep_clear(struct engine *);
void	 engine_load_open(struct engine *);
void	 engine_start_healthy_clocks(struct engine *, int64_t now);

/* diagnosis.c: abort LLM calls at stop; release everything at free. */
void	 engine_diag_stop(struct engine *);
void	 engine_diag_free(struct engine *);

#endif
