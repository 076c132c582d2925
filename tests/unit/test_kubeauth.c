/*
 * test_kubeauth.c - credentials and transport against the test API server:
 * exec credential plugins (a token with an expiry cached until it passes,
 * a re-run after a 401, v1beta1 with a client certificate, the
 * KUBERNETES_EXEC_INFO handed over, a plugin that fails, one that hangs and
 * is killed at the timeout, one that prints garbage, one that does not
 * exist), in-cluster configuration, the token bucket, 429/500 retries
 * honouring Retry-After, and the fallback from streaming lists to LIST
 * when the server refuses sendInitialEvents (422).
 */
#include "kubetest.h"
#include "t.h"

#include <sys/stat.h>

#include "base/http.h"
#include "kube/client.h"
#include "kube/exec.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "kube/ratelimit.h"

#define WAIT_MS	20000

struct result {
	int	 done;
	long	 status;
	char	 message[512];
};

static struct http *http;

static void
on_result(const struct kube_resp *r, void *arg)
{
	struct result *res = arg;

	res->done = 1;
	res->status = r->status;
	snprintf(res->message, sizeof(res->message), "%s", r->message);
}

static int
result_done(void *arg)
{
	return ((struct result *)arg)->done;
}

/* GET path with client c and wait for the answer. */
static void
get(struct kube_client *c, const char *path, struct result *res)
{
	memset(res, 0, sizeof(*res));
	if (c == NULL || kube_get(c, path, on_result, res) == NULL) {
		res->status = -1;
		return;
	}
	if (!kt_run_until(result_done, res, WAIT_MS))
		res->status = -2;
}

static const char *
dpath(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", kt_dir, name);
	return buf[i];
}

