/*
 * engine.c - see engine.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "diagnose/diagnose.h"
#include "engine.h"
#include "kube/objects.h"
#include "log.h"
#include "util.h"

#define JSON_PATCH	"application/json-patch+json"

/* An applied action whose workload we watch for recovery. */
struct verify {
	struct verify	*next;
	int64_t		 action_id;
	int64_t		 incident_id;
	char		*ns, *name;
	int64_t		 generation;	/* generation the PATCH produced */
	int64_t		 deadline;	/* mono ms */
};

/* A dry-run in flight: what will become the action. */
struct dryrun {
	struct engine	*e;
	struct proposal	 p;
	int64_t		 incident_id;
	char		*body;
};

/* An apply in flight. */
struct apply {
	struct engine	*e;
	int64_t		 action_id;
	int64_t		 incident_id;
	json_t		*patch;
	char		*ns, *name;
};

static void	engine_check_drained(struct engine *);

/* --- cache lookups across the per-namespace informers --- */

static void *
cache_get(struct engine *e, struct informer **infs, const char *ns,
    const char *name)
{
	void	*v;
	size_t	 i;

	for (i = 0; i < e->ninf; i++)
		if ((v = informer_get(infs[i], ns, name)) != NULL)
			return v;
	return NULL;
}

/*
 * The root owner of a pod: Pod -> ReplicaSet -> Deployment, as far as the
 * caches know.  The strings are borrowed from the projections.
 */
static void
root_of(struct engine *e, const struct kpod *p, struct root_owner *r)
{
	const struct kreplicaset *rs;

	r->kind = "Pod";
	r->ns = p->m.ns;
	r->name = p->m.name;
	r->uid = p->m.uid;
	if (p->m.owner.kind == NULL)
		return;
	r->kind = p->m.owner.kind;
	r->name = p->m.owner.name;
	r->uid = p->m.owner.uid;
	if (strcmp(p->m.owner.kind, "ReplicaSet") != 0)
		return;
	rs = cache_get(e, e->rsets, p->m.ns, p->m.owner.name);
	if (rs == NULL || rs->m.owner.kind == NULL)
		return;
	r->kind = rs->m.owner.kind;
	r->name = rs->m.owner.name;
	r->uid = rs->m.owner.uid;
}

static void
pod_evaluate(struct engine *e, const struct kpod *p)
{
	struct finding		f;
	struct root_owner	r;

	if (analyze_pod(p, &f)) {
		root_of(e, p, &r);
		if (incidents_pod(&e->incs, p->m.ns, p->m.name, &f, &r,
		    mono_ms()) == -1)
			log_warnx("pod %s/%s: out of memory tracking incident",
			    p->m.ns, p->m.name);
	} else
		incidents_pod(&e->incs, p->m.ns, p->m.name, NULL, NULL,
		    mono_ms());
}

static void
on_pod(struct informer *inf, enum informer_event ev, void *old, void *new_,
    void *arg)
{
	struct engine		*e = arg;
	const struct kpod	*p = new_ ? new_ : old;

	if (!e->synced)
		return;		/* evaluated in one pass once synced */
	if (ev == INFORMER_DELETE)
		incidents_pod(&e->incs, p->m.ns, p->m.name, NULL, NULL,
		    mono_ms());
	else
		pod_evaluate(e, new_);
}

static void
on_other(struct informer *inf, enum informer_event ev, void *old, void *new_,
    void *arg)
{
	/* Deployments and ReplicaSets are read from the cache when needed. */
}

/* Once every informer has listed, evaluate every pod in one pass: before
 * that, a pod's ReplicaSet may not be cached yet. */
static void
check_synced(struct engine *e)
{
	void	*v;
	size_t	 i, pos, n;

	for (i = 0; i < e->ninf; i++)
		if (!informer_synced(e->pods[i]) ||
		    !informer_synced(e->rsets[i]) ||
		    !informer_synced(e->deps[i]))
			return;
	e->synced = 1;
	for (i = 0, n = 0; i < e->ninf; i++) {
		pos = 0;
		n += informer_size(e->pods[i]);
		while (informer_next(e->pods[i], &pos, &v))
			pod_evaluate(e, v);
	}
	log_info("caches synced: %zu pods", n);
}

