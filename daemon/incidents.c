/*
 * incidents.c - the store side of incidents (engine.c holds the informers
 * and the analyzer dispatch that feed them): each tick walks the incidents
 * and lists those with store work, which runs in slices (the sweep):
 * stored after the hold-down (a symptom only when no cause is open on the
 * same root owner), refreshed at most once a second while their objects
 * change, diagnosed once, resolved after incidents.resolve_after without
 * an affected object (their pending actions superseded); at start the
 * open incidents are loaded back from the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "engine_int.h"

#define WRITE_EVERY_MS	1000	/* refresh a changing incident row at most */
#define MAX_FINDINGS	20	/* evidence lines stored per incident */
#define MAX_AFFECTED	50	/* object names stored per incident */
#define OWNER_WAIT_MS	15000	/* an uncached root may wait this long */

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Up to max sorted strings of the two tables (keys or values) into a JSON
 * array, with a count of the rest. */
static json_t *
sorted_lines(const struct incident *inc, int keys, size_t max)
{
	const struct hmap	*tabs[2] = { &inc->pods, &inc->others };
	const char		**v, *k;
	void			*val;
	json_t			*a;
	size_t			 n = 0, i, t, pos;
	char			 buf[700];

	if ((v = calloc(incident_objects(inc) + 1, sizeof(*v))) == NULL ||
	    (a = json_array()) == NULL) {
		free(v);
		return NULL;
	}
	for (t = 0; t < 2; t++) {
		pos = 0;
		while (hmap_next(tabs[t], &pos, &k, &val))
			v[n++] = keys ? k : val;
	}
	qsort(v, n, sizeof(*v), cmpstr);
	for (i = 0; i < n && i < max; i++) {
		if (keys && tabs[0]->len > 0 && hmap_get(&inc->pods, v[i]) !=
		    NULL) {
			snprintf(buf, sizeof(buf), "Pod/%s", v[i]);
			json_array_append_new(a, json_string(buf));
		} else
			json_array_append_new(a, json_string(v[i]));
	}
	if (n > max) {
		snprintf(buf, sizeof(buf), "... and %zu more", n - max);
		json_array_append_new(a, json_string(buf));
	}
	free(v);
	return a;
}

/* Insert or refresh the incident's row. */
static int
persist(struct engine *e, struct incident *inc, int64_t now)
{
	struct store_incident	si;
	char			summary[1024];
	int			rc;

	memset(&si, 0, sizeof(si));
	snprintf(summary, sizeof(summary), "%zu object(s) of %s %s%s%s: %s",
	    incident_objects(inc), inc->kind, inc->ns, *inc->ns ? "/" : "",
	    inc->name, inc->reason);
	si.fingerprint = inc->fingerprint;
	si.analyzer = inc->analyzer;
	si.namespace = inc->ns;
	si.kind = inc->kind;
	si.name = inc->name;
	si.uid = inc->uid;
	si.reason = inc->reason;
	si.summary = inc->store_id == 0 || incident_objects(inc) > 0 ?
	    summary : NULL;
	si.pods = (int)incident_pods(inc);
	si.objects = (int)incident_objects(inc);
	si.flaps = inc->flaps;
	if (incident_objects(inc) > 0) {
		si.findings = sorted_lines(inc, 0, MAX_FINDINGS);
		si.affected = sorted_lines(inc, 1, MAX_AFFECTED);
	}
	rc = store_incident_upsert(e->store, &si);
	json_decref(si.findings);
	json_decref(si.affected);
	inc->last_write = now;
	if (rc != STORE_OK) {
		log_warnx("incident %s: cannot store: %s", inc->fingerprint,
		    store_errmsg(e->store));
		return -1;
	}
	if (inc->store_id == 0)
		log_notice("incident %lld open: %s", (long long)si.id, summary);
	else if (inc->flaps > 0)
		log_notice("incident %lld flapped (%d time%s): %s",
		    (long long)si.id, inc->flaps, inc->flaps == 1 ? "" : "s",
		    summary);
	inc->store_id = si.id;
	inc->flaps = 0;
	inc->dirty = 0;
	return 0;
}

