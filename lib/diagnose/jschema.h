/*
 * jschema.h - a small JSON Schema validator for the subset that
 * proto/diagnosis.schema.json uses: type (a name or an array of names),
 * required, properties, additionalProperties (false or a schema), enum,
 * items, minItems/maxItems, maxLength (in code points), minimum/maximum.
 * Any other keyword is ignored, as JSON Schema ignores unknown keywords; an
 * empty schema accepts anything.
 *
 * Errors name the failing value by its JSON Pointer:
 *   "/actions/0/target/kind: \"Secret\" is not one of Deployment"
 */
#ifndef REMEDY_DIAGNOSE_JSCHEMA_H
#define REMEDY_DIAGNOSE_JSCHEMA_H

#include <stddef.h>

#include <jansson.h>

#define JSCHEMA_MAX_DEPTH	32	/* deeper instances are refused */

/* 0 when inst is valid against schema; -1 with the first problem in err. */
int	jschema_validate(json_t *schema, json_t *inst, char *err, size_t len);

/* The reply schema (the text of proto/diagnosis.schema.json), parsed once;
 * a borrowed reference, NULL only when out of memory. */
json_t	*diagnosis_schema(void);
extern const char diagnosis_schema_text[];

#endif
