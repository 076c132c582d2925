/*
 * test_jsonpatch.c - RFC 6901 pointers and the RFC 6902 appendix A
 * examples, plus atomicity, number equality and the failure messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/jsonpatch.h"
#include "t.h"

#define NCASES(a)	(sizeof(a) / sizeof((a)[0]))

struct pcase {
	const char	*name;
	const char	*doc;
	const char	*patch;
	const char	*result;	/* NULL: the patch must fail */
	const char	*err;		/* expected message on failure */
};

/* RFC 6902 appendix A, A.1 to A.16, in order. */
static const struct pcase rfc[] = {
	{ "A.1 adding an object member",
	  "{\"foo\":\"bar\"}",
	  "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
	  "{\"baz\":\"qux\",\"foo\":\"bar\"}", NULL },
	{ "A.2 adding an array element",
	  "{\"foo\":[\"bar\",\"baz\"]}",
	  "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
	  "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", NULL },
	{ "A.3 removing an object member",
	  "{\"baz\":\"qux\",\"foo\":\"bar\"}",
	  "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
	  "{\"foo\":\"bar\"}", NULL },
	{ "A.4 removing an array element",
	  "{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
	  "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
	  "{\"foo\":[\"bar\",\"baz\"]}", NULL },
	{ "A.5 replacing a value",
	  "{\"baz\":\"qux\",\"foo\":\"bar\"}",
	  "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
	  "{\"baz\":\"boo\",\"foo\":\"bar\"}", NULL },
	{ "A.6 moving a value",
	  "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},"
	  "\"qux\":{\"corge\":\"grault\"}}",
	  "[{\"op\":\"move\",\"from\":\"/foo/waldo\","
	  "\"path\":\"/qux/thud\"}]",
	  "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\","
	  "\"thud\":\"fred\"}}", NULL },
	{ "A.7 moving an array element",
	  "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
	  "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
	  "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}", NULL },
	{ "A.8 testing a value: success",
	  "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
	  "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
	  "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
	  "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}", NULL },
	{ "A.9 testing a value: error",
	  "{\"baz\":\"qux\"}",
	  "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
	  NULL, "operation 0 (test /baz): test failed: found \"qux\", "
	  "expected \"bar\"" },
	{ "A.10 adding a nested member object",
	  "{\"foo\":\"bar\"}",
	  "[{\"op\":\"add\",\"path\":\"/child\",\"value\":"
	  "{\"grandchild\":{}}}]",
	  "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}", NULL },
	{ "A.11 ignoring unrecognized elements",
	  "{\"foo\":\"bar\"}",
	  "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\","
	  "\"xyz\":123}]",
	  "{\"foo\":\"bar\",\"baz\":\"qux\"}", NULL },
	{ "A.12 adding to a nonexistent target",
	  "{\"foo\":\"bar\"}",
	  "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
	  NULL, "operation 0 (add /baz/bat): path not found" },
	/* A.13 (duplicate "op" members) is a JSON parse error: see below */
	{ "A.14 ~ escape ordering",
	  "{\"/\":9,\"~1\":10}",
	  "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
	  "{\"/\":9,\"~1\":10}", NULL },
	{ "A.15 comparing strings and numbers",
	  "{\"/\":9,\"~1\":10}",
	  "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
	  NULL, "operation 0 (test /~01): test failed: found 10, expected "
	  "\"10\"" },
	{ "A.16 adding an array value",
	  "{\"foo\":[\"bar\"]}",
	  "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
	  "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}", NULL },
};

