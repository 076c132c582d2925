/*
 * rules.c - the offline diagnosis backend.
 *
 * Image pull failures of a Deployment: roll the container images back to
 * the previous revision, found as `kubectl rollout undo` finds it
 * (kubectl/pkg/polymorphichelpers/rollback.go): the ReplicaSets the
 * Deployment controls, ordered by their deployment.kubernetes.io/revision
 * annotation; the previous revision is the highest one below the
 * Deployment's current revision.  Only the image fields are restored, each
 * guarded by a `test` of the value it replaces, plus a `test` of
 * /metadata/generation.  A paused Deployment, a missing previous revision,
 * or a previous revision with the same images gets an explanation and no
 * patch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/diagconf.h"
#include "diagnose/diagnose.h"
#include "util.h"

void
proposal_clear(struct proposal *p)
{
	free(p->root_cause);
	json_decref(p->evidence);
	json_decref(p->patch);
	json_decref(p->changes);
	json_decref(p->inverse);
	json_decref(p->steps);
	memset(p, 0, sizeof(*p));
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Evidence: the pods' status lines in name order (deterministic output for
 * the operator and the tests), at most INCIDENT_MAX_EVIDENCE of them, and a
 * count of the rest.
 */
static int
evidence_fill(const struct incident *inc, json_t *ev)
{
	const char	**lines, *k;
	void		 *v;
	size_t		  pos = 0, n = 0, i, total = incident_pods(inc);
	int		  rc = -1;

	if ((lines = calloc(total ? total : 1, sizeof(*lines))) == NULL)
		return -1;
	while (hmap_next(&inc->pods, &pos, &k, &v))
		lines[n++] = v;
	qsort(lines, n, sizeof(*lines), cmpstr);
	for (i = 0; i < n && i < INCIDENT_MAX_EVIDENCE; i++)
		if (json_array_append_new(ev, json_string(lines[i])) == -1)
			goto out;
	if (n > INCIDENT_MAX_EVIDENCE) {
		char more[64];

		snprintf(more, sizeof(more), "... and %zu more pods like these",
		    n - INCIDENT_MAX_EVIDENCE);
		if (json_array_append_new(ev, json_string(more)) == -1)
			goto out;
	}
	rc = 0;
out:
	free(lines);
	return rc;
}

/* The first evidence line's message part, for the root cause text. */
static const char *
first_message(json_t *ev)
{
	const char *s = json_string_value(json_array_get(ev, 0)), *p;

	if (s == NULL)
		return "";
	p = strstr(s, "): ");
	return p ? p + 3 : s;
}

/* An Event's count: max(count, series.count, 1) (events.k8s.io rules). */
static json_int_t
event_count(json_t *e)
{
	json_int_t c = json_int_at(e, "count", 0), s;

	s = json_int_at(e, "series.count", 0);
	if (s > c)
		c = s;
	return c > 0 ? c : 1;
}

/*
 * The kubelet's own words on the failed pull: the newest Warning event
 * "Failed to pull image ...".  The pod status of a pod in ImagePullBackOff
 * only says "Back-off pulling image"; the event names the registry's error
 * (not found, unauthorized, ...).  Each distinct Warning message becomes one
 * evidence line with its count.
 */
static const char *
events_fill(json_t *events, json_t *ev)
{
	const char	*msg, *reason, *best = NULL, *obj;
	json_t		*e;
	size_t		 i, n = 0;
	char		 line[1024];

	json_array_foreach(json_object_get(events, "items"), i, e) {
		msg = json_string_value(json_object_get(e, "message"));
		reason = json_string_value(json_object_get(e, "reason"));
		obj = json_str_at(e, "involvedObject.name");
		if (msg == NULL || reason == NULL ||
		    !json_is_string(json_object_get(e, "type")) ||
		    strcmp(json_string_value(json_object_get(e, "type")),
		    "Warning") != 0)
			continue;
		if (strncmp(msg, "Failed to pull image", 20) == 0)
			best = msg;
		if (n++ < INCIDENT_MAX_EVIDENCE / 2) {
			snprintf(line, sizeof(line), "event %s (x%lld) on pod "
			    "%s: %s", reason, (long long)event_count(e),
			    obj ? obj : "?", msg);
			json_array_append_new(ev, json_string(line));
		}
	}
	return best;
}

static const struct kreplicaset *
previous_revision(const struct diag_input *in)
{
	const struct kreplicaset	*best = NULL;
	size_t				 i;

	for (i = 0; i < in->nrs; i++) {
		if (in->rs[i]->revision <= 0 ||
		    in->rs[i]->revision >= in->dep->revision)
			continue;
		if (best == NULL || in->rs[i]->revision > best->revision)
			best = in->rs[i];
	}
	return best;
}

