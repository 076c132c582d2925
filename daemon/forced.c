/*
 * forced.c - the StatefulSet forced rollback: which pods a template revert
 * leaves stuck, and the DELETE that removes exactly one of them.
 *
 * With podManagementPolicy OrderedReady (the default) a StatefulSet's
 * controller walks its pods in order and waits at the first one that is
 * not Running and Ready.  A pod created from a bad revision (a missing
 * image tag) never becomes Ready, so reverting the template is not enough:
 * the controller keeps waiting for that pod and never re-creates it from
 * the reverted template (Kubernetes documentation, StatefulSet rolling
 * updates, "Forced rollback").  The pods on the bad revision must be
 * deleted too, after the revert.
 *
 * So a proposal that reverts a StatefulSet's template gets one step per
 * pod that the StatefulSet controls (controller ownerReference uid) and
 * that carries controller-revision-hash == status.updateRevision while
 * updateRevision != currentRevision, each naming the pod, its uid and the
 * bad revision.  The step's DELETE sends DeleteOptions preconditions on
 * the uid and the resourceVersion just read, so a pod the controller
 * re-created under the same name is never deleted (409), and nothing is
 * deleted twice.
 *
 * With policy.allow_forced_rollback false the wall would refuse those
 * steps, so none is added: the action reverts the template only, and its
 * root cause names the pods the operator deletes by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "diagnose/diagnose.h"
#include "engine_int.h"
#include "kube/informer.h"
#include "kube/objects.h"

#define REV_LABEL	"controller-revision-hash"

/* Step objects sorted by pod name, highest ordinal first: the order the
 * controller itself updates them in. */
static int
cmp_steps(const void *a, const void *b)
{
	const char	*x = json_string_value(json_object_get(
			    *(json_t *const *)a, "name"));
	const char	*y = json_string_value(json_object_get(
			    *(json_t *const *)b, "name"));
	size_t		 lx = strlen(x), ly = strlen(y);

	if (lx != ly)
		return lx < ly ? 1 : -1;
	return -strcmp(x, y);
}

/* The patch writes under /spec/template. */
static int
reverts_template(json_t *patch)
{
	json_t		*op;
	const char	*o, *path;
	size_t		 i;

	json_array_foreach(patch, i, op) {
		o = json_str_at(op, "op");
		path = json_str_at(op, "path");
		if (o != NULL && path != NULL && strcmp(o, "test") != 0 &&
		    strncmp(path, "/spec/template", 14) == 0 &&
		    (path[14] == '\0' || path[14] == '/'))
			return 1;
	}
	return 0;
}

/*
 * policy.allow_forced_rollback is false: say in the root cause and the
 * evidence which pods the operator deletes by hand after the revert.
 */
static int
by_hand(struct proposal *p, json_t *steps, const char *rev)
{
	json_t	*st;
	char	 names[512], *cause;
	size_t	 i, n = 0, cap;
	int	 len;

	names[0] = '\0';
	json_array_foreach(steps, i, st) {
		n += snprintf(names + n, n < sizeof(names) ? sizeof(names) - n :
		    0, "%s%s", i ? " " : "", json_str_at(st, "name"));
		if (n >= sizeof(names))
			break;
	}
	cap = (p->root_cause ? strlen(p->root_cause) : 0) + sizeof(names) +
	    512;
	if ((cause = malloc(cap)) == NULL)
		return -1;
	len = snprintf(cause, cap, "%s%spolicy.allow_forced_rollback is "
	    "false, so this action only reverts the template: after it is "
	    "applied, delete the pods still on revision %.64s by hand "
	    "(kubectl -n %.128s delete pod %s), or the StatefulSet controller "
	    "keeps waiting for them.", p->root_cause ? p->root_cause : "",
	    p->root_cause ? " " : "", rev, p->ns, names);
	if (len < 0) {
		free(cause);
		return -1;
	}
	free(p->root_cause);
	p->root_cause = cause;
	if (p->evidence != NULL)
		json_array_append_new(p->evidence, json_sprintf("pods of "
		    "StatefulSet %s/%s on revision %s: %s (not deleted: "
		    "policy.allow_forced_rollback is false)", p->ns, p->name,
		    rev, names));
	return 0;
}

