/*
 * diagnose.h - a diagnosis: the root cause of an incident and, when a safe
 * fix is known, the exact JSON Patch that would fix it.
 *
 * The input is what the caches hold about the incident's root owner; the
 * output is a proposal that the daemon dry-runs and stores as a pending
 * action.  Both types (struct diag_input, struct proposal) live in
 * action/proposal.h, which the fix catalogue shares.
 */
#ifndef REMEDY_DIAGNOSE_H
#define REMEDY_DIAGNOSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "action/proposal.h"

/*
 * The offline rules backend.  Returns 0 and fills p (patch may be NULL when
 * the rules can explain but not fix), or -1 on allocation failure.  The
 * evidence and root cause are its own; the fix comes from the catalogue
 * (lib/action/remedies/remedies.h, one table of reason x kind):
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

/* The system prompt of every LLM backend (prompt.c). */
extern const char diagnosis_system_prompt[];

#endif
