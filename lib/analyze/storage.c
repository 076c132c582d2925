/*
 * storage.c - PersistentVolumeClaims that are Lost, or Pending because
 * provisioning failed (the provisioner's ProvisioningFailed Event).  A
 * claim that is merely Pending (WaitForFirstConsumer) is not a failure.
 */
#include <stdio.h>
#include <string.h>

#include "analyze/analyze.h"
#include "base/util.h"

#define S(x)	((x) ? (x) : "")

int
analyze_pvc(const struct analyze_ctx *ctx, const void *obj, struct finding *f)
{
	const struct kobj	*o = obj;
	const char		*phase = json_str_at(o->f, "status.phase");
	const char		*msg;

	if (phase != NULL && strcmp(phase, "Lost") == 0) {
		snprintf(f->reason, sizeof(f->reason), "Lost");
		snprintf(f->detail, sizeof(f->detail), "PersistentVolumeClaim "
		    "%s/%s: Lost (its PersistentVolume is gone)", o->m.ns,
		    o->m.name);
		return 1;
	}
	if (phase == NULL || strcmp(phase, "Pending") != 0)
		return 0;
	if ((msg = analyze_ctx_event(ctx, "PersistentVolumeClaim", o->m.ns,
	    o->m.name, "ProvisioningFailed")) == NULL)
		return 0;
	snprintf(f->reason, sizeof(f->reason), "ProvisioningFailed");
	snprintf(f->detail, sizeof(f->detail), "PersistentVolumeClaim %s/%s: "
	    "Pending (storage class %s): ProvisioningFailed: %s", o->m.ns,
	    o->m.name, S(json_str_at(o->f, "spec.storageClassName")), msg);
	return 1;
}
