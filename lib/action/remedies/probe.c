/*
 * probe.c - probe port fixes: a readiness, liveness or startup probe
 * (httpGet or tcpSocket) aimed at a port its container does not serve.
 *
 * The fix is proposed only when all of these hold, else the builder
 * explains why not:
 *   - the kubelet's Unhealthy event of an affected pod says the probe
 *     failed with "connection refused" (nothing listens on that port:
 *     `Readiness probe failed: Get "http://10.88.0.5:8080/": dial tcp
 *     10.88.0.5:8080: connect: connection refused`);
 *   - in the target's pod template, a probe of that kind has a numeric
 *     port that no container declares (spec.containers[*].ports[*].
 *     containerPort; for a probe with a numeric port in the event, the
 *     same number), or a named port that its container does not declare;
 *   - that probe's container declares exactly one port: the probe's port
 *     becomes that number.  With none or several the intended port is a
 *     guess, and a guess is not proposed.
 * Risk medium: the container may also serve on a port it does not
 * declare.  Every probe of the event's kind that qualifies is fixed; the
 * patch tests the old port (and the daemon adds /metadata/generation).
 * Deployment, StatefulSet and DaemonSet templates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "base/util.h"

static const struct {
	const char	*prefix;	/* of the Unhealthy event's message */
	const char	*field;		/* container field */
	const char	*name;		/* for humans */
} probe_kinds[] = {
	{ "Readiness probe failed", "readinessProbe", "readiness" },
	{ "Liveness probe failed",  "livenessProbe",  "liveness" },
	{ "Startup probe failed",   "startupProbe",   "startup" },
};

/*
 * The newest Unhealthy event of the affected pod that reports a probe
 * failing with connection refused: its kind (index in probe_kinds), and
 * the port it dialled (0 when the message names none).  -1 when there is
 * no such event.
 */
static int
refused_probe(json_t *events, long *port, const char **message)
{
	json_t		*e;
	const char	*msg, *reason, *dial, *colon;
	size_t		 i, k;
	int		 kind = -1;

	*port = 0;
	*message = NULL;
	json_array_foreach(json_object_get(events, "items"), i, e) {
		msg = json_str_at(e, "message");
		reason = json_str_at(e, "reason");
		if (msg == NULL || reason == NULL ||
		    strcmp(reason, "Unhealthy") != 0 ||
		    strstr(msg, "connect: connection refused") == NULL)
			continue;
		for (k = 0; k < sizeof(probe_kinds) / sizeof(probe_kinds[0]);
		    k++)
			if (strncmp(msg, probe_kinds[k].prefix,
			    strlen(probe_kinds[k].prefix)) == 0)
				break;
		if (k == sizeof(probe_kinds) / sizeof(probe_kinds[0]))
			continue;
		kind = (int)k;
		*message = msg;
		*port = 0;
		/* "dial tcp 10.88.0.5:8080: connect: ..." */
		if ((dial = strstr(msg, "dial tcp ")) != NULL &&
		    (colon = strstr(dial, ": connect:")) != NULL) {
			const char *p = colon;

			while (p > dial && p[-1] >= '0' && p[-1] <= '9')
				p--;
			if (p > dial && p[-1] == ':' && p < colon)
				*port = strtol(p, NULL, 10);
		}
	}
	return kind;
}

/* Some container of the template declares containerPort port. */
static int
port_declared(json_t *containers, long port)
{
	json_t	*c, *pt;
	size_t	 i, j;

	json_array_foreach(containers, i, c)
		json_array_foreach(json_object_get(c, "ports"), j, pt)
			if (json_integer_value(json_object_get(pt,
			    "containerPort")) == port)
				return 1;
	return 0;
}

/* Container c declares a port named name. */
static int
port_named(json_t *c, const char *name)
{
	json_t	*pt;
	size_t	 j;

	json_array_foreach(json_object_get(c, "ports"), j, pt)
		if (json_str_at(pt, "name") != NULL &&
		    strcmp(json_str_at(pt, "name"), name) == 0)
			return 1;
	return 0;
}

/* "80", "80, 443" or "none" into buf. */
static void
ports_text(json_t *c, char *buf, size_t len)
{
	json_t	*pt;
	size_t	 j, n = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(c, "ports"), j, pt) {
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%lld",
		    j ? ", " : "", (long long)json_integer_value(
		    json_object_get(pt, "containerPort")));
		if (n >= len)
			break;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
}

