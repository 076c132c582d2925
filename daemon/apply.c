/*
 * apply.c - approved action -> PATCH -> verification.
 *
 * The only code path that sends a mutating request for an action: it starts
 * from a row the store has just moved from approved to applying (DESIGN.md,
 * invariant 2).  After a 2xx answer the action is applied and its workload
 * watched until it is healthy (verified) or verify_timeout passes
 * (not-recovered).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "kube/objects.h"
#include "log.h"
#include "util.h"

/* An applied action whose workload we watch for recovery. */
struct verify {
	struct verify	*next;
	int64_t		 action_id;
	int64_t		 incident_id;
	char		*ns, *name;
	int64_t		 generation;	/* generation the PATCH produced */
	int64_t		 deadline;	/* mono ms */
};

/* An apply in flight. */
struct apply {
	struct engine	*e;
	int64_t		 action_id;
	int64_t		 incident_id;
	json_t		*patch;
	char		*ns, *name;
};

static void
apply_free(struct apply *a)
{
	json_decref(a->patch);
	free(a->ns);
	free(a->name);
	free(a);
}

static void
verify_add(struct engine *e, int64_t action_id, int64_t incident_id,
    const char *ns, const char *name, int64_t generation)
{
	struct verify *v;

	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (v->ns = strdup(ns)) == NULL || (v->name = strdup(name)) == NULL) {
		if (v != NULL)
			free(v->ns);
		free(v);
		log_warnx("action %lld: out of memory, not verifying",
		    (long long)action_id);
		return;
	}
	v->action_id = action_id;
	v->incident_id = incident_id;
	v->generation = generation;
	v->deadline = mono_ms() + e->cfg->verify_timeout_ms;
	v->next = e->verifying;
	e->verifying = v;
}

static void
apply_done(const struct kube_resp *r, void *arg)
{
	struct apply	*a = arg;
	struct engine	*e = a->e;
	json_t		*answer = engine_answer_json(r);
	char		 reason[1024];

	if (r->status / 100 == 2) {
		if (store_action_applied(e->store, a->action_id, a->patch,
		    answer) != STORE_OK)
			log_warnx("action %lld: applied, but the store failed:"
			    " %s", (long long)a->action_id,
			    store_errmsg(e->store));
		else
			log_notice("action %lld applied to %s/%s",
			    (long long)a->action_id, a->ns, a->name);
		verify_add(e, a->action_id, a->incident_id, a->ns, a->name,
		    json_int_at(r->body, "metadata.generation", 0));
	} else {
		snprintf(reason, sizeof(reason), r->status ?
		    "PATCH rejected by the API server: %ld %s: %s" :
		    "PATCH not delivered: %ld%s%s", r->status, r->reason,
		    r->message);
		if (store_action_failed(e->store, a->action_id, reason,
		    answer) != STORE_OK)
			log_warnx("action %lld: cannot record failure: %s",
			    (long long)a->action_id, store_errmsg(e->store));
		log_warnx("action %lld failed: %s", (long long)a->action_id,
		    reason);
	}
	json_decref(answer);
	apply_free(a);
	e->inflight--;
	engine_check_drained(e);
}

/*
 * Apply an approved action: move it to applying (committed before anything
 * is sent), then PATCH exactly the stored patch.  Anything but a row in
 * state approved is left alone.
 */
void
engine_apply(struct engine *e, int64_t id)
{
	struct store_action	 act;
	struct apply		*a = NULL;
	char			*body = NULL;

	if (store_action_get(e->store, id, &act) != STORE_OK)
		return;
	if (strcmp(act.state, ACTION_APPROVED) != 0 || e->stopping)
		goto out;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->ns = strdup(act.namespace)) == NULL ||
	    (a->name = strdup(act.name)) == NULL ||
	    (body = json_canon(act.patch)) == NULL) {
		log_warnx("action %lld: out of memory", (long long)id);
		goto out;
	}
	a->e = e;
	a->action_id = id;
	a->incident_id = act.incident_id;
	a->patch = json_incref(act.patch);
	if (store_action_begin_apply(e->store, id) != STORE_OK) {
		log_warnx("action %lld: cannot start apply: %s", (long long)id,
		    store_errmsg(e->store));
		goto out;
	}
	log_info("action %lld: applying to %s", (long long)id, act.api_path);
	if (kube_patch(e->kube, act.api_path, JSON_PATCH, body, 0, apply_done,
	    a) == NULL) {
		store_action_failed(e->store, id, "cannot start the PATCH "
		    "request", NULL);
		goto out;
	}
	e->inflight++;
	a = NULL;
