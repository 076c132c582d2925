/*
 * analyze_cmd.c - remedyd analyze: one look at a cluster, then a report.
 *
 *   remedyd analyze [--kubeconfig F] [--context C] [-n NS]... [-A]
 *                   [-c FILE] [-o table|json|yaml] [--no-dry-run]
 *                   [--timeout DURATION] [-v]
 *
 * The daemon's own pipeline, run once: every kind is LISTed once (no
 * watch), the analyzers and the incident grouping run over that snapshot,
 * the configured backend (rules by default) diagnoses each incident, each
 * proposed fix passes the policy wall, the registry check and a
 * server-side dry-run, and what would have become a pending action is
 * reported instead.  The store lives in memory and dies with the run;
 * the only requests that write are dry-runs (none with --no-dry-run).
 * Nothing waits for a hold-down: the snapshot is what there is.
 *
 * Exit status: 0 nothing is broken, 1 something is, 2 an error (a bad
 * option or configuration, an unreachable cluster, the timeout).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "analyze_cmd.h"
#include "base/http.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "base/yamlout.h"
#include "conf/config.h"
#include "engine.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "store/store.h"

#define ANALYZE_POLL_MS		10
#define ANALYZE_TIMEOUT_MS	(5 * 60 * 1000)
#define ANALYZE_BURST		32	/* requests before kubernetes.qps
					 * paces them: every kind's LIST */

enum analyze_out { OUT_TABLE, OUT_JSON, OUT_YAML };

struct analyze {
	uv_loop_t		 loop;
	struct remedy_config	 cfg;
	struct kube_config	 kc;
	struct store		*store;
	struct http		*http;
	struct kube_client	*kube;
	struct engine		 engine;
	uv_timer_t		 poll, deadline;
	uv_signal_t		 sigint, sigterm;
	int			 started;	/* engine_start() ran */
	int			 stopping;
	int			 settled;	/* the report can be written */
	const char		*why;		/* why it stopped early */
	struct kube_client_stats stats;
};

static void
help(FILE *fp)
{
	fprintf(fp, "usage: remedyd analyze [options]\n"
	    "Look at a cluster once: what is broken, why, and the exact fix "
	    "remedyd would\npropose (dry-run on the API server).  Exit "
	    "status 0: nothing is broken;\n1: something is; 2: an error.\n"
	    "  -c, --config FILE        remedyd configuration (backend, "
	    "policy, registries);\n"
	    "                           default: built-in defaults, rules "
	    "backend\n"
	    "      --kubeconfig FILE    kubeconfig (default $KUBECONFIG, "
	    "~/.kube/config, in-cluster)\n"
	    "      --context NAME       kubeconfig context\n"
	    "  -n, --namespace NS       only this namespace (repeat, or "
	    "NS1,NS2)\n"
	    "  -A, --all-namespaces     every namespace (the default "
	    "without -n or a configured list)\n"
	    "  -o, --output FORMAT      table (default), json or yaml\n"
	    "      --no-dry-run         skip the server-side dry-run of each "
	    "fix\n"
	    "      --timeout DURATION   give up after this long (default "
	    "5m)\n"
	    "  -v, --verbose            remedyd's log on stderr\n"
	    "  -h, --help               this help\n");
}

static void __attribute__((noreturn))
usage(const char *what, const char *arg)
{
	fprintf(stderr, "remedyd analyze: %s%s%s%s\n", what, arg ? " \"" : "",
	    arg ? arg : "", arg ? "\"" : "");
	fprintf(stderr, "usage: remedyd analyze [-A] [-n NS]... [-o "
	    "table|json|yaml] [-c FILE] [--kubeconfig FILE] [--context NAME] "
	    "[--no-dry-run] [--timeout DURATION]; \"remedyd analyze --help\" "
	    "describes them\n");
	exit(2);
}

/* --- the run --- */

static void
closed_cb(uv_handle_t *h)
{
	(void)h;
}

