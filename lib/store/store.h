/*
 * store.h - the SQLite store: incidents, actions, and the audit log.
 *
 * One database file in WAL mode.  Every action state change is one function
 * here, one transaction, and exactly one audit row; a transition from a state
 * the action is not in fails with STORE_EBADSTATE and writes nothing.
 *
 * Action states (DESIGN.md):
 *   proposed -> pending | refused
 *   pending  -> approved | rejected | expired | superseded
 *   approved -> applying
 *   applying -> applied | failed
 *   applied  -> verified | not-recovered
 *   pending  -> refused (the policy wall, re-checked at approve)
 *   applied | verified | not-recovered -> rolled-back (its rollback applied)
 *
 * An action may have steps (store_step.c): step 1 its patch, then the
 * steps its proposal carried (a forced rollback's pod deletions).  While
 * the action is applying each step moves pending -> applying -> done (or
 * failed, with the action); the action becomes applied only when every
 * step is done.  A one-step action has no step rows.
 *
 * The audit log is append-only.  Each row carries
 *   hash = sha256(prev_hash || canonical row)   (hex, 64 chars)
 * where the canonical row is the compact, key-sorted JSON of
 *   {"seq","time","action_id","event","actor","actor_uid","detail"}
 * and prev_hash of the first row is 64 '0's.  store_audit_verify() walks the
 * chain and reports the first row whose hash does not match.
 *
 * Batched writes (store_batch).  remedyd turns batching on: then the writes
 * that record what it observed -- incidents (upsert, resolve, diagnosed),
 * diagnoses, proposed actions (pending or refused), and the daemon's own
 * pending -> expired | superseded -- join one transaction, opened by the
 * first of them and committed by store_flush(), which the daemon calls at
 * the end of every loop turn.  Each function stays atomic inside it (a
 * savepoint: a refused or failed write leaves nothing of itself).  Every
 * other write -- an operator's decision (approve, reject, refuse,
 * add_approval, rollback, denied) and the apply path (begin_apply, the
 * steps, applied, failed, verified, not-recovered) -- is durable when it
 * returns: it commits the open batch with itself.  So a crash (kill -9)
 * can lose the observations of the last loop turn, which the next start
 * makes again from the cluster, but never a decision, never an applying
 * row; and the daemon flushes before it answers a control request or
 * tells anyone about an action, so nobody is ever told of a row that a
 * crash could still take back.  Without store_batch() every function is
 * its own transaction.
 *
 * Ownership: strings in struct store_action are heap copies owned by the
 * struct; store_action_clear() frees them.  JSON values returned by store_*
 * functions are new references owned by the caller.
 */
#ifndef REMEDY_STORE_H
#define REMEDY_STORE_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct store;

enum store_err {
	STORE_OK = 0,
	STORE_ENOTFOUND = -1,	/* no such action / incident */
	STORE_EBADSTATE = -2,	/* transition not allowed from current state */
	STORE_EDB = -3,		/* SQLite error; message via store_errmsg() */
	STORE_EINVAL = -4	/* bad argument */
};

/* Who did it: a peer's uid and user name, or the daemon itself (uid -1,
 * name "remedyd"). */
struct store_actor {
	long		 uid;
	const char	*name;
};

extern const struct store_actor store_actor_daemon;

/* Action states as stored (TEXT column) and shown. */
#define ACTION_PROPOSED		"proposed"
#define ACTION_PENDING		"pending"
#define ACTION_REFUSED		"refused"
#define ACTION_APPROVED		"approved"
#define ACTION_APPLYING		"applying"
#define ACTION_APPLIED		"applied"
#define ACTION_VERIFIED		"verified"
#define ACTION_NOT_RECOVERED	"not-recovered"
#define ACTION_FAILED		"failed"
#define ACTION_REJECTED		"rejected"
#define ACTION_EXPIRED		"expired"
#define ACTION_SUPERSEDED	"superseded"
#define ACTION_ROLLED_BACK	"rolled-back"

