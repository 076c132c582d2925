/*
 * service.c - a Service whose selector matches no pod: point it at the one
 * workload of its namespace that serves its ports.
 *
 * The fix is proposed only when all of these hold, else the builder
 * explains why not:
 *   - the Service's selector matches no pod (the finding NoMatchingPods);
 *   - of the workloads of the namespace that have pods (in->workloads:
 *     Deployments, StatefulSets and DaemonSets as read, each with "kind",
 *     the daemon keeping only those with at least one pod their selector
 *     matches), exactly one fits every port of the Service: the
 *     targetPort (the port itself when absent) is a containerPort of the
 *     pod template with the same protocol when it is a number, or the
 *     name of one when it is a string;
 *   - every workload of the namespace was read (in->workloads_partial
 *     unset): one candidate among those read is not "exactly one";
 *   - that workload selects its pods by matchLabels only (a Service
 *     selector cannot say matchExpressions).
 * The patch replaces /spec/selector with that workload's matchLabels
 * (risk medium: the Service sends traffic to other pods than before).
 * With two or more candidates the choice is a judgment call: no patch,
 * the candidates are named in the explanation.
 */
#include <stdio.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "base/util.h"

#define CANDIDATES_TEXT	400

/* "app=web,tier=front" of a label map. */
static void
labels_text(json_t *m, char *buf, size_t len)
{
	const char	*k;
	json_t		*v;
	size_t		 n = 0;

	buf[0] = '\0';
	json_object_foreach(m, k, v) {
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s=%s",
		    n ? "," : "", k, json_string_value(v) ?
		    json_string_value(v) : "");
		if (n >= len)
			break;
	}
	if (n >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

/* A protocol, TCP when not given (the API server's default). */
static const char *
proto(json_t *port)
{
	const char *p = json_str_at(port, "protocol");

	return p != NULL ? p : "TCP";
}

/* Some container of the template serves the Service port sp. */
static int
port_fits(json_t *containers, json_t *sp)
{
	json_t	*tp = json_object_get(sp, "targetPort"), *c, *cp;
	size_t	 i, j;

	if (tp == NULL)
		tp = json_object_get(sp, "port");
	json_array_foreach(containers, i, c)
		json_array_foreach(json_object_get(c, "ports"), j, cp) {
			if (strcmp(proto(cp), proto(sp)) != 0)
				continue;
			if (json_is_integer(tp) && json_integer_value(tp) ==
			    json_int_at(cp, "containerPort", -1))
				return 1;
			if (json_is_string(tp) && json_str_at(cp, "name") !=
			    NULL && strcmp(json_string_value(tp),
			    json_str_at(cp, "name")) == 0)
				return 1;
		}
	return 0;
}

/* Workload w serves every port of the Service (a Service without ports
 * fits nothing: there is nothing to tell the workloads apart by). */
static int
workload_fits(json_t *w, json_t *svc_ports)
{
	json_t	*containers = json_at(w, "spec.template.spec.containers");
	json_t	*sp;
	size_t	 i;

	if (json_array_size(svc_ports) == 0)
		return 0;
	json_array_foreach(svc_ports, i, sp)
		if (!port_fits(containers, sp))
			return 0;
	return 1;
}

int
remedy_service_selector(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	const struct incident	*inc = in->inc;
	json_t			*sel, *ports, *w, *pick = NULL, *ml;
	char			 names[CANDIDATES_TEXT], had[256], want[256];
	size_t			 i, n = 0, fit = 0, len;

	if (in->owner == NULL || !json_is_object(sel = json_at(in->owner,
	    "spec.selector"))) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "Service %s/%s could not be read; check its selector by "
		    "hand", inc->ns, inc->name);
		return 0;
	}
	ports = json_at(in->owner, "spec.ports");
	names[0] = '\0';
	json_array_foreach(in->workloads, i, w) {
		if (!workload_fits(w, ports))
			continue;
		fit++;
		n += (size_t)snprintf(names + n, n < sizeof(names) ?
		    sizeof(names) - n : 0, "%s%s %s", n ? ", " : "",
		    json_str_at(w, "kind") ? json_str_at(w, "kind") : "?",
		    json_str_at(w, "metadata.name") ?
		    json_str_at(w, "metadata.name") : "?");
		pick = w;
	}
	labels_text(sel, had, sizeof(had));
	if (fit == 0) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "selector %.200s of Service %s/%s matches no pod, and no "
		    "workload of the namespace with pods serves its ports",
		    had, inc->ns, inc->name);
		len = strlen(cause);
		snprintf(cause + len, clen > len ? clen - len : 0, " No "
		    "Deployment, StatefulSet or DaemonSet of namespace %s has "
		    "pods whose container ports fit the Service's ports.",
		    inc->ns);
		return 0;
	}
	if (fit > 1) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%zu workloads could be meant by Service %s/%s (%.300s); "
		    "set its selector by hand", fit, inc->ns, inc->name, names);
		len = strlen(cause);
		snprintf(cause + len, clen > len ? clen - len : 0, " Its "
		    "selector %s matches no pod; %zu workloads serve its "
		    "ports: %s. Which one is meant is a judgment call.", had,
		    fit, names);
		return 0;
	}
	if (in->workloads_partial) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%.200s serves the ports of Service %s/%s, but not every "
		    "workload of the namespace could be read, so it may not be "
		    "the only one", names, inc->ns, inc->name);
		return 0;
	}
	ml = json_at(pick, "spec.selector.matchLabels");
	if (!json_is_object(ml) || json_object_size(ml) == 0 ||
	    json_array_size(json_at(pick, "spec.selector.matchExpressions"))
	    > 0) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%.200s serves the ports of Service %s/%s but selects its pods "
		    "with matchExpressions, which a Service selector cannot "
		    "say", names, inc->ns, inc->name);
		return 0;
	}
	if (json_equal(ml, sel)) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "Service %s/%s already selects %s", inc->ns, inc->name,
		    names);
		return 0;
	}
	labels_text(ml, want, sizeof(want));
	if (remedy_api_path("Service", inc->ns, inc->name, p->api_path,
	    sizeof(p->api_path)) == -1)
		return 0;
	if ((p->patch = json_array()) == NULL ||
	    (p->changes = json_array()) == NULL ||
	    remedy_op(p->patch, "test", "/spec/selector",
	    json_incref(sel)) == -1 ||
	    remedy_op(p->patch, "replace", "/spec/selector",
	    json_deep_copy(ml)) == -1 ||
	    json_array_append_new(p->changes, json_pack("{s:s, s:O, s:O}",
	    "path", "/spec/selector", "before", sel, "after", ml)) == -1)
		return -1;
	p->risk = "medium";
	snprintf(p->summary, sizeof(p->summary), "Set the selector of Service "
	    "%s/%s to %.150s, the labels of %.150s, the one workload that serves "
	    "its ports", inc->ns, inc->name, want, names);
	len = strlen(cause);
	snprintf(cause + len, clen > len ? clen - len : 0, " Its selector %s "
	    "matches no pod; %s is the only workload of the namespace whose "
	    "pods serve its ports, and it selects them with %s.", had, names,
	    want);
	return 0;
}
