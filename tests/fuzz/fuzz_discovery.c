/*
 * fuzz_discovery.c - the API discovery documents' parser
 * (lib/kube/discovery.h) and the projections of the kinds served at older
 * versions (lib/kube/objects.h), which read what a server sends.
 *
 * Input: byte 0 picks the group version asked for (none, "v1",
 * "batch/v1beta1"), the rest is the document.  A document is accepted or
 * refused with a message; whatever was accepted answers lookups, and a
 * version chosen is one the set says is served.
 */
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "kube/discovery.h"
#include "kube/objects.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const gvs[] = { NULL, "v1", "batch/v1beta1" };
	static const struct informer_type *const more[] = {
		&kobj_hpas_v1, &kobj_endpointslices_v1beta1, &kobj_pdbs_v1beta1,
		&kobj_cronjobs_v1beta1, NULL };
	const struct informer_type	*pick;
	struct discovery_set		 s;
	json_t				*doc;
	void				*p;
	char				 err[512];
	size_t				 i;
	int				 rc;

	if (size < 1 || size > 1024 * 1024)
		return 0;
	if ((doc = json_loadb((const char *)data + 1, size - 1, 0, NULL)) ==
	    NULL)
		return 0;
	discovery_set_init(&s);
	err[0] = '\0';
	rc = discovery_parse(&s, doc, gvs[data[0] % 3], err, sizeof(err));
	fuzz_check(rc == 0 || rc == -1);
	fuzz_check(rc == 0 || err[0] != '\0');
	(void)discovery_has_gv(&s, "v1");
	(void)discovery_has(&s, "batch/v1beta1", "cronjobs");
	pick = discovery_choose(&s, kobj_versions(&kobj_hpas));
	if (pick != NULL) {
		char gv[128];

		fuzz_check(discovery_gv_of_path(pick->group_path, gv,
		    sizeof(gv)) == 0);
		fuzz_check(discovery_has(&s, gv, pick->resource));
	}
	for (i = 0; more[i] != NULL; i++)
		if ((p = more[i]->project(doc)) != NULL)
			more[i]->free_fn(p);
	discovery_set_clear(&s);
	json_decref(doc);
	return 0;
}
