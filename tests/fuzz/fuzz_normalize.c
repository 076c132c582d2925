/*
 * fuzz_normalize.c - normalise a proposal into a canonical JSON Patch and
 * its inverse (lib/action/normalize.h).
 *
 * Input: a JSON array [observed, proposal].  When normalize_proposal()
 * accepts, the patch's preconditions hold on observed, the patch applies to
 * observed, the inverse applies to the result and gives observed back, the
 * inverse derived from the patch alone does the same, and a stamped patch
 * carries the action id.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "action/normalize.h"
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
	struct normalized	 out;
	json_t			*in, *observed, *proposal, *copy, *after, *back;
	json_t			*inv, *stamped, *st_after;
	json_error_t		 jerr;
	char			 err[1024];

	if (size > 64 * 1024)
		return 0;
	if ((in = json_loadb((const char *)data, size, 0, &jerr)) == NULL)
		return 0;
	if (!json_is_array(in) || json_array_size(in) != 2)
		goto out;
	observed = json_array_get(in, 0);
	proposal = json_array_get(in, 1);
	if ((copy = json_deep_copy(in)) == NULL)
		goto out;
	memset(&out, 0, sizeof(out));
	err[0] = '\0';
	if (normalize_proposal(observed, proposal, &out, err, sizeof(err)) !=
	    0) {
		fuzz_check(err[0] != '\0');
		fuzz_check(out.patch == NULL && out.inverse == NULL);
		fuzz_check(json_equal(in, copy));	/* inputs untouched */
		json_decref(copy);
		goto out;
	}
	fuzz_check(json_equal(in, copy));
	fuzz_check(json_is_array(out.patch) && json_is_array(out.inverse) &&
	    json_is_array(out.changes));
	fuzz_check(normalize_preconditions(observed, out.patch, err,
	    sizeof(err)) == 0);
	after = jsonpatch_apply(observed, out.patch, err, sizeof(err));
	if (after == NULL)
		fuzz_fail(__FILE__, __LINE__, err);
	back = jsonpatch_apply(after, out.inverse, err, sizeof(err));
	if (back == NULL)
		fuzz_fail(__FILE__, __LINE__, err);
	fuzz_check(json_equal(back, observed));
	json_decref(back);
	if ((inv = normalize_inverse(out.patch)) != NULL) {
		back = jsonpatch_apply(after, inv, err, sizeof(err));
		if (back == NULL)
			fuzz_fail(__FILE__, __LINE__, err);
		fuzz_check(json_equal(back, observed));
		json_decref(back);
		json_decref(inv);
	}
	if ((stamped = normalize_stamp(out.patch, observed, 42)) != NULL) {
		st_after = jsonpatch_apply(observed, stamped, err,
		    sizeof(err));
		if (st_after == NULL)
			fuzz_fail(__FILE__, __LINE__, err);
		fuzz_check(normalize_stamped_id(st_after) == 42);
		json_decref(st_after);
		json_decref(stamped);
	}
	json_decref(after);
	normalized_clear(&out);
	json_decref(copy);
out:
	json_decref(in);
	return 0;
}
