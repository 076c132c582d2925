/*
 * diagnose.h - a diagnosis: the root cause of an incident and, when a safe
 * fix is known, the exact JSON Patch that would fix it.
 *
 * The input is what the caches hold about the incident's root owner; the
 * output is a proposal that the daemon dry-runs and stores as a pending
 * action.  Every patch carries `test` operations on each value it replaces
 * and on /metadata/generation, so applying it after someone else changed the
 * object fails (422) instead of overwriting their change.
 */
#ifndef REMEDY_DIAGNOSE_H
#define REMEDY_DIAGNOSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "incident.h"
#include "kube/objects.h"

struct pull_facts;

struct diag_input {
	const struct incident		 *inc;
	const struct kdeployment	 *dep;	/* root owner, or NULL */
	const struct kreplicaset	**rs;	/* controlled by dep */
	size_t				  nrs;
	const struct kobj		**revs;	/* ControllerRevisions
						 * controlled by the root
						 * owner (StatefulSet,
						 * DaemonSet) */
	size_t				  nrevs;
	json_t				 *events;	/* core/v1 Events of an
							 * affected pod, or NULL */
	json_t				 *owner;	/* the root owner as read
							 * (full object), or NULL */
	json_t				 *pod;		/* one affected pod (full
							 * object), or NULL */
	const char			 *logs;		/* the log tail of that pod's
							 * container (its previous
							 * run after a restart), or
							 * NULL */
	const char			 *log_container;
	double				  mem_factor;	/* OOMKilled: raise the
							 * limit by this */
	int64_t				  mem_ceiling;	/* ... up to this (bytes) */
	const struct pull_facts		 *pull;	/* what the image registry
						 * said about the failing
						 * image (registry/pull.h),
						 * or NULL */
};

struct proposal {
	char		 summary[512];	/* one line: what the fix does */
	char		*root_cause;	/* heap paragraph */
	json_t		*evidence;	/* array of strings */
	json_t		*patch;		/* JSON Patch, or NULL: no safe fix */
	json_t		*changes;	/* [{path, before, after}] */
	json_t		*inverse;	/* JSON Patch undoing patch, or NULL */
	json_t		*proposed;	/* patch as the backend proposed it,
					 * before normalisation, or NULL */
	json_t		*steps;		/* steps after the patch (store.h), or
					 * NULL: a forced rollback's pods */
	const char	*risk;		/* "low" | "medium" | "high" */
	char		 api_path[512];	/* the object the patch targets */
	const char	*kind;		/* borrowed from the input */
	const char	*ns;
	const char	*name;
};

/*
 * The offline rules backend.  Returns 0 and fills p (patch may be NULL when
 * the rules can explain but not fix), or -1 on allocation failure.  The
 * evidence and root cause are its own; the fix comes from the catalogue
 * (lib/remedies/remedies.h, one table of reason x kind):
 *
 *   image pull failures (ErrImagePull, ImagePullBackOff, InvalidImageName,
 *   ErrImageNeverPull, RegistryUnavailable) and CrashLoopBackOff of a
 *   Deployment, StatefulSet or DaemonSet whose current revision changed the
 *   images, and ProgressDeadlineExceeded of a Deployment: roll the images
 *   back to the previous revision (needs dep and rs, or owner and revs);
 *   OOMKilled of a Deployment, StatefulSet or DaemonSet: raise the
 *   container's memory limit by mem_factor, at most to mem_ceiling (needs
 *   owner and pod);
 *   anything else: an explanation without a patch.
 */
int	rules_diagnose(const struct diag_input *, struct proposal *p);
void	proposal_clear(struct proposal *);

#endif
