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

#include "base/util.h"
#include "base/yamltree.h"
#include "kube/kubeconfig.h"

#define KUBECONFIG_MAX_BYTES	(4 * 1024 * 1024)
#define KUBE_FILE_MAX_BYTES	(1024 * 1024)	/* CA, cert, key, token */
#define LABEL_MAX		256		/* users["name"].user */

#define KUBECONFIG_MAX_FILES	32		/* in $KUBECONFIG */

/* One kubeconfig file of the merge. */
struct kfile {
	struct ytree	 t;
	char		 file[PATH_MAX];
	char		 dir[PATH_MAX];
	int		 inited;
};

/*
 * The files of the merge in $KUBECONFIG order; cur is the file whose entry
 * is being read (messages name it, relative paths resolve against it).
 */
struct kctx {
	struct kfile	*files;
	size_t		 nfiles;
	struct kfile	*cur;
	const char	*file;		/* cur->file */
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static void
kuse(struct kctx *k, struct kfile *f)
{
	k->cur = f;
	k->file = f->file;
}

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
	yaml_node_t	*v = ytree_get(&k->cur->t, m, key);
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

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (*p == '/')
		n = snprintf(out, outlen, "%s", p);
	else
		n = snprintf(out, outlen, "%s/%s", k->cur->dir, p);
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
	size_t			 i, f;

	*found = 0;
	for (f = 0; f < k->nfiles; f++) {
		kuse(k, &k->files[f]);
		list = ytree_get(&k->cur->t, ytree_root(&k->cur->t), key);
		if (list == NULL || ytree_is_null(list))
			continue;
		if (list->type != YAML_SEQUENCE_NODE) {
			kerr(k, "%s: expected a sequence, got %s", key,
			    ytree_kind(list));
			return NULL;
		}
		for (i = 0, it = list->data.sequence.items.start;
		    it < list->data.sequence.items.top; it++, i++) {
			e = ytree_node(&k->cur->t, *it);
			if (e == NULL || e->type != YAML_MAPPING_NODE) {
				kerr(k, "%s[%zu]: expected a mapping, got %s",
				    key, i, ytree_kind(e));
				return NULL;
			}
			v = ytree_get(&k->cur->t, e, "name");
			if ((n = ytree_str(v)) == NULL) {
				kerr(k, "%s[%zu].name: expected a string, got "
				    "%s", key, i, ytree_kind(v));
				return NULL;
			}
			if (strcmp(n, name) != 0)
				continue;
			/* the first file to define the name wins */
			*found = 1;
			v = ytree_get(&k->cur->t, e, inner);
			if (v == NULL || ytree_is_null(v) ||
			    v->type != YAML_MAPPING_NODE) {
				kerr(k, "%s[\"%.64s\"].%s: expected a mapping, "
				    "got %s", key, name, inner,
				    v ? ytree_kind(v) : "nothing");
				return NULL;
			}
			return v;
		}
	}
	kuse(k, &k->files[0]);
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
	const char	*server, *tsn, *proxy;
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
	if ((proxy = kstr(k, c, label, "proxy-url")) != NULL &&
	    *proxy != '\0') {
		if (strncmp(proxy, "http://", 7) != 0 &&
		    strncmp(proxy, "https://", 8) != 0 &&
		    strncmp(proxy, "socks5://", 9) != 0) {
			kerr(k, "%s.proxy-url: \"%.128s\" is not an http, "
			    "https or socks5 URL", label, proxy);
			return -1;
		}
		if ((kc->proxy_url = strdup(proxy)) == NULL)
			goto oom;
	}
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

/* A NULL-terminated copy of the strings of sequence key (absent: empty). */
static char **
kstrlist(struct kctx *k, yaml_node_t *m, const char *label, const char *key,
    int pairs)
{
	yaml_node_t		*seq, *e;
	yaml_node_item_t	*it;
	const char		*name, *value;
	char			 elabel[LABEL_MAX];
	char		       **out;
	size_t			 n, i, len;

	seq = ytree_get(&k->cur->t, m, key);
	n = 0;
	if (seq != NULL && !ytree_is_null(seq)) {
		if (seq->type != YAML_SEQUENCE_NODE) {
			kerr(k, "%s.%s: expected a sequence, got %s", label,
			    key, ytree_kind(seq));
			return NULL;
		}
		n = (size_t)(seq->data.sequence.items.top -
		    seq->data.sequence.items.start);
	}
	if ((out = calloc(n + 1, sizeof(*out))) == NULL) {
		kerr(k, "%s.%s: out of memory", label, key);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		it = seq->data.sequence.items.start + i;
		e = ytree_node(&k->cur->t, *it);
		snprintf(elabel, sizeof(elabel), "%s.%s[%zu]", label, key, i);
		if (!pairs) {
			if ((value = ytree_str(e)) == NULL) {
				kerr(k, "%s: expected a string, got %s",
				    elabel, ytree_kind(e));
				goto fail;
			}
			out[i] = strdup(value);
		} else {
			if (e == NULL || e->type != YAML_MAPPING_NODE) {
				kerr(k, "%s: expected a mapping with name and "
				    "value, got %s", elabel, ytree_kind(e));
				goto fail;
			}
			name = kstr(k, e, elabel, "name");
			value = kstr(k, e, elabel, "value");
			if (k->failed)
				goto fail;
			if (name == NULL || *name == '\0' ||
			    strchr(name, '=') != NULL) {
				kerr(k, "%s.name: missing or holds '='", elabel);
				goto fail;
			}
			len = strlen(name) + (value ? strlen(value) : 0) + 2;
			if ((out[i] = malloc(len)) != NULL)
				snprintf(out[i], len, "%s=%s", name,
				    value ? value : "");
		}
		if (out[i] == NULL) {
			kerr(k, "%s: out of memory", elabel);
			goto fail;
		}
	}
	return out;
fail:
	for (i = 0; i < n; i++)
		free(out[i]);
	free(out);
	return NULL;
}

static void
exec_config_free(struct kube_exec_config *x)
{
	size_t	i;

	if (x == NULL)
		return;
	free(x->api_version);
	free(x->command);
	for (i = 0; x->args != NULL && x->args[i] != NULL; i++)
		free(x->args[i]);
	free(x->args);
	for (i = 0; x->env != NULL && x->env[i] != NULL; i++) {
		explicit_bzero(x->env[i], strlen(x->env[i]));
		free(x->env[i]);
	}
	free(x->env);
	free(x->install_hint);
	free(x);
}

/*
 * users[].user.exec: apiVersion (v1 or v1beta1), command (resolved against
 * the kubeconfig's directory when it holds a '/', else looked up in $PATH
 * when run), args, env [{name, value}], provideClusterInfo, installHint.
 * interactiveMode Always cannot be honoured by a daemon and is refused.
 */
static int
load_exec(struct kctx *k, yaml_node_t *u, const char *ulabel,
    struct kube_config *kc)
{
	char			 label[LABEL_MAX], path[PATH_MAX];
	struct kube_exec_config	*x;
	yaml_node_t		*m;
	const char		*av, *cmd, *hint, *mode;

