/*
 * schedule.c - pods the scheduler cannot place, decided from the Nodes
 * remedyd caches (in->nodes), not from the scheduler's message alone.
 *
 *   - Resource requests: when the pod template's total cpu or memory
 *     request (each container's requests, its limits where it sets no
 *     request, as the API server defaults them) is larger than the
 *     allocatable of every schedulable Node, no node can ever hold a pod:
 *     the explanation gives the numbers; requests are never patched (what
 *     the workload needs is not remedy's to guess).
 *   - nodeSelector: each entry that no Node's labels satisfy.  When Nodes
 *     carry the same key with other values, the entry's value becomes the
 *     closest of them (Levenshtein distance, ties broken by name; risk
 *     medium: a typo like disktype=ssd-fast for ssd); when no Node carries
 *     the key at all, the entry is removed (risk high: the pods may then
 *     run on nodes the constraint meant to avoid).  A patch is proposed
 *     only when some schedulable Node satisfies the selector it leaves.
 *     Entries each met by some Node but never together are explained.
 *   - Required node affinity (nodeSelectorTerms): when no Node meets the
 *     nodeSelector and any term, and there is one term only, each of its
 *     `In` expressions that no Node meets is treated like a nodeSelector
 *     entry: the value closest to one Nodes carry for the key takes that
 *     value (risk medium), an expression whose key no Node carries is
 *     removed (risk high; when that leaves the term empty, which matches
 *     no node, the required affinity itself is removed).  Other operators,
 *     or several terms (which term was meant is a judgment call): the
 *     explanation names, per term, the first expression no Node meets and
 *     the values Nodes carry for its key; no patch.
 * Deployment, StatefulSet and DaemonSet templates; the patch writes
 * /spec/template/spec/nodeSelector/KEY, or below
 * /spec/template/spec/affinity/nodeAffinity.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "base/util.h"
#include "registry/pull.h"

#define SEL_PATH	"/spec/template/spec/nodeSelector"

/* A cpu quantity in millicores ("500m", "2", "1.5", 2), or -1. */
static int64_t
cpu_milli(json_t *q)
{
	const char	*s;
	char		*end;
	double		 v;

	if (json_is_integer(q))
		return json_integer_value(q) * 1000;
	if (json_is_real(q))
		return (int64_t)(json_real_value(q) * 1000.0);
	if ((s = json_string_value(q)) == NULL || *s == '\0' || *s == '-')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0 || v > 9e12)
		return -1;
	if (strcmp(end, "m") == 0)
		return (int64_t)v;
	if (*end == '\0')
		return (int64_t)(v * 1000.0);
	return -1;
}

/* A memory quantity in bytes, or -1. */
static int64_t
mem_bytes(json_t *q)
{
	if (json_is_integer(q))
		return json_integer_value(q);
	return kquantity(json_string_value(q));
}

/* The request of resource res of one container: requests, else limits
 * (the API server's default), else 0. */
static int64_t
container_request(json_t *c, const char *res, int cpu)
{
	json_t	*q = json_object_get(json_at(c, "resources.requests"), res);
	int64_t	 v;

	if (q == NULL)
		q = json_object_get(json_at(c, "resources.limits"), res);
	if (q == NULL)
		return 0;
	v = cpu ? cpu_milli(q) : mem_bytes(q);
	return v < 0 ? 0 : v;
}

/* Node n takes new pods (spec.unschedulable not true). */
static int
schedulable(json_t *n)
{
	return !json_is_true(json_at(n, "spec.unschedulable"));
}

/* Node n's labels satisfy every entry of sel, skipping the entry named
 * skip (NULL: none). */
static int
node_matches(json_t *n, json_t *sel, const char *skip)
{
	json_t		*labels = json_at(n, "metadata.labels"), *v;
	const char	*k, *have;

	json_object_foreach(sel, k, v) {
		if (skip != NULL && strcmp(k, skip) == 0)
			continue;
		have = json_string_value(json_object_get(labels, k));
		if (have == NULL || !json_is_string(v) ||
		    strcmp(have, json_string_value(v)) != 0)
			return 0;
	}
	return 1;
}

