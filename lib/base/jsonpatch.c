/*
 * jsonpatch.c - RFC 6901 JSON Pointer and RFC 6902 JSON Patch.
 *
 * A patch is checked as a whole (jsonpatch_validate) before anything is
 * applied, then applied operation by operation to a deep copy of the
 * document; the copy is dropped at the first failure, so the caller's
 * document is never touched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonpatch.h"

#define PTR_MAX		4096	/* longest pointer we accept, in bytes */
#define SHOW_MAX	64	/* bytes of a value quoted in a message */

/*
 * Copy the reference token starting at p (after its '/') into tok,
 * unescaping "~0" and "~1".  *next is set to the following '/' or the
 * end.  Returns -1 on a bad escape; tok must hold strlen(p) + 1 bytes.
 */
static int
next_token(const char *p, char *tok, const char **next)
{
	char	*o = tok;

	for (; *p != '\0' && *p != '/'; p++) {
		if (*p != '~') {
			*o++ = *p;
			continue;
		}
		if (p[1] == '0')
			*o++ = '~';
		else if (p[1] == '1')
			*o++ = '/';
		else
			return -1;
		p++;
	}
	*o = '\0';
	*next = p;
	return 0;
}

/* A pointer is "" or "/"-prefixed tokens with valid escapes. */
static int
pointer_ok(const char *ptr)
{
	const char	*p;

	if (strlen(ptr) > PTR_MAX)
		return 0;
	if (*ptr == '\0')
		return 1;
	if (*ptr != '/')
		return 0;
	for (p = ptr; *p != '\0'; p++)
		if (*p == '~' && p[1] != '0' && p[1] != '1')
			return 0;
	return 1;
}

/*
 * Parse an array index token: "0" or digits without a leading zero,
 * below limit.  Returns the index or -1.
 */
static long
array_index(const char *tok, size_t limit)
{
	char		*end;
	unsigned long	 v;

	if (*tok < '0' || *tok > '9' || (tok[0] == '0' && tok[1] != '\0'))
		return -1;
	errno = 0;
	v = strtoul(tok, &end, 10);
	if (errno != 0 || *end != '\0' || v >= limit)
		return -1;
	return (long)v;
}

/* Child of container v named by token tok, or NULL. */
static json_t *
child(json_t *v, const char *tok)
{
	long	i;

	if (json_is_object(v))
		return json_object_get(v, tok);
	if (json_is_array(v)) {
		if ((i = array_index(tok, json_array_size(v))) == -1)
			return NULL;
		return json_array_get(v, (size_t)i);
	}
	return NULL;
}

json_t *
jsonptr_get(json_t *doc, const char *pointer)
{
	const char	*p = pointer, *next;
	char		*tok;
	json_t		*v = doc;

	if (doc == NULL || pointer == NULL || !pointer_ok(pointer))
		return NULL;
	if (*p == '\0')
		return doc;
	if ((tok = malloc(strlen(pointer) + 1)) == NULL)
		return NULL;
	while (v != NULL && *p == '/') {
		if (next_token(p + 1, tok, &next) == -1) {
			v = NULL;
			break;
		}
		v = child(v, tok);
		p = next;
	}
	free(tok);
	return v;
}

int
jsonptr_escape(const char *token, char *out, size_t outlen)
{
	size_t	n = 0;

	for (; *token != '\0'; token++) {
		if (*token == '~' || *token == '/') {
			if (n + 2 >= outlen)
				return -1;
			out[n++] = '~';
			out[n++] = *token == '~' ? '0' : '1';
		} else {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = *token;
		}
	}
	if (n >= outlen)
		return -1;
	out[n] = '\0';
	return 0;
}

enum op { OP_ADD, OP_REMOVE, OP_REPLACE, OP_MOVE, OP_COPY, OP_TEST };

static const struct {
	const char	*name;
	int		 value;		/* needs "value" */
	int		 from;		/* needs "from" */
} ops[] = {
	[OP_ADD] =	{ "add",	1, 0 },
	[OP_REMOVE] =	{ "remove",	0, 0 },
	[OP_REPLACE] =	{ "replace",	1, 0 },
	[OP_MOVE] =	{ "move",	0, 1 },
	[OP_COPY] =	{ "copy",	0, 1 },
	[OP_TEST] =	{ "test",	1, 0 },
};

static int
op_of(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(name, ops[i].name) == 0)
			return (int)i;
	return -1;
}