	snprintf(label, sizeof(label), "%.*s.exec", LABEL_MAX - 8, ulabel);
	m = ytree_get(&k->cur->t, u, "exec");
	if (m->type != YAML_MAPPING_NODE) {
		kerr(k, "%s: expected a mapping, got %s", label,
		    ytree_kind(m));
		return -1;
	}
	av = kstr(k, m, label, "apiVersion");
	cmd = kstr(k, m, label, "command");
	hint = kstr(k, m, label, "installHint");
	mode = kstr(k, m, label, "interactiveMode");
	if (k->failed)
		return -1;
	if (av == NULL || (strcmp(av, "client.authentication.k8s.io/v1") != 0
	    && strcmp(av, "client.authentication.k8s.io/v1beta1") != 0)) {
		kerr(k, "%s.apiVersion: \"%.64s\" is not supported (use "
		    "client.authentication.k8s.io/v1 or v1beta1)", label,
		    av ? av : "");
		return -1;
	}
	if (cmd == NULL || *cmd == '\0') {
		kerr(k, "%s.command: missing", label);
		return -1;
	}
	if (mode != NULL && strcmp(mode, "Always") == 0) {
		kerr(k, "%s.interactiveMode: Always needs a terminal, which "
		    "remedyd does not have", label);
		return -1;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		kerr(k, "%s: out of memory", label);
		return -1;
	}
	kc->exec = x;
	if (strchr(cmd, '/') != NULL) {
		if (resolve(k, label, "command", cmd, path, sizeof(path)) == -1)
			return -1;
		cmd = path;
	}
	x->api_version = strdup(av);
	x->command = strdup(cmd);
	x->install_hint = hint ? strdup(hint) : NULL;
	x->provide_cluster_info = kbool(k, m, label, "provideClusterInfo");
	if (x->api_version == NULL || x->command == NULL ||
	    (hint && x->install_hint == NULL)) {
		kerr(k, "%s: out of memory", label);
		return -1;
	}
	if ((x->args = kstrlist(k, m, label, "args", 0)) == NULL ||
	    (x->env = kstrlist(k, m, label, "env", 1)) == NULL)
		return -1;
	return k->failed ? -1 : 0;
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
	if (ytree_get(&k->cur->t, u, "exec") != NULL &&
	    !ytree_is_null(ytree_get(&k->cur->t, u, "exec")) &&
	    load_exec(k, u, label, kc) == -1)
		return -1;
	if (ytree_get(&k->cur->t, u, "auth-provider") != NULL) {
		kerr(k, "%s.auth-provider: auth-provider plugins are not "
		    "supported yet", label);
		return -1;
	}
	if (ytree_get(&k->cur->t, u, "username") != NULL ||
	    ytree_get(&k->cur->t, u, "password") != NULL) {
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
 * Choose the files: the explicit path, else every file of $KUBECONFIG that
 * exists (in order), else $HOME/.kube/config.  Returns the number of files
 * (0: nothing found, in-cluster may apply), -1 on error.
 */
static int
pick_files(const char *path, struct kfile *files, size_t max, char *err,
    size_t errlen)
{
	const char	*env, *p, *colon, *home;
	struct stat	 st;
	size_t		 n, nf = 0;

	if (path != NULL && *path != '\0') {
		if (snprintf(files[0].file, sizeof(files[0].file), "%s",
		    path) >= (int)sizeof(files[0].file))
			goto toolong;
		return 1;
	}
	if ((env = getenv("KUBECONFIG")) != NULL && *env != '\0') {
		for (p = env; *p != '\0'; p = colon + (*colon != '\0')) {
			colon = strchr(p, ':');
			if (colon == NULL)
				colon = p + strlen(p);
			n = (size_t)(colon - p);
			if (n == 0)
				continue;
			if (n >= sizeof(files[0].file))
				goto toolong;
			if (nf == max) {
				snprintf(err, errlen, "kubeconfig: more than "
				    "%zu files in $KUBECONFIG", max);
				return -1;
			}
			memcpy(files[nf].file, p, n);
			files[nf].file[n] = '\0';
			if (stat(files[nf].file, &st) == 0)
				nf++;
		}
		if (nf == 0) {
			snprintf(err, errlen, "kubeconfig: none of the files in "
			    "$KUBECONFIG exist (%.256s)", env);
			return -1;
		}
		return (int)nf;
	}
	if ((home = getenv("HOME")) == NULL || *home == '\0')
		return 0;
	if (snprintf(files[0].file, sizeof(files[0].file), "%s/.kube/config",
	    home) >= (int)sizeof(files[0].file))
		goto toolong;
	if (stat(files[0].file, &st) == -1 && getenv(
	    "KUBERNETES_SERVICE_HOST") != NULL)
		return 0;	/* in a pod without a kubeconfig */
	return 1;
toolong:
	snprintf(err, errlen, "kubeconfig: path too long");
	return -1;
}

/* Read and parse one file of the merge. */
static int
load_file(struct kctx *k, struct kfile *f)
{
	char		 rerr[512];
	char		*buf = NULL, *slash, *msg;
	size_t		 len = 0;
	yaml_node_t	*root;
	int		 rc = -1;

	kuse(k, f);
	if (ytree_init(&f->t, f->file, 1) == -1) {
		snprintf(k->err, k->errlen, "kubeconfig %s: out of memory",
		    f->file);
		k->failed++;
		return -1;
	}
	f->inited = 1;
	snprintf(f->dir, sizeof(f->dir), "%s", f->file);
	if ((slash = strrchr(f->dir, '/')) == NULL)
		snprintf(f->dir, sizeof(f->dir), ".");
	else if (slash == f->dir)
		f->dir[1] = '\0';
	else
		*slash = '\0';
	if (read_file(f->file, KUBECONFIG_MAX_BYTES, &buf, &len, rerr,
	    sizeof(rerr)) == -1) {
		snprintf(k->err, k->errlen, "kubeconfig %s", rerr);
		k->failed++;
		goto out;
	}
	if (ytree_parse(&f->t, buf, len) == -1) {
		msg = ytree_take_errors(&f->t);
		if (msg != NULL)
			msg[strcspn(msg, "\n")] = '\0';
		snprintf(k->err, k->errlen, "kubeconfig %s", msg ? msg :
		    f->file);
		free(msg);
		k->failed++;
		goto out;
	}
	root = ytree_root(&f->t);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		kerr(k, "expected a mapping at the top level, got %s",
		    root ? ytree_kind(root) : "an empty document");
		goto out;
	}
	rc = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	return rc;
}

int
kubeconfig_load(const char *path, const char *context,
    struct kube_config *kc, char *err, size_t errlen)
{
	struct kctx	 k;
	struct kfile	*ctxfile;
	char		 ctxlabel[LABEL_MAX];
	yaml_node_t	*c;
	const char	*cur, *cluster, *user, *ns;
	size_t		 i;
	int		 found, n, rc = -1;

