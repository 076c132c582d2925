/*
 * workload.c - controllers of pods: Deployments (deadline exceeded, paused
 * rollout, replicas unavailable), ReplicaSets that cannot create pods
 * (quota, admission), StatefulSets (not ready, governing Service missing)
 * and DaemonSets (misscheduled, unavailable).
 *
 * Status is only trusted once the controller has observed the current
 * generation (status.observedGeneration == metadata.generation).
 */
#include <stdio.h>
#include <string.h>

#include "analyze/analyze.h"
#include "base/util.h"

#define S(x)	((x) ? (x) : "")

int
analyze_deployment(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kdeployment *d = obj;

	(void)ctx;
	if (d->observed_generation < d->m.generation)
		return 0;
	if (d->progress_status != NULL && strcmp(d->progress_status,
	    "False") == 0 && d->progress_reason != NULL &&
	    strcmp(d->progress_reason, "ProgressDeadlineExceeded") == 0) {
		snprintf(f->reason, sizeof(f->reason),
		    "ProgressDeadlineExceeded");
		snprintf(f->detail, sizeof(f->detail), "Deployment %s/%s: "
		    "rollout stalled: %s (%d of %d replicas updated, %d "
		    "available)", d->m.ns, d->m.name, S(d->progress_message),
		    d->updated, d->replicas, d->available);
		f->symptom = 1;
		return 1;
	}
	if (d->paused && d->updated < d->replicas) {
		snprintf(f->reason, sizeof(f->reason), "RolloutPaused");
		snprintf(f->detail, sizeof(f->detail), "Deployment %s/%s: "
		    "rollout paused with %d of %d replicas updated", d->m.ns,
		    d->m.name, d->updated, d->replicas);
		return 1;
	}
	if (d->avail_status != NULL && strcmp(d->avail_status, "False") == 0) {
		snprintf(f->reason, sizeof(f->reason), "ReplicasUnavailable");
		snprintf(f->detail, sizeof(f->detail), "Deployment %s/%s: %d of "
		    "%d replicas available: %s", d->m.ns, d->m.name,
		    d->available, d->replicas, S(d->avail_message));
		f->symptom = 1;
		return 1;
	}
	return 0;
}

int
analyze_replicaset(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kreplicaset	*rs = obj;
	const char			*m = rs->failure_message, *why;

	(void)ctx;
	if (rs->failure_reason == NULL)
		return 0;
	why = "pod creation failed";
	if (m != NULL && strstr(m, "exceeded quota") != NULL)
		why = "resource quota exceeded";
	else if (m != NULL && (strstr(m, "admission webhook") != NULL ||
	    strstr(m, "denied") != NULL || strstr(m, "forbidden") != NULL))
		why = "admission denied";
	snprintf(f->reason, sizeof(f->reason), "%s", rs->failure_reason);
	snprintf(f->detail, sizeof(f->detail), "ReplicaSet %s/%s: %s: %s",
	    rs->m.ns, rs->m.name, why, S(m));
	return 1;
}

static int
observed(const struct kobj *o)
{
	return json_int_at(o->f, "status.observedGeneration", 0) >=
	    json_int_at(o->f, "metadata.generation", 0);
}

int
analyze_statefulset(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kobj	*o = obj;
	const char		*svc = json_str_at(o->f, "spec.serviceName");
	json_int_t		 want, ready;

	if (svc != NULL && *svc != '\0' && ctx != NULL && ctx->get != NULL &&
	    analyze_ctx_get(ctx, "Service", o->m.ns, svc) == NULL) {
		snprintf(f->reason, sizeof(f->reason), "ServiceMissing");
		snprintf(f->detail, sizeof(f->detail), "StatefulSet %s/%s: its "
		    "governing Service %s/%s does not exist", o->m.ns,
		    o->m.name, o->m.ns, svc);
		return 1;
	}
	if (!observed(o))
		return 0;
	want = json_int_at(o->f, "spec.replicas", 1);
	ready = json_int_at(o->f, "status.readyReplicas", 0);
	if (ready >= want)
		return 0;
	snprintf(f->reason, sizeof(f->reason), "ReplicasNotReady");
	snprintf(f->detail, sizeof(f->detail), "StatefulSet %s/%s: %lld of "
	    "%lld replicas ready", o->m.ns, o->m.name, (long long)ready,
	    (long long)want);
	f->symptom = 1;
	return 1;
}

int
analyze_daemonset(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kobj	*o = obj;
	json_int_t		 mis, unavail, desired;

	(void)ctx;
	if (!observed(o))
		return 0;
	mis = json_int_at(o->f, "status.numberMisscheduled", 0);
	unavail = json_int_at(o->f, "status.numberUnavailable", 0);
	desired = json_int_at(o->f, "status.desiredNumberScheduled", 0);
	if (mis > 0) {
		snprintf(f->reason, sizeof(f->reason), "Misscheduled");
		snprintf(f->detail, sizeof(f->detail), "DaemonSet %s/%s: %lld "
		    "pods run on nodes they should not run on", o->m.ns,
		    o->m.name, (long long)mis);
		return 1;
	}
	if (unavail > 0) {
		snprintf(f->reason, sizeof(f->reason), "PodsUnavailable");
		snprintf(f->detail, sizeof(f->detail), "DaemonSet %s/%s: %lld of "
		    "%lld pods unavailable", o->m.ns, o->m.name,
		    (long long)unavail, (long long)desired);
		f->symptom = 1;
		return 1;
	}
	return 0;
}
