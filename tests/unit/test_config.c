/*
 * test_config.c - remedyd.yaml parsing: every key, both YAML styles, each
 * kind of error with its exact "file:line:col: message", defaults, and the
 * canonical dump read back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "base/authz.h"
#include "conf/config.h"
#include "t.h"

#define NELEM_CASES(a)	(sizeof(a) / sizeof((a)[0]))

static char datadir[4096];
static char tmpdir[] = "/tmp/remedy-test-config-XXXXXX";

/* tests/unit/data, from $REMEDY_SRCDIR or else from this file's path. */
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

static const char *
data(const char *name)
{
	static char	path[4200];

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	return path;
}

/* Load name from the data directory; errs gets the messages with the
 * directory prefix removed so golden strings stay short. */
static int
load(const char *name, struct remedy_config *cfg, char **errs)
{
	char		*raw, *out, *p, *q;
	size_t		 dl = strlen(datadir) + 1;
	int		 n;

	config_init(cfg);
	n = config_load(data(name), cfg, &raw);
	*errs = NULL;
	if (raw == NULL)
		return n;
	out = calloc(1, strlen(raw) + 1);
	for (p = raw, q = out; *p != '\0'; ) {
		if (strncmp(p, datadir, dl - 1) == 0 && p[dl - 1] == '/')
			p += dl;
		while (*p != '\0' && *p != '\n')
			*q++ = *p++;
		if (*p == '\n')
			*q++ = *p++;
	}
	free(raw);
	*errs = out;
	return n;
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE	*f = fopen(path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(fwrite(text, 1, len, f) == len);
	fclose(f);
}

static void
test_defaults(void)
{
	struct remedy_config	 cfg;
	char			*errs, path[256];

	config_init(&cfg);
	CHECK(cfg.kubeconfig == NULL);
	CHECK(cfg.context == NULL);
	CHECK(cfg.namespaces == NULL);
	CHECK_INT(cfg.nnamespaces, 0);
	CHECK_STR(cfg.store_path, "/var/lib/remedyd/remedy.db");
	CHECK_STR(cfg.control_socket, "/run/remedyd/remedyd.sock");
	CHECK_STR(cfg.backend, "rules");
	CHECK_INT(cfg.hold_down_ms, 10000);
	CHECK_INT(cfg.verify_timeout_ms, 300000);
	CHECK_INT(cfg.pending_ttl_ms, 86400000);
	CHECK_INT(cfg.resolve_after_ms, 300000);
	CHECK_INT(cfg.symptom_wait_ms, 30000);
	CHECK_INT(cfg.policy.max_operations, 20);
	CHECK_INT(cfg.log_level, LOG_INFO);
	config_clear(&cfg);

	/* an empty file and a file of one section keep every other default */
	snprintf(path, sizeof(path), "%s/empty.yaml", tmpdir);
	write_file(path, "", 0);
	config_init(&cfg);
	CHECK_INT(config_load(path, &cfg, &errs), 0);
	CHECK(errs == NULL);
	CHECK_STR(cfg.path, path);
	CHECK_STR(cfg.store_path, "/var/lib/remedyd/remedy.db");
	config_clear(&cfg);

	snprintf(path, sizeof(path), "%s/partial.yaml", tmpdir);
	write_file(path, "log:\n  level: warning\nkubernetes:\n", 34);
	config_init(&cfg);
	CHECK_INT(config_load(path, &cfg, &errs), 0);
	CHECK(errs == NULL);
	CHECK_INT(cfg.log_level, LOG_WARNING);
	CHECK_INT(cfg.hold_down_ms, 10000);
	CHECK_STR(cfg.control_socket, "/run/remedyd/remedyd.sock");
	config_clear(&cfg);

	/* incidents: resolve_after, and hold_down as another name for
	 * diagnosis.hold_down */
	snprintf(path, sizeof(path), "%s/incidents.yaml", tmpdir);
	write_file(path, "incidents: {hold_down: 3s, resolve_after: 90s, "
	    "symptom_wait: 5s}\n", 65);
	config_init(&cfg);
	CHECK_INT(config_load(path, &cfg, &errs), 0);
	CHECK(errs == NULL);
	CHECK_INT(cfg.hold_down_ms, 3000);
	CHECK_INT(cfg.resolve_after_ms, 90000);
	CHECK_INT(cfg.symptom_wait_ms, 5000);
	config_clear(&cfg);
}

static void
test_full(void)
{
	struct remedy_config	 cfg;
	char			*errs;

	CHECK_INT(load("config-full.yaml", &cfg, &errs), 0);
	CHECK(errs == NULL);
	CHECK_STR(cfg.kubeconfig, "/etc/remedyd/kubeconfig");
	CHECK_STR(cfg.context, "prod-admin");
	CHECK_INT(cfg.nnamespaces, 2);
	if (cfg.nnamespaces == 2) {
		CHECK_STR(cfg.namespaces[0], "demo");
		CHECK_STR(cfg.namespaces[1], "payments-v2");
		CHECK(cfg.namespaces[2] == NULL);
	}
	CHECK_STR(cfg.store_path, "/srv/remedy/remedy.db");
	CHECK_STR(cfg.control_socket, "/run/remedy-test/ctl.sock");
	CHECK_STR(cfg.backend, "rules");
	CHECK_INT(cfg.hold_down_ms, 30000);
	CHECK_INT(cfg.verify_timeout_ms, 120000);
	CHECK_INT(cfg.log_level, LOG_DEBUG);
	config_clear(&cfg);
	free(errs);
}

static void
test_flow(void)
{
	struct remedy_config	 cfg;
	char			*errs;

	CHECK_INT(load("config-flow.yaml", &cfg, &errs), 0);
	CHECK(errs == NULL);
	CHECK_STR(cfg.kubeconfig, "/home/op/.kube/config");
	CHECK_STR(cfg.context, "kind-remedy");
	CHECK_INT(cfg.nnamespaces, 1);
	if (cfg.nnamespaces == 1)
		CHECK_STR(cfg.namespaces[0], "demo");
	CHECK_STR(cfg.store_path, "/var/lib/remedyd/remedy.db");
	CHECK_STR(cfg.control_socket, "/run/remedyd/remedyd.sock");
	CHECK_INT(cfg.hold_down_ms, 10000);
	CHECK_INT(cfg.verify_timeout_ms, 300000);
	CHECK_INT(cfg.log_level, LOG_INFO);
	config_clear(&cfg);
	free(errs);
}

/* Every error of one file is reported, in order, with its position. */
static void
test_errors(void)
{
	struct remedy_config	 cfg;
	char			*errs;

	CHECK_INT(load("config-errors.yaml", &cfg, &errs), 10);
	CHECK_STR(errs,
	    "config-errors.yaml:2:3: unknown key \"namspaces\" in kubernetes\n"
	    "config-errors.yaml:4:3: duplicate key \"context\" in kubernetes "
	    "(first on line 3)\n"
	    "config-errors.yaml:7:7: kubernetes.namespaces[1]: expected a "
	    "string, got a mapping\n"
	    "config-errors.yaml:8:7: kubernetes.namespaces[2]: \"Bad_Name\" "
	    "is not a valid namespace name (a DNS-1123 label: at most 63 "
	    "lowercase letters, digits or '-')\n"
	    "config-errors.yaml:10:12: diagnosis.backend: unknown backend "
	    "\"magic\" (known: rules, openai, anthropic, ollama)\n"
	    "config-errors.yaml:11:14: diagnosis.hold_down: \"soon\" is not a "
	    "duration (like 250ms, 10s, 5m, 2h)\n"
	    "config-errors.yaml:13:19: actions.verify_timeout: expected a "
	    "string, got a sequence\n"
	    "config-errors.yaml:15:10: log.level: unknown level \"loud\" "
	    "(known: debug, info, notice, warning, error)\n"
	    "config-errors.yaml:16:8: store: expected a mapping, got a "
	    "string\n"
	    "config-errors.yaml:17:1: unknown key \"extra\"\n");
	/* a bad list leaves the default (all namespaces) in place */
	CHECK_INT(cfg.nnamespaces, 0);
	CHECK_STR(cfg.backend, "rules");
	config_clear(&cfg);
	free(errs);

	CHECK_INT(load("config-syntax.yaml", &cfg, &errs), 1);
	CHECK_STR(errs, "config-syntax.yaml:3:14: mapping values are not "
	    "allowed in this context\n");
	config_clear(&cfg);
	free(errs);

	CHECK_INT(load("config-notmap.yaml", &cfg, &errs), 1);
	CHECK_STR(errs, "config-notmap.yaml:1:1: expected a mapping at the "
	    "top level, got a sequence\n");
	config_clear(&cfg);
	free(errs);

	CHECK_INT(load("config-twodocs.yaml", &cfg, &errs), 1);
	CHECK_STR(errs, "config-twodocs.yaml:3:1: more than one YAML "
	    "document\n");
	config_clear(&cfg);
	free(errs);

	CHECK_INT(load("no-such-file.yaml", &cfg, &errs), 1);
	CHECK_STR(errs, "no-such-file.yaml: No such file or directory\n");
	config_clear(&cfg);
	free(errs);
}

/* Inline cases, written to the temp dir: golden message for each. */
static void
test_error_cases(void)
{
	static const struct {
		const char	*yaml;
		const char	*err;
	} cases[] = {
		{ "kubernetes: {namespaces: demo}\n",
		  "1:26: kubernetes.namespaces: expected a sequence, got a "
		  "string" },
		{ "kubernetes:\n  namespaces: [demo, x, demo]\n",
		  "2:25: kubernetes.namespaces[2]: namespace \"demo\" is listed "
		  "twice" },
		{ "kubernetes:\n  namespaces: [-a]\n",
		  "2:16: kubernetes.namespaces[0]: \"-a\" is not a valid "
		  "namespace name (a DNS-1123 label: at most 63 lowercase "
		  "letters, digits or '-')" },
		{ "store: {path: }\n",
		  "1:15: store.path: expected a string, got null" },
		{ "store: {path: \"\"}\n",
		  "1:15: store.path: must not be empty" },
		{ "actions: {verify_timeout: 0s}\n",
		  "1:27: actions.verify_timeout: must be greater than zero" },
		{ "incidents: {resolve_after: soon}\n",
		  "1:28: incidents.resolve_after: \"soon\" is not a duration "
		  "(like 250ms, 10s, 5m, 2h)" },
		{ "diagnosis: {hold_down: 10x}\n",
		  "1:24: diagnosis.hold_down: \"10x\" is not a duration (like "
		  "250ms, 10s, 5m, 2h)" },
		{ "log: {[a]: b}\n",
		  "1:7: log: expected a string key, got a sequence" },
		{ "kubernetes: {namespaces: [demo}\n",
		  "1:31: did not find expected ',' or ']' while parsing a "
		  "flow sequence (line 1)" },
		{ "log: {level: info}\nlog: {level: debug}\n",
		  "2:1: duplicate key \"log\" (first on line 1)" },
		{ "control: {sock: /x}\n",
		  "1:11: unknown key \"sock\" in control" },
		{ "http: {listen: localhost:9464}\n",
		  "1:16: http.listen: \"localhost:9464\": \"localhost\" is not "
		  "an IPv4 address (use [ADDR] for IPv6; host names are not "
		  "accepted)" },
		{ "http: {listen: \"127.0.0.1:70000\"}\n",
		  "1:16: http.listen: \"127.0.0.1:70000\": port must be a number "
		  "1-65535" },
		{ "kubernetes: {qps: fast}\n",
		  "1:19: kubernetes.qps: \"fast\" is not a rate from 0 (no "
		  "limit) to 100000 requests a second" },
		{ "kubernetes: {watch_stall: 5s}\n",
		  "1:27: kubernetes.watch_stall: must be whole seconds from 10s "
		  "to 1h" },
		{ "kubernetes: {watch_stall: 1500ms}\n",
		  "1:27: kubernetes.watch_stall: must be whole seconds from 10s "
		  "to 1h" },
		{ "kubernetes: {discovery_interval: 500ms}\n",
		  "1:34: kubernetes.discovery_interval: must be from 1s to "
		  "24h" },
		{ "kubernetes: {burst: 0}\n",
		  "1:21: kubernetes.burst: \"0\" is not a number from 1 to "
		  "10000" },
		{ "kubernetes: {leader_election: {enabled: yes}}\n",
		  "1:41: kubernetes.leader_election.enabled: expected true or "
		  "false, got \"yes\"" },
		{ "kubernetes: {leader_election: {term: 5s}}\n",
		  "1:32: unknown key \"term\" in kubernetes.leader_election" },
		{ "kubernetes: {leader_election: {renew_deadline: 20s}}\n",
		  "1:31: kubernetes.leader_election: need retry_period < "
		  "renew_deadline < lease_duration" },
		{ "http: {listen: \"[::1\"}\n",
		  "1:16: http.listen: \"[::1\": expected [IPV6]:PORT" },
	};
	struct remedy_config	 cfg;
	char			 path[256], want[512];
	char			*errs;
	size_t			 i;

	snprintf(path, sizeof(path), "%s/case.yaml", tmpdir);
	for (i = 0; i < NELEM_CASES(cases); i++) {
		write_file(path, cases[i].yaml, strlen(cases[i].yaml));
		config_init(&cfg);
		CHECK_INT(config_load(path, &cfg, &errs), 1);
		snprintf(want, sizeof(want), "%s:%s\n", path, cases[i].err);
		CHECK_STR(errs, want);
		free(errs);
		config_clear(&cfg);
	}
}

/* Limits: a file over CONFIG_MAX_BYTES is one error; more namespaces than
 * CONFIG_MAX_NAMESPACES is one error; a flood of errors is summarised. */
static void
test_limits(void)
{
	struct remedy_config	 cfg;
	char			 path[256], want[512];
	char			*buf, *errs, *p;
	size_t			 i, n, lines;
	int			 nerr;

	snprintf(path, sizeof(path), "%s/big.yaml", tmpdir);
	n = CONFIG_MAX_BYTES + 1;
	buf = malloc(n);
	memset(buf, '#', n);
	write_file(path, buf, n);
	free(buf);
	config_init(&cfg);
	CHECK_INT(config_load(path, &cfg, &errs), 1);
	snprintf(want, sizeof(want), "%s: larger than %d bytes\n", path,
	    CONFIG_MAX_BYTES);
	CHECK_STR(errs, want);
	free(errs);
	config_clear(&cfg);

	snprintf(path, sizeof(path), "%s/many-ns.yaml", tmpdir);
	buf = malloc(16 * (CONFIG_MAX_NAMESPACES + 2));
	p = buf + sprintf(buf, "kubernetes:\n  namespaces:\n");
	for (i = 0; i <= CONFIG_MAX_NAMESPACES; i++)
		p += sprintf(p, "  - ns%zu\n", i);
	write_file(path, buf, (size_t)(p - buf));
	config_init(&cfg);
	CHECK_INT(config_load(path, &cfg, &errs), 1);
	snprintf(want, sizeof(want), "%s:3:3: kubernetes.namespaces: more "
	    "than %d namespaces\n", path, CONFIG_MAX_NAMESPACES);
	CHECK_STR(errs, want);
	free(errs);
	config_clear(&cfg);

	/* exactly the maximum is fine */
	p = buf + sprintf(buf, "kubernetes:\n  namespaces:\n");
	for (i = 0; i < CONFIG_MAX_NAMESPACES; i++)
		p += sprintf(p, "  - ns%zu\n", i);
	write_file(path, buf, (size_t)(p - buf));
	config_init(&cfg);
	CHECK_INT(config_load(path, &cfg, &errs), 0);
	CHECK_INT(cfg.nnamespaces, CONFIG_MAX_NAMESPACES);
	free(errs);
	config_clear(&cfg);
	free(buf);

	snprintf(path, sizeof(path), "%s/flood.yaml", tmpdir);
	buf = malloc(16 * 200);
	p = buf;
	for (i = 0; i < 200; i++)
		p += sprintf(p, "k%zu: 1\n", i);
	write_file(path, buf, (size_t)(p - buf));
	free(buf);
	config_init(&cfg);
	nerr = config_load(path, &cfg, &errs);
	CHECK_INT(nerr, 200);
	for (lines = 0, p = errs; p != NULL && *p != '\0'; p++)
		lines += *p == '\n';
	CHECK_INT(lines, 65);
	snprintf(want, sizeof(want), "%s: 136 more errors not shown\n", path);
	CHECK(errs != NULL && strlen(errs) > strlen(want) &&
	    strcmp(errs + strlen(errs) - strlen(want), want) == 0);
	free(errs);
	config_clear(&cfg);
}

static int
config_equal(const struct remedy_config *a, const struct remedy_config *b)
{
	size_t	i;

#define SEQ(x, y)	((x) == NULL ? (y) == NULL : ((y) != NULL && \
			    strcmp((x), (y)) == 0))
	if (!SEQ(a->kubeconfig, b->kubeconfig) || !SEQ(a->context, b->context)
	    || !SEQ(a->store_path, b->store_path) ||
	    !SEQ(a->control_socket, b->control_socket) ||
	    !SEQ(a->backend, b->backend) || a->nnamespaces != b->nnamespaces ||
	    a->hold_down_ms != b->hold_down_ms ||
	    a->verify_timeout_ms != b->verify_timeout_ms ||
	    a->pending_ttl_ms != b->pending_ttl_ms ||
	    a->resolve_after_ms != b->resolve_after_ms ||
	    a->kube_watch_stall_ms != b->kube_watch_stall_ms ||
	    a->kube_discovery_ms != b->kube_discovery_ms ||
	    a->log_level != b->log_level)
		return 0;
	for (i = 0; i < a->nnamespaces; i++)
		if (!SEQ(a->namespaces[i], b->namespaces[i]))
			return 0;
