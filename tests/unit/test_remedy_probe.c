/*
 * The probe port fix (lib/action/remedies/probe.c): a probe refused on a port its
 * container does not declare points at the one port the container
 * declares, in Deployment, StatefulSet and DaemonSet templates; every case
 * where the intended port is a guess (no port, two ports, a declared port,
 * another failure than connection refused, another port in the event) is
 * explained without a patch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "analyze/incident.h"
#include "base/util.h"
#include "diagnose/diagnose.h"
#include "t.h"

#define REFUSED(kind, port) kind " probe failed: Get \"http://10.88.0.5:" \
	port "/\": dial tcp 10.88.0.5:" port ": connect: connection refused"

static struct incidents	incs;

static struct incident *
incident(const char *kind, const char *reason)
{
	struct finding		 f;
	struct root_owner	 r;
	struct incident		*inc = NULL;
	size_t			 pos = 0;

	r.kind = kind;
	r.ns = "demo";
	r.name = "web";
	r.uid = "uid-owner";
	memset(&f, 0, sizeof(f));
	f.analyzer = "probe";
	snprintf(f.reason, sizeof(f.reason), "%s", reason);
	snprintf(f.detail, sizeof(f.detail), "pod demo/web-1: not ready");
	incidents_init(&incs);
	incidents_pod(&incs, "demo", "web-1", &f, &r, 0);
	incidents_next(&incs, &pos, &inc);
	return inc;
}

/* An owner of kind whose one container "web" declares ports and has the
 * probe field set to {handler: {port: port}} (port stolen). */
static json_t *
owner(const char *kind, json_t *ports, const char *field,
    const char *handler, json_t *port)
{
	json_t	*o, *c;

	o = json_pack("{s:s, s:{s:s, s:s, s:I}, s:{s:{s:{s:[{s:s, s:s}]}}}}",
	    "kind", kind, "metadata", "name", "web", "namespace", "demo",
	    "generation", (json_int_t)3, "spec", "template", "spec",
	    "containers", "name", "web", "image", "nginx:1.25");
	c = json_array_get(json_at(o, "spec.template.spec.containers"), 0);
	if (ports != NULL)
		json_object_set_new(c, "ports", ports);
	json_object_set_new(c, field, json_pack("{s:{s:o}}", handler, "port",
	    port));
	return o;
}

static json_t *
events(const char *msg)
{
	return json_pack("{s:[{s:s, s:s, s:s}]}", "items", "reason",
	    "Unhealthy", "type", "Warning", "message", msg);
}

/* Build for inc with owner o, events ev and the affected pod pd (all
 * taken over; pd may be NULL). */
static int
build_pod(struct incident *inc, json_t *o, json_t *ev, json_t *pd,
    struct proposal *p, char *cause, size_t clen)
{
	struct diag_input	in;
	int			rc;

	memset(&in, 0, sizeof(in));
	memset(p, 0, sizeof(*p));
	snprintf(cause, clen, "1 pod(s) are not ready.");
	in.inc = inc;
	in.owner = o;
	in.events = ev;
	in.pod = pd;
	rc = remedies_build(&in, p, cause, clen);
	json_decref(o);
	json_decref(ev);
	json_decref(pd);
	return rc;
}

/* The same without a pod read. */
static int
build(struct incident *inc, json_t *o, json_t *ev, struct proposal *p,
    char *cause, size_t clen)
{
	return build_pod(inc, o, ev, NULL, p, cause, clen);
}