/* --- diagnosis and dry-run --- */

static void
dryrun_free(struct dryrun *d)
{
	proposal_clear(&d->p);
	free(d->body);
	free(d);
}

static json_t *
answer_json(const struct kube_resp *r)
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

static void
dryrun_done(const struct kube_resp *r, void *arg)
{
	struct dryrun		*d = arg;
	struct engine		*e = d->e;
	struct store_action	 act;
	json_t			*answer;
	char			 reason[1024];
	int			 rc;

	memset(&act, 0, sizeof(act));
	act.incident_id = d->incident_id;
	act.namespace = (char *)d->p.ns;
	act.kind = (char *)d->p.kind;
	act.name = (char *)d->p.name;
	act.api_path = d->p.api_path;
	act.backend = (char *)e->cfg->backend;
	act.risk = (char *)d->p.risk;
	act.summary = d->p.summary;
	act.root_cause = d->p.root_cause;
	act.evidence = d->p.evidence;
	act.patch = d->p.patch;
	act.changes = d->p.changes;
	act.approved_uid = -1;
	if ((answer = answer_json(r)) != NULL)
		json_object_set_new(answer, "dry_run", json_true());
	if (r->status / 100 == 2) {
		rc = store_action_propose(e->store, &act, NULL, answer);
	} else {
		snprintf(reason, sizeof(reason),
		    "dry-run rejected by the API server: %ld %s: %s",
		    r->status, r->reason, r->message);
		rc = store_action_propose(e->store, &act, reason, answer);
	}
	if (rc != STORE_OK)
		log_warnx("incident %lld: cannot store action: %s",
		    (long long)d->incident_id, store_errmsg(e->store));
	else if (r->status / 100 == 2)
		log_notice("action %lld pending: %s; review with: remedyctl "
		    "show %lld", (long long)act.id, d->p.summary,
		    (long long)act.id);
	else
		log_warnx("action %lld refused: %s", (long long)act.id, reason);
	free(act.state);
	json_decref(answer);
	dryrun_free(d);
	e->inflight--;
	engine_check_drained(e);
}

/*
 * Gather what the caches know about the incident's root owner and run the
 * diagnosis backend.  A proposal with a patch is dry-run on the API server
 * first; only then does it become a pending action (or a refused one).
 */
static void
diagnose_with(struct engine *e, struct incident *inc, json_t *events)
{
	struct store_incident		 si;
	struct diag_input		 in;
	const struct kreplicaset	**rs = NULL;
	struct kreplicaset		*r;
	struct dryrun			*d = NULL;
	size_t				 i, pos, n = 0, cap = 0;
	void				*v;
	char				 summary[1024];

	memset(&in, 0, sizeof(in));
	in.inc = inc;
	in.events = events;
	if (strcmp(inc->kind, "Deployment") == 0)
		in.dep = cache_get(e, e->deps, inc->ns, inc->name);
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
					goto out;
				rs = nrs;
			}
			rs[n++] = r;
		}
	}
	in.rs = rs;
	in.nrs = n;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    rules_diagnose(&in, &d->p) == -1) {
		log_warnx("incident %s: diagnosis failed: out of memory",
		    inc->fingerprint);
		goto out;
	}
	memset(&si, 0, sizeof(si));
	snprintf(summary, sizeof(summary), "%zu pod(s) of %s %s/%s: %s (%s)",
	    incident_pods(inc), inc->kind, inc->ns, inc->name, inc->reason,
	    inc->image);
	si.fingerprint = inc->fingerprint;
	si.analyzer = (char *)inc->analyzer;
	si.namespace = inc->ns;
	si.kind = inc->kind;
	si.name = inc->name;
	si.uid = inc->uid;
	si.reason = inc->reason;
	si.summary = summary;
	si.state = "open";
	si.first_seen = si.last_seen = now_ms();
	si.pods = (int)incident_pods(inc);
	if (store_incident_upsert(e->store, &si) != STORE_OK) {
		log_warnx("incident %s: cannot store: %s", inc->fingerprint,
		    store_errmsg(e->store));
		goto out;
	}
	inc->store_id = si.id;
	log_notice("incident %lld: %s", (long long)si.id, summary);
	if (d->p.patch == NULL) {
		log_notice("incident %lld: %s. %s", (long long)si.id,
		    d->p.summary, d->p.root_cause);
		goto out;
	}
	if (store_action_live_for_incident(e->store, si.id) > 0) {
		log_info("incident %lld already has a live action",
		    (long long)si.id);
		goto out;
	}
	d->e = e;
	d->incident_id = si.id;
	if ((d->body = json_canon(d->p.patch)) == NULL)
		goto out;
	if (kube_patch(e->kube, d->p.api_path, JSON_PATCH, d->body, 1,
	    dryrun_done, d) == NULL) {
		log_warnx("incident %lld: cannot start dry-run",
		    (long long)si.id);
		goto out;
	}
	e->inflight++;
	d = NULL;
