/*
 * pod.c - pods that do not run: init containers that fail, containers that
 * crash, run out of memory or cannot be created, pods the scheduler cannot
 * place, evicted pods, volume and sandbox failures and failing probes (the
 * last two read the kubelet's Events about the pod).
 *
 * Missing ConfigMaps, Secrets and keys are named from the kubelet's message;
 * their content is never read.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "analyze/analyze.h"

#define S(x)	((x) ? (x) : "")

static void
set_container(struct finding *f, const struct kcstatus *st)
{
	snprintf(f->container, sizeof(f->container), "%s", S(st->name));
	snprintf(f->image, sizeof(f->image), "%s", S(st->image));
}

/* "last termination: OOMKilled, exit code 137" or "" into buf. */
static const char *
last_term(const struct kcstatus *st, char *buf, size_t len)
{
	if (!st->has_last)
		snprintf(buf, len, "no previous termination recorded");
	else
		snprintf(buf, len, "last termination: %s, exit code %d",
		    st->last_reason ? st->last_reason : "(no reason)",
		    st->last_exit);
	return buf;
}

int
analyze_init_container(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kpod	*p = obj;
	const struct kcstatus	*st;
	char			 lt[160];
	size_t			 i;

	(void)ctx;
	for (i = 0; i < p->nstatus; i++) {
		st = &p->st[i];
		if (!st->init)
			continue;
		if (st->terminated && st->term_exit != 0) {
			snprintf(f->detail, sizeof(f->detail), "pod %s/%s: init "
			    "container %s (image %s) failed: %s, exit code %d",
			    p->m.ns, p->m.name, S(st->name), S(st->image),
			    st->term_reason ? st->term_reason : "(no reason)",
			    st->term_exit);
		} else if (st->waiting_reason != NULL &&
		    strcmp(st->waiting_reason, "CrashLoopBackOff") == 0) {
			snprintf(f->detail, sizeof(f->detail), "pod %s/%s: init "
			    "container %s (image %s) keeps failing "
			    "(CrashLoopBackOff, %d restarts); %s", p->m.ns,
			    p->m.name, S(st->name), S(st->image), st->restarts,
			    last_term(st, lt, sizeof(lt)));
		} else
			continue;
		snprintf(f->reason, sizeof(f->reason), "InitContainerFailed");
		set_container(f, st);
		return 1;
	}
	return 0;
}

/*
 * The object a CreateContainerConfigError names: the kubelet says
 * `secret "db" not found`, `configmap "app" not found` or
 * `couldn't find key url in ConfigMap demo/app`.
 */
static void
missing_ref(const char *msg, char *buf, size_t len)
{
	const char	*p, *q;
	static const struct { const char *pre, *kind; } refs[] = {
		{ "secret \"", "Secret" }, { "configmap \"", "ConfigMap" },
		{ "Secret \"", "Secret" }, { "ConfigMap \"", "ConfigMap" },
	};
	size_t		 i;

	*buf = '\0';
	if (msg == NULL)
		return;
	if ((p = strstr(msg, "couldn't find key ")) != NULL) {
		char key[128], kind[32], where[256];

		if (sscanf(p, "couldn't find key %127s in %31s %255s", key, kind,
		    where) == 3)
			snprintf(buf, len, "missing key %.100s in %.20s %.200s",
			    key, kind, where);
		return;
	}
	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		if ((p = strstr(msg, refs[i].pre)) == NULL)
			continue;
		p += strlen(refs[i].pre);
		if ((q = strchr(p, '"')) == NULL || strstr(q, "not found") ==
		    NULL)
			continue;
		snprintf(buf, len, "missing %s %.*s", refs[i].kind,
		    (int)(q - p), p);
		return;
	}
}

int
analyze_container_config(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kpod	*p = obj;
	const struct kcstatus	*st;
	char			 miss[400];
	size_t			 i;

	(void)ctx;
	for (i = 0; i < p->nstatus; i++) {
		st = &p->st[i];
		if (st->waiting_reason == NULL ||
		    (strcmp(st->waiting_reason, "CreateContainerConfigError") !=
		    0 && strcmp(st->waiting_reason, "CreateContainerError") != 0))
			continue;
		missing_ref(st->waiting_message, miss, sizeof(miss));
		snprintf(f->reason, sizeof(f->reason), "%s", st->waiting_reason);
		set_container(f, st);
		snprintf(f->detail, sizeof(f->detail), "pod %s/%s: %scontainer %s"
		    " (image %s): %s: %s%s%s", p->m.ns, p->m.name,
		    st->init ? "init " : "", S(st->name), S(st->image),
		    st->waiting_reason, st->waiting_message ?
		    st->waiting_message : "(no message)", *miss ? "; " : "",
		    miss);
		return 1;
	}
	return 0;
}

int
analyze_oom(const struct analyze_ctx *ctx, const void *obj, struct finding *f)
{
	const struct kpod	*p = obj;
	const struct kcstatus	*st;
	size_t			 i;
	int			 now;

	(void)ctx;
	for (i = 0; i < p->nstatus; i++) {
		st = &p->st[i];
		now = st->terminated && st->term_reason != NULL &&
		    strcmp(st->term_reason, "OOMKilled") == 0;
		if (!now && !(st->has_last && st->last_reason != NULL &&
		    strcmp(st->last_reason, "OOMKilled") == 0))
			continue;
		/* A container that was OOM-killed once and has run ready
		 * since is healthy again. */
		if (!now && st->ready && (st->waiting_reason == NULL))
			continue;
		snprintf(f->reason, sizeof(f->reason), "OOMKilled");
		set_container(f, st);
		snprintf(f->detail, sizeof(f->detail), "pod %s/%s: %scontainer %s"
		    " (image %s) was OOMKilled (exit code %d), %d restarts",
		    p->m.ns, p->m.name, st->init ? "init " : "", S(st->name),
		    S(st->image), now ? st->term_exit : st->last_exit,
		    st->restarts);
		return 1;
	}
	return 0;
}