static const char *
image_of(const struct kreplicaset *rs, const char *container)
{
	size_t i;

	for (i = 0; i < rs->ncont; i++)
		if (rs->cont[i].name && container &&
		    strcmp(rs->cont[i].name, container) == 0)
			return rs->cont[i].image;
	return NULL;
}

static int
add_op(json_t *patch, const char *op, const char *path, json_t *value)
{
	json_t *o;

	o = json_pack("{s:s, s:s, s:o}", "op", op, "path", path, "value",
	    value);
	return o == NULL ? -1 : json_array_append_new(patch, o);
}

/* Build the rollback patch and its change list.  Returns the number of
 * images changed, or -1 on allocation failure. */
static int
rollback_patch(const struct kdeployment *d, const struct kreplicaset *prev,
    json_t *patch, json_t *changes, char *images, size_t ilen)
{
	const char	*old;
	char		 path[128];
	size_t		 i;
	int		 n = 0;

	if (add_op(patch, "test", "/metadata/generation",
	    json_integer(d->m.generation)) == -1)
		return -1;
	images[0] = '\0';
	for (i = 0; i < d->ncont; i++) {
		old = image_of(prev, d->cont[i].name);
		if (old == NULL || d->cont[i].image == NULL ||
		    strcmp(old, d->cont[i].image) == 0)
			continue;
		snprintf(path, sizeof(path),
		    "/spec/template/spec/containers/%zu/image", i);
		if (add_op(patch, "test", path,
		    json_string(d->cont[i].image)) == -1 ||
		    add_op(patch, "replace", path, json_string(old)) == -1 ||
		    json_array_append_new(changes, json_pack("{s:s,s:s,s:s}",
		    "path", path, "before", d->cont[i].image,
		    "after", old)) == -1)
			return -1;
		snprintf(images + strlen(images), ilen - strlen(images),
		    "%s%s -> %s", n ? ", " : "", d->cont[i].image, old);
		n++;
	}
	return n;
}

static int
is_image_reason(const char *r)
{
	static const char *const reasons[] = { "ErrImagePull",
	    "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
	    "RegistryUnavailable" };
	size_t	i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(r, reasons[i]) == 0)
			return 1;
	return 0;
}

/*
 * Roll the Deployment's images back to the previous revision, or say why
 * not.  what names the failure for the summary ("the image cannot be
 * pulled", "the new revision crash-loops").
 */
static int
rollback(const struct diag_input *in, struct proposal *p, char *cause,
    size_t clen)
{
	const struct incident		*inc = in->inc;
	const struct kdeployment	*d = in->dep;
	const struct kreplicaset	*prev;
	char				 images[384];
	int				 n;

	if (strcmp(inc->kind, "Deployment") != 0) {
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: %s %s/%s is not a Deployment; fix it "
		    "by hand", inc->kind, inc->ns, inc->name);
		return 0;
	}
	if (d == NULL) {
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: Deployment %s/%s is not in remedyd's "
		    "cache (deleted, or not listed yet); fix it by hand",
		    inc->ns, inc->name);
		return 0;
	}
	snprintf(p->api_path, sizeof(p->api_path),
	    "/apis/apps/v1/namespaces/%s/deployments/%s", d->m.ns, d->m.name);
	if (d->paused) {
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: Deployment %s/%s is paused; resume it "
		    "or fix the image by hand", d->m.ns, d->m.name);
		return 0;
	}
	if ((prev = previous_revision(in)) == NULL) {
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: Deployment %s/%s has no revision before "
		    "%lld to roll back to", d->m.ns, d->m.name,
		    (long long)d->revision);
		return 0;
	}
	if ((p->patch = json_array()) == NULL ||
	    (p->changes = json_array()) == NULL)
		return -1;
	n = rollback_patch(d, prev, p->patch, p->changes, images,
	    sizeof(images));
	if (n == -1)
		return -1;
	if (n == 0) {
		json_decref(p->patch);
		json_decref(p->changes);
		p->patch = p->changes = NULL;
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: revision %lld of Deployment %s/%s uses "
		    "the same images", (long long)prev->revision, d->m.ns,
		    d->m.name);
		return 0;
	}
	snprintf(p->summary, sizeof(p->summary),
	    "Roll back Deployment %s/%s to revision %lld: %s", d->m.ns,
	    d->m.name, (long long)prev->revision, images);
	snprintf(cause + strlen(cause), clen - strlen(cause),
	    " Revision %lld of the Deployment introduced the image; revision "
	    "%lld ran the image(s) this patch restores.",
	    (long long)d->revision, (long long)prev->revision);
	return 0;
}

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

/*
 * OOMKilled: raise the memory limit of the container that was killed by
 * mem_factor, capped at mem_ceiling.  A container without a limit, or at
 * the ceiling already, gets an explanation.
 */