out:
	if (d != NULL)
		dryrun_free(d);
	free(rs);
}

/* An Events lookup in flight for an incident about to be diagnosed. */
struct evjob {
	struct engine	*e;
	char		*fingerprint;
};

static void
events_done(const struct kube_resp *r, void *arg)
{
	struct evjob	*j = arg;
	struct engine	*e = j->e;
	struct incident	*inc;

	e->inflight--;
	if (r->status != 200)
		log_info("events lookup failed (%ld %s); diagnosing without "
		    "them", r->status, r->message);
	/* The incident may have healed while we asked. */
	if (!e->stopping &&
	    (inc = incidents_get(&e->incs, j->fingerprint)) != NULL &&
	    incident_pods(inc) > 0)
		diagnose_with(e, inc, r->status == 200 ? r->body : NULL);
	free(j->fingerprint);
	free(j);
	engine_check_drained(e);
}

/*
 * Diagnose an incident once per episode.  First read the Events of one
 * affected pod (the kubelet's pull error is only there), then run the
 * backend.  When the lookup cannot start, diagnose without events.
 */
static void
diagnose(struct engine *e, struct incident *inc)
{
	struct evjob	*j;
	const char	*pod = NULL, *k, *slash;
	void		*v;
	size_t		 pos = 0;
	char		 path[1024], sel[600];

	inc->diagnosed = 1;
	/* The pod whose key sorts first, so the choice is repeatable. */
	while (hmap_next(&inc->pods, &pos, &k, &v))
		if (pod == NULL || strcmp(k, pod) < 0)
			pod = k;
	if (pod == NULL || (slash = strchr(pod, '/')) == NULL)
		goto direct;
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events",
	    inc->ns);
	snprintf(sel, sizeof(sel), "involvedObject.kind=Pod,"
	    "involvedObject.name=%s", slash + 1);
	if (kube_query_add(path, sizeof(path), "fieldSelector", sel) == -1 ||
	    kube_query_add(path, sizeof(path), "limit", "100") == -1)
		goto direct;
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->fingerprint = strdup(inc->fingerprint)) == NULL) {
		free(j);
		goto direct;
	}
	j->e = e;
	if (kube_get(e->kube, path, events_done, j) == NULL) {
		free(j->fingerprint);
		free(j);
		goto direct;
	}
	e->inflight++;
	return;
direct:
	diagnose_with(e, inc, NULL);
}

/* --- apply and verify --- */

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
	json_t		*answer = answer_json(r);
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
static void
apply_start(struct engine *e, int64_t id)
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

void
engine_approved(void *arg, int64_t id)
{
	apply_start(arg, id);
}

