/*
 * analyze.c - the analyzer table.
 */
#include <string.h>

#include "analyze/analyze.h"

const struct analyzer analyzers[] = {
	{ "image-pull", analyze_image_pull },
	{ NULL, NULL }
};

int
analyze_pod(const struct kpod *p, struct finding *f)
{
	const struct analyzer *a;

	if (p->deleting)
		return 0;
	for (a = analyzers; a->name != NULL; a++) {
		memset(f, 0, sizeof(*f));
		if (a->pod != NULL && a->pod(p, f)) {
			f->analyzer = a->name;
			return 1;
		}
	}
	return 0;
}