	memset(kc, 0, sizeof(*kc));
	memset(&k, 0, sizeof(k));
	k.err = err;
	k.errlen = errlen;
	if ((k.files = calloc(KUBECONFIG_MAX_FILES, sizeof(*k.files))) ==
	    NULL) {
		snprintf(err, errlen, "kubeconfig: out of memory");
		return -1;
	}
	if ((n = pick_files(path, k.files, KUBECONFIG_MAX_FILES, err,
	    errlen)) == -1)
		goto out;
	if (n == 0) {
		if ((n = kube_incluster_load(NULL, kc, err, errlen)) == 1)
			snprintf(err, errlen, "kubeconfig: no path given, "
			    "$KUBECONFIG and $HOME are not set and remedyd "
			    "does not run in a pod");
		rc = n == 0 ? 0 : -1;
		goto out;
	}
	for (i = 0; i < (size_t)n; i++) {
		k.nfiles = i + 1;
		if (load_file(&k, &k.files[i]) == -1)
			goto out;
	}
	kuse(&k, &k.files[0]);

	if (context == NULL || *context == '\0') {
		/* the first file that sets current-context wins */
		for (i = 0, cur = NULL; i < k.nfiles; i++) {
			kuse(&k, &k.files[i]);
			cur = kstr(&k, ytree_root(&k.cur->t), "",
			    "current-context");
			if (k.failed)
				goto out;
			if (cur != NULL && *cur != '\0')
				break;
		}
		if (cur == NULL || *cur == '\0') {
			kuse(&k, &k.files[0]);
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
		snprintf(err, errlen, "context \"%.128s\" not found in %s%s",
		    context, k.files[0].file, k.nfiles > 1 ? " (nor in the "
		    "other files of $KUBECONFIG)" : "");
		goto out;
	}
	ctxfile = k.cur;
	if ((kc->source = strdup(ctxfile->file)) == NULL)
		goto oom;
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
	kuse(&k, ctxfile);
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
	for (i = 0; i < KUBECONFIG_MAX_FILES; i++)
		if (k.files[i].inited)
			ytree_clear(&k.files[i].t);
	free(k.files);
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
	free(kc->proxy_url);
	exec_config_free(kc->exec);
	memset(kc, 0, sizeof(*kc));
}

static int
blob_dup(struct kube_blob *dst, const struct kube_blob *src)
{
	dst->data = NULL;
	dst->len = 0;
	if (src->data == NULL || src->len == 0)
		return 0;
	if ((dst->data = malloc(src->len)) == NULL)
		return -1;
	memcpy(dst->data, src->data, src->len);
	dst->len = src->len;
	return 0;
}

/* Copy a NULL-terminated string list; -1 when out of memory. */
static int
list_dup(char ***dst, char *const *src)
{
	size_t	n = 0, i;

	*dst = NULL;
	while (src != NULL && src[n] != NULL)
		n++;
	if ((*dst = calloc(n + 1, sizeof(**dst))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (((*dst)[i] = strdup(src[i])) == NULL)
			return -1;
	return 0;
}

#define DUP(f)	do {							\
	if (src->f != NULL && (dst->f = strdup(src->f)) == NULL)	\
		goto fail;						\
} while (0)

int
kube_config_copy(struct kube_config *dst, const struct kube_config *src)
{
	const struct kube_exec_config	*sx = src->exec;
	struct kube_exec_config		*dx;

	memset(dst, 0, sizeof(*dst));
	DUP(source);
	DUP(context);
	DUP(server);
	DUP(namespace);
	DUP(token);
	DUP(token_file);
	DUP(tls_server_name);
	DUP(proxy_url);
	dst->insecure = src->insecure;
	dst->in_cluster = src->in_cluster;
	if (blob_dup(&dst->ca, &src->ca) == -1 ||
	    blob_dup(&dst->client_cert, &src->client_cert) == -1 ||
	    blob_dup(&dst->client_key, &src->client_key) == -1)
		goto fail;
	if (sx != NULL) {
		if ((dx = dst->exec = calloc(1, sizeof(*dx))) == NULL)
			goto fail;
		dx->provide_cluster_info = sx->provide_cluster_info;
		if ((sx->api_version && !(dx->api_version =
		    strdup(sx->api_version))) ||
		    (sx->command && !(dx->command = strdup(sx->command))) ||
		    (sx->install_hint && !(dx->install_hint =
		    strdup(sx->install_hint))) ||
		    list_dup(&dx->args, sx->args) == -1 ||
		    list_dup(&dx->env, sx->env) == -1)
			goto fail;
	}
	return 0;
fail:
	kube_config_clear(dst);
	return -1;
}