int
engine_synced(void *arg)
{
	return ((struct engine *)arg)->synced;
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
static void
verify_tick(struct engine *e, int64_t now)
{
	struct verify		**vp = &e->verifying, *v;
	struct kdeployment	 *d;
	char			  detail[512];
	int			  done;

	while ((v = *vp) != NULL) {
		done = 0;
		d = cache_get(e, e->deps, v->ns, v->name);
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

static void
incidents_tick(struct engine *e, int64_t now)
{
	struct incident	*inc;
	size_t		 pos = 0;

	while (incidents_next(&e->incs, &pos, &inc)) {
		if (incident_pods(inc) == 0) {
			if (inc->store_id > 0) {
				store_incident_resolve(e->store, inc->store_id,
				    now_ms());
				log_notice("incident %lld resolved",
				    (long long)inc->store_id);
			}
			incidents_drop(&e->incs, inc);
			continue;
		}
		if (!inc->diagnosed &&
		    now - inc->first_seen >= e->cfg->hold_down_ms)
			diagnose(e, inc);
	}
}

static void
on_tick(uv_timer_t *t)
{
	struct engine	*e = t->data;
	int64_t		 now = mono_ms();

	if (!e->synced) {
		check_synced(e);
		if (!e->synced)
			return;
	}
	incidents_tick(e, now);
	verify_tick(e, now);
}

/*
 * Pick up where a previous run stopped: approved actions are applied;
 * applied ones are verified again; an action caught in applying cannot be
 * judged without the cluster's word and is failed with a reason saying so.
 */
static void
recover(struct engine *e)
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
			apply_start(e, ids[i]);
		free(ids);
	}
}

int
engine_start(struct engine *e, uv_loop_t *loop, const struct remedy_config *cfg,
    struct store *st, struct kube_client *kube)
{
	const char	*ns;
	size_t		 i, n;

	memset(e, 0, sizeof(*e));
	e->loop = loop;
	e->cfg = cfg;
	e->store = st;
	e->kube = kube;
	incidents_init(&e->incs);
	n = cfg->nnamespaces ? cfg->nnamespaces : 1;
	if ((e->pods = calloc(n, sizeof(*e->pods))) == NULL ||
	    (e->rsets = calloc(n, sizeof(*e->rsets))) == NULL ||
	    (e->deps = calloc(n, sizeof(*e->deps))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		ns = cfg->nnamespaces ? cfg->namespaces[i] : NULL;
		e->pods[i] = informer_new(kube, loop, &kobj_pods, ns, on_pod, e);
		e->rsets[i] = informer_new(kube, loop, &kobj_replicasets, ns,
		    on_other, e);
		e->deps[i] = informer_new(kube, loop, &kobj_deployments, ns,
		    on_other, e);
		if (!e->pods[i] || !e->rsets[i] || !e->deps[i])
			return -1;
		e->ninf++;
	}
	for (i = 0; i < e->ninf; i++) {
		informer_start(e->rsets[i]);
		informer_start(e->deps[i]);
		informer_start(e->pods[i]);
	}
	uv_timer_init(loop, &e->tick);
	e->tick.data = e;
	uv_timer_start(&e->tick, on_tick, ENGINE_TICK_MS, ENGINE_TICK_MS);
	recover(e);
	return 0;
}

static void
engine_check_drained(struct engine *e)
{
	void (*fn)(void *);

	if (!e->stopping || e->inflight > 0 || e->drained == NULL)
		return;
	fn = e->drained;
	e->drained = NULL;
	fn(e->drained_arg);
}

void
engine_stop(struct engine *e, void (*drained)(void *), void *arg)
{
	size_t i;

	if (e->stopping)
		return;
	e->stopping = 1;
	e->drained = drained;
	e->drained_arg = arg;
	uv_timer_stop(&e->tick);
	uv_close((uv_handle_t *)&e->tick, NULL);
	for (i = 0; i < e->ninf; i++) {
		informer_free(e->pods[i]);
		informer_free(e->rsets[i]);
		informer_free(e->deps[i]);
	}
	e->ninf = 0;
	engine_check_drained(e);
}

void
engine_free(struct engine *e)
{
	struct verify *v;

	while ((v = e->verifying) != NULL) {
		e->verifying = v->next;
		free(v->ns);
		free(v->name);
		free(v);
	}
	incidents_clear(&e->incs);
	free(e->pods);
	free(e->rsets);
	free(e->deps);
}
