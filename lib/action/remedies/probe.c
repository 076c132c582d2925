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
 *
 * An httpGet probe whose server answers an error status (the kubelet's
 * `Readiness probe failed: HTTP probe failed with statuscode: 404`) is
 * fixed only on evidence from the same container: another of its httpGet
 * probes that is passing (no Unhealthy event of its kind; a readiness
 * probe: the container is ready; a liveness or startup probe: the
 * container has run longer than its first period) and that
 *   - asks the same port for another path: the failing probe takes that
 *     path, or
 *   - asks the same path on another port the container declares: the
 *     failing probe takes that port.
 * Without such a probe, which path the server has is a guess: explained
 * with the status code, and the facts go to an LLM backend.
 * Deployment, StatefulSet and DaemonSet templates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "base/util.h"
#include "kube/exec.h"

static const struct {
	const char	*prefix;	/* of the Unhealthy event's message */
	const char	*field;		/* container field */
	const char	*name;		/* for humans */
} probe_kinds[] = {
	{ "Readiness probe failed", "readinessProbe", "readiness" },
	{ "Liveness probe failed",  "livenessProbe",  "liveness" },
	{ "Startup probe failed",   "startupProbe",   "startup" },
};
#define NKINDS	(sizeof(probe_kinds) / sizeof(probe_kinds[0]))

/* The probe kind (index in probe_kinds) an Unhealthy message is about;
 * NKINDS when none. */
static size_t
probe_kind_of(const char *msg)
{
	size_t	k;

	for (k = 0; k < NKINDS; k++)
		if (strncmp(msg, probe_kinds[k].prefix,
		    strlen(probe_kinds[k].prefix)) == 0)
			break;
	return k;
}

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
		if ((k = probe_kind_of(msg)) == NKINDS)
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

/* Container c declares containerPort port. */
static int
declares(json_t *c, long port)
{
	json_t	*pt;
	size_t	 j;

	json_array_foreach(json_object_get(c, "ports"), j, pt)
		if (json_integer_value(json_object_get(pt, "containerPort")) ==
		    port)
			return 1;
	return 0;
}

