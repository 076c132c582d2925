/*
 * diagnosis.c - from an incident to a pending action.
 *
 * One job per incident episode, a chain of steps on the event loop (nothing
 * here blocks).  At most diagnosis.max_concurrent jobs run at once, from
 * their first read until the proposal goes to its dry-run (dryrun.c); the
 * others wait in a FIFO queue of at
 * most diagnosis.max_queued.  When the queue is full the incident is not
 * taken: it stays undiagnosed and the engine's next sweep offers it again,
 * so a storm loses no diagnosis and holds a bounded number of jobs.  The
 * incident is marked diagnosed in the store with its outcome, so a
 * restart diagnoses again what was queued or under way.
 *
 *   read    the affected pod, the Events about it, the root owner as the
 *           API server has it now, and (for an LLM backend, when a
 *           container has run) the last log lines of one container;
 *   rules   the offline backend decides at once;
 *   LLM     context (context.h) -> redactor -> prompt; the reply cache
 *           (cost.h) answers identical prompts; otherwise the call and
 *           token budgets are checked and the backend is asked (llm.h:
 *           async over the shared curl multi, retries with Retry-After;
 *           a running job has at most one call in flight);
 *           the reply is parsed and checked against the schema; an invalid
 *           reply gets one repair round carrying the validation error;
 *           pseudonyms are mapped back; the first action that passes the
 *           target check, the normaliser and the policy wall becomes the
 *           proposal;
 *   dry-run the proposal's patch on the API server, then the store: action
 *           pending (or refused with the server's reason): dryrun.c.
 *
 * Every outcome is stored on the incident (store_diagnosis_set): ok,
 * explained (no patch) or failed with the reason ("diagnosis failed: <why>"
 * in remedyctl), with the tokens the replies reported.  Nothing that failed
 * a check is ever stored as an action.  The prompt, the reply text and the
 * API key are never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "action/normalize.h"
#include "action/policy.h"
#include "action/remedies/remedies.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "diagnose/context.h"
#include "diagnose/cost.h"
#include "diagnose/diagnose.h"
#include "diagnose/jschema.h"
#include "diagnose/llm.h"
#include "diagnose/redact.h"
#include "diagnose/reply.h"
#include "engine_int.h"
#include "kube/objects.h"
#include "registry/ask.h"
#include "registry/pull.h"
#include "registry/registry.h"

#define PROMPT_VERSION	"remedy-diagnosis/1"
#define LOG_MAX_BYTES	65536

struct diag_state {
	struct llm	*llm;		/* NULL: rules */
	int		 kind;		/* enum llm_kind */
	struct cost	 cost;
	unsigned char	 anon_key[REDACT_KEY_LEN];
	struct djob	*jobs;		/* every job: running */
	struct dqueued	*phead, *ptail;	/* queued, not started yet */
	unsigned	 npend, nrun;	/* queued and running diagnoses */
	int		 pumping;	/* inside diag_pump() */
	struct djob	*qhead, *qtail;	/* waiting for an LLM slot */
	int		 running;	/* LLM calls in flight */
	struct registry	*reg;		/* NULL: registries.enabled false */
};

enum step { STEP_POD, STEP_EVENTS, STEP_OWNER, STEP_LOGS, STEP_NODES,
	STEP_NODE_ARCH, STEP_WL_DEP, STEP_WL_STS, STEP_WL_DS, STEP_REGISTRY,
	STEP_DONE };

/* A Service whose selector matches no pod: the workloads of its namespace
 * are listed (STEP_WL_*), those with pods become diag_input.workloads. */
static const struct {
	enum step	 step;
	const char	*kind;
	const char	*plural;
} wl_lists[] = {
	{ STEP_WL_DEP,	"Deployment",	"deployments" },
	{ STEP_WL_STS,	"StatefulSet",	"statefulsets" },
	{ STEP_WL_DS,	"DaemonSet",	"daemonsets" },
};
#define WL_LIST_LIMIT	"250"	/* per kind; more: the list is partial */

struct djob {
	struct engine	*e;
	char		*fingerprint;
	int64_t		 incident_id;
	char		*pod_name;
	enum step	 step;
	json_t		*pod, *events, *owner, *nodes;
	json_t		*workloads;	/* a Service's candidates */
	int		 workloads_partial;	/* a list had more pages */
	char		*logs;
	char		 log_container[256];
	int		 log_previous;
	/* image pull failures: what the registry said (registry/pull.h) */
	struct pull_facts pull;
	char		 pull_kubelet[1024];	/* the waiting message */
	struct reg_budget reg_budget;
	struct pull_ask	 ask;			/* tags, manifest, candidate */
	int		 in_registry;		/* an image check in flight */
	/* a proposal whose images the registry is asked about */
	struct proposal	 checking;
	size_t		 check_op;		/* patch op being checked */

	struct redactor	 red;
	json_t		*messages;	/* the chat so far */
	char		*user;		/* the first user message */
	char		 cache_key[65];
	int		 repaired;
	int		 in_llm, queued;
	int		 waiting;	/* for a job asking the same prompt */
	int64_t		 asked_at;	/* mono ms, the call in flight */
	int64_t		 prompt_tokens, completion_tokens, calls;
	struct djob	*prev, *next, *qnext;
};

/*
 * A diagnosis in the queue: what its job will need, and no more (a job,
 * with its buffers for the reads, the prompt and the registry, is tens of
 * kilobytes; the queue holds diagnosis.max_queued of these).
 */
struct dqueued {
	char		*fingerprint;
	char		*pod_name;	/* the pod to read, or NULL */
	struct dqueued	*next;
};

static void	job_end(struct djob *);
static void	job_step(struct djob *);
static void	diag_pump(struct engine *);
static void	propose_dryrun(struct djob *, struct proposal *);
static void	check_next(struct djob *);
static void	llm_pump(struct engine *);

/* --- outcome --- */

const char *
engine_backend_model(const struct engine *e)
{
	return e->diag != NULL && e->diag->llm != NULL ? e->cfg->diag.model :
	    NULL;
}

struct registry *
engine_registry(const struct engine *e)
{
	return e->diag != NULL ? e->diag->reg : NULL;
}

