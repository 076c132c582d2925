/*
 * ask.c - tags, manifest and the closest tag of one failing image, one
 * request after the other (ask.h).
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