out:
	if (a != NULL)
		apply_free(a);
	free(body);
	store_action_clear(&act);
}

static int
incident_has_pods(struct engine *e, int64_t incident_id)
{
	struct incident	*inc;
	size_t		 pos = 0;

	while (incidents_next(&e->incs, &pos, &inc))
		if (inc->store_id == incident_id && incident_pods(inc) > 0)
			return 1;
	return 0;
}

/*
 * An applied action is verified once its Deployment has rolled out the
 * generation the PATCH produced with every replica available and no pod of
 * its incident is still broken; past verify_timeout it is not-recovered.
 */
void
engine_verify_tick(struct engine *e, int64_t now)
{
	struct verify		**vp = &e->verifying, *v;
	struct kdeployment	 *d;
	char			  detail[512];
	int			  done;

	while ((v = *vp) != NULL) {
		done = 0;
		d = engine_cache_get(e, e->deps, v->ns, v->name);
		if (d != NULL && d->m.generation >= v->generation &&
		    kdeployment_healthy(d) &&
		    !incident_has_pods(e, v->incident_id)) {
			snprintf(detail, sizeof(detail), "Deployment %s/%s: "
			    "%d/%d replicas available at generation %lld",
			    v->ns, v->name, d->available, d->replicas,
			    (long long)d->m.generation);
			if (store_action_verified(e->store, v->action_id,
			    detail) == STORE_OK)
				log_notice("action %lld verified: %s",
				    (long long)v->action_id, detail);
			done = 1;
		} else if (now >= v->deadline) {
			snprintf(detail, sizeof(detail), "%s/%s did not "
			    "recover within %llds", v->ns, v->name,
			    (long long)(e->cfg->verify_timeout_ms / 1000));
			if (store_action_not_recovered(e->store, v->action_id,
			    detail) == STORE_OK)
				log_warnx("action %lld not recovered: %s",
				    (long long)v->action_id, detail);
			done = 1;
		}
		if (done) {
			*vp = v->next;
			free(v->ns);
			free(v->name);
			free(v);
		} else
			vp = &v->next;
	}
}

/*
 * Pick up where a previous run stopped: approved actions are applied;
 * applied ones are verified again; an action caught in applying cannot be
 * judged without the cluster's word and is failed with a reason saying so.
 */
void
engine_recover(struct engine *e)
{
	struct store_action	 act;
	int64_t			*ids;
	size_t			 n, i;

	if ((ids = store_action_ids(e->store, ACTION_APPLYING, &n)) != NULL) {
		for (i = 0; i < n; i++) {
			log_warnx("action %lld was being applied when remedyd "
			    "stopped", (long long)ids[i]);
			store_action_failed(e->store, ids[i], "remedyd stopped "
			    "while applying; check the object before retrying",
			    NULL);
		}
		free(ids);
	}
	if ((ids = store_action_ids(e->store, ACTION_APPLIED, &n)) != NULL) {
		for (i = 0; i < n; i++) {
			if (store_action_get(e->store, ids[i], &act) != STORE_OK)
				continue;
			verify_add(e, act.id, act.incident_id, act.namespace,
			    act.name, 0);
			store_action_clear(&act);
		}
		free(ids);
	}
	if ((ids = store_action_ids(e->store, ACTION_APPROVED, &n)) != NULL) {
		for (i = 0; i < n; i++)
			engine_apply(e, ids[i]);
		free(ids);
	}
}

void
engine_verify_free(struct engine *e)
{
	struct verify *v;

	while ((v = e->verifying) != NULL) {
		e->verifying = v->next;
		free(v->ns);
		free(v->name);
		free(v);
	}
}