/* Step states and kinds (store_step.c). */
#define ACTION_STEP_PENDING	"pending"
#define ACTION_STEP_APPLYING	"applying"
#define ACTION_STEP_DONE	"done"
#define ACTION_STEP_FAILED	"failed"
#define ACTION_STEP_PATCH	"patch"		/* step 1: the action's patch */
#define ACTION_STEP_DELETE_POD	"delete-pod"	/* a forced rollback's pod */

/* An incident: findings grouped by root owner. */
struct store_incident {
	int64_t	 id;
	char	*fingerprint;	/* analyzer + root owner + reason, unique */
	char	*analyzer;	/* "image-pull" */
	char	*namespace;
	char	*kind;		/* root owner kind, "Deployment" */
	char	*name;		/* root owner name */
	char	*uid;		/* root owner uid */
	char	*reason;	/* "ImagePullBackOff" */
	char	*summary;	/* one line for humans */
	char	*state;		/* "open" | "resolved" */
	int64_t	 first_seen;	/* unix ms */
	int64_t	 last_seen;
	int64_t	 resolved_at;	/* 0 while open */
	int	 pods;		/* affected pods at last update */
	/* Schema 3 (detection): */
	int	 objects;	/* affected objects (pods included) */
	int	 reopens;	/* times it came back after being resolved */
	int	 flaps;		/* upsert: add this many; read: the total */
	int64_t	 diagnosed_at;	/* unix ms of the last diagnosis, 0 never */
	json_t	*findings;	/* array of evidence lines, or NULL */
	json_t	*affected;	/* array of "Kind/ns/name", or NULL */
};

/*
 * A proposed action.  patch is the exact JSON Patch (array) that will be sent;
 * changes is an array of {"path","before","after"} for display; evidence is
 * an array of strings.
 */
struct store_action {
	int64_t	 id;
	int64_t	 incident_id;
	char	*state;
	int64_t	 created;	/* unix ms */
	int64_t	 updated;
	char	*namespace;
	char	*kind;
	char	*name;
	char	*api_path;	/* "/apis/apps/v1/namespaces/demo/deployments/web" */
	char	*backend;	/* "rules" */
	char	*risk;		/* "low" | "medium" | "high" */
	char	*summary;	/* one line: what the action does */
	char	*root_cause;	/* paragraph: why */
	json_t	*evidence;	/* array of strings */
	json_t	*patch;		/* JSON Patch array, exactly as it will be sent */
	json_t	*changes;	/* array of {path, before, after} */
	char	*reason;	/* why refused / failed / rejected, else NULL */
	json_t	*result;	/* API server's answer summary, else NULL */
	char	*approved_by;	/* user name of approver, else NULL */
	long	 approved_uid;	/* -1 when not approved */
	json_t	*inverse;	/* JSON Patch undoing patch, or NULL */
	int64_t	 rollback_of;	/* the action this one rolls back, or 0 */
	char	*rule;		/* policy rule that refused it, else NULL */
	json_t	*proposal;	/* borrowed, read by store_action_propose()
				 * only: {backend, model?, patch?}, the
				 * backend's answer before normalisation,
				 * kept in the "suggested" audit row */
	/*
	 * Schema 4: the steps after the patch.  To store_action_propose(): an
	 * array of {"kind": "delete-pod", "name", "uid", "revision",
	 * "owner_uid"} objects, or NULL for a one-step action.  From
	 * store_action_get(): every step, step 1 (kind "patch") included, each
	 * with "step", "state", "updated" and "result" added; NULL for a
	 * one-step action.  store_actions_json() leaves it NULL.
	 */
	json_t	*steps;
	/*
	 * Schema 5: who proposed it.  origin is "remedyd" (its own
	 * diagnosis; NULL is read the same) or "agent" (the control
	 * command propose, from an MCP client: proposer and proposer_uid
	 * are the peer's credentials, client the name and version the
	 * client gave in hello, rationale its words, shown as data).
	 */
	char	*origin;
	char	*proposer;
	long	 proposer_uid;	/* -1 for remedyd */
	char	*client;
	char	*rationale;
};