static void
test_fixed(const char *kind, const char *plural)
{
	struct proposal	 p;
	char		 cause[2048], want[256];
	const char	*path = "/spec/template/spec/containers/0/"
			    "readinessProbe/httpGet/port";

	CHECK_INT(build(incident(kind, "ReadinessProbeFailed"), owner(kind,
	    json_pack("[{s:i}]", "containerPort", 80), "readinessProbe",
	    "httpGet", json_integer(8080)), events(REFUSED("Readiness",
	    "8080")), &p, cause, sizeof(cause)), 0);
	CHECK(p.patch != NULL);
	CHECK_INT(json_array_size(p.patch), 2);
	CHECK_STR(json_str_at(json_array_get(p.patch, 0), "op"), "test");
	CHECK_STR(json_str_at(json_array_get(p.patch, 0), "path"), path);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(p.patch,
	    0), "value")), 8080);
	CHECK_STR(json_str_at(json_array_get(p.patch, 1), "op"), "replace");
	CHECK_INT(json_integer_value(json_object_get(json_array_get(p.patch,
	    1), "value")), 80);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(
	    p.changes, 0), "before")), 8080);
	CHECK_STR(p.risk, "medium");
	snprintf(want, sizeof(want), "/apis/apps/v1/namespaces/demo/%s/web",
	    plural);
	CHECK_STR(p.api_path, want);
	CHECK(strstr(p.summary, "readiness probe of container web") != NULL);
	CHECK(strstr(p.summary, "at port 80") != NULL);
	CHECK(strstr(cause, "connection refused") != NULL);
	proposal_clear(&p);
	incidents_clear(&incs);
}

/* Each case below gets no patch, and a summary saying why. */
static void
unfixed(const char *reason, json_t *o, const char *msg, const char *why)
{
	struct proposal	p;
	char		cause[2048];

	CHECK_INT(build(incident("Deployment", reason), o, events(msg), &p,
	    cause, sizeof(cause)), 0);
	CHECK(p.patch == NULL);
	CHECK(strncmp(p.summary, "No automatic fix", 16) == 0);
	if (strstr(p.summary, why) == NULL)
		fprintf(stderr, "summary: %s\n", p.summary);
	CHECK(strstr(p.summary, why) != NULL);
	proposal_clear(&p);
	incidents_clear(&incs);
}

static void
test_unfixed(void)
{
	/* two ports: which one is meant is a guess */
	unfixed("ReadinessProbeFailed", owner("Deployment",
	    json_pack("[{s:i}, {s:i}]", "containerPort", 80, "containerPort",
	    443), "readinessProbe", "httpGet", json_integer(8080)),
	    REFUSED("Readiness", "8080"), "several ports (80, 443)");
	/* no port declared */
	unfixed("ReadinessProbeFailed", owner("Deployment", NULL,
	    "readinessProbe", "httpGet", json_integer(8080)),
	    REFUSED("Readiness", "8080"), "no ports (none)");
	/* the probe's port is declared: the server is the problem */
	unfixed("ReadinessProbeFailed", owner("Deployment",
	    json_pack("[{s:i}]", "containerPort", 8080), "readinessProbe",
	    "httpGet", json_integer(8080)), REFUSED("Readiness", "8080"),
	    "no probe of that kind aims at a port");
	/* refused on another port than the probe's */
	unfixed("ReadinessProbeFailed", owner("Deployment",
	    json_pack("[{s:i}]", "containerPort", 80), "readinessProbe",
	    "httpGet", json_integer(8080)), REFUSED("Readiness", "9090"),
	    "no probe of that kind aims at a port");
	/* not a refusal: the server answered */
	unfixed("ReadinessProbeFailed", owner("Deployment",
	    json_pack("[{s:i}]", "containerPort", 80), "readinessProbe",
	    "httpGet", json_integer(8080)), "Readiness probe failed: HTTP "
	    "probe failed with statuscode: 500", "no other probe of the "
	    "container passes");
	/* neither refused nor an error status */
	unfixed("ReadinessProbeFailed", owner("Deployment",
	    json_pack("[{s:i}]", "containerPort", 80), "readinessProbe",
	    "httpGet", json_integer(8080)), "Readiness probe failed: Get "
	    "\"http://10.88.0.5:80/\": context deadline exceeded",
	    "neither with \"connection refused\"");
}

