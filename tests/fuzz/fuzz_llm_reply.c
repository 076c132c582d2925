/*
 * fuzz_llm_reply.c - the LLM reply parser, the schema check and the turn
 * of a validated action into a proposal (lib/diagnose/reply.h), with the
 * default policy wall and the normaliser behind it.
 *
 * Input: the model's text.  Anything must be refused with a message or
 * become proposals whose patch is a JSON Patch array that applies to the
 * observed object.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "action/policy.h"
#include "base/jsonpatch.h"
#include "diagnose/diagnose.h"
#include "diagnose/reply.h"
#include "fuzz.h"

static struct policy	 pol;
static json_t		*observed;

static const char OBSERVED[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
    "\"name\":\"web\",\"namespace\":\"demo\",\"generation\":4,"
    "\"resourceVersion\":\"812\",\"annotations\":{"
    "\"deployment.kubernetes.io/revision\":\"2\"}},\"spec\":{\"replicas\":3,"
    "\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":"
    "\"nginx:1.27-typo\",\"resources\":{\"limits\":{\"memory\":\"128Mi\"}}}"
    "]}}},\"status\":{\"observedGeneration\":4}}";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_error_t	 jerr;

	if (policy_init_defaults(&pol) != 0)
		abort();
	if ((observed = json_loads(OBSERVED, 0, &jerr)) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct reply_target target = { "Deployment", "demo",
	    "web", "/apis/apps/v1/namespaces/demo/deployments/web" };
	struct proposal	 p;
	json_t		*doc, *after;
	char		*text, err[1024];
	size_t		 i, n;

	if (size > REPLY_MAX_TEXT + 16)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	doc = reply_parse(text, err, sizeof(err));
	free(text);
	if (doc == NULL) {
		fuzz_check(err[0] != '\0');
		return 0;
	}
	err[0] = '\0';
	if (reply_validate(doc, err, sizeof(err)) != 0) {
		fuzz_check(err[0] != '\0');
		json_decref(doc);
		return 0;
	}
	n = json_array_size(json_object_get(doc, "actions"));
	for (i = 0; i < n; i++) {
		memset(&p, 0, sizeof(p));
		err[0] = '\0';
		if (reply_action(doc, i, &target, observed, &pol, &p, err,
		    sizeof(err)) != 0) {
			fuzz_check(err[0] != '\0');
			proposal_clear(&p);
			continue;
		}
		if (p.patch != NULL) {
			fuzz_check(json_is_array(p.patch));
			after = jsonpatch_apply(observed, p.patch, err,
			    sizeof(err));
			fuzz_check(after != NULL);
			json_decref(after);
		}
		proposal_clear(&p);
	}
	memset(&p, 0, sizeof(p));
	(void)reply_explain(doc, &target, &p);
	proposal_clear(&p);
	json_decref(doc);
	return 0;
}