#undef SEQ
	return 1;
}

/* dump -> load -> equal, and the dump of the reloaded config is the same
 * text (the canonical form is a fixed point). */
static void
roundtrip(struct remedy_config *cfg)
{
	struct remedy_config	 back;
	char			 path[256];
	char			*dump, *dump2, *errs;

	snprintf(path, sizeof(path), "%s/dump.yaml", tmpdir);
	dump = config_dump(cfg);
	CHECK(dump != NULL);
	if (dump == NULL)
		return;
	write_file(path, dump, strlen(dump));
	config_init(&back);
	CHECK_INT(config_load(path, &back, &errs), 0);
	if (errs)
		fprintf(stderr, "%s", errs);
	free(errs);
	CHECK(config_equal(cfg, &back));
	dump2 = config_dump(&back);
	CHECK_STR(dump2, dump);
	free(dump);
	free(dump2);
	config_clear(&back);
}

static void
test_dump(void)
{
	struct remedy_config	 cfg;
	char			*errs, *dump;

	config_init(&cfg);
	dump = config_dump(&cfg);
	CHECK_STR(dump,
	    "kubernetes:\n"
	    "  kubeconfig: ~\n"
	    "  context: ~\n"
	    "  namespaces: []\n"
	    "  qps: 5\n"
	    "  burst: 10\n"
	    "  watch_stall: 2m\n"
	    "  discovery_interval: 10m\n"
	    "  leader_election:\n"
	    "    enabled: false\n"
	    "    namespace: ~\n"
	    "    name: remedyd\n"
	    "    identity: ~\n"
	    "    lease_duration: 15s\n"
	    "    renew_deadline: 10s\n"
	    "    retry_period: 2s\n"
	    "store:\n"
	    "  path: /var/lib/remedyd/remedy.db\n"
	    "control:\n"
	    "  socket: /run/remedyd/remedyd.sock\n"
	    "  group: ~\n"
	    "  idle_timeout: 5m\n"
	    "  max_connections_per_uid: 16\n"
	    "  viewers: []\n"
	    "  approvers: []\n"
	    "  proposers: []\n"
	    "  root: approver\n"
	    "  two_person: false\n"
	    "  max_agent_pending: 5\n"
	    "  max_agent_proposals_per_minute: 10\n"
	    "diagnosis:\n"
	    "  backend: rules\n"
	    "  hold_down: 10s\n"
	    "  model: ~\n"
	    "  endpoint: ~\n"
	    "  api_key_file: ~\n"
	    "  api_key_env: ~\n"
	    "  azure_deployment: ~\n"
	    "  api_version: ~\n"
	    "  structured_output: json_schema\n"
	    "  timeout: 1m\n"
	    "  max_retries: 3\n"
	    "  max_tokens: 1024\n"
	    "  max_concurrent: 2\n"
	    "  max_queued: 256\n"
	    "  max_calls_per_hour: 60\n"
	    "  max_tokens_per_day: 200000\n"
	    "  cache_ttl: 1d\n"
	    "  anonymize: false\n"
	    "  redact_ips: false\n"
	    "  context_bytes: 6000\n"
	    "  log_lines: 30\n"
	    "  memory_raise_factor: 1.5\n"
	    "  memory_ceiling: 4Gi\n"
	    "actions:\n"
	    "  verify_timeout: 5m\n"
	    "  pending_ttl: 1d\n"
	    "incidents:\n"
	    "  resolve_after: 5m\n"
	    "  symptom_wait: 30s\n"
	    "log:\n"
	    "  level: info\n"
	    "notifications:\n"
	    "  webhooks: []\n"
	    "http:\n"
	    "  listen: ~\n"
	    "policy:\n"
	    "  kinds: [Deployment, StatefulSet, DaemonSet, CronJob, Pod, HorizontalPodAutoscaler, Service]\n"
	    "  paths:\n"
	    "    Deployment:\n"
	    "    - /spec/template/spec/containers/*/image\n"
	    "    - /spec/template/spec/containers/*/resources\n"
	    "    - /spec/template/spec/containers/*/livenessProbe\n"
	    "    - /spec/template/spec/containers/*/readinessProbe\n"
	    "    - /spec/template/spec/containers/*/startupProbe\n"
	    "    - /spec/template/spec/initContainers/*/image\n"
	    "    - /spec/template/spec/initContainers/*/resources\n"
	    "    - /spec/template/spec/nodeSelector\n"
	    "    - /spec/template/spec/affinity/nodeAffinity\n"
	    "    - /spec/template/spec/tolerations\n"
	    "    - /spec/replicas\n"
	    "    - /spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt\n"
	    "    - /metadata/annotations/kubernetes.io~1change-cause\n"
	    "    StatefulSet:\n"
	    "    - /spec/template/spec/containers/*/image\n"
	    "    - /spec/template/spec/containers/*/resources\n"
	    "    - /spec/template/spec/containers/*/livenessProbe\n"
	    "    - /spec/template/spec/containers/*/readinessProbe\n"
	    "    - /spec/template/spec/containers/*/startupProbe\n"
	    "    - /spec/template/spec/initContainers/*/image\n"
	    "    - /spec/template/spec/initContainers/*/resources\n"
	    "    - /spec/template/spec/nodeSelector\n"
	    "    - /spec/template/spec/affinity/nodeAffinity\n"
	    "    - /spec/template/spec/tolerations\n"
	    "    - /spec/replicas\n"
	    "    - /spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt\n"
	    "    - /metadata/annotations/kubernetes.io~1change-cause\n"
	    "    DaemonSet:\n"
	    "    - /spec/template/spec/containers/*/image\n"
	    "    - /spec/template/spec/containers/*/resources\n"
	    "    - /spec/template/spec/containers/*/livenessProbe\n"
	    "    - /spec/template/spec/containers/*/readinessProbe\n"
	    "    - /spec/template/spec/containers/*/startupProbe\n"
	    "    - /spec/template/spec/initContainers/*/image\n"
	    "    - /spec/template/spec/initContainers/*/resources\n"
	    "    - /spec/template/spec/nodeSelector\n"
	    "    - /spec/template/spec/affinity/nodeAffinity\n"
	    "    - /spec/template/spec/tolerations\n"
	    "    - /spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt\n"
	    "    - /metadata/annotations/kubernetes.io~1change-cause\n"
	    "    CronJob:\n"
	    "    - /spec/jobTemplate/spec/template/spec/containers/*/image\n"
	    "    - /spec/jobTemplate/spec/template/spec/containers/*/resources\n"
	    "    - /spec/jobTemplate/spec/template/spec/containers/*/livenessProbe\n"
	    "    - /spec/jobTemplate/spec/template/spec/containers/*/readinessProbe\n"
	    "    - /spec/jobTemplate/spec/template/spec/containers/*/startupProbe\n"
	    "    - /spec/jobTemplate/spec/template/spec/initContainers/*/image\n"
	    "    - /spec/jobTemplate/spec/template/spec/initContainers/*/resources\n"
	    "    - /spec/suspend\n"
	    "    - /metadata/annotations/kubernetes.io~1change-cause\n"
	    "    Pod:\n"
	    "    - /spec/containers/*/image\n"
	    "    - /spec/initContainers/*/image\n"
	    "    - /spec/activeDeadlineSeconds\n"
	    "    - /spec/tolerations/*\n"
	    "    HorizontalPodAutoscaler:\n"
	    "    - /spec/minReplicas\n"
	    "    - /spec/maxReplicas\n"
	    "    Service:\n"
	    "    - /spec/selector\n"
	    "  namespaces:\n"
	    "    allow: []\n"
	    "    deny: [kube-system, kube-public, kube-node-lease]\n"
	    "  max_operations: 20\n"
	    "  max_replicas: 50\n"
	    "  allow_delete: false\n"
	    "  allow_forced_rollback: true\n"
	    "  allow_command_edits: false\n"
	    "registries:\n"
	    "  enabled: false\n"
	    "  mirrors: {}\n"
	    "  insecure: []\n"
	    "  auth_file: ~\n"
	    "  timeout: 10s\n"
	    "  cache_ttl: 5m\n"
	    "  max_requests_per_incident: 20\n"
	    "  max_tags: 10000\n"
	    "  pin_digest: false\n");
	free(dump);
	roundtrip(&cfg);
	config_clear(&cfg);

	load("config-full.yaml", &cfg, &errs);
	free(errs);
	roundtrip(&cfg);
	config_clear(&cfg);

	/* odd but legal values must survive the trip */
	config_init(&cfg);
	free(cfg.store_path);
	cfg.store_path = strdup("null");
	free(cfg.control_socket);
	cfg.control_socket = strdup("/run/a b: c #d");
	cfg.context = strdup("~");
	cfg.kubeconfig = strdup("'quoted' \"x\"");
	cfg.hold_down_ms = 1500;
	cfg.verify_timeout_ms = 2 * 86400000LL;
	cfg.log_level = LOG_ERR;
	roundtrip(&cfg);
	config_clear(&cfg);
}