#define STORE_ORIGIN_REMEDYD	"remedyd"
#define STORE_ORIGIN_AGENT	"agent"
#define STORE_MAX_RATIONALE	4096	/* bytes of an agent's rationale */

/*
 * Open (creating if needed) the database at path; creates the schema, sets
 * WAL and foreign keys.  Returns NULL and writes a message into err.
 * STORE_MEMORY: a store that lives in memory and dies with store_close()
 * (remedyd analyze).
 */
#define STORE_MEMORY	":memory:"
struct store	*store_open(const char *path, char *err, size_t errlen);
void		 store_close(struct store *);
const char	*store_errmsg(struct store *);

/*
 * Batching (see the top of this file): on or off (off by default; turning
 * it off does not flush).  store_flush() commits the open batch: STORE_OK,
 * or STORE_EDB when the COMMIT failed, in which case the batch was rolled
 * back and its writes are lost (the message says how many).
 * store_batch_pending(): non-zero while a batch is open.  store_close()
 * flushes.
 */
void		 store_batch(struct store *, int on);
int		 store_flush(struct store *);
int		 store_batch_pending(const struct store *);

/* What the store committed since it was opened. */
struct store_counters {
	uint64_t	transactions;	/* COMMITs that wrote */
	uint64_t	writes;		/* store functions that wrote: each was
					 * one transaction before batching */
	uint64_t	lost;		/* batched writes rolled back (a
					 * failed COMMIT, an error of
					 * SQLite's own) */
};
void		 store_counters(const struct store *, struct store_counters *);

/* --- incidents --- */

/*
 * Insert the incident, or update last_seen/pods/summary of the open incident
 * with the same fingerprint.  Sets inc->id.  A resolved incident with the same
 * fingerprint is reopened (state "open", resolved_at 0).
 */
int		 store_incident_upsert(struct store *, struct store_incident *inc);
int		 store_incident_resolve(struct store *, int64_t id, int64_t when);
/* Record that the open incident was diagnosed at when (now if 0). */
int		 store_incident_diagnosed(struct store *, int64_t id, int64_t when);
/* IDs of the incident's actions in state, oldest first; *n set; caller
 * frees (NULL with *n 0 when there are none or on error). */
int64_t		*store_incident_actions(struct store *, int64_t id,
		    const char *state, size_t *n);
int		 store_incident_get(struct store *, int64_t id,
		    struct store_incident *out);
int		 store_incident_find(struct store *, const char *fingerprint,
		    struct store_incident *out);
void		 store_incident_clear(struct store_incident *);
/* Array of incident objects (see store_incident_json), newest first. */
json_t		*store_incidents_json(struct store *, const char *state_or_null);
/* One page of it: only state and namespace (either may be NULL), ids
 * below before (0: from the newest), at most limit (0: STORE_MAX_ROWS).
 * store_incident_count(): how many match state and namespace (-1 on
 * error). */
json_t		*store_incidents_page_json(struct store *, const char *state,
		    const char *namespace, int64_t before, int limit);
int64_t		 store_incident_count(struct store *, const char *state,
		    const char *namespace);
json_t		*store_incident_json(const struct store_incident *);

/* --- actions --- */

/*
 * Record a new action for the incident in state pending (refused_reason NULL)
 * or refused, with audit row "suggested" (actor remedyd, detail holds the
 * patch) or "refused" (detail holds reason).  Sets act->id and act->state.
 * dryrun is the server's dry-run answer summary (may be NULL), stored in
 * result.  act->inverse (may be NULL) and act->rule (the policy rule of a
 * refusal, may be NULL) are stored too.
 */
int		 store_action_propose(struct store *, struct store_action *act,
		    const char *refused_reason, json_t *dryrun);

