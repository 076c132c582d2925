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

	/* another context: its user runs an exec plugin */
	CHECK_INT(kubeconfig_load(path, "other", &kc, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "kubeconfig %s: users[\"nobody\"].user."
	    "exec: exec credential plugins are not supported yet", path);
	CHECK_STR(err, want);
	CHECK(kc.server == NULL && kc.source == NULL);

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
	CHECK_STR(kc.token_file, tmp("./token"));
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
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return T_DONE();
}