int
jsonpatch_validate(json_t *patch, char *err, size_t errlen)
{
	json_t		*o, *v;
	const char	*name;
	size_t		 i;
	int		 op;

	if (!json_is_array(patch)) {
		snprintf(err, errlen, "a patch must be an array of "
		    "operations");
		return -1;
	}
	json_array_foreach(patch, i, o) {
		if (!json_is_object(o)) {
			snprintf(err, errlen, "operation %zu: not an object",
			    i);
			return -1;
		}
		if ((name = json_string_value(json_object_get(o, "op"))) ==
		    NULL) {
			snprintf(err, errlen, "operation %zu: \"op\" is missing "
			    "or not a string", i);
			return -1;
		}
		if ((op = op_of(name)) == -1) {
			snprintf(err, errlen, "operation %zu: unknown op "
			    "\"%.32s\"", i, name);
			return -1;
		}
		v = json_object_get(o, "path");
		if (!json_is_string(v)) {
			snprintf(err, errlen, "operation %zu (%s): \"path\" is "
			    "missing or not a string", i, name);
			return -1;
		}
		if (!pointer_ok(json_string_value(v))) {
			snprintf(err, errlen, "operation %zu (%s): \"path\" is "
			    "not a JSON pointer", i, name);
			return -1;
		}
		if (ops[op].value && json_object_get(o, "value") == NULL) {
			snprintf(err, errlen, "operation %zu (%s): \"value\" "
			    "is missing", i, name);
			return -1;
		}
		if (ops[op].from) {
			v = json_object_get(o, "from");
			if (!json_is_string(v)) {
				snprintf(err, errlen, "operation %zu (%s): "
				    "\"from\" is missing or not a string", i,
				    name);
				return -1;
			}
			if (!pointer_ok(json_string_value(v))) {
				snprintf(err, errlen, "operation %zu (%s): "
				    "\"from\" is not a JSON pointer", i, name);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * RFC 6902 section 4.6 equality: numbers by value (1 equals 1.0), strings
 * by code points, arrays element-wise, objects by member set regardless
 * of order.
 */
static int
json_eq(json_t *a, json_t *b)
{
	const char	*k;
	json_t		*v;
	size_t		 i;
	double		 r;
	json_int_t	 n;

	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		if (json_is_real(a) && json_is_real(b))
			return json_real_value(a) == json_real_value(b);
		n = json_is_integer(a) ? json_integer_value(a) :
		    json_integer_value(b);
		r = json_is_real(a) ? json_real_value(a) : json_real_value(b);
		/* compare as integers when the real is one, so large values
		 * are not rounded through double */
		if (!(r >= -9223372036854775808.0 &&
		    r < 9223372036854775808.0) || (double)(json_int_t)r != r)
			return 0;
		return (json_int_t)r == n;
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!json_eq(json_array_get(a, i),
			    json_array_get(b, i)))
				return 0;
		return 1;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach(a, k, v) {
			json_t	*w = json_object_get(b, k);

			if (w == NULL || !json_eq(v, w))
				return 0;
		}
		return 1;
	default:
		return json_equal(a, b);
	}
}

/*
 * Find the parent container of path in *doc and the last token.  tok must
 * hold strlen(path) + 1 bytes.  Returns the parent or NULL with a reason.
 */
static json_t *
parent_of(json_t *doc, const char *path, char *tok, const char **why)
{
	const char	*p = path, *next;
	json_t		*v = doc;

	for (;;) {
		if (next_token(p + 1, tok, &next) == -1) {
			*why = "bad escape in path";
			return NULL;
		}
		if (*next == '\0')
			break;
		if ((v = child(v, tok)) == NULL) {
			*why = "path not found";
			return NULL;
		}
		p = next;
	}
	if (!json_is_object(v) && !json_is_array(v)) {
		*why = "parent is not an object or array";
		return NULL;
	}
	return v;
}

/*
 * Add value (a reference we steal) at path in *doc.  "" replaces the
 * whole document; "-" appends to an array.
 */
static int
do_add(json_t **doc, const char *path, json_t *value, char *tok,
    const char **why)
{
	json_t	*parent;
	long	 i;

	if (value == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (*path == '\0') {
		json_decref(*doc);
		*doc = value;
		return 0;
	}
	if ((parent = parent_of(*doc, path, tok, why)) == NULL)
		goto fail;
	if (json_is_object(parent)) {
		if (json_object_set_new(parent, tok, value) == -1) {
			*why = "out of memory";
			return -1;
		}
		return 0;
	}
	if (strcmp(tok, "-") == 0)
		i = (long)json_array_size(parent);
	else if ((i = array_index(tok, json_array_size(parent) + 1)) == -1) {
		*why = "array index out of range";
		goto fail;
	}
	if (json_array_insert_new(parent, (size_t)i, value) == -1) {
		*why = "out of memory";
		return -1;
	}
	return 0;
fail:
	json_decref(value);
	return -1;
}

/*
 * Remove the value at path from *doc; when out is set it receives the
 * removed value (a new reference).
 */
static int
do_remove(json_t **doc, const char *path, char *tok, json_t **out,
    const char **why)
{
	json_t	*parent, *v;
	long	 i = -1;

	if (*path == '\0') {
		*why = "cannot remove the whole document";
		return -1;
	}
	if ((parent = parent_of(*doc, path, tok, why)) == NULL)
		return -1;
	if (json_is_object(parent))
		v = json_object_get(parent, tok);
	else if ((i = array_index(tok, json_array_size(parent))) != -1)
		v = json_array_get(parent, (size_t)i);
	else
		v = NULL;
	if (v == NULL) {
		*why = "path not found";
		return -1;
	}
	if (out != NULL)
		*out = json_incref(v);
	if (json_is_object(parent))
		json_object_del(parent, tok);
	else
		json_array_remove(parent, (size_t)i);
	return 0;
}

/* Quote v for a message, cut at SHOW_MAX bytes. */
static void
show(json_t *v, char *buf, size_t len)
{
	char	*s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
		    JSON_SORT_KEYS);

	if (s == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	if (strlen(s) > SHOW_MAX)
		snprintf(buf, len, "%.*s...", SHOW_MAX, s);
	else
		snprintf(buf, len, "%s", s);
	free(s);
}

/* Apply operation o to *doc.  Returns 0, or -1 with a reason in why. */
static int
apply_one(json_t **doc, json_t *o, char *tok, char *why, size_t whylen)
{
	const char	*path, *from = NULL, *reason = NULL;
	json_t		*value, *cur, *moved = NULL;
	char		 a[SHOW_MAX + 8], b[SHOW_MAX + 8];
	size_t		 fl;
	int		 op;

	op = op_of(json_string_value(json_object_get(o, "op")));
	path = json_string_value(json_object_get(o, "path"));
	value = json_object_get(o, "value");
	if (ops[op].from)
		from = json_string_value(json_object_get(o, "from"));

	switch (op) {
	case OP_ADD:
		if (do_add(doc, path, json_deep_copy(value), tok,
		    &reason) == -1)
			goto fail;
		return 0;
	case OP_REMOVE:
		if (do_remove(doc, path, tok, NULL, &reason) == -1)
			goto fail;
		return 0;
	case OP_REPLACE:
		if (jsonptr_get(*doc, path) == NULL) {
			reason = "path not found";
			goto fail;
		}
		if (*path != '\0' && do_remove(doc, path, tok, NULL,
		    &reason) == -1)
			goto fail;
		if (do_add(doc, path, json_deep_copy(value), tok,
		    &reason) == -1)
			goto fail;
		return 0;
	case OP_MOVE:
		fl = strlen(from);
		if (strncmp(path, from, fl) == 0 && path[fl] == '/') {
			reason = "cannot move a value into one of its "
			    "children";
			goto fail;
		}
		if (jsonptr_get(*doc, from) == NULL) {
			snprintf(why, whylen, "from %s: path not found", from);
			return -1;
		}
		if (strcmp(path, from) == 0)
			return 0;
		if (do_remove(doc, from, tok, &moved, &reason) == -1)
			goto fail;
		if (do_add(doc, path, moved, tok, &reason) == -1)
			goto fail;
		return 0;
	case OP_COPY:
		if ((cur = jsonptr_get(*doc, from)) == NULL) {
			snprintf(why, whylen, "from %s: path not found", from);
			return -1;
		}
		if (do_add(doc, path, json_deep_copy(cur), tok,
		    &reason) == -1)
			goto fail;
		return 0;
	case OP_TEST:
		if ((cur = jsonptr_get(*doc, path)) == NULL) {
			reason = "path not found";
			goto fail;
		}
		if (!json_eq(cur, value)) {
			show(cur, a, sizeof(a));
			show(value, b, sizeof(b));
			snprintf(why, whylen, "test failed: found %s, expected "
			    "%s", a, b);
			return -1;
		}
		return 0;
	}
	reason = "unknown op";
fail:
	snprintf(why, whylen, "%s", reason ? reason : "failed");
	return -1;
}

json_t *
jsonpatch_apply(json_t *doc, json_t *patch, char *err, size_t errlen)
{
	json_t		*out = NULL, *o;
	char		 why[256];
	char		*tok = NULL;
	size_t		 i;

	if (jsonpatch_validate(patch, err, errlen) == -1)
		return NULL;
	if (doc == NULL || (out = json_deep_copy(doc)) == NULL) {
		snprintf(err, errlen, "no document to patch");
		return NULL;
	}
	if ((tok = malloc(PTR_MAX + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	json_array_foreach(patch, i, o) {
		if (apply_one(&out, o, tok, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "operation %zu (%s %.*s): %s", i,
			    json_string_value(json_object_get(o, "op")), 128,
			    json_string_value(json_object_get(o, "path")),
			    why);
			goto fail;
		}
	}
	free(tok);
	return out;
fail:
	free(tok);
	json_decref(out);
	return NULL;
}