static void
record(struct djob *j, const char *status, const char *error,
    const struct proposal *p, int cached)
{
	struct engine		*e = j->e;
	struct store_diagnosis	 sd;

	memset(&sd, 0, sizeof(sd));
	sd.incident_id = j->incident_id;
	sd.backend = e->cfg->backend;
	sd.model = engine_backend_model(e);
	sd.status = status;
	sd.error = error;
	sd.summary = p ? p->summary : NULL;
	sd.root_cause = p ? p->root_cause : NULL;
	sd.prompt_tokens = j->prompt_tokens;
	sd.completion_tokens = j->completion_tokens;
	sd.calls = j->calls;
	sd.cached = cached;
	if (j->incident_id > 0 && store_diagnosis_set(e->store, &sd) !=
	    STORE_OK)
		log_warnx("incident %lld: cannot store the diagnosis: %s",
		    (long long)j->incident_id, store_errmsg(e->store));
}

static void
job_fail(struct djob *j, const char *why)
{
	log_warnx("incident %lld: diagnosis failed: %s",
	    (long long)j->incident_id, why);
	record(j, "failed", why, NULL, 0);
	job_end(j);
}

/*
 * The proposal goes through the policy wall, the registry check of the
 * images it writes (when registries.enabled) and, with a patch, to the
 * dry-run.  Takes p over.
 */
static void
propose(struct djob *j, struct proposal *p, int cached)
{
	struct engine		*e = j->e;
	struct policy_request	 req;
	struct policy_verdict	 v;

	if (p->patch == NULL) {
		log_notice("incident %lld: %s. %s", (long long)j->incident_id,
		    p->summary, p->root_cause ? p->root_cause : "");
		record(j, "explained", NULL, p, cached);
		proposal_clear(p);
		job_end(j);
		return;
	}
	if (engine_forced_rollback(e, j->owner, p) == -1) {
		job_fail(j, "out of memory");
		proposal_clear(p);
		return;
	}
	/*
	 * An object without metadata.annotations (most StatefulSets,
	 * DaemonSets and Pods) needs the action-id stamp as an "add" of the
	 * whole map: put it in now, with id 0, since only the object as read
	 * tells; the store sets the real id when it stores the action.
	 */
	if (j->owner != NULL && !json_is_object(json_at(j->owner,
	    "metadata.annotations"))) {
		json_t *stamped = normalize_stamp(p->patch, j->owner, 0);

		if (stamped != NULL) {
			json_decref(p->patch);
			p->patch = stamped;
		}
	}
	memset(&req, 0, sizeof(req));
	req.kind = p->kind;
	req.ns = p->ns;
	req.name = p->name;
	req.verb = "patch";
	req.patch = p->patch;
	req.steps = p->steps;
	req.owner_kind = p->kind;
	req.owner_ns = p->ns;
	req.owner_name = p->name;
	if (policy_check(&e->cfg->policy, &req, &v) == 1) {
		char why[700];

		snprintf(why, sizeof(why), "refused by policy (%s): %s",
		    v.rule, v.message);
		/* stored as a refused action carrying the rule (gate.c) */
		engine_policy_gate(e, p, j->incident_id, p->kind, p->ns,
		    p->name);
		job_fail(j, why);
		proposal_clear(p);
		return;
	}
	record(j, "ok", NULL, p, cached);
	if (store_action_live_for_incident(e->store, j->incident_id) > 0) {
		log_info("incident %lld already has a live action",
		    (long long)j->incident_id);
		proposal_clear(p);
		job_end(j);
		return;
	}
	if (e->diag->reg != NULL) {
		size_t	i = 0;

		if (pull_patch_image(p->patch, &i) != NULL) {
			j->checking = *p;
			memset(p, 0, sizeof(*p));
			j->check_op = 0;
			if (!j->pull.asked)
				j->reg_budget.left =
				    e->cfg->registries.max_requests;
			check_next(j);
			return;
		}
	}
	propose_dryrun(j, p);
}

/* The dry-run of an allowed proposal; ends the job.  Takes p over. */
static void
propose_dryrun(struct djob *j, struct proposal *p)
{
	(void)engine_dryrun(j->e, p, j->incident_id, j->e->cfg->backend, NULL,
	    NULL, NULL);
	job_end(j);
}

/* Refuse the proposal being checked with rule; ends the job. */
static void
check_refuse(struct djob *j, const char *rule, const char *why)
{
	char	msg[1200];

	snprintf(msg, sizeof(msg), "refused by the registry check (%s): %s",
	    rule, why);
	engine_refuse(j->e, &j->checking, j->incident_id, rule, msg);
	proposal_clear(&j->checking);
	job_fail(j, msg);
}

static void
on_image_checked(const struct reg_answer *a, void *arg)
{
	struct djob	*j = arg;
	struct proposal	*p = &j->checking;
	const char	*img;
	char		 why[1024];
	size_t		 i = j->check_op;

	j->in_registry = 0;
	img = pull_patch_image(p->patch, &i);
	if (j->e->stopping) {
		job_end(j);
		return;
	}
	if (a->status == REG_TAG_UNKNOWN || a->status == REG_REPO_UNKNOWN) {
		snprintf(why, sizeof(why), "the proposed image %s does not "
		    "exist: %s", img ? img : "?", a->message);
		json_array_append_new(p->evidence, json_sprintf("registry: "
		    "proposed image %s: %s (%s)", img ? img : "?",
		    reg_status_name(a->status), a->message));
		check_refuse(j, "registry-image-missing", why);
		return;
	}
	if (a->status == REG_OK)
		json_array_append_new(p->evidence, json_sprintf("registry: "
		    "the proposed image %s exists%s%s", img ? img : "?",
		    a->digest[0] ? ", digest " : "", a->digest));
	else
		json_array_append_new(p->evidence, json_sprintf("registry: "
		    "the proposed image %s could not be confirmed: %s (%s)",
		    img ? img : "?", reg_status_name(a->status), a->message));
	j->check_op++;
	check_next(j);
}

/*
 * Ask the registry about each image the proposal writes (HEAD of its
 * manifest), one after the other; a missing one refuses the proposal
 * (rule registry-image-missing), an unconfirmed one (registry down,
 * budget spent) is let through with an evidence line saying so.
 */
static void
check_next(struct djob *j)
{
	struct proposal	*p = &j->checking, q;
	struct imgref	 ref;
	const char	*img;
	char		 err[256];

	while ((img = pull_patch_image(p->patch, &j->check_op)) != NULL) {
		if (imgref_parse(img, &ref, err, sizeof(err)) == -1) {
			check_refuse(j, "registry-image-invalid", err);
			return;
		}
		if (registry_manifest(j->e->diag->reg, &ref, 0,
		    &j->reg_budget, on_image_checked, j) == 0) {
			j->in_registry = 1;
			return;
		}
		j->check_op++;
	}
	q = *p;
	memset(p, 0, sizeof(*p));
	propose_dryrun(j, &q);
}

