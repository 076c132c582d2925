/*
 * test_normalize.c - proposals (JSON Patch and merge patch) become one
 * canonical JSON Patch with tests, and the inverse undoes it: for each case
 * apply(observed, patch) is the intended object and
 * apply(apply(observed, patch), inverse) is observed again, through the
 * real JSON Patch engine (lib/base/jsonpatch.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "action/normalize.h"
#include "action/policy.h"
#include "base/jsonpatch.h"
#include "base/util.h"
#include "t.h"

static const char observed_text[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
    " \"metadata\":{\"name\":\"web\",\"namespace\":\"demo\",\"generation\":4,"
    "  \"resourceVersion\":\"991\",\"annotations\":{\"a\":\"1\"}},"
    " \"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"containers\":["
    "  {\"name\":\"web\",\"image\":\"nginx:1.27-typo\","
    "   \"resources\":{\"limits\":{\"memory\":\"64Mi\"}}},"
    "  {\"name\":\"side\",\"image\":\"busybox:1\"}]}}},"
    " \"status\":{\"replicas\":3}}";

static json_t *
obs(void)
{
	json_error_t	e;
	json_t		*o = json_loads(observed_text, 0, &e);

	if (o == NULL)
		fprintf(stderr, "observed: %s\n", e.text);
	return o;
}

/* Round trip: patch gives want, inverse gives observed back. */
static void
roundtrip(json_t *o, json_t *proposal, const char *want_path,
    json_t *want_value)
{
	struct normalized	 n;
	json_t			*after, *back;
	char			 err[512];

	CHECK_INT(normalize_proposal(o, proposal, &n, err, sizeof(err)), 0);
	if (n.patch == NULL) {
		fprintf(stderr, "normalize: %s\n", err);
		return;
	}
	/* first op: the generation precondition */
	CHECK_STR(json_string_value(json_object_get(json_array_get(n.patch, 0),
	    "path")), "/metadata/generation");
	CHECK_INT(json_integer_value(json_object_get(json_array_get(n.patch, 0),
	    "value")), 4);
	after = jsonpatch_apply(o, n.patch, err, sizeof(err));
	CHECK(after != NULL);
	if (after == NULL) {
		fprintf(stderr, "apply: %s\n", err);
		goto out;
	}
	if (want_path != NULL)
		CHECK(json_equal(jsonptr_get(after, want_path), want_value) ||
		    (want_value == NULL && jsonptr_get(after, want_path) ==
		    NULL));
	back = jsonpatch_apply(after, n.inverse, err, sizeof(err));
	CHECK(back != NULL && json_equal(back, o));
	if (back == NULL)
		fprintf(stderr, "inverse: %s\n", err);
	json_decref(back);
	/* the patch is stale once applied: its tests fail on the result */
	CHECK_INT(normalize_preconditions(after, n.patch, err, sizeof(err)),
	    -1);
	CHECK_INT(normalize_preconditions(o, n.patch, err, sizeof(err)), 0);
	/* the inverse's tests hold on the result, not on the original */
	CHECK_INT(normalize_preconditions(after, n.inverse, err, sizeof(err)),
	    0);
	json_decref(after);
out:
	normalized_clear(&n);
}

