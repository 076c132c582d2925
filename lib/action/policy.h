/*
 * policy.h - the policy wall: what a proposed action may touch.
 *
 * Every proposal passes policy_check() before its dry-run and again when an
 * operator approves it.  The wall is configuration (policy.* in
 * remedyd.yaml, see docs/policy.md); no reply from a diagnosis backend can
 * move it.  A refusal names the rule that refused it (POLICY_RULE_*) and a
 * message saying what and where, both stored with the action.
 *
 * Checked, in this order:
 *   bad-request         kind/namespace/name missing, patch not a JSON Patch
 *   forbidden-kind      Secret, RBAC objects, admission webhooks and
 *                       policies, CRDs, Namespace, ServiceAccount, token
 *                       requests, CSRs: refused whatever the config says
 *   kind-not-allowed    kind not in policy.kinds
 *   namespace-denied    namespace in policy.namespaces.deny
 *   namespace-not-allowed  policy.namespaces.allow is set and lacks it
 *   not-incident-target the target is not the incident's root owner (nor
 *                       an object the incident names)
 *   delete-not-allowed  a DELETE of the object (policy.allow_delete false),
 *                       or an operation on the whole document ("")
 *   too-many-operations more than policy.max_operations write operations
 *   op-not-allowed      "move" / "copy" (they read from paths not reviewed)
 *   command-not-allowed a write to a container's command, args or env (or
 *                       of a whole container, containers list or pod spec
 *                       that holds them) while policy.allow_command_edits
 *                       is false, whatever policy.paths says
 *   path-not-allowed    a write operation outside policy.paths[kind]
 *   replicas-out-of-bounds  a value for .../replicas outside
 *                       [0, policy.max_replicas]
 * and then the steps after the patch (a forced rollback, store.h):
 *   bad-request         a step that is not a pod deletion with name, uid,
 *                       revision and owner_uid
 *   forced-rollback-not-allowed  policy.allow_forced_rollback is false, or
 *                       the patch does not revert the template (writes
 *                       nothing under /spec/template)
 *   not-incident-target the action's target is not a StatefulSet, or the
 *                       pod is not one of its pods (<name>-<ordinal>, same
 *                       namespace)
 *   too-many-operations more than POLICY_MAX_STEPS steps
 *
 * "test" operations never write and are allowed on any path; every other
 * operation counts towards max_operations and must match a path pattern.
 *
 * Path patterns are JSON Pointers (RFC 6901, "~1" for "/") in which a
 * segment "*" matches any one segment; a pattern matches the path itself
 * and everything below it: the pattern for container resources (segments
 * spec, template, spec, containers, "*", resources) allows
 * "/spec/template/spec/containers/0/resources/limits".
 *
 * Ownership: struct policy owns all its strings; policy_clear() frees them.
 */
#ifndef REMEDY_POLICY_H
#define REMEDY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define POLICY_MAX_KINDS	64
#define POLICY_MAX_PATHS	128	/* per kind */
#define POLICY_MAX_NAMESPACES	256

/* The annotation remedyd sets on every object it patches (value: the action
 * id); always allowed, it is how crash recovery knows what was applied. */
#define POLICY_ACTION_ANNOTATION	"remedy.dev/action-id"
#define POLICY_ACTION_ANNOTATION_PATH	"/metadata/annotations/remedy.dev~1action-id"

/* Rule names, as stored and shown. */
#define POLICY_RULE_BAD_REQUEST		"bad-request"
#define POLICY_RULE_FORBIDDEN_KIND	"forbidden-kind"
#define POLICY_RULE_KIND		"kind-not-allowed"
#define POLICY_RULE_NS_DENIED		"namespace-denied"
#define POLICY_RULE_NS_NOT_ALLOWED	"namespace-not-allowed"
#define POLICY_RULE_TARGET		"not-incident-target"
#define POLICY_RULE_DELETE		"delete-not-allowed"
#define POLICY_RULE_MAX_OPS		"too-many-operations"
#define POLICY_RULE_OP			"op-not-allowed"
#define POLICY_RULE_PATH		"path-not-allowed"
#define POLICY_RULE_COMMAND		"command-not-allowed"
#define POLICY_RULE_REPLICAS		"replicas-out-of-bounds"
#define POLICY_RULE_TOLERATION		"toleration-too-broad"
#define POLICY_RULE_SELECTOR		"selector-empty"
#define POLICY_RULE_FORCED_ROLLBACK	"forced-rollback-not-allowed"

