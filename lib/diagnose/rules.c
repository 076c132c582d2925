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

#include "diagnose/diagnose.h"
#include "util.h"

void
proposal_clear(struct proposal *p)
{
	free(p->root_cause);
	json_decref(p->evidence);
	json_decref(p->patch);
	json_decref(p->changes);
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

int
rules_diagnose(const struct diag_input *in, struct proposal *p)
{
	const struct incident		*inc = in->inc;
	const struct kdeployment	*d = in->dep;
	const struct kreplicaset	*prev;
	char				 cause[4096], images[384];
	const char			*kubelet, *pulled;
	int				 n;

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

	snprintf(cause, sizeof(cause),
	    "%zu pod(s) of %s %s/%s cannot start: image \"%s\" cannot be "
	    "pulled (%s). The kubelet reports: %s%s",
	    incident_pods(inc), inc->kind, inc->ns, inc->name, inc->image,
	    inc->reason, kubelet, *kubelet && kubelet[strlen(kubelet) - 1] ==
	    '.' ? "" : ".");

	if (d == NULL || strcmp(inc->kind, "Deployment") != 0) {
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: %s %s/%s is not a Deployment; fix the "
		    "image reference by hand", inc->kind, inc->ns, inc->name);
		goto explain;
	}
	snprintf(p->api_path, sizeof(p->api_path),
	    "/apis/apps/v1/namespaces/%s/deployments/%s", d->m.ns, d->m.name);
	if (d->paused) {
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: Deployment %s/%s is paused; resume it "
		    "or fix the image by hand", d->m.ns, d->m.name);
		goto explain;
	}
	if ((prev = previous_revision(in)) == NULL) {
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: Deployment %s/%s has no revision before "
		    "%lld to roll back to", d->m.ns, d->m.name,
		    (long long)d->revision);
		goto explain;
	}
	if ((p->patch = json_array()) == NULL ||
	    (p->changes = json_array()) == NULL)
		goto fail;
	n = rollback_patch(d, prev, p->patch, p->changes, images,
	    sizeof(images));
	if (n == -1)
		goto fail;
	if (n == 0) {
		json_decref(p->patch);
		json_decref(p->changes);
		p->patch = p->changes = NULL;
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: revision %lld of Deployment %s/%s uses "
		    "the same images", (long long)prev->revision, d->m.ns,
		    d->m.name);
		goto explain;
	}
	snprintf(p->summary, sizeof(p->summary),
	    "Roll back Deployment %s/%s to revision %lld: %s", d->m.ns,
	    d->m.name, (long long)prev->revision, images);
	snprintf(cause + strlen(cause), sizeof(cause) - strlen(cause),
	    " Revision %lld of the Deployment introduced the image; revision "
	    "%lld ran the image(s) this patch restores.",
	    (long long)d->revision, (long long)prev->revision);
explain:
	if ((p->root_cause = strdup(cause)) == NULL)
		goto fail;
	return 0;
fail:
	proposal_clear(p);
	return -1;
}