static void
test_json_patch(json_t *o)
{
	struct normalized	 n;
	json_t			*p, *v;
	char			 err[512], *s;

	/* a bare replace grows a test on the value it replaces */
	p = json_pack("[{s:s,s:s,s:s}]", "op", "replace", "path",
	    "/spec/template/spec/containers/0/image", "value", "nginx:1.25");
	CHECK_INT(normalize_proposal(o, p, &n, err, sizeof(err)), 0);
	s = n.patch ? json_canon(n.patch) : NULL;
	CHECK_STR(s, "[{\"op\":\"test\",\"path\":\"/metadata/generation\","
	    "\"value\":4},{\"op\":\"test\",\"path\":"
	    "\"/spec/template/spec/containers/0/image\",\"value\":"
	    "\"nginx:1.27-typo\"},{\"op\":\"replace\",\"path\":"
	    "\"/spec/template/spec/containers/0/image\",\"value\":"
	    "\"nginx:1.25\"}]");
	free(s);
	s = n.inverse ? json_canon(n.inverse) : NULL;
	CHECK_STR(s, "[{\"op\":\"test\",\"path\":"
	    "\"/spec/template/spec/containers/0/image\",\"value\":"
	    "\"nginx:1.25\"},{\"op\":\"replace\",\"path\":"
	    "\"/spec/template/spec/containers/0/image\",\"value\":"
	    "\"nginx:1.27-typo\"}]");
	free(s);
	s = n.changes ? json_canon(n.changes) : NULL;
	CHECK_STR(s, "[{\"after\":\"nginx:1.25\",\"before\":"
	    "\"nginx:1.27-typo\",\"path\":"
	    "\"/spec/template/spec/containers/0/image\"}]");
	free(s);
	/* the inverse also follows from the normalised patch alone */
	v = normalize_inverse(n.patch);
	CHECK(v != NULL && json_equal(v, n.inverse));
	json_decref(v);
	CHECK(normalize_inverse(p) == NULL);	/* no recorded old value */
	normalized_clear(&n);
	v = json_string("nginx:1.25");
	roundtrip(o, p, "/spec/template/spec/containers/0/image", v);
	json_decref(v);
	json_decref(p);

	/* add + remove members, an array element appended and one removed */
	p = json_pack("[{s:s,s:s,s:s}, {s:s,s:s}, {s:s,s:s,s:{s:s}},"
	    " {s:s,s:s}]",
	    "op", "add", "path",
	    "/spec/template/spec/containers/0/resources/limits/cpu",
	    "value", "1",
	    "op", "remove", "path",
	    "/spec/template/spec/containers/0/resources/limits/memory",
	    "op", "add", "path", "/spec/template/spec/containers/-",
	    "value", "name", "third",
	    "op", "remove", "path", "/spec/template/spec/containers/1");
	v = json_string("third");
	roundtrip(o, p, "/spec/template/spec/containers/1/name", v);
	json_decref(v);
	json_decref(p);

	/* a proposal's own failing test: written against another version */
	p = json_pack("[{s:s,s:s,s:i}, {s:s,s:s,s:i}]",
	    "op", "test", "path", "/metadata/generation", "value", 3,
	    "op", "replace", "path", "/spec/replicas", "value", 4);
	CHECK_INT(normalize_proposal(o, p, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "does not apply to the object as observed") != NULL);
	CHECK(n.patch == NULL && n.inverse == NULL);
	json_decref(p);

	/* nothing changes / reserved paths / malformed */
	p = json_pack("[{s:s,s:s,s:i}]", "op", "replace", "path",
	    "/spec/replicas", "value", 3);
	CHECK_INT(normalize_proposal(o, p, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "changes nothing") != NULL);
	json_decref(p);
	p = json_pack("[{s:s,s:s,s:i}]", "op", "replace", "path",
	    "/metadata/generation", "value", 9);
	CHECK_INT(normalize_proposal(o, p, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "/metadata/generation") != NULL);
	json_decref(p);
	p = json_pack("[{s:s,s:s,s:i}]", "op", "replace", "path",
	    "/status/replicas", "value", 9);
	CHECK_INT(normalize_proposal(o, p, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "/status") != NULL);
	json_decref(p);
	p = json_pack("[{s:s}]", "op", "replace");
	CHECK_INT(normalize_proposal(o, p, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "malformed") != NULL);
	json_decref(p);
	p = json_string("rm -rf /");
	CHECK_INT(normalize_proposal(o, p, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "JSON Patch (array) or a merge patch") != NULL);
	json_decref(p);
}

static void
test_merge_patch(json_t *o)
{
	struct normalized	 n;
	json_t			*p, *v, *bare;
	char			 err[512];

	/* RFC 7386: objects merge, null deletes, arrays replace */
	p = json_pack("{s:{s:i, s:n}}", "spec", "replicas", 5, "paused");
	v = json_integer(5);
	roundtrip(o, p, "/spec/replicas", v);
	json_decref(v);
	json_decref(p);
	p = json_pack("{s:{s:{s:n}}}", "metadata", "annotations", "a");
	roundtrip(o, p, "/metadata/annotations/a", NULL);
	CHECK_INT(normalize_proposal(o, p, &n, err, sizeof(err)), 0);
	CHECK_STR(json_string_value(json_object_get(json_array_get(n.patch, 2),
	    "op")), "remove");
	normalized_clear(&n);
	json_decref(p);

	/* no generation: refused */
	bare = json_pack("{s:{s:s}}", "metadata", "name", "x");
	p = json_pack("{s:{s:i}}", "spec", "replicas", 1);
	CHECK_INT(normalize_proposal(bare, p, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "metadata.generation") != NULL);
	json_decref(p);
	json_decref(bare);
}

static void
test_stamp(json_t *o)
{
	json_t	*p, *s, *after, *bare;
	char	 err[256];

	p = json_pack("[{s:s,s:s,s:i}]", "op", "replace", "path",
	    "/spec/replicas", "value", 2);
	s = normalize_stamp(p, o, 42);
	CHECK(s != NULL && json_array_size(s) == 2);
	CHECK_INT(json_array_size(p), 1);	/* input untouched */
	after = jsonpatch_apply(o, s, err, sizeof(err));
	CHECK(after != NULL);
	CHECK_INT(normalize_stamped_id(after), 42);
	CHECK_INT(normalize_stamped_id(o), 0);
	CHECK_STR(json_string_value(jsonptr_get(after,
	    "/metadata/annotations/a")), "1");	/* others kept */
	json_decref(after);
	json_decref(s);

	/* no annotations yet: the stamp creates them */
	bare = json_deep_copy(o);
	json_object_del(json_object_get(bare, "metadata"), "annotations");
	s = normalize_stamp(p, bare, 7);
	after = s ? jsonpatch_apply(bare, s, err, sizeof(err)) : NULL;
	CHECK(after != NULL);
	CHECK_INT(normalize_stamped_id(after), 7);
	json_decref(after);
	json_decref(s);
	json_decref(bare);
	json_decref(p);
}

int
main(void)
{
	json_t	*o = obs();

	CHECK(o != NULL);
	if (o == NULL)
		return T_DONE();
	test_json_patch(o);
	test_merge_patch(o);
	test_stamp(o);
	json_decref(o);
	return T_DONE();
}
