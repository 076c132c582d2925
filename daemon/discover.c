/*
 * discover.c - which version of each kind the engine watches, decided by
 * API discovery (lib/kube/discovery.h) at start and every
 * kubernetes.discovery_interval.
 *
 * Pods, ReplicaSets and Deployments do not wait for it (every supported
 * server serves them at v1).  Every other kind of engine.c's kinds[] table
 * is watched at the first version of kobj_versions() the server serves
 * (CronJob batch/v1 then v1beta1, ...), or not at all: then its analyzer
 * family is off, with one log line, until a later round finds it.  A kind
 * is never asked for at a version discovery did not list, so an old
 * server gets no 404 retry storm.
 *
 * A round that fails (transport, 5xx, a malformed document) keeps what
 * the last good round decided and is tried again after 1 s, doubling to
 * at most a minute (or the interval, if shorter).  The first failure lets
 * the daemon become ready with the kinds that need no discovery: a broken
 * aggregated API must not keep the whole daemon from detecting image pull
 * failures.
 *
 * Log lines (stable: tests and operators match them):
 *   "CronJob: served as batch/v1beta1"
 *	the kind is watched at a version other than the preferred one, or
 *	is served again after it was not;
 *   "PodDisruptionBudget: not served by the API server (tried policy/v1,
 *    policy/v1beta1); its analyzers are off"
 *   "API discovery failed: ...; next attempt in N s"
 * Metric: remedy_kind_served{kind,version} 1 for the version watched, 0
 * for the others a kind may be served at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "engine_int.h"
#include "kube/discovery.h"
#include "kube/objects.h"

#define DISC_RETRY_MIN_MS	1000
#define DISC_RETRY_MAX_MS	60000
#define DISC_GV			256

enum { KS_UNKNOWN, KS_SERVED, KS_OFF };

/* The versions kind k may be watched at, preferred first, NULL-ended. */
static const struct informer_type *const *
versions_of(int k, const struct informer_type *one[2])
{
	const struct informer_type *const *v;

	if ((v = kobj_versions(engine_kind_type(k))) != NULL)
		return v;
	one[0] = engine_kind_type(k);
	one[1] = NULL;
	return one;
}

static const char *
gv_of(const struct informer_type *t, char *buf, size_t len)
{
	if (discovery_gv_of_path(t->group_path, buf, len) == -1)
		snprintf(buf, len, "%s", t->group_path);
	return buf;
}

/* Decide kind k from one round's findings; start, switch or stop it. */
static void
decide(struct engine *e, int k, const struct discovery_set *set)
{
	const struct informer_type	*one[2], *const *v, *pick;
	char				 gv[DISC_GV], tried[1024];
	size_t				 i, off = 0;

	v = versions_of(k, one);
	pick = discovery_choose(set, v);
	if (pick != NULL && pick == e->kver[k])
		return;
	if (pick == NULL && e->kstate[k] == KS_OFF)
		return;
	if (e->kver[k] != NULL)
		engine_kind_close(e, k);
	if (pick == NULL) {
		tried[0] = '\0';
		for (i = 0; v[i] != NULL; i++)
			off += (size_t)snprintf(tried + off, off <
			    sizeof(tried) ? sizeof(tried) - off : 0, "%s%s",
			    i ? ", " : "", gv_of(v[i], gv, sizeof(gv)));
		log_notice("%s: not served by the API server (tried %s); its "
		    "analyzers are off", engine_kind_name(k), tried);
		e->kstate[k] = KS_OFF;
		return;
	}
	if (pick != v[0] || e->kstate[k] != KS_UNKNOWN)
		log_notice("%s: served as %s", engine_kind_name(k),
		    gv_of(pick, gv, sizeof(gv)));
	e->kstate[k] = KS_SERVED;
	if (engine_kind_open(e, k, pick) == -1) {
		log_warnx("%s: out of memory starting its informers",
		    engine_kind_name(k));
		engine_kind_close(e, k);
		e->kstate[k] = KS_UNKNOWN;	/* tried again next round */
	}
}

static void
on_disc_timer(uv_timer_t *t)
{
	struct engine *e = t->data;

	if (!e->stopping && e->disc != NULL)
		discovery_run(e->disc);
}

