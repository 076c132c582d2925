/*
 * rollback.c - revision rollback: restore the container images of the
 * target's previous revision, found as `kubectl rollout undo` finds it
 * (kubectl/pkg/polymorphichelpers/rollback.go).
 *
 *   Deployment   the ReplicaSets it controls, ordered by their
 *                deployment.kubernetes.io/revision annotation; the
 *                previous revision is the highest below the Deployment's
 *                current revision.
 *   StatefulSet  the ControllerRevisions it controls, ordered by
 *   DaemonSet    .revision; the current one is the StatefulSet's
 *                status.updateRevision (the revision of its template), for
 *                a DaemonSet the highest (its controller bumps the
 *                template's revision to the top); the previous revision is
 *                the highest below the current.
 *
 * Only the image fields are restored, each guarded by a `test` of the value
 * it replaces, plus a `test` of /metadata/generation.  A paused
 * Deployment, a missing previous revision, or a previous revision with the
 * same images gets an explanation and no patch.
 */
#include <stdio.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "base/util.h"

static const struct kreplicaset *
previous_rs(const struct diag_input *in)
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
rs_image(const struct kreplicaset *rs, const char *container)
{
	size_t i;

	for (i = 0; i < rs->ncont; i++)
		if (rs->cont[i].name && container &&
		    strcmp(rs->cont[i].name, container) == 0)
			return rs->cont[i].image;
	return NULL;
}

/* Append ", a -> b" to the images list of the summary. */
static void
images_add(char *images, size_t ilen, int n, const char *from,
    const char *to)
{
	size_t l = strlen(images);

	snprintf(images + l, ilen - l, "%s%s -> %s", n ? ", " : "", from, to);
}

int
remedy_rollback_deployment(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	const struct incident		*inc = in->inc;
	const struct kdeployment	*d = in->dep;
	const struct kreplicaset	*prev;
	const char			*old;
	char				 images[384], path[128];
	size_t				 i;
	int				 n = 0;

	if (d == NULL) {
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: Deployment %s/%s is not in remedyd's "
		    "cache (deleted, or not listed yet); fix it by hand",
		    inc->ns, inc->name);
		return 0;
	}
	remedy_api_path("Deployment", d->m.ns, d->m.name, p->api_path,
	    sizeof(p->api_path));
	if (d->paused) {
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: Deployment %s/%s is paused; resume it "
		    "or fix the image by hand", d->m.ns, d->m.name);
		return 0;
	}
	if ((prev = previous_rs(in)) == NULL) {
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: Deployment %s/%s has no revision before "
		    "%lld to roll back to", d->m.ns, d->m.name,
		    (long long)d->revision);
		return 0;
	}
	if ((p->patch = json_array()) == NULL ||
	    (p->changes = json_array()) == NULL ||
	    remedy_op(p->patch, "test", "/metadata/generation",
	    json_integer(d->m.generation)) == -1)
		return -1;
	images[0] = '\0';
	for (i = 0; i < d->ncont; i++) {
		old = rs_image(prev, d->cont[i].name);
		if (old == NULL || d->cont[i].image == NULL ||
		    strcmp(old, d->cont[i].image) == 0)
			continue;
		snprintf(path, sizeof(path),
		    "/spec/template/spec/containers/%zu/image", i);
		if (remedy_replace(p->patch, p->changes, path,
		    d->cont[i].image, old) == -1)
			return -1;
		images_add(images, sizeof(images), n++, d->cont[i].image, old);
	}
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

/* The ControllerRevision's image of container, or NULL. */
static const char *
cr_image(const struct kobj *cr, const char *container)
{
	json_t	*c;
	size_t	 i;

	json_array_foreach(kobj_at(cr, "containers"), i, c)
		if (container && json_str_at(c, "name") &&
		    strcmp(json_str_at(c, "name"), container) == 0)
			return json_str_at(c, "image");
	return NULL;
}

static json_int_t
cr_revision(const struct kobj *cr)
{
	return json_integer_value(kobj_at(cr, "revision"));
}

/*
 * The current revision: a StatefulSet's status.updateRevision when it is
 * among the revisions, else the highest (a DaemonSet's controller keeps its
 * template's revision the highest).
 */
