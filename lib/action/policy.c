/*
 * policy.c - the policy wall (see policy.h for the rules and their order)
 * and its configuration keys.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "action/policy.h"
#include "base/util.h"
#include "base/yamltree.h"

#define DEFAULT_MAX_OPERATIONS	20
#define DEFAULT_MAX_REPLICAS	50
#define POLICY_MAX_PATTERN	512

/* Kinds no configuration can allow: they hold or grant credentials, change
 * what the API server admits, or span the cluster. */
static const char *const forbidden_kinds[] = {
	"Secret", "ServiceAccount", "TokenRequest", "TokenReview",
	"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
	"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
	"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
	"CustomResourceDefinition", "APIService", "Namespace",
	"CertificateSigningRequest", "PodSecurityPolicy", "Node",
	"PersistentVolume", "StorageClass", "PriorityClass",
	"SelfSubjectAccessReview", "SubjectAccessReview",
	"LocalSubjectAccessReview",
};

#define POD_PATHS(pfx) \
	pfx "/containers/*/image", \
	pfx "/containers/*/resources", \
	pfx "/containers/*/livenessProbe", \
	pfx "/containers/*/readinessProbe", \
	pfx "/containers/*/startupProbe", \
	pfx "/initContainers/*/image", \
	pfx "/initContainers/*/resources"

/* Where a workload's pods may run: its nodeSelector, node affinity (never
 * pod affinity: that reads other workloads' labels) and tolerations. */
#define PLACEMENT_PATHS(pfx) \
	pfx "/nodeSelector", \
	pfx "/affinity/nodeAffinity", \
	pfx "/tolerations"

static const char *const workload_paths[] = {
	POD_PATHS("/spec/template/spec"),
	PLACEMENT_PATHS("/spec/template/spec"),
	"/spec/replicas",
	"/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt",
	"/metadata/annotations/kubernetes.io~1change-cause",
	NULL
};
static const char *const daemonset_paths[] = {
	POD_PATHS("/spec/template/spec"),
	PLACEMENT_PATHS("/spec/template/spec"),
	"/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt",
	"/metadata/annotations/kubernetes.io~1change-cause",
	NULL
};
static const char *const cronjob_paths[] = {
	POD_PATHS("/spec/jobTemplate/spec/template/spec"),
	"/spec/suspend",
	"/metadata/annotations/kubernetes.io~1change-cause",
	NULL
};
/* What kube-apiserver lets an update of a running Pod change
 * (ValidatePodUpdate): container and initContainer images, a lower
 * activeDeadlineSeconds, added tolerations (check_patch() allows only
 * "add" below /spec/tolerations). */
static const char *const pod_paths[] = {
	"/spec/containers/*/image",
	"/spec/initContainers/*/image",
	"/spec/activeDeadlineSeconds",
	"/spec/tolerations/*",
	NULL
};
/* A Service: its selector only (the rules point a selector that matches
 * no pod at the one workload serving its ports); never its ports, type or
 * addresses. */
static const char *const service_paths[] = {
	"/spec/selector",
	NULL
};
static const char *const hpa_paths[] = {
	"/spec/minReplicas",
	"/spec/maxReplicas",
	NULL
};

static const struct {
	const char		*kind;
	const char *const	*paths;
} default_kinds[] = {
	{ "Deployment",			workload_paths },
	{ "StatefulSet",		workload_paths },
	{ "DaemonSet",			daemonset_paths },
	{ "CronJob",			cronjob_paths },
	{ "Pod",			pod_paths },
	{ "HorizontalPodAutoscaler",	hpa_paths },
	{ "Service",			service_paths },
};

static const char *const default_ns_deny[] = {
	"kube-system", "kube-public", "kube-node-lease",
};

const char *const policy_config_keys[] = {
	"kinds", "paths", "namespaces", "max_operations", "max_replicas",
	"allow_delete", "allow_forced_rollback", "allow_command_edits", NULL
};