/* A named port the container lacks, a tcpSocket liveness probe. */
static void
test_named_liveness(void)
{
	struct proposal	 p;
	char		 cause[2048];

	CHECK_INT(build(incident("Deployment", "LivenessProbeFailed"),
	    owner("Deployment", json_pack("[{s:s, s:i}]", "name", "web",
	    "containerPort", 8000), "livenessProbe", "tcpSocket",
	    json_string("http")), events("Liveness probe failed: dial tcp "
	    "10.88.0.5:8080: connect: connection refused"), &p, cause,
	    sizeof(cause)), 0);
	CHECK(p.patch != NULL);
	CHECK_STR(json_str_at(json_array_get(p.patch, 1), "path"),
	    "/spec/template/spec/containers/0/livenessProbe/tcpSocket/port");
	CHECK_STR(json_str_at(json_array_get(p.patch, 0), "value"), "http");
	CHECK_INT(json_integer_value(json_object_get(json_array_get(p.patch,
	    1), "value")), 8000);
	proposal_clear(&p);
	incidents_clear(&incs);
	/* the event's kind decides: a readiness event leaves liveness alone */
	unfixed("ReadinessProbeFailed", owner("Deployment",
	    json_pack("[{s:i}]", "containerPort", 80), "livenessProbe",
	    "httpGet", json_integer(8080)), REFUSED("Readiness", "8080"),
	    "no probe of that kind aims at a port");
}

#define STATUS404(kind) kind " probe failed: HTTP probe failed with " \
	"statuscode: 404"

/* A Deployment "web" whose container declares ports 80 and 8080, with a
 * readiness probe GET rpath on rport and a liveness probe GET lpath on
 * lport (numbers). */
static json_t *
two_probes(const char *rpath, long rport, const char *lpath, long lport)
{
	json_t	*o = owner("Deployment", json_pack("[{s:i}, {s:s, s:i}]",
	    "containerPort", 80, "name", "admin", "containerPort", 8080),
	    "readinessProbe", "httpGet", json_integer(rport));
	json_t	*c = json_array_get(json_at(o, "spec.template.spec.containers"),
	    0);

	json_object_set_new(json_at(c, "readinessProbe.httpGet"), "path",
	    json_string(rpath));
	json_object_set_new(c, "livenessProbe", json_pack("{s:{s:s, s:I}, "
	    "s:i}", "httpGet", "path", lpath, "port", (json_int_t)lport,
	    "periodSeconds", 1));
	return o;
}

/* The affected pod: container web running since startedAt, ready or
 * not. */
static json_t *
pod(const char *started, int ready)
{
	return json_pack("{s:{s:[{s:s, s:b, s:{s:{s:s}}}]}}", "status",
	    "containerStatuses", "name", "web", "ready", ready, "state",
	    "running", "startedAt", started);
}

/* A readiness probe answered 404, the liveness probe on the same port
 * passes with another path: the readiness probe takes its path. */
static void
test_status_path(void)
{
	struct proposal	 p;
	char		 cause[2048];
	const char	*path = "/spec/template/spec/containers/0/"
			    "readinessProbe/httpGet/path";

	CHECK_INT(build_pod(incident("Deployment", "ReadinessProbeFailed"),
	    two_probes("/ready", 80, "/", 80), events(STATUS404("Readiness")),
	    pod("2020-01-01T00:00:00Z", 0), &p, cause, sizeof(cause)), 0);
	CHECK(p.patch != NULL);
	CHECK_INT(json_array_size(p.patch), 2);
	CHECK_STR(json_str_at(json_array_get(p.patch, 0), "op"), "test");
	CHECK_STR(json_str_at(json_array_get(p.patch, 0), "path"), path);
	CHECK_STR(json_str_at(json_array_get(p.patch, 0), "value"), "/ready");
	CHECK_STR(json_str_at(json_array_get(p.patch, 1), "op"), "replace");
	CHECK_STR(json_str_at(json_array_get(p.patch, 1), "value"), "/");
	CHECK_STR(json_str_at(json_array_get(p.changes, 0), "before"),
	    "/ready");
	CHECK_STR(p.risk, "medium");
	CHECK(strstr(p.summary, "at path /, which its passing liveness "
	    "probe asks on the same port") != NULL);
	CHECK(strstr(cause, "answers status 404") != NULL);
	proposal_clear(&p);
	incidents_clear(&incs);

	/* the liveness probe has not been asked yet (started just now, its
	 * period is 1 s): no evidence */
	{
		char	now[64];

		fmt_rfc3339(now_ms() + 60000, now, sizeof(now));
		CHECK_INT(build_pod(incident("Deployment",
		    "ReadinessProbeFailed"), two_probes("/ready", 80, "/", 80),
		    events(STATUS404("Readiness")), pod(now, 0), &p, cause,
		    sizeof(cause)), 0);
		CHECK(p.patch == NULL);
		CHECK(strstr(p.summary, "no other probe of the container "
		    "passes") != NULL);
		proposal_clear(&p);
		incidents_clear(&incs);
	}

	/* the liveness probe fails too: no evidence */
	CHECK_INT(build_pod(incident("Deployment", "ReadinessProbeFailed"),
	    two_probes("/ready", 80, "/healthz", 80), json_pack("{s:[{s:s, "
	    "s:s}, {s:s, s:s}]}", "items", "reason", "Unhealthy", "message",
	    STATUS404("Readiness"), "reason", "Unhealthy", "message",
	    STATUS404("Liveness")), pod("2020-01-01T00:00:00Z", 0), &p, cause,
	    sizeof(cause)), 0);
	CHECK(p.patch == NULL);
	/* (the newest event, the liveness probe's, is the one explained) */
	CHECK(strstr(p.summary, "liveness probe of container web asks GET "
	    "/healthz on port 80") != NULL);
	CHECK(strstr(cause, "answers status 404") != NULL);
	proposal_clear(&p);
	incidents_clear(&incs);

	/* no pod to read: nothing says the liveness probe passes */
	CHECK_INT(build(incident("Deployment", "ReadinessProbeFailed"),
	    two_probes("/ready", 80, "/", 80), events(STATUS404("Readiness")),
	    &p, cause, sizeof(cause)), 0);
	CHECK(p.patch == NULL);
	proposal_clear(&p);
	incidents_clear(&incs);
}