/* Semantics beyond the appendix: errors, root paths, numbers. */
static const struct pcase more[] = {
	{ "remove missing member",
	  "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]",
	  NULL, "operation 0 (remove /b): path not found" },
	{ "replace missing member",
	  "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]",
	  NULL, "operation 0 (replace /b): path not found" },
	{ "test missing member",
	  "{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/b\",\"value\":1}]",
	  NULL, "operation 0 (test /b): path not found" },
	{ "add past the end of an array",
	  "[1,2]", "[{\"op\":\"add\",\"path\":\"/3\",\"value\":9}]",
	  NULL, "operation 0 (add /3): array index out of range" },
	{ "add at the end index appends",
	  "[1,2]", "[{\"op\":\"add\",\"path\":\"/2\",\"value\":9}]",
	  "[1,2,9]", NULL },
	{ "leading zero is not an index",
	  "[1,2]", "[{\"op\":\"remove\",\"path\":\"/01\"}]",
	  NULL, "operation 0 (remove /01): path not found" },
	{ "remove - is not an index",
	  "[1,2]", "[{\"op\":\"remove\",\"path\":\"/-\"}]",
	  NULL, "operation 0 (remove /-): path not found" },
	{ "add replaces an existing member",
	  "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":2}]",
	  "{\"a\":2}", NULL },
	{ "add to a scalar parent",
	  "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":2}]",
	  NULL, "operation 0 (add /a/b): parent is not an object or array" },
	{ "replace the whole document",
	  "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]",
	  "[1]", NULL },
	{ "add at the root",
	  "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"b\":2}}]",
	  "{\"b\":2}", NULL },
	{ "remove the root",
	  "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]",
	  NULL, "operation 0 (remove ): cannot remove the whole document" },
	{ "move into own child",
	  "{\"a\":{\"b\":1}}",
	  "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/c\"}]",
	  NULL, "operation 0 (move /a/c): cannot move a value into one of "
	  "its children" },
	{ "move to a sibling with a shared prefix is fine",
	  "{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/ab\"}]",
	  "{\"ab\":1}", NULL },
	{ "move from a missing path",
	  "{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/x\",\"path\":\"/y\"}]",
	  NULL, "operation 0 (move /y): from /x: path not found" },
	{ "move onto itself",
	  "{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
	  "{\"a\":1}", NULL },
	{ "copy a subtree, then change the original",
	  "{\"a\":{\"b\":1}}",
	  "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"},"
	  "{\"op\":\"replace\",\"path\":\"/a/b\",\"value\":2}]",
	  "{\"a\":{\"b\":2},\"c\":{\"b\":1}}", NULL },
	{ "test 1 equals 1.0",
	  "{\"n\":1}", "[{\"op\":\"test\",\"path\":\"/n\",\"value\":1.0}]",
	  "{\"n\":1}", NULL },
	{ "test 1.0 equals 1 inside objects and arrays",
	  "{\"n\":[{\"x\":1.0,\"y\":2}]}",
	  "[{\"op\":\"test\",\"path\":\"/n\",\"value\":[{\"y\":2,\"x\":1}]}]",
	  "{\"n\":[{\"x\":1.0,\"y\":2}]}", NULL },
	{ "test 1 differs from 1.5",
	  "{\"n\":1}", "[{\"op\":\"test\",\"path\":\"/n\",\"value\":1.5}]",
	  NULL, "operation 0 (test /n): test failed: found 1, expected 1.5" },
	{ "test object with an extra member",
	  "{\"o\":{\"a\":1,\"b\":2}}",
	  "[{\"op\":\"test\",\"path\":\"/o\",\"value\":{\"a\":1}}]",
	  NULL, "operation 0 (test /o): test failed: found {\"a\":1,\"b\":2}, "
	  "expected {\"a\":1}" },
	{ "test null is not false",
	  "{\"v\":null}", "[{\"op\":\"test\",\"path\":\"/v\",\"value\":false}]",
	  NULL, "operation 0 (test /v): test failed: found null, expected "
	  "false" },
	{ "second operation fails",
	  "{\"a\":1}",
	  "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
	  "{\"op\":\"test\",\"path\":\"/b\",\"value\":3}]",
	  NULL, "operation 1 (test /b): test failed: found 2, expected 3" },
};

/* Patches whose shape is wrong: caught before anything is applied. */
static const struct {
	const char	*patch;
	const char	*err;
} invalid[] = {
	{ "{\"op\":\"add\"}", "a patch must be an array of operations" },
	{ "[1]", "operation 0: not an object" },
	{ "[{\"path\":\"/a\"}]", "operation 0: \"op\" is missing or not a "
	  "string" },
	{ "[{\"op\":\"frob\",\"path\":\"/a\"}]", "operation 0: unknown op "
	  "\"frob\"" },
	{ "[{\"op\":\"remove\"}]", "operation 0 (remove): \"path\" is "
	  "missing or not a string" },
	{ "[{\"op\":\"remove\",\"path\":\"a\"}]", "operation 0 (remove): "
	  "\"path\" is not a JSON pointer" },
	{ "[{\"op\":\"remove\",\"path\":\"/a~2\"}]", "operation 0 (remove): "
	  "\"path\" is not a JSON pointer" },
	{ "[{\"op\":\"remove\",\"path\":\"/a\"},{\"op\":\"add\","
	  "\"path\":\"/b\"}]", "operation 1 (add): \"value\" is missing" },
	{ "[{\"op\":\"replace\",\"path\":\"/a\"}]", "operation 0 (replace): "
	  "\"value\" is missing" },
	{ "[{\"op\":\"test\",\"path\":\"/a\"}]", "operation 0 (test): "
	  "\"value\" is missing" },
	{ "[{\"op\":\"move\",\"path\":\"/a\"}]", "operation 0 (move): "
	  "\"from\" is missing or not a string" },
	{ "[{\"op\":\"copy\",\"path\":\"/a\",\"from\":\"x\"}]", "operation 0 "
	  "(copy): \"from\" is not a JSON pointer" },
};