/* --- the rules backend --- */

/*
 * The ControllerRevisions of the root owner as just read, when it is a
 * StatefulSet or DaemonSet (an empty array otherwise): a heap array of
 * cache entries, NULL on ENOMEM.
 */
static const struct kobj **
owner_revisions(struct djob *j, size_t *n)
{
	const char *kind = json_str_at(j->owner, "kind");

	*n = 0;
	if (kind == NULL || (strcmp(kind, "StatefulSet") != 0 &&
	    strcmp(kind, "DaemonSet") != 0))
		return calloc(1, sizeof(const struct kobj *));
	return engine_revisions(j->e, json_str_at(j->owner, "metadata.uid"),
	    n);
}

static void
diagnose_rules(struct djob *j, struct incident *inc)
{
	struct engine			 *e = j->e;
	struct diag_input		  in;
	struct proposal			  p;
	struct normalized		  nz;
	const struct kreplicaset	**rs = NULL;
	const struct kobj		**revs = NULL;
	struct kreplicaset		 *r;
	size_t				  i, pos, n = 0, cap = 0;
	void				 *v;
	char				  why[512], *red = NULL;

	memset(&in, 0, sizeof(in));
	in.inc = inc;
	in.events = j->events;
	in.owner = j->owner;
	in.pod = j->pod;
	in.logs = j->logs;
	in.log_container = j->log_container;
	in.workloads = j->workloads;
	in.workloads_partial = j->workloads_partial;
	if (strcmp(inc->reason, "Unschedulable") == 0 &&
	    (in.nodes = engine_kind_json(e, "Node")) == NULL)
		goto oom;
	if (strcmp(inc->kind, "PersistentVolumeClaim") == 0 &&
	    (in.storageclasses = engine_kind_json(e, "StorageClass")) == NULL)
		goto oom;
	in.mem_factor = e->cfg->diag.memory_raise_factor;
	in.mem_ceiling = e->cfg->diag.memory_ceiling;
	if (j->pull.image[0] != '\0')
		in.pull = &j->pull;
	if (strcmp(inc->kind, "Deployment") == 0)
		in.dep = engine_cache_get(e, e->deps, inc->ns, inc->name);
	for (i = 0; in.dep != NULL && i < e->ninf; i++) {
		pos = 0;
		while (informer_next(e->rsets[i], &pos, &v)) {
			r = v;
			if (r->m.owner.uid == NULL || in.dep->m.uid == NULL ||
			    strcmp(r->m.owner.uid, in.dep->m.uid) != 0)
				continue;
			if (n == cap) {
				const struct kreplicaset **nrs;

				cap = cap ? cap * 2 : 8;
				if ((nrs = realloc(rs, cap * sizeof(*rs))) ==
				    NULL)
					goto oom;
				rs = nrs;
			}
			rs[n++] = r;
		}
	}
	in.rs = rs;
	in.nrs = n;
	if ((revs = owner_revisions(j, &in.nrevs)) == NULL)
		goto oom;
	in.revs = revs;
	if (rules_diagnose(&in, &p) == -1)
		goto oom;
	json_decref(in.nodes);
	json_decref(in.storageclasses);
	free(rs);
	free(revs);
	/* Event messages quoted as evidence may hold secrets too: the same
	 * redactor as for an LLM, before anything is logged or stored. */
	redact_init(&j->red, 0, 0, NULL);
	if (redact_json(&j->red, p.evidence) == -1 || (p.root_cause != NULL &&
	    (red = redact_text(&j->red, p.root_cause)) == NULL)) {
		proposal_clear(&p);
		job_fail(j, "out of memory");
		return;
	}
	if (p.root_cause != NULL) {
		free(p.root_cause);
		p.root_cause = red;
	}
	/*
	 * The canonical form (and its inverse) against the object as just
	 * read: the rules worked from the informer's cache, which may be a
	 * moment behind, so their own `test` ops are dropped and the
	 * normaliser puts in tests of what was read.
	 */
	if (p.patch != NULL && j->owner != NULL &&
	    (json_is_integer(json_at(j->owner, "metadata.generation")) ||
	    strcmp(inc->kind, "Service") == 0)) {
		json_t	*op;

		p.proposed = json_deep_copy(p.patch);	/* for the audit */

		for (i = json_array_size(p.patch); i-- > 0;) {
			op = json_array_get(p.patch, i);
			if (json_str_at(op, "op") != NULL &&
			    strcmp(json_str_at(op, "op"), "test") == 0)
				json_array_remove(p.patch, i);
		}
		if (normalize_proposal(j->owner, p.patch, &nz, why,
		    sizeof(why)) == -1) {
			proposal_clear(&p);
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			    " (rules patch)");
			job_fail(j, why);
			return;
		}
		json_decref(p.patch);
		json_decref(p.changes);
		p.patch = nz.patch;
		p.changes = nz.changes;
		p.inverse = nz.inverse;
		json_decref(nz.result);
	}
	propose(j, &p, 0);
	return;
oom:
	json_decref(in.nodes);
	json_decref(in.storageclasses);
	free(rs);
	free(revs);
	job_fail(j, "out of memory");
}

/* --- LLM backends --- */

static void	llm_done(struct llm_result *, void *);

static void
tokens(struct djob *j, int64_t prompt, int64_t completion)
{
	j->prompt_tokens += prompt;
	j->completion_tokens += completion;
	cost_count_tokens(&j->e->diag->cost, now_ms(), prompt + completion);
}

/*
 * A reply text (from the backend or the cache).  Returns 1 when it was
 * handled (the job ended or went on), 0 when it is invalid and a repair
 * round may follow (why says what is wrong).
 */
