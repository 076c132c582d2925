/*
 * remedies.c - the fix table and the helpers every builder uses; see
 * remedies.h.
 */
#include <stdio.h>
#include <string.h>

#include "action/remedies/remedies.h"

#define ROLLBACK(reason)						\
	{ reason, "Deployment",	 "revision-rollback",			\
	    remedy_rollback_deployment },				\
	{ reason, "StatefulSet", "revision-rollback",			\
	    remedy_rollback_revision },					\
	{ reason, "DaemonSet",	 "revision-rollback",			\
	    remedy_rollback_revision }

#define PROBE(reason)							\
	{ reason, "Deployment",	 "probe", remedy_probe },	\
	{ reason, "StatefulSet", "probe", remedy_probe },	\
	{ reason, "DaemonSet",	 "probe", remedy_probe }
/* A missing image: the revision rollback, else the registry's closest
 * tag (image.c); a bare Pod has no revision, only the tag. */
#define IMAGE(reason)							\
	{ reason, "Deployment",	 "revision-rollback",			\
	    remedy_rollback_or_tag },					\
	{ reason, "StatefulSet", "revision-rollback",			\
	    remedy_revision_or_tag },					\
	{ reason, "DaemonSet",	 "revision-rollback",			\
	    remedy_revision_or_tag },					\
	{ reason, "Pod",	 "registry-tag", remedy_image_tag },	\
	{ reason, "CronJob",	 "registry-tag", remedy_image_tag }

/*
 * (finding reason, target kind) -> fix.  The image pull reasons are those
 * of lib/analyze/image_pull.c; CrashLoopBackOff and
 * ProgressDeadlineExceeded after a rollout are rolled back too (the
 * builder finds no fix when the previous revision runs the same images).
 */
const struct remedy remedies_table[] = {
	IMAGE("ErrImagePull"),
	IMAGE("ImagePullBackOff"),
	ROLLBACK("InvalidImageName"),
	ROLLBACK("ErrImageNeverPull"),
	ROLLBACK("RegistryUnavailable"),
	ROLLBACK("CrashLoopBackOff"),
	{ "ProgressDeadlineExceeded", "Deployment", "revision-rollback",
	    remedy_rollback_deployment },
	{ "OOMKilled", "Deployment",	"memory-raise", remedy_memory_raise },
	{ "OOMKilled", "StatefulSet",	"memory-raise", remedy_memory_raise },
	{ "OOMKilled", "DaemonSet",	"memory-raise", remedy_memory_raise },
	PROBE("ReadinessProbeFailed"),
	PROBE("LivenessProbeFailed"),
	PROBE("StartupProbeFailed"),
	{ "Unschedulable", "Deployment", "node-selector",
	    remedy_node_selector },
	{ "Unschedulable", "StatefulSet", "node-selector",
	    remedy_node_selector },
	{ "Unschedulable", "DaemonSet", "node-selector",
	    remedy_node_selector },
	{ "JobPodsFailing", "Job", "job-retry", remedy_job_explain },
	{ "JobPodsFailing", "CronJob", "job-retry", remedy_job_explain },
	{ "ProvisioningFailed", "PersistentVolumeClaim", "storage-class",
	    remedy_storage_class },
	{ "NoMatchingPods", "Service", "service-selector",
	    remedy_service_selector },
};
const size_t remedies_count = sizeof(remedies_table) /
    sizeof(remedies_table[0]);

const struct remedy *
remedy_find(const char *reason, const char *kind)
{
	size_t i;

	if (reason == NULL || kind == NULL)
		return NULL;
	for (i = 0; i < remedies_count; i++)
		if (strcmp(remedies_table[i].reason, reason) == 0 &&
		    strcmp(remedies_table[i].kind, kind) == 0)
			return &remedies_table[i];
	return NULL;
}

/* Whether some row fixes this reason on another kind. */
static int
reason_known(const char *reason)
{
	size_t i;

	for (i = 0; i < remedies_count; i++)
		if (strcmp(remedies_table[i].reason, reason) == 0)
			return 1;
	return 0;
}

int
remedies_build(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	const struct incident	*inc = in->inc;
	const struct remedy	*r;

	if ((r = remedy_find(inc->reason, inc->kind)) != NULL)
		return r->build(in, p, cause, clen);
	if (reason_known(inc->reason) && strcmp(inc->kind, "Pod") == 0)
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "Pod %s/%s has no controller, so no earlier revision to "
		    "roll back to; fix it by hand (or with an LLM backend)",
		    inc->ns, inc->name);
	else if (reason_known(inc->reason))
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "the rules fix %s of a Deployment, StatefulSet or "
		    "DaemonSet, not of %s %s/%s; fix it by hand", inc->reason,
		    inc->kind, inc->ns, inc->name);
	else
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "the rules know no safe patch for %s; see the evidence",
		    inc->reason);
	return 0;
}

int
remedy_api_path_at(const char *kind, const char *prefix, const char *ns,
    const char *name, char *buf, size_t len)
{
	static const struct {
		const char	*kind;
		const char	*prefix;
		const char	*plural;
	} paths[] = {
		{ "Deployment",	 "/apis/apps/v1",	"deployments" },
		{ "StatefulSet", "/apis/apps/v1",	"statefulsets" },
		{ "DaemonSet",	 "/apis/apps/v1",	"daemonsets" },
		{ "ReplicaSet",	 "/apis/apps/v1",	"replicasets" },
		{ "CronJob",	 "/apis/batch/v1",	"cronjobs" },
		{ "Job",	 "/apis/batch/v1",	"jobs" },
		{ "Pod",	 "/api/v1",		"pods" },
		{ "Service",	 "/api/v1",		"services" },
		{ "PersistentVolumeClaim", "/api/v1",
		    "persistentvolumeclaims" },
	};
	size_t	i;
	int	n;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (strcmp(paths[i].kind, kind) != 0)
			continue;
		n = snprintf(buf, len, "%s/namespaces/%s/%s/%s",
		    prefix ? prefix : paths[i].prefix, ns, paths[i].plural,
		    name);
		return n < 0 || (size_t)n >= len ? -2 : 0;
	}
	return -1;
}

int
remedy_api_path(const char *kind, const char *ns, const char *name,
    char *buf, size_t len)
{
	return remedy_api_path_at(kind, NULL, ns, name, buf, len) == 0 ? 0 :
	    -1;
}

void
remedy_drop_patch(struct proposal *p)
{
	json_decref(p->patch);
	json_decref(p->changes);
	p->patch = p->changes = NULL;
}

int
remedy_op(json_t *patch, const char *op, const char *path, json_t *value)
{
	json_t *o;

	o = json_pack("{s:s, s:s, s:o}", "op", op, "path", path, "value",
	    value);
	return o == NULL ? -1 : json_array_append_new(patch, o);
}

int
remedy_replace(json_t *patch, json_t *changes, const char *path,
    const char *before, const char *after)
{
	if (remedy_op(patch, "test", path, json_string(before)) == -1 ||
	    remedy_op(patch, "replace", path, json_string(after)) == -1)
		return -1;
	return json_array_append_new(changes, json_pack("{s:s,s:s,s:s}",
	    "path", path, "before", before, "after", after));
}
