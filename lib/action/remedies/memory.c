/*
 * memory.c - memory raise after OOMKilled: raise the memory limit of the
 * container that was killed by diagnosis.memory_raise_factor, capped at
 * diagnosis.memory_ceiling, in the pod template of the target (Deployment,
 * StatefulSet, DaemonSet).  A container without a limit (the node ran out,
 * not the container), or one at the ceiling already, gets an explanation.
 */
#include <stdio.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "base/util.h"
#include "kube/objects.h"

/* The container of the affected pod that was OOM-killed, or NULL. */
static const char *
oom_container(json_t *pod)
{
	json_t	*c;
	size_t	 i;

	json_array_foreach(json_at(pod, "status.containerStatuses"), i, c) {
		const char *a = json_str_at(c, "lastState.terminated.reason");
		const char *b = json_str_at(c, "state.terminated.reason");

		if ((a && strcmp(a, "OOMKilled") == 0) ||
		    (b && strcmp(b, "OOMKilled") == 0))
			return json_str_at(c, "name");
	}
	return NULL;
}

/* bytes as a quantity in Mi, rounded up. */
static void
fmt_mi(int64_t bytes, char *buf, size_t len)
{
	snprintf(buf, len, "%lldMi", (long long)((bytes + (1LL << 20) - 1) >>
	    20));
}

int
remedy_memory_raise(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	const struct incident	*inc = in->inc;
	const char		*cname, *lim;
	json_t			*conts, *c;
	int64_t			 cur, want;
	double			 factor = in->mem_factor >= 1.1 ?
				    in->mem_factor : 1.5;
	int64_t			 ceiling = in->mem_ceiling > 0 ?
				    in->mem_ceiling : (4LL << 30);
	char			 path[160], newq[32], ceil_s[32];
	size_t			 i;

	if (in->owner == NULL) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%s %s/%s could not be read; raise the memory limit by "
		    "hand", inc->kind, inc->ns, inc->name);
		return 0;
	}
	if (remedy_api_path(inc->kind, inc->ns, inc->name, p->api_path,
	    sizeof(p->api_path)) == -1)
		return 0;
	if ((cname = oom_container(in->pod)) == NULL) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "no container of the affected pod reports OOMKilled any "
		    "more");
		return 0;
	}
	conts = json_at(in->owner, "spec.template.spec.containers");
	c = NULL;
	json_array_foreach(conts, i, c)
		if (json_str_at(c, "name") && strcmp(json_str_at(c, "name"),
		    cname) == 0)
			break;
	if (c == NULL || i == json_array_size(conts)) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "container %s is not in the %s's template", cname,
		    inc->kind);
		return 0;
	}
	lim = json_str_at(c, "resources.limits.memory");
	if (lim == NULL || (cur = kquantity(lim)) <= 0) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "container %s has no memory limit; the node ran out of "
		    "memory, not the container", cname);
		return 0;
	}
	fmt_mi(ceiling, ceil_s, sizeof(ceil_s));
	want = (int64_t)((double)cur * factor);
	if (want > ceiling)
		want = ceiling;
	if (want <= cur) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "the memory limit of container %s (%s) is at the ceiling "
		    "%s (diagnosis.memory_ceiling)", cname, lim, ceil_s);
		return 0;
	}
	fmt_mi(want, newq, sizeof(newq));
	snprintf(path, sizeof(path), "/spec/template/spec/containers/%zu/"
	    "resources/limits/memory", i);
	if ((p->patch = json_array()) == NULL ||
	    (p->changes = json_array()) == NULL ||
	    remedy_op(p->patch, "test", "/metadata/generation", json_integer(
	    json_int_at(in->owner, "metadata.generation", 0))) == -1 ||
	    remedy_replace(p->patch, p->changes, path, lim, newq) == -1)
		return -1;
	p->risk = "medium";
	snprintf(p->summary, sizeof(p->summary), "Raise the memory limit of "
	    "container %s of %s %s/%s: %s -> %s", cname, inc->kind, inc->ns,
	    inc->name, lim, newq);
	snprintf(cause + strlen(cause), clen - strlen(cause), " Container %s "
	    "was killed for using more than its memory limit of %s. Raising "
	    "the limit by %.2gx (at most %s) gives it room; if the usage keeps "
	    "growing, look for a leak.", cname, lim, factor, ceil_s);
	return 0;
}
