/*
 * reply.c - see reply.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/normalize.h"
#include "base/util.h"
#include "diagnose/jschema.h"
#include "diagnose/reply.h"

/*
 * Models wrap JSON in prose or ``` fences even when told not to.  Take the
 * first '{' and decode one value from there (jansson stops at its end with
 * JSON_DISABLE_EOF_CHECK); what follows is ignored.
 */
json_t *
reply_parse(const char *text, char *err, size_t errlen)
{
	json_error_t	 je;
	const char	*p;
	json_t		*doc;

	if (text == NULL || *text == '\0') {
		snprintf(err, errlen, "the reply is empty");
		return NULL;
	}
	if (strlen(text) > REPLY_MAX_TEXT) {
		snprintf(err, errlen, "the reply is longer than %d bytes",
		    REPLY_MAX_TEXT);
		return NULL;
	}
	if ((p = strchr(text, '{')) == NULL) {
		snprintf(err, errlen, "the reply holds no JSON object");
		return NULL;
	}
	doc = json_loads(p, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES,
	    &je);
	if (doc == NULL) {
		snprintf(err, errlen, "the reply is not valid JSON: %s at "
		    "line %d column %d", je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		snprintf(err, errlen, "the reply is not a JSON object");
		return NULL;
	}
	return doc;
}

int
reply_validate(json_t *doc, char *err, size_t errlen)
{
	char	why[512];
	json_t	*schema;

	if ((schema = diagnosis_schema()) == NULL) {
		snprintf(err, errlen, "out of memory loading the schema");
		return -1;
	}
	if (jschema_validate(schema, doc, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "the reply does not match the schema: "
		    "%s", why);
		return -1;
	}
	return 0;
}

static const char *
risk_of(const char *s)
{
	if (s != NULL && strcmp(s, "low") == 0)
		return "low";
	if (s != NULL && strcmp(s, "medium") == 0)
		return "medium";
	return "high";
}

/* Root cause (root_cause + explanation) and evidence from the reply. */
static int
fill_common(json_t *doc, const struct reply_target *t, struct proposal *p)
{
	const char	*rc = json_string_value(json_object_get(doc,
			    "root_cause"));
	const char	*ex = json_string_value(json_object_get(doc,
			    "explanation"));
	size_t		 n;

	p->kind = t->kind;
	p->ns = t->ns;
	p->name = t->name;
	snprintf(p->api_path, sizeof(p->api_path), "%s",
	    t->api_path ? t->api_path : "");
	n = strlen(rc ? rc : "") + strlen(ex ? ex : "") + 2;
	if ((p->root_cause = malloc(n)) == NULL)
		return -1;
	snprintf(p->root_cause, n, "%s%s%s", rc ? rc : "",
	    rc && *rc && ex && *ex ? " " : "", ex ? ex : "");
	p->evidence = json_deep_copy(json_object_get(doc, "evidence"));
	if (p->evidence == NULL && (p->evidence = json_array()) == NULL)
		return -1;
	return 0;
}

int
reply_explain(json_t *doc, const struct reply_target *t, struct proposal *p)
{
	const char *rc = json_string_value(json_object_get(doc, "root_cause"));

	memset(p, 0, sizeof(*p));
	p->risk = "low";
	snprintf(p->summary, sizeof(p->summary), "No automatic fix: %s",
	    rc ? rc : "see the explanation");
	if (fill_common(doc, t, p) == -1) {
		proposal_clear(p);
		return -1;
	}
	return 0;
}

int
reply_action(json_t *doc, size_t i, const struct reply_target *t,
    json_t *observed, const struct policy *pol, struct proposal *p,
    char *err, size_t errlen)
{
	json_t			*a = json_array_get(json_object_get(doc,
				    "actions"), i);
	struct normalized	 nz;
	struct policy_request	 req;
	struct policy_verdict	 v;
	const char		*kind, *ns, *name, *ptype;
	char			 why[512];
	json_t			*patch;

	memset(p, 0, sizeof(*p));
	memset(&nz, 0, sizeof(nz));
	if (a == NULL) {
		snprintf(err, errlen, "action %zu: no such action", i);
		return -1;
	}
	kind = json_str_at(a, "target.kind");
	ns = json_str_at(a, "target.namespace");
	name = json_str_at(a, "target.name");
	ptype = json_string_value(json_object_get(a, "patch_type"));
	patch = json_object_get(a, "patch");
	if (kind == NULL || ns == NULL || name == NULL || ptype == NULL ||
	    patch == NULL) {
		snprintf(err, errlen, "action %zu: target or patch missing", i);
		return -1;
	}
	if (strcmp(ptype, "json-patch") == 0 ? !json_is_array(patch) :
	    !json_is_object(patch)) {
		snprintf(err, errlen, "action %zu: patch_type %s does not "
		    "match a patch that is a JSON %s", i, ptype,
		    json_is_array(patch) ? "array" : "object");
		return -1;
	}
	/* The wall first, on the patch as proposed: a refused target or
	 * path never gets as far as being compared with an object (the
	 * object may not even have the path the proposal writes). */
	memset(&req, 0, sizeof(req));
	req.kind = kind;
	req.ns = ns;
	req.name = name;
	req.verb = "patch";
	req.owner_kind = t->kind;
	req.owner_ns = t->ns;
	req.owner_name = t->name;
	req.patch = json_is_array(patch) ? patch : NULL;
	if (req.patch != NULL && policy_check(pol, &req, &v) == 1 &&
	    strcmp(v.rule, POLICY_RULE_TARGET) != 0) {
		snprintf(err, errlen, "action %zu refused by policy (%s): %s",
		    i, v.rule, v.message);
		return -1;
	}
	if (policy_kind_forbidden(kind) || strcmp(kind, t->kind) != 0 ||
	    strcmp(ns, t->ns) != 0 || strcmp(name, t->name) != 0) {
		req.patch = json_is_array(patch) ? patch : NULL;
		if (req.patch != NULL && policy_check(pol, &req, &v) == 1)
			snprintf(err, errlen, "action %zu refused by policy "
			    "(%s): %s", i, v.rule, v.message);
		else
			snprintf(err, errlen, "action %zu refused by policy "
			    "(%s): %s %s/%s is not the incident's %s %s/%s",
			    i, POLICY_RULE_TARGET, kind, ns, name, t->kind,
			    t->ns, t->name);
		return -1;
	}
	if (observed == NULL) {
		snprintf(err, errlen, "action %zu: %s %s/%s could not be read "
		    "to check the patch against", i, kind, ns, name);
		return -1;
	}
	if (normalize_proposal(observed, patch, &nz, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "action %zu: patch does not apply to "
		    "%s %s/%s: %s", i, kind, ns, name, why);
		return -1;
	}
	req.patch = nz.patch;
	req.result = nz.result;
	if (policy_check(pol, &req, &v) == 1) {
		snprintf(err, errlen, "action %zu refused by policy (%s): %s",
		    i, v.rule, v.message);
		normalized_clear(&nz);
		return -1;
	}
	p->risk = risk_of(json_string_value(json_object_get(a, "risk")));
	snprintf(p->summary, sizeof(p->summary), "%s",
	    json_string_value(json_object_get(a, "summary")));
	if (fill_common(doc, t, p) == -1) {
		normalized_clear(&nz);
		proposal_clear(p);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->patch = nz.patch;
	p->changes = nz.changes;
	p->inverse = nz.inverse;
	p->proposed = json_deep_copy(patch);	/* NULL: not kept, no harm */
	nz.patch = nz.changes = nz.inverse = NULL;
	normalized_clear(&nz);
	return 0;
}
