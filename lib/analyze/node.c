/*
 * node.c - Nodes that are NotReady or have stopped reporting (Ready
 * Unknown), under memory, disk or PID pressure, or cordoned.
 */
#include <stdio.h>
#include <string.h>

#include "analyze/analyze.h"
#include "base/util.h"

#define S(x)	((x) ? (x) : "")

int
analyze_node(const struct analyze_ctx *ctx, const void *obj, struct finding *f)
{
	static const struct { const char *type, *reason; } pressure[] = {
		{ "MemoryPressure", "MemoryPressure" },
		{ "DiskPressure", "DiskPressure" },
		{ "PIDPressure", "PIDPressure" },
	};
	const struct kobj	*o = obj;
	json_t			*conds = json_at(o->f, "status.conditions"), *c;
	const char		*st;
	size_t			 i;

	(void)ctx;
	if ((c = kcond(conds, "Ready")) != NULL &&
	    (st = json_str_at(c, "status")) != NULL && strcmp(st, "True") != 0) {
		snprintf(f->reason, sizeof(f->reason), "%s",
		    strcmp(st, "Unknown") == 0 ? "NodeStatusUnknown" :
		    "NodeNotReady");
		snprintf(f->detail, sizeof(f->detail), "Node %s: Ready=%s: %s: %s",
		    o->m.name, st, S(json_str_at(c, "reason")),
		    S(json_str_at(c, "message")));
		return 1;
	}
	for (i = 0; i < sizeof(pressure) / sizeof(pressure[0]); i++) {
		if ((c = kcond(conds, pressure[i].type)) == NULL ||
		    (st = json_str_at(c, "status")) == NULL ||
		    strcmp(st, "True") != 0)
			continue;
		snprintf(f->reason, sizeof(f->reason), "%s", pressure[i].reason);
		snprintf(f->detail, sizeof(f->detail), "Node %s: %s: %s",
		    o->m.name, pressure[i].type, S(json_str_at(c, "message")));
		return 1;
	}
	if (json_is_true(json_at(o->f, "spec.unschedulable"))) {
		snprintf(f->reason, sizeof(f->reason), "Unschedulable");
		snprintf(f->detail, sizeof(f->detail), "Node %s: cordoned "
		    "(spec.unschedulable), no new pods are placed on it",
		    o->m.name);
		return 1;
	}
	return 0;
}