int
engine_forced_rollback(struct engine *e, json_t *owner, struct proposal *p)
{
	const char	*uid, *upd, *cur, *pmp, *strategy, *hash;
	json_t		*steps = NULL, *st, **v = NULL;
	struct kpod	*pod;
	size_t		 i, pos, n = 0, k;
	void		*it;
	char		 more[200];

	if (p->patch == NULL || p->kind == NULL ||
	    strcmp(p->kind, "StatefulSet") != 0 || owner == NULL ||
	    !reverts_template(p->patch))
		return 0;
	uid = json_str_at(owner, "metadata.uid");
	upd = json_str_at(owner, "status.updateRevision");
	cur = json_str_at(owner, "status.currentRevision");
	pmp = json_str_at(owner, "spec.podManagementPolicy");
	strategy = json_str_at(owner, "spec.updateStrategy.type");
	if (uid == NULL || upd == NULL || *upd == '\0' ||
	    (cur != NULL && strcmp(cur, upd) == 0) ||
	    (pmp != NULL && strcmp(pmp, "Parallel") == 0) ||
	    (strategy != NULL && strcmp(strategy, "RollingUpdate") != 0))
		return 0;
	if ((steps = json_array()) == NULL)
		return -1;
	for (i = 0; i < e->ninf; i++) {
		pos = 0;
		while (informer_next(e->pods[i], &pos, &it)) {
			pod = it;
			if (pod->m.owner.uid == NULL || pod->m.uid == NULL ||
			    strcmp(pod->m.owner.uid, uid) != 0 ||
			    strcmp(pod->m.ns, p->ns) != 0 || pod->deleting ||
			    (hash = kpod_label(pod, REV_LABEL)) == NULL ||
			    strcmp(hash, upd) != 0)
				continue;
			if ((st = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind",
			    "delete-pod", "name", pod->m.name, "uid",
			    pod->m.uid, "revision", upd, "owner_uid", uid)) ==
			    NULL || json_array_append_new(steps, st) == -1)
				goto nomem;
		}
	}
	if ((n = json_array_size(steps)) == 0) {
		json_decref(steps);
		return 0;
	}
	/* highest ordinal first, as the controller goes */
	if ((v = calloc(n, sizeof(*v))) == NULL)
		goto nomem;
	for (k = 0; k < n; k++)
		v[k] = json_incref(json_array_get(steps, k));
	qsort(v, n, sizeof(*v), cmp_steps);
	json_array_clear(steps);
	for (k = 0; k < n; k++)
		if (json_array_append_new(steps, v[k]) == -1) {
			while (++k < n)
				json_decref(v[k]);
			goto nomem;
		}
	free(v);
	v = NULL;
	if (!e->cfg->policy.allow_forced_rollback) {
		/* the wall would refuse the steps: the template revert alone,
		 * and the operator is told what is left to do */
		if (by_hand(p, steps, upd) == -1)
			goto nomem;
		json_decref(steps);
		return 0;
	}
	snprintf(more, sizeof(more), "; then delete %zu pod%s stuck on "
	    "revision %.64s (forced rollback)", n, n == 1 ? "" : "s", upd);
	if (strlen(p->summary) + strlen(more) < sizeof(p->summary))
		memcpy(p->summary + strlen(p->summary), more,
		    strlen(more) + 1);
	if (p->evidence != NULL)
		json_array_append_new(p->evidence, json_sprintf("StatefulSet "
		    "%s/%s: podManagementPolicy %s, updateRevision %s, "
		    "currentRevision %s: after the template revert the "
		    "controller waits for the pods on %s", p->ns, p->name,
		    pmp ? pmp : "OrderedReady", upd, cur ? cur : "-", upd));
	json_decref(p->steps);
	p->steps = steps;
	return 0;
nomem:
	free(v);
	json_decref(steps);
	return -1;
}

int
engine_pod_delete(struct engine *e, const char *ns, const char *name,
    const char *uid, const char *rv, int dry_run, kube_done_cb cb, void *arg)
{
	char	 path[1024];
	char	*body = NULL;
	json_t	*opts;
	int	 rc = -1;

	if (snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", ns,
	    name) >= (int)sizeof(path) ||
	    (dry_run && kube_query_add(path, sizeof(path), "dryRun", "All") ==
	    -1))
		return -1;
	/*
	 * A DELETE that carries DeleteOptions is decoded from its body alone:
	 * the API server ignores the query's dryRun then (seen on v1.20, where
	 * `?dryRun=All` with a preconditions body deleted the pod).  So the
	 * body says dryRun too; the query keeps it visible in audit logs.
	 */
	opts = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
	    "DeleteOptions", "preconditions", "uid", uid);
	if (opts != NULL && dry_run)
		json_object_set_new(opts, "dryRun", json_pack("[s]", "All"));
	if (opts != NULL && rv != NULL)
		json_object_set_new(json_object_get(opts, "preconditions"),
		    "resourceVersion", json_string(rv));
	if (opts == NULL || (body = json_canon(opts)) == NULL)
		goto out;
	if (kube_request(e->kube, "DELETE", path, "application/json", body, cb,
	    arg) != NULL)
		rc = 0;
out:
	json_decref(opts);
	free(body);
	return rc;
}