static void
finish(uv_timer_t *t)
{
	struct analyze *a = t->data;

	if (a->kube != NULL) {
		kube_client_stats(a->kube, &a->stats);
		kube_client_free(a->kube);
		a->kube = NULL;
	}
	if (a->http != NULL) {
		http_free(a->http);
		a->http = NULL;
	}
	uv_close((uv_handle_t *)&a->poll, closed_cb);
	uv_close((uv_handle_t *)&a->deadline, closed_cb);
	uv_close((uv_handle_t *)&a->sigint, closed_cb);
	uv_close((uv_handle_t *)&a->sigterm, closed_cb);
}

/* The engine has no request in flight: close the rest on the next turn
 * (this may run inside the callback of the last request). */
static void
on_drained(void *arg)
{
	struct analyze *a = arg;

	uv_timer_stop(&a->poll);
	uv_timer_start(&a->poll, finish, 0, 0);
}

static void
stop(struct analyze *a, const char *why)
{
	if (a->stopping)
		return;
	a->stopping = 1;
	a->why = why;
	uv_timer_stop(&a->poll);
	uv_timer_stop(&a->deadline);
	uv_signal_stop(&a->sigint);
	uv_signal_stop(&a->sigterm);
	engine_stop(&a->engine, on_drained, a);
}

static void
on_poll(uv_timer_t *t)
{
	struct analyze	*a = t->data;
	const char	*why;

	if ((why = engine_oneshot_failed(&a->engine)) != NULL) {
		stop(a, why);
		return;
	}
	if (!engine_settled(&a->engine))
		return;
	a->settled = 1;
	stop(a, NULL);
}

static void
on_deadline(uv_timer_t *t)
{
	struct analyze *a = t->data;

	stop(a, a->engine.synced ? "timed out waiting for the diagnoses" :
	    "timed out before every kind was listed (is the API server "
	    "reachable, and may these credentials list?)");
}

static void
on_signal(uv_signal_t *s, int signum)
{
	stop(s->data, signum == SIGINT ? "interrupted" : "terminated");
}

/* --- the report --- */

static int
cmp_incident(const void *x, const void *y)
{
	json_t		*a = *(json_t *const *)x, *b = *(json_t *const *)y;
	static const char *const keys[] = { "namespace", "kind", "name",
	    "reason" };
	const char	*sa, *sb;
	size_t		 i;
	int		 c;

	for (i = 0; i < NELEM(keys); i++) {
		sa = json_str_at(a, keys[i]);
		sb = json_str_at(b, keys[i]);
		if ((c = strcmp(sa ? sa : "", sb ? sb : "")) != 0)
			return c;
	}
	return 0;
}

/* The keys of src that have a value (drop_empty: and are not ""). */
static void
copy_keys(json_t *dst, json_t *src, const char *const *keys, int drop_empty)
{
	json_t *v;

	for (; *keys != NULL; keys++)
		if ((v = json_object_get(src, *keys)) != NULL &&
		    !json_is_null(v) && !(drop_empty && json_is_string(v) &&
		    json_string_length(v) == 0))
			json_object_set(dst, *keys, v);
}

/* One action as the report shows it: what would be proposed, or why it
 * was refused. */
static json_t *
report_action(struct store *st, int64_t id)
{
	static const char *const keys[] = { "kind", "namespace", "name",
	    "api_path", "summary", "risk", "root_cause", "evidence",
	    "changes", "steps", "patch", "reason", "rule", NULL };
	struct store_action	 act;
	json_t			*full, *o, *res;
	const char		*state;

	if (store_action_get(st, id, &act) != STORE_OK)
		return NULL;
	full = store_action_json(&act);
	store_action_clear(&act);
	if (full == NULL || (o = json_object()) == NULL) {
		json_decref(full);
		return NULL;
	}
	state = json_str_at(full, "state");
	json_object_set_new(o, "outcome", json_string(state != NULL &&
	    strcmp(state, ACTION_PENDING) == 0 ? "proposed" : "refused"));
	copy_keys(o, full, keys, 0);
	/* the dry-run's answer: {status, reason, message} */
	res = json_object_get(full, "result");
	if (json_is_true(json_object_get(res, "dry_run"))) {
		static const char *const rkeys[] = { "status", "reason",
		    "message", NULL };
		json_t *dr = json_object();

		if (dr != NULL) {
			copy_keys(dr, res, rkeys, 1);
			json_object_set_new(o, "dry_run", dr);
		}
	}
	json_decref(full);
	return o;
}

