/*
 * engine.h - remedyd's pipeline: informers -> analyzers -> incidents ->
 * diagnosis -> dry-run -> pending action; and approved action -> PATCH ->
 * verification.
 *
 * The only code path that sends a mutating request for an action is
 * engine_approved() -> apply_start(), and it starts from a row that the
 * store has just moved from approved to applying (DESIGN.md, invariant 2).
 */
#ifndef REMEDY_DAEMON_ENGINE_H
#define REMEDY_DAEMON_ENGINE_H

#include <stdint.h>

#include <uv.h>

#include "base/slice.h"

#include "analyze/incident.h"
#include "base/http.h"
#include "conf/config.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "store/store.h"

#define ENGINE_TICK_MS	250
#define ENGINE_TICK_ONESHOT_MS	10	/* remedyd analyze */
#define ENGINE_NKINDS	14

struct engine_kindarg;
struct discovery;

struct verify;

struct lease;

struct engine {
	struct lease		*lease;		/* leader election; NULL: off.
						 * Set before engine_start() */
	int			 oneshot;	/* remedyd analyze: one LIST
						 * per kind, no watch.  Set
						 * before engine_start() */
	int			 no_dryrun;	/* analyze --no-dry-run: a
						 * proposal is stored without
						 * its dry-run.  Likewise */
	char			 oneshot_err[512];	/* why a one-shot
							 * look cannot go on */
	int			 recovered;	/* engine_recover() ran */
	uv_loop_t		*loop;
	const struct remedy_config *cfg;
	struct store		*store;
	struct kube_client	*kube;

	/* Each kind has either one informer (a cluster-scoped kind; all
	 * namespaces; several namespaces watched cluster-wide, filtered) or
	 * one per configured namespace (credentials namespace-scoped for
	 * it: its cluster-wide LIST answered 403). */
	int			 core_wide;	/* pods, ReplicaSets and
						 * Deployments cluster-wide */
	int			 kwide[ENGINE_NKINDS];
	struct informer	       **pods, **rsets, **deps;
	size_t			 ninf;
	/* The other kinds the analyzers read (engine.c's kinds[] table),
	 * at the version API discovery chose (discover.c). */
	struct informer	       **kinf[ENGINE_NKINDS];
	size_t			 nkinf[ENGINE_NKINDS];
	const struct informer_type *kver[ENGINE_NKINDS]; /* NULL: off */
	int			 kstate[ENGINE_NKINDS];	/* discover.c */
	struct discovery	*disc;
	uv_timer_t		 disc_timer;
	int			 disc_settled;	/* a first round answered or
						 * failed */
	int64_t			 disc_backoff_ms;
	struct engine_kindarg	*kargs;
	struct hmap		 evidx;		/* "Kind/ns/name" -> Events */
	uint64_t		 evseq;
	int64_t			 cron_at;	/* next CronJob re-check */
	uint64_t		 diagnoses;	/* diagnoses started */
	struct diag_state	*diag;		/* diagnosis.c: backend, cache,
						 * budgets, jobs in flight */
	struct agent_job	*agent_checks;	/* agent.c: proposals waiting
						 * for the registry */

	struct incidents	 incs;
	/*
	 * The incident sweep (engine.c incidents_tick): every tick walks
	 * the incidents and lists the fingerprints with store work (store,
	 * refresh, resolve, diagnose); the work runs in slices.  causes
	 * holds the roots of the walk's causes ("ns/kind/name"); waiting
	 * counts the incidents due for a diagnosis that found the queue
	 * full (the last sweep's, and the one under way's).
	 */
	struct slice		 isweep;
	char			**iwork;
	size_t			 iwork_n, iwork_at, iwork_cap;
	struct hmap		 causes;
	unsigned		 diag_waiting, diag_waiting_now;
	/* The store's batch is committed before the loop waits for I/O
	 * (store.h, "Batched writes"). */
	uv_prepare_t		 flush;
	struct verify		*verifying;	/* applied actions being watched */
	int64_t			 sweep_at;	/* apply.c: next pending TTL /
						 * superseded sweep (mono ms) */
	struct slice		 psweep;	/* ... run in slices over: */
	int64_t			*pend_ids;
	size_t			 pend_n, pend_at;
	uv_timer_t		 tick;
	int			 synced;	/* every informer listed once */
	/*
	 * Bulk evaluation (after the sync, the CronJob re-check) runs in
	 * slices of bounded time: the kinds queued, the one under way, its
	 * informer and position there.
	 */
	struct slice		 bulk;
	int			 bulk_kinds[ENGINE_NKINDS + 3];
	size_t			 bulk_n, bulk_at, bulk_inf, bulk_pos;
	uint64_t		 bulk_epoch;
	int			 evaluated;	/* the first pass is done */
	int			 stopping;
	unsigned		 inflight;	/* dry-runs and applies */
	void			(*drained)(void *);	/* called when stopping
							 * and inflight hits 0 */
	void			*drained_arg;
	/* Told after the store committed an action's move to a new state
	 * (commands.c: watch events and webhooks); may be NULL. */
	void			(*on_action)(void *arg, int64_t action_id,
				    const char *state);
	void			*on_action_arg;
};

