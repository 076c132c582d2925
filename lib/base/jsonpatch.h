/*
 * jsonpatch.h - RFC 6901 JSON Pointer and RFC 6902 JSON Patch.
 *
 * jsonpatch_apply() works on a deep copy and never leaves a half-applied
 * document: either every operation succeeds and the result is returned, or
 * NULL is returned with the index and reason of the failing operation.
 * "test" compares with RFC 6902 equality (numbers by value, objects
 * unordered).
 */
#ifndef REMEDY_JSONPATCH_H
#define REMEDY_JSONPATCH_H

#include <stddef.h>

#include <jansson.h>

/* Resolve a JSON Pointer; borrowed reference or NULL. "" is the document. */
json_t	*jsonptr_get(json_t *doc, const char *pointer);
/* Escape one reference token ("~" -> "~0", "/" -> "~1") into out. Returns
 * -1 when it does not fit. */
int	 jsonptr_escape(const char *token, char *out, size_t outlen);

/*
 * Check that patch is an array of well-formed operations (op, path, value
 * or from as each op requires).  Returns 0, or -1 with a message.
 */
int	 jsonpatch_validate(json_t *patch, char *err, size_t errlen);

/* Apply patch to a copy of doc.  Returns the new document, or NULL with
 * "operation N (op path): reason" in err. */
json_t	*jsonpatch_apply(json_t *doc, json_t *patch, char *err, size_t errlen);

#endif