/* http.listen: off by default; IPv4 and bracketed IPv6 literals. */
static void
test_http_listen(void)
{
	struct remedy_config	 cfg;
	char			 path[256];
	char			*errs;
	const char		*yaml;

	config_init(&cfg);
	CHECK(cfg.http_listen == NULL);
	roundtrip(&cfg);
	config_clear(&cfg);

	snprintf(path, sizeof(path), "%s/http.yaml", tmpdir);
	yaml = "http:\n  listen: \"[::1]:9464\"\n";
	write_file(path, yaml, strlen(yaml));
	config_init(&cfg);
	CHECK_INT(config_load(path, &cfg, &errs), 0);
	free(errs);
	CHECK_STR(cfg.http_listen, "[::1]:9464");
	roundtrip(&cfg);
	config_clear(&cfg);

	yaml = "http: {listen: 0.0.0.0:9464}\n";
	write_file(path, yaml, strlen(yaml));
	config_init(&cfg);
	CHECK_INT(config_load(path, &cfg, &errs), 0);
	free(errs);
	CHECK_STR(cfg.http_listen, "0.0.0.0:9464");
	config_clear(&cfg);
}

/* kubernetes.qps, burst and leader_election parse and round-trip. */
static void
test_kube_keys(void)
{
	struct remedy_config	 cfg;
	char			 path[256];
	char			*errs;
	const char		*yaml;

	snprintf(path, sizeof(path), "%s/kube.yaml", tmpdir);
	yaml = "kubernetes:\n  qps: 20.5\n  burst: 40\n  watch_stall: 45s\n"
	    "  leader_election:\n"
	    "    enabled: true\n    namespace: remedy\n    name: remedyd-a\n"
	    "    identity: node-1\n    lease_duration: 6s\n"
	    "    renew_deadline: 4s\n    retry_period: 500ms\n";
	write_file(path, yaml, strlen(yaml));
	config_init(&cfg);
	CHECK_INT(config_load(path, &cfg, &errs), 0);
	free(errs);
	CHECK(cfg.kube_qps == 20.5);
	CHECK_INT(cfg.kube_burst, 40);
	CHECK_INT(cfg.kube_watch_stall_ms, 45000);
	CHECK_INT(cfg.leader.enabled, 1);
	CHECK_STR(cfg.leader.namespace, "remedy");
	CHECK_STR(cfg.leader.name, "remedyd-a");
	CHECK_STR(cfg.leader.identity, "node-1");
	CHECK_INT(cfg.leader.duration_ms, 6000);
	CHECK_INT(cfg.leader.renew_ms, 4000);
	CHECK_INT(cfg.leader.retry_ms, 500);
	roundtrip(&cfg);
	config_clear(&cfg);
}

