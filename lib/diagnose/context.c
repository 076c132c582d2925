/*
 * context.c - see context.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "diagnose/context.h"
#include "registry/pull.h"

#define CTX_MAX_EVENTS		12
#define CTX_MAX_PODLINES	5
#define CTX_MAX_HISTORY		5
#define CTX_MAX_STR		400	/* one message or log line */
#define CTX_MAX_WORKLOADS	10	/* a Service's candidates */

static json_t *
jstr(const char *s)
{
	char	buf[CTX_MAX_STR + 4];

	if (s == NULL)
		return json_null();
	if (strlen(s) <= CTX_MAX_STR)
		return json_string(s);
	memcpy(buf, s, CTX_MAX_STR);
	strcpy(buf + CTX_MAX_STR, "...");
	return json_string(buf);
}

static void
copy_if(json_t *dst, const char *key, json_t *v)
{
	if (v != NULL && !json_is_null(v))
		json_object_set_new(dst, key, json_deep_copy(v));
}

/* env: names only; references say what kind of source, not which one. */
static json_t *
env_names(json_t *c)
{
	json_t		*out = json_array(), *e, *vf;
	const char	*n;
	char		 line[300];
	size_t		 i;

	json_array_foreach(json_object_get(c, "env"), i, e) {
		if ((n = json_string_value(json_object_get(e, "name"))) == NULL)
			continue;
		vf = json_object_get(e, "valueFrom");
		snprintf(line, sizeof(line), "%s%s", n,
		    json_object_get(vf, "secretKeyRef") ? " (from secret)" :
		    json_object_get(vf, "configMapKeyRef") ?
		    " (from configmap)" : json_object_get(vf, "fieldRef") ?
		    " (from field)" : json_object_get(vf, "resourceFieldRef") ?
		    " (from resource)" : "");
		json_array_append_new(out, json_string(line));
	}
	json_array_foreach(json_object_get(c, "envFrom"), i, e)
		json_array_append_new(out, json_string(json_object_get(e,
		    "secretRef") ? "* (all keys of a secret)" :
		    "* (all keys of a configmap)"));
	return out;
}

static json_t *
containers(json_t *list)
{
	json_t	*out = json_array(), *c, *o;
	size_t	 i;

	json_array_foreach(list, i, c) {
		o = json_pack("{s:I, s:o, s:o}", "index", (json_int_t)i,
		    "name", jstr(json_string_value(json_object_get(c, "name"))),
		    "image", jstr(json_string_value(json_object_get(c,
		    "image"))));
		if (o == NULL)
			continue;
		copy_if(o, "command", json_object_get(c, "command"));
		copy_if(o, "args", json_object_get(c, "args"));
		copy_if(o, "ports", json_object_get(c, "ports"));
		copy_if(o, "resources", json_object_get(c, "resources"));
		copy_if(o, "livenessProbe", json_object_get(c,
		    "livenessProbe"));
		copy_if(o, "readinessProbe", json_object_get(c,
		    "readinessProbe"));
		copy_if(o, "startupProbe", json_object_get(c, "startupProbe"));
		if (json_object_get(c, "env") || json_object_get(c, "envFrom"))
			json_object_set_new(o, "env", env_names(c));
		json_array_append_new(out, o);
	}
	return out;
}

static json_t *
conditions(json_t *list)
{
	json_t	*out = json_array(), *c;
	size_t	 i;

	json_array_foreach(list, i, c)
		json_array_append_new(out, json_pack("{s:o, s:o, s:o, s:o}",
		    "type", jstr(json_str_at(c, "type")),
		    "status", jstr(json_str_at(c, "status")),
		    "reason", jstr(json_str_at(c, "reason")),
		    "message", jstr(json_str_at(c, "message"))));
	return out;
}

