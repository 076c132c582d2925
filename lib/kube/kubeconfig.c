/*
 * kubeconfig.c - read the one context we need out of a kubeconfig.
 *
 * The file is parsed with libyaml into a tree (yamltree.h) and only the
 * chosen context, its cluster and its user are looked at; other entries
 * may hold fields we do not know.  Files the kubeconfig names (CA,
 * client certificate and key, token) are read here, relative to the
 * kubeconfig's directory, so later code never opens them again (except
 * token_file, which the client re-reads to follow rotation).
 *
 * Key material: the parse tree, the parser's buffers and the file text
 * are zeroed before they are freed, and kube_config_clear() zeroes the
 * blobs and the token.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "util.h"
#include "yamltree.h"

#define KUBECONFIG_MAX_BYTES	(4 * 1024 * 1024)
#define KUBE_FILE_MAX_BYTES	(1024 * 1024)	/* CA, cert, key, token */
#define LABEL_MAX		256		/* users["name"].user */

struct kctx {
	struct ytree	 t;
	const char	*file;
	char		 dir[PATH_MAX];
	char		*err;
	size_t		 errlen;
	int		 failed;
};

/* Record the first error as "kubeconfig FILE: message". */
static void __attribute__((format(printf, 2, 3)))
kerr(struct kctx *k, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	if (k->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(k->err, k->errlen, "kubeconfig %s: %s", k->file, msg);
}

/*
 * Decode standard base64 (padding required, whitespace ignored) from s
 * into a new blob.  Returns -1 on any other character, a bad length or
 * padding in the middle.
 */
static int
b64_decode(const char *s, struct kube_blob *out)
{
	unsigned char	*buf;
	size_t		 n = 0, len = strlen(s);
	unsigned int	 acc = 0;
	int		 bits = 0, pad = 0, v, rc = -1;

	if ((buf = malloc(len / 4 * 3 + 3)) == NULL)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
			continue;
		if (*s == '=') {
			pad++;
			continue;
		}
		if (pad)		/* data after padding */
			goto out;
		if (*s >= 'A' && *s <= 'Z')
			v = *s - 'A';
		else if (*s >= 'a' && *s <= 'z')
			v = *s - 'a' + 26;
		else if (*s >= '0' && *s <= '9')
			v = *s - '0' + 52;
		else if (*s == '+')
			v = 62;
		else if (*s == '/')
			v = 63;
		else
			goto out;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* groups of four: 0 leftover bits and no pad, or 2 or 4 leftover
	 * zero bits with 2 or 1 pad characters */
	if (!((bits == 0 && pad == 0) || (bits == 4 && pad == 2) ||
	    (bits == 2 && pad == 1)) || acc != 0)
		goto out;
	out->data = buf;
	out->len = n;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, len / 4 * 3 + 3);
		free(buf);
	}
	return rc;
}

/*
 * The string at key in mapping m, or NULL when absent or null.  A value of
 * another type is an error naming label.key.
 */
static const char *
kstr(struct kctx *k, yaml_node_t *m, const char *label, const char *key)
{
	yaml_node_t	*v = ytree_get(&k->t, m, key);
	const char	*s;

	if (v == NULL || ytree_is_null(v))
		return NULL;
	if ((s = ytree_str(v)) == NULL) {
		kerr(k, "%s.%s: expected a string, got %s", label, key,
		    ytree_kind(v));
		return NULL;
	}
	if (strlen(s) != v->data.scalar.length) {
		kerr(k, "%s.%s: contains a NUL byte", label, key);
		return NULL;
	}
	return s;
}

/* Make p absolute against the kubeconfig's directory into out. */
static int
resolve(struct kctx *k, const char *label, const char *key, const char *p,
    char *out, size_t outlen)
{
	int	n;

	if (*p == '/')
		n = snprintf(out, outlen, "%s", p);
	else
		n = snprintf(out, outlen, "%s/%s", k->dir, p);
	if (n < 0 || (size_t)n >= outlen) {
		kerr(k, "%s.%s: path too long", label, key);
		return -1;
	}
	return 0;
}

/*
 * Fill blob from "KEY-data" (base64) or else from the file "KEY" names.
 * The inline data wins when both are set, as in kubectl.
 */
static int
load_blob(struct kctx *k, yaml_node_t *m, const char *label, const char *key,
    struct kube_blob *blob)
{
	char		 dkey[64], path[PATH_MAX], err[512];
	const char	*data, *file;
	char		*buf = NULL;
	size_t		 len = 0;