static json_t *
parse(const char *s)
{
	json_error_t	 e;
	json_t		*v = json_loads(s, JSON_DECODE_ANY |
			    JSON_REJECT_DUPLICATES, &e);

	if (v == NULL)
		fprintf(stderr, "bad test JSON %s: %s\n", s, e.text);
	return v;
}

/*
 * Run one case: the result must equal the expected document (or the
 * failure carry the expected message), and the input document must be
 * unchanged either way.
 */
static void
run(const struct pcase *c)
{
	json_t	*doc = parse(c->doc), *patch = parse(c->patch);
	json_t	*before = json_deep_copy(doc), *want = NULL, *got;
	char	 err[256] = "";

	CHECK(doc != NULL && patch != NULL);
	got = jsonpatch_apply(doc, patch, err, sizeof(err));
	if (c->result != NULL) {
		want = parse(c->result);
		CHECK(got != NULL && json_equal(got, want));
		if (got == NULL)
			fprintf(stderr, "%s: %s\n", c->name, err);
	} else {
		CHECK(got == NULL);
		CHECK_STR(err, c->err);
	}
	CHECK(json_equal(doc, before));
	json_decref(got);
	json_decref(want);
	json_decref(before);
	json_decref(doc);
	json_decref(patch);
}

static void
test_cases(void)
{
	json_error_t	e;
	size_t		i;

	for (i = 0; i < NCASES(rfc); i++)
		run(&rfc[i]);
	for (i = 0; i < NCASES(more); i++)
		run(&more[i]);
	/* A.13: a duplicate "op" member; we reject the document as JSON */
	CHECK(json_loads("[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\","
	    "\"op\":\"remove\"}]", JSON_REJECT_DUPLICATES, &e) == NULL);
}

static void
test_validate(void)
{
	json_t	*patch, *doc = parse("{\"a\":1}"), *got;
	char	 err[256];
	size_t	 i;

	for (i = 0; i < NCASES(invalid); i++) {
		patch = parse(invalid[i].patch);
		err[0] = '\0';
		CHECK_INT(jsonpatch_validate(patch, err, sizeof(err)), -1);
		CHECK_STR(err, invalid[i].err);
		/* apply refuses the same patch with the same message */
		err[0] = '\0';
		got = jsonpatch_apply(doc, patch, err, sizeof(err));
		CHECK(got == NULL);
		CHECK_STR(err, invalid[i].err);
		json_decref(patch);
	}
	patch = parse("[{\"op\":\"remove\",\"path\":\"/a\"},{\"op\":\"copy\","
	    "\"path\":\"/b\",\"from\":\"\"}]");
	CHECK_INT(jsonpatch_validate(patch, err, sizeof(err)), 0);
	json_decref(patch);
	patch = parse("[]");
	CHECK_INT(jsonpatch_validate(patch, err, sizeof(err)), 0);
	got = jsonpatch_apply(doc, patch, err, sizeof(err));
	CHECK(got != NULL && got != doc && json_equal(got, doc));
	json_decref(got);
	json_decref(patch);
	json_decref(doc);
}

/* A failing op after several good ones leaves the input untouched, and
 * the returned document is never the caller's. */