static json_t *
report_incident(struct store *st, json_t *inc)
{
	static const char *const keys[] = { "kind", "namespace", "name",
	    "uid", "analyzer", "reason", "summary", "pods", "objects",
	    "findings", "affected", NULL };
	static const char *const dkeys[] = { "backend", "model", "status",
	    "error", "summary", "root_cause", NULL };
	json_t		*o, *d, *acts, *ao;
	int64_t		 id = json_int_at(inc, "id", 0), *ids;
	size_t		 i, n;

	if ((o = json_object()) == NULL || (acts = json_array()) == NULL) {
		json_decref(o);
		return NULL;
	}
	copy_keys(o, inc, keys, 0);
	if ((d = store_diagnosis_json(st, id)) != NULL) {
		json_t *dd = json_object();

		if (dd != NULL) {
			copy_keys(dd, d, dkeys, 1);
			json_object_set_new(o, "diagnosis", dd);
		}
		json_decref(d);
	}
	ids = store_incident_actions(st, id, NULL, &n);
	for (i = 0; i < n; i++)
		if ((ao = report_action(st, ids[i])) != NULL)
			json_array_append_new(acts, ao);
	free(ids);
	json_object_set_new(o, "actions", acts);
	return o;
}

static json_t *
report(struct analyze *a, double secs, double cpu)
{
	json_t		*r, *list, *incs, *ns, *o;
	json_t		**v = NULL;
	size_t		 i, n;

	if ((list = store_incidents_json(a->store, "open")) == NULL)
		return NULL;
	n = json_array_size(list);
	if ((r = json_object()) == NULL || (incs = json_array()) == NULL ||
	    (ns = json_array()) == NULL ||
	    (n > 0 && (v = calloc(n, sizeof(*v))) == NULL)) {
		json_decref(list);
		json_decref(r);
		return NULL;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(list, i);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_incident);
	for (i = 0; i < n; i++)
		if ((o = report_incident(a->store, v[i])) != NULL)
			json_array_append_new(incs, o);
	free(v);
	json_decref(list);
	for (i = 0; i < a->cfg.nnamespaces; i++)
		json_array_append_new(ns, json_string(a->cfg.namespaces[i]));
	json_object_set_new(r, "cluster", json_string(a->kc.server));
	json_object_set_new(r, "context", a->kc.context ?
	    json_string(a->kc.context) : json_null());
	json_object_set_new(r, "namespaces", ns);
	json_object_set_new(r, "backend", json_string(a->cfg.backend));
	json_object_set_new(r, "dry_run", json_boolean(!a->engine.no_dryrun));
	json_object_set_new(r, "broken", json_integer((json_int_t)
	    json_array_size(incs)));
	json_object_set_new(r, "incidents", incs);
	json_object_set_new(r, "stats", json_pack("{s:f, s:f, s:I}",
	    "seconds", secs, "cpu_seconds", cpu, "requests",
	    (json_int_t)a->stats.requests));
	return r;
}

static void
print_block(FILE *fp, const char *indent, const char *text)
{
	const char *p = text, *nl;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		fprintf(fp, "%s%.*s\n", indent, (int)(nl ? nl - p :
		    (long)strlen(p)), p);
		p = nl ? nl + 1 : NULL;
	}
}