	snprintf(dkey, sizeof(dkey), "%s-data", key);
	data = kstr(k, m, label, dkey);
	file = kstr(k, m, label, key);
	if (k->failed)
		return -1;
	if (data != NULL) {
		if (b64_decode(data, blob) == -1) {
			kerr(k, "%s.%s: not valid base64", label, dkey);
			return -1;
		}
		if (blob->len == 0) {		/* "" means: not set */
			free(blob->data);
			blob->data = NULL;
		}
		return 0;
	}
	if (file == NULL)
		return 0;
	if (resolve(k, label, key, file, path, sizeof(path)) == -1)
		return -1;
	if (read_file(path, KUBE_FILE_MAX_BYTES, &buf, &len, err,
	    sizeof(err)) == -1) {
		kerr(k, "%s.%s: %s", label, key, err);
		return -1;
	}
	blob->data = (unsigned char *)buf;
	blob->len = len;
	return 0;
}

/*
 * Find the entry called name in the list at key ("clusters", "users",
 * "contexts") and return its inner mapping (entry[inner]).  *found tells
 * a missing entry from a broken list (which is an error).
 */
static yaml_node_t *
find_named(struct kctx *k, const char *key, const char *inner,
    const char *name, int *found)
{
	yaml_node_t		*list, *e, *v;
	yaml_node_item_t	*it;
	const char		*n;
	size_t			 i;

	*found = 0;
	list = ytree_get(&k->t, ytree_root(&k->t), key);
	if (list == NULL || ytree_is_null(list))
		return NULL;
	if (list->type != YAML_SEQUENCE_NODE) {
		kerr(k, "%s: expected a sequence, got %s", key,
		    ytree_kind(list));
		return NULL;
	}
	for (i = 0, it = list->data.sequence.items.start;
	    it < list->data.sequence.items.top; it++, i++) {
		e = ytree_node(&k->t, *it);
		if (e == NULL || e->type != YAML_MAPPING_NODE) {
			kerr(k, "%s[%zu]: expected a mapping, got %s", key, i,
			    ytree_kind(e));
			return NULL;
		}
		v = ytree_get(&k->t, e, "name");
		if ((n = ytree_str(v)) == NULL) {
			kerr(k, "%s[%zu].name: expected a string, got %s", key,
			    i, ytree_kind(v));
			return NULL;
		}
		if (strcmp(n, name) != 0)
			continue;
		*found = 1;
		v = ytree_get(&k->t, e, inner);
		if (v == NULL || ytree_is_null(v) ||
		    v->type != YAML_MAPPING_NODE) {
			kerr(k, "%s[\"%.64s\"].%s: expected a mapping, got %s",
			    key, name, inner, v ? ytree_kind(v) : "nothing");
			return NULL;
		}
		return v;
	}
	return NULL;
}

/* Parse "true"/"false" at key; absent is false. */
static int
kbool(struct kctx *k, yaml_node_t *m, const char *label, const char *key)
{
	const char	*s = kstr(k, m, label, key);

	if (s == NULL)
		return 0;
	if (strcasecmp(s, "true") == 0)
		return 1;
	if (strcasecmp(s, "false") != 0)
		kerr(k, "%s.%s: expected true or false, got \"%.32s\"", label,
		    key, s);
	return 0;
}

static int
load_cluster(struct kctx *k, const char *ctxlabel, const char *name,
    struct kube_config *kc)
{
	char		 label[LABEL_MAX];
	yaml_node_t	*c;
	const char	*server, *tsn;
	size_t		 n;
	int		 found;

	snprintf(label, sizeof(label), "clusters[\"%.64s\"].cluster", name);
	c = find_named(k, "clusters", "cluster", name, &found);
	if (k->failed)
		return -1;
	if (!found) {
		kerr(k, "%s.cluster: cluster \"%.64s\" not found", ctxlabel,
		    name);
		return -1;
	}
	if ((server = kstr(k, c, label, "server")) == NULL) {
		kerr(k, "%s.server: missing (the API server's URL is "
		    "required)", label);
		return -1;
	}
	if (strncmp(server, "https://", 8) != 0 &&
	    strncmp(server, "http://", 7) != 0) {
		kerr(k, "%s.server: \"%.128s\" is not an http(s) URL", label,
		    server);
		return -1;
	}
	if ((kc->server = strdup(server)) == NULL)
		goto oom;
	n = strlen(kc->server);
	while (n > 0 && kc->server[n - 1] == '/')
		kc->server[--n] = '\0';
	if (load_blob(k, c, label, "certificate-authority", &kc->ca) == -1)
		return -1;
	kc->insecure = kbool(k, c, label, "insecure-skip-tls-verify");
	if ((tsn = kstr(k, c, label, "tls-server-name")) != NULL &&
	    (kc->tls_server_name = strdup(tsn)) == NULL)
		goto oom;
	return k->failed ? -1 : 0;
oom:
	kerr(k, "%s: out of memory", label);
	return -1;
}