/* A liveness probe answered 404 on port 8080 (the admin port), the ready
 * container's readiness probe gets the same path answered on port 80:
 * the liveness probe takes port 80. */
static void
test_status_port(void)
{
	struct proposal	 p;
	char		 cause[2048];
	const char	*path = "/spec/template/spec/containers/0/"
			    "livenessProbe/httpGet/port";

	CHECK_INT(build_pod(incident("Deployment", "LivenessProbeFailed"),
	    two_probes("/healthz", 80, "/healthz", 8080),
	    events(STATUS404("Liveness")), pod("2020-01-01T00:00:00Z", 1), &p,
	    cause, sizeof(cause)), 0);
	CHECK(p.patch != NULL);
	CHECK_STR(json_str_at(json_array_get(p.patch, 1), "path"), path);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(p.patch,
	    0), "value")), 8080);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(p.patch,
	    1), "value")), 80);
	CHECK(strstr(p.summary, "at port 80, where its passing readiness "
	    "probe gets an answer for /healthz") != NULL);
	proposal_clear(&p);
	incidents_clear(&incs);

	/* the readiness probe's container is not ready: no evidence */
	CHECK_INT(build_pod(incident("Deployment", "LivenessProbeFailed"),
	    two_probes("/healthz", 80, "/healthz", 8080),
	    events(STATUS404("Liveness")), pod("2020-01-01T00:00:00Z", 0), &p,
	    cause, sizeof(cause)), 0);
	CHECK(p.patch == NULL);
	proposal_clear(&p);
	incidents_clear(&incs);
}

static void
test_table(void)
{
	static const char *const kinds[] = { "Deployment", "StatefulSet",
					     "DaemonSet" };
	static const char *const reasons[] = { "ReadinessProbeFailed",
		"LivenessProbeFailed", "StartupProbeFailed" };
	const struct remedy	*r;
	size_t			 i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++) {
			r = remedy_find(reasons[j], kinds[i]);
			CHECK(r != NULL &&
			    strcmp(r->family, "probe") == 0);
		}
	CHECK(remedy_find("ReadinessProbeFailed", "Pod") == NULL);
}

int
main(void)
{
	test_table();
	test_fixed("Deployment", "deployments");
	test_fixed("StatefulSet", "statefulsets");
	test_fixed("DaemonSet", "daemonsets");
	test_unfixed();
	test_named_liveness();
	test_status_path();
	test_status_port();
	return T_DONE();
}
