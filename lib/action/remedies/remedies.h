/*
 * remedies.h - the fix catalogue: which fix answers which finding on which
 * kind of target, the way lib/analyze/ holds detection.
 *
 * One table (remedies.c) maps (finding reason, target kind) to a builder;
 * one file per fix family holds the builders:
 *
 *   rollback.c   revision rollback: a Deployment to the images of its
 *                previous ReplicaSet revision, a StatefulSet or DaemonSet
 *                to those of its previous ControllerRevision, each found as
 *                `kubectl rollout undo` finds it
 *   memory.c     memory raise after OOMKilled (any pod template kind)
 *   probe.c      a probe aimed at a port its container does not declare,
 *                refused: point it at the one port the container declares
 *   image.c      a missing tag replaced by the closest tag the image
 *                registry lists (bare Pods; controllers without a usable
 *                revision)
 *   schedule.c   pods no node can take: a nodeSelector entry no Node
 *                meets set to the closest value Nodes carry (or removed
 *                when none carries its key); requests larger than every
 *                Node's allocatable explained with the numbers
 *   job.c        a Job whose pods keep failing with one exit code: what
 *                recreating it would take (its template is immutable)
 *   storage.c    a claim whose StorageClass does not exist: explained
 *                with the classes that do and the default (no patch:
 *                a claim's spec is immutable)
 *   service.c    a Service selector that matches no pod pointed at the
 *                one workload of its namespace that serves its ports
 *
 * Every builder yields the same proposal (struct proposal, action/proposal.h): a
 * JSON Patch whose every replaced value and /metadata/generation is
 * guarded by a `test` op, the list of changes, the risk and the API path of
 * the target; the daemon then normalises it (inverse), passes it through
 * the policy wall and a dry-run, and stores it pending, the same path for
 * every kind.  A builder that knows why it cannot fix leaves p->patch NULL
 * and says why in p->summary ("No automatic fix: ...").
 *
 * Adding a fix: write `int my_fix(const struct diag_input *, struct
 * proposal *, char *cause, size_t clen)` in the file of its family (or a
 * new lib/action/remedies/FAMILY.c), declare it below, and add one row per
 * (reason, kind) to the table in remedies.c.  The builder:
 *   - reads only its input (in->owner is the target as just read, the
 *     caches' projections may be a moment behind);
 *   - sets p->api_path (remedy_api_path()), p->patch, p->changes
 *     ([{path, before, after}]), p->risk ("low" unless said otherwise),
 *     p->summary (one line);
 *   - may append one or two sentences to cause (the root cause paragraph,
 *     already holding what the rules saw), within clen;
 *   - returns 0, or -1 only when memory runs out.
 */
#ifndef REMEDY_REMEDIES_H
#define REMEDY_REMEDIES_H

#include <stddef.h>

#include <jansson.h>

#include "action/proposal.h"

typedef int remedy_build_fn(const struct diag_input *, struct proposal *,
    char *cause, size_t clen);

struct remedy {
	const char	*reason;	/* finding reason (incident->reason) */
	const char	*kind;		/* target kind (the incident's root) */
	const char	*family;	/* "revision-rollback", "memory-raise" */
	remedy_build_fn	*build;
};

/* The table row for (reason, kind), or NULL when no fix is known. */
const struct remedy	*remedy_find(const char *reason, const char *kind);

/*
 * Build the fix for in->inc (its reason and kind) into p, or, without a
 * row in the table, an explanation "No automatic fix: ..." in p->summary.
 * Returns 0, -1 on allocation failure.
 */
int	remedies_build(const struct diag_input *, struct proposal *,
	    char *cause, size_t clen);

/* The rows, for documentation tests: remedies_table[remedies_count]. */
extern const struct remedy	remedies_table[];
extern const size_t		remedies_count;

/* --- for builders --- */

/* "/apis/apps/v1/namespaces/NS/statefulsets/NAME" and the like for the
 * kinds a fix may target (Deployment, StatefulSet, DaemonSet, CronJob,
 * Pod, Service, PersistentVolumeClaim, Job); -1 for any other kind. */
int	remedy_api_path(const char *kind, const char *ns, const char *name,
	    char *buf, size_t len);
/* The same (ReplicaSet too) under prefix ("/apis/batch/v1beta1", the
 * version API discovery chose), or the kind's own when prefix is NULL;
 * -1 for a kind it does not know, -2 when the path does not fit. */
int	remedy_api_path_at(const char *kind, const char *prefix,
	    const char *ns, const char *name, char *buf, size_t len);
/* Drop p->patch and p->changes: the builder explains instead. */
void	remedy_drop_patch(struct proposal *);
/* Append {"op": op, "path": path, "value": value} (value stolen). */
int	remedy_op(json_t *patch, const char *op, const char *path,
	    json_t *value);
/* Append test(path, before), replace(path, after) and the change
 * {path, before, after}.  -1 on allocation failure. */
int	remedy_replace(json_t *patch, json_t *changes, const char *path,
	    const char *before, const char *after);

/* The builders (one family per file). */
remedy_build_fn	remedy_rollback_deployment;	/* rollback.c */
remedy_build_fn	remedy_rollback_revision;	/* rollback.c: STS, DS */
remedy_build_fn	remedy_memory_raise;		/* memory.c */
remedy_build_fn	remedy_probe;		/* probe.c */
remedy_build_fn	remedy_image_tag;		/* image.c */
remedy_build_fn	remedy_rollback_or_tag;		/* image.c: Deployment */
remedy_build_fn	remedy_revision_or_tag;		/* image.c: STS, DS */
remedy_build_fn	remedy_service_selector;	/* service.c */
remedy_build_fn	remedy_node_selector;		/* schedule.c */
remedy_build_fn	remedy_storage_class;		/* storage.c */
remedy_build_fn	remedy_job_explain;		/* job.c */

#endif
