/*
 * policy_gate.c - the policy wall at approve: re-check a pending action
 * and, when the policy refuses it, move it to refused with the rule.
 */
#include <stdio.h>
#include <string.h>

#include "action/policy.h"
#include "base/log.h"
#include "store/policy_gate.h"
#include "store/store.h"

int
policy_gate_approve(const struct policy *pol, struct store *s, int64_t id,
    const struct store_actor *who, char *msg, size_t msglen)
{
	struct store_action	 a;
	struct policy_request	 r;
	struct policy_verdict	 v;
	char			 reason[768];
	int			 rc;

	memset(&r, 0, sizeof(r));
	if (store_action_get(s, id, &a) != STORE_OK)
		return 0;	/* not found: the approval reports it */
	rc = 0;
	if (strcmp(a.state, ACTION_PENDING) != 0)
		goto out;
	r.kind = a.kind;
	r.ns = a.namespace;
	r.name = a.name;
	r.patch = a.patch;
	r.steps = a.steps ? json_array() : NULL;
	if (a.steps != NULL && policy_gate_steps(a.steps, r.steps) == -1) {
		snprintf(msg, msglen, "out of memory");
		rc = -1;
		goto out;
	}
	if (policy_check(pol, &r, &v) == 0)
		goto out;
	snprintf(reason, sizeof(reason), "refused by the policy (%s): %s",
	    v.rule, v.message);
	if (store_action_refuse(s, id, who, v.rule, reason) != STORE_OK) {
		snprintf(msg, msglen, "%s", store_errmsg(s));
		rc = -1;
		goto out;
	}
	log_warnx("action %lld: approval by %s %s", (long long)id, who->name,
	    reason);
	snprintf(msg, msglen, "action %lld %s", (long long)id, reason);
	rc = 1;
out:
	json_decref(r.steps);
	store_action_clear(&a);
	return rc;
}

int
policy_gate_steps(json_t *stored, json_t *out)
{
	json_t	*st;
	size_t	 i;

	json_array_foreach(stored, i, st) {
		if (i == 0)	/* step 1 is the patch itself */
			continue;
		if (json_array_append(out, st) == -1)
			return -1;
	}
	return 0;
}