static int
reply_text(struct djob *j, const char *text, int cached, char *why,
    size_t whylen)
{
	struct engine		*e = j->e;
	struct incident		*inc;
	struct reply_target	 t;
	struct proposal		 p;
	json_t			*doc;
	size_t			 i, n;
	char			 api_path[512], first[700] = "", err[700];

	if ((doc = reply_parse(text, why, whylen)) == NULL)
		return 0;
	if (reply_validate(doc, why, whylen) == -1) {
		json_decref(doc);
		return 0;
	}
	if (!cached && cost_put(&e->diag->cost, j->cache_key, text,
	    j->prompt_tokens, j->completion_tokens, mono_ms()) == -1)
		log_warnx("incident %lld: cannot cache the reply: out of "
		    "memory", (long long)j->incident_id);
	if (redact_unalias_json(&j->red, doc) == -1) {
		json_decref(doc);
		job_fail(j, "out of memory");
		return 1;
	}
	if ((inc = incidents_get(&e->incs, j->fingerprint)) == NULL) {
		json_decref(doc);
		job_end(j);
		return 1;
	}
	if (remedy_api_path(inc->kind, inc->ns, inc->name, api_path,
	    sizeof(api_path)) == -1)
		api_path[0] = '\0';	/* no kind a fix may target */
	t.kind = inc->kind;
	t.ns = inc->ns;
	t.name = inc->name;
	t.api_path = api_path;
	n = json_array_size(json_object_get(doc, "actions"));
	for (i = 0; i < n; i++) {
		if (reply_action(doc, i, &t, j->owner, &e->cfg->policy, &p,
		    err, sizeof(err)) == 0) {
			json_decref(doc);
			propose(j, &p, cached);
			return 1;
		}
		log_warnx("incident %lld: %s", (long long)j->incident_id, err);
		if (first[0] == '\0')
			snprintf(first, sizeof(first), "%s", err);
	}
	if (n > 0) {
		json_decref(doc);
		job_fail(j, first);
		return 1;
	}
	if (reply_explain(doc, &t, &p) == -1) {
		json_decref(doc);
		job_fail(j, "out of memory");
		return 1;
	}
	json_decref(doc);
	propose(j, &p, cached);
	return 1;
}

/* Ask the backend (the job holds a slot). */
static void
llm_start(struct djob *j)
{
	struct diag_state	*ds = j->e->diag;

	ds->running++;
	j->in_llm = 1;
	j->calls++;
	j->asked_at = mono_ms();
	cost_count_call(&ds->cost, now_ms());
	if (llm_chat(ds->llm, diagnosis_system_prompt, j->messages, diagnosis_schema(),
	    llm_done, j) == -1) {
		ds->running--;
		j->in_llm = 0;
		job_fail(j, "cannot start the LLM call: out of memory");
	}
}

/* Queue the job for a slot, after the budgets agree. */
static void
llm_enqueue(struct djob *j)
{
	struct diag_state	*ds = j->e->diag;
	char			 why[256];

	if (cost_admit(&ds->cost, now_ms(), why, sizeof(why)) == -1) {
		job_fail(j, why);
		return;
	}
	j->queued = 1;
	j->qnext = NULL;
	if (ds->qtail)
		ds->qtail->qnext = j;
	else
		ds->qhead = j;
	ds->qtail = j;
	llm_pump(j->e);
}

static void
llm_pump(struct engine *e)
{
	struct diag_state	*ds = e->diag;
	struct djob		*j;

	while (ds->qhead != NULL && ds->running <
	    e->cfg->diag.max_concurrent) {
		j = ds->qhead;
		ds->qhead = j->qnext;
		if (ds->qhead == NULL)
			ds->qtail = NULL;
		j->queued = 0;
		llm_start(j);
	}
}

static void	llm_reply(struct djob *, struct llm_result *);

/*
 * Jobs that found their prompt being asked by another job wait for it:
 * once that call ends they take the cached reply, or ask themselves when
 * there is none (the call failed).
 */
static void
wake_waiters(struct engine *e, const char *key)
{
	struct djob		*j, **v;
	const struct cost_entry	*hit;
	size_t			 n = 0, i;
	char			 why[600];

	for (j = e->diag->jobs; j != NULL; j = j->next) {
		if (strcmp(j->cache_key, key) != 0)
			continue;
		if (j->in_llm || j->queued)
			return;		/* still asking (a repair round) */
		if (j->waiting)
			n++;
	}
	if (n == 0 || (v = calloc(n, sizeof(*v))) == NULL)
		return;
	n = 0;
	for (j = e->diag->jobs; j != NULL; j = j->next)
		if (j->waiting && strcmp(j->cache_key, key) == 0)
			v[n++] = j;
	for (i = 0; i < n; i++) {
		v[i]->waiting = 0;
		hit = cost_get(&e->diag->cost, key, mono_ms());
		if (hit == NULL)
			llm_enqueue(v[i]);
		else if (!reply_text(v[i], hit->text, 1, why, sizeof(why)))
			job_fail(v[i], why);
	}
	free(v);
}

static void
llm_done(struct llm_result *res, void *arg)
{
	struct djob	*j = arg;
	struct engine	*e = j->e;
	char		 key[65];

	memcpy(key, j->cache_key, sizeof(key));
	llm_reply(j, res);
	if (e->diag != NULL && e->diag->llm != NULL) {
		wake_waiters(e, key);
		llm_pump(e);
	}
}

static void
llm_reply(struct djob *j, struct llm_result *res)
{
	struct engine	*e = j->e;
	char		 why[600], msg[900];

	double		 secs = (double)(mono_ms() - j->asked_at) / 1000.0;

	e->diag->running--;
	j->in_llm = 0;
	tokens(j, res->prompt_tokens, res->completion_tokens);
	if (!res->ok) {
		metrics_diagnosis_call(e->cfg->backend, res->status == 429 ?
		    "ratelimited" : res->status != 0 ? "http" :
		    strstr(res->err, "timed out") ? "timeout" : "transport",
		    secs, (long)res->prompt_tokens,
		    (long)res->completion_tokens);
		job_fail(j, res->err);
		return;
	}
	if (res->truncated) {
		snprintf(why, sizeof(why), "the reply was cut off at "
		    "diagnosis.max_tokens (%d)", e->cfg->diag.max_tokens);
		metrics_diagnosis_call(e->cfg->backend, "truncated", secs,
		    (long)res->prompt_tokens, (long)res->completion_tokens);
	} else {
		/* j may end inside reply_text(): only e is used after it. */
		int	 handled = reply_text(j, res->text, 0, why, sizeof(why));

		metrics_diagnosis_call(e->cfg->backend, handled ? "ok" :
		    "invalid", secs, (long)res->prompt_tokens,
		    (long)res->completion_tokens);
		if (handled)
			return;
	}
	if (j->repaired) {
		snprintf(msg, sizeof(msg), "invalid reply after a repair "
		    "round: %s", why);
		job_fail(j, msg);
		return;
	}
	/* One repair round: the model sees its reply and what is wrong. */
	j->repaired = 1;
	log_info("incident %lld: invalid reply (%s); asking once more",
	    (long long)j->incident_id, why);
	snprintf(msg, sizeof(msg), "Your reply is invalid: %s. Reply again "
	    "with only the corrected JSON object.", why);
	if (json_array_append_new(j->messages, json_pack("{s:s, s:s}", "role",
	    "assistant", "content", res->text ? res->text : "")) == -1 ||
	    json_array_append_new(j->messages, json_pack("{s:s, s:s}", "role",
	    "user", "content", msg)) == -1) {
		job_fail(j, "out of memory");
		return;
	}
	llm_enqueue(j);
}