int
remedy_probe_port(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	const struct incident	*inc = in->inc;
	json_t			*conts, *c, *probe, *handler, *port, *declared;
	const char		*msg, *cname, *hname = NULL;
	char			 path[256], old[64], newp[32], ports[128];
	char			 why[512];
	long			 evport;
	size_t			 i, h, fixed = 0, n;
	int			 kind;

	why[0] = '\0';
	if (in->owner == NULL) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%s %s/%s could not be read; check its probes by hand",
		    inc->kind, inc->ns, inc->name);
		return 0;
	}
	if ((kind = refused_probe(in->events, &evport, &msg)) == -1) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "the probes of %s %s/%s fail, but not with \"connection "
		    "refused\" on a port nothing serves; see the evidence",
		    inc->kind, inc->ns, inc->name);
		return 0;
	}
	conts = json_at(in->owner, "spec.template.spec.containers");
	if ((p->patch = json_array()) == NULL ||
	    (p->changes = json_array()) == NULL)
		return -1;
	json_array_foreach(conts, i, c) {
		cname = json_str_at(c, "name");
		probe = json_object_get(c, probe_kinds[kind].field);
		for (h = 0; h < 2; h++) {
			hname = h == 0 ? "httpGet" : "tcpSocket";
			if ((handler = json_object_get(probe, hname)) != NULL)
				break;
		}
		if (h == 2 || (port = json_object_get(handler, "port")) ==
		    NULL)
			continue;
		if (json_is_integer(port)) {
			if (port_declared(conts, json_integer_value(port)) ||
			    (evport != 0 && json_integer_value(port) !=
			    evport))
				continue;
			snprintf(old, sizeof(old), "%lld",
			    (long long)json_integer_value(port));
		} else if (json_is_string(port)) {
			if (port_named(c, json_string_value(port)))
				continue;
			snprintf(old, sizeof(old), "\"%.48s\"",
			    json_string_value(port));
		} else
			continue;
		declared = json_object_get(c, "ports");
		if ((n = json_array_size(declared)) != 1 ||
		    !json_is_integer(json_object_get(json_array_get(declared,
		    0), "containerPort"))) {
			ports_text(c, ports, sizeof(ports));
			snprintf(why, sizeof(why), "the %s probe of container "
			    "%s aims at port %s, which it does not declare, "
			    "but the container declares %s port%s (%s): which "
			    "one the probe is meant for is not clear",
			    probe_kinds[kind].name, cname ? cname : "?", old,
			    n == 0 ? "no" : "several", n == 1 ? "" : "s",
			    ports);
			continue;
		}
		snprintf(path, sizeof(path), "/spec/template/spec/containers/"
		    "%zu/%s/%s/port", i, probe_kinds[kind].field, hname);
		snprintf(newp, sizeof(newp), "%lld", (long long)
		    json_integer_value(json_object_get(json_array_get(declared,
		    0), "containerPort")));
		if (remedy_op(p->patch, "test", path, json_incref(port)) ==
		    -1 || remedy_op(p->patch, "replace", path,
		    json_integer(json_integer_value(json_object_get(
		    json_array_get(declared, 0), "containerPort")))) == -1 ||
		    json_array_append_new(p->changes, json_pack("{s:s, s:O, "
		    "s:O}", "path", path, "before", port, "after",
		    json_object_get(json_array_get(declared, 0),
		    "containerPort"))) == -1)
			return -1;
		fixed++;
		snprintf(p->summary, sizeof(p->summary), "Point the %s probe "
		    "of container %s in %s %s/%s at port %s, the one it "
		    "declares, instead of %s", probe_kinds[kind].name,
		    cname ? cname : "?", inc->kind, inc->ns, inc->name, newp,
		    old);
	}
	if (fixed == 0) {
		remedy_drop_patch(p);
		snprintf(p->summary, sizeof(p->summary),
		    "No automatic fix: %.400s",
		    why[0] ? why : "no probe of that kind aims at a port its "
		    "container does not declare; check the probe and the "
		    "server by hand");
		n = strlen(cause);
		snprintf(cause + n, clen > n ? clen - n : 0, " %s.",
		    why[0] ? why : "The probe's port is declared");
		return 0;
	}
	if (fixed > 1)
		snprintf(p->summary, sizeof(p->summary), "Point %zu %s probes "
		    "of %s %s/%s at the port their container declares",
		    fixed, probe_kinds[kind].name, inc->kind, inc->ns,
		    inc->name);
	if (remedy_api_path(inc->kind, inc->ns, inc->name, p->api_path,
	    sizeof(p->api_path)) == -1) {
		remedy_drop_patch(p);
		return 0;
	}
	p->risk = "medium";
	n = strlen(cause);
	snprintf(cause + n, clen > n ? clen - n : 0, " The %s probe is "
	    "refused: nothing listens on the port it checks (%s), and the "
	    "container declares one port only.", probe_kinds[kind].name,
	    msg);
	return 0;
}