/* Read the token file at path: whitespace around it is dropped. */
static int
load_token_file(struct kctx *k, const char *label, const char *path,
    struct kube_config *kc)
{
	char	 err[512];
	char	*buf = NULL, *s, *e;
	size_t	 len = 0;
	int	 rc = -1;

	if (read_file(path, KUBE_FILE_MAX_BYTES, &buf, &len, err,
	    sizeof(err)) == -1) {
		kerr(k, "%s.tokenFile: %s", label, err);
		return -1;
	}
	for (s = buf; *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r';
	    s++)
		;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t' ||
	    e[-1] == '\n' || e[-1] == '\r'); e--)
		;
	if (e == s) {
		kerr(k, "%s.tokenFile: %s is empty", label, path);
		goto out;
	}
	*e = '\0';
	if (kc->token != NULL) {
		explicit_bzero(kc->token, strlen(kc->token));
		free(kc->token);
	}
	if ((kc->token = strdup(s)) == NULL) {
		kerr(k, "%s.tokenFile: out of memory", label);
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}

static int
load_user(struct kctx *k, const char *ctxlabel, const char *name,
    struct kube_config *kc)
{
	char		 label[LABEL_MAX], path[PATH_MAX];
	yaml_node_t	*u;
	const char	*token, *tf;
	int		 found;

	snprintf(label, sizeof(label), "users[\"%.64s\"].user", name);
	u = find_named(k, "users", "user", name, &found);
	if (k->failed)
		return -1;
	if (!found) {
		kerr(k, "%s.user: user \"%.64s\" not found", ctxlabel, name);
		return -1;
	}
	if (ytree_get(&k->t, u, "exec") != NULL) {
		kerr(k, "%s.exec: exec credential plugins are not supported "
		    "yet", label);
		return -1;
	}
	if (ytree_get(&k->t, u, "auth-provider") != NULL) {
		kerr(k, "%s.auth-provider: auth-provider plugins are not "
		    "supported yet", label);
		return -1;
	}
	if (ytree_get(&k->t, u, "username") != NULL ||
	    ytree_get(&k->t, u, "password") != NULL) {
		kerr(k, "%s: username/password authentication is not "
		    "supported", label);
		return -1;
	}
	if ((token = kstr(k, u, label, "token")) != NULL &&
	    (kc->token = strdup(token)) == NULL) {
		kerr(k, "%s.token: out of memory", label);
		return -1;
	}
	/* as in client-go, the file wins over an inline token */
	if ((tf = kstr(k, u, label, "tokenFile")) != NULL) {
		if (resolve(k, label, "tokenFile", tf, path,
		    sizeof(path)) == -1)
			return -1;
		if ((kc->token_file = strdup(path)) == NULL) {
			kerr(k, "%s.tokenFile: out of memory", label);
			return -1;
		}
		if (load_token_file(k, label, path, kc) == -1)
			return -1;
	}
	if (load_blob(k, u, label, "client-certificate",
	    &kc->client_cert) == -1 ||
	    load_blob(k, u, label, "client-key", &kc->client_key) == -1)
		return -1;
	if ((kc->client_cert.data == NULL) != (kc->client_key.data == NULL)) {
		kerr(k, "%s: client-certificate and client-key must be given "
		    "together", label);
		return -1;
	}
	return k->failed ? -1 : 0;
}

/*
 * Choose the file: the explicit path, else the first file of $KUBECONFIG
 * that exists, else $HOME/.kube/config.
 */
static int
pick_file(const char *path, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char	*env, *p, *colon, *home;
	struct stat	 st;
	size_t		 n;

	if (path != NULL && *path != '\0') {
		if (snprintf(out, outlen, "%s", path) >= (int)outlen)
			goto toolong;
		return 0;
	}
	if ((env = getenv("KUBECONFIG")) != NULL && *env != '\0') {
		for (p = env; *p != '\0'; p = colon + (*colon != '\0')) {
			colon = strchr(p, ':');
			if (colon == NULL)
				colon = p + strlen(p);
			n = (size_t)(colon - p);
			if (n == 0)
				continue;
			if (n >= outlen)
				goto toolong;
			memcpy(out, p, n);
			out[n] = '\0';
			if (stat(out, &st) == 0)
				return 0;
		}
		snprintf(err, errlen, "kubeconfig: none of the files in "
		    "$KUBECONFIG exist (%.256s)", env);
		return -1;
	}
	if ((home = getenv("HOME")) == NULL || *home == '\0') {
		snprintf(err, errlen, "kubeconfig: no path given, $KUBECONFIG "
		    "and $HOME are not set");
		return -1;
	}
	if (snprintf(out, outlen, "%s/.kube/config", home) >= (int)outlen)
		goto toolong;
	return 0;
toolong:
	snprintf(err, errlen, "kubeconfig: path too long");
	return -1;
}