static void
diagnose_llm(struct djob *j, struct incident *inc)
{
	struct engine			*e = j->e;
	struct context_input		 ci;
	const struct cost_entry		*hit;
	const struct kreplicaset	**rs = NULL;
	const struct kdeployment	*dep = NULL;
	struct kreplicaset		*r;
	struct djob			*o;
	json_t				*ctx;
	char				*ctxs = NULL, *prompt = NULL, *all;
	char				 why[600];
	size_t				 i, pos, n = 0, cap = 0, len;
	void				*v;
	int				 truncated;

	redact_init(&j->red, e->cfg->diag.redact_ips, e->cfg->diag.anonymize,
	    e->diag->anon_key);
	memset(&ci, 0, sizeof(ci));
	ci.inc = inc;
	ci.owner = j->owner;
	ci.pod = j->pod;
	ci.events = j->events;
	ci.nodes = j->nodes;
	ci.workloads = j->workloads;
	ci.logs = j->logs;
	ci.log_container = j->log_container;
	ci.log_previous = j->log_previous;
	ci.log_lines = (size_t)e->cfg->diag.log_lines;
	if (j->pull.image[0] != '\0')
		ci.pull = &j->pull;
	if (strcmp(inc->kind, "Deployment") == 0)
		dep = engine_cache_get(e, e->deps, inc->ns, inc->name);
	for (i = 0; dep != NULL && i < e->ninf; i++) {
		pos = 0;
		while (informer_next(e->rsets[i], &pos, &v)) {
			r = v;
			if (r->m.owner.uid == NULL || dep->m.uid == NULL ||
			    strcmp(r->m.owner.uid, dep->m.uid) != 0)
				continue;
			if (n == cap) {
				const struct kreplicaset **nrs;

				cap = cap ? cap * 2 : 8;
				if ((nrs = realloc(rs, cap * sizeof(*rs))) ==
				    NULL)
					goto oom;
				rs = nrs;
			}
			rs[n++] = r;
		}
	}
	ci.rs = rs;
	ci.nrs = n;
	if ((ci.revs = owner_revisions(j, &ci.nrevs)) == NULL)
		goto oom;
	ctx = context_build(&ci, &j->red, (size_t)e->cfg->diag.context_bytes,
	    &truncated);
	free(rs);
	free(ci.revs);
	rs = NULL;
	if (ctx == NULL || (ctxs = json_dumps(ctx, JSON_COMPACT)) == NULL) {
		json_decref(ctx);
		goto oom;
	}
	json_decref(ctx);
	len = strlen(ctxs) + 256;
	if ((prompt = malloc(len)) == NULL)
		goto oom;
	snprintf(prompt, len, "Diagnose this incident%s.\nContext:\n%s",
	    truncated ? " (the context was shortened to fit)" : "", ctxs);
	free(ctxs);
	ctxs = NULL;
	log_debug("incident %lld: prompt of %zu bytes, %zu redaction(s)",
	    (long long)j->incident_id, strlen(prompt), j->red.count);
	len = strlen(diagnosis_system_prompt) + strlen(prompt) + 2;
	if ((all = malloc(len)) == NULL)
		goto oom;
	snprintf(all, len, "%s\n%s", diagnosis_system_prompt, prompt);
	cost_key(j->cache_key, e->cfg->backend, e->cfg->diag.model,
	    PROMPT_VERSION, all);
	free(all);
	j->messages = json_pack("[{s:s, s:s}]", "role", "user", "content",
	    prompt);
	free(prompt);
	prompt = NULL;
	if (j->messages == NULL)
		goto oom;
	if ((hit = cost_get(&e->diag->cost, j->cache_key, mono_ms())) !=
	    NULL) {
		log_info("incident %lld: reply cache hit (%lld + %lld tokens "
		    "saved)", (long long)j->incident_id,
		    (long long)hit->prompt_tokens,
		    (long long)hit->completion_tokens);
		if (!reply_text(j, hit->text, 1, why, sizeof(why)))
			job_fail(j, why);	/* cannot happen: it was valid */
		return;
	}
	for (o = e->diag->jobs; o != NULL; o = o->next)
		if (o != j && (o->in_llm || o->queued) &&
		    strcmp(o->cache_key, j->cache_key) == 0) {
			log_info("incident %lld: the same prompt is being asked "
			    "for incident %lld; waiting for its reply",
			    (long long)j->incident_id,
			    (long long)o->incident_id);
			j->waiting = 1;
			return;
		}
	llm_enqueue(j);
	return;
oom:
	free(rs);
	free(ctxs);
	free(prompt);
	job_fail(j, "out of memory");
}

/* --- reading what the diagnosis needs --- */

/* The first queued diagnosis, out of the queue (NULL: none). */
static struct dqueued *
pend_pop(struct diag_state *ds)
{
	struct dqueued	*q;

	if ((q = ds->phead) == NULL)
		return NULL;
	if ((ds->phead = q->next) == NULL)
		ds->ptail = NULL;
	ds->npend--;
	return q;
}

static void
pend_free(struct dqueued *q)
{
	free(q->fingerprint);
	free(q->pod_name);
	free(q);
}

/* Unlink and free; job_end() also counts it out of the engine. */
static void
job_free(struct djob *j)
{
	struct diag_state	*ds = j->e->diag;

	if (ds != NULL) {
		if (j->prev)
			j->prev->next = j->next;
		else
			ds->jobs = j->next;
		if (j->next)
			j->next->prev = j->prev;
		ds->nrun--;
	}
	free(j->fingerprint);
	free(j->pod_name);
	json_decref(j->pod);
	json_decref(j->events);
	json_decref(j->owner);
	json_decref(j->nodes);
	json_decref(j->workloads);
	pull_ask_cancel(&j->ask);
	if (j->in_registry && ds != NULL && ds->reg != NULL)
		registry_cancel(ds->reg, j);
	pull_facts_clear(&j->pull);
	proposal_clear(&j->checking);
	free(j->logs);
	json_decref(j->messages);
	free(j->user);
	redact_clear(&j->red);
	free(j);
}

