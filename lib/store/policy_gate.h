/*
 * policy_gate.h - the policy wall at approve: the control handler asks
 * before it records an approval (policy.h checks, store.h records).
 */
#ifndef REMEDY_POLICY_GATE_H
#define REMEDY_POLICY_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "action/policy.h"
#include "store/store.h"

/*
 * Re-check pending action id against the policy.  Returns 0 when allowed
 * (or when the action is not pending: the store's transition reports
 * that); 1 when refused: the action moved to refused with the rule, and
 * msg says "refused by the policy (RULE): ..."; -1 on a store error (msg
 * set).
 */
int	policy_gate_approve(const struct policy *, struct store *, int64_t id,
	    const struct store_actor *who, char *msg, size_t msglen);

/*
 * Append to out (an array) the steps of a stored action after step 1, the
 * patch: what policy_request.steps wants.  -1 on ENOMEM.
 */
int	policy_gate_steps(json_t *stored, json_t *out);

#endif
