/*
 * image_pull.c - containers that cannot pull their image.
 *
 * The kubelet alternates ErrImagePull (a pull just failed) and
 * ImagePullBackOff (waiting before the next try) for the same cause, so both
 * group under the reason "ImagePullBackOff"; a malformed reference
 * (InvalidImageName) and a pull forbidden by policy (ErrImageNeverPull) are
 * their own reasons because their fixes differ.
 */
#include <stdio.h>
#include <string.h>

#include "analyze/analyze.h"

static const struct {
	const char	*waiting;	/* kubelet waiting reason */
	const char	*group;		/* incident reason */
} pull_reasons[] = {
	{ "ErrImagePull",	  "ImagePullBackOff" },
	{ "ImagePullBackOff",	  "ImagePullBackOff" },
	{ "RegistryUnavailable",  "ImagePullBackOff" },
	{ "InvalidImageName",	  "InvalidImageName" },
	{ "ErrImageNeverPull",	  "ErrImageNeverPull" },
};

int
analyze_image_pull(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kpod	*p = obj;
	const struct kcstatus	*st;
	size_t			 i, j;

	(void)ctx;
	for (i = 0; i < p->nstatus; i++) {
		st = &p->st[i];
		if (st->waiting_reason == NULL)
			continue;
		for (j = 0; j < sizeof(pull_reasons) / sizeof(pull_reasons[0]);
		    j++) {
			if (strcmp(st->waiting_reason,
			    pull_reasons[j].waiting) != 0)
				continue;
			snprintf(f->reason, sizeof(f->reason), "%s",
			    pull_reasons[j].group);
			snprintf(f->container, sizeof(f->container), "%s",
			    st->name ? st->name : "");
			snprintf(f->image, sizeof(f->image), "%s",
			    st->image ? st->image : "");
			snprintf(f->detail, sizeof(f->detail),
			    "pod %s/%s: %scontainer %s (image %s): %s: %s",
			    p->m.ns, p->m.name, st->init ? "init " : "",
			    f->container, f->image, st->waiting_reason,
			    st->waiting_message ? st->waiting_message :
			    "(no message)");
			return 1;
		}
	}
	return 0;
}