static void
job_end(struct djob *j)
{
	struct engine	*e = j->e;

	job_free(j);
	e->inflight--;
	engine_check_drained(e);
	diag_pump(e);
}

/* The container whose logs tell most: the first that restarted, else
 * the first that ran at all; none for pods that never started one. */
static int
log_target(struct djob *j)
{
	json_t	*list = json_at(j->pod, "status.containerStatuses");
	json_t	*c, *pick = NULL;
	size_t	 i, n = json_array_size(list);

	for (i = 0; i < n && pick == NULL; i++) {
		c = json_array_get(list, i);
		if (json_int_at(c, "restartCount", 0) > 0) {
			j->log_previous = 1;
			pick = c;
		}
	}
	for (i = 0; i < n && pick == NULL; i++) {
		c = json_array_get(list, i);
		if (json_at(c, "state.running") != NULL ||
		    json_at(c, "state.terminated") != NULL)
			pick = c;
	}
	if (pick == NULL || json_str_at(pick, "name") == NULL)
		return 0;
	snprintf(j->log_container, sizeof(j->log_container), "%s",
	    json_str_at(pick, "name"));
	return 1;
}

/* Some cached pod of namespace ns that is not being deleted carries every
 * label of sel (a non-empty matchLabels). */
static int
has_pods(struct engine *e, const char *ns, json_t *sel)
{
	int	total, ready;

	if (!json_is_object(sel) || json_object_size(sel) == 0)
		return 0;
	engine_selected_pods(e, ns, sel, &total, &ready);
	return total > 0;
}

/* The items of a workload list that have pods, each with its "kind" (a
 * list's items carry none), appended to j->workloads. */
static void
workloads_add(struct djob *j, json_t *list, const char *kind)
{
	json_t	*it;
	size_t	 i;

	if (j->workloads == NULL && (j->workloads = json_array()) == NULL)
		return;
	if (json_str_at(list, "metadata.continue") != NULL &&
	    *json_str_at(list, "metadata.continue") != '\0')
		j->workloads_partial = 1;
	json_array_foreach(json_object_get(list, "items"), i, it) {
		if (!json_is_object(it) || json_str_at(it, "metadata.name") ==
		    NULL || json_str_at(it, "metadata.namespace") == NULL ||
		    !has_pods(j->e, json_str_at(it, "metadata.namespace"),
		    json_at(it, "spec.selector.matchLabels")))
			continue;
		if (json_object_set_new(it, "kind", json_string(kind)) == -1 ||
		    json_array_append(j->workloads, it) == -1)
			return;
	}
}

static void
got(const struct kube_resp *r, void *arg)
{
	struct djob	*j = arg;
	json_t		*body = r->status == 200 ? r->body : NULL;

	if (r->status != 200)
		log_info("incident %lld: %s lookup failed (%ld %s); going on "
		    "without it", (long long)j->incident_id, j->step ==
		    STEP_POD ? "pod" : j->step == STEP_EVENTS ? "events" :
		    j->step == STEP_OWNER ? "owner" : j->step == STEP_LOGS ?
		    "log" : j->step == STEP_NODE_ARCH ? "node" : j->step ==
		    STEP_NODES ? "nodes" : "workloads",
		    r->status,
		    r->message);
	switch (j->step) {
	case STEP_POD:
		j->pod = json_incref(body);
		j->step = STEP_EVENTS;
		break;
	case STEP_EVENTS:
		j->events = json_incref(body);
		j->step = STEP_OWNER;
		break;
	case STEP_OWNER:
		j->owner = json_incref(body);
		j->step = STEP_LOGS;
		break;
	case STEP_LOGS:
		if (r->status == 200 && r->raw != NULL)
			j->logs = strndup(r->raw, r->rawlen > LOG_MAX_BYTES ?
			    LOG_MAX_BYTES : r->rawlen);
		j->step = STEP_NODES;
		break;
	case STEP_NODES:
		j->nodes = json_incref(body);
		j->step = STEP_NODE_ARCH;
		break;
	case STEP_NODE_ARCH:
		/* a one-item list: nodes are listed, never read one by one */
		body = json_array_get(json_object_get(body, "items"), 0);
		if (json_str_at(body, "status.nodeInfo.architecture"))
			snprintf(j->pull.node_arch, sizeof(j->pull.node_arch),
			    "%s", json_str_at(body,
			    "status.nodeInfo.architecture"));
		j->step = STEP_WL_DEP;
		break;
	case STEP_WL_DEP:
	case STEP_WL_STS:
	case STEP_WL_DS:
		if (body != NULL)
			workloads_add(j, body, wl_lists[j->step -
			    STEP_WL_DEP].kind);
		else
			j->workloads_partial = 1;	/* not read: unknown */
		j->step++;
		break;
	case STEP_REGISTRY:
	case STEP_DONE:
		break;
	}
	if (j->e->stopping) {
		job_end(j);
		return;
	}
	job_step(j);
}

/* --- asking the image registry (registry.h) --- */

/* The registry's answers are in (ask.h): diagnose. */
static void
on_pull_asked(void *arg)
{
	struct djob	*j = arg;

	if (j->e->stopping) {
		job_end(j);
		return;
	}
	j->step = STEP_DONE;
	job_step(j);
}

/*
 * For an image pull failure, ask the registry (when registries.enabled)
 * for the repository's tags and the image's manifest, within the
 * incident's request budget.  Returns 1 when a question is in flight.
 */
static int
registry_start(struct djob *j, struct incident *inc)
{
	struct diag_state	*ds = j->e->diag;
	struct pull_facts	*f = &j->pull;

	if (ds->reg == NULL || j->pod == NULL ||
	    !pull_reason(inc->reason) || !pull_target(j->pod, f,
	    j->pull_kubelet, sizeof(j->pull_kubelet)))
		return 0;
	f->ref_ok = imgref_parse(f->image, &f->ref, f->ref_err,
	    sizeof(f->ref_err)) == 0;
	if (!f->ref_ok)
		return 0;
	j->reg_budget.left = j->e->cfg->registries.max_requests;
	f->pin_digest = j->e->cfg->registries.pin_digest;
	f->kubelet_no_platform = pull_kubelet_no_platform(j->pull_kubelet);
	{
		json_t	*ev;
		size_t	 i;

		/* the waiting message of a back-off names no reason: the
		 * kubelet's Failed events do */
		json_array_foreach(json_object_get(j->events, "items"), i, ev)
			if (pull_kubelet_no_platform(json_str_at(ev,
			    "message")))
				f->kubelet_no_platform = 1;
	}
	if (pull_ask_start(&j->ask, ds->reg, f, &j->reg_budget,
	    on_pull_asked, j) == -1)
		return 0;
	log_info("incident %lld: asking the registry about %s/%s",
	    (long long)j->incident_id, f->ref.domain, f->ref.path);
	return 1;
}

