/*
 * fuzz_kubeconfig.c - the kubeconfig loader (lib/kube/kubeconfig.h).
 *
 * Any file must load or be refused with a message naming the file.  Files
 * the kubeconfig names (certificate-authority, tokenFile, ...) resolve
 * against the scratch file's directory; the loader reads them with a size
 * limit, so whatever they are, nothing may hang or crash.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kube/kubeconfig.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Nothing from the environment may leak into what is fuzzed. */
	unsetenv("KUBECONFIG");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_config	 kc;
	const char		*path;
	char			 err[1024];
	int			 rc;

	if (size > 256 * 1024)
		return 0;
	path = fuzz_file(data, size);
	memset(&kc, 0, sizeof(kc));
	err[0] = '\0';
	rc = kubeconfig_load(path, NULL, &kc, err, sizeof(err));
	if (rc == -1)
		fuzz_check(err[0] != '\0');
	else
		fuzz_check(kc.server != NULL);
	kube_config_clear(&kc);
	/* A named context that may or may not exist. */
	memset(&kc, 0, sizeof(kc));
	rc = kubeconfig_load(path, "fuzz", &kc, err, sizeof(err));
	kube_config_clear(&kc);
	return 0;
}