/* Resolve the row and supersede the incident's pending actions. */
static void
resolve(struct engine *e, struct incident *inc)
{
	int64_t	*ids;
	size_t	 i, n;
	char	 why[256];

	if (inc->dirty)
		persist(e, inc, mono_ms());
	if (store_incident_resolve(e->store, inc->store_id, now_ms()) !=
	    STORE_OK) {
		log_warnx("incident %lld: cannot resolve: %s",
		    (long long)inc->store_id, store_errmsg(e->store));
		return;
	}
	log_notice("incident %lld resolved: %s %s%s%s healthy for %llds",
	    (long long)inc->store_id, inc->kind, inc->ns, *inc->ns ? "/" : "",
	    inc->name, (long long)(e->cfg->resolve_after_ms / 1000));
	snprintf(why, sizeof(why), "incident %lld resolved: the affected "
	    "objects are healthy again", (long long)inc->store_id);
	ids = store_incident_actions(e->store, inc->store_id, ACTION_PENDING,
	    &n);
	for (i = 0; i < n; i++) {
		if (store_action_supersede(e->store, ids[i], why) != STORE_OK)
			log_warnx("action %lld: cannot supersede: %s",
			    (long long)ids[i], store_errmsg(e->store));
		else {
			log_notice("action %lld superseded: %s",
			    (long long)ids[i], why);
			if (e->on_action != NULL)
				e->on_action(e->on_action_arg, ids[i],
				    ACTION_SUPERSEDED);
		}
	}
	free(ids);
}

/*
 * The incident's root is a ReplicaSet or a Job that is not cached: its
 * pods arrived before it (its informer lags, or is backing off), so its
 * own owner (a Deployment, a CronJob) is not known yet.  The incident
 * waits up to OWNER_WAIT_MS past the hold-down for it: when it arrives
 * its pods move to the real root (owned_pods_again) and this incident,
 * left empty, is dropped without having been stored or diagnosed.
 */
static int
owner_unseen(struct engine *e, const struct incident *inc)
{
	if (strcmp(inc->kind, "ReplicaSet") != 0 &&
	    strcmp(inc->kind, "Job") != 0)
		return 0;
	return engine_kind_get_at(e, engine_kind_index(inc->kind), inc->ns, inc->name) ==
	    NULL;
}

/* The key of a root owner in e->causes. */
static void
root_key(const struct incident *inc, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%s", inc->ns, inc->kind, inc->name);
}

/*
 * The roots of the causes (incidents_has_cause): one pass, so that each
 * symptom is looked up instead of compared with every incident (a storm
 * has thousands of both).
 */
static void
causes_build(struct engine *e)
{
	struct incident	*inc;
	size_t		 pos = 0;
	char		 key[768];

	hmap_clear(&e->causes);
	while (incidents_next(&e->incs, &pos, &inc)) {
		if (inc->symptom || (incident_objects(inc) == 0 &&
		    inc->store_id == 0))
			continue;
		root_key(inc, key, sizeof(key));
		if (hmap_get(&e->causes, key) == NULL &&
		    hmap_put(&e->causes, key, inc, NULL) == -1)
			log_warnx("incident sweep: out of memory");
	}
}

static int
has_cause(struct engine *e, const struct incident *inc)
{
	char	key[768];

	root_key(inc, key, sizeof(key));
	return hmap_get(&e->causes, key) != NULL;
}

/* What an incident needs from the sweep. */
#define DUE_DROP	0x1	/* forget it (never stored) */
#define DUE_RESOLVE	0x2	/* resolve its row, then forget it */
#define DUE_STORE	0x4	/* store its row (new, or refresh) */
#define DUE_DIAGNOSE	0x8	/* start its diagnosis */

static int
incident_due(struct engine *e, const struct incident *inc, int64_t now)
{
	int	quiet, due = 0;

	if (incident_objects(inc) == 0) {
		if (inc->store_id == 0)
			return DUE_DROP;	/* a blip shorter than the
						 * hold-down */
		if (inc->healthy_since != 0 && now - inc->healthy_since >=
		    e->cfg->resolve_after_ms)
			return DUE_RESOLVE;
		return inc->dirty && now - inc->last_write >= WRITE_EVERY_MS ?
		    DUE_STORE : 0;
	}
	quiet = inc->symptom && has_cause(e, inc);
	if (inc->store_id == 0) {
		if (now - inc->first_seen < e->cfg->hold_down_ms || quiet)
			return 0;
		/* A symptom gives its cause time to show. */
		if (inc->symptom && now - inc->first_seen <
		    e->cfg->hold_down_ms + e->cfg->symptom_wait_ms)
			return 0;
		if (owner_unseen(e, inc) && now - inc->first_seen <
		    e->cfg->hold_down_ms + OWNER_WAIT_MS)
			return 0;
		due = DUE_STORE;
	} else if (inc->dirty && now - inc->last_write >= WRITE_EVERY_MS)
		due = DUE_STORE;
	if (!inc->diagnosed && !quiet)
		due |= DUE_DIAGNOSE;
	return due;
}

/* One incident's store work, as it is due now (the walk may be a few
 * loop turns old). */
static void
incident_work(struct engine *e, struct incident *inc, int64_t now)
{
	int	due = incident_due(e, inc, now);

	if (due & DUE_DROP) {
		incidents_drop(&e->incs, inc);
		return;
	}
	if (due & DUE_RESOLVE) {
		resolve(e, inc);
		incidents_drop(&e->incs, inc);
		return;
	}
	if ((due & DUE_STORE) && persist(e, inc, now) == -1 &&
	    inc->store_id == 0)
		return;
	if ((due & DUE_DIAGNOSE) && engine_diagnose(e, inc) == -1)
		e->diag_waiting_now++;
}