/* control.* (roles, socket discipline) and notifications.webhooks. */
static void
test_control_keys(void)
{
	static const struct {
		const char	*yaml;
		const char	*err;
	} bad[] = {
		{ "control: {viewers: [\"al ice\"]}\n",
		  "1:21: control.viewers[0]: \"al ice\" is not a user name, "
		  "%group or uid" },
		{ "control: {approvers: [\"#12x\"]}\n",
		  "1:23: control.approvers[0]: \"#12x\" is not a uid (#1001)" },
		{ "control: {approvers: alice}\n",
		  "1:22: control.approvers: expected a sequence, got a string" },
		{ "control: {root: god}\n",
		  "1:17: control.root: unknown role \"god\" (known: approver, "
		  "proposer, viewer, none)" },
		{ "control: {max_agent_pending: 0}\n",
		  "1:30: control.max_agent_pending: \"0\" is not a number from "
		  "1 to 1000" },
		{ "control: {proposers: [\"#x\"]}\n",
		  "1:23: control.proposers[0]: \"#x\" is not a uid (#1001)" },
		{ "control: {two_person: maybe}\n",
		  "1:23: control.two_person: expected true or false, got "
		  "\"maybe\"" },
		{ "control: {max_connections_per_uid: 0}\n",
		  "1:36: control.max_connections_per_uid: \"0\" is not a number "
		  "from 1 to 1024" },
		{ "control: {idle_timeout: 0s}\n",
		  "1:25: control.idle_timeout: must be greater than zero" },
		{ "notifications: {webhooks: [\"ftp://x/secret\"]}\n",
		  "1:28: notifications.webhooks[0]: not an http:// or https:// "
		  "URL" },
	};
	struct remedy_config	 cfg;
	char			 path[256], *errs, *dump;
	const char		*full =
	    "control:\n"
	    "  socket: /run/r.sock\n"
	    "  group: remedy\n"
	    "  idle_timeout: 90s\n"
	    "  max_connections_per_uid: 4\n"
	    "  viewers: [alice, \"%ops\", 1001]\n"
	    "  approvers: [\"#0\", bob]\n"
	    "  proposers: [\"%agents\"]\n"
	    "  root: viewer\n"
	    "  two_person: true\n"
	    "  max_agent_pending: 2\n"
	    "  max_agent_proposals_per_minute: 30\n"
	    "notifications:\n"
	    "  webhooks: [\"https://hooks.example.com/services/T/B/x\"]\n";
	size_t			 i;

	snprintf(path, sizeof(path), "%s/control.yaml", tmpdir);
	write_file(path, full, strlen(full));
	config_init(&cfg);
	CHECK_INT(config_load(path, &cfg, &errs), 0);
	CHECK(errs == NULL);
	free(errs);
	CHECK_STR(cfg.control_group, "remedy");
	CHECK_INT(cfg.control_idle_ms, 90000);
	CHECK_INT(cfg.control_max_per_uid, 4);
	CHECK_STR(cfg.control_viewers[0], "alice");
	CHECK_STR(cfg.control_viewers[1], "%ops");
	CHECK_STR(cfg.control_viewers[2], "1001");
	CHECK(cfg.control_viewers[3] == NULL);
	CHECK_STR(cfg.control_approvers[1], "bob");
	CHECK_INT(cfg.control_root_role, AUTHZ_VIEWER);
	CHECK_INT(cfg.control_two_person, 1);
	CHECK_STR(cfg.control_proposers[0], "%agents");
	CHECK_INT(cfg.control_agent_pending, 2);
	CHECK_INT(cfg.control_agent_per_min, 30);
	CHECK_STR(cfg.webhooks[0], "https://hooks.example.com/services/T/B/x");
	CHECK(cfg.webhooks[1] == NULL);
	dump = config_dump(&cfg);
	CHECK(dump != NULL && strstr(dump, "  viewers:\n  - alice\n  - "
	    "'%ops'\n  - 1001\n") != NULL);
	free(dump);
	roundtrip(&cfg);
	config_clear(&cfg);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[512];

		write_file(path, bad[i].yaml, strlen(bad[i].yaml));
		config_init(&cfg);
		CHECK_INT(config_load(path, &cfg, &errs), 1);
		snprintf(want, sizeof(want), "%s:%s\n", path, bad[i].err);
		CHECK_STR(errs, want);
		free(errs);
		config_clear(&cfg);
	}
}

