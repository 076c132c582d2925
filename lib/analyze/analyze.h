/*
 * analyze.h - analyzers turn a projection into a finding.
 *
 * One file per analyzer family under lib/analyze/, registered in the table
 * in analyze.c.  An analyzer is a pure function of one projection: it reads
 * nothing else and keeps no state, so it can run on every watch event.
 * Findings of the same root owner and reason are grouped into one incident
 * by incident.h.
 */
#ifndef REMEDY_ANALYZE_H
#define REMEDY_ANALYZE_H

#include "kube/objects.h"

struct finding {
	const char	*analyzer;	/* static name: "image-pull" */
	char		 reason[64];	/* grouping reason: "ImagePullBackOff" */
	char		 container[128];
	char		 image[512];
	char		 detail[1024];	/* one line of evidence */
};

struct analyzer {
	const char	*name;
	/* Returns 1 and fills f when the pod shows this failure, else 0. */
	int		(*pod)(const struct kpod *, struct finding *f);
};

extern const struct analyzer analyzers[];

/* Run the pod analyzers in table order; first finding wins. Returns 1 when
 * the pod is broken. */
int	analyze_pod(const struct kpod *, struct finding *f);

/* image-pull family (image_pull.c). */
int	analyze_image_pull(const struct kpod *, struct finding *f);

#endif
