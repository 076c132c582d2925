/*
 * job.c - a Job whose pods keep failing the same way while its controller
 * still retries (JobPodsFailing): explained, never patched.
 *
 * A Job's pod template is immutable (kube-apiserver refuses an update of
 * spec.template), so no patch can fix the running Job: what it would take
 * is said instead.  For a Job of a CronJob, the CronJob's jobTemplate can
 * be changed and the next run uses it; the failing Job itself keeps its
 * template until it gives up or is deleted.
 */
#include <stdio.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "base/util.h"

int
remedy_job_explain(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	const struct incident	*inc = in->inc;
	char			 why[900];
	size_t			 len;

	if (strcmp(inc->kind, "CronJob") == 0)
		snprintf(why, sizeof(why), "The failing Job's pod template "
		    "cannot be changed (it is immutable), and each retry runs "
		    "the same command, so it will keep failing until its "
		    "backoffLimit. Fix the cause in CronJob %s/%s's "
		    "spec.jobTemplate (the image, command or configuration the "
		    "exit code points at): the next run uses it. To stop the "
		    "current run early, delete its Job", inc->ns, inc->name);
	else
		snprintf(why, sizeof(why), "A Job's pod template cannot be "
		    "changed (it is immutable), and each retry runs the same "
		    "command, so Job %s/%s will keep failing until its "
		    "backoffLimit. To fix it, recreate it: save it (kubectl get "
		    "job %s -o yaml), correct the template (the image, command "
		    "or configuration the exit code points at), remove the "
		    "fields the API server sets (status, metadata.uid, "
		    "resourceVersion, the controller-uid selector and labels), "
		    "delete the Job and create it again; its pods' logs go with "
		    "it", inc->ns, inc->name, inc->name);
	snprintf(p->summary, sizeof(p->summary), "No automatic fix: the pods "
	    "of %s %s/%s fail with the same exit code on every retry; a "
	    "Job's pod template is immutable, see the root cause", inc->kind,
	    inc->ns, inc->name);
	len = strlen(cause);
	snprintf(cause + len, clen > len ? clen - len : 0, " %s.", why);
	return 0;
}
