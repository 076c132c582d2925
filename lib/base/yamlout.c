/*
 * yamlout.c - JSON values written as YAML through libyaml's emitter
 * (remedyctl -o yaml, remedyd analyze -o yaml).
 *
 * Strings that would read back as something else (null, booleans,
 * numbers, timestamps) are quoted; multi-line strings are literal blocks.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>

#include <jansson.h>
#include <yaml.h>

#include "base/util.h"
#include "base/yamlout.h"

#define YAMLOUT_MAX_DEPTH	64	/* nesting the emitter follows */

/*
 * Would a plain scalar with this text read back as something other than a
 * string (null, a boolean, a number)?  Then it must be quoted.
 */
static int
yaml_ambiguous(const char *s)
{
	static const char *const words[] = { "null", "~", "true", "false",
	    "yes", "no", "on", "off", "y", "n", ".nan", ".inf", "-.inf",
	    "+.inf" };
	char	*end;
	size_t	 i;

	if (*s == '\0')
		return 1;
	/* 2026-11-27...: a YAML 1.1 timestamp */
	if (strspn(s, "0123456789") == 4 && s[4] == '-')
		return 1;
	for (i = 0; i < NELEM(words); i++)
		if (strcasecmp(s, words[i]) == 0)
			return 1;
	if (strchr("0123456789+-.", *s) != NULL) {
		(void)strtod(s, &end);
		if (*end == '\0')
			return 1;
		/* 0x1f, 0o17, 1_000, 12:30: YAML 1.1 numbers and times */
		if (strspn(s, "0123456789+-._:xXoOabcdefABCDEF") == strlen(s))
			return 1;
	}
	return 0;
}

static int
yaml_scalar(yaml_emitter_t *em, const char *text, int plain_ok,
    yaml_scalar_style_t style)
{
	yaml_event_t	ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL,
	    (yaml_char_t *)(uintptr_t)text, (int)strlen(text), plain_ok, 1,
	    style))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int
yaml_value(yaml_emitter_t *em, const json_t *v, int depth)
{
	yaml_event_t	 ev;
	const char	*key, *s;
	json_t		*item;
	size_t		 i;
	char		 num[64];

	if (depth > YAMLOUT_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		    YAML_ANY_MAPPING_STYLE) || !yaml_emitter_emit(em, &ev))
			return -1;
		json_object_foreach((json_t *)(uintptr_t)v, key, item) {
			if (yaml_scalar(em, key, !yaml_ambiguous(key),
			    YAML_ANY_SCALAR_STYLE) == -1 ||
			    yaml_value(em, item, depth + 1) == -1)
				return -1;
		}
		if (!yaml_mapping_end_event_initialize(&ev) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		return 0;
	case JSON_ARRAY:
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		    YAML_ANY_SEQUENCE_STYLE) || !yaml_emitter_emit(em, &ev))
			return -1;
		json_array_foreach(v, i, item)
			if (yaml_value(em, item, depth + 1) == -1)
				return -1;
		if (!yaml_sequence_end_event_initialize(&ev) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		return 0;
	case JSON_STRING:
		s = json_string_value(v);
		return yaml_scalar(em, s, !yaml_ambiguous(s),
		    strchr(s, '\n') ? YAML_LITERAL_SCALAR_STYLE :
		    YAML_ANY_SCALAR_STYLE);
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return yaml_scalar(em, num, 1, YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		return yaml_scalar(em, num, 1, YAML_PLAIN_SCALAR_STYLE);
	case JSON_TRUE:
		return yaml_scalar(em, "true", 1, YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return yaml_scalar(em, "false", 1, YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
	default:
		return yaml_scalar(em, "null", 1, YAML_PLAIN_SCALAR_STYLE);
	}
}

static int
yaml_write_cb(void *data, unsigned char *buf, size_t len)
{
	return fwrite(buf, 1, len, data) == len;
}

int
yaml_emit_json(FILE *fp, const json_t *v, char *err, size_t errlen)
{
	yaml_emitter_t	em;
	yaml_event_t	ev;
	int		rc = -1;

	if (!yaml_emitter_initialize(&em)) {
		snprintf(err, errlen, "cannot start the YAML emitter");
		return -1;
	}
	yaml_emitter_set_output(&em, yaml_write_cb, fp);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(&em, &ev) ||
	    !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(&em, &ev) ||
	    yaml_value(&em, v, 0) == -1 ||
	    !yaml_document_end_event_initialize(&ev, 1) ||
	    !yaml_emitter_emit(&em, &ev) ||
	    !yaml_stream_end_event_initialize(&ev) ||
	    !yaml_emitter_emit(&em, &ev)) {
		snprintf(err, errlen, "YAML output: %s", em.problem ?
		    em.problem : "nesting too deep or write error");
		goto out;
	}
	rc = 0;
out:
	yaml_emitter_delete(&em);
	return rc;
}