/* pending -> approved; audit "approved" with actor and optional comment. */
int		 store_action_approve(struct store *, int64_t id,
		    const struct store_actor *who, const char *comment);
/* pending -> rejected; audit "rejected" with actor and reason. */
int		 store_action_reject(struct store *, int64_t id,
		    const struct store_actor *who, const char *reason);
/* approved -> applying; audit "applying" (actor remedyd).  With steps,
 * step 1 (the patch) becomes applying in the same transaction. */
int		 store_action_begin_apply(struct store *, int64_t id);
/* Step n (2..) of an applying action: pending -> applying; audit
 * "step-applying" {"step": n}.  Committed before the step's request. */
int		 store_action_step_begin(struct store *, int64_t id, int n);
/* Step n of an applying action: applying -> done; audit "step-done"
 * {"step", "outcome", "answer"}; the step's result keeps outcome and
 * answer.  outcome is one line: "patched", "deleted", "already gone", ... */
int		 store_action_step_done(struct store *, int64_t id, int n,
		    const char *outcome, json_t *answer);
/* applying -> applied; audit "applied" with the patch sent and the answer.
 * An action with steps: STORE_EBADSTATE unless every step is done.
 * When the action is a rollback (rollback_of set), the original moves to
 * rolled-back in the same transaction, with its own audit row. */
int		 store_action_applied(struct store *, int64_t id,
		    json_t *sent_patch, json_t *answer);
/* applying -> failed; audit "failed" with reason and answer (and "step",
 * the step that was applying, which becomes failed with it). */
int		 store_action_failed(struct store *, int64_t id,
		    const char *reason, json_t *answer);
/* applied -> verified; audit "verified" with detail. */
int		 store_action_verified(struct store *, int64_t id,
		    const char *detail);
/* applied -> not-recovered; audit "not-recovered" with detail. */
int		 store_action_not_recovered(struct store *, int64_t id,
		    const char *detail);
/* pending -> superseded; audit "superseded" with reason. */
int		 store_action_supersede(struct store *, int64_t id,
		    const char *reason);
/* pending -> expired (actions.pending_ttl passed); audit "expired". */
int		 store_action_expire(struct store *, int64_t id,
		    const char *reason);
/* pending -> refused by the policy wall at approve; audit "refused" with
 * the rule and reason; who is the operator whose approval was refused. */
int		 store_action_refuse(struct store *, int64_t id,
		    const struct store_actor *who, const char *rule,
		    const char *reason);

/*
 * Rollback (DESIGN.md): for an action in applied, verified or not-recovered,
 * create a NEW pending action holding the stored inverse patch (with its own
 * preconditions), linked to the original, with audit rows "rollback-proposed"
 * on both; *new_id is set.  The original becomes rolled-back when the new
 * action is applied.  The new patch is a test of /metadata/generation at
 * the generation the original's PATCH produced (when its answer recorded
 * one) followed by the inverse.  STORE_EBADSTATE when the action has no
 * inverse or already has a live rollback.
 */
int		 store_action_rollback(struct store *, int64_t id,
		    const struct store_actor *who, int64_t *new_id);

/*
 * The two-person rule (store_approval.c): record one approval of a pending
 * action.  *approvals is set to the count including this one.  While it
 * is below required, an audit row "approval" is written and the action
 * stays pending; once it reaches required nothing is written and the
 * caller calls store_action_approve().  The same uid twice:
 * STORE_EBADSTATE, nothing written.
 */
int		 store_action_add_approval(struct store *, int64_t id,
		    const struct store_actor *who, const char *comment,
		    int required, int *approvals);
/* Audit row "denied": who asked for command on action_id (0 = none) and
 * which role it needs. */
int		 store_audit_denied(struct store *, int64_t action_id,
		    const struct store_actor *who, const char *command,
		    const char *needs);
/* The same with why: a refusal that is not about the role (an agent's
 * own proposal, the caps on agent proposals). */