/* Steps after the patch, at most (the store keeps 64 with the patch). */
#define POLICY_MAX_STEPS	63

/* Write paths for one kind; the kind is a target only when allowed. */
struct policy_kind {
	char	 *kind;			/* "Deployment" */
	int	  allowed;		/* listed in policy.kinds */
	char	**paths;		/* patterns */
	size_t	  npaths;
};

struct policy {
	struct policy_kind	*kinds;		/* kinds with paths or allowed */
	size_t			 nkinds;
	char			**ns_allow;	/* empty: every namespace */
	size_t			 nns_allow;
	char			**ns_deny;
	size_t			 nns_deny;
	int			 max_operations;	/* default 20 */
	int			 allow_delete;		/* default 0 */
	/* delete the pods of the action's own StatefulSet that are on its
	 * bad revision, after the template is reverted; default 1 */
	int			 allow_forced_rollback;
	/* writes to containers' command, args and env; default 0 */
	int			 allow_command_edits;
	int64_t			 max_replicas;		/* default 50 */
};

/* What an action wants to do, and to what. */
struct policy_request {
	const char	*kind;		/* target */
	const char	*ns;
	const char	*name;
	const char	*verb;		/* "patch" (NULL means patch) or "delete" */
	json_t		*patch;		/* JSON Patch array (ignored for delete) */
	json_t		*steps;		/* steps after the patch, or NULL */
	/* The target as the patch leaves it, when known (after
	 * normalisation), for the rules about the result: NULL skips them. */
	json_t		*result;
	/* The incident's root owner; NULL kind skips the target rule. */
	const char	*owner_kind;
	const char	*owner_ns;
	const char	*owner_name;
};

struct policy_verdict {
	const char	*rule;		/* POLICY_RULE_*, static; NULL: allowed */
	char		 message[512];	/* what and where, for humans */
};

/* Fill the documented defaults (docs/policy.md).  Returns 0, -1 on ENOMEM. */
int	policy_init_defaults(struct policy *);
void	policy_clear(struct policy *);

/* 1 when kind can never be allowed (Secret, ClusterRoleBinding, ...). */
int	policy_kind_forbidden(const char *kind);

/*
 * Check req against the policy.  Returns 0 (allowed, v->rule NULL) or 1
 * (refused: v->rule and v->message set).  Never fails otherwise.
 */
int	policy_check(const struct policy *, const struct policy_request *req,
	    struct policy_verdict *v);

/* A pattern match of one JSON Pointer (exposed for tests). */
int	policy_path_match(const char *pattern, const char *path);

/*
 * Config (lib/conf/config.c calls these for policy.KEY):
 *   kinds: [Kind, ...]            the allowed target kinds (replaces)
 *   paths: {Kind: [pattern, ...]} write paths of a kind (replaces that kind's)
 *   namespaces: {allow: [...], deny: [...]}
 *   max_operations: N   max_replicas: N   allow_delete: bool
 *   allow_forced_rollback: bool   allow_command_edits: bool
 * Errors are recorded on the tree with file:line:col and the key path.
 */
struct ytree;
struct yaml_node_s;
void	policy_config_key(struct policy *, struct ytree *, const char *key,
	    const char *keypath, struct yaml_node_s *value);
/* Keys policy_config_key() knows, NULL-terminated. */
extern const char *const policy_config_keys[];

#endif
