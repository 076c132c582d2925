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
 * Deployment, StatefulSet and DaemonSet templates; the patch writes
 * /spec/template/spec/nodeSelector/KEY only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "base/util.h"

#define SEL_PATH	"/spec/template/spec/nodeSelector"
#define MAX_VALUE	63	/* a label value's longest valid length */

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

/* Levenshtein distance of two label values (at most MAX_VALUE long; a
 * longer one is too far to be a typo). */
static size_t
distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j, prev, cur, t;
	size_t	row[MAX_VALUE + 2];

	if (la > MAX_VALUE || lb > MAX_VALUE)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = row[j];
			t = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < t)
				t = row[j] + 1;
			if (row[j - 1] + 1 < t)
				t = row[j - 1] + 1;
			row[j] = t;
			prev = cur;
		}
	}
	return row[lb];
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
	json_t			*sel, *after = NULL, *n, *v, *conts;
	const char		*k, *have, *pick;
	char			 why[768], seg[256], path[320], text[600];
	size_t			 i, d, bestd, removed = 0, changed = 0, tn = 0;

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
			d = distance(json_string_value(v), have);
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
	if (changed + removed == 0 || !some_node_matches(in->nodes, after)) {
		json_decref(p->patch);
		json_decref(p->changes);
		p->patch = p->changes = NULL;
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
		json_decref(p->patch);
		json_decref(p->changes);
		p->patch = p->changes = NULL;
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