static void
print_value(FILE *fp, const char *prefix, json_t *v)
{
	char *s;

	if (json_is_string(v)) {
		fprintf(fp, "%s%s\n", prefix, json_string_value(v));
		return;
	}
	if ((s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY)) != NULL) {
		fprintf(fp, "%s%s\n", prefix, s);
		free(s);
	}
}

static void
print_action(FILE *fp, json_t *act)
{
	const char	*outcome = json_str_at(act, "outcome");
	json_t		*v, *c;
	char		*s;
	size_t		 i;

	if (outcome != NULL && strcmp(outcome, "refused") == 0) {
		fprintf(fp, "   Fix refused: %s\n", json_str_at(act,
		    "summary") ? json_str_at(act, "summary") : "-");
		if (json_str_at(act, "reason"))
			print_block(fp, "     ", json_str_at(act, "reason"));
		return;
	}
	fprintf(fp, "   Fix (risk %s; %s): %s\n", json_str_at(act, "risk") ?
	    json_str_at(act, "risk") : "-",
	    json_int_at(act, "dry_run.status", 0) / 100 != 2 ? "not dry-run" :
	    "the API server's dry-run accepted it",
	    json_str_at(act, "summary") ?
	    json_str_at(act, "summary") : "-");
	v = json_object_get(act, "evidence");
	if (json_array_size(v) > 0) {
		fprintf(fp, "   Evidence:\n");
		json_array_foreach(v, i, c)
			print_value(fp, "     - ", c);
	}
	v = json_object_get(act, "changes");
	if (json_array_size(v) > 0) {
		fprintf(fp, "   Changes:\n");
		json_array_foreach(v, i, c) {
			fprintf(fp, "     %s\n", json_str_at(c, "path") ?
			    json_str_at(c, "path") : "?");
			if (json_object_get(c, "before") != NULL)
				print_value(fp, "       - ",
				    json_object_get(c, "before"));
			if (json_object_get(c, "after") != NULL)
				print_value(fp, "       + ",
				    json_object_get(c, "after"));
		}
	}
	v = json_object_get(act, "steps");
	json_array_foreach(v, i, c)
		if (json_str_at(c, "kind") != NULL &&
		    strcmp(json_str_at(c, "kind"), "delete-pod") == 0)
			fprintf(fp, "   Then: delete pod %s/%s (uid %s)\n",
			    json_str_at(act, "namespace") ?
			    json_str_at(act, "namespace") : "-",
			    json_str_at(c, "name") ? json_str_at(c, "name") :
			    "-", json_str_at(c, "uid") ?
			    json_str_at(c, "uid") : "-");
	v = json_object_get(act, "patch");
	if (v != NULL && (s = json_dumps(v, JSON_INDENT(2))) != NULL) {
		fprintf(fp, "   Patch (JSON Patch, PATCH %s):\n",
		    json_str_at(act, "api_path") ?
		    json_str_at(act, "api_path") : "-");
		print_block(fp, "     ", s);
		free(s);
	}
}

