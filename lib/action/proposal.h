/*
 * proposal.h - what a fix is made of: the input a fix builder or a
 * diagnosis backend reads about an incident's root owner (struct
 * diag_input), and the proposal it yields (struct proposal).
 *
 * Both the fix catalogue (action/remedies/) and the diagnosis backends
 * (diagnose/) speak these types, so they live here, below both.  The
 * proposal is what the daemon dry-runs and stores as a pending action.
 * Every patch carries `test` operations on each value it replaces and on
 * /metadata/generation, so applying it after someone else changed the
 * object fails (422) instead of overwriting their change.
 *
 * Ownership: a proposal owns root_cause and every json_t member;
 * proposal_clear() frees them and zeroes the struct.  kind, ns and name
 * are borrowed from the input.
 */
#ifndef REMEDY_ACTION_PROPOSAL_H
#define REMEDY_ACTION_PROPOSAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "analyze/incident.h"
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
	json_t				 *workloads;	/* NoMatchingPods of a
							 * Service: the
							 * Deployments,
							 * StatefulSets and
							 * DaemonSets of its
							 * namespace that have
							 * pods, as read, each
							 * with "kind"; or NULL */
	int				  workloads_partial;	/* some
							 * workloads were not
							 * read (a list failed or
							 * had more pages) */
	json_t				 *nodes;	/* Unschedulable: the
							 * cached Nodes, each
							 * {name, metadata.labels,
							 * status.allocatable,
							 * spec.unschedulable,
							 * spec.taints}, or NULL */
	json_t				 *storageclasses;	/* a
							 * PersistentVolumeClaim's
							 * incident: the cached
							 * StorageClasses, each
							 * {name, provisioner,
							 * metadata.annotations},
							 * or NULL */
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
	json_t		*steps;		/* steps after the patch (store/store.h), or
					 * NULL: a forced rollback's pods */
	const char	*risk;		/* "low" | "medium" | "high" */
	char		 api_path[512];	/* the object the patch targets */
	const char	*kind;		/* borrowed from the input */
	const char	*ns;
	const char	*name;
};

void	proposal_clear(struct proposal *);

#endif
