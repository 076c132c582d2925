/*
 * jschema.c - see jschema.h.  One recursive walk; the first violation wins
 * and names its JSON Pointer, so the message can go back to the model in
 * the repair round and to the operator as "diagnosis failed: <why>".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/jschema.h"

struct jctx {
	char	*err;
	size_t	 len;
	char	 ptr[512];	/* JSON Pointer of the value being checked */
};

static int fail(struct jctx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct jctx *c, const char *fmt, ...)
{
	va_list	ap;
	char	msg[384];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->len, "%s: %s", c->ptr[0] ? c->ptr : "/", msg);
	return -1;
}

static const char *
type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "object";
	case JSON_ARRAY:	return "array";
	case JSON_STRING:	return "string";
	case JSON_INTEGER:	return "integer";
	case JSON_REAL:		return "number";
	case JSON_TRUE:
	case JSON_FALSE:	return "boolean";
	default:		return "null";
	}
}

static int
type_is(json_t *v, const char *t)
{
	if (strcmp(t, "number") == 0)
		return json_is_number(v);
	if (strcmp(t, "integer") == 0)
		return json_is_integer(v) || (json_is_real(v) &&
		    json_real_value(v) == (double)(json_int_t)json_real_value(v));
	return strcmp(t, type_name(v)) == 0;
}

/* Code points in a UTF-8 string (jansson guarantees valid UTF-8). */
static size_t
utf8_len(const char *s, size_t n)
{
	size_t	i, cp = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			cp++;
	return cp;
}

/* Append "/tok" (escaped per RFC 6901) to the pointer; returns the old
 * length to restore. */
static size_t
ptr_push(struct jctx *c, const char *tok)
{
	size_t	old = strlen(c->ptr), n = old;

	if (n + 1 < sizeof(c->ptr))
		c->ptr[n++] = '/';
	for (; *tok && n + 2 < sizeof(c->ptr); tok++) {
		if (*tok == '~' || *tok == '/') {
			c->ptr[n++] = '~';
			c->ptr[n++] = *tok == '~' ? '0' : '1';
		} else
			c->ptr[n++] = *tok;
	}
	c->ptr[n] = '\0';
	return old;
}

static int	validate(struct jctx *, json_t *, json_t *, int);

static int
check_type(struct jctx *c, json_t *s, json_t *v)
{
	json_t	*t = json_object_get(s, "type"), *e;
	size_t	 i;
	char	 want[128] = "";

	if (t == NULL)
		return 0;
	if (json_is_string(t)) {
		if (type_is(v, json_string_value(t)))
			return 0;
		return fail(c, "expected %s, got %s", json_string_value(t),
		    type_name(v));
	}
	json_array_foreach(t, i, e) {
		if (!json_is_string(e))
			continue;
		if (type_is(v, json_string_value(e)))
			return 0;
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
		    "%s%s", i ? " or " : "", json_string_value(e));
	}
	return fail(c, "expected %s, got %s", want, type_name(v));
}

static int
check_enum(struct jctx *c, json_t *s, json_t *v)
{
	json_t	*en = json_object_get(s, "enum"), *e;
	size_t	 i;
	char	 list[256] = "", *shown;

	if (!json_is_array(en))
		return 0;
	json_array_foreach(en, i, e)
		if (json_equal(e, v))
			return 0;
	json_array_foreach(en, i, e) {
		if ((shown = json_dumps(e, JSON_ENCODE_ANY)) == NULL)
			continue;
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i ? ", " : "", json_is_string(e) ?
		    json_string_value(e) : shown);
		free(shown);
	}
	shown = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (shown != NULL && strlen(shown) > 60)
		strcpy(shown + 56, "...");
	fail(c, "%s is not one of %s", shown ? shown : "value", list);
	free(shown);
	return -1;
}