static void
print_table(FILE *fp, json_t *r)
{
	json_t		*incs = json_object_get(r, "incidents"), *inc, *v, *c;
	json_t		*ns = json_object_get(r, "namespaces");
	const char	*cause, *summary;
	size_t		 i, j, nfix = 0;

	if (json_array_size(incs) == 0) {
		fprintf(fp, "Nothing broken in %s.\n", json_array_size(ns) ?
		    "the namespaces looked at" : "any namespace");
		return;
	}
	json_array_foreach(incs, i, inc) {
		const char *nsn = json_str_at(inc, "namespace");

		fprintf(fp, "%s%zu. %s %s%s%s: %s", i ? "\n" : "", i + 1,
		    json_str_at(inc, "kind"), nsn ? nsn : "",
		    nsn && *nsn ? "/" : "", json_str_at(inc, "name"),
		    json_str_at(inc, "reason"));
		if (json_int_at(inc, "pods", 0) > 0)
			fprintf(fp, " (%lld pod%s)", (long long)json_int_at(
			    inc, "pods", 0), json_int_at(inc, "pods", 0) == 1 ?
			    "" : "s");
		fputc('\n', fp);
		v = json_object_get(inc, "diagnosis");
		summary = json_str_at(v, "summary");
		cause = json_str_at(v, "root_cause");
		if (summary != NULL)
			fprintf(fp, "   Summary: %s\n", summary);
		if (cause != NULL) {
			fprintf(fp, "   Root cause:\n");
			print_block(fp, "     ", cause);
		}
		if (json_str_at(v, "error") != NULL)
			fprintf(fp, "   Diagnosis failed: %s\n",
			    json_str_at(v, "error"));
		v = json_object_get(inc, "findings");
		if (json_array_size(v) > 0) {
			fprintf(fp, "   Findings:\n");
			json_array_foreach(v, j, c)
				print_value(fp, "     - ", c);
		}
		v = json_object_get(inc, "actions");
		if (json_array_size(v) == 0)
			fprintf(fp, "   No automatic fix.\n");
		json_array_foreach(v, j, c) {
			print_action(fp, c);
			if (json_str_at(c, "outcome") != NULL &&
			    strcmp(json_str_at(c, "outcome"), "proposed") == 0)
				nfix++;
		}
	}
	fprintf(fp, "\n%zu broken: %zu with a fix remedyd would propose "
	    "for approval.\n", json_array_size(incs), nfix);
}

/* "all namespaces", "namespace demo", "namespaces a, b, c" */
static void
scope_text(const struct analyze *a, char *buf, size_t len)
{
	size_t i, off;

	if (a->cfg.nnamespaces == 0) {
		snprintf(buf, len, "all namespaces");
		return;
	}
	off = (size_t)snprintf(buf, len, "namespace%s ",
	    a->cfg.nnamespaces == 1 ? "" : "s");
	for (i = 0; i < a->cfg.nnamespaces && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? ", " : "", a->cfg.namespaces[i]);
}

/* --- options --- */

static int
add_namespaces(char ***list, size_t *n, const char *arg)
{
	char	*copy, *p, *tok, **nl;

	if ((copy = strdup(arg)) == NULL)
		return -1;
	for (p = copy; (tok = strsep(&p, ",")) != NULL; ) {
		if (*tok == '\0')
			continue;
		if (*n + 1 >= CONFIG_MAX_NAMESPACES ||
		    (nl = realloc(*list, (*n + 2) * sizeof(*nl))) == NULL) {
			free(copy);
			return -1;
		}
		*list = nl;
		if ((nl[*n] = strdup(tok)) == NULL) {
			free(copy);
			return -1;
		}
		nl[++*n] = NULL;
	}
	free(copy);
	return 0;
}

