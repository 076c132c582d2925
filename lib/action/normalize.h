/*
 * normalize.h - every proposal becomes one canonical JSON Patch computed
 * against the object as observed, plus its inverse.
 *
 * A backend may propose a JSON Patch (RFC 6902, a JSON array) or a merge
 * patch (RFC 7386, a JSON object).  normalize_proposal() applies it to a
 * copy of the observed object (a failing op, including a failing "test",
 * is an error: the proposal was written against another version), then
 * diffs observed -> result and emits:
 *
 *   patch    [test /metadata/generation = observed,
 *             for each changed value: test old + replace new,
 *             for each new member / array element: add,
 *             for each removed one: test old + remove]
 *   inverse  the ops that undo patch, in reverse order, with a test on each
 *            value patch wrote (test new + replace old, test new + remove,
 *            add old).  It carries no generation test: store_action_rollback
 *            adds one for the generation the applied PATCH produced.
 *   changes  [{"path","before","after"}] for display (before/after are the
 *            JSON values; absent is null)
 *
 * Arrays are compared element by element; a length change adds or removes
 * at the tail.  A proposal that changes nothing, or touches
 * /metadata/generation, /metadata/resourceVersion or /status, is an error.
 * The observed object must carry metadata.generation, except a Pod
 * (which has none before Kubernetes 1.33) and a Service (which has none):
 * its patch and its inverse start with a test of /metadata/uid instead,
 * so they apply to that object only.
 *
 * normalize_stamp() adds the action-id annotation (policy.h,
 * POLICY_ACTION_ANNOTATION) that remedyd sets with every PATCH it sends, so
 * crash recovery can tell whether the patch landed.
 *
 * Ownership: all json_t results are new references owned by the caller;
 * normalized_clear() drops them.  Inputs are never modified.
 */
#ifndef REMEDY_NORMALIZE_H
#define REMEDY_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define NORMALIZE_MAX_OPS	4096	/* more ops than this: refused */

struct normalized {
	json_t	*patch;
	json_t	*inverse;
	json_t	*changes;
	json_t	*result;	/* the observed object as the patch leaves it */
};

/*
 * proposal: a JSON Patch (array) or a merge patch (object).  Returns 0 and
 * fills out, or -1 with "what and where" in err (out left empty).
 */
int	 normalize_proposal(json_t *observed, json_t *proposal,
	    struct normalized *out, char *err, size_t errlen);
void	 normalized_clear(struct normalized *);

/*
 * The patch to send for action_id: patch followed by an op setting the
 * action-id annotation ("add" of the member when observed, once patched,
 * has metadata.annotations, else "add" of /metadata/annotations holding
 * only it).  observed may be NULL (annotations assumed present).  A patch
 * that holds a stamp already (one made with action_id 0 when the action
 * was proposed, in the form the object as read needed) gets action_id set
 * in it instead.  NULL when
 * the patched object has no metadata object to hold the annotation, or on
 * ENOMEM; else a new reference.
 */
json_t	*normalize_stamp(json_t *patch, json_t *observed, int64_t action_id);

/*
 * The inverse of a patch that is already in normalised form (every replace
 * and remove preceded by a test of its old value at the same path), derived
 * from the patch alone: for proposals normalised elsewhere (the rules
 * backend).  NULL when the patch is not in that form (or on ENOMEM).
 */
json_t	*normalize_inverse(json_t *patch);

/* The action id in observed's annotation, or 0 when absent or malformed. */
int64_t	 normalize_stamped_id(json_t *observed);

/*
 * Check the "test" ops of patch against observed, without applying.
 * Returns 0 when all hold, else -1 with "operation N (test PATH): ..." in
 * err.
 */
int	 normalize_preconditions(json_t *observed, json_t *patch, char *err,
	    size_t errlen);

#endif