int
analyze_crashloop(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kpod	*p = obj;
	const struct kcstatus	*st;
	char			 lt[160];
	size_t			 i;

	(void)ctx;
	for (i = 0; i < p->nstatus; i++) {
		st = &p->st[i];
		if (st->init || st->waiting_reason == NULL ||
		    strcmp(st->waiting_reason, "CrashLoopBackOff") != 0)
			continue;
		snprintf(f->reason, sizeof(f->reason), "CrashLoopBackOff");
		set_container(f, st);
		snprintf(f->detail, sizeof(f->detail), "pod %s/%s: container %s "
		    "(image %s): CrashLoopBackOff, %d restarts; %s", p->m.ns,
		    p->m.name, S(st->name), S(st->image), st->restarts,
		    last_term(st, lt, sizeof(lt)));
		return 1;
	}
	return 0;
}

/* What the scheduler's message says stops the pod. */
static const char *
sched_cause(const char *msg)
{
	if (msg == NULL)
		return "unknown";
	if (strstr(msg, "Insufficient cpu") != NULL)
		return "insufficient cpu";
	if (strstr(msg, "Insufficient memory") != NULL)
		return "insufficient memory";
	if (strstr(msg, "persistentvolumeclaim") != NULL ||
	    strstr(msg, "PersistentVolumeClaim") != NULL ||
	    strstr(msg, "volume node affinity") != NULL)
		return "persistent volume claim";
	if (strstr(msg, "taint") != NULL)
		return "untolerated taint";
	if (strstr(msg, "affinity") != NULL || strstr(msg, "selector") !=
	    NULL)
		return "node affinity/selector";
	return "other";
}

int
analyze_unschedulable(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kpod	*p = obj;
	const char		*msg;

	if (!p->unscheduled || p->sched_reason == NULL ||
	    strcmp(p->sched_reason, "Unschedulable") != 0)
		return 0;
	msg = p->sched_message;
	if (msg == NULL || *msg == '\0')
		msg = analyze_ctx_event(ctx, "Pod", p->m.ns, p->m.name,
		    "FailedScheduling");
	snprintf(f->reason, sizeof(f->reason), "Unschedulable");
	snprintf(f->detail, sizeof(f->detail), "pod %s/%s: unschedulable (%s):"
	    " %s", p->m.ns, p->m.name, sched_cause(msg), msg ? msg :
	    "(no message)");
	return 1;
}

int
analyze_evicted(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kpod *p = obj;

	(void)ctx;
	if (p->phase == NULL || strcmp(p->phase, "Failed") != 0 ||
	    p->reason == NULL || strcmp(p->reason, "Evicted") != 0)
		return 0;
	snprintf(f->reason, sizeof(f->reason), "Evicted");
	snprintf(f->detail, sizeof(f->detail), "pod %s/%s: evicted from node "
	    "%s: %s", p->m.ns, p->m.name, S(p->node), p->message ? p->message :
	    "(no message)");
	return 1;
}

/* A pod that has not started: Pending, or a container still creating. */
static int
not_started(const struct kpod *p)
{
	size_t i;

	if (p->phase != NULL && strcmp(p->phase, "Pending") == 0)
		return 1;
	for (i = 0; i < p->nstatus; i++)
		if (p->st[i].waiting_reason != NULL &&
		    (strcmp(p->st[i].waiting_reason, "ContainerCreating") == 0 ||
		    strcmp(p->st[i].waiting_reason, "PodInitializing") == 0))
			return 1;
	return 0;
}

int
analyze_pod_events(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	static const char *const reasons[] = {
		"FailedAttachVolume", "FailedMount", "FailedCreatePodSandBox"
	};
	const struct kpod	*p = obj;
	const char		*msg;
	size_t			 i;

	if (p->ready || !not_started(p))
		return 0;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if ((msg = analyze_ctx_event(ctx, "Pod", p->m.ns, p->m.name,
		    reasons[i])) == NULL)
			continue;
		snprintf(f->reason, sizeof(f->reason), "%s", reasons[i]);
		snprintf(f->detail, sizeof(f->detail), "pod %s/%s on node %s: "
		    "%s: %s", p->m.ns, p->m.name, p->node ? p->node :
		    "(none)", reasons[i], msg);
		return 1;
	}
	return 0;
}

int
analyze_probes(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	static const struct { const char *prefix, *reason; } kinds[] = {
		{ "Liveness probe failed", "LivenessProbeFailed" },
		{ "Readiness probe failed", "ReadinessProbeFailed" },
		{ "Startup probe failed", "StartupProbeFailed" },
	};
	const struct kpod	*p = obj;
	const char		*msg;
	size_t			 i;

	if (p->ready || p->phase == NULL || strcmp(p->phase, "Running") != 0)
		return 0;
	if ((msg = analyze_ctx_event(ctx, "Pod", p->m.ns, p->m.name,
	    "Unhealthy")) == NULL)
		return 0;
	snprintf(f->reason, sizeof(f->reason), "ProbeFailed");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(msg, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
			snprintf(f->reason, sizeof(f->reason), "%s",
			    kinds[i].reason);
	snprintf(f->detail, sizeof(f->detail), "pod %s/%s: not ready: %s",
	    p->m.ns, p->m.name, msg);
	return 1;
}