/*
 * One step of the sweep: the next listed incident (looked up again by its
 * fingerprint: it may have been dropped since).  At the end, how many
 * incidents found the diagnosis queue full.
 */
int
engine_sweep_step(void *arg)
{
	struct engine	*e = arg;
	struct incident	*inc;
	char		*fp;

	if (e->iwork_at == e->iwork_n) {
		e->iwork_n = e->iwork_at = 0;
		e->diag_waiting = e->diag_waiting_now;
		return 0;
	}
	fp = e->iwork[e->iwork_at];
	e->iwork[e->iwork_at++] = NULL;
	if ((inc = incidents_get(&e->incs, fp)) != NULL)
		incident_work(e, inc, mono_ms());
	free(fp);
	return 1;
}

void
engine_sweep_clear(struct engine *e)
{
	size_t i;

	for (i = e->iwork_at; i < e->iwork_n; i++)
		free(e->iwork[i]);
	free(e->iwork);
	e->iwork = NULL;
	e->iwork_n = e->iwork_at = e->iwork_cap = 0;
}

/*
 * The incident sweep, every tick: a walk over the incidents (a few
 * microseconds each) decides which have store work, and that work --
 * storing, refreshing, resolving rows, starting diagnoses -- runs in
 * slices (base/slice.h), because a storm brings thousands at once: 2 000
 * new incidents are a quarter of a second of SQLite and JSON in one
 * callback otherwise.  The writes join the store's batch of the loop
 * turn.  A tick whose previous sweep is still under way walks nothing.
 */
void
engine_incidents_tick(struct engine *e, int64_t now)
{
	struct incident	*inc;
	size_t		 pos = 0;
	char		**v, *fp;
	int		 due;

	if (slice_pending(&e->isweep))
		return;
	causes_build(e);
	e->diag_waiting_now = 0;
	while (incidents_next(&e->incs, &pos, &inc)) {
		if ((due = incident_due(e, inc, now)) == 0)
			continue;
		if (due & DUE_DROP) {
			incidents_drop(&e->incs, inc);
			continue;
		}
		if (e->iwork_n == e->iwork_cap) {
			size_t cap = e->iwork_cap ? e->iwork_cap * 2 : 64;

			if ((v = reallocarray(e->iwork, cap, sizeof(*v))) ==
			    NULL)
				break;
			e->iwork = v;
			e->iwork_cap = cap;
		}
		if ((fp = strdup(inc->fingerprint)) == NULL)
			break;
		e->iwork[e->iwork_n++] = fp;
	}
	if (e->iwork_n > 0)
		slice_run(&e->isweep);
	else
		e->diag_waiting = 0;
}

/*
 * The incidents open when the daemon last stopped: tracked again with no
 * objects, so that the first evaluation after sync refills them instead of
 * opening (and diagnosing) new ones.  Those still empty after the sync
 * start their healthy time then.
 */
void
engine_load_open(struct engine *e)
{
	json_t			*list, *o;
	struct root_owner	 r;
	struct incident		*inc;
	size_t			 i, n = 0;

	if ((list = store_incidents_json(e->store, "open")) == NULL) {
		log_warnx("cannot load open incidents: %s",
		    store_errmsg(e->store));
		return;
	}
	json_array_foreach(list, i, o) {
		const char *fp = json_str_at(o, "fingerprint");

		r.kind = json_str_at(o, "kind");
		r.ns = json_str_at(o, "namespace");
		r.name = json_str_at(o, "name");
		r.uid = json_str_at(o, "uid");
		if (fp == NULL || r.kind == NULL || r.name == NULL)
			continue;
		if (r.ns == NULL)
			r.ns = "";
		inc = incidents_add_known(&e->incs, fp,
		    json_str_at(o, "analyzer") ? json_str_at(o, "analyzer") :
		    "", json_str_at(o, "reason") ? json_str_at(o, "reason") :
		    "", &r, json_int_at(o, "id", 0),
		    !json_is_null(json_at(o, "diagnosed_at")), mono_ms());
		if (inc == NULL)
			log_warnx("incident %s: out of memory", fp);
		else
			n++;
	}
	json_decref(list);
	if (n > 0)
		log_info("%zu open incident(s) from the store", n);
}

void
engine_start_healthy_clocks(struct engine *e, int64_t now)
{
	struct incident	*inc;
	size_t		 pos = 0;

	while (incidents_next(&e->incs, &pos, &inc))
		if (incident_objects(inc) == 0 && inc->healthy_since == 0)
			inc->healthy_since = now;
}
