/*
 * network.c - Services whose selector matches no pod or whose endpoints
 * are all not ready, and Ingresses whose backend Service or port does not
 * exist.  Readiness comes from the Service's EndpointSlices when any is
 * cached, else from the pods' Ready condition.
 */
#include <stdio.h>
#include <string.h>

#include "analyze/analyze.h"
#include "base/util.h"

/* "app=web,tier=front" into buf. */
static void
selector_str(json_t *sel, char *buf, size_t len)
{
	const char	*k;
	json_t		*v;
	size_t		 n = 0;

	*buf = '\0';
	json_object_foreach(sel, k, v) {
		int w = snprintf(buf + n, len - n, "%s%s=%s", n ? "," : "", k,
		    json_string_value(v) ? json_string_value(v) : "");

		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
}

int
analyze_service(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kobj	*o = obj;
	json_t			*sel = json_at(o->f, "spec.selector");
	const char		*type = json_str_at(o->f, "spec.type");
	char			 s[512];
	int			 total, ready, et, er;

	if (ctx == NULL || ctx->pods == NULL || !json_is_object(sel) ||
	    json_object_size(sel) == 0 ||
	    (type != NULL && strcmp(type, "ExternalName") == 0))
		return 0;
	analyze_ctx_pods(ctx, o->m.ns, sel, &total, &ready);
	selector_str(sel, s, sizeof(s));
	if (total == 0) {
		snprintf(f->reason, sizeof(f->reason), "NoMatchingPods");
		snprintf(f->detail, sizeof(f->detail), "Service %s/%s: selector "
		    "%s matches no pods", o->m.ns, o->m.name, s);
		return 1;
	}
	if (ctx->endpoints != NULL &&
	    ctx->endpoints(ctx->arg, o->m.ns, o->m.name, &et, &er) == 0)
		ready = er;
	if (ready > 0)
		return 0;
	snprintf(f->reason, sizeof(f->reason), "NoReadyEndpoints");
	snprintf(f->detail, sizeof(f->detail), "Service %s/%s: no ready "
	    "endpoints (%d pods match %s, none ready)", o->m.ns, o->m.name,
	    total, s);
	return 1;
}

/* Check one backend {service: {name, port: {number|name}}}. */
static int
check_backend(const struct analyze_ctx *ctx, const struct kobj *ing,
    json_t *be, const char *host, struct finding *f)
{
	const struct kobj	*svc;
	const char		*name, *pname;
	json_t			*ports, *p;
	json_int_t		 pnum;
	size_t			 i;

	if ((name = json_str_at(be, "service.name")) == NULL)
		return 0;	/* a resource backend */
	pnum = json_int_at(be, "service.port.number", 0);
	pname = json_str_at(be, "service.port.name");
	if ((svc = analyze_ctx_get(ctx, "Service", ing->m.ns, name)) == NULL) {
		snprintf(f->reason, sizeof(f->reason), "BackendServiceMissing");
		snprintf(f->detail, sizeof(f->detail), "Ingress %s/%s: backend "
		    "Service %s (host %s) does not exist", ing->m.ns,
		    ing->m.name, name, host);
		return 1;
	}
	ports = json_at(svc->f, "spec.ports");
	json_array_foreach(ports, i, p) {
		if (pnum != 0 && json_int_at(p, "port", -1) == pnum)
			return 0;
		if (pname != NULL && json_str_at(p, "name") != NULL &&
		    strcmp(json_str_at(p, "name"), pname) == 0)
			return 0;
	}
	if (pnum == 0 && pname == NULL)
		return 0;
	snprintf(f->reason, sizeof(f->reason), "BackendPortMissing");
	if (pname != NULL)
		snprintf(f->detail, sizeof(f->detail), "Ingress %s/%s: Service "
		    "%s has no port named %s (host %s)", ing->m.ns, ing->m.name,
		    name, pname, host);
	else
		snprintf(f->detail, sizeof(f->detail), "Ingress %s/%s: Service "
		    "%s has no port %lld (host %s)", ing->m.ns, ing->m.name,
		    name, (long long)pnum, host);
	return 1;
}

int
analyze_ingress(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kobj	*o = obj;
	json_t			*rule, *path, *be;
	const char		*host;
	size_t			 i, j;

	if (ctx == NULL || ctx->get == NULL)
		return 0;
	if ((be = json_at(o->f, "spec.defaultBackend")) != NULL &&
	    check_backend(ctx, o, be, "*", f))
		return 1;
	json_array_foreach(json_at(o->f, "spec.rules"), i, rule) {
		host = json_str_at(rule, "host");
		json_array_foreach(json_at(rule, "http.paths"), j, path)
			if (check_backend(ctx, o, json_object_get(path,
			    "backend"), host ? host : "*", f))
				return 1;
	}
	return 0;
}