static json_t *
workload(json_t *owner)
{
	json_t	*o, *tmpl;

	o = json_pack("{s:o, s:o, s:o, s:I, s:I}",
	    "kind", jstr(json_str_at(owner, "kind")),
	    "namespace", jstr(json_str_at(owner, "metadata.namespace")),
	    "name", jstr(json_str_at(owner, "metadata.name")),
	    "generation", json_int_at(owner, "metadata.generation", 0),
	    "replicas", json_int_at(owner, "spec.replicas", 1));
	if (o == NULL)
		return NULL;
	if (json_is_true(json_at(owner, "spec.paused")))
		json_object_set_new(o, "paused", json_true());
	json_object_set_new(o, "revision", jstr(json_string_value(
	    json_object_get(json_at(owner, "metadata.annotations"),
	    "deployment.kubernetes.io/revision"))));
	if (json_str_at(owner, "status.updateRevision") != NULL)
		json_object_set_new(o, "revisions", json_pack("{s:o, s:o}",
		    "current", jstr(json_str_at(owner,
		    "status.currentRevision")), "update", jstr(json_str_at(
		    owner, "status.updateRevision"))));
	/* A CronJob's pod template is one level further down. */
	tmpl = json_at(owner, "spec.template.spec");
	if (tmpl == NULL && json_str_at(owner, "kind") != NULL &&
	    strcmp(json_str_at(owner, "kind"), "Pod") == 0)
		tmpl = json_object_get(owner, "spec");	/* a bare Pod */
	if (tmpl == NULL)
		tmpl = json_at(owner, "spec.jobTemplate.spec.template.spec");
	json_object_set_new(o, "containers", containers(json_object_get(tmpl,
	    "containers")));
	if (json_object_get(tmpl, "initContainers"))
		json_object_set_new(o, "initContainers", containers(
		    json_object_get(tmpl, "initContainers")));
	/* where it may run: what the scheduler matches against the nodes */
	copy_if(o, "nodeSelector", json_object_get(tmpl, "nodeSelector"));
	copy_if(o, "affinity", json_object_get(tmpl, "affinity"));
	copy_if(o, "tolerations", json_object_get(tmpl, "tolerations"));
	json_object_set_new(o, "status", json_pack("{s:I, s:I, s:I, s:I}",
	    "replicas", json_int_at(owner, "status.replicas", 0),
	    "updated", json_int_at(owner, "status.updatedReplicas", 0),
	    "ready", json_int_at(owner, "status.readyReplicas", 0),
	    "available", json_int_at(owner, "status.availableReplicas", 0)));
	json_object_set_new(o, "conditions", conditions(json_at(owner,
	    "status.conditions")));
	return o;
}

/* A Service: what it selects and the ports it serves. */
static json_t *
service_view(json_t *svc)
{
	json_t	*o;

	o = json_pack("{s:o, s:o, s:o}", "namespace", jstr(json_str_at(svc,
	    "metadata.namespace")), "name", jstr(json_str_at(svc,
	    "metadata.name")), "type", jstr(json_str_at(svc, "spec.type")));
	if (o == NULL)
		return NULL;
	copy_if(o, "selector", json_at(svc, "spec.selector"));
	copy_if(o, "ports", json_at(svc, "spec.ports"));
	return o;
}

/* The workloads of a Service's namespace that have pods: their selector,
 * pod labels and container ports (at most CTX_MAX_WORKLOADS). */
static json_t *
workloads_view(json_t *list)
{
	json_t	*out = json_array(), *w, *o, *c, *ports;
	size_t	 i, j;

	json_array_foreach(list, i, w) {
		if (i >= CTX_MAX_WORKLOADS)
			break;
		o = json_pack("{s:o, s:o}", "kind", jstr(json_str_at(w,
		    "kind")), "name", jstr(json_str_at(w, "metadata.name")));
		if (o == NULL)
			continue;
		copy_if(o, "selector", json_at(w, "spec.selector"));
		copy_if(o, "pod_labels", json_at(w,
		    "spec.template.metadata.labels"));
		ports = json_array();
		json_array_foreach(json_at(w, "spec.template.spec.containers"),
		    j, c)
			if (json_object_get(c, "ports") != NULL)
				json_array_append_new(ports, json_pack("{s:o, "
				    "s:O}", "container", jstr(json_str_at(c,
				    "name")), "ports", json_object_get(c,
				    "ports")));
		json_object_set_new(o, "container_ports", ports);
		json_array_append_new(out, o);
	}
	return out;
}