/* "key" as one JSON Pointer segment (~ as ~0, / as ~1) into buf. */
static int
ptr_segment(const char *key, char *buf, size_t len)
{
	size_t	n = 0;

	for (; *key; key++) {
		if (n + 3 >= len)
			return -1;
		if (*key == '~' || *key == '/') {
			buf[n++] = '~';
			buf[n++] = *key == '~' ? '0' : '1';
		} else
			buf[n++] = *key;
	}
	buf[n] = '\0';
	return 0;
}

/* "4 cores" / "1536Mi"-ish text for the explanation. */
static void
amount_text(int64_t v, int cpu, char *buf, size_t len)
{
	if (cpu)
		snprintf(buf, len, "%lldm", (long long)v);
	else if (v % 1048576 == 0)
		snprintf(buf, len, "%lldMi", (long long)(v / 1048576));
	else
		snprintf(buf, len, "%lld bytes", (long long)v);
}

/*
 * The template's total request of cpu or memory against the largest
 * allocatable of a schedulable Node: 1 and the explanation in why when no
 * Node is large enough.
 */
static int
too_large(json_t *containers, json_t *nodes, int cpu, char *why,
    size_t len)
{
	const char	*res = cpu ? "cpu" : "memory", *best = NULL;
	json_t		*c, *n;
	int64_t		 want = 0, have, max = -1;
	size_t		 i;
	char		 a[48], b[48];

	json_array_foreach(containers, i, c)
		want += container_request(c, res, cpu);
	if (want == 0)
		return 0;
	json_array_foreach(nodes, i, n) {
		json_t *q = json_object_get(json_at(n, "status.allocatable"),
		    res);

		if (!schedulable(n) || q == NULL)
			continue;
		have = cpu ? cpu_milli(q) : mem_bytes(q);
		if (have > max) {
			max = have;
			best = json_str_at(n, "name");
		}
	}
	if (max < 0 || want <= max)
		return 0;
	amount_text(want, cpu, a, sizeof(a));
	amount_text(max, cpu, b, sizeof(b));
	snprintf(why, len, "each pod requests %s of %s in total, more than "
	    "any node can allocate: the largest allocatable %s is %s (node "
	    "%s). No node will ever fit it; lower the request or add a larger "
	    "node (remedy does not change requests)", a, res, res, b,
	    best ? best : "?");
	return 1;
}

/* A node of the cluster satisfies sel entirely. */
static int
some_node_matches(json_t *nodes, json_t *sel)
{
	json_t	*n;
	size_t	 i;

	json_array_foreach(nodes, i, n)
		if (schedulable(n) && node_matches(n, sel, NULL))
			return 1;
	return 0;
}

#define AFFINITY_TERMS	"spec.template.spec.affinity.nodeAffinity." \
			"requiredDuringSchedulingIgnoredDuringExecution." \
			"nodeSelectorTerms"
#define REQUIRED_PATH	"/spec/template/spec/affinity/nodeAffinity/" \
			"requiredDuringSchedulingIgnoredDuringExecution"

/* One matchExpressions entry holds for labels (the scheduler's operators;
 * Gt and Lt compare integers). */
static int
expr_ok(json_t *labels, json_t *e)
{
	const char	*key = json_str_at(e, "key"), *op = json_str_at(e,
			    "operator"), *have;
	json_t		*v;
	size_t		 i;

	if (key == NULL || op == NULL)
		return 0;
	have = json_string_value(json_object_get(labels, key));
	if (strcmp(op, "Exists") == 0)
		return have != NULL;
	if (strcmp(op, "DoesNotExist") == 0)
		return have == NULL;
	if (strcmp(op, "In") == 0 || strcmp(op, "NotIn") == 0) {
		int in = 0;

		json_array_foreach(json_object_get(e, "values"), i, v)
			if (have != NULL && json_is_string(v) &&
			    strcmp(json_string_value(v), have) == 0)
				in = 1;
		return strcmp(op, "In") == 0 ? in : !in;
	}
	if ((strcmp(op, "Gt") == 0 || strcmp(op, "Lt") == 0) && have != NULL) {
		const char	*want = json_string_value(json_array_get(
				    json_object_get(e, "values"), 0));
		long long	 h, w;
		char		*end;

		if (want == NULL)
			return 0;
		h = strtoll(have, &end, 10);
		if (*end != '\0')
			return 0;
		w = strtoll(want, &end, 10);
		if (*end != '\0')
			return 0;
		return strcmp(op, "Gt") == 0 ? h > w : h < w;
	}
	return 0;
}