static int
check_object(struct jctx *c, json_t *s, json_t *v, int depth)
{
	json_t		*req = json_object_get(s, "required");
	json_t		*props = json_object_get(s, "properties");
	json_t		*addl = json_object_get(s, "additionalProperties");
	json_t		*e, *ps;
	const char	*k;
	size_t		 i, old;

	json_array_foreach(req, i, e)
		if (json_is_string(e) &&
		    json_object_get(v, json_string_value(e)) == NULL)
			return fail(c, "required property \"%s\" is missing",
			    json_string_value(e));
	json_object_foreach(v, k, e) {
		ps = json_object_get(props, k);
		if (ps == NULL) {
			if (json_is_false(addl))
				return fail(c, "property \"%s\" is not "
				    "allowed", k);
			if (!json_is_object(addl))
				continue;
			ps = addl;
		}
		old = ptr_push(c, k);
		if (validate(c, ps, e, depth + 1) == -1)
			return -1;
		c->ptr[old] = '\0';
	}
	return 0;
}

static int
check_array(struct jctx *c, json_t *s, json_t *v, int depth)
{
	json_t	*items = json_object_get(s, "items"), *e;
	size_t	 i, n = json_array_size(v), old;
	char	 num[32], lim[32];

	snprintf(num, sizeof(num), "%zu", n);
	if (json_is_integer(json_object_get(s, "minItems")) &&
	    (json_int_t)n < json_integer_value(json_object_get(s,
	    "minItems"))) {
		snprintf(lim, sizeof(lim), "%lld", (long long)
		    json_integer_value(json_object_get(s, "minItems")));
		return fail(c, "%s items, fewer than the minimum %s", num, lim);
	}
	if (json_is_integer(json_object_get(s, "maxItems")) &&
	    (json_int_t)n > json_integer_value(json_object_get(s,
	    "maxItems"))) {
		snprintf(lim, sizeof(lim), "%lld", (long long)
		    json_integer_value(json_object_get(s, "maxItems")));
		return fail(c, "%s items, more than the maximum %s", num, lim);
	}
	if (!json_is_object(items))
		return 0;
	json_array_foreach(v, i, e) {
		snprintf(num, sizeof(num), "%zu", i);
		old = ptr_push(c, num);
		if (validate(c, items, e, depth + 1) == -1)
			return -1;
		c->ptr[old] = '\0';
	}
	return 0;
}

static int
validate(struct jctx *c, json_t *s, json_t *v, int depth)
{
	json_t	*k;
	char	 a[64], b[64];

	if (!json_is_object(s))
		return 0;
	if (depth > JSCHEMA_MAX_DEPTH)
		return fail(c, "nested deeper than %d levels",
		    JSCHEMA_MAX_DEPTH);
	if (check_type(c, s, v) == -1 || check_enum(c, s, v) == -1)
		return -1;
	if (json_is_string(v) && json_is_integer(k = json_object_get(s,
	    "maxLength")) && (json_int_t)utf8_len(json_string_value(v),
	    json_string_length(v)) > json_integer_value(k)) {
		snprintf(a, sizeof(a), "%zu", utf8_len(json_string_value(v),
		    json_string_length(v)));
		snprintf(b, sizeof(b), "%lld", (long long)
		    json_integer_value(k));
		return fail(c, "string of %s characters, longer than the "
		    "maximum %s", a, b);
	}
	if (json_is_number(v)) {
		double	 x = json_number_value(v);

		snprintf(a, sizeof(a), "%g", x);
		if (json_is_number(k = json_object_get(s, "minimum")) &&
		    x < json_number_value(k)) {
			snprintf(b, sizeof(b), "%g", json_number_value(k));
			return fail(c, "%s is less than the minimum %s", a, b);
		}
		if (json_is_number(k = json_object_get(s, "maximum")) &&
		    x > json_number_value(k)) {
			snprintf(b, sizeof(b), "%g", json_number_value(k));
			return fail(c, "%s is greater than the maximum %s", a,
			    b);
		}
	}
	if (json_is_object(v))
		return check_object(c, s, v, depth);
	if (json_is_array(v))
		return check_array(c, s, v, depth);
	return 0;
}

int
jschema_validate(json_t *schema, json_t *inst, char *err, size_t len)
{
	struct jctx	c;

	c.err = err;
	c.len = len;
	c.ptr[0] = '\0';
	if (len > 0)
		err[0] = '\0';
	if (inst == NULL)
		return fail(&c, "no value");
	return validate(&c, schema, inst, 0);
}
