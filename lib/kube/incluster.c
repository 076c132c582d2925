/*
 * incluster.c - configuration from the pod's service account, as
 * client-go's rest.InClusterConfig() builds it.
 *
 * The server is https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
 * (an IPv6 address in brackets), the CA is sa_dir/ca.crt, the namespace
 * $POD_NAMESPACE or else sa_dir/namespace.  The token is not copied: the
 * client reads sa_dir/token itself, at most a minute old and again after a
 * 401, because projected service-account tokens rotate.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "kube/kubeconfig.h"

#define SA_FILE_MAX	(1024 * 1024)

int
kube_incluster_load(const char *sa_dir, struct kube_config *kc, char *err,
    size_t errlen)
{
	const char	*host, *port, *podns;
	char		 path[PATH_MAX], rerr[512];
	char		*buf = NULL;
	size_t		 len = 0, n;
	int		 rc = -1;

	memset(kc, 0, sizeof(*kc));
	if (sa_dir == NULL)
		sa_dir = KUBE_SA_DIR;
	host = getenv("KUBERNETES_SERVICE_HOST");
	port = getenv("KUBERNETES_SERVICE_PORT");
	if (host == NULL || *host == '\0' || port == NULL || *port == '\0')
		return 1;
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5) {
		snprintf(err, errlen, "in-cluster: KUBERNETES_SERVICE_PORT "
		    "\"%.16s\" is not a port number", port);
		return -1;
	}
	n = strlen(host) + strlen(port) + 16;
	if ((kc->server = malloc(n)) == NULL)
		goto oom;
	snprintf(kc->server, n, strchr(host, ':') ? "https://[%s]:%s" :
	    "https://%s:%s", host, port);
	snprintf(path, sizeof(path), "%s/token", sa_dir);
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "in-cluster: cannot read the "
		    "service-account token %s", path);
		goto out;
	}
	if ((kc->token_file = strdup(path)) == NULL)
		goto oom;
	snprintf(path, sizeof(path), "%s/ca.crt", sa_dir);
	if (read_file(path, SA_FILE_MAX, &buf, &len, rerr, sizeof(rerr)) ==
	    -1) {
		snprintf(err, errlen, "in-cluster: %s", rerr);
		goto out;
	}
	kc->ca.data = (unsigned char *)buf;
	kc->ca.len = len;
	buf = NULL;
	if ((podns = getenv("POD_NAMESPACE")) != NULL && *podns != '\0') {
		if ((kc->namespace = strdup(podns)) == NULL)
			goto oom;
	} else {
		snprintf(path, sizeof(path), "%s/namespace", sa_dir);
		if (read_file(path, 256, &buf, &len, rerr, sizeof(rerr)) == 0) {
			buf[strcspn(buf, " \t\r\n")] = '\0';
			if (*buf != '\0')
				kc->namespace = buf;
			else
				free(buf);
			buf = NULL;
		}
	}
	if ((kc->source = strdup(sa_dir)) == NULL ||
	    (kc->context = strdup("in-cluster")) == NULL)
		goto oom;
	kc->in_cluster = 1;
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "in-cluster: out of memory");
out:
	free(buf);
	if (rc == -1)
		kube_config_clear(kc);
	return rc;
}