static void
on_discovery(struct discovery *d, int ok, const struct discovery_set *set,
    const char *err, void *arg)
{
	struct engine	*e = arg;
	int64_t		 delay;
	int		 k;

	(void)d;
	if (e->stopping)
		return;
	metric_inc(metric_counter("remedy_discovery_total",
	    "API discovery rounds, by result (ok, error).", "result"),
	    METRIC_LABELS(ok ? "ok" : "error"));
	if (!ok && e->oneshot) {
		/* remedyd analyze: without discovery the look is partial */
		snprintf(e->oneshot_err, sizeof(e->oneshot_err),
		    "API discovery failed: %s", err);
		return;
	}
	if (!ok) {
		if (e->disc_backoff_ms == 0)
			e->disc_backoff_ms = DISC_RETRY_MIN_MS;
		delay = e->disc_backoff_ms;
		if (delay > e->cfg->kube_discovery_ms)
			delay = e->cfg->kube_discovery_ms;
		e->disc_backoff_ms *= 2;
		if (e->disc_backoff_ms > DISC_RETRY_MAX_MS)
			e->disc_backoff_ms = DISC_RETRY_MAX_MS;
		log_warnx("API discovery failed: %s; next attempt in %lld s%s",
		    err, (long long)((delay + 999) / 1000), e->disc_settled ?
		    "" : " (until then only Pods, ReplicaSets and "
		    "Deployments are watched)");
		e->disc_settled = 1;
		uv_timer_start(&e->disc_timer, on_disc_timer, (uint64_t)delay,
		    0);
		return;
	}
	e->disc_backoff_ms = 0;
	for (k = 0; k < ENGINE_NKINDS; k++)
		decide(e, k, set);
	if (!e->disc_settled)
		log_info("API discovery: every kind decided; next round in "
		    "%lld s", (long long)(e->cfg->kube_discovery_ms / 1000));
	e->disc_settled = 1;
	uv_timer_start(&e->disc_timer, on_disc_timer,
	    (uint64_t)e->cfg->kube_discovery_ms, 0);
}

void
engine_kind_gone(struct engine *e, int k)
{
	char gv[DISC_GV];

	if (e->kver[k] == NULL)
		return;
	log_notice("%s: %s answers 404: not served any more; its analyzers "
	    "are off until the next API discovery", engine_kind_name(k),
	    gv_of(e->kver[k], gv, sizeof(gv)));
	engine_kind_close(e, k);
	e->kstate[k] = KS_OFF;
}

int
engine_discovery_start(struct engine *e)
{
	const struct informer_type	*one[2], *const *v;
	char				*gvs[DISCOVERY_MAX_GV], gv[DISC_GV];
	size_t				 n = 0, i, j;
	int				 k, rc = -1;

	for (k = 0; k < ENGINE_NKINDS; k++) {
		v = versions_of(k, one);
		for (i = 0; v[i] != NULL; i++) {
			gv_of(v[i], gv, sizeof(gv));
			for (j = 0; j < n && strcmp(gvs[j], gv) != 0; j++)
				;
			if (j < n)
				continue;
			if (n == DISCOVERY_MAX_GV ||
			    (gvs[n] = strdup(gv)) == NULL)
				goto out;
			n++;
		}
	}
	if ((e->disc = discovery_new(e->kube, gvs, n, on_discovery, e)) ==
	    NULL)
		goto out;
	uv_timer_init(e->loop, &e->disc_timer);
	e->disc_timer.data = e;
	discovery_run(e->disc);
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(gvs[i]);
	return rc;
}

void
engine_discovery_stop(struct engine *e)
{
	if (e->disc == NULL)
		return;
	discovery_free(e->disc);
	e->disc = NULL;
	uv_timer_stop(&e->disc_timer);
	uv_close((uv_handle_t *)&e->disc_timer, NULL);
}

void
engine_publish_kinds(const struct engine *e)
{
	struct metric			*m;
	const struct informer_type	*one[2], *const *v;
	char				 gv[DISC_GV];
	size_t				 i;
	int				 k;

	m = metric_gauge("remedy_kind_served", "1 for the version API "
	    "discovery chose to watch a kind at, 0 for the other versions it "
	    "may be served at (all 0: not served, its analyzers are off).",
	    "kind,version");
	for (k = 0; k < ENGINE_NKINDS; k++) {
		v = versions_of(k, one);
		for (i = 0; v[i] != NULL; i++)
			metric_set(m, METRIC_LABELS(engine_kind_name(k),
			    gv_of(v[i], gv, sizeof(gv))), v[i] == e->kver[k]);
	}
}