static int
term_ok(json_t *n, json_t *term)
{
	json_t	*labels = json_at(n, "metadata.labels"), *e;
	size_t	 i;

	json_array_foreach(json_object_get(term, "matchExpressions"), i, e)
		if (!expr_ok(labels, e))
			return 0;
	return 1;
}

/* Some schedulable Node meets sel and (when there are terms) a term. */
static int
some_node_fits(json_t *nodes, json_t *sel, json_t *terms)
{
	json_t	*n, *t;
	size_t	 i, j;

	json_array_foreach(nodes, i, n) {
		if (!schedulable(n) || (sel != NULL && !node_matches(n, sel,
		    NULL)))
			continue;
		if (json_array_size(terms) == 0)
			return 1;
		json_array_foreach(terms, j, t)
			if (term_ok(n, t))
				return 1;
	}
	return 0;
}

/* "term 1: disktype In [ssdd], nodes carry disktype=hdd, ssd; ..." */
static void
affinity_text(json_t *nodes, json_t *terms, char *buf, size_t len)
{
	json_t		*t, *e, *n, *v;
	const char	*key, *have;
	size_t		 i, j, k, m, off = 0;

	buf[0] = '\0';
	json_array_foreach(terms, i, t) {
		json_array_foreach(json_object_get(t, "matchExpressions"), j,
		    e) {
			json_array_foreach(nodes, k, n)
				if (schedulable(n) && expr_ok(json_at(n,
				    "metadata.labels"), e))
					break;
			if (k < json_array_size(nodes))
				continue;
			key = json_str_at(e, "key");
			off += (size_t)snprintf(buf + off, off < len ? len - off :
			    0, "%sterm %zu: %s %s [", off ? "; " : "", i + 1,
			    key ? key : "?", json_str_at(e, "operator") ?
			    json_str_at(e, "operator") : "?");
			json_array_foreach(json_object_get(e, "values"), m, v)
				off += (size_t)snprintf(buf + off, off < len ?
				    len - off : 0, "%s%s", m ? ", " : "",
				    json_string_value(v) ? json_string_value(v) :
				    "?");
			off += (size_t)snprintf(buf + off, off < len ? len - off :
			    0, "] holds on no node, which carry");
			m = 0;
			json_array_foreach(nodes, k, n) {
				have = key ? json_string_value(json_object_get(
				    json_at(n, "metadata.labels"), key)) : NULL;
				if (have == NULL || !schedulable(n))
					continue;
				off += (size_t)snprintf(buf + off, off < len ?
				    len - off : 0, "%s %s=%s", m++ ? "," : "",
				    key, have);
			}
			if (m == 0)
				off += (size_t)snprintf(buf + off, off < len ?
				    len - off : 0, " no label %s", key ? key :
				    "?");
			break;
		}
	}
	if (off >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

/* The value Nodes carry for key closest to one of values (edit distance,
 * ties by name), with the index of that value in *vi; NULL when no
 * schedulable Node carries key. */
static const char *
closest_value(json_t *nodes, const char *key, json_t *values, size_t *vi)
{
	json_t		*n, *v;
	const char	*have, *pick = NULL;
	size_t		 i, j, bestd = (size_t)-1;
	int		 d;

	*vi = 0;
	json_array_foreach(nodes, i, n) {
		have = json_string_value(json_object_get(json_at(n,
		    "metadata.labels"), key));
		if (!schedulable(n) || have == NULL)
			continue;
		json_array_foreach(values, j, v) {
			if (!json_is_string(v) || (d = tag_distance(
			    json_string_value(v), have)) < 0)
				continue;
			if ((size_t)d < bestd || ((size_t)d == bestd &&
			    pick != NULL && strcmp(have, pick) < 0)) {
				bestd = (size_t)d;
				pick = have;
				*vi = j;
			}
		}
		if (json_array_size(values) == 0 && pick == NULL)
			pick = have;	/* no values to compare: any */
	}
	return pick;
}

/*
 * The one required term no Node meets: fix each In expression no Node
 * meets (see the top of the file) into p, with the text for humans.
 * Returns 1 when fixed (some Node then fits), 0 when not (nothing
 * written), -1 on allocation failure.
 */
static int
affinity_fix(const struct diag_input *in, json_t *sel, json_t *terms,
    struct proposal *p, char *text, size_t tlen, int *removed)
{
	json_t		*after = NULL, *exprs, *e, *n, *v, *aterm;
	const char	*key, *op, *pick;
	char		 path[512];
	size_t		 j, k, vi, tn = 0, nfix = 0;
	int		 rc = -1;

	*removed = 0;
	if (json_array_size(terms) != 1 || (after = json_deep_copy(terms)) ==
	    NULL)
		return json_array_size(terms) != 1 ? 0 : -1;
	aterm = json_array_get(after, 0);
	exprs = json_object_get(aterm, "matchExpressions");
	if ((p->patch = json_array()) == NULL ||
	    (p->changes = json_array()) == NULL)
		goto out;
	/* from the last expression down: a removal does not move the
	 * indices still to be written */
	for (j = json_array_size(exprs); j-- > 0;) {
		e = json_array_get(exprs, j);
		json_array_foreach(in->nodes, k, n)
			if (schedulable(n) && expr_ok(json_at(n,
			    "metadata.labels"), e))
				break;
		if (k < json_array_size(in->nodes))
			continue;			/* some node meets it */
		key = json_str_at(e, "key");
		op = json_str_at(e, "operator");
		if (key == NULL || op == NULL || strcmp(op, "In") != 0) {
			rc = 0;				/* a judgment call */
			goto out;
		}
		if ((pick = closest_value(in->nodes, key, json_object_get(e,
		    "values"), &vi)) != NULL) {
			v = json_array_get(json_object_get(e, "values"), vi);
			snprintf(path, sizeof(path), "%s/nodeSelectorTerms/0/"
			    "matchExpressions/%zu/values/%zu", REQUIRED_PATH,
			    j, vi);
			if (remedy_replace(p->patch, p->changes, path,
			    json_string_value(v), pick) == -1 ||
			    json_array_set_new(json_object_get(e, "values"), vi,
			    json_string(pick)) == -1)
				goto out;
			tn += (size_t)snprintf(text + tn, tn < tlen ? tlen -
			    tn : 0, "%srequired node affinity %s In [%s] "
			    "matches no node, which carry %s=%s (closest)",
			    tn ? "; " : "", key, json_string_value(v), key,
			    pick);
		} else {
			snprintf(path, sizeof(path), "%s/nodeSelectorTerms/0/"
			    "matchExpressions/%zu", REQUIRED_PATH, j);
			if (remedy_op(p->patch, "test", path, json_incref(e)) ==
			    -1 || remedy_op(p->patch, "remove", path,
			    json_null()) == -1 || json_array_append_new(
			    p->changes, json_pack("{s:s, s:O, s:n}", "path",
			    path, "before", e, "after")) == -1)
				goto out;
			json_object_del(json_array_get(p->patch,
			    json_array_size(p->patch) - 1), "value");
			tn += (size_t)snprintf(text + tn, tn < tlen ? tlen -
			    tn : 0, "%sno node carries label %s at all "
			    "(required node affinity %s In [...])", tn ? "; " :
			    "", key, key);
			json_array_remove(exprs, j);
			(*removed)++;
		}
		nfix++;
	}
	rc = 0;
	if (nfix == 0)
		goto out;
	if (json_array_size(exprs) == 0 &&
	    json_array_size(json_object_get(aterm, "matchFields")) == 0) {
		/* an empty term matches no node: without its one term the
		 * required affinity goes, as a whole */
		json_t *req = json_at(in->owner, "spec.template.spec.affinity."
		    "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");

		json_array_clear(p->patch);
		json_array_clear(p->changes);
		if (remedy_op(p->patch, "test", REQUIRED_PATH,
		    json_incref(req)) == -1 || remedy_op(p->patch, "remove",
		    REQUIRED_PATH, json_null()) == -1 ||
		    json_array_append_new(p->changes, json_pack("{s:s, s:O, "
		    "s:n}", "path", REQUIRED_PATH, "before", req, "after")) ==
		    -1) {
			rc = -1;
			goto out;
		}
		json_object_del(json_array_get(p->patch, 1), "value");
		json_array_clear(after);
	}
	if (some_node_fits(in->nodes, json_is_object(sel) ? sel : NULL,
	    after))
		rc = 1;
out:
	if (rc != 1)
		remedy_drop_patch(p);
	json_decref(after);
	return rc;
}

/* Append to cause, within clen. */
static void
say(char *cause, size_t clen, const char *text)
{
	size_t n = strlen(cause);

	snprintf(cause + n, clen > n ? clen - n : 0, " %s", text);
}

int
remedy_node_selector(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	const struct incident	*inc = in->inc;
	json_t			*sel, *after = NULL, *n, *v, *conts, *terms;
	const char		*k, *have, *pick;
	char			 why[768], seg[256], path[320], text[600];
	size_t			 i, d, bestd, removed = 0, changed = 0, tn = 0;
	int			 dist;

	if (in->owner == NULL) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%s %s/%s could not be read; check its scheduling "
		    "constraints by hand", inc->kind, inc->ns, inc->name);
		return 0;
	}
	if (json_array_size(in->nodes) == 0) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "no Node is known to remedy, so which constraint no node "
		    "meets cannot be told; see the scheduler's message");
		return 0;
	}
	conts = json_at(in->owner, "spec.template.spec.containers");
	if (too_large(conts, in->nodes, 1, why, sizeof(why)) ||
	    too_large(conts, in->nodes, 0, why, sizeof(why))) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%.480s", why);
		say(cause, clen, why);
		return 0;
	}
	sel = json_at(in->owner, "spec.template.spec.nodeSelector");
	terms = json_at(in->owner, AFFINITY_TERMS);
	if (json_array_size(terms) > 0 && (!json_is_object(sel) ||
	    some_node_matches(in->nodes, sel)) && !some_node_fits(in->nodes,
	    json_is_object(sel) ? sel : NULL, terms)) {
		int	fixed, loose;

		if ((fixed = affinity_fix(in, sel, terms, p, text,
		    sizeof(text), &loose)) == -1)
			return -1;
		if (fixed == 1 && remedy_api_path(inc->kind, inc->ns,
		    inc->name, p->api_path, sizeof(p->api_path)) == 0) {
			p->risk = loose ? "high" : "medium";
			snprintf(p->summary, sizeof(p->summary), "%s the "
			    "required node affinity of %s %s/%s so that a node "
			    "meets it: %.300s", loose ? "Loosen" : "Correct",
			    inc->kind, inc->ns, inc->name, text);
			snprintf(why, sizeof(why), "No node of the cluster "
			    "meets its required node affinity: %.500s.%s", text,
			    loose ? " Removing the constraint lets the pods run "
			    "on nodes it may have been meant to keep them off "
			    "(risk high): check that none of them is wrong for "
			    "this workload." : "");
			say(cause, clen, why);
			return 0;
		}
		remedy_drop_patch(p);
		affinity_text(in->nodes, terms, text, sizeof(text));
		snprintf(why, sizeof(why), "no node meets any term of the "
		    "required node affinity of %s %s/%s (%.400s); which term or "
		    "value was meant is a judgment call, change it by hand",
		    inc->kind, inc->ns, inc->name, text[0] ? text : "the terms "
		    "fail together, not one expression alone");
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%.480s", why);
		say(cause, clen, why);
		return 0;
	}
	if (!json_is_object(sel) || json_object_size(sel) == 0 ||
	    some_node_matches(in->nodes, sel)) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "some node meets the nodeSelector and the requests of %s "
		    "%s/%s; the scheduler's message says what else stops it "
		    "(taints, affinity, volumes)", inc->kind, inc->ns,
		    inc->name);
		return 0;
	}
	if ((after = json_deep_copy(sel)) == NULL ||
	    (p->patch = json_array()) == NULL ||
	    (p->changes = json_array()) == NULL)
		goto oom;
	text[0] = '\0';
	json_object_foreach(sel, k, v) {
		if (!json_is_string(v))
			continue;
		/* met by some node on its own: not this entry */
		json_array_foreach(in->nodes, i, n) {
			have = json_string_value(json_object_get(json_at(n,
			    "metadata.labels"), k));
			if (schedulable(n) && have != NULL &&
			    strcmp(have, json_string_value(v)) == 0)
				break;
		}
		if (i < json_array_size(in->nodes))
			continue;
		pick = NULL;
		bestd = (size_t)-1;
		json_array_foreach(in->nodes, i, n) {
			have = json_string_value(json_object_get(json_at(n,
			    "metadata.labels"), k));
			if (!schedulable(n) || have == NULL)
				continue;
			/* label values are at most 63 bytes: within
			 * tag_distance()'s 128 */
			if ((dist = tag_distance(json_string_value(v), have)) <
			    0)
				continue;
			d = (size_t)dist;
			if (d < bestd || (d == bestd && pick != NULL &&
			    strcmp(have, pick) < 0)) {
				bestd = d;
				pick = have;
			}
		}
		if (ptr_segment(k, seg, sizeof(seg)) == -1)
			continue;
		snprintf(path, sizeof(path), "%s/%s", SEL_PATH, seg);
		if (pick != NULL) {
			if (remedy_replace(p->patch, p->changes, path,
			    json_string_value(v), pick) == -1 ||
			    json_object_set_new(after, k, json_string(pick)) ==
			    -1)
				goto oom;
			tn += (size_t)snprintf(text + tn, tn < sizeof(text) ?
			    sizeof(text) - tn : 0, "%s%s=%s matches no node, "
			    "which carry %s=%s (closest)", tn ? "; " : "", k,
			    json_string_value(v), k, pick);
			changed++;
		} else {
			if (remedy_op(p->patch, "test", path,
			    json_incref(v)) == -1 ||
			    remedy_op(p->patch, "remove", path, json_null()) ==
			    -1 || json_array_append_new(p->changes,
			    json_pack("{s:s, s:O, s:n}", "path", path, "before",
			    v, "after")) == -1)
				goto oom;
			/* a remove op carries no value */
			json_object_del(json_array_get(p->patch,
			    json_array_size(p->patch) - 1), "value");
			json_object_del(after, k);
			tn += (size_t)snprintf(text + tn, tn < sizeof(text) ?
			    sizeof(text) - tn : 0, "%sno node carries label %s "
			    "at all (%s=%s)", tn ? "; " : "", k, k,
			    json_string_value(v));
			removed++;
		}
	}
	if (changed + removed == 0 || !some_node_fits(in->nodes, after,
	    terms)) {
		remedy_drop_patch(p);
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "no node meets the nodeSelector of %s %s/%s, but each of "
		    "its entries is met by some node, or no change of one entry "
		    "makes a node fit; choose the nodes by hand", inc->kind,
		    inc->ns, inc->name);
		say(cause, clen, "No node carries every label of the "
		    "nodeSelector at once.");
		json_decref(after);
		return 0;
	}
	json_decref(after);
	if (remedy_api_path(inc->kind, inc->ns, inc->name, p->api_path,
	    sizeof(p->api_path)) == -1) {
		remedy_drop_patch(p);
		return 0;
	}
	p->risk = removed ? "high" : "medium";
	snprintf(p->summary, sizeof(p->summary), "%s the nodeSelector of %s "
	    "%s/%s so that a node meets it: %.300s", removed ? "Loosen" :
	    "Correct", inc->kind, inc->ns, inc->name, text);
	snprintf(why, sizeof(why), "No node of the cluster meets its "
	    "nodeSelector: %.500s.%s", text, removed ? " Removing an entry "
	    "lets the pods run on nodes the constraint may have been meant "
	    "to keep them off (risk high): check that none of them is wrong "
	    "for this workload." : "");
	say(cause, clen, why);
	return 0;
oom:
	json_decref(after);
	return -1;
}