static int
cmp_rev(const void *a, const void *b)
{
	const struct kreplicaset *x = *(const struct kreplicaset *const *)a;
	const struct kreplicaset *y = *(const struct kreplicaset *const *)b;

	return x->revision < y->revision ? 1 : x->revision > y->revision ?
	    -1 : 0;
}

/* Revisions newest first: revision, images, replicas available. */
static json_t *
history(const struct context_input *in)
{
	const struct kreplicaset	**v;
	json_t				 *out = json_array(), *imgs;
	size_t				  i, j;

	if (in->nrs == 0 || (v = calloc(in->nrs, sizeof(*v))) == NULL)
		return out;
	memcpy(v, in->rs, in->nrs * sizeof(*v));
	qsort(v, in->nrs, sizeof(*v), cmp_rev);
	for (i = 0; i < in->nrs && i < CTX_MAX_HISTORY; i++) {
		imgs = json_array();
		for (j = 0; j < v[i]->ncont; j++)
			json_array_append_new(imgs, jstr(v[i]->cont[j].image));
		json_array_append_new(out, json_pack("{s:I, s:o, s:i, s:i}",
		    "revision", (json_int_t)v[i]->revision, "images", imgs,
		    "replicas", v[i]->replicas, "available",
		    v[i]->available));
	}
	free(v);
	return out;
}

static int
cmp_crev(const void *a, const void *b)
{
	json_int_t x = json_integer_value(kobj_at(*(const struct kobj *const *)
	    a, "revision"));
	json_int_t y = json_integer_value(kobj_at(*(const struct kobj *const *)
	    b, "revision"));

	return x < y ? 1 : x > y ? -1 : 0;
}

/* A StatefulSet's or DaemonSet's ControllerRevisions newest first:
 * revision, name, images. */
static json_t *
crev_history(const struct context_input *in)
{
	const struct kobj	**v;
	json_t			 *out = json_array(), *imgs, *c;
	size_t			  i, j;

	if (in->nrevs == 0 || (v = calloc(in->nrevs, sizeof(*v))) == NULL)
		return out;
	memcpy(v, in->revs, in->nrevs * sizeof(*v));
	qsort(v, in->nrevs, sizeof(*v), cmp_crev);
	for (i = 0; i < in->nrevs && i < CTX_MAX_HISTORY; i++) {
		imgs = json_array();
		json_array_foreach(kobj_at(v[i], "containers"), j, c)
			json_array_append_new(imgs, jstr(json_str_at(c,
			    "image")));
		json_array_append_new(out, json_pack("{s:I, s:s, s:o}",
		    "revision", json_integer_value(kobj_at(v[i], "revision")),
		    "controllerRevision", v[i]->m.name, "images", imgs));
	}
	free(v);
	return out;
}

static json_t *
cstate(json_t *st)
{
	json_t	*w = json_object_get(st, "waiting");
	json_t	*t = json_object_get(st, "terminated");

	if (w != NULL)
		return json_pack("{s:o, s:o}", "waiting",
		    jstr(json_str_at(w, "reason")), "message",
		    jstr(json_str_at(w, "message")));
	if (t != NULL)
		return json_pack("{s:o, s:I, s:o}", "terminated",
		    jstr(json_str_at(t, "reason")), "exitCode",
		    json_int_at(t, "exitCode", 0), "message",
		    jstr(json_str_at(t, "message")));
	if (json_object_get(st, "running") != NULL)
		return json_pack("{s:b}", "running", 1);
	return json_object();
}

