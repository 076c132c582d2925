/*
 * dryrun.c - a proposal's server-side dry-run, then the store.
 *
 * Every proposal that passed the policy wall (remedyd's own diagnoses,
 * diagnosis.c; an agent's, agent.c) ends here: its JSON Patch is sent with
 * dryRun=All, then each pod deletion of a forced rollback with
 * "dryRun": ["All"] in its DeleteOptions, and the proposal is stored as a
 * pending action, or as refused with the API server's reason.  remedyd
 * analyze --no-dry-run stores it without the dry-run (never applied: that
 * store lives in memory).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/proposal.h"
#include "base/log.h"
#include "base/util.h"
#include "engine_int.h"
#include "store/store.h"

/* A dry-run in flight: what will become the action. */
struct dryrun {
	struct engine	*e;
	struct proposal	 p;
	int64_t		 incident_id;
	char		*body;
	char		*backend;
	json_t		*answer;	/* the PATCH dry-run's answer */
	size_t		 dstep;		/* the step being dry-run (0: step 2) */
	struct engine_origin origin;	/* strings owned; origin NULL:
					 * remedyd's own */
	engine_stored_fn done;		/* or NULL */
	void		*done_arg;
};

static void
dryrun_free(struct dryrun *d)
{
	free((char *)d->origin.origin);
	free((char *)d->origin.proposer);
	free((char *)d->origin.client);
	free((char *)d->origin.rationale);
	proposal_clear(&d->p);
	json_decref(d->answer);
	free(d->body);
	free(d->backend);
	free(d);
}

json_t *
engine_answer_json(const struct kube_resp *r)
{
	json_t *a;

	a = json_pack("{s:I, s:s, s:s}", "status", (json_int_t)r->status,
	    "reason", r->reason ? r->reason : "",
	    "message", r->message ? r->message : "");
	if (a != NULL && r->body != NULL && r->status / 100 == 2) {
		json_object_set_new(a, "resourceVersion", json_string(
		    json_str_at(r->body, "metadata.resourceVersion") ?
		    json_str_at(r->body, "metadata.resourceVersion") : ""));
		json_object_set_new(a, "generation", json_integer(
		    json_int_at(r->body, "metadata.generation", 0)));
	}
	return a;
}

/*
 * Store the proposal in d: pending when reason is NULL, else refused with
 * reason.  answer is the dry-run's answer summary.  Frees d.
 */
static void
dryrun_store(struct dryrun *d, json_t *answer, const char *reason)
{
	struct engine		*e = d->e;
	struct store_action	 act;
	int			 rc;

	memset(&act, 0, sizeof(act));
	act.incident_id = d->incident_id;
	act.namespace = (char *)d->p.ns;
	act.kind = (char *)d->p.kind;
	act.name = (char *)d->p.name;
	act.api_path = d->p.api_path;
	act.backend = d->backend;
	act.risk = (char *)d->p.risk;
	act.summary = d->p.summary;
	act.root_cause = d->p.root_cause;
	act.evidence = d->p.evidence;
	act.patch = d->p.patch;
	act.changes = d->p.changes;
	act.inverse = d->p.inverse;
	act.steps = d->p.steps;
	act.approved_uid = -1;
	/* what the backend answered, before normalisation (audit only) */
	act.proposal = json_pack("{s:s, s:O?}", "backend", d->backend,
	    "patch", d->p.proposed);
	if (act.proposal != NULL && engine_backend_model(e) != NULL)
		json_object_set_new(act.proposal, "model",
		    json_string(engine_backend_model(e)));
	act.origin = (char *)d->origin.origin;
	act.proposer = (char *)d->origin.proposer;
	act.proposer_uid = d->origin.proposer_uid;
	act.client = (char *)d->origin.client;
	act.rationale = (char *)d->origin.rationale;
	rc = store_action_propose(e->store, &act, reason, answer);
	if (rc != STORE_OK)
		log_warnx("incident %lld: cannot store action: %s",
		    (long long)d->incident_id, store_errmsg(e->store));
	else if (reason == NULL) {
		log_notice("action %lld pending: %s; review with: remedyctl "
		    "show %lld", (long long)act.id, d->p.summary,
		    (long long)act.id);
		if (e->on_action != NULL)
			e->on_action(e->on_action_arg, act.id, ACTION_PENDING);
	}
	else
		log_warnx("action %lld refused: %s", (long long)act.id, reason);
	if (d->done != NULL)
		d->done(d->done_arg, rc == STORE_OK ? act.id : 0,
		    rc == STORE_OK ? act.state : NULL);
	free(act.state);
	json_decref(act.proposal);
	json_decref(d->answer);
	d->answer = NULL;
	dryrun_free(d);
	e->inflight--;
	engine_check_drained(e);
}

