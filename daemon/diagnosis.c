/*
 * diagnosis.c - from an incident to a pending action: read the Events of one
 * affected pod, run the diagnosis backend on what the caches hold, dry-run
 * the proposed patch on the API server, and store the action as pending (or
 * refused, with the server's reason).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/diagnose.h"
#include "engine_int.h"
#include "kube/objects.h"
#include "log.h"
#include "util.h"

/* A dry-run in flight: what will become the action. */
struct dryrun {
	struct engine	*e;
	struct proposal	 p;
	int64_t		 incident_id;
	char		*body;
};

static void
dryrun_free(struct dryrun *d)
{
	proposal_clear(&d->p);
	free(d->body);
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
	if ((answer = engine_answer_json(r)) != NULL)
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
void
engine_diagnose(struct engine *e, struct incident *inc)
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
