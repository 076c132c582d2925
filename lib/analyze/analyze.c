/*
 * analyze.c - the analyzer table and the helpers the families share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/analyze.h"

/* Causes before symptoms within a kind (see analyze.h). */
const struct analyzer analyzers[] = {
	{ "image-pull",		"Pod",		analyze_image_pull },
	{ "init-container",	"Pod",		analyze_init_container },
	{ "container-config",	"Pod",		analyze_container_config },
	{ "oom",		"Pod",		analyze_oom },
	{ "crashloop",		"Pod",		analyze_crashloop },
	{ "unschedulable",	"Pod",		analyze_unschedulable },
	{ "evicted",		"Pod",		analyze_evicted },
	{ "pod-events",		"Pod",		analyze_pod_events },
	{ "probe",		"Pod",		analyze_probes },
	{ "replicaset",		"ReplicaSet",	analyze_replicaset },
	{ "deployment",		"Deployment",	analyze_deployment },
	{ "statefulset",	"StatefulSet",	analyze_statefulset },
	{ "daemonset",		"DaemonSet",	analyze_daemonset },
	{ "job",		"Job",		analyze_job },
	{ "cronjob",		"CronJob",	analyze_cronjob },
	{ "pvc",		"PersistentVolumeClaim", analyze_pvc },
	{ "service",		"Service",	analyze_service },
	{ "ingress",		"Ingress",	analyze_ingress },
	{ "node",		"Node",		analyze_node },
	{ "hpa",		"HorizontalPodAutoscaler", analyze_hpa },
	{ "pdb",		"PodDisruptionBudget", analyze_pdb },
	{ NULL, NULL, NULL }
};

int
analyze_object(const struct analyze_ctx *ctx, const char *kind,
    const void *obj, struct finding *f)
{
	const struct analyzer *a;

	if (strcmp(kind, "Pod") == 0 && ((const struct kpod *)obj)->deleting)
		return 0;
	for (a = analyzers; a->name != NULL; a++) {
		if (strcmp(a->kind, kind) != 0)
			continue;
		memset(f, 0, sizeof(*f));
		if (a->fn(ctx, obj, f)) {
			f->analyzer = a->name;
			return 1;
		}
	}
	memset(f, 0, sizeof(*f));
	return 0;
}

int
analyze_pod(const struct kpod *p, struct finding *f)
{
	return analyze_object(NULL, "Pod", p, f);
}

int
analyze_ctx_pods(const struct analyze_ctx *ctx, const char *ns,
    json_t *selector, int *total, int *ready)
{
	*total = *ready = 0;
	if (ctx == NULL || ctx->pods == NULL)
		return -1;
	ctx->pods(ctx->arg, ns, selector, total, ready);
	return 0;
}

const char *
analyze_ctx_event(const struct analyze_ctx *ctx, const char *kind,
    const char *ns, const char *name, const char *reason)
{
	if (ctx == NULL || ctx->event == NULL)
		return NULL;
	return ctx->event(ctx->arg, kind, ns, name, reason);
}

const void *
analyze_ctx_get(const struct analyze_ctx *ctx, const char *kind,
    const char *ns, const char *name)
{
	if (ctx == NULL || ctx->get == NULL)
		return NULL;
	return ctx->get(ctx->arg, kind, ns, name);
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		era;
	unsigned	yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int64_t
analyze_time(const char *s)
{
	int	y, mo, d, h, mi, sec, n = 0;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d,
	    &h, &mi, &sec, &n) != 6 || n == 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	return ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h) *
	    60 + mi) * 60000 + (int64_t)sec * 1000;
}