static void	dryrun_next_step(struct dryrun *);

/* The dry-run of one pod deletion of a forced rollback. */
static void
dryrun_step_done(const struct kube_resp *r, void *arg)
{
	struct dryrun	*d = arg;
	json_t		*step = json_array_get(d->p.steps, d->dstep);
	char		 reason[1024];

	if (r->status / 100 != 2) {
		snprintf(reason, sizeof(reason), "dry-run of step %zu (DELETE "
		    "pod %s/%s) rejected by the API server: %ld %s: %s",
		    d->dstep + 2, d->p.ns, json_str_at(step, "name"),
		    r->status, r->reason, r->message);
		dryrun_store(d, d->answer, reason);
		return;
	}
	d->dstep++;
	dryrun_next_step(d);
}

/* Dry-run the next pod deletion, or store the action when none is left.
 * Each DELETE carries dryRun=All and the uid precondition. */
static void
dryrun_next_step(struct dryrun *d)
{
	json_t	*step = json_array_get(d->p.steps, d->dstep);
	char	 reason[512];

	if (step == NULL) {
		dryrun_store(d, d->answer, NULL);
		return;
	}
	if (engine_pod_delete(d->e, d->p.ns, json_str_at(step, "name"),
	    json_str_at(step, "uid"), NULL, 1, dryrun_step_done, d) == -1) {
		snprintf(reason, sizeof(reason), "cannot start the dry-run of "
		    "step %zu (DELETE pod %s/%s)", d->dstep + 2, d->p.ns,
		    json_str_at(step, "name"));
		dryrun_store(d, d->answer, reason);
	}
}

static void
dryrun_done(const struct kube_resp *r, void *arg)
{
	struct dryrun		*d = arg;
	char			 reason[1024];

	if ((d->answer = engine_answer_json(r)) != NULL)
		json_object_set_new(d->answer, "dry_run", json_true());
	if (r->status / 100 == 2) {
		d->dstep = 0;
		dryrun_next_step(d);
		return;
	}
	snprintf(reason, sizeof(reason),
	    "dry-run rejected by the API server: %ld %s: %s",
	    r->status, r->reason, r->message);
	dryrun_store(d, d->answer, reason);
}

static char *
dup_or_null(const char *s, int *fail)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = 1;
	return d;
}

int
engine_dryrun(struct engine *e, struct proposal *p, int64_t incident_id,
    const char *backend, const struct engine_origin *o, engine_stored_fn done,
    void *arg)
{
	struct dryrun	*d = NULL;
	int		 fail = 0, rc = -1;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->backend = strdup(backend)) == NULL ||
	    (d->body = json_canon(p->patch)) == NULL)
		goto out;
	if (o != NULL) {
		d->origin.origin = dup_or_null(o->origin, &fail);
		d->origin.proposer = dup_or_null(o->proposer, &fail);
		d->origin.proposer_uid = o->proposer_uid;
		d->origin.client = dup_or_null(o->client, &fail);
		d->origin.rationale = dup_or_null(o->rationale, &fail);
		if (fail)
			goto out;
	}
	d->e = e;
	d->incident_id = incident_id;
	d->done = done;
	d->done_arg = arg;
	d->p = *p;
	memset(p, 0, sizeof(*p));
	rc = 0;
	if (e->no_dryrun) {
		/* remedyd analyze --no-dry-run: reported, never applied */
		e->inflight++;
		d->answer = json_pack("{s:b}", "dry_run", 0);
		dryrun_store(d, d->answer, NULL);
		d = NULL;
		goto out;
	}
	if (kube_patch(e->kube, d->p.api_path, JSON_PATCH, d->body, 1,
	    dryrun_done, d) == NULL) {
		log_warnx("incident %lld: cannot start dry-run",
		    (long long)incident_id);
		rc = -1;
		goto out;
	}
	e->inflight++;
	d = NULL;
out:
	if (d != NULL)
		dryrun_free(d);
	proposal_clear(p);
	return rc;
}