static void
test_atomic(void)
{
	json_t	*doc = parse("{\"spec\":{\"replicas\":3,\"template\":"
		    "{\"image\":\"a:1\"}},\"list\":[1,2,3]}");
	json_t	*before = json_deep_copy(doc);
	json_t	*patch = parse("["
		    "{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":5},"
		    "{\"op\":\"remove\",\"path\":\"/list/0\"},"
		    "{\"op\":\"add\",\"path\":\"/spec/template/x\",\"value\":1},"
		    "{\"op\":\"move\",\"from\":\"/list\",\"path\":\"/moved\"},"
		    "{\"op\":\"test\",\"path\":\"/spec/template/image\","
		    "\"value\":\"b:2\"}]");
	json_t	*got;
	char	 err[256];

	got = jsonpatch_apply(doc, patch, err, sizeof(err));
	CHECK(got == NULL);
	CHECK_STR(err, "operation 4 (test /spec/template/image): test failed: "
	    "found \"a:1\", expected \"b:2\"");
	CHECK(json_equal(doc, before));
	CHECK_INT(json_integer_value(jsonptr_get(doc, "/spec/replicas")), 3);
	CHECK_INT(json_array_size(jsonptr_get(doc, "/list")), 3);

	/* the same patch without the failing test applies fully */
	json_array_remove(patch, 4);
	got = jsonpatch_apply(doc, patch, err, sizeof(err));
	CHECK(got != NULL && got != doc);
	CHECK_INT(json_integer_value(jsonptr_get(got, "/spec/replicas")), 5);
	CHECK(jsonptr_get(got, "/list") == NULL);
	CHECK_INT(json_array_size(jsonptr_get(got, "/moved")), 2);
	CHECK(json_equal(doc, before));
	json_decref(got);

	/* long values are cut in the message */
	json_decref(patch);
	patch = parse("[{\"op\":\"test\",\"path\":\"/spec\",\"value\":"
	    "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxx\"}]");
	got = jsonpatch_apply(doc, patch, err, sizeof(err));
	CHECK(got == NULL);
	CHECK(strstr(err, "...") != NULL && strlen(err) < 220);
	json_decref(patch);
	json_decref(before);
	json_decref(doc);
}

static void
test_pointer(void)
{
	json_t	*doc = parse("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,"
		    "\"c%d\":2,\"e^f\":3,\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,"
		    "\" \":7,\"m~n\":8}");
	char	 out[16];

	/* RFC 6901 section 5 */
	CHECK(jsonptr_get(doc, "") == doc);
	CHECK_STR(json_string_value(jsonptr_get(doc, "/foo/0")), "bar");
	CHECK_INT(json_array_size(jsonptr_get(doc, "/foo")), 2);
	CHECK_INT(json_integer_value(jsonptr_get(doc, "/")), 0);
	CHECK_INT(json_integer_value(jsonptr_get(doc, "/a~1b")), 1);
	CHECK_INT(json_integer_value(jsonptr_get(doc, "/c%d")), 2);
	CHECK_INT(json_integer_value(jsonptr_get(doc, "/e^f")), 3);
	CHECK_INT(json_integer_value(jsonptr_get(doc, "/g|h")), 4);
	CHECK_INT(json_integer_value(jsonptr_get(doc, "/i\\j")), 5);
	CHECK_INT(json_integer_value(jsonptr_get(doc, "/k\"l")), 6);
	CHECK_INT(json_integer_value(jsonptr_get(doc, "/ ")), 7);
	CHECK_INT(json_integer_value(jsonptr_get(doc, "/m~0n")), 8);
	/* what does not resolve */
	CHECK(jsonptr_get(doc, "foo") == NULL);
	CHECK(jsonptr_get(doc, "/foo/2") == NULL);
	CHECK(jsonptr_get(doc, "/foo/-") == NULL);
	CHECK(jsonptr_get(doc, "/foo/01") == NULL);
	CHECK(jsonptr_get(doc, "/foo/-1") == NULL);
	CHECK(jsonptr_get(doc, "/foo/0/x") == NULL);
	CHECK(jsonptr_get(doc, "/m~2n") == NULL);
	CHECK(jsonptr_get(doc, "/m~") == NULL);
	CHECK(jsonptr_get(doc, "/foo/99999999999999999999999") == NULL);

	CHECK_INT(jsonptr_escape("a/b~c", out, sizeof(out)), 0);
	CHECK_STR(out, "a~1b~0c");
	CHECK_INT(jsonptr_get(doc, "/a~1b") != NULL, 1);
	CHECK_INT(jsonptr_escape("", out, sizeof(out)), 0);
	CHECK_STR(out, "");
	/* "abcdefghijklmn~" needs 17 bytes with its NUL */
	CHECK_INT(jsonptr_escape("abcdefghijklmn~", out, sizeof(out)), -1);
	CHECK_INT(jsonptr_escape("abcdefghijklmno", out, sizeof(out)), 0);
	CHECK_INT(jsonptr_escape("abcdefghijklmnop", out, sizeof(out)), -1);
	CHECK_INT(jsonptr_escape("x", out, 1), -1);
	json_decref(doc);
}

int
main(void)
{
	test_pointer();
	test_cases();
	test_validate();
	test_atomic();
	return T_DONE();
}
