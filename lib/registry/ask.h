/*
 * ask.h - what remedyd asks a registry about one failing image, as one
 * asynchronous question: the repository's tags, the image's manifest (GET:
 * digest and platforms) and, when the tag is missing, the closest existing
 * tag (pull.h tag_choose) by itself (HEAD: does it exist, its digest);
 * when the image has no variant for the node's platform (f->node_arch),
 * the manifests (GET) of the closest acceptable tags, at most
 * PULL_MAX_PLATFORM_TRIES, until one lists linux/ARCH.
 * The answers land in a struct pull_facts; done(arg) is called once, from
 * the loop, when the last answer is in.
 *
 * The struct pull_ask is the caller's (embedded in its job); it and the
 * facts and budget it points to must live until done() or
 * pull_ask_cancel().
 */
#ifndef REMEDY_REGISTRY_ASK_H
#define REMEDY_REGISTRY_ASK_H

#include "registry/pull.h"
#include "registry/registry.h"

struct pull_ask {
	struct registry		*reg;
	struct pull_facts	*f;
	struct reg_budget	*budget;
	void			(*done)(void *arg);
	void			*arg;
	int			 in_flight;	/* an answer is awaited */
	size_t			 plat_next;	/* next f->plat_tried[] */
};

/* f->ref must be parsed (f->ref_ok).  Returns 0 (done() follows) or -1. */
int	pull_ask_start(struct pull_ask *, struct registry *,
	    struct pull_facts *, struct reg_budget *, void (*done)(void *),
	    void *arg);
/* Drop the question in flight; done() is not called. */
void	pull_ask_cancel(struct pull_ask *);

#endif