static json_t *
pod_view(json_t *pod)
{
	json_t	*o, *cs = json_array(), *c;
	size_t	 i;

	json_array_foreach(json_at(pod, "status.containerStatuses"), i, c)
		json_array_append_new(cs, json_pack("{s:o, s:b, s:I, s:o, s:o}",
		    "name", jstr(json_str_at(c, "name")),
		    "ready", json_is_true(json_object_get(c, "ready")),
		    "restarts", json_int_at(c, "restartCount", 0),
		    "state", cstate(json_object_get(c, "state")),
		    "lastState", cstate(json_object_get(c, "lastState"))));
	json_array_foreach(json_at(pod, "status.initContainerStatuses"), i, c)
		json_array_append_new(cs, json_pack("{s:o, s:b, s:b, s:I, "
		    "s:o, s:o}", "name", jstr(json_str_at(c, "name")), "init", 1,
		    "ready", json_is_true(json_object_get(c, "ready")),
		    "restarts", json_int_at(c, "restartCount", 0),
		    "state", cstate(json_object_get(c, "state")),
		    "lastState", cstate(json_object_get(c, "lastState"))));
	o = json_pack("{s:o, s:o, s:o, s:o, s:o}",
	    "name", jstr(json_str_at(pod, "metadata.name")),
	    "phase", jstr(json_str_at(pod, "status.phase")),
	    "node", jstr(json_str_at(pod, "spec.nodeName")),
	    "containers", cs,
	    "conditions", conditions(json_at(pod, "status.conditions")));
	return o;
}

static json_int_t
ev_count(json_t *e)
{
	json_int_t c = json_int_at(e, "count", 0), s;

	s = json_int_at(e, "series.count", 0);
	if (s > c)
		c = s;
	return c > 0 ? c : 1;
}

static int
cmp_count(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a,
	    "count"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b,
	    "count"));
	int c;

	if (x != y)
		return x < y ? 1 : -1;
	c = strcmp(json_str_at(*(json_t *const *)a, "reason"),
	    json_str_at(*(json_t *const *)b, "reason"));
	return c ? c : strcmp(json_str_at(*(json_t *const *)a, "message"),
	    json_str_at(*(json_t *const *)b, "message"));
}

/* Events deduplicated by type+reason+message, counts summed, most seen
 * first (ties by reason, message: the order is repeatable). */
static json_t *
events_view(json_t *list)
{
	json_t		*out = json_array(), *e, *o, *prev, **v;
	const char	*reason, *msg, *type;
	size_t		 i, j, n;
	char		 key[1024];
	json_t		*seen = json_object();

	json_array_foreach(json_object_get(list, "items"), i, e) {
		reason = json_str_at(e, "reason");
		msg = json_str_at(e, "message");
		type = json_str_at(e, "type");
		if (reason == NULL || msg == NULL)
			continue;
		snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", type ? type : "",
		    reason, msg);
		if ((prev = json_object_get(seen, key)) != NULL) {
			json_object_set_new(prev, "count", json_integer(
			    json_integer_value(json_object_get(prev,
			    "count")) + ev_count(e)));
			continue;
		}
		o = json_pack("{s:o, s:o, s:o, s:I}", "type", jstr(type),
		    "reason", jstr(reason), "message", jstr(msg), "count",
		    ev_count(e));
		if (o != NULL)
			json_object_set_new(seen, key, o);
	}
	n = json_object_size(seen);
	if (n > 0 && (v = calloc(n, sizeof(*v))) != NULL) {
		const char *k;

		j = 0;
		json_object_foreach(seen, k, o)
			v[j++] = o;
		qsort(v, n, sizeof(*v), cmp_count);
		for (j = 0; j < n && j < CTX_MAX_EVENTS; j++)
			json_array_append(out, v[j]);
		free(v);
	}
	json_decref(seen);
	return out;
}

/* Logs are bytes, JSON strings are UTF-8: keep ASCII, mark the rest. */
static void
ascii(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80 || ((unsigned char)*s < 0x20 &&
		    *s != '\t'))
			*s = '?';
}

