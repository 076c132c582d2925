/*
 * kubeconfig.h - what we need from a kubeconfig to talk to one cluster.
 *
 * kubeconfig_load() resolves the configuration as kubectl does: the explicit
 * path, else every file of $KUBECONFIG (':'-separated, missing files
 * skipped, merged: the first file to set current-context, or to define a
 * context, cluster or user of a given name, wins), else ~/.kube/config, else
 * in-cluster service-account configuration when remedyd runs in a pod
 * (kube_incluster_load()).  It picks the context (the given name, else
 * current-context) and resolves its cluster and user.  File paths are
 * resolved against the directory of the kubeconfig that holds the entry,
 * and the files they name are read into memory here: key material is
 * handed to libcurl as blobs and never written anywhere.
 *
 * An exec credential plugin (users[].user.exec) is only described here;
 * lib/kube/exec.c runs it when the client needs a credential.
 *
 * Errors name the file and the field: "kubeconfig /x: users[0].user:
 * client-key-data is not valid base64".
 */
#ifndef REMEDY_KUBE_KUBECONFIG_H
#define REMEDY_KUBE_KUBECONFIG_H

#include <stddef.h>

struct kube_blob {
	unsigned char	*data;
	size_t		 len;
};

/* users[].user.exec: an exec credential plugin (exec.h runs it). */
struct kube_exec_config {
	char		*api_version;	/* client.authentication.k8s.io/v1[beta1] */
	char		*command;	/* made absolute when it holds a '/' */
	char	       **args;		/* NULL-terminated, never NULL */
	char	       **env;		/* "NAME=VALUE", NULL-terminated */
	int		 provide_cluster_info;
	char		*install_hint;
};

struct kube_config {
	char		*source;	/* kubeconfig file it came from */
	char		*context;	/* context name */
	char		*server;	/* "https://127.0.0.1:6443" (no trailing /) */
	char		*namespace;	/* context namespace, or NULL */
	struct kube_blob ca;		/* PEM, from -data or file; empty: system */
	struct kube_blob client_cert;	/* PEM */
	struct kube_blob client_key;	/* PEM */
	char		*token;		/* bearer token, or NULL */
	char		*token_file;	/* re-read on use when set */
	char		*tls_server_name;
	int		 insecure;	/* insecure-skip-tls-verify */
	char		*proxy_url;	/* cluster proxy-url, or NULL */
	struct kube_exec_config *exec;	/* exec plugin, or NULL */
	int		 in_cluster;	/* from the service account */
};

#define KUBE_SA_DIR	"/var/run/secrets/kubernetes.io/serviceaccount"

int	kubeconfig_load(const char *path, const char *context,
	    struct kube_config *kc, char *err, size_t errlen);
void	kube_config_clear(struct kube_config *kc);
/* Deep copy of src into dst; -1 when out of memory (dst then cleared). */
int	kube_config_copy(struct kube_config *dst, const struct kube_config *src);

/*
 * In-cluster configuration (incluster.c): $KUBERNETES_SERVICE_HOST and
 * _PORT, the token file sa_dir/token (re-read by the client every minute
 * and after a 401), sa_dir/ca.crt, the namespace from $POD_NAMESPACE else
 * sa_dir/namespace.  sa_dir NULL is KUBE_SA_DIR.  Returns 1 when the
 * environment is not in-cluster (nothing set), 0 on success, -1 with a
 * message naming the file on error.
 */
int	kube_incluster_load(const char *sa_dir, struct kube_config *kc,
	    char *err, size_t errlen);

#endif