static void
put_file(const char *name, const char *text, int mode)
{
	FILE *f = fopen(dpath(name), "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
	chmod(dpath(name), (mode_t)mode);
}

static int
read_int(const char *name)
{
	char *buf = NULL, err[256];
	size_t len;
	int n = 0;

	if (read_file(dpath(name), 64, &buf, &len, err, sizeof(err)) == 0)
		n = atoi(buf);
	free(buf);
	return n;
}

/*
 * A kubeconfig in the server's directory whose user runs ./plugin.sh
 * (relative to the kubeconfig) with the given arguments.
 */
static struct kube_client *
exec_client(const char *api, const char *args, int cluster_info,
    int64_t timeout_ms)
{
	struct kube_config kc;
	struct kube_client *c;
	char text[4096], err[512], *ca = NULL;
	size_t len;

	snprintf(text, sizeof(text), "#!/bin/sh\nexec python3 "
	    "%s/tests/kubeapi/exec_plugin.py \"$@\"\n", kt_src());
	put_file("plugin.sh", text, 0755);
	(void)ca;
	(void)len;
	snprintf(text, sizeof(text),
	    "apiVersion: v1\nkind: Config\n"
	    "clusters:\n- name: fake\n  cluster:\n    server: %s\n"
	    "    certificate-authority: ca.crt\n"
	    "users:\n- name: ex\n  user:\n    exec:\n"
	    "      apiVersion: %s\n      command: ./plugin.sh\n"
	    "      args: [%s]\n"
	    "      env: [{name: REMEDY_EXPECT_SERVER, value: '%s'}]\n"
	    "      provideClusterInfo: %s\n"
	    "      installHint: 'install it with apt'\n"
	    "contexts:\n- name: ex\n  context: {cluster: fake, user: ex}\n"
	    "current-context: ex\n", kt_url, api, args,
	    cluster_info ? kt_url : "", cluster_info ? "true" : "false");
	put_file("kubeconfig-exec", text, 0600);
	if (kubeconfig_load(dpath("kubeconfig-exec"), NULL, &kc, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		CHECK(!"exec kubeconfig loaded");
		return NULL;
	}
	CHECK(kc.exec != NULL);
	c = kube_client_new(http, &kc, err, sizeof(err));
	CHECK(c != NULL);
	if (c != NULL && timeout_ms > 0)
		kube_client_set_exec_timeout(c, timeout_ms);
	kube_config_clear(&kc);
	return c;
}

struct expiry_arg {
	int64_t until;
};

static int
time_passed(void *arg)
{
	return now_ms() >= ((struct expiry_arg *)arg)->until;
}

static int
pid_gone(void *arg)
{
	pid_t pid = *(pid_t *)arg;

	return pid > 0 && kill(pid, 0) == -1 && errno == ESRCH;
}

static void
test_exec(void)
{
	struct kube_client *c;
	struct kube_client_stats cs;
	struct result res;
	struct expiry_arg ea;
	char args[2048];
	pid_t pid;

	/* a token with an expiry: cached until it passes, then fetched anew */
	put_file("exec-token", "exec-token-1\n", 0600);
	CHECK_INT(kt_request("POST", "/_test/tokens",
	    "{\"add\": [\"exec-token-1\", \"exec-token-2\"]}", NULL), 200);
	snprintf(args, sizeof(args), "--token-file, %s, --expires-in, '2', "
	    "--count-file, %s, --check-info", dpath("exec-token"),
	    dpath("exec-count"));
	c = exec_client("client.authentication.k8s.io/v1", args, 1, 0);
	get(c, "/api/v1/namespaces/demo/pods", &res);
	CHECK_INT(res.status, 200);
	get(c, "/version", &res);
	CHECK_INT(res.status, 200);
	CHECK_INT(read_int("exec-count"), 1);
	ea.until = now_ms() + 2100;
	CHECK(kt_run_until(time_passed, &ea, 5000));
	get(c, "/version", &res);
	CHECK_INT(res.status, 200);
	CHECK_INT(read_int("exec-count"), 2);

	/* the server stops accepting the token: 401, the plugin runs again,
	 * the request succeeds with the new token */
	put_file("exec-token", "exec-token-2\n", 0600);
	CHECK_INT(kt_request("POST", "/_test/tokens",
	    "{\"remove\": [\"exec-token-1\"]}", NULL), 200);
	get(c, "/version", &res);
	CHECK_INT(res.status, 200);
	CHECK_INT(read_int("exec-count"), 3);
	if (c != NULL) {
		kube_client_stats(c, &cs);
		CHECK_INT(cs.reauths, 1);
		CHECK_INT(cs.exec_runs, 3);
	}
	kube_client_free(c);

	/* v1beta1 with a client certificate instead of a token */
	snprintf(args, sizeof(args), "--api-version, "
	    "client.authentication.k8s.io/v1beta1, --cert, %s, --key, %s, "
	    "--check-info", dpath("client.crt"), dpath("client.key"));
	c = exec_client("client.authentication.k8s.io/v1beta1", args, 0, 0);
	get(c, "/api/v1/namespaces/demo/pods", &res);
	CHECK_INT(res.status, 200);
	kube_client_free(c);

	/* the plugin fails: the message names it and quotes its stderr */
	c = exec_client("client.authentication.k8s.io/v1", "--fail", 0, 0);
	get(c, "/version", &res);
	CHECK_INT(res.status, 0);
	CHECK(strstr(res.message, "/./") == NULL);
	CHECK(strstr(res.message, "plugin.sh: exited with status 1: error: "
	    "login failed: the refresh token has expired") != NULL);
	fprintf(stderr, "failing plugin: %s\n", res.message);
	kube_client_free(c);

	/* it hangs: killed at the timeout, the calls fail */
	snprintf(args, sizeof(args), "--hang, --pid-file, %s",
	    dpath("exec-pid"));
	c = exec_client("client.authentication.k8s.io/v1", args, 0, 1000);
	get(c, "/version", &res);
	CHECK_INT(res.status, 0);
	CHECK(strstr(res.message, "no answer within 1000 ms, killed") !=
	    NULL);
	pid = (pid_t)read_int("exec-pid");
	CHECK(pid > 0);
	CHECK(kt_run_until(pid_gone, &pid, 5000));
	kube_client_free(c);

	/* it prints something else */
	c = exec_client("client.authentication.k8s.io/v1", "--garbage", 0, 0);
	get(c, "/version", &res);
	CHECK_INT(res.status, 0);
	CHECK(strstr(res.message, "output is not JSON") != NULL);
	kube_client_free(c);

	/* it does not exist: the installHint is part of the message */
	unlink(dpath("plugin.sh"));
	{
		struct kube_config kc;
		char err[512];

		CHECK_INT(kubeconfig_load(dpath("kubeconfig-exec"), NULL, &kc,
		    err, sizeof(err)), 0);
		c = kube_client_new(http, &kc, err, sizeof(err));
		kube_config_clear(&kc);
		get(c, "/version", &res);
		CHECK_INT(res.status, 0);
		CHECK(strstr(res.message, "cannot run it") != NULL &&
		    strstr(res.message, "install it with apt") != NULL);
		fprintf(stderr, "missing plugin: %s\n", res.message);
		kube_client_free(c);
	}
}

static void
test_time(void)
{
	int64_t ms;

	CHECK_INT(kube_parse_time("2026-01-02T03:04:05Z", &ms), 0);
	CHECK_INT(ms, 1767323045000LL);
	CHECK_INT(kube_parse_time("2026-01-02T03:04:05.250000Z", &ms), 0);
	CHECK_INT(ms, 1767323045250LL);
	CHECK_INT(kube_parse_time("2026-01-02T04:04:05+01:00", &ms), 0);
	CHECK_INT(ms, 1767323045000LL);
	CHECK_INT(kube_parse_time("2026-01-02 03:04:05", &ms), -1);
	CHECK_INT(kube_parse_time("tomorrow", &ms), -1);
}

static void
test_ratelimit_math(void)
{
	struct ratelimit rl;
	int i;

	ratelimit_init(&rl, 5, 10, 1000);
	for (i = 0; i < 10; i++)
		CHECK_INT(ratelimit_take(&rl, 1000), 0);
	CHECK(ratelimit_take(&rl, 1000) > 0);
	CHECK(ratelimit_take(&rl, 1000) <= 201);
	CHECK_INT(ratelimit_take(&rl, 1200), 0);	/* 5/s: one per 200 ms */
	CHECK(ratelimit_take(&rl, 1200) > 0);
	ratelimit_init(&rl, 0, 0, 0);
	for (i = 0; i < 100; i++)
		CHECK_INT(ratelimit_take(&rl, 0), 0);
}

struct many {
	struct result	res[6];
};

static int
all_done(void *arg)
{
	struct many *m = arg;
	int i;

	for (i = 0; i < 6; i++)
		if (!m->res[i].done)
			return 0;
	return 1;
}

static void
test_transport(const struct kube_config *kc)
{
	struct kube_client *c;
	struct kube_client_stats cs;
	struct result res;
	struct many m;
	char err[512];
	int64_t t0;
	int i;

	/* QPS 5, burst 2: six requests need at least 4 / 5 s */
	c = kube_client_new(http, kc, err, sizeof(err));
	CHECK(c != NULL);
	if (c == NULL)
		return;
	kube_client_set_rate(c, 5, 2);
	memset(&m, 0, sizeof(m));
	t0 = mono_ms();
	for (i = 0; i < 6; i++)
		CHECK(kube_get(c, "/version", on_result, &m.res[i]) != NULL);
	CHECK(kt_run_until(all_done, &m, WAIT_MS));
	CHECK(mono_ms() - t0 >= 780);
	for (i = 0; i < 6; i++)
		CHECK_INT(m.res[i].status, 200);
	kube_client_stats(c, &cs);
	CHECK(cs.throttled >= 1);
	kube_client_set_rate(c, 0, 0);

	/* 429 with Retry-After: 1, then 500 with Retry-After: retried */
	CHECK_INT(kt_request("POST", "/_test/faults",
	    "{\"once\": [\"429\", \"500\"]}", NULL), 200);
	t0 = mono_ms();
	get(c, "/api/v1/namespaces/demo/pods", &res);
	CHECK_INT(res.status, 200);
	CHECK(mono_ms() - t0 >= 1900);
	kube_client_stats(c, &cs);
	CHECK_INT(cs.retries, 2);
	/* without Retry-After a 500 is not retried (the informer backs off) */
	CHECK_INT(kt_request("POST", "/_test/inject", "{\"method\": \"GET\", "
	    "\"path\": \"/version\", \"status\": 500, \"count\": 1}", NULL),
	    200);
	get(c, "/version", &res);
	CHECK_INT(res.status, 500);
	CHECK_INT(kt_request("POST", "/_test/faults", "{}", NULL), 200);
	kube_client_free(c);
}

static void
on_inf(struct informer *inf, enum informer_event ev, void *old, void *new_,
    void *arg)
{
	(void)inf;
	(void)ev;
	(void)old;
	(void)new_;
	(*(int *)arg)++;
}

static void *
proj(json_t *o)
{
	return xstrdup(json_str_at(o, "metadata.name"));
}

static const struct informer_type pods_type = {
	"pods", "/api/v1", "pods", proj, free
};

static int
inf_synced(void *arg)
{
	return informer_synced(arg);
}

static void
test_watchlist(const struct kube_config *kc)
{
	struct kube_client *c;
	struct informer *inf;
	struct informer_stats st;
	char err[512];
	int n = 0;

	c = kube_client_new(http, kc, err, sizeof(err));
	if (c == NULL)
		return;
	/* served: one streamed list, no LIST */
	inf = informer_new(c, &kt_loop, &pods_type, "demo", on_inf, &n);
	informer_start(inf);
	CHECK(kt_run_until(inf_synced, inf, WAIT_MS));
	informer_stats(inf, &st);
	CHECK_INT(st.streamed_lists, 1);
	CHECK_INT(informer_size(inf), 2);
	CHECK(informer_streaming(inf));
	informer_free(inf);

	/* refused with 422: LIST and WATCH from then on */
	CHECK_INT(kt_request("POST", "/_test/faults", "{\"watchlist\": false}",
	    NULL), 200);
	n = 0;
	inf = informer_new(c, &kt_loop, &pods_type, "demo", on_inf, &n);
	informer_start(inf);
	CHECK(kt_run_until(inf_synced, inf, WAIT_MS));
	informer_stats(inf, &st);
	CHECK_INT(st.streamed_lists, 1);
	CHECK_INT(st.lists, 2);
	CHECK_INT(st.errors, 0);
	CHECK_INT(informer_size(inf), 2);
	CHECK_INT(n, 2);
	CHECK(!informer_streaming(inf));
	informer_free(inf);
	/* the client remembers the refusal: the next informer (another kind
	 * at start, say) lists without asking again */
	CHECK(kube_client_watchlist_refused(c));
	n = 0;
	inf = informer_new(c, &kt_loop, &pods_type, "demo", on_inf, &n);
	informer_start(inf);
	CHECK(kt_run_until(inf_synced, inf, WAIT_MS));
	informer_stats(inf, &st);
	CHECK_INT(st.streamed_lists, 0);
	CHECK_INT(st.lists, 1);
	CHECK(!informer_streaming(inf));
	informer_free(inf);
	CHECK_INT(kt_request("POST", "/_test/faults", "{}", NULL), 200);
	kube_client_free(c);
}

static void
test_incluster(void)
{
	struct kube_config kc;
	struct kube_client *c;
	struct result res;
	char err[512], *ca = NULL;
	size_t len;
	const char *port;

	CHECK(mkdir(dpath("sa"), 0700) == 0);
	CHECK(read_file(dpath("ca.crt"), 1 << 20, &ca, &len, err,
	    sizeof(err)) == 0);
	put_file("sa/ca.crt", ca ? ca : "", 0644);
	free(ca);
	put_file("sa/token", "remedy-test-token\n", 0600);
	put_file("sa/namespace", "demo\n", 0644);

	unsetenv("KUBERNETES_SERVICE_HOST");
	CHECK_INT(kube_incluster_load(dpath("sa"), &kc, err, sizeof(err)), 1);
	port = strrchr(kt_url, ':') + 1;
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	unsetenv("POD_NAMESPACE");
	CHECK_INT(kube_incluster_load(dpath("sa"), &kc, err, sizeof(err)), 0);
	CHECK_STR(kc.namespace, "demo");
	CHECK_STR(kc.server, kt_url);
	CHECK(kc.in_cluster && kc.token == NULL && kc.token_file != NULL);
	c = kube_client_new(http, &kc, err, sizeof(err));
	get(c, "/api/v1/namespaces/demo/pods", &res);
	CHECK_INT(res.status, 200);
	/* the token rotates to one the server refuses, then to a good one:
	 * the 401 makes the client re-read at once */
	put_file("sa/token", "exec-token-9\n", 0600);
	CHECK_INT(kt_request("POST", "/_test/tokens",
	    "{\"add\": [\"exec-token-9\"]}", NULL), 200);
	kube_client_free(c);
	c = kube_client_new(http, &kc, err, sizeof(err));
	get(c, "/version", &res);
	CHECK_INT(res.status, 200);
	kube_client_free(c);
	kube_config_clear(&kc);

	setenv("POD_NAMESPACE", "other", 1);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	CHECK_INT(kube_incluster_load(dpath("sa"), &kc, err, sizeof(err)), 0);
	CHECK_STR(kc.namespace, "other");
	CHECK(strncmp(kc.server, "https://[fd00::1]:", 18) == 0);
	kube_config_clear(&kc);
	CHECK_INT(kube_incluster_load(dpath("nope"), &kc, err, sizeof(err)),
	    -1);
	CHECK(strstr(err, "nope/token") != NULL);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("POD_NAMESPACE");
}

int
main(void)
{
	static const char *const args[] = { "--scenario", "healthy", NULL };
	struct kube_config kc;
	char err[512];

	test_time();
	test_ratelimit_math();
	memset(&kc, 0, sizeof(kc));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	uv_loop_init(&kt_loop);
	uv_timer_init(&kt_loop, &kt_deadline);
	if (kt_start_server(args) == -1) {
		CHECK(!"test API server started");
		goto out;
	}
	if (kubeconfig_load(dpath("kubeconfig"), NULL, &kc, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		CHECK(!"kubeconfig loaded");
		goto out;
	}
	http = http_new(&kt_loop);
	test_exec();
	test_transport(&kc);
	test_watchlist(&kc);
	test_incluster();
	http_free(http);
	uv_run(&kt_loop, UV_RUN_DEFAULT);
out:
	uv_close((uv_handle_t *)&kt_deadline, NULL);
	uv_run(&kt_loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&kt_loop), 0);
	kube_config_clear(&kc);
	kt_stop_server();
	curl_global_cleanup();
	return T_DONE();
}