static json_t *
log_view(const struct context_input *in)
{
	json_t		*lines = json_array();
	const char	*p = in->logs, *nl;
	size_t		 total = 0, skip, i;
	char		 buf[CTX_MAX_STR + 1];

	for (nl = p; nl && *nl; nl = strchr(nl, '\n') ? strchr(nl, '\n') + 1 :
	    NULL)
		total++;
	skip = total > in->log_lines ? total - in->log_lines : 0;
	for (i = 0; p && *p; i++) {
		size_t n;

		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (i >= skip) {
			if (n > CTX_MAX_STR)
				n = CTX_MAX_STR;
			memcpy(buf, p, n);
			buf[n] = '\0';
			ascii(buf);
			json_array_append_new(lines, json_string(buf));
		}
		p = nl ? nl + 1 : NULL;
	}
	return json_pack("{s:o, s:b, s:o}", "container",
	    jstr(in->log_container), "previous", in->log_previous,
	    "lines", lines);
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Register names for anonymizing, in a fixed order (namespace, workload,
 * pods by name, node): the pseudonyms depend on the incident's shape. */
static void
aliases(const struct context_input *in, struct redactor *r)
{
	const char	**keys, *k, *slash;
	void		 *v;
	size_t		  pos = 0, n = 0, i;

	redact_alias(r, "ns", in->inc->ns);
	redact_alias(r, "workload", in->inc->name);
	redact_alias(r, "pod", json_str_at(in->pod, "metadata.name"));
	if ((keys = calloc(incident_pods(in->inc) + 1, sizeof(*keys))) !=
	    NULL) {
		while (hmap_next(&in->inc->pods, &pos, &k, &v))
			keys[n++] = k;
		qsort(keys, n, sizeof(*keys), cmpstr);
		for (i = 0; i < n; i++)
			if ((slash = strchr(keys[i], '/')) != NULL)
				redact_alias(r, "pod", slash + 1);
		free(keys);
	}
	redact_alias(r, "node", json_str_at(in->pod, "spec.nodeName"));
	/* a Service's candidate workloads, in the order they were read */
	for (i = 0; i < json_array_size(in->workloads) &&
	    i < CTX_MAX_WORKLOADS; i++)
		redact_alias(r, "workload", json_str_at(json_array_get(
		    in->workloads, i), "metadata.name"));
}

static json_t *
pod_lines(const struct incident *inc)
{
	json_t		*out = json_array();
	const char	**lines, *k;
	void		 *v;
	size_t		  pos = 0, n = 0, i;

	if ((lines = calloc(incident_pods(inc) + 1, sizeof(*lines))) == NULL)
		return out;
	while (hmap_next(&inc->pods, &pos, &k, &v))
		lines[n++] = v;
	qsort(lines, n, sizeof(*lines), cmpstr);
	for (i = 0; i < n && i < CTX_MAX_PODLINES; i++)
		json_array_append_new(out, jstr(lines[i]));
	free(lines);
	return out;
}

/* The finding lines of the affected objects that are not pods. */
static json_t *
object_lines(const struct incident *inc)
{
	json_t		*out = json_array();
	const char	**lines, *k;
	void		 *v;
	size_t		  pos = 0, n = 0, i;

	if ((lines = calloc(inc->others.len + 1, sizeof(*lines))) == NULL)
		return out;
	while (hmap_next(&inc->others, &pos, &k, &v))
		lines[n++] = v;
	qsort(lines, n, sizeof(*lines), cmpstr);
	for (i = 0; i < n && i < CTX_MAX_PODLINES; i++)
		json_array_append_new(out, jstr(lines[i]));
	free(lines);
	return out;
}

/* Nodes: what the scheduler weighs. */
static json_t *
nodes_view(json_t *list, struct redactor *r)
{
	json_t		*out = json_array(), *n, *c, *conds, *o;
	const char	*type, *status;
	size_t		 i, j;

	json_array_foreach(json_object_get(list, "items"), i, n) {
		if (i >= 10)
			break;
		conds = json_array();
		json_array_foreach(json_at(n, "status.conditions"), j, c) {
			type = json_str_at(c, "type");
			status = json_str_at(c, "status");
			if (type == NULL || status == NULL)
				continue;
			/* Only what is not as it should be. */
			if ((strcmp(type, "Ready") == 0) == (strcmp(status,
			    "True") == 0))
				continue;
			json_array_append_new(conds, json_pack("{s:s, s:s, "
			    "s:o}", "type", type, "status", status, "reason",
			    jstr(json_str_at(c, "reason"))));
		}
		o = json_pack("{s:o, s:o, s:o}", "name", jstr(redact_alias(r,
		    "node", json_str_at(n, "metadata.name"))), "conditions",
		    conds, "allocatable", json_pack("{s:o, s:o, s:o}", "cpu",
		    jstr(json_str_at(n, "status.allocatable.cpu")), "memory",
		    jstr(json_str_at(n, "status.allocatable.memory")), "pods",
		    jstr(json_str_at(n, "status.allocatable.pods"))));
		if (o == NULL)
			continue;
		copy_if(o, "labels", json_at(n, "metadata.labels"));
		copy_if(o, "taints", json_at(n, "spec.taints"));
		if (json_is_true(json_at(n, "spec.unschedulable")))
			json_object_set_new(o, "unschedulable", json_true());
		json_array_append_new(out, o);
	}
	return out;
}

static size_t
size_of(json_t *v)
{
	char	*s = json_dumps(v, JSON_COMPACT);
	size_t	 n = s ? strlen(s) : 0;

	free(s);
	return n;
}

/* Drop one thing, least useful first; 0 when nothing is left to drop. */
static int
shrink(json_t *ctx)
{
	json_t	*a;

	if (json_array_size(a = json_at(ctx, "logs.lines")) > 0)
		return json_array_remove(a, 0) == 0;
	if (json_array_size(a = json_object_get(ctx, "events")) > 1)
		return json_array_remove(a, json_array_size(a) - 1) == 0;
	if (json_array_size(a = json_object_get(ctx, "rollout_history")) > 2)
		return json_array_remove(a, json_array_size(a) - 1) == 0;
	if (json_array_size(a = json_object_get(ctx, "pod_lines")) > 1)
		return json_array_remove(a, json_array_size(a) - 1) == 0;
	if (json_array_size(a = json_object_get(ctx, "nodes")) > 1)
		return json_array_remove(a, json_array_size(a) - 1) == 0;
	if (json_object_get(ctx, "pod") != NULL)
		return json_object_del(ctx, "pod") == 0;
	if (json_object_get(ctx, "events") != NULL)
		return json_object_del(ctx, "events") == 0;
	return 0;
}

/*
 * What the image registry said about the failing image: whether the tag
 * exists, the digest, the platforms of an index, and the closest existing
 * tags (pull.h tag_choose), so a model proposes only an image that exists.
 * Never a credential: the registry client keeps none in its answers.
 */
static json_t *
registry_view(const struct pull_facts *f)
{
	struct tag_choice	 c;
	json_t			*o, *cands, *plats;
	size_t			 i;

	o = json_pack("{s:s, s:s, s:b}", "image", f->image, "container",
	    f->container, "asked", f->asked);
	if (o == NULL)
		return json_null();
	if (!f->ref_ok) {
		json_object_set_new(o, "invalid_reference", jstr(f->ref_err));
		return o;
	}
	if (f->node_arch[0] != '\0')
		json_object_set_new(o, "node_platform", json_sprintf("linux/%s",
		    f->node_arch));
	if (!f->asked)
		return o;
	json_object_set_new(o, "tag_exists", json_boolean(f->man_status ==
	    REG_OK));
	json_object_set_new(o, "manifest", jstr(reg_status_name(
	    f->man_status)));
	json_object_set_new(o, "tags_list", jstr(reg_status_name(
	    f->tags_status)));
	if (f->digest[0] != '\0')
		json_object_set_new(o, "digest", jstr(f->digest));
	if (f->manifest.is_index) {
		plats = json_array();
		for (i = 0; i < f->manifest.nplatforms; i++)
			json_array_append_new(plats, json_sprintf("%s/%s%s%s",
			    f->manifest.plat[i].os, f->manifest.plat[i].arch,
			    f->manifest.plat[i].variant[0] ? "/" : "",
			    f->manifest.plat[i].variant));
		json_object_set_new(o, "platforms", plats);
	}
	if (f->man_status == REG_TAG_UNKNOWN && f->tags != NULL &&
	    f->ref.tag[0] != '\0') {
		tag_choose(f->ref.tag, f->tags, &c);
		cands = json_array();
		if (c.best.tag[0] != '\0')
			json_array_append_new(cands, json_pack("{s:s, s:i}",
			    "tag", c.best.tag, "distance", c.best.distance));
		for (i = 0; i < c.nrunners; i++)
			json_array_append_new(cands, json_pack("{s:s, s:i}",
			    "tag", c.runners[i].tag, "distance",
			    c.runners[i].distance));
		json_object_set_new(o, "closest_existing_tags", cands);
		json_object_set_new(o, "tags_examined",
		    json_integer((json_int_t)c.examined));
	}
	return o;
}

json_t *
context_build(const struct context_input *in, struct redactor *r,
    size_t budget, int *truncated)
{
	const struct incident	*inc = in->inc;
	json_t			*ctx;

	*truncated = 0;
	aliases(in, r);
	ctx = json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:I, s:o}}",
	    "incident", "analyzer", inc->analyzer ? inc->analyzer : "",
	    "reason", inc->reason, "kind", inc->kind, "namespace", inc->ns,
	    "name", inc->name, "pods_affected", (json_int_t)incident_pods(inc),
	    "image", jstr(inc->image));
	if (ctx == NULL)
		return NULL;
	json_object_set_new(ctx, "pod_lines", pod_lines(inc));
	if (inc->others.len > 0)
		json_object_set_new(ctx, "object_lines", object_lines(inc));
	else if (incident_pods(inc) == 0 && inc->detail != NULL)
		json_object_set_new(ctx, "object_lines", json_pack("[o]",
		    jstr(inc->detail)));
	if (in->owner != NULL && json_str_at(in->owner, "kind") != NULL &&
	    strcmp(json_str_at(in->owner, "kind"), "Service") == 0)
		json_object_set_new(ctx, "service", service_view(in->owner));
	else if (in->owner != NULL)
		json_object_set_new(ctx, "workload", workload(in->owner));
	if (in->workloads != NULL)
		json_object_set_new(ctx, "workloads", workloads_view(
		    in->workloads));
	if (in->nrs > 0)
		json_object_set_new(ctx, "rollout_history", history(in));
	else if (in->nrevs > 0)
		json_object_set_new(ctx, "rollout_history", crev_history(in));
	if (in->pod != NULL)
		json_object_set_new(ctx, "pod", pod_view(in->pod));
	if (in->events != NULL)
		json_object_set_new(ctx, "events", events_view(in->events));
	if (in->nodes != NULL)
		json_object_set_new(ctx, "nodes", nodes_view(in->nodes, r));
	if (in->logs != NULL && in->log_lines > 0)
		json_object_set_new(ctx, "logs", log_view(in));
	if (in->pull != NULL)
		json_object_set_new(ctx, "registry", registry_view(in->pull));
	if (redact_json(r, ctx) == -1) {
		json_decref(ctx);
		return NULL;
	}
	if (budget < CONTEXT_MIN_BUDGET)
		budget = CONTEXT_MIN_BUDGET;
	while (size_of(ctx) > budget && shrink(ctx))
		*truncated = 1;
	return ctx;
}
