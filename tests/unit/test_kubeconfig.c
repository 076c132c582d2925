/*
 * test_kubeconfig.c - kubeconfig loading: token and certificate users,
 * files relative to the kubeconfig, $KUBECONFIG and $HOME lookup, context
 * selection, and the messages for what is wrong.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "t.h"

static char datadir[4096];
static char tmpdir[] = "/tmp/remedy-test-kubeconfig-XXXXXX";

#define CA_PEM	"-----BEGIN CERTIFICATE-----\nTESTCA0123456789\n" \
		"-----END CERTIFICATE-----\n"

static void
find_datadir(void)
{
	const char	*src = getenv("REMEDY_SRCDIR");
	const char	*slash;

	if (src != NULL && *src != '\0') {
		snprintf(datadir, sizeof(datadir), "%s/tests/unit/data", src);
		return;
	}
	slash = strrchr(__FILE__, '/');
	snprintf(datadir, sizeof(datadir), "%.*s/data",
	    slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
}

/* Path of name inside the temp dir (one of two rotating buffers). */
static const char *
tmp(const char *name)
{
	static char	buf[2][512];
	static int	i;

	i = !i;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static void __attribute__((format(printf, 2, 3)))
put(const char *name, const char *fmt, ...)
{
	FILE	*f;
	va_list	 ap;

	f = fopen(tmp(name), "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static int
blob_is(const struct kube_blob *b, const char *s)
{
	return b->data != NULL && b->len == strlen(s) &&
	    memcmp(b->data, s, b->len) == 0;
}

static void
test_token(void)
{
	struct kube_config	 kc;
	char			 path[4200], err[512], want[4400];

	snprintf(path, sizeof(path), "%s/kubeconfig-token.yaml", datadir);
	CHECK_INT(kubeconfig_load(path, NULL, &kc, err, sizeof(err)), 0);
	CHECK_STR(kc.source, path);
	CHECK_STR(kc.context, "kind-remedy");
	CHECK_STR(kc.server, "https://127.0.0.1:6443");
	CHECK_STR(kc.namespace, "demo");
	CHECK(blob_is(&kc.ca, CA_PEM));
	CHECK_STR(kc.token, "abc.def-123");
	CHECK(kc.token_file == NULL);
	CHECK_STR(kc.tls_server_name, "kubernetes.default");
	CHECK_INT(kc.insecure, 0);
	CHECK(kc.client_cert.data == NULL && kc.client_key.data == NULL);
	kube_config_clear(&kc);
	CHECK(kc.server == NULL && kc.token == NULL && kc.ca.data == NULL);

	/* the same, named explicitly */
	CHECK_INT(kubeconfig_load(path, "kind-remedy", &kc, err, sizeof(err)),
	    0);
	CHECK_STR(kc.context, "kind-remedy");
	kube_config_clear(&kc);

	/* another context: its user runs an exec plugin (absolute path) */
	CHECK_INT(kubeconfig_load(path, "other", &kc, err, sizeof(err)), 0);
	CHECK(kc.exec != NULL && kc.token == NULL);
	if (kc.exec != NULL) {
		CHECK_STR(kc.exec->command, "/bin/false");
		CHECK_STR(kc.exec->api_version,
		    "client.authentication.k8s.io/v1");
		CHECK(kc.exec->args != NULL && kc.exec->args[0] == NULL);
		CHECK(kc.exec->env != NULL && kc.exec->env[0] == NULL);
	}
	kube_config_clear(&kc);

	CHECK_INT(kubeconfig_load(path, "nope", &kc, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "context \"nope\" not found in %s", path);
	CHECK_STR(err, want);
}

/* Relative paths resolve against the kubeconfig's directory, not the
 * working directory. */
static void
test_cert_files(void)
{
	struct kube_config	 kc;
	char			 err[512], want[1024];

	CHECK_INT(mkdir(tmp("pki"), 0700), 0);
	put("pki/ca.crt", "%s", CA_PEM);
	put("pki/client.crt", "CERT-PEM\n");
	put("pki/client.key", "KEY-PEM\n");
	put("token", "  tok-from-file \n\n");
	put("cert.yaml",
	    "clusters:\n"
	    "- name: c\n"
	    "  cluster:\n"
	    "    server: https://api.example:6443///\n"
	    "    certificate-authority: pki/ca.crt\n"
	    "    insecure-skip-tls-verify: true\n"
	    "users:\n"
	    "- name: u\n"
	    "  user:\n"
	    "    client-certificate: pki/client.crt\n"
	    "    client-key: %s\n"
	    "    token: inline\n"
	    "    tokenFile: ./token\n"
	    "contexts:\n"
	    "- {name: cx, context: {cluster: c, user: u}}\n"
	    "current-context: cx\n", tmp("pki/client.key"));
	CHECK_INT(chdir("/"), 0);
	CHECK_INT(kubeconfig_load(tmp("cert.yaml"), NULL, &kc, err,
	    sizeof(err)), 0);
	CHECK_STR(kc.server, "https://api.example:6443");
	CHECK(blob_is(&kc.ca, CA_PEM));
	CHECK(blob_is(&kc.client_cert, "CERT-PEM\n"));
	CHECK(blob_is(&kc.client_key, "KEY-PEM\n"));
	CHECK_INT(kc.insecure, 1);
	CHECK_STR(kc.token, "tok-from-file");
	CHECK_STR(kc.token_file, tmp("token"));
	CHECK(kc.namespace == NULL);
	CHECK(kc.tls_server_name == NULL);
	kube_config_clear(&kc);

	/* a file that is not there is named with the field */
	put("nofile.yaml",
	    "clusters: [{name: c, cluster: {server: 'https://h', "
	    "certificate-authority: missing.crt}}]\n"
	    "contexts: [{name: x, context: {cluster: c}}]\n"
	    "current-context: x\n");
	CHECK_INT(kubeconfig_load(tmp("nofile.yaml"), NULL, &kc, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "kubeconfig %s: clusters[\"c\"].cluster."
	    "certificate-authority: %s: No such file or directory",
	    tmp("nofile.yaml"), tmp("missing.crt"));
	CHECK_STR(err, want);

	/* an empty token file */
	put("empty-token", "\n \n");
	put("emptytok.yaml",
	    "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
	    "users: [{name: u, user: {tokenFile: empty-token}}]\n"
	    "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
	    "current-context: x\n");
	CHECK_INT(kubeconfig_load(tmp("emptytok.yaml"), NULL, &kc, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "kubeconfig %s: users[\"u\"].user."
	    "tokenFile: %s is empty", tmp("emptytok.yaml"),
	    tmp("empty-token"));
	CHECK_STR(err, want);
}

static void
test_env(void)
{
	struct kube_config	 kc;
	char			 err[512], env[2048], want[2200];

	put("kc-a", "clusters: [{name: c, cluster: {server: 'https://a'}}]\n"
	    "contexts: [{name: x, context: {cluster: c}}]\n"
	    "current-context: x\n");
	put("kc-b", "clusters: [{name: c, cluster: {server: 'https://b'}}]\n"
	    "contexts: [{name: x, context: {cluster: c}}]\n"
	    "current-context: x\n");
	snprintf(env, sizeof(env), "%s::%s:%s", tmp("missing-1"), tmp("kc-b"),
	    tmp("kc-a"));
	setenv("KUBECONFIG", env, 1);
	CHECK_INT(kubeconfig_load(NULL, NULL, &kc, err, sizeof(err)), 0);
	CHECK_STR(kc.source, tmp("kc-b"));
	CHECK_STR(kc.server, "https://b");
	kube_config_clear(&kc);

	/* an explicit path wins over the environment */
	CHECK_INT(kubeconfig_load(tmp("kc-a"), NULL, &kc, err, sizeof(err)),
	    0);
	CHECK_STR(kc.server, "https://a");
	kube_config_clear(&kc);

	snprintf(env, sizeof(env), "%s:%s", tmp("missing-1"),
	    tmp("missing-2"));
	setenv("KUBECONFIG", env, 1);
	CHECK_INT(kubeconfig_load(NULL, NULL, &kc, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "kubeconfig: none of the files in "
	    "$KUBECONFIG exist (%s)", env);
	CHECK_STR(err, want);

	/* without $KUBECONFIG: $HOME/.kube/config */
	unsetenv("KUBECONFIG");
	CHECK_INT(mkdir(tmp("home"), 0700), 0);
	CHECK_INT(mkdir(tmp("home/.kube"), 0700), 0);
	put("home/.kube/config",
	    "clusters: [{name: c, cluster: {server: 'http://home:8080/'}}]\n"
	    "contexts: [{name: x, context: {cluster: c, namespace: ns1}}]\n"
	    "current-context: x\n");
	setenv("HOME", tmp("home"), 1);
	CHECK_INT(kubeconfig_load(NULL, NULL, &kc, err, sizeof(err)), 0);
	CHECK_STR(kc.source, tmp("home/.kube/config"));
	CHECK_STR(kc.server, "http://home:8080");
	CHECK_STR(kc.namespace, "ns1");
	kube_config_clear(&kc);
}

/* One kubeconfig per bad case, with the exact message expected. */
static void
test_errors(void)
{
	static const struct {
		const char	*yaml;
		const char	*err;	/* after "kubeconfig FILE" */
	} cases[] = {
		{ "clusters: [{name: c, cluster: {insecure-skip-tls-verify: "
		  "true}}]\ncontexts: [{name: x, context: {cluster: c}}]\n"
		  "current-context: x\n",
		  ": clusters[\"c\"].cluster.server: missing (the API server's "
		  "URL is required)" },
		{ "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		  "users: [{name: tester, user: {client-certificate-data: "
		  "QQ==, client-key-data: '!!!!'}}]\n"
		  "contexts: [{name: x, context: {cluster: c, user: tester}}]\n"
		  "current-context: x\n",
		  ": users[\"tester\"].user.client-key-data: not valid base64" },
		{ "clusters: [{name: c, cluster: {server: 'https://h', "
		  "certificate-authority-data: QQ=}}]\n"
		  "contexts: [{name: x, context: {cluster: c}}]\n"
		  "current-context: x\n",
		  ": clusters[\"c\"].cluster.certificate-authority-data: not "
		  "valid base64" },
		{ "clusters: [{name: c, cluster: {server: 'https://h', "
		  "certificate-authority-data: QQ==QQ==}}]\n"
		  "contexts: [{name: x, context: {cluster: c}}]\n"
		  "current-context: x\n",
		  ": clusters[\"c\"].cluster.certificate-authority-data: not "
		  "valid base64" },
		{ "clusters: [{name: c, cluster: {server: 'https://h', "
		  "certificate-authority-data: QR==}}]\n"
		  "contexts: [{name: x, context: {cluster: c}}]\n"
		  "current-context: x\n",
		  ": clusters[\"c\"].cluster.certificate-authority-data: not "
		  "valid base64" },
		{ "clusters: [{name: c, cluster: {server: 'h:6443'}}]\n"
		  "contexts: [{name: x, context: {cluster: c}}]\n"
		  "current-context: x\n",
		  ": clusters[\"c\"].cluster.server: \"h:6443\" is not an "
		  "http(s) URL" },
		{ "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		  "contexts: [{name: x, context: {cluster: d}}]\n"
		  "current-context: x\n",
		  ": contexts[\"x\"].context.cluster: cluster \"d\" not found" },
		{ "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		  "contexts: [{name: x, context: {cluster: c, user: v}}]\n"
		  "current-context: x\n",
		  ": contexts[\"x\"].context.user: user \"v\" not found" },
		{ "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		  "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n"
		  "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		  "current-context: x\n",
		  ": users[\"u\"].user.auth-provider: auth-provider plugins are "
		  "not supported yet" },
		{ "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		  "users: [{name: u, user: {client-certificate-data: QQ==}}]\n"
		  "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		  "current-context: x\n",
		  ": users[\"u\"].user: client-certificate and client-key must "
		  "be given together" },
		{ "clusters: [{name: c, cluster: {server: [https://h]}}]\n"
		  "contexts: [{name: x, context: {cluster: c}}]\n"
		  "current-context: x\n",
		  ": clusters[\"c\"].cluster.server: expected a string, got a "
		  "sequence" },
		{ "clusters: [{name: c, cluster: {server: 'https://h', "
		  "insecure-skip-tls-verify: maybe}}]\n"
		  "contexts: [{name: x, context: {cluster: c}}]\n"
		  "current-context: x\n",
		  ": clusters[\"c\"].cluster.insecure-skip-tls-verify: expected "
		  "true or false, got \"maybe\"" },
		{ "clusters: {c: 1}\n"
		  "contexts: [{name: x, context: {cluster: c}}]\n"
		  "current-context: x\n",
		  ": clusters: expected a sequence, got a mapping" },
		{ "contexts: [{name: x, context: {cluster: c}}]\n",
		  ": no context given and current-context is not set" },
		{ "contexts: [{context: {cluster: c}}]\ncurrent-context: x\n",
		  ": contexts[0].name: expected a string, got nothing" },
		{ "- a\n", ": expected a mapping at the top level, got a "
		  "sequence" },
		{ "", ": expected a mapping at the top level, got an empty "
		  "document" },
		{ "clusters: [\n", ":2:1: did not find expected node content "
		  "while parsing a flow node (line 2)" },
	};
	struct kube_config	 kc;
	char			 err[512], want[1024];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put("bad.yaml", "%s", cases[i].yaml);
		err[0] = '\0';
		CHECK_INT(kubeconfig_load(tmp("bad.yaml"), NULL, &kc, err,
		    sizeof(err)), -1);
		snprintf(want, sizeof(want), "kubeconfig %s%s",
		    tmp("bad.yaml"), cases[i].err);
		CHECK_STR(err, want);
		CHECK(kc.source == NULL && kc.server == NULL &&
		    kc.ca.data == NULL && kc.token == NULL);
	}

	CHECK_INT(kubeconfig_load(tmp("no-such"), NULL, &kc, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "kubeconfig %s: No such file or directory",
	    tmp("no-such"));
	CHECK_STR(err, want);
}

/* Valid base64 forms: padded, wrapped over lines, every length mod 3. */
static void
test_base64(void)
{
	static const struct {
		const char	*b64;
		const char	*plain;
	} cases[] = {
		{ "QQ==", "A" },
		{ "QUI=", "AB" },
		{ "QUJD", "ABC" },
		{ "'QUJD\nREVG'", "ABCDEF" },
		{ "\"QUJDRA==\"", "ABCD" },
		{ "Pz4+Pw==", "?>>?" },
		{ "fn4/", "~~?" },
	};
	struct kube_config	 kc;
	char			 err[512];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put("b64.yaml",
		    "clusters: [{name: c, cluster: {server: 'https://h', "
		    "certificate-authority-data: %s}}]\n"
		    "contexts: [{name: x, context: {cluster: c}}]\n"
		    "current-context: x\n", cases[i].b64);
		CHECK_INT(kubeconfig_load(tmp("b64.yaml"), NULL, &kc, err,
		    sizeof(err)), 0);
		CHECK(blob_is(&kc.ca, cases[i].plain));
		kube_config_clear(&kc);
	}
}

/*
 * $KUBECONFIG merge as kubectl does it: the first file to set
 * current-context wins, named entries come from the first file defining
 * them, and relative paths resolve against the file holding the entry.
 */
static void
test_merge(void)
{
	struct kube_config	 kc;
	char			 err[512], env[2048];

	CHECK_INT(mkdir(tmp("m1"), 0700), 0);
	CHECK_INT(mkdir(tmp("m2"), 0700), 0);
	put("m1/config", "contexts: [{name: dev, context: {cluster: shared, "
	    "user: u1, namespace: dev-ns}}]\n"
	    "users: [{name: u1, user: {tokenFile: tok}}]\n");
	put("m1/tok", "token-from-m1\n");
	put("m2/config", "current-context: prod\n"
	    "clusters: [{name: shared, cluster: {server: 'https://shared', "
	    "certificate-authority: ca.pem}}]\n"
	    "contexts: [{name: prod, context: {cluster: shared, user: u2}},\n"
	    "  {name: dev, context: {cluster: nowhere}}]\n"
	    "users: [{name: u1, user: {token: shadowed}},\n"
	    "  {name: u2, user: {token: token-u2}}]\n");
	put("m2/ca.pem", CA_PEM);
	put("m3", "current-context: ignored\n");
	snprintf(env, sizeof(env), "%s:%s:%s", tmp("m1/config"),
	    tmp("m2/config"), tmp("m3"));
	setenv("KUBECONFIG", env, 1);
	/* current-context from m2 (m1 sets none), its entries from m2 */
	CHECK_INT(kubeconfig_load(NULL, NULL, &kc, err, sizeof(err)), 0);
	CHECK_STR(kc.context, "prod");
	CHECK_STR(kc.source, tmp("m2/config"));
	CHECK_STR(kc.server, "https://shared");
	CHECK_STR(kc.token, "token-u2");
	CHECK(blob_is(&kc.ca, CA_PEM));
	kube_config_clear(&kc);
	/* context dev: m1's wins over m2's; cluster from m2 (its CA relative
	 * to m2), user u1 from m1 (its token file relative to m1) */
	CHECK_INT(kubeconfig_load(NULL, "dev", &kc, err, sizeof(err)), 0);
	CHECK_STR(kc.source, tmp("m1/config"));
	CHECK_STR(kc.namespace, "dev-ns");
	CHECK_STR(kc.server, "https://shared");
	CHECK(blob_is(&kc.ca, CA_PEM));
	CHECK_STR(kc.token, "token-from-m1");
	CHECK_STR(kc.token_file, tmp("m1/tok"));
	kube_config_clear(&kc);
	CHECK_INT(kubeconfig_load(NULL, "nope", &kc, err, sizeof(err)), -1);
	CHECK(strstr(err, "context \"nope\" not found") != NULL);
	unsetenv("KUBECONFIG");
}

/* proxy-url and the exec plugin fields, and what is wrong with them. */
static void
test_exec_proxy(void)
{
	static const struct {
		const char	*user;
		const char	*err;
	} bad[] = {
		{ "{exec: {command: x}}", "users[\"u\"].user.exec.apiVersion: "
		  "\"\" is not supported (use client.authentication.k8s.io/v1 "
		  "or v1beta1)" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1alpha1, "
		  "command: x}}", "users[\"u\"].user.exec.apiVersion: "
		  "\"client.authentication.k8s.io/v1alpha1\" is not supported "
		  "(use client.authentication.k8s.io/v1 or v1beta1)" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1}}",
		  "users[\"u\"].user.exec.command: missing" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1, "
		  "command: x, args: x}}", "users[\"u\"].user.exec.args: "
		  "expected a sequence, got a string" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1, "
		  "command: x, env: [{value: v}]}}", "users[\"u\"].user.exec."
		  "env[0].name: missing or holds '='" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1, "
		  "command: x, interactiveMode: Always}}", "users[\"u\"].user."
		  "exec.interactiveMode: Always needs a terminal, which remedyd "
		  "does not have" },
	};
	struct kube_config	 kc;
	char			 err[512], want[1024];
	size_t			 i;

	put("exec.yaml", "clusters: [{name: c, cluster: {server: 'https://h', "
	    "proxy-url: 'socks5://proxy:1080'}}]\n"
	    "users: [{name: u, user: {exec: {apiVersion: "
	    "client.authentication.k8s.io/v1beta1, command: bin/login, "
	    "args: [get-token, --cluster, c], env: [{name: A, value: '1'}, "
	    "{name: B, value: 'x=y'}], provideClusterInfo: true, "
	    "installHint: 'apt install login'}}}]\n"
	    "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
	    "current-context: x\n");
	CHECK_INT(kubeconfig_load(tmp("exec.yaml"), NULL, &kc, err,
	    sizeof(err)), 0);
	CHECK_STR(kc.proxy_url, "socks5://proxy:1080");
	CHECK(kc.exec != NULL);
	if (kc.exec != NULL) {
		CHECK_STR(kc.exec->command, tmp("bin/login"));
		CHECK_STR(kc.exec->args[0], "get-token");
		CHECK_STR(kc.exec->args[2], "c");
		CHECK(kc.exec->args[3] == NULL);
		CHECK_STR(kc.exec->env[0], "A=1");
		CHECK_STR(kc.exec->env[1], "B=x=y");
		CHECK(kc.exec->provide_cluster_info);
		CHECK_STR(kc.exec->install_hint, "apt install login");
	}
	{
		struct kube_config copy;

		CHECK_INT(kube_config_copy(&copy, &kc), 0);
		CHECK_STR(copy.exec->env[1], "B=x=y");
		CHECK_STR(copy.proxy_url, "socks5://proxy:1080");
		kube_config_clear(&copy);
	}
	kube_config_clear(&kc);

	put("exec.yaml", "clusters: [{name: c, cluster: {server: 'https://h', "
	    "proxy-url: 'ftp://p'}}]\n"
	    "contexts: [{name: x, context: {cluster: c}}]\n"
	    "current-context: x\n");
	CHECK_INT(kubeconfig_load(tmp("exec.yaml"), NULL, &kc, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "kubeconfig %s: clusters[\"c\"].cluster."
	    "proxy-url: \"ftp://p\" is not an http, https or socks5 URL",
	    tmp("exec.yaml"));
	CHECK_STR(err, want);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put("exec.yaml", "clusters: [{name: c, cluster: {server: "
		    "'https://h'}}]\nusers: [{name: u, user: %s}]\n"
		    "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		    "current-context: x\n", bad[i].user);
		CHECK_INT(kubeconfig_load(tmp("exec.yaml"), NULL, &kc, err,
		    sizeof(err)), -1);
		snprintf(want, sizeof(want), "kubeconfig %s: %s",
		    tmp("exec.yaml"), bad[i].err);
		CHECK_STR(err, want);
	}
}

/*
 * A kubeconfig as `kubectl config set-cluster/set-credentials/set-context`
 * writes it: by kubectl itself when it is installed, else the same text
 * (captured from kubectl v1.32) written here.
 */
static void
test_kubectl_written(void)
{
	struct kube_config	 kc;
	char			 cmd[4096], err[512];
	int			 have_kubectl;

	CHECK_INT(mkdir(tmp("kubectl"), 0700), 0);
	put("kubectl/ca.pem", CA_PEM);
	have_kubectl = system("kubectl version --client >/dev/null 2>&1") == 0;
	if (have_kubectl) {
		snprintf(cmd, sizeof(cmd), "(cd '%s' && export KUBECONFIG='%s' && "
		    "kubectl config set-cluster prod "
		    "--server=https://10.0.0.1:6443 "
		    "--certificate-authority=ca.pem --tls-server-name="
		    "api.internal && "
		    "kubectl config set clusters.prod.proxy-url "
		    "http://proxy.internal:3128 && "
		    "kubectl config set-credentials admin --token=T0k && "
		    "kubectl config set-credentials ex --exec-api-version="
		    "client.authentication.k8s.io/v1beta1 --exec-command=aws "
		    "--exec-arg=eks --exec-arg=get-token "
		    "--exec-env=AWS_PROFILE=prod && "
		    "kubectl config set-context prod --cluster=prod "
		    "--user=admin --namespace=ops && "
		    "kubectl config set-context eks --cluster=prod --user=ex && "
		    "kubectl config use-context prod) >/dev/null",
		    tmp("kubectl"), tmp("kubectl/config"));
		CHECK_INT(system(cmd), 0);
	} else {
		fprintf(stderr, "kubectl not installed: using its captured "
		    "output\n");
		put("kubectl/config", "apiVersion: v1\nclusters:\n- cluster:\n"
		    "    certificate-authority: ca.pem\n"
		    "    proxy-url: http://proxy.internal:3128\n"
		    "    server: https://10.0.0.1:6443\n"
		    "    tls-server-name: api.internal\n  name: prod\n"
		    "contexts:\n- context:\n    cluster: prod\n    user: ex\n"
		    "  name: eks\n- context:\n    cluster: prod\n"
		    "    namespace: ops\n    user: admin\n  name: prod\n"
		    "current-context: prod\nkind: Config\npreferences: {}\n"
		    "users:\n- name: admin\n  user:\n    token: T0k\n"
		    "- name: ex\n  user:\n    exec:\n"
		    "      apiVersion: client.authentication.k8s.io/v1beta1\n"
		    "      args:\n      - eks\n      - get-token\n"
		    "      command: aws\n      env:\n      - name: AWS_PROFILE\n"
		    "        value: prod\n      interactiveMode: IfAvailable\n"
		    "      provideClusterInfo: false\n");
	}
	CHECK_INT(kubeconfig_load(tmp("kubectl/config"), NULL, &kc, err,
	    sizeof(err)), 0);
	CHECK_STR(kc.context, "prod");
	CHECK_STR(kc.server, "https://10.0.0.1:6443");
	CHECK_STR(kc.namespace, "ops");
	CHECK_STR(kc.token, "T0k");
	CHECK_STR(kc.tls_server_name, "api.internal");
	CHECK_STR(kc.proxy_url, "http://proxy.internal:3128");
	CHECK(blob_is(&kc.ca, CA_PEM));
	kube_config_clear(&kc);
	CHECK_INT(kubeconfig_load(tmp("kubectl/config"), "eks", &kc, err,
	    sizeof(err)), 0);
	CHECK(kc.exec != NULL && kc.token == NULL);
	if (kc.exec != NULL) {
		CHECK_STR(kc.exec->command, "aws");	/* from $PATH */
		CHECK_STR(kc.exec->args[1], "get-token");
		CHECK_STR(kc.exec->env[0], "AWS_PROFILE=prod");
		CHECK_STR(kc.exec->api_version,
		    "client.authentication.k8s.io/v1beta1");
	}
	kube_config_clear(&kc);
}

int
main(void)
{
	char	cmd[128];

	find_datadir();
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	unsetenv("KUBECONFIG");
	test_token();
	test_cert_files();
	test_env();
	test_errors();
	test_base64();
	test_merge();
	test_exec_proxy();
	test_kubectl_written();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return T_DONE();
}
