/*
 * ask.c - tags, manifest and the closest tag of one failing image, one
 * request after the other (ask.h); for an image without the node's
 * platform, the manifests of the closest tags until one has it.
 */
#include <stdio.h>
#include <string.h>

#include "registry/ask.h"

static void
finish(struct pull_ask *q)
{
	q->in_flight = 0;
	q->done(q->arg);
}

static void
on_candidate(const struct reg_answer *a, void *arg)
{
	struct pull_ask	*q = arg;

	q->f->cand_status = a->status;
	snprintf(q->f->cand_digest, sizeof(q->f->cand_digest), "%s",
	    a->digest);
	finish(q);
}

static int	plat_next(struct pull_ask *);

/* One candidate's manifest (GET: its platforms) is in. */
static void
on_plat(const struct reg_answer *a, void *arg)
{
	struct pull_ask		*q = arg;
	struct pull_facts	*f = q->f;
	struct plat_try		*t = &f->plat_tried[q->plat_next - 1];

	t->status = a->status;
	snprintf(t->digest, sizeof(t->digest), "%s", a->digest);
	t->is_index = a->manifest.is_index;
	pull_platforms(&a->manifest, t->platforms, sizeof(t->platforms));
	t->has = a->status == REG_OK && pull_has_platform(&a->manifest,
	    "linux", f->node_arch);
	if (t->has) {
		f->plat_found = (int)(q->plat_next - 1);
		finish(q);
		return;
	}
	/* the budget is spent: the next ones would be refused too */
	if (a->status == REG_REFUSED || plat_next(q) == -1)
		finish(q);
}

/* Read the next candidate's manifest; -1 when none is left. */
static int
plat_next(struct pull_ask *q)
{
	struct pull_facts	*f = q->f;
	struct imgref		 cand;

	if (q->plat_next >= f->nplat_tried)
		return -1;
	cand = f->ref;
	snprintf(cand.tag, sizeof(cand.tag), "%s",
	    f->plat_tried[q->plat_next].tag);
	f->plat_tried[q->plat_next].status = REG_REFUSED;
	q->plat_next++;
	return registry_manifest(q->reg, &cand, 1, q->budget, on_plat, q);
}

/*
 * The image exists but not for the node's platform (its index does not
 * list linux/ARCH, or the kubelet said so of a single manifest): read the
 * manifests of the closest acceptable tags, best first, until one lists
 * the platform.  Returns 0 when a request is in flight.
 */
static int
plat_search(struct pull_ask *q)
{
	struct pull_facts	*f = q->f;
	struct tag_choice	 c;
	size_t			 i;

	if (f->man_status != REG_OK || f->node_arch[0] == '\0' ||
	    f->tags == NULL || f->ref.tag[0] == '\0' ||
	    f->ref.digest[0] != '\0')
		return -1;
	if (f->manifest.is_index ? pull_has_platform(&f->manifest, "linux",
	    f->node_arch) : !f->kubelet_no_platform)
		return -1;
	f->plat_searched = 1;
	f->plat_found = -1;
	tag_choose(f->ref.tag, f->tags, &c);
	for (i = 0; i <= c.nrunners; i++) {
		const struct tag_candidate *t = i == 0 ? &c.best :
		    &c.runners[i - 1];

		if (!tag_acceptable(f->ref.tag, t) ||
		    f->nplat_tried >= PULL_MAX_PLATFORM_TRIES)
			continue;
		snprintf(f->plat_tried[f->nplat_tried].tag,
		    sizeof(f->plat_tried[0].tag), "%s", t->tag);
		f->plat_tried[f->nplat_tried++].distance = t->distance;
	}
	return plat_next(q);
}

static void
on_manifest(const struct reg_answer *a, void *arg)
{
	struct pull_ask		*q = arg;
	struct pull_facts	*f = q->f;
	struct tag_choice	 c;
	struct imgref		 cand;

	f->man_status = a->status;
	snprintf(f->man_msg, sizeof(f->man_msg), "%s", a->message);
	snprintf(f->digest, sizeof(f->digest), "%s", a->digest);
	f->manifest = a->manifest;
	if (f->man_status == REG_TAG_UNKNOWN && f->tags != NULL &&
	    f->ref.tag[0] != '\0' && f->ref.digest[0] == '\0') {
		tag_choose(f->ref.tag, f->tags, &c);
		if (c.found) {
			cand = f->ref;
			snprintf(cand.tag, sizeof(cand.tag), "%s", c.best.tag);
			snprintf(f->cand_tag, sizeof(f->cand_tag), "%s",
			    c.best.tag);
			f->cand_status = REG_REFUSED;
			if (registry_manifest(q->reg, &cand, 0, q->budget,
			    on_candidate, q) == 0)
				return;
		}
	}
	if (plat_search(q) == 0)
		return;
	finish(q);
}

static void
on_tags(const struct reg_answer *a, void *arg)
{
	struct pull_ask		*q = arg;
	struct pull_facts	*f = q->f;

	f->tags_status = a->status;
	snprintf(f->tags_msg, sizeof(f->tags_msg), "%s", a->message);
	snprintf(f->registry_url, sizeof(f->registry_url), "%s", a->url);
	if (a->status == REG_OK)
		f->tags = json_incref(a->tags);
	f->tags_truncated = a->truncated;
	if (registry_manifest(q->reg, &f->ref, 1, q->budget, on_manifest,
	    q) == 0)
		return;
	finish(q);
}

int
pull_ask_start(struct pull_ask *q, struct registry *reg,
    struct pull_facts *f, struct reg_budget *budget, void (*done)(void *),
    void *arg)
{
	memset(q, 0, sizeof(*q));
	q->reg = reg;
	q->f = f;
	q->budget = budget;
	q->done = done;
	q->arg = arg;
	if (registry_tags(reg, &f->ref, budget, on_tags, q) == -1)
		return -1;
	f->asked = 1;
	q->in_flight = 1;
	return 0;
}

void
pull_ask_cancel(struct pull_ask *q)
{
	if (q->in_flight && q->reg != NULL)
		registry_cancel(q->reg, q);
	q->in_flight = 0;
}
