/*
 * gate.c - the policy wall in front of the dry-run: a proposal the policy
 * refuses is stored as a refused action with the rule that refused it, and
 * never reaches the API server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/policy.h"
#include "base/log.h"
#include "diagnose/diagnose.h"
#include "engine_int.h"

/* Store p as a refused action carrying rule and reason. */
void
engine_refuse(struct engine *e, const struct proposal *p,
    int64_t incident_id, const char *rule, const char *reason)
{
	(void)engine_refuse_as(e, p, incident_id, rule, reason, NULL);
}

int64_t
engine_refuse_as(struct engine *e, const struct proposal *p,
    int64_t incident_id, const char *rule, const char *reason,
    const struct engine_origin *o)
{
	struct store_action	 act;
	int64_t			 id = 0;

	memset(&act, 0, sizeof(act));
	act.incident_id = incident_id;
	act.namespace = (char *)(p->ns ? p->ns : "");
	act.kind = (char *)(p->kind ? p->kind : "");
	act.name = (char *)(p->name ? p->name : "");
	act.api_path = (char *)p->api_path;
	act.backend = (char *)e->cfg->backend;
	act.risk = (char *)p->risk;
	act.summary = (char *)p->summary;
	act.root_cause = p->root_cause;
	act.evidence = p->evidence;
	act.patch = p->patch;
	act.changes = p->changes;
	act.steps = p->steps;
	act.approved_uid = -1;
	act.rule = (char *)rule;
	if (o != NULL) {
		act.origin = (char *)o->origin;
		act.proposer = (char *)o->proposer;
		act.proposer_uid = o->proposer_uid;
		act.client = (char *)o->client;
		act.rationale = (char *)o->rationale;
	}
	if (store_action_propose(e->store, &act, reason, NULL) != STORE_OK)
		log_warnx("incident %lld: cannot store the refused action: %s",
		    (long long)incident_id, store_errmsg(e->store));
	else {
		log_warnx("action %lld %s", (long long)act.id, reason);
		id = act.id;
	}
	free(act.state);
	return id;
}

int
engine_policy_gate(struct engine *e, const struct proposal *p,
    int64_t incident_id, const char *owner_kind, const char *owner_ns,
    const char *owner_name)
{
	struct policy_request	 r;
	struct policy_verdict	 v;
	char			 reason[768];

	memset(&r, 0, sizeof(r));
	r.kind = p->kind;
	r.ns = p->ns;
	r.name = p->name;
	r.patch = p->patch;
	r.steps = p->steps;
	r.owner_kind = owner_kind;
	r.owner_ns = owner_ns;
	r.owner_name = owner_name;
	if (policy_check(&e->cfg->policy, &r, &v) == 0)
		return 0;
	snprintf(reason, sizeof(reason), "refused by the policy (%s): %s",
	    v.rule, v.message);
	engine_refuse(e, p, incident_id, v.rule, reason);
	return 1;
}