static void
free_list(char **l)
{
	size_t i;

	for (i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

static int
set_str(char **dst, const char *v)
{
	char *c;

	if ((c = strdup(v)) == NULL)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

int
analyze_main(int argc, char *argv[])
{
	static struct analyze	 A;
	struct analyze		*a = &A;
	const char		*conffile = NULL, *kubeconfig = NULL;
	const char		*context = NULL;
	char			 err[1024], **nsl = NULL, *errs = NULL;
	char			 scope[256];
	size_t			 nns = 0;
	int64_t			 timeout_ms = ANALYZE_TIMEOUT_MS, t0;
	int			 ch, all = 0, verbose = 0, nodry = 0, rc = 2;
	int			 seen = 0, nerr, i;
	enum analyze_out	 out = OUT_TABLE;
	struct rusage		 ru;
	json_t			*r = NULL;

	static const struct option longopts[] = {
		{ "config",		required_argument,	NULL, 'c' },
		{ "kubeconfig",		required_argument,	NULL, 'K' },
		{ "context",		required_argument,	NULL, 'C' },
		{ "namespace",		required_argument,	NULL, 'n' },
		{ "all-namespaces",	no_argument,		NULL, 'A' },
		{ "output",		required_argument,	NULL, 'o' },
		{ "no-dry-run",		no_argument,		NULL, 'D' },
		{ "timeout",		required_argument,	NULL, 'T' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 }
	};

	t0 = mono_ms();
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":c:n:Ao:vh", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case 'K':
			kubeconfig = optarg;
			break;
		case 'C':
			context = optarg;
			break;
		case 'n':
			if (add_namespaces(&nsl, &nns, optarg) == -1)
				usage("too many namespaces, or out of memory:",
				    optarg);
			break;
		case 'A':
			all = 1;
			break;
		case 'o':
			if (strcmp(optarg, "table") == 0 ||
			    strcmp(optarg, "wide") == 0)
				out = OUT_TABLE;
			else if (strcmp(optarg, "json") == 0)
				out = OUT_JSON;
			else if (strcmp(optarg, "yaml") == 0)
				out = OUT_YAML;
			else
				usage("unknown output format (table, json, "
				    "yaml):", optarg);
			break;
		case 'D':
			nodry = 1;
			break;
		case 'T':
			if (parse_duration(optarg, &timeout_ms) == -1 ||
			    timeout_ms <= 0)
				usage("a duration like 90s or 5m is needed, "
				    "not", optarg);
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			free_list(nsl);
			help(stdout);
			return 0;
		case ':':
			usage("this option needs a value:", argv[optind - 1]);
		default:
			usage("unknown option", optopt ? (char[]){ '-',
			    (char)optopt, '\0' } : argv[optind - 1]);
		}
	}
	for (i = optind; i < argc; i++) {
		if (strcmp(argv[i], "analyze") == 0 && !seen) {
			seen = 1;
			continue;
		}
		usage("unexpected argument", argv[i]);
	}
	if (all && nns > 0)
		usage("-A and -n name different scopes; give one", NULL);

	config_init(&a->cfg);
	if (conffile != NULL) {
		nerr = config_load(conffile, &a->cfg, &errs);
		if (nerr > 0) {
			fputs(errs, stderr);
			fprintf(stderr, "remedyd analyze: %d error%s in %s\n",
			    nerr, nerr == 1 ? "" : "s", conffile);
			free(errs);
			goto out;
		}
	}
	if ((kubeconfig && set_str(&a->cfg.kubeconfig, kubeconfig) == -1) ||
	    (context && set_str(&a->cfg.context, context) == -1)) {
		fprintf(stderr, "remedyd analyze: out of memory\n");
		goto out;
	}
	if (nns > 0 || all) {
		free_list(a->cfg.namespaces);
		a->cfg.namespaces = nsl;
		a->cfg.nnamespaces = nns;
		nsl = NULL;
	}
	/* one snapshot: nothing to wait for */
	a->cfg.hold_down_ms = 0;
	a->cfg.symptom_wait_ms = 0;
	log_init(verbose > 1 ? LOG_DEBUG : verbose ? LOG_INFO : LOG_ERR);
	signal(SIGPIPE, SIG_IGN);

	if (kubeconfig_load(a->cfg.kubeconfig, a->cfg.context, &a->kc, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "remedyd analyze: %s\n", err);
		goto out;
	}
	if ((a->store = store_open(STORE_MEMORY, err, sizeof(err))) == NULL) {
		fprintf(stderr, "remedyd analyze: %s\n", err);
		goto out;
	}
	{
		char *key = NULL;

		if (diag_api_key(&a->cfg.diag, &key, err, sizeof(err)) == -1) {
			fprintf(stderr, "remedyd analyze: diagnosis: %s\n",
			    err);
			goto out;
		}
		if (key != NULL) {
			explicit_bzero(key, strlen(key));
			free(key);
		}
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "remedyd analyze: libcurl initialisation "
		    "failed\n");
		goto out;
	}
	uv_loop_init(&a->loop);
	uv_timer_init(&a->loop, &a->poll);
	uv_timer_init(&a->loop, &a->deadline);
	uv_signal_init(&a->loop, &a->sigint);
	uv_signal_init(&a->loop, &a->sigterm);
	a->poll.data = a->deadline.data = a->sigint.data = a->sigterm.data =
	    a;
	if ((a->http = http_new(&a->loop)) == NULL ||
	    (a->kube = kube_client_new(a->http, &a->kc, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "remedyd analyze: kubernetes client: %s\n",
		    a->http ? err : "out of memory");
		a->why = "";
		finish(&a->poll);
		uv_run(&a->loop, UV_RUN_DEFAULT);
		goto closed;
	}
	/* one LIST per kind, once: they may all go at once */
	kube_client_set_rate(a->kube, a->cfg.kube_qps, a->cfg.kube_burst >
	    ANALYZE_BURST ? a->cfg.kube_burst : ANALYZE_BURST);
	a->engine.oneshot = 1;
	a->engine.no_dryrun = nodry;
	a->started = 1;
	if (engine_start(&a->engine, &a->loop, &a->cfg, a->store, a->kube) ==
	    -1) {
		fprintf(stderr, "remedyd analyze: out of memory\n");
		a->stopping = 1;
		a->why = "";
		engine_stop(&a->engine, on_drained, a);
		uv_run(&a->loop, UV_RUN_DEFAULT);
		goto closed;
	}
	if (engine_diag_init(&a->engine, a->http, err, sizeof(err)) == -1)
		log_warnx("diagnosis: %s; using the rules backend", err);
	uv_timer_start(&a->poll, on_poll, ANALYZE_POLL_MS, ANALYZE_POLL_MS);
	uv_timer_start(&a->deadline, on_deadline, (uint64_t)timeout_ms, 0);
	uv_signal_start(&a->sigint, on_signal, SIGINT);
	uv_signal_start(&a->sigterm, on_signal, SIGTERM);
	uv_run(&a->loop, UV_RUN_DEFAULT);

closed:
	if (a->started)
		engine_free(&a->engine);
	metrics_reset();
	if (uv_loop_close(&a->loop) != 0)
		log_errx("event loop closed with handles still open");
	curl_global_cleanup();
	if (!a->settled) {
		if (a->why != NULL && *a->why != '\0')
			fprintf(stderr, "remedyd analyze: %s (%s, after "
			    "%.1f s)\n", a->why, a->kc.server,
			    (double)(mono_ms() - t0) / 1000);
		goto out;
	}
	getrusage(RUSAGE_SELF, &ru);
	r = report(a, (double)(mono_ms() - t0) / 1000,
	    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	if (r == NULL) {
		fprintf(stderr, "remedyd analyze: cannot read the results: "
		    "%s\n", store_errmsg(a->store));
		goto out;
	}
	switch (out) {
	case OUT_JSON:
		if (json_dumpf(r, stdout, JSON_INDENT(2)) == -1)
			goto out;
		fputc('\n', stdout);
		break;
	case OUT_YAML:
		if (yaml_emit_json(stdout, r, err, sizeof(err)) == -1) {
			fprintf(stderr, "remedyd analyze: %s\n", err);
			goto out;
		}
		break;
	case OUT_TABLE:
		print_table(stdout, r);
		scope_text(a, scope, sizeof(scope));
		fprintf(stderr, "remedyd analyze: %s, %s, %s backend: %.2f s, "
		    "%.2f s CPU, %lld requests to the API server\n",
		    a->kc.server, scope, a->cfg.backend,
		    json_real_value(json_object_get(json_object_get(r,
		    "stats"), "seconds")),
		    json_real_value(json_object_get(json_object_get(r,
		    "stats"), "cpu_seconds")),
		    (long long)a->stats.requests);
		break;
	}
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "remedyd analyze: writing the report failed\n");
		goto out;
	}
	rc = json_array_size(json_object_get(r, "incidents")) > 0 ? 1 : 0;
out:
	json_decref(r);
	free_list(nsl);
	store_close(a->store);
	kube_config_clear(&a->kc);
	config_clear(&a->cfg);
	return rc;
}