/* After engine_start(): the diagnosis backend (LLM client on http, API key,
 * cache, budgets).  -1 with a message (a missing API key, say). */
int	engine_diag_init(struct engine *, struct http *, char *err,
	    size_t errlen);
int	engine_start(struct engine *, uv_loop_t *, const struct remedy_config *,
	    struct store *, struct kube_client *);
/* Stop watching; call drained(arg) once no apply or dry-run is in flight
 * (perhaps at once).  Memory is released by engine_free() after the loop
 * has run the close callbacks. */
void	engine_stop(struct engine *, void (*drained)(void *), void *arg);
void	engine_free(struct engine *);

/*
 * The diagnoses now (diagnosis.c): running (at most diagnosis.
 * max_concurrent), queued for a running slot (at most
 * diagnosis.max_queued), and the incidents due for one that wait for room
 * in the queue (engine.c's last sweep).  arg is the struct engine.
 */
struct engine_diag_counts {
	unsigned	running, queued, waiting;
	int		max_concurrent, max_queued;
};
void	engine_diag_counts(void *arg, struct engine_diag_counts *);

/* False while a standby in leader election: no diagnosis, no apply. */
int	engine_active(const struct engine *);
/* The lease was acquired (1) or lost (0). */
void	engine_leader_changed(struct engine *, int leader);

/* The API path ("/apis/batch/v1beta1") at which the server serves kind,
 * as discovery decided, for the kinds of engine.c's kinds[] table; NULL
 * for another kind, or one not served (yet). */
const char	*engine_kind_path(const struct engine *, const char *kind);
/* Publish remedy_kind_served (discover.c), from a metrics collector. */
void	engine_publish_kinds(const struct engine *);

/* Synced, every incident stored and diagnosed, nothing in flight: what
 * remedyd analyze waits for before its report. */
int	engine_settled(struct engine *);
/* Why a one-shot look cannot finish (discovery failed; Pods, ReplicaSets
 * or Deployments may not be listed), or NULL. */
const char	*engine_oneshot_failed(struct engine *);

/* struct cmd_ctx callbacks (commands.h). */
int	engine_synced(void *arg);
void	engine_approved(void *arg, int64_t action_id);

/*
 * Where a proposal came from, stored with the action (store.h, schema 5).
 * origin NULL: remedyd's own diagnosis.
 */
struct engine_origin {
	const char	*origin;	/* STORE_ORIGIN_AGENT */
	const char	*proposer;	/* user name of the peer */
	long		 proposer_uid;
	const char	*client;	/* "name/version", or NULL */
	const char	*rationale;	/* the agent's words, or NULL */
};
/* agent.c: a fix an agent proposes (the control command propose). */
struct agent_fix {
	int64_t		 incident_id;	/* 0: the open incident of the target */
	const char	*kind, *ns, *name;
	json_t		*patch;		/* JSON Patch (array) or merge patch */
	const char	*summary;
	const char	*risk;		/* low, medium, high */
	struct engine_origin origin;
};
/*
 * Answered once: action_id of the stored action (pending or refused, with
 * its rule), or 0 with code (a proto_code) and msg when nothing was
 * stored.
 */
typedef void (*agent_done_fn)(void *arg, int64_t action_id, int code,
	    const char *msg);
/*
 * The pipeline of remedy's own diagnoses for an agent's fix: the policy
 * wall on the patch as proposed, a GET of the target, normalisation
 * against it (`test` operations, inverse, action-id stamp), the policy
 * wall again, the server-side dry-run, the store.  0: done will be
 * called (perhaps before this returns); -1: refused at once, code and
 * msg set, done never called.  engine is a struct engine * (the shape of
 * struct cmd_ctx's callbacks).
 */
int	 engine_agent_propose(void *engine, const struct agent_fix *,
	    agent_done_fn done, void *arg, int *code, char *msg,
	    size_t msglen);

#endif