/* Start the next read, or diagnose when everything is read. */
static void
job_step(struct djob *j)
{
	struct engine	*e = j->e;
	struct incident	*inc;
	char		 path[1024], sel[600], num[32];

	inc = incidents_get(&e->incs, j->fingerprint);
	if (inc == NULL || incident_objects(inc) == 0) {
		job_end(j);		/* healed while we read */
		return;
	}
	for (;;) {
		path[0] = '\0';
		switch (j->step) {
		case STEP_POD:
			if (j->pod_name != NULL)
				snprintf(path, sizeof(path),
				    "/api/v1/namespaces/%s/pods/%s", inc->ns,
				    j->pod_name);
			break;
		case STEP_EVENTS:
			/* About the pod read, else about the object. */
			if (*inc->ns == '\0')
				break;
			snprintf(path, sizeof(path),
			    "/api/v1/namespaces/%s/events", inc->ns);
			snprintf(sel, sizeof(sel), "involvedObject.kind=%s,"
			    "involvedObject.name=%s", j->pod_name ? "Pod" :
			    inc->kind, j->pod_name ? j->pod_name : inc->name);
			if (kube_query_add(path, sizeof(path), "fieldSelector",
			    sel) == -1 || kube_query_add(path, sizeof(path),
			    "limit", "100") == -1)
				path[0] = '\0';
			break;
		case STEP_OWNER:
			/* At the version discovery chose (a v1.20 server
			 * serves CronJobs as batch/v1beta1 only). */
			if (remedy_api_path_at(inc->kind, engine_kind_path(e,
			    inc->kind), inc->ns, inc->name, path,
			    sizeof(path)) != 0)
				path[0] = '\0';
			break;
		case STEP_LOGS:
			/* For an LLM, and for the rules' crash loops and
			 * failing Jobs: the line saying why the process dies
			 * is in there. */
			if (j->pod == NULL || e->cfg->diag.log_lines == 0 ||
			    (e->diag->llm == NULL && strcmp(inc->reason,
			    "CrashLoopBackOff") != 0 && strcmp(inc->reason,
			    "JobPodsFailing") != 0) || !log_target(j))
				break;
			snprintf(path, sizeof(path),
			    "/api/v1/namespaces/%s/pods/%s/log", inc->ns,
			    j->pod_name);
			snprintf(num, sizeof(num), "%d",
			    e->cfg->diag.log_lines);
			if (kube_query_add(path, sizeof(path), "container",
			    j->log_container) == -1 ||
			    kube_query_add(path, sizeof(path), "tailLines",
			    num) == -1 || kube_query_add(path, sizeof(path),
			    "limitBytes", "65536") == -1 || (j->log_previous &&
			    kube_query_add(path, sizeof(path), "previous",
			    "true") == -1))
				path[0] = '\0';
			break;
		case STEP_NODES:
			/* What the scheduler saw, for scheduling failures. */
			if (e->diag->llm != NULL &&
			    strcmp(inc->reason, "Unschedulable") == 0)
				snprintf(path, sizeof(path),
				    "/api/v1/nodes?limit=20");
			break;
		case STEP_NODE_ARCH:
			/* The node's platform, for "no match for platform". */
			if (j->e->diag->reg == NULL || j->pod == NULL ||
			    !pull_reason(inc->reason) ||
			    json_str_at(j->pod, "spec.nodeName") == NULL)
				break;
			snprintf(sel, sizeof(sel), "metadata.name=%s",
			    json_str_at(j->pod, "spec.nodeName"));
			snprintf(path, sizeof(path), "/api/v1/nodes");
			if (kube_query_add(path, sizeof(path), "fieldSelector",
			    sel) == -1)
				path[0] = '\0';
			break;
		case STEP_WL_DEP:
		case STEP_WL_STS:
		case STEP_WL_DS:
			/* the rules' candidates, an LLM's facts */
			if (strcmp(inc->kind, "Service") != 0 ||
			    strcmp(inc->reason, "NoMatchingPods") != 0)
				break;
			snprintf(path, sizeof(path),
			    "/apis/apps/v1/namespaces/%s/%s", inc->ns,
			    wl_lists[j->step - STEP_WL_DEP].plural);
			if (kube_query_add(path, sizeof(path), "limit",
			    WL_LIST_LIMIT) == -1)
				path[0] = '\0';
			break;
		case STEP_REGISTRY:
			if (registry_start(j, inc))
				return;
			break;
		case STEP_DONE:
			if (e->diag->llm != NULL)
				diagnose_llm(j, inc);
			else
				diagnose_rules(j, inc);
			return;
		}
		if (path[0] != '\0' && kube_get(e->kube, path, got, j) != NULL)
			return;
		j->step++;
	}
}

/*
 * A queued diagnosis starts: its job is made and its first read goes out.
 * An incident gone or healed while it waited ends the job at once.
 */
static void
job_start(struct engine *e, struct dqueued *q)
{
	struct diag_state	*ds = e->diag;
	struct incident		*inc;
	struct djob		*j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_warnx("diagnosis of %s failed: out of memory",
		    q->fingerprint);
		pend_free(q);
		e->inflight--;
		engine_check_drained(e);
		return;
	}
	j->e = e;
	j->fingerprint = q->fingerprint;
	j->pod_name = q->pod_name;
	free(q);
	j->next = ds->jobs;
	if (j->next)
		j->next->prev = j;
	ds->jobs = j;
	ds->nrun++;
	inc = incidents_get(&e->incs, j->fingerprint);
	if (inc != NULL && incident_objects(inc) > 0) {
		j->incident_id = inc->store_id;
		e->diagnoses++;
		log_notice("incident %lld: diagnosing %s",
		    (long long)j->incident_id, j->fingerprint);
	}
	job_step(j);
}

/* Start queued diagnoses while fewer than max_concurrent run.  Not
 * re-entered from a job that ends at once. */
static void
diag_pump(struct engine *e)
{
	struct diag_state	*ds = e->diag;

	if (ds == NULL || ds->pumping)
		return;
	ds->pumping = 1;
	while (!e->stopping && ds->phead != NULL &&
	    ds->nrun < (unsigned)e->cfg->diag.max_concurrent)
		job_start(e, pend_pop(ds));
	ds->pumping = 0;
}

