/*
 * kubeconfig.h - what we need from a kubeconfig to talk to one cluster.
 *
 * kubeconfig_load() reads the file (explicit path, else the first file of
 * $KUBECONFIG, else ~/.kube/config), picks the context (the given name, else
 * current-context) and resolves its cluster and user.  File paths in the
 * kubeconfig are resolved against the kubeconfig's own directory, and the
 * files they name are read into memory here: key material is handed to
 * libcurl as blobs and never written anywhere.
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
};

int	kubeconfig_load(const char *path, const char *context,
	    struct kube_config *kc, char *err, size_t errlen);
void	kube_config_clear(struct kube_config *kc);

#endif