/* registries.*: mirrors, insecure hosts, the auth file and the limits. */
static void
test_registry_keys(void)
{
	static const struct {
		const char	*yaml;
		const char	*err;	/* after "PATH:" */
	} bad[] = {
		{ "registries:\n  mirrors: {docker.io: http://127.0.0.1:5000}\n",
		  "2:24: registries.mirrors.docker.io: http://127.0.0.1:5000 is "
		  "plain http; list 127.0.0.1:5000 in registries.insecure to "
		  "allow it" },
		{ "registries: {mirrors: {docker.io: ftp://x}}\n",
		  "1:35: registries.mirrors.docker.io: expected http://HOST[:PORT]"
		  " or https://HOST[:PORT] (no path)" },
		{ "registries: {mirrors: {docker.io: \"https://x/v2/\"}}\n",
		  "1:35: registries.mirrors.docker.io: expected http://HOST[:PORT]"
		  " or https://HOST[:PORT] (no path)" },
		{ "registries: {mirrors: {\"https://q\": https://x}}\n",
		  "1:24: registries.mirrors: \"https://q\" is not a registry "
		  "domain as an image reference names it (HOST[:PORT], docker.io "
		  "for Docker Hub)" },
		{ "registries: {mirrors: [x]}\n",
		  "1:23: registries.mirrors: expected a mapping of registry host "
		  "to mirror URL, got a sequence" },
		{ "registries: {insecure: [\"http://h:1\"]}\n",
		  "1:25: registries.insecure[0]: \"http://h:1\" is not "
		  "HOST[:PORT] (no scheme, no path)" },
		{ "registries: {auth_file: rel/auth.json}\n",
		  "1:25: registries.auth_file: must be an absolute path" },
		{ "registries: {timeout: 0s}\n",
		  "1:23: registries.timeout: must be from 100ms to 5m" },
		{ "registries: {max_tags: lots}\n",
		  "1:24: registries.max_tags: \"lots\" is not an integer from 1 "
		  "to 1000000" },
		{ "registries: {max_requests_per_incident: 0}\n",
		  "1:41: registries.max_requests_per_incident: \"0\" is not an "
		  "integer from 1 to 1000" },
		{ "registries: {mirror: {}}\n",
		  "1:14: unknown key \"mirror\" in registries" },
	};
	struct remedy_config	 cfg;
	char			 path[256], *errs, *dump;
	const char		*good =
	    "registries:\n"
	    "  enabled: true\n"
	    "  mirrors:\n"
	    "    docker.io: http://127.0.0.1:5000/\n"
	    "    quay.io: https://mirror.example:8443\n"
	    "  insecure: [127.0.0.1:5000, \"[::1]:5001\"]\n"
	    "  auth_file: /etc/remedyd/registry-auth.json\n"
	    "  timeout: 3s\n"
	    "  cache_ttl: 0s\n"
	    "  max_requests_per_incident: 7\n"
	    "  max_tags: 500\n"
	    "  pin_digest: true\n";
	size_t			 i;

	snprintf(path, sizeof(path), "%s/registries.yaml", tmpdir);
	write_file(path, good, strlen(good));
	config_init(&cfg);
	CHECK_INT(config_load(path, &cfg, &errs), 0);
	CHECK(errs == NULL);
	free(errs);
	CHECK_INT(cfg.registries.enabled, 1);
	CHECK_INT(cfg.registries.nmirrors, 2);
	CHECK_STR(registry_config_mirror(&cfg.registries, "docker.io"),
	    "http://127.0.0.1:5000");
	CHECK_STR(registry_config_mirror(&cfg.registries, "quay.io"),
	    "https://mirror.example:8443");
	CHECK(registry_config_mirror(&cfg.registries, "ghcr.io") == NULL);
	CHECK(registry_config_insecure(&cfg.registries, "[::1]:5001"));
	CHECK(!registry_config_insecure(&cfg.registries, "127.0.0.1"));
	CHECK_STR(cfg.registries.auth_file, "/etc/remedyd/registry-auth.json");
	CHECK_INT(cfg.registries.timeout_ms, 3000);
	CHECK_INT(cfg.registries.cache_ttl_ms, 0);
	CHECK_INT(cfg.registries.max_requests, 7);
	CHECK_INT(cfg.registries.max_tags, 500);
	CHECK_INT(cfg.registries.pin_digest, 1);
	dump = config_dump(&cfg);
	CHECK(dump != NULL && strstr(dump, "registries:\n  enabled: true\n"
	    "  mirrors:\n    "
	    "docker.io: http://127.0.0.1:5000\n") != NULL);
	free(dump);
	roundtrip(&cfg);
	config_clear(&cfg);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[512];

		write_file(path, bad[i].yaml, strlen(bad[i].yaml));
		config_init(&cfg);
		CHECK_INT(config_load(path, &cfg, &errs), 1);
		snprintf(want, sizeof(want), "%s:%s\n", path, bad[i].err);
		CHECK_STR(errs, want);
		free(errs);
		config_clear(&cfg);
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
	test_defaults();
	test_full();
	test_flow();
	test_errors();
	test_error_cases();
	test_limits();
	test_dump();
	test_control_keys();
	test_http_listen();
	test_kube_keys();
	test_registry_keys();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return T_DONE();
}
