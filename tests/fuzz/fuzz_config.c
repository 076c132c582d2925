/*
 * fuzz_config.c - remedyd's configuration loader (lib/conf/config.h).
 *
 * Any file must load or be refused with file:line:col messages; a config
 * that loads must dump to canonical YAML that loads again to the same dump
 * (what remedyd -nv promises).
 */
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct remedy_config	 cfg, again;
	const char		*path;
	char			*errs = NULL, *dump, *dump2;
	int			 n;

	if (size > CONFIG_MAX_BYTES + 16)
		return 0;
	path = fuzz_file(data, size);
	config_init(&cfg);
	n = config_load(path, &cfg, &errs);
	fuzz_check(n >= 0);
	fuzz_check((n == 0) == (errs == NULL));
	if (errs != NULL)
		fuzz_check(strncmp(errs, path, strlen(path)) == 0);
	free(errs);
	errs = NULL;
	if (n == 0 && (dump = config_dump(&cfg)) != NULL) {
		path = fuzz_file((const uint8_t *)dump, strlen(dump));
		config_init(&again);
		n = config_load(path, &again, &errs);
		if (n != 0)
			fuzz_fail(__FILE__, __LINE__, errs ? errs :
			    "canonical dump does not load");
		if ((dump2 = config_dump(&again)) != NULL) {
			fuzz_check(strcmp(dump, dump2) == 0);
			free(dump2);
		}
		config_clear(&again);
		free(dump);
	}
	config_clear(&cfg);
	return 0;
}
