/*
 * storage.c - a PersistentVolumeClaim that cannot be provisioned because
 * the StorageClass it names does not exist (or it names none and there is
 * no default class), decided from the StorageClasses remedyd caches
 * (in->storageclasses).
 *
 * Never a patch: a claim's spec.storageClassName is immutable once the
 * claim exists (kube-apiserver refuses the update), so the fix is to
 * create the claim again.  The explanation names the classes that exist,
 * the default one (annotation storageclass.kubernetes.io/is-default-class
 * "true"), and the closest name, so the operator can recreate the claim
 * with the right class.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "base/util.h"

#define DEFAULT_ANN	"storageclass.kubernetes.io/is-default-class"
#define MAX_NAMED	32	/* classes named in the explanation */

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
is_default(json_t *sc)
{
	const char *v = json_string_value(json_object_get(json_at(sc,
	    "metadata.annotations"), DEFAULT_ANN));

	return v != NULL && strcmp(v, "true") == 0;
}

int
remedy_storage_class(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	const struct incident	*inc = in->inc;
	json_t			*sc;
	const char		*want, *name, *dflt = NULL, *sorted[MAX_NAMED];
	char			 names[400], why[900];
	size_t			 i, n = 0, ns = 0, len;
	int			 found = 0;

	if (in->owner == NULL) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "PersistentVolumeClaim %s/%s could not be read; see the "
		    "provisioner's event", inc->ns, inc->name);
		return 0;
	}
	want = json_str_at(in->owner, "spec.storageClassName");
	names[0] = '\0';
	json_array_foreach(in->storageclasses, i, sc) {
		if ((name = json_str_at(sc, "name")) == NULL)
			continue;
		if (want != NULL && strcmp(name, want) == 0)
			found = 1;
		if (is_default(sc) && (dflt == NULL || strcmp(name, dflt) < 0))
			dflt = name;
		if (ns < MAX_NAMED)
			sorted[ns++] = name;
	}
	qsort(sorted, ns, sizeof(sorted[0]), cmpstr);
	for (i = 0; i < ns; i++)
		n += (size_t)snprintf(names + n, n < sizeof(names) ?
		    sizeof(names) - n : 0, "%s%s", n ? ", " : "", sorted[i]);
	if (ns == MAX_NAMED && json_array_size(in->storageclasses) > ns)
		n += (size_t)snprintf(names + n, n < sizeof(names) ?
		    sizeof(names) - n : 0, ", ...");
	if (n >= sizeof(names) && sizeof(names) > 4)
		memcpy(names + sizeof(names) - 4, "...", 4);
	if (found || (want == NULL && dflt != NULL)) {
		snprintf(p->summary, sizeof(p->summary), "No automatic fix: "
		    "StorageClass %s exists; the provisioner's event says why "
		    "it cannot provision the claim", want ? want : dflt);
		return 0;
	}
	if (want != NULL && *want != '\0')
		snprintf(why, sizeof(why), "StorageClass %s does not exist. "
		    "The classes that exist: %s; the default class: %s. A "
		    "claim's storageClassName cannot be changed: create "
		    "PersistentVolumeClaim %s/%s again with an existing class "
		    "(it is Pending, so no volume is bound to it yet)", want,
		    n ? names : "none", dflt ? dflt : "none", inc->ns,
		    inc->name);
	else
		snprintf(why, sizeof(why), "The claim names no StorageClass "
		    "and no class is the default (annotation %s). The classes "
		    "that exist: %s. Mark one as the default, or create "
		    "PersistentVolumeClaim %s/%s again naming one", DEFAULT_ANN,
		    n ? names : "none", inc->ns, inc->name);
	snprintf(p->summary, sizeof(p->summary), "No automatic fix: %.480s",
	    why);
	len = strlen(cause);
	snprintf(cause + len, clen > len ? clen - len : 0, " %s.", why);
	return 0;
}
