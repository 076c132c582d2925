/*
 * scaling.c - HorizontalPodAutoscalers pinned at maxReplicas or unable to
 * compute their metrics, and PodDisruptionBudgets that allow no disruption
 * at all while every pod they cover is healthy (a drain would hang).
 */
#include <stdio.h>
#include <string.h>

#include "analyze/analyze.h"
#include "base/util.h"

#define S(x)	((x) ? (x) : "")

static int
cond_is(json_t *conds, const char *type, const char *status)
{
	json_t		*c = kcond(conds, type);
	const char	*s = c ? json_str_at(c, "status") : NULL;

	return s != NULL && strcmp(s, status) == 0;
}

int
analyze_hpa(const struct analyze_ctx *ctx, const void *obj, struct finding *f)
{
	const struct kobj	*o = obj;
	json_t			*conds = json_at(o->f, "status.conditions");
	json_int_t		 cur, max;

	(void)ctx;
	if (cond_is(conds, "ScalingActive", "False")) {
		json_t *c = kcond(conds, "ScalingActive");

		snprintf(f->reason, sizeof(f->reason), "MetricsUnavailable");
		snprintf(f->detail, sizeof(f->detail), "HorizontalPodAutoscaler "
		    "%s/%s: cannot compute the replica count: %s: %s", o->m.ns,
		    o->m.name, S(json_str_at(c, "reason")),
		    S(json_str_at(c, "message")));
		return 1;
	}
	cur = json_int_at(o->f, "status.currentReplicas", 0);
	max = json_int_at(o->f, "spec.maxReplicas", 0);
	if (max > 0 && cur >= max && (cond_is(conds, "ScalingLimited", "True") ||
	    json_int_at(o->f, "status.desiredReplicas", 0) >= max)) {
		snprintf(f->reason, sizeof(f->reason), "AtMaxReplicas");
		snprintf(f->detail, sizeof(f->detail), "HorizontalPodAutoscaler "
		    "%s/%s: at maxReplicas (%lld) for %s/%s and wants more",
		    o->m.ns, o->m.name, (long long)max,
		    S(json_str_at(o->f, "spec.scaleTargetRef.kind")),
		    S(json_str_at(o->f, "spec.scaleTargetRef.name")));
		return 1;
	}
	return 0;
}

int
analyze_pdb(const struct analyze_ctx *ctx, const void *obj, struct finding *f)
{
	const struct kobj	*o = obj;
	json_int_t		 allowed, healthy, desired, expected;

	(void)ctx;
	if (json_at(o->f, "status.disruptionsAllowed") == NULL)
		return 0;	/* not yet observed */
	allowed = json_int_at(o->f, "status.disruptionsAllowed", 0);
	healthy = json_int_at(o->f, "status.currentHealthy", 0);
	desired = json_int_at(o->f, "status.desiredHealthy", 0);
	expected = json_int_at(o->f, "status.expectedPods", 0);
	if (allowed > 0 || expected == 0 || healthy < expected ||
	    healthy < desired)
		return 0;
	snprintf(f->reason, sizeof(f->reason), "BlocksAllDisruption");
	snprintf(f->detail, sizeof(f->detail), "PodDisruptionBudget %s/%s: "
	    "allows no disruption with all %lld pods healthy (desired healthy "
	    "%lld): node drains will hang", o->m.ns, o->m.name,
	    (long long)expected, (long long)desired);
	return 1;
}