static void
free_strv(char **v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A heap copy of the n strings in src (NULL-terminated when n is 0). */
static char **
dup_strv(const char *const *src, size_t *n)
{
	char	**v;
	size_t	  i, len = *n;

	if (len == 0)
		while (src[len] != NULL)
			len++;
	if ((v = calloc(len + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if ((v[i] = strdup(src[i])) == NULL) {
			free_strv(v, i);
			return NULL;
		}
	}
	*n = len;
	return v;
}

int
policy_init_defaults(struct policy *p)
{
	size_t	i, n;

	memset(p, 0, sizeof(*p));
	p->max_operations = DEFAULT_MAX_OPERATIONS;
	p->max_replicas = DEFAULT_MAX_REPLICAS;
	p->allow_forced_rollback = 1;
	if ((p->kinds = calloc(NELEM(default_kinds), sizeof(*p->kinds))) ==
	    NULL)
		goto fail;
	for (i = 0; i < NELEM(default_kinds); i++) {
		n = 0;
		if ((p->kinds[i].kind = strdup(default_kinds[i].kind)) == NULL ||
		    (p->kinds[i].paths = dup_strv(default_kinds[i].paths,
		    &n)) == NULL) {
			free(p->kinds[i].kind);
			goto fail;
		}
		p->kinds[i].npaths = n;
		p->kinds[i].allowed = 1;
		p->nkinds++;
	}
	n = NELEM(default_ns_deny);
	if ((p->ns_deny = dup_strv(default_ns_deny, &n)) == NULL)
		goto fail;
	p->nns_deny = n;
	return 0;
fail:
	policy_clear(p);
	return -1;
}

void
policy_clear(struct policy *p)
{
	size_t	i;

	for (i = 0; i < p->nkinds; i++) {
		free(p->kinds[i].kind);
		free_strv(p->kinds[i].paths, p->kinds[i].npaths);
	}
	free(p->kinds);
	free_strv(p->ns_allow, p->nns_allow);
	free_strv(p->ns_deny, p->nns_deny);
	memset(p, 0, sizeof(*p));
}

int
policy_kind_forbidden(const char *kind)
{
	size_t	i;

	for (i = 0; i < NELEM(forbidden_kinds); i++)
		if (strcasecmp(kind, forbidden_kinds[i]) == 0)
			return 1;
	return 0;
}

/*
 * Segment-wise match: "*" matches one segment; the pattern matches the
 * path itself and anything below it (path continues with '/').
 */
int
policy_path_match(const char *pat, const char *path)
{
	const char	*pe, *qe;
	size_t		 pl, ql;

	if (*pat == '\0')
		return 0;	/* the whole document is never a write path */
	for (;;) {
		if (*pat == '\0')
			return *path == '\0' || *path == '/';
		if (*pat != '/' || *path != '/')
			return 0;
		pat++;
		path++;
		pe = strchr(pat, '/');
		qe = strchr(path, '/');
		pl = pe ? (size_t)(pe - pat) : strlen(pat);
		ql = qe ? (size_t)(qe - path) : strlen(path);
		if (!(pl == 1 && *pat == '*') &&
		    (pl != ql || memcmp(pat, path, pl) != 0))
			return 0;
		pat += pl;
		path += ql;
	}
}

static int
in_list(char **v, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static const struct policy_kind *
find_kind(const struct policy *p, const char *kind)
{
	size_t	i;

	for (i = 0; i < p->nkinds; i++)
		if (strcmp(p->kinds[i].kind, kind) == 0)
			return &p->kinds[i];
	return NULL;
}

__attribute__((format(printf, 3, 4)))
static int
refuse(struct policy_verdict *v, const char *rule, const char *fmt, ...)
{
	va_list	ap;

	v->rule = rule;
	va_start(ap, fmt);
	vsnprintf(v->message, sizeof(v->message), fmt, ap);
	va_end(ap);
	return 1;
}

/* The daemon's own annotation op: set remedy.dev/action-id, or create the
 * annotations holding only it.  Never counted, always allowed. */
static int
is_stamp(const char *op, const char *path, json_t *value)
{
	if (strcmp(op, "add") != 0 && strcmp(op, "replace") != 0)
		return 0;
	if (strcmp(path, POLICY_ACTION_ANNOTATION_PATH) == 0)
		return json_is_string(value);
	return strcmp(path, "/metadata/annotations") == 0 &&
	    json_is_object(value) && json_object_size(value) == 1 &&
	    json_is_string(json_object_get(value, POLICY_ACTION_ANNOTATION));
}

/*
 * The write at path (value: what it writes, NULL for remove) reaches what
 * a container runs or its environment: a segment command, args or env
 * right below an element of containers, initContainers or
 * ephemeralContainers, an exec handler or a command anywhere below such
 * an element (a probe's or a lifecycle hook's), or a value written above
 * that level (a whole container, a containers list, a pod spec or
 * template) that holds one.
 * Changing a command is a judgment on the image nobody can check from the
 * cluster, and env values are where secrets end up: no backend writes
 * them unless policy.allow_command_edits says so.
 */
static int
is_container_list(const char *seg, size_t n)
{
	return (n == 10 && strncmp(seg, "containers", n) == 0) ||
	    (n == 14 && strncmp(seg, "initContainers", n) == 0) ||
	    (n == 19 && strncmp(seg, "ephemeralContainers", n) == 0);
}

static int
holds_command(json_t *v, int depth)
{
	const char	*k;
	json_t		*x;
	size_t		 i;

	if (depth > 16)
		return 1;		/* too deep to tell: refuse */
	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			if (strcmp(k, "command") == 0 || strcmp(k, "args") ==
			    0 || strcmp(k, "env") == 0 || strcmp(k, "envFrom")
			    == 0)
				return 1;
			if (holds_command(x, depth + 1))
				return 1;
		}
	} else if (json_is_array(v))
		json_array_foreach(v, i, x)
			if (holds_command(x, depth + 1))
				return 1;
	return 0;
}

static int
writes_command(const char *path, json_t *value)
{
	const char	*seg = path, *end, *prev = NULL, *prev2 = NULL;
	size_t		 n, pn = 0, p2n = 0;
	int		 below = 0;	/* below an element of a container list */

	while (*seg == '/') {
		seg++;
		end = strchr(seg, '/');
		n = end ? (size_t)(end - seg) : strlen(seg);
		/* .../containers/N/command (args, env, envFrom) */
		if (prev2 != NULL && is_container_list(prev2, p2n) &&
		    ((n == 7 && strncmp(seg, "command", n) == 0) ||
		    (n == 4 && strncmp(seg, "args", n) == 0) ||
		    (n == 3 && strncmp(seg, "env", n) == 0) ||
		    (n == 7 && strncmp(seg, "envFrom", n) == 0)))
			return 1;
		if (prev2 != NULL && is_container_list(prev2, p2n))
			below = 1;
		/* a probe's or hook's exec handler runs a command in the
		 * container: .../containers/N/livenessProbe/exec/command */
		if (below && ((n == 4 && strncmp(seg, "exec", n) == 0) ||
		    (n == 7 && strncmp(seg, "command", n) == 0)))
			return 1;
		prev2 = prev;
		p2n = pn;
		prev = seg;
		pn = n;
		if (end == NULL)
			break;
		seg = end;
	}
	return value != NULL && holds_command(value, 0);
}

/*
 * The write at path (o: the op, value: what it writes) leaves a
 * toleration that tolerates every taint (no key: with operator Exists it
 * matches all taints, NoExecute ones of unreachable nodes included), or
 * removes a toleration's key.  Tolerations are written under
 * .../tolerations as a list, one element, or a field of one.
 */
static int
tolerates_all(const char *o, const char *path, json_t *value)
{
	const char	*t = strstr(path, "/tolerations"), *rest;
	json_t		*x;
	size_t		 i;

	if (t == NULL || (t[12] != '\0' && t[12] != '/'))
		return 0;
	rest = t + 12;
	if (strcmp(o, "remove") == 0) {
		/* removing a toleration or the list is fine, its key not */
		rest = strrchr(path, '/');
		return strcmp(rest, "/key") == 0 && rest > t + 12;
	}
	if (*rest == '\0') {			/* the whole list */
		if (!json_is_array(value))
			return 1;
		json_array_foreach(value, i, x)
			if (!json_is_string(json_object_get(x, "key")) ||
			    *json_string_value(json_object_get(x, "key")) ==
			    '\0')
				return 1;
		return 0;
	}
	rest = strchr(rest + 1, '/');
	if (rest == NULL)			/* one toleration */
		return !json_is_string(json_object_get(value, "key")) ||
		    *json_string_value(json_object_get(value, "key")) == '\0';
	if (strcmp(rest, "/key") == 0)		/* its key */
		return !json_is_string(value) ||
		    *json_string_value(value) == '\0';
	return 0;
}

/* A selector: a non-empty map of non-empty strings. */
static int
selector_ok(json_t *sel)
{
	const char	*k;
	json_t		*x;

	if (!json_is_object(sel) || json_object_size(sel) == 0)
		return 0;
	json_object_foreach(sel, k, x)
		if (!json_is_string(x) || *json_string_value(x) == '\0')
			return 0;
	return 1;
}

/*
 * The write empties a Service's selector, or removes it: the Service would
 * send its traffic nowhere (or to endpoints nobody manages).  Writes of
 * one label must be non-empty strings.
 */
static int
empties_selector(const char *o, const char *path, json_t *value)
{
	if (!policy_path_match("/spec/selector", path))
		return 0;
	if (strcmp(path, "/spec/selector") == 0)
		return strcmp(o, "remove") == 0 || !selector_ok(value);
	return strcmp(o, "remove") != 0 && (!json_is_string(value) ||
	    *json_string_value(value) == '\0');
}

/* Last segment of a pointer names a replica count. */
static int
is_replicas_path(const char *path)
{
	const char	*l = strrchr(path, '/');

	return l != NULL && (strcmp(l, "/replicas") == 0 ||
	    strcmp(l, "/minReplicas") == 0 || strcmp(l, "/maxReplicas") == 0);
}

static int
check_patch(const struct policy *p, const struct policy_kind *k,
    const struct policy_request *r, struct policy_verdict *v)
{
	json_t		*op;
	const char	*o, *path;
	json_t		*val;
	size_t		 i, j;
	int		 writes = 0;

	if (!json_is_array(r->patch))
		return refuse(v, POLICY_RULE_BAD_REQUEST, "the patch is not "
		    "a JSON Patch array");
	json_array_foreach(r->patch, i, op) {
		o = json_string_value(json_object_get(op, "op"));
		path = json_string_value(json_object_get(op, "path"));
		val = json_object_get(op, "value");
		if (o == NULL || path == NULL)
			return refuse(v, POLICY_RULE_BAD_REQUEST, "operation "
			    "%zu: needs string \"op\" and \"path\"", i);
		if (strcmp(o, "test") == 0)
			continue;
		if (is_stamp(o, path, val))
			continue;
		if (strcmp(o, "move") == 0 || strcmp(o, "copy") == 0)
			return refuse(v, POLICY_RULE_OP, "operation %zu: \"%s\" "
			    "is not allowed (only add, replace, remove, test)",
			    i, o);
		if (strcmp(o, "add") != 0 && strcmp(o, "replace") != 0 &&
		    strcmp(o, "remove") != 0)
			return refuse(v, POLICY_RULE_BAD_REQUEST, "operation "
			    "%zu: unknown op \"%.64s\"", i, o);
		if (*path == '\0')
			return refuse(v, POLICY_RULE_DELETE, "operation %zu: "
			    "%s of the whole %s %s/%s is not allowed", i, o,
			    r->kind, r->ns, r->name);
		if (++writes > p->max_operations)
			return refuse(v, POLICY_RULE_MAX_OPS, "the patch has more "
			    "than %d write operations (policy.max_operations)",
			    p->max_operations);
		if (!p->allow_command_edits && writes_command(path,
		    strcmp(o, "remove") == 0 ? NULL : val))
			return refuse(v, POLICY_RULE_COMMAND, "operation %zu: %s "
			    "%.256s writes a container's command, args or env "
			    "(policy.allow_command_edits is false)", i, o, path);
		for (j = 0; j < k->npaths; j++)
			if (policy_path_match(k->paths[j], path))
				break;
		if (j == k->npaths)
			return refuse(v, POLICY_RULE_PATH, "operation %zu: %s "
			    "%.256s is outside the paths allowed for %s "
			    "(policy.paths.%s)", i, o, path, r->kind, r->kind);
		if (strcmp(r->kind, "Pod") == 0 && strcmp(o, "add") != 0 &&
		    policy_path_match("/spec/tolerations", path))
			return refuse(v, POLICY_RULE_PATH, "operation %zu: %s "
			    "%.256s: a Pod's tolerations may only be added to",
			    i, o, path);
		if (tolerates_all(o, path, val))
			return refuse(v, POLICY_RULE_TOLERATION, "operation %zu: "
			    "%s %.256s leaves a toleration without a key, which "
			    "tolerates every taint", i, o, path);
		if (strcmp(r->kind, "Service") == 0 &&
		    empties_selector(o, path, val))
			return refuse(v, POLICY_RULE_SELECTOR, "operation %zu: "
			    "%s %.256s would leave the Service's selector empty "
			    "or a label without a value", i, o, path);
		if (is_replicas_path(path) && strcmp(o, "remove") != 0 &&
		    (!json_is_integer(val) || json_integer_value(val) < 0 ||
		    json_integer_value(val) > p->max_replicas))
			return refuse(v, POLICY_RULE_REPLICAS, "operation %zu: "
			    "%s must be an integer from 0 to %lld "
			    "(policy.max_replicas)", i, path,
			    (long long)p->max_replicas);
	}
	/* what the patch leaves: a selector that is still one */
	if (r->result != NULL && strcmp(r->kind, "Service") == 0 &&
	    !selector_ok(json_at(r->result, "spec.selector")))
		return refuse(v, POLICY_RULE_SELECTOR, "the patch leaves "
		    "Service %s/%s with an empty selector or a label without "
		    "a value", r->ns, r->name);
	return 0;
}

/* The patch writes under /spec/template: it reverts the template. */
static int
writes_template(json_t *patch)
{
	json_t		*op;
	const char	*o, *path;
	size_t		 i;

	json_array_foreach(patch, i, op) {
		o = json_string_value(json_object_get(op, "op"));
		path = json_string_value(json_object_get(op, "path"));
		if (o != NULL && path != NULL && strcmp(o, "test") != 0 &&
		    policy_path_match("/spec/template", path))
			return 1;
	}
	return 0;
}

/* name is "<set>-<ordinal>": a pod the StatefulSet set names. */
static int
pod_of_set(const char *name, const char *set)
{
	size_t	n = strlen(set);

	if (strncmp(name, set, n) != 0 || name[n] != '-' || name[n + 1] == '\0')
		return 0;
	for (name += n + 1; *name != '\0'; name++)
		if (*name < '0' || *name > '9')
			return 0;
	return 1;
}

/*
 * The steps after the patch: each deletes one pod of the action's own
 * StatefulSet, on the revision being rolled back, after the template
 * revert (a forced rollback, policy.allow_forced_rollback).
 */
static int
check_steps(const struct policy *p, const struct policy_request *r,
    struct policy_verdict *v)
{
	static const char *const need[] = { "name", "uid", "revision",
					    "owner_uid" };
	json_t		*step;
	const char	*kind, *name, *val;
	size_t		 i, k;

	if (r->steps == NULL)
		return 0;
	if (!json_is_array(r->steps))
		return refuse(v, POLICY_RULE_BAD_REQUEST, "the steps are not "
		    "an array");
	if (json_array_size(r->steps) > POLICY_MAX_STEPS)
		return refuse(v, POLICY_RULE_MAX_OPS, "more than %d steps",
		    POLICY_MAX_STEPS);
	json_array_foreach(r->steps, i, step) {
		kind = json_string_value(json_object_get(step, "kind"));
		if (kind == NULL || strcmp(kind, "delete-pod") != 0)
			return refuse(v, POLICY_RULE_BAD_REQUEST, "step %zu: "
			    "unknown kind \"%.64s\" (only delete-pod)", i + 2,
			    kind ? kind : "");
		for (k = 0; k < NELEM(need); k++) {
			val = json_string_value(json_object_get(step, need[k]));
			if (val == NULL || *val == '\0')
				return refuse(v, POLICY_RULE_BAD_REQUEST,
				    "step %zu (delete-pod): needs a string %s",
				    i + 2, need[k]);
		}
		name = json_string_value(json_object_get(step, "name"));
		if (!p->allow_forced_rollback)
			return refuse(v, POLICY_RULE_FORCED_ROLLBACK, "step "
			    "%zu: deleting pod %.128s/%.128s of a forced "
			    "rollback is not allowed "
			    "(policy.allow_forced_rollback is false)", i + 2,
			    r->ns, name);
		if (strcmp(r->kind, "StatefulSet") != 0)
			return refuse(v, POLICY_RULE_TARGET, "step %zu: only "
			    "the forced rollback of a StatefulSet deletes pods, "
			    "and the target is a %.64s", i + 2, r->kind);
		if (!pod_of_set(name, r->name))
			return refuse(v, POLICY_RULE_TARGET, "step %zu: pod "
			    "%.128s/%.128s is not a pod of StatefulSet "
			    "%.128s/%.128s", i + 2, r->ns, name, r->ns,
			    r->name);
		if (!writes_template(r->patch))
			return refuse(v, POLICY_RULE_FORCED_ROLLBACK, "step "
			    "%zu: pods are deleted only after the template is "
			    "reverted, and the patch writes nothing under "
			    "/spec/template", i + 2);
	}
	return 0;
}

int
policy_check(const struct policy *p, const struct policy_request *r,
    struct policy_verdict *v)
{
	const struct policy_kind	*k;
	const char			*verb = r->verb ? r->verb : "patch";

	v->rule = NULL;
	v->message[0] = '\0';
	if (r->kind == NULL || *r->kind == '\0' || r->ns == NULL ||
	    *r->ns == '\0' || r->name == NULL || *r->name == '\0')
		return refuse(v, POLICY_RULE_BAD_REQUEST, "the target needs a "
		    "kind, a namespace and a name");
	if (policy_kind_forbidden(r->kind))
		return refuse(v, POLICY_RULE_FORBIDDEN_KIND, "%.64s %.128s/%.128s:"
		    " remedy never writes a %.64s, whatever the policy says",
		    r->kind, r->ns, r->name, r->kind);
	if ((k = find_kind(p, r->kind)) == NULL || !k->allowed)
		return refuse(v, POLICY_RULE_KIND, "%.64s %.128s/%.128s: kind "
		    "%.64s is not in policy.kinds", r->kind, r->ns, r->name,
		    r->kind);
	if (in_list(p->ns_deny, p->nns_deny, r->ns))
		return refuse(v, POLICY_RULE_NS_DENIED, "namespace %.128s is in "
		    "policy.namespaces.deny", r->ns);
	if (p->nns_allow > 0 && !in_list(p->ns_allow, p->nns_allow, r->ns))
		return refuse(v, POLICY_RULE_NS_NOT_ALLOWED, "namespace %.128s "
		    "is not in policy.namespaces.allow", r->ns);
	if (r->owner_kind != NULL && (strcmp(r->owner_kind, r->kind) != 0 ||
	    r->owner_ns == NULL || strcmp(r->owner_ns, r->ns) != 0 ||
	    r->owner_name == NULL || strcmp(r->owner_name, r->name) != 0))
		return refuse(v, POLICY_RULE_TARGET, "%.64s %.128s/%.128s is not"
		    " the incident's root owner %.64s %.128s/%.128s", r->kind,
		    r->ns, r->name, r->owner_kind,
		    r->owner_ns ? r->owner_ns : "?",
		    r->owner_name ? r->owner_name : "?");
	if (strcmp(verb, "delete") == 0) {
		if (!p->allow_delete)
			return refuse(v, POLICY_RULE_DELETE, "deleting %.64s "
			    "%.128s/%.128s is not allowed (policy.allow_delete "
			    "is false)", r->kind, r->ns, r->name);
		return 0;
	}
	if (strcmp(verb, "patch") != 0)
		return refuse(v, POLICY_RULE_BAD_REQUEST, "unknown verb \"%.32s\"",
		    verb);
	if (check_patch(p, k, r, v) != 0)
		return 1;
	return check_steps(p, r, v);
}

/* --- configuration --- */

/*
 * A sequence of at most max non-empty strings for keypath; NULL after
 * recording an error.  *n set.
 */
static char **
yaml_strv(struct ytree *t, const char *keypath, yaml_node_t *v, size_t max,
    size_t *n)
{
	yaml_node_item_t	*it;
	yaml_node_t		*item;
	const char		*s;
	char			**out;
	size_t			 len, i;

	if (v->type != YAML_SEQUENCE_NODE) {
		ytree_error(t, v, "%s: expected a sequence, got %s", keypath,
		    ytree_kind(v));
		return NULL;
	}
	len = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (len > max) {
		ytree_error(t, v, "%s: more than %zu items", keypath, max);
		return NULL;
	}
	if ((out = calloc(len + 1, sizeof(*out))) == NULL) {
		ytree_error(t, v, "%s: out of memory", keypath);
		return NULL;
	}
	for (i = 0, it = v->data.sequence.items.start; i < len; i++, it++) {
		item = ytree_node(t, *it);
		if ((s = ytree_str(item)) == NULL || *s == '\0' ||
		    strlen(s) != item->data.scalar.length ||
		    strlen(s) > POLICY_MAX_PATTERN) {
			ytree_error(t, item, "%s[%zu]: expected a non-empty "
			    "string of at most %d bytes", keypath, i,
			    POLICY_MAX_PATTERN);
			free_strv(out, i);
			return NULL;
		}
		if ((out[i] = strdup(s)) == NULL) {
			ytree_error(t, item, "%s: out of memory", keypath);
			free_strv(out, i);
			return NULL;
		}
	}
	*n = len;
	return out;
}

/* The entry for kind, added (not allowed, no paths) when missing. */
static struct policy_kind *
kind_entry(struct policy *p, const char *kind)
{
	struct policy_kind	*nk;
	size_t			 i;

	for (i = 0; i < p->nkinds; i++)
		if (strcmp(p->kinds[i].kind, kind) == 0)
			return &p->kinds[i];
	if (p->nkinds >= POLICY_MAX_KINDS)
		return NULL;
	if ((nk = reallocarray(p->kinds, p->nkinds + 1, sizeof(*nk))) == NULL)
		return NULL;
	p->kinds = nk;
	memset(&nk[p->nkinds], 0, sizeof(*nk));
	if ((nk[p->nkinds].kind = strdup(kind)) == NULL)
		return NULL;
	return &p->kinds[p->nkinds++];
}

static void
cfg_kinds(struct policy *p, struct ytree *t, const char *keypath,
    yaml_node_t *v)
{
	struct policy_kind	*k;
	yaml_node_item_t	*it;
	char			**kinds;
	size_t			 n = 0, i;

	if ((kinds = yaml_strv(t, keypath, v, POLICY_MAX_KINDS, &n)) == NULL)
		return;
	for (i = 0, it = v->data.sequence.items.start; i < n; i++, it++) {
		if (policy_kind_forbidden(kinds[i])) {
			ytree_error(t, ytree_node(t, *it), "%s[%zu]: %s can "
			    "never be allowed (a forbidden kind, see "
			    "docs/policy.md)", keypath, i, kinds[i]);
			goto out;
		}
	}
	for (i = 0; i < p->nkinds; i++)
		p->kinds[i].allowed = 0;
	for (i = 0; i < n; i++) {
		if ((k = kind_entry(p, kinds[i])) == NULL) {
			ytree_error(t, v, "%s: too many kinds or out of memory",
			    keypath);
			goto out;
		}
		k->allowed = 1;
	}
out:
	free_strv(kinds, n);
}

static void
cfg_paths(struct policy *p, struct ytree *t, const char *keypath,
    yaml_node_t *v)
{
	struct policy_kind	*k;
	yaml_node_pair_t	*pr;
	yaml_node_t		*kn, *vn;
	const char		*kind;
	char			 sub[128], **paths;
	size_t			 n, i;

	if (v->type != YAML_MAPPING_NODE) {
		ytree_error(t, v, "%s: expected a mapping of kind to paths, got "
		    "%s", keypath, ytree_kind(v));
		return;
	}
	for (pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
	    pr++) {
		kn = ytree_node(t, pr->key);
		vn = ytree_node(t, pr->value);
		if ((kind = ytree_str(kn)) == NULL || *kind == '\0') {
			ytree_error(t, kn, "%s: expected a kind name", keypath);
			continue;
		}
		snprintf(sub, sizeof(sub), "%s.%.64s", keypath, kind);
		if (policy_kind_forbidden(kind)) {
			ytree_error(t, kn, "%s: %s can never be allowed (a "
			    "forbidden kind)", sub, kind);
			continue;
		}
		n = 0;
		if ((paths = yaml_strv(t, sub, vn, POLICY_MAX_PATHS, &n)) ==
		    NULL)
			continue;
		for (i = 0; i < n; i++) {
			if (paths[i][0] != '/') {
				ytree_error(t, vn, "%s[%zu]: \"%s\" is not a "
				    "JSON Pointer (starts with '/')", sub, i,
				    paths[i]);
				break;
			}
		}
		if (i < n || (k = kind_entry(p, kind)) == NULL) {
			if (i == n)
				ytree_error(t, kn, "%s: too many kinds or out "
				    "of memory", sub);
			free_strv(paths, n);
			continue;
		}
		free_strv(k->paths, k->npaths);
		k->paths = paths;
		k->npaths = n;
	}
}

static void
cfg_namespaces(struct policy *p, struct ytree *t, const char *keypath,
    yaml_node_t *v)
{
	yaml_node_t	*a, *d;
	yaml_node_pair_t *pr;
	const char	*key;
	char		 sub[128], **list;
	size_t		 n;

	if (v->type != YAML_MAPPING_NODE) {
		ytree_error(t, v, "%s: expected a mapping with allow and deny, "
		    "got %s", keypath, ytree_kind(v));
		return;
	}
	for (pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
	    pr++) {
		key = ytree_str(ytree_node(t, pr->key));
		if (key == NULL || (strcmp(key, "allow") != 0 &&
		    strcmp(key, "deny") != 0))
			ytree_error(t, ytree_node(t, pr->key), "unknown key "
			    "\"%s\" in %s (known: allow, deny)",
			    key ? key : "?", keypath);
	}
	if ((a = ytree_get(t, v, "allow")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.allow", keypath);
		n = 0;
		if (ytree_is_null(a)) {
			free_strv(p->ns_allow, p->nns_allow);
			p->ns_allow = NULL;
			p->nns_allow = 0;
		} else if ((list = yaml_strv(t, sub, a, POLICY_MAX_NAMESPACES,
		    &n)) != NULL) {
			free_strv(p->ns_allow, p->nns_allow);
			p->ns_allow = list;
			p->nns_allow = n;
		}
	}
	if ((d = ytree_get(t, v, "deny")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.deny", keypath);
		n = 0;
		if (ytree_is_null(d)) {
			free_strv(p->ns_deny, p->nns_deny);
			p->ns_deny = NULL;
			p->nns_deny = 0;
		} else if ((list = yaml_strv(t, sub, d, POLICY_MAX_NAMESPACES,
		    &n)) != NULL) {
			free_strv(p->ns_deny, p->nns_deny);
			p->ns_deny = list;
			p->nns_deny = n;
		}
	}
}

static int
yaml_int(struct ytree *t, const char *keypath, yaml_node_t *v, long long lo,
    long long hi, long long *out)
{
	const char	*s;
	char		*end;
	long long	 n;

	if ((s = ytree_str(v)) == NULL) {
		ytree_error(t, v, "%s: expected an integer, got %s", keypath,
		    ytree_kind(v));
		return -1;
	}
	n = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || n < lo || n > hi) {
		ytree_error(t, v, "%s: \"%s\" is not an integer from %lld to "
		    "%lld", keypath, s, lo, hi);
		return -1;
	}
	*out = n;
	return 0;
}

void
policy_config_key(struct policy *p, struct ytree *t, const char *key,
    const char *keypath, yaml_node_t *v)
{
	long long	 n;

	if (strcmp(key, "kinds") == 0)
		cfg_kinds(p, t, keypath, v);
	else if (strcmp(key, "paths") == 0)
		cfg_paths(p, t, keypath, v);
	else if (strcmp(key, "namespaces") == 0)
		cfg_namespaces(p, t, keypath, v);
	else if (strcmp(key, "max_operations") == 0) {
		if (yaml_int(t, keypath, v, 1, 1000, &n) == 0)
			p->max_operations = (int)n;
	} else if (strcmp(key, "max_replicas") == 0) {
		if (yaml_int(t, keypath, v, 0, 1000000, &n) == 0)
			p->max_replicas = n;
	} else if (strcmp(key, "allow_delete") == 0) {
		ytree_bool(t, v, keypath, ytree_str(v), 0, &p->allow_delete);
	} else if (strcmp(key, "allow_forced_rollback") == 0) {
		ytree_bool(t, v, keypath, ytree_str(v), 0,
		    &p->allow_forced_rollback);
	} else if (strcmp(key, "allow_command_edits") == 0) {
		ytree_bool(t, v, keypath, ytree_str(v), 0,
		    &p->allow_command_edits);
	} else
		ytree_error(t, v, "unknown key \"%s\" in policy", key);
}
