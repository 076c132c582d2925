/*
 * context.h - what a diagnosis backend is told about an incident.
 *
 * context_build() makes a compact JSON summary from what the daemon read:
 * the incident, the root owner's relevant spec (containers: image,
 * command/args, resources, probes, env var *names* only, with "(from
 * secret)" / "(from configmap)" for references, never a value or a Secret's
 * name), its conditions and rollout history (revision -> images), one
 * affected pod's container statuses (waiting and last-terminated reasons,
 * exit codes, restarts) and conditions, the Events about that pod
 * deduplicated by reason+message with their counts, and the last log lines
 * of one container.  Every string then goes through the redactor.  The
 * serialised summary is held under budget bytes by dropping, in this order,
 * the oldest log lines, the least-seen events, rollout history beyond two
 * revisions, and pod evidence lines.  Incidents about other objects (a
 * Service, a PVC, a Node) carry their finding lines; scheduling failures
 * carry the nodes' labels, conditions, taints and allocatable resources
 * (the template's nodeSelector, affinity and tolerations are in the
 * workload); a Service's incident carries its selector and ports and the
 * namespace's workloads with their selectors, pod labels and container
 * ports.
 *
 * Everything is borrowed; the result is a new reference.
 */
#ifndef REMEDY_DIAGNOSE_CONTEXT_H
#define REMEDY_DIAGNOSE_CONTEXT_H

#include <stddef.h>

#include <jansson.h>

#include "analyze/incident.h"
#include "diagnose/redact.h"
#include "kube/objects.h"

#define CONTEXT_MIN_BUDGET	1024

struct pull_facts;

struct context_input {
	const struct incident		 *inc;
	json_t				 *owner;	/* full root owner object */
	const struct kreplicaset	**rs;		/* owned ReplicaSets */
	size_t				  nrs;
	const struct kobj		**revs;		/* owned Controller-
							 * Revisions (StatefulSet,
							 * DaemonSet) */
	size_t				  nrevs;
	json_t				 *pod;		/* one affected pod */
	json_t				 *events;	/* EventList about it */
	json_t				 *nodes;	/* NodeList, for
							 * scheduling failures */
	const char			 *logs;		/* log tail, or NULL */
	const char			 *log_container;
	int				  log_previous;
	size_t				  log_lines;	/* keep at most */
	const struct pull_facts		 *pull;		/* the image registry's
							 * answers, or NULL */
	json_t				 *workloads;	/* a Service's
							 * namespace: the
							 * workloads with pods,
							 * each with "kind"; or
							 * NULL */
};

/* NULL on allocation failure. *truncated set when the budget cut
 * something. */
json_t	*context_build(const struct context_input *, struct redactor *,
	    size_t budget, int *truncated);

#endif