/*
 * Diagnose an incident once per episode (the engine persisted it first, so
 * inc->store_id is its row): at once when a slot is free, else after the
 * diagnoses queued before it.  The pod read is the one whose key sorts
 * first, so the choice is repeatable.
 */
int
engine_diagnose(struct engine *e, struct incident *inc)
{
	struct diag_state	*ds = e->diag;
	struct dqueued		*q;
	const char		*pod = NULL, *failed = NULL, *k, *slash;
	void			*v;
	size_t			 pos = 0;

	if (ds == NULL) {
		inc->diagnosed = 1;
		log_warnx("incident %lld: diagnosis is not set up",
		    (long long)inc->store_id);
		return 0;
	}
	if (ds->nrun >= (unsigned)e->cfg->diag.max_concurrent &&
	    ds->npend >= (unsigned)e->cfg->diag.max_queued)
		return -1;
	inc->diagnosed = 1;
	while (hmap_next(&inc->pods, &pos, &k, &v))
		if (pod == NULL || strcmp(k, pod) < 0)
			pod = k;
	/* a Job that keeps failing has no pod of its own in the incident:
	 * one of its failed pods tells why (its events, its log) */
	if (pod == NULL && strcmp(inc->reason, "JobPodsFailing") == 0)
		failed = engine_job_failed_pod(e, inc->kind, inc->ns,
		    inc->name);
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->fingerprint = strdup(inc->fingerprint)) == NULL ||
	    (pod != NULL && (slash = strchr(pod, '/')) != NULL &&
	    (q->pod_name = strdup(slash + 1)) == NULL) ||
	    (failed != NULL && (q->pod_name = strdup(failed)) == NULL)) {
		if (q != NULL)
			pend_free(q);
		log_warnx("incident %lld: diagnosis failed: out of memory",
		    (long long)inc->store_id);
		return 0;
	}
	if (ds->ptail != NULL)
		ds->ptail->next = q;
	else
		ds->phead = q;
	ds->ptail = q;
	ds->npend++;
	e->inflight++;
	diag_pump(e);
	return 0;
}

void
engine_diag_counts(void *arg, struct engine_diag_counts *c)
{
	struct engine	*e = arg;

	memset(c, 0, sizeof(*c));
	c->max_concurrent = e->cfg->diag.max_concurrent;
	c->max_queued = e->cfg->diag.max_queued;
	c->waiting = e->diag_waiting;
	if (e->diag != NULL) {
		c->running = e->diag->nrun;
		c->queued = e->diag->npend;
	}
}

/* --- set-up and tear-down --- */

int
engine_diag_init(struct engine *e, struct http *http, char *err,
    size_t errlen)
{
	const struct diag_config	*dc = &e->cfg->diag;
	struct diag_state		*ds;
	struct llm_config		 lc;
	char				*key = NULL;
	int				 kind;

	if ((ds = calloc(1, sizeof(*ds))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cost_init(&ds->cost, dc->cache_ttl_ms, dc->max_calls_per_hour,
	    dc->max_tokens_per_day);
	if (RAND_bytes(ds->anon_key, sizeof(ds->anon_key)) != 1) {
		snprintf(err, errlen, "cannot draw the anonymizing key");
		goto fail;
	}
	e->diag = ds;
	if (e->cfg->registries.enabled) {
		if ((ds->reg = registry_new(http, &e->cfg->registries)) ==
		    NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		log_info("diagnosis: image pull failures are checked against "
		    "their registries (%zu mirror(s))",
		    e->cfg->registries.nmirrors);
	}
	kind = llm_kind_parse(e->cfg->backend);
	if (kind != -1) {
		if (diag_api_key(dc, &key, err, errlen) == -1)
			goto fail;
		memset(&lc, 0, sizeof(lc));
		lc.kind = (enum llm_kind)kind;
		lc.model = dc->model;
		lc.endpoint = dc->endpoint ? dc->endpoint :
		    kind == LLM_OPENAI ? "https://api.openai.com/v1" :
		    kind == LLM_ANTHROPIC ? "https://api.anthropic.com" :
		    "http://127.0.0.1:11434";
		lc.api_key = key;
		lc.azure_deployment = dc->azure_deployment;
		lc.api_version = dc->api_version;
		lc.structured = (enum llm_structured)dc->structured;
		lc.timeout_ms = dc->timeout_ms;
		lc.max_retries = dc->max_retries;
		lc.max_tokens = dc->max_tokens;
		ds->llm = llm_new(e->loop, http, &lc);
		if (key != NULL) {
			explicit_bzero(key, strlen(key));
			free(key);
		}
		if (ds->llm == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		ds->kind = kind;
		log_info("diagnosis: backend %s, model %s, endpoint %s%s",
		    e->cfg->backend, dc->model, lc.endpoint, dc->anonymize ?
		    ", anonymized" : "");
	}
	e->diag = ds;
	return 0;
fail:
	/* Still diagnose, offline. */
	e->diag = ds;
	return -1;
}

/* Stop asking: abort LLM calls (no callbacks) and end the jobs that wait
 * for them; jobs reading from the API server end when their read does. */
void
engine_diag_stop(struct engine *e)
{
	struct diag_state	*ds = e->diag;
	struct djob		*j, *next;
	struct dqueued		*q;

	if (ds == NULL)
		return;
	llm_free(ds->llm);
	ds->llm = NULL;
	ds->qhead = ds->qtail = NULL;
	for (j = ds->jobs; j != NULL; j = next) {
		next = j->next;
		if (j->in_llm || j->queued || j->waiting || j->in_registry ||
		    j->ask.in_flight)
			job_end(j);
	}
	while ((q = pend_pop(ds)) != NULL) {
		pend_free(q);
		e->inflight--;
	}
	/* its timer handle closes while the loop still runs */
	registry_free(ds->reg);
	ds->reg = NULL;
	ds->running = 0;
}

void
engine_diag_free(struct engine *e)
{
	struct diag_state	*ds = e->diag;
	struct dqueued		*q;

	if (ds == NULL)
		return;
	llm_free(ds->llm);
	while (ds->jobs != NULL)
		job_free(ds->jobs);
	while ((q = pend_pop(ds)) != NULL)
		pend_free(q);
	registry_free(ds->reg);
	cost_clear(&ds->cost);
	free(ds);
	e->diag = NULL;
}