/* Some container of the template declares containerPort port. */
static int
port_declared(json_t *containers, long port)
{
	json_t	*c;
	size_t	 i;

	json_array_foreach(containers, i, c)
		if (declares(c, port))
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

#define STATUS_TEXT	"HTTP probe failed with statuscode: "

/*
 * The newest Unhealthy event that reports an httpGet probe answered with
 * an error status: its kind (index in probe_kinds) and the status; -1
 * when there is none.
 */
static int
status_probe(json_t *events, long *code, const char **message)
{
	json_t		*e;
	const char	*msg, *reason, *st;
	size_t		 i, k;
	long		 c;
	int		 kind = -1;

	*code = 0;
	*message = NULL;
	json_array_foreach(json_object_get(events, "items"), i, e) {
		msg = json_str_at(e, "message");
		reason = json_str_at(e, "reason");
		if (msg == NULL || reason == NULL ||
		    strcmp(reason, "Unhealthy") != 0 ||
		    (st = strstr(msg, STATUS_TEXT)) == NULL ||
		    (k = probe_kind_of(msg)) == NKINDS)
			continue;
		c = strtol(st + strlen(STATUS_TEXT), NULL, 10);
		if (c < 400 || c > 599)
			continue;
		kind = (int)k;
		*code = c;
		*message = msg;
	}
	return kind;
}

/* Some Unhealthy event says a probe of kind k failed. */
static int
kind_failed(json_t *events, size_t k)
{
	json_t		*e;
	const char	*msg, *reason;
	size_t		 i;

	json_array_foreach(json_object_get(events, "items"), i, e) {
		msg = json_str_at(e, "message");
		reason = json_str_at(e, "reason");
		if (msg != NULL && reason != NULL &&
		    strcmp(reason, "Unhealthy") == 0 && probe_kind_of(msg) == k)
			return 1;
	}
	return 0;
}

/* The port number an httpGet handler of container c asks: a number, or
 * the containerPort of the port it names; 0 when neither. */
static long
handler_port(json_t *c, json_t *h)
{
	json_t		*port = json_object_get(h, "port"), *pt;
	size_t		 j;

	if (json_is_integer(port))
		return (long)json_integer_value(port);
	if (!json_is_string(port))
		return 0;
	json_array_foreach(json_object_get(c, "ports"), j, pt)
		if (json_str_at(pt, "name") != NULL &&
		    strcmp(json_str_at(pt, "name"), json_string_value(port)) ==
		    0)
			return (long)json_integer_value(json_object_get(pt,
			    "containerPort"));
	return 0;
}

static const char *
handler_path(json_t *h)
{
	const char	*path = json_str_at(h, "path");

	return path != NULL && *path != '\0' ? path : "/";
}

/*
 * The probe of kind k of container c (named cname) in the affected pod
 * passes: no Unhealthy event of its kind, and the container is ready (a
 * readiness probe) or has run longer than the probe's initial delay and
 * one period (a liveness or startup probe: it has been asked at least
 * once without failing).
 */
static int
probe_passes(const struct diag_input *in, json_t *probe, size_t k,
    const char *cname)
{
	json_t		*st;
	const char	*started;
	int64_t		 since, wait;
	size_t		 i;

	if (in->pod == NULL || kind_failed(in->events, k))
		return 0;
	json_array_foreach(json_at(in->pod, "status.containerStatuses"), i,
	    st) {
		if (json_str_at(st, "name") == NULL ||
		    strcmp(json_str_at(st, "name"), cname) != 0)
			continue;
		if (strcmp(probe_kinds[k].field, "readinessProbe") == 0)
			return json_is_true(json_object_get(st, "ready"));
		if ((started = json_str_at(st, "state.running.startedAt")) ==
		    NULL || kube_parse_time(started, &since) == -1)
			return 0;
		wait = (json_int_at(probe, "initialDelaySeconds", 0) +
		    json_int_at(probe, "periodSeconds", 10)) * 1000;
		return now_ms() - since > wait;
	}
	return 0;
}

/*
 * The httpGet probe of kind `kind` of container i (c) answers an error
 * status: append the path or port another passing probe of c gives
 * evidence for to p.  Returns 1 when fixed, 0 when there is no evidence
 * (why says so), -1 on allocation failure.
 */
static int
fix_probe_status(const struct diag_input *in, struct proposal *p,
    size_t kind, size_t i, json_t *c, char *why, size_t wlen)
{
	json_t		*h, *oprobe, *o, *oport;
	const char	*cname = json_str_at(c, "name"), *path, *opath;
	char		 ptr[256], old[64];
	long		 port, op;
	size_t		 k;

	h = json_at(json_object_get(c, probe_kinds[kind].field), "httpGet");
	if (h == NULL || cname == NULL)
		return 0;
	port = handler_port(c, h);
	path = handler_path(h);
	for (k = 0; k < NKINDS; k++) {
		if (k == kind || (oprobe = json_object_get(c,
		    probe_kinds[k].field)) == NULL || (o = json_object_get(
		    oprobe, "httpGet")) == NULL || !probe_passes(in, oprobe,
		    k, cname))
			continue;
		op = handler_port(c, o);
		opath = handler_path(o);
		if (op != 0 && op == port && strcmp(opath, path) != 0) {
			snprintf(ptr, sizeof(ptr), "/spec/template/spec/"
			    "containers/%zu/%s/httpGet/path", i,
			    probe_kinds[kind].field);
			if ((json_object_get(h, "path") != NULL ?
			    remedy_op(p->patch, "test", ptr, json_incref(
			    json_object_get(h, "path"))) == -1 ||
			    remedy_op(p->patch, "replace", ptr,
			    json_string(opath)) == -1 :
			    remedy_op(p->patch, "add", ptr,
			    json_string(opath)) == -1) ||
			    json_array_append_new(p->changes, json_pack(
			    "{s:s, s:s, s:s}", "path", ptr, "before", path,
			    "after", opath)) == -1)
				return -1;
			snprintf(p->summary, sizeof(p->summary), "Point the "
			    "%s probe of container %s in %s %s/%s at path %s, "
			    "which its passing %s probe asks on the same port, "
			    "instead of %s", probe_kinds[kind].name, cname,
			    in->inc->kind, in->inc->ns, in->inc->name, opath,
			    probe_kinds[k].name, path);
			return 1;
		}
		if (op != 0 && op != port && strcmp(opath, path) == 0 &&
		    declares(c, op)) {
			oport = json_object_get(o, "port");
			snprintf(ptr, sizeof(ptr), "/spec/template/spec/"
			    "containers/%zu/%s/httpGet/port", i,
			    probe_kinds[kind].field);
			if (remedy_op(p->patch, "test", ptr, json_incref(
			    json_object_get(h, "port"))) == -1 ||
			    remedy_op(p->patch, "replace", ptr,
			    json_incref(oport)) == -1 ||
			    json_array_append_new(p->changes, json_pack(
			    "{s:s, s:O, s:O}", "path", ptr, "before",
			    json_object_get(h, "port"), "after", oport)) == -1)
				return -1;
			snprintf(old, sizeof(old), "%ld", port);
			snprintf(p->summary, sizeof(p->summary), "Point the "
			    "%s probe of container %s in %s %s/%s at port %ld, "
			    "where its passing %s probe gets an answer for %s, "
			    "instead of %s", probe_kinds[kind].name, cname,
			    in->inc->kind, in->inc->ns, in->inc->name, op,
			    probe_kinds[k].name, path, port ? old : "?");
			return 1;
		}
	}
	snprintf(why, wlen, "the %s probe of container %s asks GET %s on "
	    "port %ld and the server answers an error status; no other probe "
	    "of the container passes with another path on that port or with "
	    "that path on a port it declares, so which path the server has is "
	    "not clear", probe_kinds[kind].name, cname, path, port);
	return 0;
}

/* The fix or explanation of a probe answered with an error status. */
static int
probe_status(const struct diag_input *in, struct proposal *p, char *cause,
    size_t clen, size_t kind, long code, const char *msg)
{
	const struct incident	*inc = in->inc;
	json_t			*c;
	char			 why[512];
	size_t			 i, n, fixed = 0;
	int			 rc;

	why[0] = '\0';
	if ((p->patch = json_array()) == NULL ||
	    (p->changes = json_array()) == NULL)
		return -1;
	json_array_foreach(json_at(in->owner, "spec.template.spec.containers"),
	    i, c) {
		if ((rc = fix_probe_status(in, p, kind, i, c, why,
		    sizeof(why))) == -1)
			return -1;
		fixed += (size_t)rc;
	}
	n = strlen(cause);
	if (fixed == 0 || remedy_api_path(inc->kind, inc->ns, inc->name,
	    p->api_path, sizeof(p->api_path)) == -1) {
		remedy_drop_patch(p);
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%.400s", why[0] ? why : "no httpGet probe of that kind "
		    "was found in the template; check the probe by hand");
		snprintf(cause + n, clen > n ? clen - n : 0, " The %s probe's "
		    "HTTP server answers status %ld (%.200s)%s%.400s.",
		    probe_kinds[kind].name, code, msg, why[0] ? ": " : "",
		    why);
		return 0;
	}
	if (fixed > 1)
		snprintf(p->summary, sizeof(p->summary), "Point %zu %s probes "
		    "of %s %s/%s where their containers' passing probes get "
		    "an answer", fixed, probe_kinds[kind].name, inc->kind,
		    inc->ns, inc->name);
	p->risk = "medium";
	snprintf(cause + n, clen > n ? clen - n : 0, " The %s probe's HTTP "
	    "server answers status %ld (%.200s), while another probe of the "
	    "same container passes.", probe_kinds[kind].name, code, msg);
	return 0;
}

int
remedy_probe(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	const struct incident	*inc = in->inc;
	json_t			*conts, *c, *probe, *handler, *port, *declared;
	const char		*msg, *cname, *hname = NULL;
	char			 path[256], old[64], newp[32], ports[128];
	char			 why[512];
	long			 evport, code;
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
		if ((kind = status_probe(in->events, &code, &msg)) != -1)
			return probe_status(in, p, cause, clen, (size_t)kind,
			    code, msg);
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "the probes of %s %s/%s fail, but neither with "
		    "\"connection refused\" on a port nothing serves nor with "
		    "an HTTP error status; see the evidence",
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
