/*
 * normalize.c - proposal (JSON Patch or merge patch) -> canonical JSON Patch
 * with preconditions, its inverse, and the display changes.  See
 * normalize.h for the contract.
 *
 * The proposal is applied to a copy of the observed object and the result
 * diffed against the original, so whatever form a backend chose, what is
 * stored and sent is one shape: tests on every value it replaces or
 * removes and on /metadata/generation, then the writes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/normalize.h"
#include "action/policy.h"
#include "base/jsonpatch.h"
#include "base/util.h"

#define NPATH_MAX	2048	/* longest JSON Pointer we emit */

struct nctx {
	json_t	*patch;		/* forward ops */
	json_t	*groups;	/* inverse groups, forward order */
	json_t	*changes;
	size_t	 nops;
	char	*err;
	size_t	 errlen;
};

__attribute__((format(printf, 2, 3)))
static int
nerr(struct nctx *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
put_op(json_t *arr, const char *op, const char *path, json_t *value)
{
	json_t	*o;

	if (value != NULL)
		o = json_pack("{s:s, s:s, s:O}", "op", op, "path", path, "value",
		    value);
	else
		o = json_pack("{s:s, s:s}", "op", op, "path", path);
	return o == NULL ? -1 : json_array_append_new(arr, o);
}

/* Paths a proposal may never write, whatever the policy. */
static int
reserved_path(const char *path)
{
	static const char *const reserved[] = {
		"/metadata/generation", "/metadata/resourceVersion",
		"/metadata/uid", "/metadata/name", "/metadata/namespace",
		"/metadata/managedFields", "/status", "/kind", "/apiVersion",
	};
	size_t	i, n;

	for (i = 0; i < NELEM(reserved); i++) {
		n = strlen(reserved[i]);
		if (strncmp(path, reserved[i], n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

/*
 * One change at path: kind 'r' replace, 'a' add, 'd' remove.  Appends the
 * forward ops, one inverse group and one changes entry.
 */
static int
emit(struct nctx *c, int kind, const char *path, json_t *before,
    json_t *after)
{
	json_t	*g;
	int	 rc = 0;

	if (*path == '\0')
		return nerr(c, "the proposal replaces the whole object");
	if (reserved_path(path))
		return nerr(c, "the proposal changes %s, which only the API "
		    "server may write", path);
	if (++c->nops > NORMALIZE_MAX_OPS)
		return nerr(c, "the proposal changes more than %d values",
		    NORMALIZE_MAX_OPS);
	if ((g = json_array()) == NULL)
		return nerr(c, "out of memory");
	switch (kind) {
	case 'r':
		rc |= put_op(c->patch, "test", path, before);
		rc |= put_op(c->patch, "replace", path, after);
		rc |= put_op(g, "test", path, after);
		rc |= put_op(g, "replace", path, before);
		break;
	case 'a':
		rc |= put_op(c->patch, "add", path, after);
		rc |= put_op(g, "test", path, after);
		rc |= put_op(g, "remove", path, NULL);
		break;
	default:
		rc |= put_op(c->patch, "test", path, before);
		rc |= put_op(c->patch, "remove", path, NULL);
		rc |= put_op(g, "add", path, before);
		break;
	}
	rc |= json_array_append_new(c->groups, g);
	rc |= json_array_append_new(c->changes, json_pack("{s:s, s:O, s:O}",
	    "path", path, "before", before ? before : json_null(),
	    "after", after ? after : json_null()));
	return rc ? nerr(c, "out of memory") : 0;
}

static int
child_path(struct nctx *c, char *out, const char *path, const char *token)
{
	char	esc[NPATH_MAX];

	if (jsonptr_escape(token, esc, sizeof(esc)) == -1 ||
	    (size_t)snprintf(out, NPATH_MAX, "%s/%s", path, esc) >= NPATH_MAX)
		return nerr(c, "a path under %.200s is longer than %d bytes",
		    path, NPATH_MAX);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted keys of o (borrowed); caller frees the array. */
static const char **
sorted_keys(json_t *o, size_t *n)
{
	const char	**k;
	const char	 *key;
	json_t		 *v;
	size_t		  i = 0;

	*n = json_object_size(o);
	if ((k = calloc(*n + 1, sizeof(*k))) == NULL)
		return NULL;
	json_object_foreach(o, key, v)
		k[i++] = key;
	qsort(k, *n, sizeof(*k), cmp_str);
	return k;
}

static int diff(struct nctx *, json_t *, json_t *, const char *, int);

static int
diff_objects(struct nctx *c, json_t *a, json_t *b, const char *path,
    int depth)
{
	const char	**ka = NULL, **kb = NULL;
	char		 *sub = NULL;
	json_t		 *va, *vb;
	size_t		  na, nb, i;
	int		  rc = -1;

	if ((sub = malloc(NPATH_MAX)) == NULL ||
	    (ka = sorted_keys(a, &na)) == NULL ||
	    (kb = sorted_keys(b, &nb)) == NULL) {
		nerr(c, "out of memory");
		goto out;
	}
	for (i = 0; i < na; i++) {
		if (child_path(c, sub, path, ka[i]) == -1)
			goto out;
		va = json_object_get(a, ka[i]);
		if ((vb = json_object_get(b, ka[i])) == NULL) {
			if (emit(c, 'd', sub, va, NULL) == -1)
				goto out;
		} else if (diff(c, va, vb, sub, depth + 1) == -1)
			goto out;
	}
	for (i = 0; i < nb; i++) {
		if (json_object_get(a, kb[i]) != NULL)
			continue;
		if (child_path(c, sub, path, kb[i]) == -1 ||
		    emit(c, 'a', sub, NULL, json_object_get(b, kb[i])) == -1)
			goto out;
	}
	rc = 0;
out:
	free(ka);
	free(kb);
	free(sub);
	return rc;
}

static int
diff_arrays(struct nctx *c, json_t *a, json_t *b, const char *path,
    int depth)
{
	char	 idx[32], *sub;
	size_t	 na = json_array_size(a), nb = json_array_size(b), i;
	int	 rc = -1;

	if ((sub = malloc(NPATH_MAX)) == NULL)
		return nerr(c, "out of memory");
	for (i = 0; i < na && i < nb; i++) {
		snprintf(idx, sizeof(idx), "%zu", i);
		if (child_path(c, sub, path, idx) == -1 ||
		    diff(c, json_array_get(a, i), json_array_get(b, i), sub,
		    depth + 1) == -1)
			goto out;
	}
	for (i = na; i < nb; i++) {
		snprintf(idx, sizeof(idx), "%zu", i);
		if (child_path(c, sub, path, idx) == -1 ||
		    emit(c, 'a', sub, NULL, json_array_get(b, i)) == -1)
			goto out;
	}
	for (i = na; i > nb; i--) {
		snprintf(idx, sizeof(idx), "%zu", i - 1);
		if (child_path(c, sub, path, idx) == -1 ||
		    emit(c, 'd', sub, json_array_get(a, i - 1), NULL) == -1)
			goto out;
	}
	rc = 0;
out:
	free(sub);
	return rc;
}

/* RFC 6902 equality is numeric for numbers: 1 == 1.0. */
static int
same(json_t *a, json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal(a, b);
}

static int
diff(struct nctx *c, json_t *a, json_t *b, const char *path, int depth)
{
	if (depth > 64)
		return nerr(c, "%.200s: nested deeper than 64 levels", path);
	if (same(a, b))
		return 0;
	if (json_is_object(a) && json_is_object(b))
		return diff_objects(c, a, b, path, depth);
	if (json_is_array(a) && json_is_array(b))
		return diff_arrays(c, a, b, path, depth);
	return emit(c, 'r', path, a, b);
}

/* RFC 7386 MergePatch(target, patch); a new reference. */
static json_t *
merge_patch(json_t *target, json_t *patch, int depth)
{
	json_t		*res, *v, *m;
	const char	*key;

	if (!json_is_object(patch) || depth > 64)
		return json_deep_copy(patch);
	res = json_is_object(target) ? json_deep_copy(target) : json_object();
	if (res == NULL)
		return NULL;
	json_object_foreach(patch, key, v) {
		if (json_is_null(v)) {
			json_object_del(res, key);
			continue;
		}
		if ((m = merge_patch(json_object_get(res, key), v,
		    depth + 1)) == NULL ||
		    json_object_set_new(res, key, m) == -1) {
			json_decref(res);
			return NULL;
		}
	}
	return res;
}

void
normalized_clear(struct normalized *n)
{
	json_decref(n->patch);
	json_decref(n->inverse);
	json_decref(n->changes);
	json_decref(n->result);
	memset(n, 0, sizeof(*n));
}

int
normalize_proposal(json_t *observed, json_t *proposal, struct normalized *out,
    char *err, size_t errlen)
{
	struct nctx	 c;
	json_t		*gen, *result = NULL, *g;
	const char	*guard;
	char		 perr[512];
	size_t		 i, j;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.err = err;
	c.errlen = errlen;
	if (!json_is_object(observed)) {
		nerr(&c, "the observed object is not a JSON object");
		goto out;
	}
	gen = jsonptr_get(observed, "/metadata/generation");
	guard = "/metadata/generation";
	if (!json_is_integer(gen) && json_is_string(jsonptr_get(observed,
	    "/kind")) && (strcmp(json_string_value(jsonptr_get(observed,
	    "/kind")), "Pod") == 0 || strcmp(json_string_value(jsonptr_get(
	    observed, "/kind")), "Service") == 0) &&
	    json_is_string(jsonptr_get(observed, "/metadata/uid"))) {
		/* A Pod has no generation (before Kubernetes 1.33), a
		 * Service none at all: the same object, not one re-created
		 * under its name, is what the tests of each replaced value
		 * are about. */
		gen = jsonptr_get(observed, "/metadata/uid");
		guard = "/metadata/uid";
	} else if (!json_is_integer(gen)) {
		nerr(&c, "the observed object has no metadata.generation");
		goto out;
	}
	if (json_is_array(proposal)) {
		if (jsonpatch_validate(proposal, perr, sizeof(perr)) == -1) {
			nerr(&c, "the proposed JSON Patch is malformed: %s", perr);
			goto out;
		}
		if ((result = jsonpatch_apply(observed, proposal, perr,
		    sizeof(perr))) == NULL) {
			nerr(&c, "the proposed JSON Patch does not apply to the "
			    "object as observed: %s", perr);
			goto out;
		}
	} else if (json_is_object(proposal)) {
		if ((result = merge_patch(observed, proposal, 0)) == NULL) {
			nerr(&c, "out of memory");
			goto out;
		}
	} else {
		nerr(&c, "a proposal must be a JSON Patch (array) or a merge "
		    "patch (object)");
		goto out;
	}
	if ((c.patch = json_array()) == NULL ||
	    (c.groups = json_array()) == NULL ||
	    (c.changes = json_array()) == NULL ||
	    put_op(c.patch, "test", guard, gen) == -1) {
		nerr(&c, "out of memory");
		goto out;
	}
	if (diff(&c, observed, result, "", 0) == -1)
		goto out;
	if (c.nops == 0) {
		nerr(&c, "the proposal changes nothing");
		goto out;
	}
	if ((out->inverse = json_array()) == NULL ||
	    (strcmp(guard, "/metadata/uid") == 0 &&
	    put_op(out->inverse, "test", guard, gen) == -1)) {
		nerr(&c, "out of memory");
		goto out;
	}
	for (i = json_array_size(c.groups); i > 0; i--) {
		g = json_array_get(c.groups, i - 1);
		for (j = 0; j < json_array_size(g); j++)
			if (json_array_append(out->inverse,
			    json_array_get(g, j)) == -1) {
				nerr(&c, "out of memory");
				goto out;
			}
	}
	out->patch = c.patch;
	out->changes = c.changes;
	out->result = result;
	c.patch = c.changes = result = NULL;
	rc = 0;
out:
	if (rc == -1)
		normalized_clear(out);
	json_decref(result);
	json_decref(c.patch);
	json_decref(c.groups);
	json_decref(c.changes);
	return rc;
}

json_t *
normalize_stamp(json_t *patch, json_t *observed, int64_t action_id)
{
	json_t		*p = NULL, *op, *post = NULL, *basis = observed;
	const char	*path;
	char		 id[32], err[256];
	size_t		 i;

	snprintf(id, sizeof(id), "%lld", (long long)action_id);
	/* A patch stamped already (with id 0 when the action was proposed,
	 * in the form the object as read needed): set the id in place. */
	json_array_foreach(patch, i, op) {
		path = json_string_value(json_object_get(op, "path"));
		if (path == NULL || (strcmp(path, POLICY_ACTION_ANNOTATION_PATH)
		    != 0 && (strcmp(path, "/metadata/annotations") != 0 ||
		    json_object_get(json_object_get(op, "value"),
		    POLICY_ACTION_ANNOTATION) == NULL)))
			continue;
		if ((p = json_deep_copy(patch)) == NULL)
			return NULL;
		op = json_array_get(p, i);
		if (json_object_set_new(op, "value", strcmp(path,
		    POLICY_ACTION_ANNOTATION_PATH) == 0 ? json_string(id) :
		    json_pack("{s:s}", POLICY_ACTION_ANNOTATION, id)) == -1) {
			json_decref(p);
			return NULL;
		}
		return p;
	}
	/* The stamp goes after the patch's own operations: whether the
	 * annotations map exists is a question about the patched object. */
	if (observed != NULL &&
	    (post = jsonpatch_apply(observed, patch, err, sizeof(err))) != NULL)
		basis = post;
	if (basis != NULL && !json_is_object(jsonptr_get(basis, "/metadata")))
		goto fail;	/* nowhere to put an annotation */
	if ((p = json_array()) == NULL || json_array_extend(p, patch) == -1)
		goto fail;
	if (basis != NULL && !json_is_object(jsonptr_get(basis,
	    "/metadata/annotations")))
		op = json_pack("{s:s, s:s, s:{s:s}}", "op", "add", "path",
		    "/metadata/annotations", "value", POLICY_ACTION_ANNOTATION,
		    id);
	else
		op = json_pack("{s:s, s:s, s:s}", "op", "add", "path",
		    POLICY_ACTION_ANNOTATION_PATH, "value", id);
	if (op == NULL || json_array_append_new(p, op) == -1)
		goto fail;
	json_decref(post);
	return p;
fail:
	json_decref(post);
	json_decref(p);
	return NULL;
}

json_t *
normalize_inverse(json_t *patch)
{
	json_t		*groups = NULL, *inv = NULL, *g, *op, *prev = NULL;
	const char	*o, *path, *ppath;
	size_t		 i, j;
	int		 ok = 0, rc;

	if (!json_is_array(patch) || (groups = json_array()) == NULL)
		goto out;
	json_array_foreach(patch, i, op) {
		o = json_string_value(json_object_get(op, "op"));
		path = json_string_value(json_object_get(op, "path"));
		if (o == NULL || path == NULL)
			goto out;
		ppath = prev ? json_string_value(json_object_get(prev, "path")) :
		    NULL;
		if (strcmp(o, "test") == 0) {
			prev = op;
			continue;
		}
		if ((g = json_array()) == NULL ||
		    json_array_append_new(groups, g) == -1)
			goto out;
		rc = 0;
		if (strcmp(o, "add") == 0) {
			rc |= put_op(g, "test", path, json_object_get(op,
			    "value"));
			rc |= put_op(g, "remove", path, NULL);
		} else if (ppath == NULL || strcmp(ppath, path) != 0)
			goto out;	/* no recorded old value */
		else if (strcmp(o, "replace") == 0) {
			rc |= put_op(g, "test", path, json_object_get(op,
			    "value"));
			rc |= put_op(g, "replace", path, json_object_get(prev,
			    "value"));
		} else if (strcmp(o, "remove") == 0)
			rc |= put_op(g, "add", path, json_object_get(prev,
			    "value"));
		else
			goto out;
		if (rc)
			goto out;
		prev = NULL;
	}
	if (json_array_size(groups) == 0 || (inv = json_array()) == NULL)
		goto out;
	for (i = json_array_size(groups); i > 0; i--) {
		g = json_array_get(groups, i - 1);
		for (j = 0; j < json_array_size(g); j++)
			if (json_array_append(inv, json_array_get(g, j)) == -1)
				goto out;
	}
	ok = 1;
out:
	json_decref(groups);
	if (!ok) {
		json_decref(inv);
		inv = NULL;
	}
	return inv;
}

int64_t
normalize_stamped_id(json_t *observed)
{
	const char	*s;
	char		*end;
	long long	 v;

	s = json_string_value(jsonptr_get(observed,
	    POLICY_ACTION_ANNOTATION_PATH));
	if (s == NULL || *s < '1' || *s > '9')
		return 0;
	v = strtoll(s, &end, 10);
	return *end == '\0' && v > 0 ? (int64_t)v : 0;
}

int
normalize_preconditions(json_t *observed, json_t *patch, char *err,
    size_t errlen)
{
	json_t		*one, *op, *res;
	const char	*o;
	char		 perr[512];
	size_t		 i;

	if (!json_is_array(patch)) {
		snprintf(err, errlen, "the patch is not a JSON Patch array");
		return -1;
	}
	json_array_foreach(patch, i, op) {
		o = json_string_value(json_object_get(op, "op"));
		if (o == NULL || strcmp(o, "test") != 0)
			continue;
		if ((one = json_pack("[O]", op)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		res = jsonpatch_apply(observed, one, perr, sizeof(perr));
		json_decref(one);
		if (res == NULL) {
			snprintf(err, errlen, "operation %zu (test %.256s): %s",
			    i, json_string_value(json_object_get(op, "path")),
			    perr);
			return -1;
		}
		json_decref(res);
	}
	return 0;
}