static const struct kobj *
current_revision(const struct diag_input *in, const char *uid)
{
	const struct kobj	*best = NULL, *cr;
	const char		*upd = json_str_at(in->owner,
				    "status.updateRevision");
	size_t			 i;

	for (i = 0; i < in->nrevs; i++) {
		cr = in->revs[i];
		if (cr->m.owner.uid == NULL || strcmp(cr->m.owner.uid, uid) != 0)
			continue;
		if (upd != NULL && strcmp(in->inc->kind, "StatefulSet") == 0 &&
		    strcmp(cr->m.name, upd) == 0)
			return cr;
		if (best == NULL || cr_revision(cr) > cr_revision(best))
			best = cr;
	}
	return best;
}

static const struct kobj *
previous_revision(const struct diag_input *in, const char *uid,
    json_int_t below)
{
	const struct kobj	*best = NULL, *cr;
	size_t			 i;

	for (i = 0; i < in->nrevs; i++) {
		cr = in->revs[i];
		if (cr->m.owner.uid == NULL ||
		    strcmp(cr->m.owner.uid, uid) != 0 ||
		    cr_revision(cr) <= 0 || cr_revision(cr) >= below)
			continue;
		if (best == NULL || cr_revision(cr) > cr_revision(best))
			best = cr;
	}
	return best;
}

int
remedy_rollback_revision(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	const struct incident	*inc = in->inc;
	const struct kobj	*cur, *prev;
	const char		*uid, *name, *image, *old, *policy;
	json_t			*c;
	char			 images[384], path[128];
	size_t			 i;
	int			 n = 0;

	if (remedy_api_path(inc->kind, inc->ns, inc->name, p->api_path,
	    sizeof(p->api_path)) == -1)
		return 0;
	if (in->owner == NULL ||
	    (uid = json_str_at(in->owner, "metadata.uid")) == NULL ||
	    !json_is_integer(json_at(in->owner, "metadata.generation"))) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%s %s/%s could not be read; fix it by hand", inc->kind,
		    inc->ns, inc->name);
		return 0;
	}
	if ((cur = current_revision(in, uid)) == NULL ||
	    (prev = previous_revision(in, uid, cr_revision(cur))) == NULL) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%s %s/%s has no revision before %lld to roll back to",
		    inc->kind, inc->ns, inc->name,
		    (long long)(cur ? cr_revision(cur) : 0));
		return 0;
	}
	if ((p->patch = json_array()) == NULL ||
	    (p->changes = json_array()) == NULL ||
	    remedy_op(p->patch, "test", "/metadata/generation",
	    json_integer(json_int_at(in->owner, "metadata.generation", 0))) ==
	    -1)
		return -1;
	images[0] = '\0';
	json_array_foreach(json_at(in->owner, "spec.template.spec.containers"),
	    i, c) {
		name = json_str_at(c, "name");
		image = json_str_at(c, "image");
		if ((old = cr_image(prev, name)) == NULL || image == NULL ||
		    strcmp(old, image) == 0)
			continue;
		snprintf(path, sizeof(path),
		    "/spec/template/spec/containers/%zu/image", i);
		if (remedy_replace(p->patch, p->changes, path, image, old) ==
		    -1)
			return -1;
		images_add(images, sizeof(images), n++, image, old);
	}
	if (n == 0) {
		json_decref(p->patch);
		json_decref(p->changes);
		p->patch = p->changes = NULL;
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "revision %lld of %s %s/%s uses the same images",
		    (long long)cr_revision(prev), inc->kind, inc->ns,
		    inc->name);
		return 0;
	}
	snprintf(p->summary, sizeof(p->summary), "Roll back %s %s/%s to "
	    "revision %lld: %s", inc->kind, inc->ns, inc->name,
	    (long long)cr_revision(prev), images);
	snprintf(cause + strlen(cause), clen - strlen(cause), " Revision %lld "
	    "(ControllerRevision %s) of the %s introduced the image; revision "
	    "%lld (%s) ran the image(s) this patch restores.",
	    (long long)cr_revision(cur), cur->m.name, inc->kind,
	    (long long)cr_revision(prev), prev->m.name);

	policy = json_str_at(in->owner, "spec.podManagementPolicy");
	if (strcmp(inc->kind, "StatefulSet") == 0 && (policy == NULL ||
	    strcmp(policy, "OrderedReady") == 0))
		snprintf(cause + strlen(cause), clen - strlen(cause), " With "
		    "podManagementPolicy OrderedReady the StatefulSet "
		    "controller waits for a pod already running revision %lld "
		    "even after the template is reverted: such a pod has to be "
		    "deleted too (forced rollback).",
		    (long long)cr_revision(cur));
	return 0;
}
