/*
 * fuzz_jsonpatch.c - JSON Pointer and JSON Patch (lib/base/jsonpatch.h).
 *
 * Input: a JSON array [document, patch].  jsonpatch_apply() must never
 * change the document it was given, must fail with a message or return a
 * result; a patch that validates and applies must apply again to the same
 * document with the same result (no hidden state); every pointer in the
 * patch must resolve or not without crashing.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/jsonpatch.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t		*in, *doc, *patch, *copy, *r1, *r2, *op;
	json_error_t	 jerr;
	char		 err[512], esc[64];
	size_t		 i;
	const char	*p;

	if (size > 64 * 1024)
		return 0;
	if ((in = json_loadb((const char *)data, size, JSON_DECODE_ANY,
	    &jerr)) == NULL)
		return 0;
	if (!json_is_array(in) || json_array_size(in) != 2)
		goto out;
	doc = json_array_get(in, 0);
	patch = json_array_get(in, 1);
	if ((copy = json_deep_copy(doc)) == NULL)
		goto out;
	json_array_foreach(patch, i, op) {
		if ((p = json_string_value(json_object_get(op, "path"))) !=
		    NULL) {
			(void)jsonptr_get(doc, p);
			(void)jsonptr_escape(p, esc, sizeof(esc));
		}
		if ((p = json_string_value(json_object_get(op, "from"))) !=
		    NULL)
			(void)jsonptr_get(doc, p);
	}
	err[0] = '\0';
	if (jsonpatch_validate(patch, err, sizeof(err)) == -1)
		fuzz_check(err[0] != '\0');
	err[0] = '\0';
	r1 = jsonpatch_apply(doc, patch, err, sizeof(err));
	fuzz_check(json_equal(doc, copy));
	if (r1 == NULL) {
		fuzz_check(err[0] != '\0');
	} else {
		r2 = jsonpatch_apply(doc, patch, err, sizeof(err));
		fuzz_check(r2 != NULL && json_equal(r1, r2));
		json_decref(r2);
		json_decref(r1);
	}
	json_decref(copy);
out:
	json_decref(in);
	return 0;
}