int
kubeconfig_load(const char *path, const char *context,
    struct kube_config *kc, char *err, size_t errlen)
{
	struct kctx	 k;
	char		 file[PATH_MAX], ctxlabel[LABEL_MAX], rerr[512];
	char		*buf = NULL, *slash, *msg;
	size_t		 len = 0;
	yaml_node_t	*root, *c;
	const char	*cur, *cluster, *user, *ns;
	int		 found, rc = -1;

	memset(kc, 0, sizeof(*kc));
	memset(&k, 0, sizeof(k));
	if (pick_file(path, file, sizeof(file), err, errlen) == -1)
		return -1;
	k.file = file;
	k.err = err;
	k.errlen = errlen;
	if (ytree_init(&k.t, file, 1) == -1) {
		snprintf(err, errlen, "kubeconfig %s: out of memory", file);
		return -1;
	}
	snprintf(k.dir, sizeof(k.dir), "%s", file);
	if ((slash = strrchr(k.dir, '/')) == NULL)
		snprintf(k.dir, sizeof(k.dir), ".");
	else if (slash == k.dir)
		k.dir[1] = '\0';
	else
		*slash = '\0';

	if (read_file(file, KUBECONFIG_MAX_BYTES, &buf, &len, rerr,
	    sizeof(rerr)) == -1) {
		snprintf(err, errlen, "kubeconfig %s", rerr);
		goto out;
	}
	if (ytree_parse(&k.t, buf, len) == -1) {
		msg = ytree_take_errors(&k.t);
		if (msg != NULL)
			msg[strcspn(msg, "\n")] = '\0';
		snprintf(err, errlen, "kubeconfig %s", msg ? msg : file);
		free(msg);
		goto out;
	}
	root = ytree_root(&k.t);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		kerr(&k, "expected a mapping at the top level, got %s",
		    root ? ytree_kind(root) : "an empty document");
		goto out;
	}
	if ((kc->source = strdup(file)) == NULL)
		goto oom;

	if (context == NULL || *context == '\0') {
		cur = kstr(&k, root, "", "current-context");
		if (k.failed)
			goto out;
		if (cur == NULL || *cur == '\0') {
			kerr(&k, "no context given and current-context is not "
			    "set");
			goto out;
		}
		context = cur;
	}
	if ((kc->context = strdup(context)) == NULL)
		goto oom;
	c = find_named(&k, "contexts", "context", context, &found);
	if (k.failed)
		goto out;
	if (!found) {
		snprintf(err, errlen, "context \"%.128s\" not found in %s",
		    context, file);
		goto out;
	}
	snprintf(ctxlabel, sizeof(ctxlabel), "contexts[\"%.64s\"].context",
	    context);
	cluster = kstr(&k, c, ctxlabel, "cluster");
	user = kstr(&k, c, ctxlabel, "user");
	ns = kstr(&k, c, ctxlabel, "namespace");
	if (k.failed)
		goto out;
	if (cluster == NULL || *cluster == '\0') {
		kerr(&k, "%s.cluster: missing", ctxlabel);
		goto out;
	}
	if (ns != NULL && *ns != '\0' && (kc->namespace = strdup(ns)) == NULL)
		goto oom;
	if (load_cluster(&k, ctxlabel, cluster, kc) == -1)
		goto out;
	if (user != NULL && *user != '\0' &&
	    load_user(&k, ctxlabel, user, kc) == -1)
		goto out;
	if (k.failed)
		goto out;
	rc = 0;
	goto out;
oom:
	kerr(&k, "out of memory");
out:
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	ytree_clear(&k.t);
	if (rc == -1)
		kube_config_clear(kc);
	return rc;
}

static void
blob_clear(struct kube_blob *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->len);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
}

void
kube_config_clear(struct kube_config *kc)
{
	free(kc->source);
	free(kc->context);
	free(kc->server);
	free(kc->namespace);
	blob_clear(&kc->ca);
	blob_clear(&kc->client_cert);
	blob_clear(&kc->client_key);
	if (kc->token != NULL) {
		explicit_bzero(kc->token, strlen(kc->token));
		free(kc->token);
	}
	free(kc->token_file);
	free(kc->tls_server_name);
	memset(kc, 0, sizeof(*kc));
}