static int
memory_raise(const struct diag_input *in, struct proposal *p, char *cause,
    size_t clen)
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

	if (in->owner == NULL || strcmp(inc->kind, "Deployment") != 0) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%s %s/%s is not a Deployment; raise the memory limit by "
		    "hand", inc->kind, inc->ns, inc->name);
		return 0;
	}
	snprintf(p->api_path, sizeof(p->api_path),
	    "/apis/apps/v1/namespaces/%s/deployments/%s", inc->ns, inc->name);
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
		    "container %s is not in the Deployment's template", cname);
		return 0;
	}
	lim = json_str_at(c, "resources.limits.memory");
	if (lim == NULL || (cur = diag_quantity(lim)) <= 0) {
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
	    add_op(p->patch, "test", "/metadata/generation", json_integer(
	    json_int_at(in->owner, "metadata.generation", 0))) == -1 ||
	    add_op(p->patch, "test", path, json_string(lim)) == -1 ||
	    add_op(p->patch, "replace", path, json_string(newq)) == -1 ||
	    json_array_append_new(p->changes, json_pack("{s:s,s:s,s:s}",
	    "path", path, "before", lim, "after", newq)) == -1)
		return -1;
	p->risk = "medium";
	snprintf(p->summary, sizeof(p->summary), "Raise the memory limit of "
	    "container %s of Deployment %s/%s: %s -> %s", cname, inc->ns,
	    inc->name, lim, newq);
	snprintf(cause + strlen(cause), clen - strlen(cause), " Container %s "
	    "was killed for using more than its memory limit of %s. Raising "
	    "the limit by %.2gx (at most %s) gives it room; if the usage keeps "
	    "growing, look for a leak.", cname, lim, factor, ceil_s);
	return 0;
}

int
rules_diagnose(const struct diag_input *in, struct proposal *p)
{
	const struct incident	*inc = in->inc;
	char			 cause[4096];
	const char		*kubelet, *pulled = NULL;
	int			 rc;

	memset(p, 0, sizeof(*p));
	p->risk = "low";
	p->kind = inc->kind;
	p->ns = inc->ns;
	p->name = inc->name;
	if ((p->evidence = json_array()) == NULL ||
	    evidence_fill(inc, p->evidence) == -1)
		goto fail;
	kubelet = first_message(p->evidence);
	if (in->events != NULL && (pulled = events_fill(in->events,
	    p->evidence)) != NULL)
		kubelet = pulled;

	if (is_image_reason(inc->reason)) {
		snprintf(cause, sizeof(cause),
		    "%zu pod(s) of %s %s/%s cannot start: image \"%s\" cannot "
		    "be pulled (%s). The kubelet reports: %s%s",
		    incident_pods(inc), inc->kind, inc->ns, inc->name,
		    inc->image ? inc->image : "?", inc->reason, kubelet,
		    *kubelet && kubelet[strlen(kubelet) - 1] == '.' ? "" : ".");
		rc = rollback(in, p, cause, sizeof(cause));
	} else if (strcmp(inc->reason, "CrashLoopBackOff") == 0 ||
	    strcmp(inc->reason, "ProgressDeadlineExceeded") == 0) {
		snprintf(cause, sizeof(cause), "%zu pod(s) of %s %s/%s %s "
		    "(%s). %s%s", incident_pods(inc), inc->kind, inc->ns,
		    inc->name, strcmp(inc->reason, "CrashLoopBackOff") == 0 ?
		    "keep crashing after start" : "did not become available "
		    "within the progress deadline", inc->reason, kubelet,
		    *kubelet && kubelet[strlen(kubelet) - 1] == '.' ? "" : ".");
		rc = rollback(in, p, cause, sizeof(cause));
	} else if (strcmp(inc->reason, "OOMKilled") == 0) {
		snprintf(cause, sizeof(cause), "%zu pod(s) of %s %s/%s were "
		    "killed for running out of memory (OOMKilled).",
		    incident_pods(inc), inc->kind, inc->ns, inc->name);
		rc = memory_raise(in, p, cause, sizeof(cause));
	} else {
		snprintf(cause, sizeof(cause), "%zu pod(s) of %s %s/%s: %s. "
		    "%s%s", incident_pods(inc), inc->kind, inc->ns, inc->name,
		    inc->reason, kubelet, *kubelet && kubelet[strlen(kubelet) -
		    1] == '.' ? "" : ".");
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "the rules know no safe patch for %s; see the evidence",
		    inc->reason);
		rc = 0;
	}
	if (rc == -1)
		goto fail;
	if ((p->root_cause = strdup(cause)) == NULL)
		goto fail;
	return 0;
fail:
	proposal_clear(p);
	return -1;
}