int		 store_audit_denied_why(struct store *, int64_t action_id,
		    const struct store_actor *who, const char *command,
		    const char *needs, const char *why);
/* Agent proposals of uid still pending, and made since since_ms. */
int		 store_agent_counts(struct store *, long uid, int64_t since_ms,
		    int64_t *pending, int64_t *recent);
/* The same array as store_actions_json() (summaries, newest first, at
 * most limit of them, 0 = no limit), read from the summary columns only:
 * what `remedyctl list` sends.  store_action_count(): how many match the
 * same filters (-1 on error). */
json_t		*store_action_summaries_json(struct store *, const char *state,
		    const char *namespace, int limit);
/* One page of it: ids below before (0: from the newest). */
json_t		*store_action_summaries_page(struct store *, const char *state,
		    const char *namespace, int64_t before, int limit);
int64_t		 store_action_count(struct store *, const char *state,
		    const char *namespace);

int		 store_action_get(struct store *, int64_t id,
		    struct store_action *out);
void		 store_action_clear(struct store_action *);
/* IDs of actions in the given state, oldest first; *n set; caller frees. */
int64_t		*store_action_ids(struct store *, const char *state, size_t *n);
/* The newest action of an incident in one of the live states
 * (pending, approved, applying, applied), or 0 when there is none. */
int64_t		 store_action_live_for_incident(struct store *, int64_t incident_id);

/*
 * JSON views used by the control protocol (proto/control.md):
 * store_action_json: the full object; store_actions_json: an array of
 * summaries filtered by state and namespace (either may be NULL), newest
 * first.
 */
json_t		*store_action_json(const struct store_action *);
json_t		*store_actions_json(struct store *, const char *state,
		    const char *namespace);

/* --- audit --- */

/* Array of audit rows (oldest first), filtered by action (0 = all) and by
 * time (since_ms, 0 = all). */
json_t		*store_audit_json(struct store *, int64_t action_id,
		    int64_t since_ms);
/*
 * Walk the hash chain.  Returns 0 when intact (*rows set to the number of
 * rows checked), 1 when broken (*bad_seq set to the first bad row's seq and
 * why describes it), or a negative store_err.
 */
int		 store_audit_verify(struct store *, int64_t *rows,
		    int64_t *bad_seq, char *why, size_t whylen);

/* --- diagnosis outcome per incident (store_diagnosis.c) --- */

/* Strings are borrowed by store_diagnosis_set(). */
struct store_diagnosis {
	int64_t		 incident_id;
	int64_t		 at;		/* unix ms, 0: now */
	const char	*backend;	/* "rules", "openai", ... */
	const char	*model;		/* NULL for rules */
	const char	*status;	/* "ok" | "explained" | "failed" */
	const char	*error;		/* why it failed, else NULL */
	const char	*summary;	/* one line */
	const char	*root_cause;
	int64_t		 prompt_tokens;	/* from the replies' usage fields */
	int64_t		 completion_tokens;
	int64_t		 calls;		/* LLM calls made (0: cache or rules) */
	int		 cached;	/* answered from the reply cache */
};

/* Insert or replace the incident's diagnosis row; the incident's
 * diagnosed_at becomes its time, in the same transaction. */
int		 store_diagnosis_set(struct store *,
		    const struct store_diagnosis *);
/* {at, backend, model, status, error, summary, root_cause,
 *  tokens: {prompt, completion}, calls, cached}, or NULL when the incident
 * has none (or on error). */
json_t		*store_diagnosis_json(struct store *, int64_t incident_id);

/* --- statistics (store_stats.c) --- */

/*
 * Row counts by state of what ("actions" or "incidents"): fn(state, n, arg)
 * once per state that has rows.  Returns STORE_OK or a store_err.
 */
int		 store_state_counts(struct store *, const char *what,
		    void (*fn)(const char *state, int64_t n, void *arg),
		    void *arg);

#endif
